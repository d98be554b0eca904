"""The curiosity interface, its settings and the pieces every curiosity module shares.

A curiosity module turns the transitions of one on-policy rollout into intrinsic rewards (added
to the extrinsic ones before advantages are estimated) and has a loss of its own, minimized
alongside the agent's. Everything an agent needs is behind :class:`Curiosity`; the agent holds a
:class:`IntrinsicMotivation`, which adds the storage (a driver observer that records the
rollout's transitions), the optimizer and the checkpoint state.

Also here: :class:`RunningMeanStd` (parallel-batch running moments),
:class:`ObservationWhitener` (the modules' observation normalization) and
:class:`RewardNormalizer`, which divides intrinsic rewards by a running standard deviation of
their discounted (non-episodic) returns, as in the RND paper.
"""

from __future__ import annotations

from typing import Any, NamedTuple, Protocol

import numpy as np
import torch
from torch import nn

from rlworks.curiosity.settings import CuriosityConfig
from rlworks.types import Transition

__all__ = [
    "Curiosity",
    "CuriosityBatch",
    "CuriosityConfig",
    "ObservationWhitener",
    "RewardNormalizer",
    "RolloutRecorder",
    "RunningMeanStd",
]


# ----------------------------------------------------------------------------- the interface
class CuriosityBatch(NamedTuple):
    """The valid transitions of a rollout as tensors, in the rollout buffer's row order.

    Attributes:
        obs: ``[M, D]`` float32, flattened observations.
        next_obs: ``[M, D]`` float32, the observations that followed.
        actions: ``[M]`` int64 (Discrete) or ``[M, A]`` float32 (Box), as taken.
    """

    obs: torch.Tensor
    next_obs: torch.Tensor
    actions: torch.Tensor

    def take(self, idx: torch.Tensor) -> CuriosityBatch:
        """The rows ``idx`` (``[B]``)."""
        return CuriosityBatch(self.obs[idx], self.next_obs[idx], self.actions[idx])


class Curiosity(Protocol):
    """An intrinsic-reward module: rewards for a rollout, and the loss that trains it.

    Implementations are :class:`torch.nn.Module` s (their parameters are what the optimizer
    trains, their ``state_dict`` holds the running statistics too).
    """

    def intrinsic_reward(self, batch: CuriosityBatch) -> torch.Tensor:
        """Raw (unnormalized) intrinsic reward of each transition, ``[M]``, without gradient;
        may update observation statistics first."""
        ...

    def loss(self, batch: CuriosityBatch) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        """The module's training loss on a minibatch, and its diagnostics (detached)."""
        ...

    def parameters(self) -> Any:
        """Trainable parameters (``nn.Module.parameters``)."""
        ...

    def state_dict(self) -> dict[str, Any]:
        """Parameters and running statistics."""
        ...

    def load_state_dict(self, state: dict[str, Any]) -> Any:
        """Restore :meth:`state_dict`."""
        ...


# ----------------------------------------------------------------------------- statistics
class RunningMeanStd:
    """Running mean and variance over batches (Chan et al.'s parallel update), float64.

    Example:
        >>> rms = RunningMeanStd((2,))
        >>> rms.update(np.array([[0.0, 1.0], [2.0, 3.0]]))
        >>> rms.mean, rms.var   # [1, 2], [1, 1]
    """

    def __init__(self, shape: tuple[int, ...] = (), max_count: int | None = None) -> None:
        """Start empty (mean 0, variance 1, count 0).

        Args:
            shape: Shape of one sample.
            max_count: Cap on the count the old moments weigh (None: no cap); with a cap, a
                batch of ``k`` weighs at least ``k / (max_count + k)``: exponential forgetting.
        """
        self.mean = np.zeros(shape, dtype=np.float64)
        self.var = np.ones(shape, dtype=np.float64)
        self.count = 0
        self.max_count = max_count

    def update(self, x: np.ndarray) -> None:
        """Fold in a batch ``[K, *shape]`` (nothing happens for ``K = 0``)."""
        x = np.asarray(x, dtype=np.float64)
        k = x.shape[0]
        if k == 0:
            return
        batch_mean, batch_var = x.mean(axis=0), x.var(axis=0)
        if self.count == 0:
            self.mean, self.var, self.count = batch_mean, batch_var, k
            return
        if self.max_count is not None:
            self.count = min(self.count, self.max_count)
        total = self.count + k
        delta = batch_mean - self.mean
        m2 = self.var * self.count + batch_var * k + delta**2 * self.count * k / total
        self.mean = self.mean + delta * k / total
        self.var = m2 / total
        self.count = total

    @property
    def std(self) -> np.ndarray:
        """``sqrt(var + 1e-8)``."""
        std: np.ndarray = np.sqrt(self.var + 1e-8)
        return std

    def state_dict(self) -> dict[str, Any]:
        """Mean, variance and count as plain data (lists, for ``weights_only`` loading)."""
        return {"mean": self.mean.tolist(), "var": self.var.tolist(), "count": self.count}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Restore :meth:`state_dict`."""
        self.mean = np.asarray(state["mean"], dtype=np.float64).copy()
        self.var = np.asarray(state["var"], dtype=np.float64).copy()
        self.count = int(state["count"])


class ObservationWhitener(nn.Module):
    """Whitens flat observations ``[B, D]`` with running statistics and clips them to
    ``[-clip, clip]``, as RND's and ICM's inputs; the statistics travel in ``state_dict``.

    Example:
        >>> whiten = ObservationWhitener(2, clip=5.0)
        >>> whiten.update(next_obs)   # fold a rollout's observations in
        >>> x = whiten(next_obs)      # (x - mean) / std, clipped
    """

    mean: torch.Tensor
    std: torch.Tensor

    def __init__(self, obs_dim: int, clip: float, enabled: bool = True) -> None:
        """Start with mean 0 and standard deviation 1; ``enabled=False`` passes inputs through."""
        super().__init__()
        self.clip, self.enabled = clip, enabled
        self.rms = RunningMeanStd((obs_dim,))
        self.register_buffer("mean", torch.zeros(obs_dim))
        self.register_buffer("std", torch.ones(obs_dim))

    def forward(self, obs: torch.Tensor) -> torch.Tensor:
        """``clip((obs - mean) / std)`` ``[B, D]``, or ``obs`` when disabled."""
        if not self.enabled:
            return obs
        return ((obs - self.mean) / self.std).clamp(-self.clip, self.clip)

    def update(self, obs: torch.Tensor) -> None:
        """Fold observations ``[B, D]`` into the running statistics (when enabled)."""
        if not self.enabled:
            return
        self.rms.update(obs.detach().cpu().numpy())
        self.mean.copy_(torch.as_tensor(self.rms.mean, dtype=torch.float32))
        self.std.copy_(torch.as_tensor(self.rms.std, dtype=torch.float32))

    def get_extra_state(self) -> dict[str, object]:
        """The running statistics (saved in ``state_dict``)."""
        return {"obs_rms": self.rms.state_dict()}

    def set_extra_state(self, state: dict[str, object]) -> None:
        """Restore :meth:`get_extra_state`."""
        rms = state["obs_rms"]
        assert isinstance(rms, dict)
        self.rms.load_state_dict(rms)


class RewardNormalizer:
    """Divides intrinsic rewards by the running std of their discounted returns.

    Per sub-environment, ``R ← γ·R + r`` runs over time without ever being reset (the intrinsic
    return is non-episodic here, as in the RND paper, so the scale does not depend on where
    episodes end); every ``R`` of a rollout updates the running variance, and the rollout's
    rewards are divided by its square root. The rewards keep their sign and their mean is not
    subtracted.
    """

    def __init__(
        self, n_envs: int, gamma: float, horizon: int | None = None, center: bool = False
    ) -> None:
        """Start with zero returns for ``n_envs`` streams; ``horizon`` caps the running
        moments' memory (see :class:`RunningMeanStd`'s ``max_count``); ``center`` also
        subtracts a running mean of the rewards themselves."""
        self.gamma = gamma
        self.center = center
        self.returns = np.zeros(n_envs, dtype=np.float64)  # [N]
        self.rms = RunningMeanStd(max_count=horizon)
        self.reward_rms = RunningMeanStd(max_count=horizon)

    def __call__(self, rewards: np.ndarray, valid: np.ndarray) -> np.ndarray:
        """Normalize one rollout's rewards ``[T, N]`` (``valid [T, N]``: rows that exist)."""
        seen = np.empty_like(rewards, dtype=np.float64)  # [T, N]
        for t in range(rewards.shape[0]):
            self.returns = np.where(valid[t], self.gamma * self.returns + rewards[t], self.returns)
            seen[t] = self.returns
        self.rms.update(seen[valid])
        if self.center:
            self.reward_rms.update(rewards[valid])
            rewards = rewards - float(self.reward_rms.mean)
        normalized: np.ndarray = rewards / float(self.rms.std)
        return normalized

    def state_dict(self) -> dict[str, Any]:
        """The returns in progress and the running moments."""
        return {
            "returns": self.returns.tolist(),
            "rms": self.rms.state_dict(),
            "reward_rms": self.reward_rms.state_dict(),
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Restore :meth:`state_dict`."""
        self.returns = np.asarray(state["returns"], dtype=np.float64).copy()
        self.rms.load_state_dict(state["rms"])
        if "reward_rms" in state:
            self.reward_rms.load_state_dict(state["reward_rms"])


# ----------------------------------------------------------------------------- storage
class RolloutRecorder:
    """A driver observer keeping the ``[n_steps, n_envs]`` transitions a curiosity module reads.

    It is filled row for row exactly as :class:`~rlworks.buffers.RolloutBuffer` is (one row per
    broadcast, slot ``[t, e]`` for sub-environment ``e``), so its valid rows, flattened
    time-major, line up with the buffer's :class:`~rlworks.buffers.RolloutBatch`. Unlike the
    buffer it keeps every row's own ``next_obs`` (including the terminal one).
    """

    def __init__(
        self,
        n_steps: int,
        n_envs: int,
        obs_shape: tuple[int, ...],
        action_shape: tuple[int, ...],
        action_dtype: Any,
    ) -> None:
        """Allocate the storage (observations as float32)."""
        size = (n_steps, n_envs)
        self.n_steps, self.n_envs = n_steps, n_envs
        self.obs = np.zeros((*size, *obs_shape), dtype=np.float32)  # [T, N, *obs]
        self.next_obs = np.zeros((*size, *obs_shape), dtype=np.float32)  # [T, N, *obs]
        self.actions = np.zeros((*size, *action_shape), dtype=action_dtype)  # [T, N, *act]
        self.valid = np.zeros(size, dtype=bool)  # [T, N]
        self.pos = 0

    def __call__(self, transition: Transition) -> None:
        """Write one broadcast batch as the next row; starts over after ``n_steps`` rows."""
        if self.pos >= self.n_steps:
            self.pos = 0
        t, ids = self.pos, transition.env_ids
        self.obs[t, ids] = transition.obs
        self.next_obs[t, ids] = transition.next_obs
        self.actions[t, ids] = transition.action
        self.valid[t] = False
        self.valid[t, ids] = True
        self.pos += 1

    def clear(self) -> None:
        """Start a new rollout."""
        self.pos = 0
        self.valid[:] = False

    def batch(self, device: torch.device) -> CuriosityBatch:
        """The valid rows written so far, flattened time-major, as tensors on ``device``."""
        valid = self.valid[: self.pos]  # [T, N]
        m = int(valid.sum())
        obs = torch.as_tensor(self.obs[: self.pos][valid].reshape(m, -1), device=device)
        next_obs = torch.as_tensor(self.next_obs[: self.pos][valid].reshape(m, -1), device=device)
        actions = torch.as_tensor(self.actions[: self.pos][valid], device=device)
        return CuriosityBatch(obs, next_obs, actions)
