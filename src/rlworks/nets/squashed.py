"""Tanh-squashed Gaussian policies and ensembles of Q-networks over (observation, action) pairs.

Building blocks of maximum-entropy actor-critic methods (SAC and its relatives); nothing here
imports an algorithm.

* A squashed Gaussian draws ``u ~ N(mean(s), std(s)²)`` and acts ``a = tanh(u)`` in ``(-1, 1)``.
  By the change of variables its log-density is
  ``log π(a|s) = log N(u) - Σ_i log(1 - tanh(u_i)²)``; :func:`tanh_gaussian_log_prob` writes the
  correction in the form ``log(1 - tanh(u)²) = 2 (log 2 - u - softplus(-2u))``, which stays finite
  where ``tanh(u)`` rounds to ±1.
* :func:`scale_actions` / :func:`unscale_actions` map ``[-1, 1]`` onto a ``Box``'s bounds and back.
* :class:`QEnsemble` holds ``n`` independent MLP critics ``Q_i(s, a)`` as stacked weights
  ``[n, in, out]``: one batched matrix product per layer evaluates all of them.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from rlworks.errors import ConfigError
from rlworks.nets.mlp import NumpyForward, mlp

__all__ = [
    "LOG_STD_MAX",
    "LOG_STD_MIN",
    "QEnsemble",
    "SquashedGaussianPolicy",
    "scale_actions",
    "tanh_gaussian_log_prob",
    "tanh_log_det_jacobian",
    "unscale_actions",
]

LOG_STD_MIN = -20.0
"""Lowest log standard deviation the policy head may output (clamped)."""
LOG_STD_MAX = 2.0
"""Highest log standard deviation the policy head may output (clamped)."""

_HALF_LOG_2PI = 0.5 * math.log(2.0 * math.pi)
_LOG_2 = math.log(2.0)


def tanh_log_det_jacobian(pre_tanh: torch.Tensor) -> torch.Tensor:
    """``Σ_i log(1 - tanh(u_i)²)`` over the last axis, computed stably as
    ``Σ_i 2 (log 2 - u_i - softplus(-2 u_i))``.

    Args:
        pre_tanh: ``[..., A]`` pre-squash values ``u``.

    Returns:
        ``[...]`` the log-determinant of the Jacobian of ``tanh`` at ``u``.
    """
    return (2.0 * (_LOG_2 - pre_tanh - F.softplus(-2.0 * pre_tanh))).sum(dim=-1)


def tanh_gaussian_log_prob(
    pre_tanh: torch.Tensor, mean: torch.Tensor, log_std: torch.Tensor
) -> torch.Tensor:
    """Log-density of ``a = tanh(u)`` for ``u ~ N(mean, exp(log_std)²)`` (diagonal).

    ``log π(a) = Σ_i log N(u_i; mean_i, std_i) - Σ_i log(1 - tanh(u_i)²)``.

    Args:
        pre_tanh: ``[..., A]`` the Gaussian sample ``u`` before squashing.
        mean: ``[..., A]`` Gaussian means.
        log_std: ``[..., A]`` Gaussian log standard deviations.

    Returns:
        ``[...]`` log-densities of the squashed actions.
    """
    z = (pre_tanh - mean) * torch.exp(-log_std)  # [..., A] standardized sample
    gaussian = (-0.5 * z.square() - log_std - _HALF_LOG_2PI).sum(dim=-1)  # [...]
    return gaussian - tanh_log_det_jacobian(pre_tanh)


def scale_actions(squashed: np.ndarray, low: np.ndarray, high: np.ndarray) -> np.ndarray:
    """Map actions in ``[-1, 1]`` onto ``[low, high]`` (elementwise, affine)."""
    scaled: np.ndarray = low + 0.5 * (squashed + 1.0) * (high - low)
    return scaled


def unscale_actions(actions: np.ndarray, low: np.ndarray, high: np.ndarray) -> np.ndarray:
    """Map actions in ``[low, high]`` back onto ``[-1, 1]`` (inverse of :func:`scale_actions`)."""
    unscaled: np.ndarray = 2.0 * (actions - low) / (high - low) - 1.0
    return unscaled


class SquashedGaussianPolicy(nn.Module):
    """An MLP that outputs the mean and log standard deviation of a tanh-squashed Gaussian.

    The body's last layer has ``2 * action_dim`` outputs: means, then log standard deviations
    (clamped to ``[LOG_STD_MIN, LOG_STD_MAX]``). Actions are in ``(-1, 1)``; rescale them with
    :func:`scale_actions`.

    Args:
        obs_dim: Width of a flattened observation.
        action_dim: Number of action components.
        hidden_sizes: Widths of the hidden layers.
        activation: Hidden activation name (see :data:`rlworks.nets.ACTIVATIONS`).
    """

    def __init__(
        self,
        obs_dim: int,
        action_dim: int,
        hidden_sizes: Sequence[int],
        activation: str = "relu",
    ) -> None:
        super().__init__()
        self.action_dim = action_dim
        self.body = mlp(obs_dim, hidden_sizes, 2 * action_dim, activation=activation)
        self._numpy = NumpyForward(self.body)

    def forward(self, obs: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Means and clamped log standard deviations ``[B, A]`` of observations ``[B, D]``."""
        out = self.body(obs)  # [B, 2A]
        mean, log_std = out.split(self.action_dim, dim=1)
        return mean, log_std.clamp(LOG_STD_MIN, LOG_STD_MAX)

    def sample(
        self, obs: torch.Tensor, generator: torch.Generator | None = None
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Reparameterized actions ``[B, A]`` in ``(-1, 1)`` and their log-probabilities ``[B]``.

        The sample is ``tanh(mean + std · ε)`` with ``ε ~ N(0, I)`` drawn from ``generator``, so
        gradients flow to the network through the mean and the standard deviation.
        """
        mean, log_std = self(obs)
        noise = torch.randn(
            mean.shape, generator=generator, device=mean.device, dtype=mean.dtype
        )  # [B, A]
        pre_tanh = mean + log_std.exp() * noise  # [B, A]
        return torch.tanh(pre_tanh), tanh_gaussian_log_prob(pre_tanh, mean, log_std)

    def numpy_act(self, obs: np.ndarray, rng: np.random.Generator | None) -> np.ndarray | None:
        """Actions ``[N, A]`` in ``(-1, 1)`` computed in NumPy: sampled with ``rng``, or
        ``tanh(mean)`` when ``rng`` is None. None when the network cannot run in NumPy (the
        caller then uses torch)."""
        out = self._numpy(obs)  # [N, 2A]
        return None if out is None else squash_head(out, self.action_dim, rng)


def squash_head(out: np.ndarray, action_dim: int, rng: np.random.Generator | None) -> np.ndarray:
    """Actions ``[N, A]`` in ``(-1, 1)`` from the policy body's output ``[N, 2A]`` (mean, then
    log std): ``tanh(mean + std · ε)`` with ``ε`` drawn from ``rng``, or ``tanh(mean)``."""
    mean = out[:, :action_dim]
    if rng is not None:
        std = np.exp(np.clip(out[:, action_dim:], LOG_STD_MIN, LOG_STD_MAX))
        mean = mean + std * rng.standard_normal(mean.shape, dtype=np.float32)
    actions: np.ndarray = np.tanh(mean)
    return actions


class QEnsemble(nn.Module):
    """``n`` independent MLP critics ``Q_i(s, a)``, evaluated together.

    Layer ``k`` of all critics is one weight tensor ``[n, in, out]`` and one bias ``[n, 1, out]``,
    initialized as ``nn.Linear`` does (uniform in ``±1/sqrt(in)``), so the ``n`` forward passes
    are one batched matrix product per layer.

    Args:
        obs_dim: Width of a flattened observation.
        action_dim: Number of action components.
        hidden_sizes: Widths of the hidden layers.
        n_critics: Number of critics (2 for SAC's clipped double-Q).
        activation: ``relu`` or ``tanh``.
    """

    def __init__(
        self,
        obs_dim: int,
        action_dim: int,
        hidden_sizes: Sequence[int],
        n_critics: int = 2,
        activation: str = "relu",
    ) -> None:
        super().__init__()
        if activation not in ("relu", "tanh"):
            raise ConfigError(f"critic activation must be relu or tanh, got {activation!r}")
        if n_critics < 1 or not hidden_sizes or any(w < 1 for w in hidden_sizes):
            raise ConfigError(
                f"a Q ensemble needs n_critics >= 1 and widths >= 1, got {n_critics}, "
                f"{list(hidden_sizes)}"
            )
        self.n_critics = n_critics
        self.activation = activation
        widths = [obs_dim + action_dim, *hidden_sizes]
        self.weights = nn.ParameterList()
        self.biases = nn.ParameterList()
        for n_in, n_out in itertools.pairwise([*widths, 1]):
            bound = 1.0 / math.sqrt(n_in)
            weight = torch.empty(n_critics, n_in, n_out).uniform_(-bound, bound)
            bias = torch.empty(n_critics, 1, n_out).uniform_(-bound, bound)
            if n_out == 1:  # the output layer as rows [n, H] and biases [n, 1]
                weight, bias = weight.squeeze(-1), bias.squeeze(-1)
            self.weights.append(nn.Parameter(weight))
            self.biases.append(nn.Parameter(bias))

    def forward(
        self, obs: torch.Tensor, actions: torch.Tensor, *, detach_params: bool = False
    ) -> torch.Tensor:
        """Q-values ``[n, B]`` of observations ``[B, D]`` and actions ``[B, A]``.

        With ``detach_params`` the weights are treated as constants: gradients reach the inputs
        (e.g. the actor's actions) but no weight gradient is computed.
        """
        params = list(zip(self.weights, self.biases, strict=True))
        if detach_params:
            params = [(w.detach(), b.detach()) for w, b in params]
        x = torch.cat([obs, actions], dim=1)  # [B, D + A]
        h = x.expand(self.n_critics, *x.shape)  # [n, B, D + A], no copy
        for weight, bias in params[:-1]:
            h = torch.baddbmm(bias, h, weight)  # [n, B, H]
            h = h.relu_() if self.activation == "relu" else h.tanh_()
        # One output per critic: a multiply-and-sum is several times cheaper than a batched
        # matrix-vector product here.
        weight, bias = params[-1]
        q: torch.Tensor = (h * weight.unsqueeze(1)).sum(dim=-1) + bias  # [n, B]
        return q
