"""Uniform experience replay: a preallocated NumPy ring buffer with optional n-step returns.

The chapter's replay memory (first a ``deque``, then a rotating list) becomes fixed arrays here:
one per field, allocated once, written in place at a moving position, so appending a batch and
sampling a batch each cost a handful of vectorized NumPy calls whatever the buffer's size.

Fields are stored in the smallest dtypes that are exact (:meth:`ReplayBuffer.from_spaces` picks
``uint8`` actions for ``Discrete(n <= 256)``; uint8 image observations stay uint8; rewards are
float32), so one million CartPole transitions take about 40 MB. ``terminated`` and ``truncated``
are kept apart: a sampled discount is 0 only after a true terminal state.

With ``n_step > 1`` every transition ``(s_t, a_t)`` is stored once ``n`` rewards have arrived, as
``R = Σ_k γ^k r_{t+k}`` with ``next_obs = s_{t+n}`` and discount ``γ^n``; a window cut by the end
of an episode is stored early, with a discount of 0 after a termination and ``γ^k`` (bootstrap
from the last observation) after a truncation or an abandoned episode (:meth:`on_reset`).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, NamedTuple, Self

import numpy as np
from numpy.typing import ArrayLike, DTypeLike

from rlworks.errors import ConfigError
from rlworks.types import Transition

__all__ = ["ReplayBatch", "ReplayBuffer", "available_memory_bytes", "smallest_int_dtype"]


class ReplayBatch(NamedTuple):
    """A batch sampled from a replay buffer; ``B`` rows.

    The one-step TD target of row ``i`` is ``rewards[i] + discounts[i] * V(next_obs[i])``, which
    covers plain, n-step, terminated and truncated transitions alike.

    Attributes:
        obs: ``[B, *obs_shape]`` observations the actions were taken in.
        actions: ``[B, *action_shape]``.
        rewards: ``[B]`` float32, the (n-step discounted) reward sum.
        next_obs: ``[B, *obs_shape]``, the observation to bootstrap from.
        discounts: ``[B]`` float32, ``γ^k`` for ``k`` steps summed, or 0 after a termination.
        terminated: ``[B]`` bool, the episode reached a terminal state within the window.
        truncated: ``[B]`` bool, the episode was cut short (or abandoned) within the window.
        indices: ``[B]`` int64 slots in the buffer (for :meth:`update_priorities`).
        weights: ``[B]`` float32 importance-sampling weights (all ones for uniform sampling).
    """

    obs: np.ndarray
    actions: np.ndarray
    rewards: np.ndarray
    next_obs: np.ndarray
    discounts: np.ndarray
    terminated: np.ndarray
    truncated: np.ndarray
    indices: np.ndarray
    weights: np.ndarray


def available_memory_bytes() -> int | None:
    """``MemAvailable`` from ``/proc/meminfo`` in bytes, or None where it cannot be read."""
    try:
        with open("/proc/meminfo", encoding="ascii") as meminfo:
            for line in meminfo:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024  # the file counts kB
    except (OSError, ValueError, IndexError):
        return None
    return None


def smallest_int_dtype(low: int, high: int) -> np.dtype[Any]:
    """The smallest NumPy integer dtype holding every value in ``[low, high]``.

    Example:
        >>> smallest_int_dtype(0, 255), smallest_int_dtype(-1, 1), smallest_int_dtype(0, 256)
        (dtype('uint8'), dtype('int8'), dtype('uint16'))
    """
    unsigned = ("uint8", "uint16", "uint32", "uint64") if low >= 0 else ()
    for name in (*unsigned, "int8", "int16", "int32", "int64"):
        dtype: np.dtype[Any] = np.dtype(name)
        info = np.iinfo(dtype)
        if info.min <= low and high <= info.max:
            return dtype
    raise ConfigError(f"no integer dtype holds the range [{low}, {high}]")


def _space_layout(space: Any, what: str) -> tuple[tuple[int, ...], np.dtype[Any]]:
    """Shape and smallest exact dtype for the values of a Box or Discrete space."""
    from gymnasium import spaces

    if isinstance(space, spaces.Discrete):
        start = int(space.start)
        return (), smallest_int_dtype(start, start + int(space.n) - 1)
    if isinstance(space, spaces.Box):
        return tuple(space.shape), np.dtype(space.dtype)
    raise ConfigError(
        f"{what} space {space!r} is not supported by the replay buffer (expected Box or Discrete)"
    )


class ReplayBuffer:
    """A ring buffer of transitions with uniform sampling and optional n-step returns.

    It is a driver observer: ``driver.observers.append(buffer)`` stores every transition the
    driver collects, and the driver's ``on_reset()`` call flushes the n-step windows of the
    episodes it abandons.

    Args:
        capacity: Number of transitions kept; the oldest is overwritten first.
        obs_shape: Shape of one observation.
        obs_dtype: Dtype observations are stored in (keep ``uint8`` for images).
        action_shape: Shape of one action (``()`` for discrete actions).
        action_dtype: Dtype actions are stored in.
        n_step: Number of rewards summed into each stored transition (1: plain replay).
        gamma: Discount factor γ in [0, 1].
        available_bytes: Memory the buffer may use; None reads ``MemAvailable`` from
            ``/proc/meminfo`` (no check where it cannot be read).

    Raises:
        ConfigError: A bad ``capacity``, ``n_step`` or ``gamma``, or storage larger than the
            available memory (raised before anything is allocated).
    """

    def __init__(
        self,
        capacity: int,
        obs_shape: Sequence[int] = (),
        obs_dtype: DTypeLike = np.float32,
        action_shape: Sequence[int] = (),
        action_dtype: DTypeLike = np.int64,
        *,
        n_step: int = 1,
        gamma: float = 0.99,
        available_bytes: int | None = None,
    ) -> None:
        if int(capacity) != capacity or capacity < 1:
            raise ConfigError(f"capacity must be an integer >= 1, got {capacity!r}")
        if int(n_step) != n_step or not 1 <= n_step <= 255:
            raise ConfigError(f"n_step must be an integer in [1, 255], got {n_step!r}")
        if not 0.0 <= gamma <= 1.0:
            raise ConfigError(f"gamma must be in [0, 1], got {gamma!r}")
        self.capacity = int(capacity)
        self.obs_shape = tuple(int(d) for d in obs_shape)
        self.obs_dtype = np.dtype(obs_dtype)
        self.action_shape = tuple(int(d) for d in action_shape)
        self.action_dtype = np.dtype(action_dtype)
        self.n_step = int(n_step)
        self.gamma = float(gamma)

        needed = self.estimate_nbytes(
            self.capacity, self.obs_shape, self.obs_dtype, self.action_shape, self.action_dtype
        )
        available = available_memory_bytes() if available_bytes is None else available_bytes
        if available is not None and needed > available:
            raise ConfigError(
                f"a replay buffer of capacity {self.capacity} needs {needed} bytes "
                f"({needed / 2**20:.1f} MiB) but only {available} bytes "
                f"({available / 2**20:.1f} MiB) are available; lower the capacity"
            )

        cap = self.capacity
        self._obs = np.zeros((cap, *self.obs_shape), self.obs_dtype)  # [N, *obs]
        self._next_obs = np.zeros((cap, *self.obs_shape), self.obs_dtype)  # [N, *obs]
        self._actions = np.zeros((cap, *self.action_shape), self.action_dtype)  # [N, *act]
        self._rewards = np.zeros(cap, np.float32)  # [N]
        self._steps = np.zeros(cap, np.uint8)  # [N] rewards summed, k in 1..n_step
        self._terminated = np.zeros(cap, np.bool_)  # [N]
        self._truncated = np.zeros(cap, np.bool_)  # [N]
        self._pos = 0  # next slot to write
        self._size = 0
        # γ^k for k = 0..n_step, and 0 for terminated rows: discount = table[k] * ~terminated.
        self._gamma_powers = (self.gamma ** np.arange(self.n_step + 1)).astype(np.float32)

        # n-step windows, one per sub-environment, circular: grown when a new env id appears.
        self._win_obs = np.zeros((0, self.n_step, *self.obs_shape), self.obs_dtype)  # [E, n, *obs]
        self._win_act = np.zeros((0, self.n_step, *self.action_shape), self.action_dtype)
        self._win_rew = np.zeros((0, self.n_step), np.float64)  # [E, n]
        self._win_next = np.zeros((0, *self.obs_shape), self.obs_dtype)  # [E, *obs] latest s'
        self._win_start = np.zeros(0, np.int64)  # [E] slot of the oldest pending step
        self._win_len = np.zeros(0, np.int64)  # [E] pending steps
        k = np.arange(self.n_step)
        # _suffix[j, k] = γ^(k - j) for k >= j: (rewards [B, n] @ _suffix.T)[:, j] = Σ_k≥j ...
        self._suffix = np.where(
            k[None, :] >= k[:, None], self.gamma ** (k[None, :] - k[:, None]), 0.0
        )

    # ------------------------------------------------------------------ construction helpers

    @classmethod
    def from_spaces(
        cls, observation_space: Any, action_space: Any, capacity: int, **kwargs: Any
    ) -> Self:
        """A buffer laid out for a Gymnasium observation and action space (Box or Discrete).

        Discrete values are stored in the smallest integer dtype that holds them (``uint8`` for
        ``Discrete(n <= 256)``); Box values keep the space's dtype. Other keyword arguments go
        to the constructor.
        """
        obs_shape, obs_dtype = _space_layout(observation_space, "observation")
        action_shape, action_dtype = _space_layout(action_space, "action")
        return cls(capacity, obs_shape, obs_dtype, action_shape, action_dtype, **kwargs)

    @classmethod
    def estimate_nbytes(
        cls,
        capacity: int,
        obs_shape: Sequence[int] = (),
        obs_dtype: DTypeLike = np.float32,
        action_shape: Sequence[int] = (),
        action_dtype: DTypeLike = np.int64,
    ) -> int:
        """Bytes the storage of a buffer with this layout takes, computed without allocating.

        Per transition: two observations, one action, a float32 reward, a uint8 step count and
        two bools (CartPole with uint8 actions: 2·16 + 1 + 4 + 1 + 2 = 40 bytes).
        """
        obs = int(np.prod(obs_shape, dtype=np.int64)) * np.dtype(obs_dtype).itemsize
        action = int(np.prod(action_shape, dtype=np.int64)) * np.dtype(action_dtype).itemsize
        per_row = 2 * obs + action + 4 + 1 + 1 + 1
        return int(capacity) * per_row

    @property
    def nbytes(self) -> int:
        """Bytes held by the storage arrays (the small n-step windows not counted)."""
        arrays = (
            self._obs,
            self._next_obs,
            self._actions,
            self._rewards,
            self._steps,
            self._terminated,
            self._truncated,
        )
        return sum(a.nbytes for a in arrays)

    def __len__(self) -> int:
        """Number of transitions stored (pending n-step windows not counted)."""
        return self._size

    # ------------------------------------------------------------------------------ adding

    def __call__(self, transition: Transition) -> None:
        """Store a batch of transitions from the driver (the observer interface)."""
        self.add(*transition)

    def add(
        self,
        obs: ArrayLike,
        action: ArrayLike,
        reward: ArrayLike,
        next_obs: ArrayLike,
        terminated: ArrayLike,
        truncated: ArrayLike,
        env_ids: ArrayLike | None = None,
    ) -> None:
        """Add one vector step: ``B`` rows, at most one per sub-environment.

        Args:
            obs: ``[B, *obs_shape]``.
            action: ``[B, *action_shape]``.
            reward: ``[B]``.
            next_obs: ``[B, *obs_shape]``, the true next observation of the same episode.
            terminated: ``[B]`` bool.
            truncated: ``[B]`` bool.
            env_ids: ``[B]`` distinct sub-environment indices; None means ``0..B-1``. Only
                read when ``n_step > 1`` (each env has its own pending window).
        """
        term = np.asarray(terminated, dtype=np.bool_)  # [B]
        if self.n_step == 1:
            steps = np.ones(term.shape[0], np.uint8)  # [B]
            self._write(obs, action, reward, next_obs, steps, term, truncated)
            return
        trunc = np.asarray(truncated, dtype=np.bool_)  # [B]
        rows = term.shape[0]
        ids = np.arange(rows) if env_ids is None else np.asarray(env_ids, dtype=np.int64)
        if rows == 0:
            return
        self._grow_windows(int(ids.max()) + 1)
        n = self.n_step
        # Append each row at the end of its env's window.
        slot = (self._win_start[ids] + self._win_len[ids]) % n  # [B]
        self._win_obs[ids, slot] = obs
        self._win_act[ids, slot] = action
        self._win_rew[ids, slot] = reward
        self._win_next[ids] = next_obs
        self._win_len[ids] += 1
        done = term | trunc  # [B]
        length = self._win_len[ids]  # [B]
        # Emit every pending step of a finished episode, and the oldest step of a full window.
        j = np.arange(n)  # [n] position in the window, oldest first
        emit = np.where(
            done[:, None], j[None, :] < length[:, None], (length == n)[:, None] & (j == 0)
        )
        if emit.any():
            self._emit(ids, emit, length, term, trunc)
        # Finished episodes start afresh; full windows drop their oldest step.
        full = ~done & (length == n)
        self._win_start[ids[full]] = (self._win_start[ids[full]] + 1) % n
        self._win_len[ids[full]] = n - 1
        self._win_start[ids[done]] = 0
        self._win_len[ids[done]] = 0

    def on_reset(self) -> None:
        """Flush every pending n-step window: the driver reset all envs mid-episode.

        The pending transitions are real; their episodes were abandoned rather than ended, so
        they are stored as truncated (``terminated`` False) and bootstrap from the last
        observation seen: ``discount = γ^k`` for the ``k`` rewards available.
        """
        pending = np.flatnonzero(self._win_len > 0)
        if pending.size == 0:
            return
        length = self._win_len[pending]  # [P]
        emit = np.arange(self.n_step)[None, :] < length[:, None]  # [P, n]
        term = np.zeros(pending.size, np.bool_)
        self._emit(pending, emit, length, term, ~term)
        self._win_start[:] = 0
        self._win_len[:] = 0

    def _grow_windows(self, n_envs: int) -> None:
        old = self._win_len.shape[0]
        if n_envs <= old:
            return

        def grow(a: np.ndarray) -> np.ndarray:
            return np.concatenate([a, np.zeros((n_envs - old, *a.shape[1:]), a.dtype)])

        self._win_obs = grow(self._win_obs)
        self._win_act = grow(self._win_act)
        self._win_rew = grow(self._win_rew)
        self._win_next = grow(self._win_next)
        self._win_start = grow(self._win_start)
        self._win_len = grow(self._win_len)

    def _emit(
        self,
        ids: np.ndarray,
        emit: np.ndarray,
        length: np.ndarray,
        term: np.ndarray,
        trunc: np.ndarray,
    ) -> None:
        """Store the window steps ``emit[b, j]`` (oldest first) of envs ``ids[b]``."""
        n = self.n_step
        order = (
            self._win_start[ids, None] + np.arange(n)[None, :]
        ) % n  # [B, n] slots, oldest first
        rewards = self._win_rew[ids[:, None], order]  # [B, n]
        rewards = np.where(np.arange(n)[None, :] < length[:, None], rewards, 0.0)
        returns = rewards @ self._suffix.T  # [B, n]: returns[b, j] = Σ_{k>=j} γ^(k-j) r_k
        b, j = np.nonzero(emit)  # [M] each, env-major, oldest step first
        env, slot = ids[b], order[b, j]
        self._write(
            self._win_obs[env, slot],
            self._win_act[env, slot],
            returns[b, j],
            self._win_next[env],
            (length[b] - j).astype(np.uint8),
            term[b],
            trunc[b],
        )

    def _write(
        self,
        obs: ArrayLike,
        action: ArrayLike,
        reward: ArrayLike,
        next_obs: ArrayLike,
        steps: np.ndarray,
        terminated: ArrayLike,
        truncated: ArrayLike,
    ) -> np.ndarray:
        """Write ``M`` finished transitions at the ring position; returns their slots ``[M]``."""
        rows = steps.shape[0]
        if rows > self.capacity:  # only the newest `capacity` rows survive
            cut = rows - self.capacity
            obs, action, reward = (np.asarray(a)[cut:] for a in (obs, action, reward))
            next_obs, terminated, truncated = (
                np.asarray(a)[cut:] for a in (next_obs, terminated, truncated)
            )
            steps, rows = steps[cut:], self.capacity
        start = self._pos
        end = start + rows
        where: slice | np.ndarray
        if end <= self.capacity:
            where = slice(start, end)
            slots = np.arange(start, end)
        else:
            slots = np.arange(start, end) % self.capacity
            where = slots
        self._obs[where] = obs
        self._next_obs[where] = next_obs
        self._actions[where] = action
        self._rewards[where] = reward
        self._steps[where] = steps
        self._terminated[where] = terminated
        self._truncated[where] = truncated
        self._pos = end % self.capacity
        self._size = min(self._size + rows, self.capacity)
        self._on_write(slots)
        return slots

    def _on_write(self, slots: np.ndarray) -> None:
        """Hook for subclasses: ``slots`` were just overwritten with new transitions."""

    # ---------------------------------------------------------------------------- sampling

    def _check_batch_size(self, batch_size: int) -> None:
        if batch_size < 1 or batch_size > self._size:
            raise ConfigError(
                f"cannot sample batch_size {batch_size} from a buffer holding {self._size} "
                f"transitions (need 1 <= batch_size <= {self._size})"
            )

    def sample(self, batch_size: int, rng: np.random.Generator) -> ReplayBatch:
        """Draw ``batch_size`` transitions uniformly, with replacement.

        Args:
            batch_size: Rows to draw, in ``[1, len(self)]``.
            rng: The generator to draw from (no global NumPy random state is used).

        Raises:
            ConfigError: ``batch_size`` is below 1 or above the number of stored transitions.
        """
        self._check_batch_size(batch_size)
        # floor(U · N) with U uniform in [0, 1): one fast draw (rng.integers costs ~3x as much)
        indices = (rng.random(batch_size) * self._size).astype(np.int64)  # [B]
        return self._gather(indices, np.ones(batch_size, np.float32))

    def gather(self, indices: ArrayLike) -> ReplayBatch:
        """The stored transitions at slots ``indices`` (weights all ones), e.g. to inspect them.

        Raises:
            ConfigError: An index is outside ``[0, len(self))``.
        """
        idx = np.asarray(indices, dtype=np.int64).reshape(-1)  # [B]
        if idx.size and (idx.min() < 0 or idx.max() >= self._size):
            raise ConfigError(f"slots must lie in [0, {self._size}), got {idx.min()}..{idx.max()}")
        return self._gather(idx, np.ones(idx.size, np.float32))

    def _gather(self, indices: np.ndarray, weights: np.ndarray) -> ReplayBatch:
        terminated = self._terminated[indices]  # [B]
        discounts = self._gamma_powers[self._steps[indices]]  # [B]
        discounts[terminated] = 0.0
        return ReplayBatch(
            obs=self._obs[indices],
            actions=self._actions[indices],
            rewards=self._rewards[indices],
            next_obs=self._next_obs[indices],
            discounts=discounts,
            terminated=terminated,
            truncated=self._truncated[indices],
            indices=indices,
            weights=weights,
        )
