"""Tanh-squashed Gaussians and Q ensembles: log-densities against numerical references."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from rlworks.nets.squashed import (
    QEnsemble,
    SquashedGaussianPolicy,
    scale_actions,
    tanh_gaussian_log_prob,
    tanh_log_det_jacobian,
    unscale_actions,
)


def test_log_prob_matches_the_change_of_variables_with_a_finite_difference_jacobian() -> None:
    # p_A(a) = p_U(u) / |da/du| with u = atanh(a); da/du measured by central differences.
    mean = torch.tensor([[0.3, -1.2]], dtype=torch.float64)
    log_std = torch.tensor([[-0.5, 0.4]], dtype=torch.float64)
    u = torch.tensor([[0.7, -2.5]], dtype=torch.float64)
    h = 1e-6
    jacobian = (torch.tanh(u + h) - torch.tanh(u - h)) / (2 * h)  # [1, 2] diagonal entries
    std = log_std.exp()
    gaussian = -0.5 * ((u - mean) / std) ** 2 - log_std - 0.5 * math.log(2 * math.pi)
    reference = (gaussian - jacobian.log()).sum(dim=1)
    torch.testing.assert_close(
        tanh_gaussian_log_prob(u, mean, log_std), reference, rtol=0, atol=1e-8
    )


def test_log_prob_integrates_to_a_histogram_of_samples() -> None:
    # One dimension: the share of 200k squashed samples in each bin ≈ ∫ p(a) da over the bin.
    gen = torch.Generator().manual_seed(0)
    mean, log_std = torch.tensor([[0.4]]), torch.tensor([[0.3]])
    u = mean + log_std.exp() * torch.randn(200_000, 1, generator=gen)
    samples = torch.tanh(u)[:, 0].numpy()
    edges = np.linspace(-0.95, 0.95, 20)
    share = np.histogram(samples, edges)[0] / len(samples)
    fine = np.linspace(-0.95, 0.95, 19 * 200 + 1)  # 200 trapezoids per bin
    a = torch.tensor(fine, dtype=torch.float64)[:, None]
    density = tanh_gaussian_log_prob(torch.atanh(a), mean.double(), log_std.double()).exp()
    cumulative = np.concatenate(
        [[0.0], np.cumsum(np.diff(fine) * 0.5 * (density[1:] + density[:-1]).numpy())]
    )
    expected = np.diff(cumulative[::200])
    np.testing.assert_allclose(share, expected, atol=3e-3)


def test_the_jacobian_correction_stays_finite_where_tanh_saturates() -> None:
    # log(1 - tanh(u)^2) at u = ±20: tanh rounds to ±1 in float32, the stable form gives
    # 2 (log 2 - 20 - softplus(-40)) ≈ 2 (0.6931 - 20) = -38.614
    u = torch.tensor([[20.0], [-20.0], [0.0]])
    expected = torch.tensor([2 * (math.log(2) - 20), 2 * (math.log(2) - 20), 0.0])
    torch.testing.assert_close(tanh_log_det_jacobian(u), expected, rtol=1e-5, atol=1e-5)
    naive = torch.log(1 - torch.tanh(u) ** 2).sum(dim=1)
    assert torch.isinf(naive[0])  # what the stable form avoids


def test_sampled_log_prob_is_the_log_prob_of_the_sample() -> None:
    policy = SquashedGaussianPolicy(3, 2, [8])
    obs = torch.randn(5, 3)
    actions, log_prob = policy.sample(obs, torch.Generator().manual_seed(1))
    mean, log_std = policy(obs)
    expected = tanh_gaussian_log_prob(
        torch.atanh(actions.double()), mean.double(), log_std.double()
    )
    torch.testing.assert_close(log_prob.double(), expected, rtol=1e-4, atol=1e-4)
    assert actions.abs().max() < 1


def test_numpy_acting_matches_torch() -> None:
    policy = SquashedGaussianPolicy(3, 2, [16, 16])
    obs = np.random.default_rng(0).standard_normal((4, 3)).astype(np.float32)
    mean, _ = policy(torch.from_numpy(obs))
    greedy = policy.numpy_act(obs, None)
    assert greedy is not None
    np.testing.assert_allclose(greedy, torch.tanh(mean).detach().numpy(), rtol=1e-5, atol=1e-6)
    sampled = policy.numpy_act(obs, np.random.default_rng(0))
    assert sampled is not None and sampled.shape == (4, 2) and np.abs(sampled).max() < 1


def test_action_scaling_round_trip() -> None:
    low, high = np.array([-2.0, 0.0]), np.array([2.0, 1.0])
    # -1 → low, 1 → high, 0 → the middle: [-2, 0], [2, 1], [0, 0.5]
    squashed = np.array([[-1.0, -1.0], [1.0, 1.0], [0.0, 0.0]])
    scaled = scale_actions(squashed, low, high)
    np.testing.assert_allclose(scaled, [[-2, 0], [2, 1], [0, 0.5]])
    np.testing.assert_allclose(unscale_actions(scaled, low, high), squashed)


def test_q_ensemble_critics_are_independent_mlps() -> None:
    torch.manual_seed(0)
    net = QEnsemble(3, 1, [8, 8], n_critics=2)
    obs, act = torch.randn(6, 3), torch.randn(6, 1)
    q = net(obs, act)
    assert q.shape == (2, 6)
    x = torch.cat([obs, act], dim=1)
    for i in range(2):  # critic i by hand: relu(relu(x W0 + b0) W1 + b1) · w2 + b2
        w, b = net.weights, net.biases
        h = torch.relu(x @ w[0][i] + b[0][i])
        h = torch.relu(h @ w[1][i] + b[1][i])
        torch.testing.assert_close(q[i], h @ w[2][i] + b[2][i])
    q_detached = net(obs, act.requires_grad_(True), detach_params=True)
    q_detached.sum().backward()
    assert act.grad is not None and all(p.grad is None for p in net.parameters())


@pytest.mark.parametrize("bad", [{"activation": "elu"}, {"n_critics": 0}])
def test_q_ensemble_rejects_bad_settings(bad: dict[str, object]) -> None:
    from rlworks.errors import ConfigError

    with pytest.raises(ConfigError):
        QEnsemble(3, 1, [8], **bad)  # type: ignore[arg-type]
