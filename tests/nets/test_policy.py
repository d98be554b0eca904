"""Policy heads: distributions, sampling with the caller's generator, space checks."""

from __future__ import annotations

import math
import warnings
from typing import Any

import gymnasium as gym
import numpy as np
import pytest
import torch

from rlworks.errors import ConfigError, SpaceMismatchError
from rlworks.nets import PolicyNetwork, check_head, mlp, seeded

BOX4 = gym.spaces.Box(-np.inf, np.inf, (4,), np.float32)


def test_auto_head_follows_the_action_space() -> None:
    assert PolicyNetwork(BOX4, gym.spaces.Discrete(2), [3]).head == "bernoulli"
    assert PolicyNetwork(BOX4, gym.spaces.Discrete(4), [3]).head == "categorical"
    box = gym.spaces.Box(-2.0, 2.0, (2,), np.float32)
    assert PolicyNetwork(BOX4, box, [3]).head == "gaussian"


def test_bernoulli_probability_is_the_sigmoid_of_one_output() -> None:
    net = PolicyNetwork(BOX4, gym.spaces.Discrete(2), [])  # a single linear layer
    with torch.no_grad():
        net.body[0].weight.copy_(torch.tensor([[0.0, 0.0, 2.0, 0.0]]))
        net.body[0].bias.zero_()
    obs = torch.tensor([[0.0, 0.0, 0.5, 0.0]])
    # z = 2 * 0.5 = 1 → P(action 1) = σ(1) = 0.7311, log P(0) = log(1 - 0.7311)
    p1 = float(net.distribution(obs).probs.detach()[0])
    assert math.isclose(p1, 1 / (1 + math.exp(-1)), rel_tol=1e-6)
    log_p0 = float(net.log_prob(obs, torch.tensor([0])).detach())
    assert math.isclose(log_p0, math.log(1 - 1 / (1 + math.exp(-1))), rel_tol=1e-6)
    assert net.mode(obs.numpy()).tolist() == [1]


def test_sampling_frequencies_match_the_probabilities() -> None:
    net = PolicyNetwork(BOX4, gym.spaces.Discrete(3), [])
    with torch.no_grad():
        net.body[0].weight.zero_()
        net.body[0].bias.copy_(torch.log(torch.tensor([0.2, 0.3, 0.5])))
    obs = np.zeros((20_000, 4), np.float32)
    actions = net.sample(obs, np.random.default_rng(0))
    freq = np.bincount(actions, minlength=3) / len(actions)
    np.testing.assert_allclose(freq, [0.2, 0.3, 0.5], atol=0.015)  # ~4.5 standard errors


def test_sampling_is_reproducible_from_the_generator() -> None:
    net = PolicyNetwork(BOX4, gym.spaces.Discrete(2), [4])
    obs = np.random.default_rng(1).normal(size=(50, 4)).astype(np.float32)
    a = net.sample(obs, np.random.default_rng(7))
    b = net.sample(obs, np.random.default_rng(7))
    np.testing.assert_array_equal(a, b)


def test_discrete_start_is_respected() -> None:
    space = gym.spaces.Discrete(3, start=-1)
    net = PolicyNetwork(BOX4, space, [4])
    obs = np.zeros((200, 4), np.float32)
    actions = net.sample(obs, np.random.default_rng(0))
    assert set(actions.tolist()) <= {-1, 0, 1}
    log_probs = net.log_prob(torch.as_tensor(obs), torch.as_tensor(actions))
    assert torch.isfinite(log_probs).all()


def test_gaussian_log_prob_and_clipped_mode() -> None:
    box = gym.spaces.Box(-1.0, 1.0, (2,), np.float32)
    net = PolicyNetwork(BOX4, box, [], log_std_init=math.log(0.5))
    with torch.no_grad():
        net.body[0].weight.zero_()
        net.body[0].bias.copy_(torch.tensor([3.0, -0.25]))
    obs = np.zeros((1, 4), np.float32)
    # mode = mean clipped to the bounds: [min(3, 1), -0.25]
    np.testing.assert_allclose(net.mode(obs), [[1.0, -0.25]])
    action = torch.tensor([[3.5, -0.25]])
    # log N(3.5; 3, 0.5) + log N(-0.25; -0.25, 0.5) = 2 * -log(0.5 * sqrt(2π)) - 0.5 * (0.5/0.5)²
    expected = 2 * -math.log(0.5 * math.sqrt(2 * math.pi)) - 0.5
    assert math.isclose(float(net.log_prob(torch.as_tensor(obs), action)), expected, rel_tol=1e-6)
    samples = net.sample(np.zeros((5000, 4), np.float32), np.random.default_rng(0))
    assert samples.shape == (5000, 2) and samples.dtype == np.float32
    np.testing.assert_allclose(samples.std(axis=0), [0.5, 0.5], atol=0.02)  # drawn, not clipped


@pytest.mark.parametrize(
    ("head", "action_space", "message"),
    [
        (
            "bernoulli",
            gym.spaces.Discrete(3),
            r"the bernoulli policy head needs Discrete\(2\) actions, but Acme-v0 has actions "
            r"Discrete\(3\) \(observations Box\(shape=\(4,\), dtype=float32\)\)",
        ),
        (
            "categorical",
            gym.spaces.Box(-1, 1, (1,), np.float32),
            r"the categorical policy head needs Discrete\(n\) actions, but Acme-v0 has actions "
            r"Box\(shape=\(1,\), dtype=float32\).*use the gaussian head",
        ),
        (
            "gaussian",
            gym.spaces.Discrete(2),
            r"the gaussian policy head needs a bounded or unbounded Box actions, but Acme-v0 has "
            r"actions Discrete\(2\).*bernoulli or categorical",
        ),
    ],
)
def test_head_that_does_not_fit_names_both_spaces(
    head: str, action_space: gym.Space[object], message: str
) -> None:
    with pytest.raises(SpaceMismatchError, match=message):
        check_head(head, BOX4, action_space, "Acme-v0")


def test_unknown_head_and_activation() -> None:
    with pytest.raises(ConfigError, match="policy head must be"):
        check_head("beta", BOX4, gym.spaces.Discrete(2))
    with pytest.raises(ConfigError, match="activation must be one of"):
        mlp(4, [3], 1, activation="swishy")


def test_seeded_builds_the_same_weights_and_restores_the_global_rng() -> None:
    torch.manual_seed(123)
    expected_next = torch.rand(1)
    torch.manual_seed(123)
    with seeded(5):
        a = mlp(4, [8], 2)
    with seeded(5):
        b = mlp(4, [8], 2)
    for pa, pb in zip(a.parameters(), b.parameters(), strict=True):
        assert torch.equal(pa, pb)
    assert torch.equal(torch.rand(1), expected_next)


@pytest.mark.parametrize("activation", ["relu", "tanh", "elu", "leaky_relu", "silu"])
def test_numpy_acting_matches_torch_and_sees_updates(activation: str) -> None:
    net = PolicyNetwork(BOX4, gym.spaces.Discrete(3), [8, 8], activation=activation)
    obs = np.random.default_rng(0).normal(size=(16, 4)).astype(np.float32)

    def torch_out() -> np.ndarray:
        with torch.no_grad():
            return net(torch.as_tensor(obs)).numpy()  # type: ignore[no-any-return]

    np.testing.assert_allclose(net.outputs(obs), torch_out(), atol=1e-6)
    optimizer = torch.optim.SGD(net.parameters(), lr=0.5)
    net(torch.as_tensor(obs)).sum().backward()
    optimizer.step()  # in place: the NumPy views see the new weights
    np.testing.assert_allclose(net.outputs(obs), torch_out(), atol=1e-5)
    net.load_state_dict(PolicyNetwork(BOX4, gym.spaces.Discrete(3), [8, 8]).state_dict())
    np.testing.assert_allclose(net.outputs(obs), torch_out(), atol=1e-5)


def test_gelu_and_double_networks_act_through_torch() -> None:
    net = PolicyNetwork(BOX4, gym.spaces.Discrete(2), [4], activation="gelu")
    obs = np.zeros((3, 4), np.float32)
    assert net.outputs(obs).shape == (3, 1)
    net = PolicyNetwork(BOX4, gym.spaces.Discrete(2), [4])
    net.outputs(obs)  # builds the NumPy views
    net = net.double()
    assert net.outputs(obs).dtype == np.float64  # float64 storage: torch path, no stale views


def test_replaced_parameters_are_seen() -> None:
    net = PolicyNetwork(BOX4, gym.spaces.Discrete(3), [8])
    obs = np.random.default_rng(0).normal(size=(5, 4)).astype(np.float32)
    net.outputs(obs)
    other = PolicyNetwork(BOX4, gym.spaces.Discrete(3), [8], init="orthogonal")
    net.load_state_dict(other.state_dict(), assign=True)  # new parameter objects
    with torch.no_grad():
        np.testing.assert_allclose(net.outputs(obs), other(torch.as_tensor(obs)).numpy(), atol=1e-6)


def test_network_pickles_after_acting(tmp_path: Any) -> None:
    net = PolicyNetwork(BOX4, gym.spaces.Discrete(2), [4], activation="silu")
    obs = np.random.default_rng(0).normal(size=(5, 4)).astype(np.float32)
    expected = net.outputs(obs)
    torch.save(net, tmp_path / "net.pt")
    loaded = torch.load(tmp_path / "net.pt", weights_only=False)
    np.testing.assert_allclose(loaded.outputs(obs), expected)


def test_silu_does_not_overflow() -> None:
    net = PolicyNetwork(BOX4, gym.spaces.Discrete(2), [4], activation="silu")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert np.isfinite(net.outputs(np.full((2, 4), -1e6, np.float32))).all()


def test_bernoulli_sampling_frequency() -> None:
    net = PolicyNetwork(BOX4, gym.spaces.Discrete(2), [])
    with torch.no_grad():
        net.body[0].weight.zero_()
        net.body[0].bias.fill_(math.log(0.8 / 0.2))  # P(action 1) = 0.8
    actions = net.sample(np.zeros((20_000, 4), np.float32), np.random.default_rng(0))
    assert abs(actions.mean() - 0.8) < 0.015  # ~5 standard errors
