"""Q-networks: dueling aggregation, C51 expectation, noisy layers, the NumPy acting path."""

from __future__ import annotations

import copy
import itertools
import math
import pickle
from typing import Any

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch import nn

from rlworks.errors import ConfigError
from rlworks.nets import NoisyLinear, QNetwork, seeded

COMBOS = list(itertools.product(["none", "mean", "max"], [False, True], [1, 5]))


def _one_unit_net(dueling: Any, *, atoms: int = 1, n_actions: int = 3) -> QNetwork:
    """obs → relu(obs) on one hidden unit, so each head outputs its bias when its weights are 0."""
    net = QNetwork(1, n_actions, [1], dueling=dueling, atoms=atoms, v_min=-1.0, v_max=1.0)
    with torch.no_grad():
        for param in net.parameters():
            param.zero_()
        net.body[0].weight.fill_(1.0)  # h = relu(obs)
    return net


def _set_bias(layer: nn.Module | None, values: list[float]) -> None:
    assert isinstance(layer, nn.Linear)
    with torch.no_grad():
        layer.bias.copy_(torch.tensor(values))


@pytest.mark.parametrize(
    ("dueling", "expected"),
    [
        # V = 2, A = [1, 3, 5], mean A = 3: Q = 2 + [1, 3, 5] - 3 = [0, 2, 4]
        ("mean", [0.0, 2.0, 4.0]),
        # max A = 5: Q = 2 + [1, 3, 5] - 5 = [-2, 0, 2]
        ("max", [-2.0, 0.0, 2.0]),
        # no value stream: Q is the head itself = [1, 3, 5]
        ("none", [1.0, 3.0, 5.0]),
    ],
)
def test_dueling_aggregation_on_hand_set_weights(dueling: str, expected: list[float]) -> None:
    net = _one_unit_net(dueling)
    _set_bias(net.head, [1.0, 3.0, 5.0])  # A (or Q)
    if dueling != "none":
        _set_bias(net.value, [2.0])  # V
    obs = np.array([[1.0]], dtype=np.float32)
    assert net(torch.as_tensor(obs)).tolist() == [expected]
    numpy_q = net.numpy_q(obs)
    assert numpy_q is not None
    assert numpy_q.tolist() == [expected]


def test_c51_q_is_the_expectation_of_softmax_over_the_support() -> None:
    net = _one_unit_net("none", atoms=3, n_actions=2)
    assert net.support.tolist() == [-1.0, 0.0, 1.0]
    # logits: action 0 [0, 0, 0] → p = [1/3, 1/3, 1/3], Q = (-1 + 0 + 1)/3 = 0
    #         action 1 [0, 0, ln 3] → p = [1/5, 1/5, 3/5], Q = -1/5 + 0 + 3/5 = 0.4
    _set_bias(net.head, [0.0, 0.0, 0.0, 0.0, 0.0, math.log(3.0)])
    obs = torch.ones(1, 1)
    expected_logits = torch.tensor([[[0.0, 0.0, 0.0], [0.0, 0.0, math.log(3.0)]]])  # [1, 2, 3]
    torch.testing.assert_close(net.logits(obs).detach(), expected_logits)
    assert net(obs).tolist() == [pytest.approx([0.0, 0.4], abs=1e-6)]
    log_p = net.log_probs(obs)[0, 1].tolist()  # [3]
    assert log_p == pytest.approx([math.log(0.2), math.log(0.2), math.log(0.6)], abs=1e-6)
    numpy_q = net.numpy_q(obs.numpy())
    assert numpy_q is not None
    np.testing.assert_allclose(numpy_q, [[0.0, 0.4]], atol=1e-6)


@pytest.mark.parametrize(
    ("dueling", "expected"),
    [
        # V = [0, 1, 2] per atom, A_0 = [1, 1, 1], A_1 = [3, 3, 3]; mean over actions = [2, 2, 2]:
        # logits_0 = [0, 1, 2] + 1 - 2 = [-1, 0, 1], logits_1 = [0, 1, 2] + 3 - 2 = [1, 2, 3]
        ("mean", [[-1.0, 0.0, 1.0], [1.0, 2.0, 3.0]]),
        # max over actions = [3, 3, 3]: logits_0 = [-2, -1, 0], logits_1 = [0, 1, 2]
        ("max", [[-2.0, -1.0, 0.0], [0.0, 1.0, 2.0]]),
    ],
)
def test_dueling_c51_aggregates_per_atom(dueling: str, expected: list[list[float]]) -> None:
    net = _one_unit_net(dueling, atoms=3, n_actions=2)
    _set_bias(net.value, [0.0, 1.0, 2.0])
    _set_bias(net.head, [1.0, 1.0, 1.0, 3.0, 3.0, 3.0])  # [action, atom] flattened
    assert net.logits(torch.ones(1, 1)).tolist() == [expected]


def test_scalar_network_has_no_logits() -> None:
    net = QNetwork(2, 2, [4])
    with pytest.raises(ValueError, match="atoms"):
        net.logits(torch.zeros(1, 2))
    with pytest.raises(ValueError, match="atoms"):
        net.log_probs(torch.zeros(1, 2))


@pytest.mark.parametrize(("dueling", "noisy", "atoms"), COMBOS)
def test_shapes_for_every_variant(dueling: Any, noisy: bool, atoms: int) -> None:
    net = QNetwork(6, 4, [8, 8], dueling=dueling, noisy=noisy, atoms=atoms)
    net.reset_noise(torch.Generator().manual_seed(0))
    obs = torch.randn(5, 2, 3)  # flattened to [5, 6]
    assert net(obs).shape == (5, 4)
    assert net.is_plain_mlp == (dueling == "none" and not noisy and atoms == 1)
    if atoms > 1:
        assert net.support.shape == (atoms,)
        assert net.logits(obs).shape == (5, 4, atoms)
        probs = net.log_probs(obs).exp().sum(dim=-1)  # [5, 4]
        torch.testing.assert_close(probs, torch.ones(5, 4))
    numpy_q = net.numpy_q(obs.numpy())
    assert numpy_q is not None
    assert numpy_q.shape == (5, 4)
    assert numpy_q.dtype == np.float32


def test_noisy_nets_make_every_layer_after_the_first_noisy() -> None:
    net = QNetwork(3, 2, [4, 5], dueling="mean", noisy=True)
    assert type(net.body[0]) is nn.Linear
    assert isinstance(net.body[2], NoisyLinear)
    assert isinstance(net.head, NoisyLinear)
    assert isinstance(net.value, NoisyLinear)
    assert not any(isinstance(m, NoisyLinear) for m in QNetwork(3, 2, [4, 5]).modules())


def test_noisy_layer_init_and_zero_noise_is_the_mean_linear() -> None:
    layer = NoisyLinear(4, 3, sigma0=0.5)
    bound = 1 / math.sqrt(4)  # 0.5
    assert float(layer.weight_mu.detach().abs().max()) <= bound
    assert float(layer.bias_mu.detach().abs().max()) <= bound
    # sigma = sigma0 / sqrt(in) = 0.5 / 2 = 0.25 for weights and biases
    assert torch.all(layer.weight_sigma == 0.25)
    assert torch.all(layer.bias_sigma == 0.25)
    assert not layer.weight_epsilon.any()
    assert not layer.bias_epsilon.any()
    x = torch.randn(7, 4)
    assert torch.equal(layer(x), F.linear(x, layer.weight_mu, layer.bias_mu))


def test_reset_noise_factorizes_with_signed_square_roots() -> None:
    layer = NoisyLinear(4, 3)
    layer.reset_noise(torch.Generator().manual_seed(7))
    replay = torch.Generator().manual_seed(7)
    eps_in = torch.randn(4, generator=replay)  # drawn first
    eps_out = torch.randn(3, generator=replay)

    def f(x: torch.Tensor) -> torch.Tensor:
        return x.sign() * x.abs().sqrt()

    # f([-4, 0.25, 0]) = [-2, 0.5, 0]
    assert f(torch.tensor([-4.0, 0.25, 0.0])).tolist() == [-2.0, 0.5, 0.0]
    torch.testing.assert_close(layer.weight_epsilon, torch.outer(f(eps_out), f(eps_in)))
    torch.testing.assert_close(layer.bias_epsilon, f(eps_out))
    expected = F.linear(
        torch.ones(1, 4),
        layer.weight_mu + layer.weight_sigma * layer.weight_epsilon,
        layer.bias_mu + layer.bias_sigma * layer.bias_epsilon,
    )
    torch.testing.assert_close(layer(torch.ones(1, 4)), expected)


def test_reset_noise_is_reproducible_and_changes_the_output() -> None:
    with seeded(0):
        net_a = QNetwork(3, 2, [8, 8], dueling="max", noisy=True, atoms=4)
    net_b = copy.deepcopy(net_a)
    obs = torch.randn(6, 3)
    mean_q = net_a(obs)
    net_a.reset_noise(torch.Generator().manual_seed(1))
    net_b.reset_noise(torch.Generator().manual_seed(1))
    assert torch.equal(net_a(obs), net_b(obs))
    assert not torch.allclose(net_a(obs), mean_q)
    net_a.reset_noise(torch.Generator().manual_seed(2))
    assert not torch.allclose(net_a(obs), net_b(obs))
    net_a.remove_noise()
    assert torch.equal(net_a(obs), mean_q)


def test_reset_noise_is_a_no_op_without_noisy_layers() -> None:
    net = QNetwork(3, 2, [8])
    before = copy.deepcopy(net.state_dict())
    net.reset_noise(torch.Generator().manual_seed(0))
    net.remove_noise()
    for key, value in net.state_dict().items():
        assert torch.equal(value, before[key])


@pytest.mark.parametrize(("dueling", "noisy", "atoms"), COMBOS)
def test_numpy_q_matches_the_mean_network(dueling: Any, noisy: bool, atoms: int) -> None:
    with seeded(3):
        net = QNetwork(5, 3, [16, 16], dueling=dueling, noisy=noisy, atoms=atoms)
    obs = np.random.default_rng(0).standard_normal((9, 5)).astype(np.float32)
    net.reset_noise(torch.Generator().manual_seed(0))  # numpy_q ignores the noise: mean weights
    numpy_q = net.numpy_q(obs)
    net.remove_noise()
    with torch.no_grad():
        expected = net(torch.as_tensor(obs)).numpy()  # [9, 3]
    assert numpy_q is not None
    np.testing.assert_allclose(numpy_q, expected, atol=1e-5)


@pytest.mark.parametrize("dueling", ["none", "mean"])
def test_numpy_q_sees_optimizer_steps_and_load_state_dict(dueling: Any) -> None:
    with seeded(0):
        net = QNetwork(4, 2, [8], dueling=dueling, noisy=True, atoms=3)
        other = QNetwork(4, 2, [8], dueling=dueling, noisy=True, atoms=3)
    obs = np.random.default_rng(1).standard_normal((5, 4)).astype(np.float32)

    def torch_q() -> np.ndarray:
        with torch.no_grad():
            return net(torch.as_tensor(obs)).numpy()

    before = net.numpy_q(obs)  # builds the views
    optimizer = torch.optim.SGD(net.parameters(), lr=0.5)
    net(torch.as_tensor(obs)).pow(2).sum().backward()
    optimizer.step()  # in place
    after = net.numpy_q(obs)
    assert before is not None
    assert after is not None
    assert not np.allclose(before, after)
    np.testing.assert_allclose(after, torch_q(), atol=1e-5)
    net.load_state_dict(other.state_dict())
    loaded = net.numpy_q(obs)
    assert loaded is not None
    np.testing.assert_allclose(loaded, torch_q(), atol=1e-5)


def test_numpy_q_survives_copies_and_declines_what_numpy_cannot_run() -> None:
    net = QNetwork(4, 2, [8], dueling="mean")
    obs = np.ones((2, 4), dtype=np.float32)
    assert net.numpy_q(obs) is not None
    target = copy.deepcopy(net)
    with torch.no_grad():
        target.value.bias.add_(1.0)  # the copy has its own parameters: V + 1
    target_q, net_q = target.numpy_q(obs), net.numpy_q(obs)
    assert target_q is not None
    assert net_q is not None
    np.testing.assert_allclose(target_q, net_q + 1.0, atol=1e-5)  # Q = V + A - mean A moves by +1
    restored = pickle.loads(pickle.dumps(net))
    np.testing.assert_allclose(restored.numpy_q(obs), net_q)
    assert QNetwork(4, 2, [8], activation="gelu").numpy_q(obs) is None
    assert net.double().numpy_q(obs) is None  # not float32: the caller uses torch


@pytest.mark.parametrize(("dueling", "noisy", "atoms"), COMBOS)
def test_gradients_reach_every_parameter(dueling: Any, noisy: bool, atoms: int) -> None:
    with seeded(0):
        net = QNetwork(3, 4, [16, 16], dueling=dueling, noisy=noisy, atoms=atoms)
        obs = torch.randn(32, 3)
        weights = torch.randn(32, 4)  # a random mix, so mean-dueling advantages do not cancel
    net.reset_noise(torch.Generator().manual_seed(0))
    (net(obs) * weights).sum().backward()
    for name, param in net.named_parameters():
        assert param.grad is not None, name
        assert param.grad.abs().sum() > 0, name


@pytest.mark.parametrize(
    ("kwargs", "name"),
    [
        ({"hidden_sizes": []}, "hidden_sizes"),
        ({"hidden_sizes": [4, 0]}, "hidden_sizes"),
        ({"dueling": "avg"}, "dueling"),
        ({"atoms": 0}, "atoms"),
        ({"atoms": 5, "v_min": 1.0, "v_max": 1.0}, "v_min"),
        ({"noisy": True, "noisy_sigma0": 0.0}, "noisy_sigma0"),
        ({"activation": "swish"}, "activation"),
        ({"init": "he"}, "init"),
        ({"n_actions": 0}, "n_actions"),
        ({"obs_dim": 0}, "obs_dim"),
    ],
)
def test_bad_arguments_name_themselves(kwargs: dict[str, Any], name: str) -> None:
    args: dict[str, Any] = {"obs_dim": 3, "n_actions": 2, "hidden_sizes": [4], **kwargs}
    with pytest.raises(ConfigError, match=name):
        QNetwork(**args)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_noise_from_a_cpu_generator_on_a_cuda_network() -> None:
    net = QNetwork(3, 2, [8], noisy=True).cuda()
    net.reset_noise(torch.Generator().manual_seed(0))
    cpu = QNetwork(3, 2, [8], noisy=True)
    cpu.load_state_dict(net.state_dict())
    cpu.reset_noise(torch.Generator().manual_seed(0))
    torch.testing.assert_close(net.head.weight_epsilon.cpu(), cpu.head.weight_epsilon)
    assert net.numpy_q(np.ones((1, 3), dtype=np.float32)) is None  # CUDA: torch path
