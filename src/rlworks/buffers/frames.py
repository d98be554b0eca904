"""Frame-deduplicating replay for stacked image observations (Atari's ``[K, 84, 84]`` stacks).

A naive buffer stores each transition's observation and next observation in full: ``2 · K``
frames per transition, although consecutive stacks of one episode share ``K - 1`` frames and a
transition's next observation is the following transition's observation. Here every frame is
stored once, in one ring of frames; a transition keeps ``2 · K`` pointers into it (absolute
frame numbers, 8 bytes each) and a batch's stacks are rebuilt at sample time with one fancy
index. One million Breakout transitions take about 7.4 GB instead of 56 GB.

Nothing is assumed about how the environment builds its stacks: each stack added is compared
with the last stack stored for the same sub-environment. A stack equal to it reuses all ``K``
pointers (a transition's observation is the previous next observation); a stack equal to it
shifted by one frame reuses ``K - 1`` pointers and stores its newest frame (the usual step);
any other stack (an episode start: the env's reset stack, zero- or repeat-padded or not) stores
its frames, a frame equal to the one before it in the stack sharing its slot. The stacks
returned are therefore byte for byte the stacks the environment produced, across episode ends,
resets and the wrap-around of both rings.

The transition records (pointers, action, reward, discount code, ``terminated``, ``truncated``)
live in an ordinary :class:`~rlworks.buffers.replay.ReplayBuffer` (or its prioritized variant)
whose observations are the pointer vectors, so n-step returns, episode ends, sum-tree sampling
and importance weights are theirs, unchanged.

The frame ring holds ``frame_capacity`` frames (by default ``capacity + capacity // 32 + 256``).
Each episode costs one to ``K`` frames more than its steps, so with short episodes the frames of
the oldest transitions may be overwritten before the transitions themselves: those transitions
are then evicted, oldest first, and the buffer holds fewer than ``capacity`` transitions until
longer episodes refill it. A sampled stack is never stale.

Eviction is one search because each record carries a key, the oldest frame it or any later
record may point to, and keys never decrease. What could hold the keys back is a stack reused
for a long time (a frozen screen: after a lost life in Breakout nothing moves until FIRE) or a
sub-environment that stops stepping: when its old frames were finally overwritten, every record
keyed meanwhile would go with them. So a stack is reused only while its frames are younger than
a reuse window (``frame_capacity // 64`` frames, at least ``2 · K``): a frozen screen stores one
new frame per window, and keys lag the newest frame by at most the window. (Pending n-step
windows of a sub-environment that stops stepping still hold the keys; vector envs step all of
theirs together.)

Not thread-safe: callers that add from one thread and sample from another hold one lock around
``add``, ``len``, ``sample`` / ``gather`` and ``update_priorities`` (``len`` can go down when
transitions are evicted, and ``gather`` counts positions among the live ones).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, ClassVar, Self

import numpy as np
from numpy.typing import ArrayLike, DTypeLike

from rlworks.buffers.prioritized import PrioritizedReplayBuffer
from rlworks.buffers.replay import (
    ReplayBatch,
    ReplayBuffer,
    _space_layout,
    available_memory_bytes,
)
from rlworks.errors import ConfigError
from rlworks.types import Transition

__all__ = ["FrameReplayBuffer", "PrioritizedFrameReplayBuffer"]

_NO_STACK = -(2**62)  # pointer of a sub-environment with no reusable last stack
_NOTHING = 2**62  # floor when nothing is referenced
_MIN_SLACK_FRAMES = 256  # frames the default ring holds beyond one per transition


# ---------------------------------------------------------------------- transition records


class _PointerReplay(ReplayBuffer):
    """Transition records whose observations are ``[K]`` int64 frame pointers.

    Calls ``on_write(slots)`` after every write, and tells its owner what the pending n-step
    windows still point to.
    """

    def __init__(
        self, *args: Any, on_write: Callable[[slice | np.ndarray], None], **kwargs: Any
    ) -> None:
        self._tap = on_write
        super().__init__(*args, **kwargs)

    def _on_write(self, slots: slice | np.ndarray) -> None:
        super()._on_write(slots)
        self._tap(slots)

    def pending_floor(self) -> int:
        """The oldest frame the pending n-step windows point to (:data:`_NOTHING` if none)."""
        envs = np.flatnonzero(self._win_len > 0)
        if envs.size == 0:
            return _NOTHING
        n = self.n_step
        age = (np.arange(n)[None, :] - self._win_start[envs, None]) % n  # [E, n]
        pending = age < self._win_len[envs, None]  # [E, n] slots holding a pending step
        oldest = min(int(self._win_obs[envs][pending].min()), int(self._win_next[envs].min()))
        return oldest

    def drop(self, slots: slice | np.ndarray) -> None:
        """Take evicted ``slots`` out of sampling (uniform sampling skips them by position)."""


class _PointerPrioritized(_PointerReplay, PrioritizedReplayBuffer):
    """Prioritized pointer records: evicted slots get priority 0 (and +inf in the min tree)."""

    def drop(self, slots: slice | np.ndarray) -> None:
        leaves = np.arange(slots.start, slots.stop) if isinstance(slots, slice) else slots
        self._sum_tree.update(leaves, 0.0)
        self._min_tree.update(leaves, np.inf)


# ---------------------------------------------------------------------------- the buffer


class FrameReplayBuffer:
    """Uniform replay of stacked frames, each frame stored once; same interface as
    :class:`~rlworks.buffers.replay.ReplayBuffer`.

    It is a driver observer (``buffer(transition)``); :meth:`sample` and :meth:`gather` return
    :class:`~rlworks.buffers.replay.ReplayBatch` rows whose ``obs`` and ``next_obs`` are the
    full ``[B, K, *frame_shape]`` stacks (fresh contiguous arrays).

    Args:
        capacity: Number of transitions kept at most; the oldest is overwritten first.
        obs_shape: Shape of one stacked observation, ``(K, *frame_shape)``, oldest frame first.
        obs_dtype: Dtype of the frames (keep ``uint8``).
        action_shape: Shape of one action (``()`` for discrete actions).
        action_dtype: Dtype actions are stored in.
        n_step: Number of rewards summed into each stored transition (1: plain replay).
        gamma: Discount factor γ in [0, 1].
        frame_capacity: Frames the ring holds; None: ``capacity + capacity // 32 + 256``.
        available_bytes: Memory the buffer may use; None reads ``MemAvailable`` from
            ``/proc/meminfo`` (no check where it cannot be read).

    Raises:
        ConfigError: A bad ``capacity``, ``obs_shape``, ``frame_capacity``, ``n_step`` or
            ``gamma``, or storage larger than the available memory (raised before anything is
            allocated, naming both sizes).
    """

    _records_cls: ClassVar[type[_PointerReplay]] = _PointerReplay

    def __init__(
        self,
        capacity: int,
        obs_shape: Sequence[int],
        obs_dtype: DTypeLike = np.uint8,
        action_shape: Sequence[int] = (),
        action_dtype: DTypeLike = np.int64,
        *,
        n_step: int = 1,
        gamma: float = 0.99,
        frame_capacity: int | None = None,
        available_bytes: int | None = None,
        **record_kwargs: Any,
    ) -> None:
        self.obs_shape = tuple(int(d) for d in obs_shape)
        self.frame_capacity = _frame_capacity(capacity, self.obs_shape, frame_capacity)
        self.capacity = int(capacity)
        self.obs_dtype = np.dtype(obs_dtype)
        self.stack = self.obs_shape[0]  # K
        self.frame_shape = self.obs_shape[1:]
        needed = self.estimate_nbytes(
            capacity,
            self.obs_shape,
            self.obs_dtype,
            action_shape,
            action_dtype,
            frame_capacity=self.frame_capacity,
        )
        available = available_memory_bytes() if available_bytes is None else available_bytes
        if available is not None and needed > available:
            raise ConfigError(
                f"a frame replay buffer of capacity {capacity} ({self.frame_capacity} frames of "
                f"shape {self.frame_shape}) needs {needed} bytes ({needed / 2**20:.1f} MiB) but "
                f"only {available} bytes ({available / 2**20:.1f} MiB) are available; "
                "lower the capacity"
            )
        # The records validate capacity, n_step and gamma; the total was checked above.
        self._records = self._records_cls(
            capacity,
            (self.stack,),
            np.int64,
            action_shape,
            action_dtype,
            n_step=n_step,
            gamma=gamma,
            available_bytes=needed,
            on_write=self._on_records_written,
            **record_kwargs,
        )
        self.action_shape = self._records.action_shape
        self.action_dtype = self._records.action_dtype
        self.n_step = self._records.n_step
        self.gamma = self._records.gamma

        self._frames = np.zeros((self.frame_capacity, *self.frame_shape), self.obs_dtype)
        # Stacks older than this many frames are stored afresh (see the module docstring).
        self._reuse_window = max(self.frame_capacity // 64, 2 * self.stack)
        self.frames_written = 0  # absolute number of the next frame; its slot is this % F
        self._last = np.zeros((0, self.stack), np.int64)  # [E, K] pointers of each env's last stack
        # Per record slot: no frame it (or any later record) points to is older than this.
        # Non-decreasing from the oldest record to the newest, so eviction is one search.
        self._keys = np.zeros(self.capacity, np.int64)  # [N]
        self._write_key = 0  # key of the records written by the current add
        self._stored = 0  # records in the ring, evicted ones included
        self._head = 0  # next record slot written
        self._evicted = 0  # oldest records whose frames were overwritten

    # ------------------------------------------------------------------ construction helpers

    @classmethod
    def from_spaces(
        cls, observation_space: Any, action_space: Any, capacity: int, **kwargs: Any
    ) -> Self:
        """A buffer for a Box observation space of stacks ``(K, *frame_shape)`` and a Box or
        Discrete action space; other keyword arguments go to the constructor."""
        obs_shape, obs_dtype = _space_layout(observation_space, "observation")
        action_shape, action_dtype = _space_layout(action_space, "action")
        return cls(capacity, obs_shape, obs_dtype, action_shape, action_dtype, **kwargs)

    @classmethod
    def estimate_nbytes(
        cls,
        capacity: int,
        obs_shape: Sequence[int],
        obs_dtype: DTypeLike = np.uint8,
        action_shape: Sequence[int] = (),
        action_dtype: DTypeLike = np.int64,
        *,
        frame_capacity: int | None = None,
    ) -> int:
        """Bytes a buffer with this layout takes, computed without allocating.

        The frame ring (``frame_capacity`` frames), plus per transition a record of ``2 · K``
        int64 pointers, the action, a float32 reward, a discount code and two flags, and an
        int64 eviction key. Breakout, 1M transitions, uint8 actions: ``(10⁶ + 31 250 + 256) ·
        7056 + 10⁶ · (64 + 1 + 4 + 1 + 2 + 8) ≈ 7.36 GB``.
        """
        shape = tuple(int(d) for d in obs_shape)
        frames = _frame_capacity(capacity, shape, frame_capacity)
        frame_bytes = int(np.prod(shape[1:], dtype=np.int64)) * np.dtype(obs_dtype).itemsize
        records = cls._records_cls.estimate_nbytes(
            capacity, (shape[0],), np.int64, action_shape, action_dtype
        )
        return frames * frame_bytes + records + 8 * int(capacity)

    @property
    def nbytes(self) -> int:
        """Bytes held by the frames, the records and the eviction keys."""
        return int(self._frames.nbytes) + self._records.nbytes + int(self._keys.nbytes)

    def __len__(self) -> int:
        """Number of transitions that can be sampled (pending n-step windows not counted)."""
        return self._stored - self._evicted

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
            obs: ``[B, K, *frame_shape]`` stacks the actions were taken in.
            action: ``[B, *action_shape]``.
            reward: ``[B]``.
            next_obs: ``[B, K, *frame_shape]``, the true next stacks of the same episodes.
            terminated: ``[B]`` bool.
            truncated: ``[B]`` bool.
            env_ids: ``[B]`` distinct sub-environment indices; None means ``0..B-1``.

        Raises:
            ConfigError: Stacks of the wrong shape, or a step with more new frames than the
                frame ring can hold at once.
        """
        stacks = np.asarray(obs, dtype=self.obs_dtype)
        nexts = np.asarray(next_obs, dtype=self.obs_dtype)
        rows = stacks.shape[0] if stacks.ndim else 0
        for name, value in (("obs", stacks), ("next_obs", nexts)):
            if value.shape[1:] != self.obs_shape or value.shape[0] != rows:
                raise ConfigError(
                    f"{name} has shape {value.shape}, expected [{rows}, *{self.obs_shape}]"
                )
        if rows == 0:
            return
        most = 2 * rows * self.stack  # new frames this step can bring at most
        if most > self.frame_capacity:
            raise ConfigError(
                f"a step of {rows} rows may store {most} frames, more than frame_capacity "
                f"{self.frame_capacity}; raise frame_capacity"
            )
        ids = np.arange(rows) if env_ids is None else np.asarray(env_ids, dtype=np.int64)
        self._grow_envs(int(ids.max()) + 1)
        # Frames pointed to from this step on may not be overwritten by this step's writes,
        # nor be older than the reuse window.
        horizon = max(
            self.frames_written + most - self.frame_capacity,
            self.frames_written - self._reuse_window,
        )
        obs_ptr = self._store_stacks(stacks, ids, horizon)  # [B, K]
        next_ptr = self._store_stacks(nexts, ids, horizon, prev=stacks)  # [B, K]
        self._forget_stale_stacks()
        self._write_key = min(int(obs_ptr.min()), self._floor())
        self._records.add(obs_ptr, action, reward, next_ptr, terminated, truncated, ids)
        self._evict()

    def on_reset(self) -> None:
        """Flush every pending n-step window: the driver reset all envs mid-episode (see
        :meth:`ReplayBuffer.on_reset`). The next stacks of every env are stored afresh."""
        self._write_key = self._floor()
        self._records.on_reset()
        self._last[:] = _NO_STACK
        self._evict()

    def _grow_envs(self, n_envs: int) -> None:
        old = self._last.shape[0]
        if n_envs > old:
            extra = np.full((n_envs - old, self.stack), _NO_STACK, np.int64)
            self._last = np.concatenate([self._last, extra])

    def _store_stacks(
        self, stacks: np.ndarray, ids: np.ndarray, horizon: int, prev: np.ndarray | None = None
    ) -> np.ndarray:
        """Store the frames of ``stacks`` ``[B, K, *f]`` not already stored; their pointers.

        A row reuses its env's last stack (all of it, or all but the oldest frame) where the
        bytes match and those frames outlive this step (``>= horizon``); a new frame equal to
        the frame before it in its stack shares that frame's slot. ``prev``: the last stacks'
        bytes ``[B, K, *f]`` where the caller has them (else they are read from the ring).
        """
        rows, k = stacks.shape[0], self.stack
        last = self._last[ids]  # [B, K]
        if prev is None:
            prev = self._frames.take(last % self.frame_capacity, axis=0)
        flat, old = _words(stacks), _words(prev)  # [B, K, P] each
        usable = last.min(axis=1) >= horizon  # [B]
        # Cheap tests on one frame first; whole stacks only for the rows that pass them.
        same = _rows_equal(flat, old, _rows_equal(flat[:, -1], old[:, -1], usable))  # [B]
        shift = usable & ~same  # [B]
        if k > 1:
            shift = _rows_equal(flat[:, -2], old[:, -1], shift)
            shift = _rows_equal(flat[:, :-1], old[:, 1:], shift)
        fresh = ~same & ~shift  # [B]
        repeat = np.zeros((rows, k), np.bool_)  # [B, K] frame j equals frame j - 1
        for j in range(1, k):
            check = fresh | shift if j == k - 1 else fresh  # shifted rows: the newest only
            repeat[:, j] = _rows_equal(flat[:, j], flat[:, j - 1], check)

        ptr = np.where(same[:, None], last, 0)  # [B, K]
        ptr[shift, :-1] = last[shift, 1:]
        new = fresh[:, None] & ~repeat  # [B, K]; column 0 is never a repeat
        new[:, -1] |= shift & ~repeat[:, -1]
        numbers = self.frames_written + np.arange(np.count_nonzero(new))  # [M] frame numbers
        ptr[new] = numbers
        for j in range(1, k):  # repeats point where the frame before them points
            ptr[repeat[:, j], j] = ptr[repeat[:, j], j - 1]
        self._write_frames(numbers, stacks[new])
        self._last[ids] = ptr
        return ptr

    def _write_frames(self, numbers: np.ndarray, frames: np.ndarray) -> None:
        """Write ``frames`` ``[M, *f]`` at absolute frame ``numbers`` ``[M]`` (consecutive)."""
        count = numbers.shape[0]
        if count == 0:
            return
        start = int(numbers[0]) % self.frame_capacity
        if start + count <= self.frame_capacity:
            self._frames[start : start + count] = frames
        else:
            self._frames[numbers % self.frame_capacity] = frames
        self.frames_written += count

    def _forget_stale_stacks(self) -> None:
        """Envs whose last stack is older than the reuse window (they stopped stepping) store
        their next stack afresh, and stop holding the floor down."""
        stale = self._last.min(axis=1) < self.frames_written - self._reuse_window  # [E]
        self._last[stale] = _NO_STACK

    def _floor(self) -> int:
        """The oldest frame any pending or future transition may point to: the last stacks
        of every env and the pending n-step windows."""
        lasts = self._last[self._last[:, 0] != _NO_STACK]
        floor = int(lasts.min()) if lasts.size else _NOTHING
        return min(floor, self._records.pending_floor())

    def _on_records_written(self, slots: slice | np.ndarray) -> None:
        """The records wrote ``slots`` (oldest first): key them, and count what they replaced."""
        count = slots.stop - slots.start if isinstance(slots, slice) else slots.shape[0]
        replaced = max(0, self._stored + count - self.capacity)  # the oldest, evicted first
        self._evicted = max(0, self._evicted - replaced)
        self._stored = min(self._stored + count, self.capacity)
        self._keys[slots] = self._write_key
        last = slots.stop - 1 if isinstance(slots, slice) else int(slots[-1])
        self._head = (last + 1) % self.capacity

    def _evict(self) -> None:
        """Evict the oldest records that may point to frames the ring has overwritten."""
        overwritten = self.frames_written - self.frame_capacity  # frames below are gone
        live = len(self)
        first = (self._oldest() + self._evicted) % self.capacity  # oldest live record
        if live == 0 or self._keys[first] >= overwritten:
            return
        # Keys rise from the oldest record to the newest: count those below, two segments.
        end = first + live
        head = self._keys[first : min(end, self.capacity)]
        count = int(np.searchsorted(head, overwritten, side="left"))
        if count == head.shape[0] and end > self.capacity:
            count += int(np.searchsorted(self._keys[: end - self.capacity], overwritten))
        if first + count <= self.capacity:
            self._records.drop(slice(first, first + count))
        else:
            self._records.drop(np.arange(first, first + count) % self.capacity)
        self._evicted += count

    def _oldest(self) -> int:
        """Slot of the oldest record (evicted or not)."""
        return self._head if self._stored == self.capacity else 0

    # ---------------------------------------------------------------------------- sampling

    def _check_batch_size(self, batch_size: int) -> None:
        if batch_size < 1 or batch_size > len(self):
            raise ConfigError(
                f"cannot sample batch_size {batch_size} from a buffer holding {len(self)} "
                f"transitions (need 1 <= batch_size <= {len(self)})"
            )

    def _slots(self, positions: np.ndarray) -> np.ndarray:
        """Record slots of ``positions`` ``[B]`` among the live records in slot order
        (the identity while nothing is evicted, as in :class:`ReplayBuffer`)."""
        evicted = self._evicted
        if evicted == 0:
            return positions
        start = self._oldest()  # evicted records: slots [start, start + evicted), wrapping
        if start + evicted <= self.capacity:
            slots: np.ndarray = positions + evicted * (positions >= start)
            return slots
        return positions + (start + evicted - self.capacity)

    def _is_evicted(self, slots: np.ndarray) -> np.ndarray:
        evicted: np.ndarray = (slots - self._oldest()) % self.capacity < self._evicted
        return evicted

    def sample(self, batch_size: int, rng: np.random.Generator) -> ReplayBatch:
        """Draw ``batch_size`` transitions uniformly, with replacement.

        Draws the same slots as :meth:`ReplayBuffer.sample` given the same generator state
        while no transition has been evicted.

        Raises:
            ConfigError: ``batch_size`` is below 1 or above the number of stored transitions.
        """
        self._check_batch_size(batch_size)
        positions = (rng.random(batch_size) * len(self)).astype(np.int64)  # [B]
        return self._with_frames(self._records.gather(self._slots(positions)))

    def gather(self, indices: ArrayLike) -> ReplayBatch:
        """The transitions at ``indices`` in ``[0, len(self))`` (weights all ones).

        An index counts the live records in slot order, so it is the slot itself (as in
        :meth:`ReplayBuffer.gather`) while nothing has been evicted; the batch's ``indices``
        are the slots.

        Raises:
            ConfigError: An index is outside ``[0, len(self))``.
        """
        idx = np.asarray(indices, dtype=np.int64).reshape(-1)  # [B]
        if idx.size and (idx.min() < 0 or idx.max() >= len(self)):
            raise ConfigError(f"indices must lie in [0, {len(self)}), got {idx.min()}..{idx.max()}")
        return self._with_frames(self._records.gather(self._slots(idx)))

    def _with_frames(self, batch: ReplayBatch) -> ReplayBatch:
        """The records' pointer batch with the stacks they point to, gathered at once.

        ``obs`` and ``next_obs`` are the two contiguous halves of one fresh block: one
        allocation instead of two (two blocks of about 1 MB each made glibc return and
        re-fault their pages on every call, 20x slower).
        """
        pointers = np.stack([batch.obs, batch.next_obs])  # [2, B, K]
        pointers %= self.frame_capacity
        stacks = self._frames.take(pointers, axis=0)  # [2, B, K, *f]
        return batch._replace(obs=stacks[0], next_obs=stacks[1])


class PrioritizedFrameReplayBuffer(FrameReplayBuffer):
    """Prioritized replay of stacked frames, each stored once: the sampling, priorities and
    importance weights of :class:`~rlworks.buffers.prioritized.PrioritizedReplayBuffer`, the
    storage of :class:`FrameReplayBuffer`.

    Args:
        capacity: Number of transitions kept at most.
        obs_shape: ``(K, *frame_shape)``.
        obs_dtype: Dtype of the frames.
        action_shape: Shape of one action.
        action_dtype: Dtype actions are stored in.
        alpha: Prioritization exponent α in [0, 1].
        **kwargs: ``n_step``, ``gamma``, ``frame_capacity``, ``available_bytes`` as for
            :class:`FrameReplayBuffer`.
    """

    _records_cls: ClassVar[type[_PointerReplay]] = _PointerPrioritized
    _records: _PointerPrioritized

    def __init__(
        self,
        capacity: int,
        obs_shape: Sequence[int],
        obs_dtype: DTypeLike = np.uint8,
        action_shape: Sequence[int] = (),
        action_dtype: DTypeLike = np.int64,
        *,
        alpha: float = 0.6,
        **kwargs: Any,
    ) -> None:
        if not 0.0 <= alpha <= 1.0:
            raise ConfigError(f"alpha must be in [0, 1], got {alpha!r}")
        super().__init__(
            capacity, obs_shape, obs_dtype, action_shape, action_dtype, alpha=alpha, **kwargs
        )
        self.alpha = float(alpha)

    @property
    def max_priority(self) -> float:
        """The priority new transitions enter with (the largest seen, 1.0 at first)."""
        return self._records.max_priority

    def priorities(self, indices: ArrayLike) -> np.ndarray:
        """The stored priorities ``p_i`` (already raised to α) of slots ``indices``."""
        return self._records.priorities(indices)

    def sample(self, batch_size: int, rng: np.random.Generator, beta: float = 1.0) -> ReplayBatch:
        """Draw ``batch_size`` transitions with probability ``p_i / Σ p`` (stratified), with
        weights ``(p_i / p_min)^(-β)``, as :meth:`PrioritizedReplayBuffer.sample` does.

        Raises:
            ConfigError: A bad ``batch_size`` or ``beta``.
        """
        self._check_batch_size(batch_size)
        for _ in range(100):  # evicted slots have priority 0: only rounding may pick one
            batch = self._records.sample(batch_size, rng, beta)
            if self._evicted == 0 or not self._is_evicted(batch.indices).any():
                return self._with_frames(batch)
        raise RuntimeError("prioritized sampling kept drawing evicted transitions")

    def update_priorities(
        self, indices: ArrayLike, td_errors: ArrayLike, eps: float = 1e-6
    ) -> None:
        """Set ``p_i = (|δ_i| + eps)^α`` for sampled slots (see
        :meth:`PrioritizedReplayBuffer.update_priorities`); slots evicted since they were
        sampled keep priority 0.

        Raises:
            ConfigError: The shapes differ, an index is out of range, or a TD error is not
                finite.
        """
        idx = np.asarray(indices, dtype=np.int64).reshape(-1)
        errors = np.asarray(td_errors).reshape(-1)
        if self._evicted and idx.size and errors.shape == idx.shape:
            live = ~self._is_evicted(idx)  # evicted slots would raise max_priority
            idx, errors = idx[live], errors[live]
        self._records.update_priorities(idx, errors, eps)


def _words(stacks: np.ndarray) -> np.ndarray:
    """The bytes of ``stacks`` ``[B, K, *f]`` as ``[B, K, P]`` words: uint64 where a frame's
    size allows (8x fewer elements to compare), else bytes. Equal words mean equal bytes,
    also for float frames (where ``==`` on the values would equate 0.0 and -0.0)."""
    rows, k = stacks.shape[:2]
    flat = np.ascontiguousarray(stacks).reshape(rows, k, -1)
    word = np.uint64 if (flat.shape[2] * flat.dtype.itemsize) % 8 == 0 else np.uint8
    words: np.ndarray = flat.view(word)
    return words


def _rows_equal(a: np.ndarray, b: np.ndarray, rows: np.ndarray) -> np.ndarray:
    """``rows & (a[i] == b[i] everywhere)`` for ``[B, ...]`` arrays, comparing only the rows
    ``rows`` (``[B]`` bool) holds."""
    out = rows.copy()
    count = int(np.count_nonzero(rows))
    if count == rows.shape[0]:
        out &= (a == b).reshape(count, -1).all(axis=1)
    elif count:
        out[rows] = (a[rows] == b[rows]).reshape(count, -1).all(axis=1)
    return out


def _frame_capacity(capacity: int, obs_shape: tuple[int, ...], frame_capacity: int | None) -> int:
    """The frame ring's size, checked: ``capacity + capacity // 32 + 256`` by default."""
    if int(capacity) != capacity or capacity < 1:
        raise ConfigError(f"capacity must be an integer >= 1, got {capacity!r}")
    if len(obs_shape) < 1 or obs_shape[0] < 1:
        raise ConfigError(
            f"obs_shape must be (K, *frame_shape) with K >= 1 stacked frames, got {obs_shape}"
        )
    if frame_capacity is None:
        return int(capacity) + int(capacity) // 32 + _MIN_SLACK_FRAMES
    if int(frame_capacity) != frame_capacity or frame_capacity < 2 * obs_shape[0]:
        raise ConfigError(
            f"frame_capacity must be an integer >= 2 * K = {2 * obs_shape[0]}, "
            f"got {frame_capacity!r}"
        )
    return int(frame_capacity)
