"""Uniform experience replay: a preallocated NumPy ring buffer with optional n-step returns.

The chapter's replay memory (first a ``deque``, then a rotating list) becomes one fixed array
here: a packed record per transition (every field side by side, no padding), allocated once and
written in place at a moving position. Appending a batch and sampling a batch each cost a handful
of vectorized NumPy calls whatever the buffer's size, and a sample gathers each transition with a
single row copy (one or two cache lines for CartPole) instead of one random read per field.

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

    ``obs``, ``actions``, ``rewards``, ``next_obs``, ``terminated`` and ``truncated`` are
    (strided) views into one block of gathered records, a fresh copy that nothing else holds;
    ``np.ascontiguousarray`` makes a contiguous copy where one is needed.

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


def _record_layout(
    obs_shape: tuple[int, ...],
    obs_dtype: np.dtype[Any],
    action_shape: tuple[int, ...],
    action_dtype: np.dtype[Any],
) -> np.dtype[Any]:
    """The packed record of one stored transition: fields by decreasing alignment, no padding.

    Ordering by alignment keeps every field aligned whenever the record size is a multiple of
    the largest alignment (CartPole: obs 0, next_obs 16, rewards 32, actions 36, code 37,
    terminated 38, truncated 39 → 40 bytes) without spending a byte on padding.
    """
    fields: list[tuple[str, np.dtype[Any], tuple[int, ...]]] = [
        ("obs", obs_dtype, obs_shape),
        ("next_obs", obs_dtype, obs_shape),
        ("actions", action_dtype, action_shape),
        ("rewards", np.dtype(np.float32), ()),
        ("discount_code", np.dtype(np.uint8), ()),
        ("terminated", np.dtype(np.bool_), ()),
        ("truncated", np.dtype(np.bool_), ()),
    ]
    fields.sort(key=lambda field: -field[1].alignment)  # stable: ties keep this order
    names, formats, offsets = [], [], []
    offset = 0
    for name, dtype, shape in fields:
        names.append(name)
        formats.append((dtype, shape) if shape else dtype)
        offsets.append(offset)
        offset += dtype.itemsize * int(np.prod(shape, dtype=np.int64))
    return np.dtype({"names": names, "formats": formats, "offsets": offsets, "itemsize": offset})


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

        layout = _record_layout(
            self.obs_shape, self.obs_dtype, self.action_shape, self.action_dtype
        )
        self._layout = layout
        self._data = np.zeros(self.capacity, layout)  # [N] packed records
        # The same bytes as plain records: NumPy copies these with one memcpy each (a take on
        # the structured array goes field by field, about twice as slow).
        self._records = self._data.view(np.dtype((np.void, layout.itemsize)))
        # Field views into the records (strided, written in place): [N, *obs], [N, *act], [N].
        self._obs = self._data["obs"]
        self._next_obs = self._data["next_obs"]
        self._actions = self._data["actions"]
        self._rewards = self._data["rewards"]
        self._codes = self._data["discount_code"]  # n_step > 1: see _discount_table
        self._terminated = self._data["terminated"]
        self._truncated = self._data["truncated"]
        # A gathered field is a view into the gathered records when every row keeps it aligned
        # (CartPole's 40-byte rows do); odd layouts copy it out aligned instead.
        self._views_aligned = all(
            offset % dtype.alignment == 0 and layout.itemsize % dtype.alignment == 0
            for dtype, offset, *_ in (layout.fields or {}).values()
        )
        self._pos = 0  # next slot to write
        self._size = 0
        # n_step > 1: discount = table[code], code = k rewards summed or 0 after a termination
        # (table[0] = 0, table[k] = γ^k). n_step = 1 leaves the code unwritten and reads the
        # terminated flag instead: discount = [γ, 0][terminated].
        self._discount_table = (self.gamma ** np.arange(self.n_step + 1)).astype(np.float32)
        self._discount_table[0] = 0.0
        if self.n_step == 1:
            self._discount_table = np.array([self.gamma, 0.0], np.float32)

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

        Per transition (one packed record): two observations, one action, a float32 reward, a
        uint8 discount code (the step count) and two bools (CartPole with uint8 actions:
        2·16 + 1 + 4 + 1 + 2 = 40 bytes).
        """
        obs = int(np.prod(obs_shape, dtype=np.int64)) * np.dtype(obs_dtype).itemsize
        action = int(np.prod(action_shape, dtype=np.int64)) * np.dtype(action_dtype).itemsize
        per_row = 2 * obs + action + 4 + 1 + 1 + 1
        return int(capacity) * per_row

    @property
    def nbytes(self) -> int:
        """Bytes held by the transition records (the small n-step windows not counted)."""
        return int(self._data.nbytes)

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
        if self.n_step == 1:  # no windows, and no discount code to write
            self._write(obs, action, reward, next_obs, None, term, truncated)
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
            np.where(term[b], 0, length[b] - j).astype(np.uint8),  # k summed, 0 if terminated
            term[b],
            trunc[b],
        )

    def _write(
        self,
        obs: ArrayLike,
        action: ArrayLike,
        reward: ArrayLike,
        next_obs: ArrayLike,
        codes: np.ndarray | None,
        terminated: np.ndarray,
        truncated: ArrayLike,
    ) -> None:
        """Write ``M`` finished transitions at the ring position.

        ``codes`` ``[M]`` index the discount table when ``n_step > 1``: the ``k`` rewards
        summed, or 0 (discount 0) after a termination; None when ``n_step == 1``.
        """
        rows = terminated.shape[0]
        if rows == 0:
            return
        if rows > self.capacity:  # only the newest `capacity` rows survive
            cut = rows - self.capacity
            obs, action, reward = (np.asarray(a)[cut:] for a in (obs, action, reward))
            next_obs, truncated = (np.asarray(a)[cut:] for a in (next_obs, truncated))
            terminated, rows = terminated[cut:], self.capacity
            codes = None if codes is None else codes[cut:]
        start = self._pos
        end = start + rows
        slots: slice | np.ndarray = (
            slice(start, end) if end <= self.capacity else np.arange(start, end) % self.capacity
        )
        self._obs[slots] = obs
        self._next_obs[slots] = next_obs
        self._actions[slots] = action
        self._rewards[slots] = reward
        if codes is not None:
            self._codes[slots] = codes
        self._terminated[slots] = terminated
        self._truncated[slots] = truncated
        self._pos = end % self.capacity
        self._size = min(self._size + rows, self.capacity)
        self._on_write(slots)

    def _on_write(self, slots: slice | np.ndarray) -> None:
        """Hook for subclasses: ``slots`` (a slice, or ``[M]`` indices where the ring wrapped)
        were just overwritten with new transitions."""

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
        return self._gather(indices, _ones(batch_size))

    def gather(self, indices: ArrayLike) -> ReplayBatch:
        """The stored transitions at slots ``indices`` (weights all ones), e.g. to inspect them.

        Raises:
            ConfigError: An index is outside ``[0, len(self))``.
        """
        idx = np.asarray(indices, dtype=np.int64).reshape(-1)  # [B]
        if idx.size and (idx.min() < 0 or idx.max() >= self._size):
            raise ConfigError(f"slots must lie in [0, {self._size}), got {idx.min()}..{idx.max()}")
        return self._gather(idx, _ones(idx.size))

    def _gather(self, indices: np.ndarray, weights: np.ndarray) -> ReplayBatch:
        """One row copy per transition; the batch's fields are views into those copied rows
        (strided, not contiguous) or, for a layout that would misalign them, aligned copies."""
        rows = self._records.take(indices)  # [B] records, one memcpy each
        records = np.ndarray(rows.shape, self._layout, rows)  # the same bytes, by field
        terminated = records["terminated"]  # [B]
        codes = terminated if self.n_step == 1 else records["discount_code"]  # [B]
        batch = ReplayBatch(
            records["obs"],
            records["actions"],
            records["rewards"],
            records["next_obs"],
            self._discount_table.take(codes),  # [B] float32, a fresh array
            terminated,
            records["truncated"],
            indices,
            weights,
        )
        if not self._views_aligned:
            batch = ReplayBatch(*(np.array(field) for field in batch))
        return batch


def _ones(size: int) -> np.ndarray:
    """A fresh float32 array of ``size`` ones (``np.ones`` costs ~3x as much at batch sizes)."""
    ones = np.empty(size, np.float32)
    ones.fill(1.0)
    return ones
