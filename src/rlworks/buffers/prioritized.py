"""Prioritized experience replay: sum and min segment trees and the buffer built on them.

Schaul, Quan, Antonoglou and Silver, "Prioritized Experience Replay" (2015),
https://arxiv.org/abs/1511.05952 — the chapter's "PER": transitions with large TD errors are
replayed more often, with probability ``P(i) = p_i / Σ_k p_k`` where ``p_i = (|δ_i| + ε)^α``
(the chapter calls α ζ), and the bias this introduces is corrected by importance-sampling weights
``w_i = (N · P(i))^(-β) / max_j w_j``. Annealing β towards 1 is the agent's business: it passes β
to every :meth:`PrioritizedReplayBuffer.sample`.

Both trees are wide: every node has ``K = 32`` children and the top level holds up to 1024
nodes, so one million leaves need three levels (2^20 leaves → 2^15 → a top of 2^10) instead of a
binary tree's twenty. Each level is a flat float64 array (the leaves first, the top last), viewed
as ``[nodes above, K]`` groups of siblings. Updates and prefix-sum searches take a whole batch at
once with a few vectorized NumPy calls per level: a search runs one cumulative sum over the top,
then per level gathers the ``[B, K]`` children of its current nodes and picks one with a row-wise
cumulative sum; an update rewrites the leaves and recomputes each ancestor as the sum (or min) of
its ``K`` children — never by adding differences, so no rounding error accumulates and repeated
indices in one batch need no deduplication.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, DTypeLike

from rlworks.buffers.replay import ReplayBatch, ReplayBuffer
from rlworks.errors import ConfigError

__all__ = ["MinTree", "PrioritizedReplayBuffer", "SumTree"]

_SHIFT = 5
_BRANCHING = 1 << _SHIFT  # K, children per node
_TOP = 1024  # widest top level


def _level_sizes(capacity: int) -> list[int]:
    """Node counts per level, leaves first: ``L = 2^⌈log2 capacity⌉`` leaves, then ``L / K`` ...
    down to a top level of at most ``_TOP`` nodes (whose sum or min is the root's value)."""
    sizes = [1 << max(0, (int(capacity) - 1).bit_length())]
    while sizes[-1] > _TOP:
        sizes.append(sizes[-1] >> _SHIFT)
    return sizes


def _parents(nodes: slice | np.ndarray) -> slice | np.ndarray:
    """The parents of ``nodes`` (a slice with ``stop > start``, or ``[B]`` indices)."""
    if isinstance(nodes, slice):
        return slice(nodes.start >> _SHIFT, ((nodes.stop - 1) >> _SHIFT) + 1)
    parents: np.ndarray = nodes >> _SHIFT
    return parents


class _SegmentTree:
    """Shared layout: float64 levels over ``L = 2^⌈log2 capacity⌉`` leaves, ``K`` children each."""

    _neutral: float = 0.0
    _reduce: np.ufunc = np.add  # how a node combines its children

    def __init__(self, capacity: int) -> None:
        if int(capacity) != capacity or capacity < 1:
            raise ConfigError(f"tree capacity must be an integer >= 1, got {capacity!r}")
        self.capacity = int(capacity)
        sizes = _level_sizes(self.capacity)
        self.n_leaves = sizes[0]
        # Leaves first, top last; _groups[d] = the children of level d + 1, [size_d / K, K].
        self._levels = [np.full(size, self._neutral, np.float64) for size in sizes]
        self._groups = [level.reshape(-1, _BRANCHING) for level in self._levels[:-1]]

    @staticmethod
    def estimate_nbytes(capacity: int) -> int:
        """Bytes one tree over ``capacity`` leaves takes: 8 per node, ``≈ 8 · L · K / (K - 1)``."""
        return 8 * sum(_level_sizes(capacity))

    @property
    def nbytes(self) -> int:
        """Bytes held by the node arrays."""
        return sum(int(level.nbytes) for level in self._levels)

    @property
    def _root(self) -> float:
        return float(self._reduce.reduce(self._levels[-1]))

    def update(self, indices: ArrayLike, values: ArrayLike) -> None:
        """Set leaves ``indices`` to ``values`` and recompute their ancestors, level by level.

        Args:
            indices: ``[B]`` leaf indices in ``[0, capacity)``; a repeated index keeps one of
                its values (and its ancestors agree with the leaf kept).
            values: ``[B]`` (or a scalar broadcast to every index).

        Raises:
            ConfigError: An index lies outside ``[0, capacity)``.
        """
        idx = np.asarray(indices, dtype=np.int64).reshape(-1)  # [B]
        if idx.size == 0:
            return
        if idx.min() < 0 or idx.max() >= self.capacity:
            raise ConfigError(
                f"leaf indices must lie in [0, {self.capacity}), got {idx.min()}..{idx.max()}"
            )
        _update_trees((self,), idx, values)

    def __getitem__(self, indices: ArrayLike) -> np.ndarray:
        """Leaf values at ``indices``."""
        leaves: np.ndarray = self._levels[0][np.asarray(indices, dtype=np.int64)]
        return leaves


def _update_trees(
    trees: Sequence[_SegmentTree], slots: slice | np.ndarray, values: ArrayLike
) -> None:
    """Set the same leaves of trees of one layout and recompute their ancestors together.

    Per level the parents of the nodes written get ``reduce`` over their ``K`` children, read
    after the writes of the level below, so nodes updated in the same batch (siblings, or one
    node repeated) are all seen and every copy of a repeated parent gets the same value.

    Args:
        trees: Trees over the same capacity.
        slots: Leaves to set: a slice (``stop > start``) or ``[B]`` non-empty int64 indices.
        values: ``[B]`` or a scalar.
    """
    for tree in trees:
        tree._levels[0][slots] = values
    nodes = slots
    for depth in range(len(trees[0]._groups)):
        nodes = _parents(nodes)
        for tree in trees:
            children = tree._groups[depth]  # [nodes above, K]
            rows = children[nodes] if isinstance(nodes, slice) else children.take(nodes, axis=0)
            tree._levels[depth + 1][nodes] = _reduce_rows(tree._reduce, rows)  # [B]


def _reduce_rows(reduce: np.ufunc, rows: np.ndarray) -> np.ndarray:
    """``reduce`` over each row of ``rows`` ``[B, K]`` (contiguous), left to right.

    ``ufunc.reduceat`` over the flat rows runs one plain loop per row, about twice as fast as
    ``reduce(axis=1)`` on these short rows.
    """
    starts = _ROW_STARTS.get(rows.shape[0])
    if starts is None:
        starts = np.arange(0, rows.size, _BRANCHING)
        if rows.shape[0] <= 8192:  # batch sizes recur; bulk writes need not be remembered
            _ROW_STARTS[rows.shape[0]] = starts
    reduced: np.ndarray = reduce.reduceat(rows.reshape(-1), starts)
    return reduced


_ROW_STARTS: dict[int, np.ndarray] = {}  # flat offsets of B rows of K, by B


class SumTree(_SegmentTree):
    """A sum segment tree: :attr:`total` and batched prefix-sum search.

    Example:
        >>> tree = SumTree(4)
        >>> tree.update([0, 1, 2, 3], [1.0, 2.0, 3.0, 4.0])
        >>> tree.total, tree.find_prefix_sum([0.5, 1.0, 5.9, 6.0]).tolist()
        (10.0, [0, 1, 2, 3])
    """

    _neutral = 0.0
    _reduce = np.add

    def __init__(self, capacity: int) -> None:
        super().__init__(capacity)
        self._top_scratch = np.zeros(self._levels[-1].shape[0] + 1)  # see _top_starts
        self._row_scratches: dict[int, tuple[np.ndarray, np.ndarray]] = {}

    @property
    def total(self) -> float:
        """Sum of every leaf."""
        return self._root

    def find_prefix_sum(self, values: ArrayLike) -> np.ndarray:
        """For each value ``v``, the leaf ``i`` with ``Σ_{k<i} p_k <= v < Σ_{k<=i} p_k``.

        Descends from the top one level per step for the whole batch: among the ``K`` children
        of the current node, take the first whose cumulative sum exceeds ``v`` (empty children
        are passed over), and subtract the sums of the children before it. Values at or above
        :attr:`total` (or rounded past a node's sum) land on the last child, which is the last
        non-empty leaf's side or empty leaves after it, so callers clip to the leaves in use.

        Args:
            values: ``[B]`` prefix sums in ``[0, total)``.

        Returns:
            ``[B]`` int64 leaf indices.
        """
        remaining = np.array(values, dtype=np.float64).reshape(-1)  # [B], a copy
        return self._search(remaining, self._top_starts())

    def _top_starts(self) -> np.ndarray:
        """``[w + 1]``: the sums of the top nodes before each, then the total (index ``w``).

        A scratch array of the tree, overwritten by the next call.
        """
        np.cumsum(self._levels[-1], out=self._top_scratch[1:])
        return self._top_scratch

    def _row_scratch(self, batch: int) -> tuple[np.ndarray, np.ndarray]:
        """Reused ``[B, K + 1]`` child starts (column 0 is 0, column K is +inf) and the ``[B]``
        flat offsets of its rows, one pair per batch size."""
        scratch = self._row_scratches.get(batch)
        if scratch is None:
            if len(self._row_scratches) >= 16:  # a few batch sizes recur; forget the others
                self._row_scratches.clear()
            starts = np.empty((batch, _BRANCHING + 1))
            starts[:, 0] = 0.0
            starts[:, _BRANCHING] = np.inf
            offsets = np.arange(0, batch * (_BRANCHING + 1), _BRANCHING + 1)
            scratch = self._row_scratches[batch] = (starts, offsets)
        return scratch

    def _search(self, remaining: np.ndarray, top_starts: np.ndarray) -> np.ndarray:
        """:meth:`find_prefix_sum` of ``remaining`` (``[B]``, consumed), with the top's sums."""
        nodes = np.searchsorted(top_starts[1:-1], remaining, side="right")  # [B] in [0, w)
        if not self._groups:
            return nodes
        remaining -= top_starts.take(nodes)
        # starts[b, j] = Σ of the children before j; the last end is +inf so that a value at or
        # past a node's sum (rounding) picks the last child.
        starts, offsets = self._row_scratch(remaining.shape[0])  # [B, K + 1], [B]
        inner, ends = starts[:, 1:_BRANCHING], starts[:, 1:]  # [B, K - 1], [B, K]
        threshold = remaining[:, None]  # [B, 1], a view that follows remaining
        for depth in range(len(self._groups) - 1, -1, -1):
            rows = self._groups[depth].take(nodes, axis=0)  # [B, K] children
            np.cumsum(rows[:, :-1], axis=1, out=inner)  # [B, K - 1]
            child = np.argmax(ends > threshold, axis=1)  # [B] first child ending past v
            if depth:  # the leaves need no remainder
                remaining -= starts.take(offsets + child)  # Σ of the children passed
            nodes <<= _SHIFT
            nodes += child
        return nodes


class MinTree(_SegmentTree):
    """A min segment tree: :attr:`min` over the leaves (empty leaves are +inf)."""

    _neutral = float("inf")
    _reduce = np.minimum

    @property
    def min(self) -> float:
        """Smallest leaf value (+inf when every leaf is empty)."""
        return self._root


class PrioritizedReplayBuffer(ReplayBuffer):
    """Replay with proportional prioritization (Schaul et al. 2015, arXiv:1511.05952).

    New transitions enter at the largest priority seen so far (1.0 at first), so each is
    replayed at least once soon; :meth:`update_priorities` sets ``p_i = (|δ_i| + ε)^α`` after
    the learner has computed its TD errors. Sampling is stratified: the total priority is split
    into ``B`` equal segments and one value is drawn uniformly in each.

    Args:
        capacity: Number of transitions kept.
        obs_shape: Shape of one observation.
        obs_dtype: Dtype observations are stored in.
        action_shape: Shape of one action.
        action_dtype: Dtype actions are stored in.
        alpha: Prioritization exponent α (the chapter's ζ) in [0, 1]; 0 is uniform replay.
        **kwargs: ``n_step``, ``gamma``, ``available_bytes`` as for :class:`ReplayBuffer`.

    Raises:
        ConfigError: ``alpha`` outside [0, 1], or any error of :class:`ReplayBuffer`.
    """

    def __init__(
        self,
        capacity: int,
        obs_shape: Sequence[int] = (),
        obs_dtype: DTypeLike = np.float32,
        action_shape: Sequence[int] = (),
        action_dtype: DTypeLike = np.int64,
        *,
        alpha: float = 0.6,
        **kwargs: Any,
    ) -> None:
        if not 0.0 <= alpha <= 1.0:
            raise ConfigError(f"alpha must be in [0, 1], got {alpha!r}")
        super().__init__(capacity, obs_shape, obs_dtype, action_shape, action_dtype, **kwargs)
        self.alpha = float(alpha)
        self._sum_tree = SumTree(self.capacity)
        self._min_tree = MinTree(self.capacity)
        self.max_priority = 1.0  # in p = (|δ| + ε)^α units, as stored in the trees

    @classmethod
    def estimate_nbytes(
        cls,
        capacity: int,
        obs_shape: Sequence[int] = (),
        obs_dtype: DTypeLike = np.float32,
        action_shape: Sequence[int] = (),
        action_dtype: DTypeLike = np.int64,
    ) -> int:
        """Bytes of the replay storage plus the sum and min trees (8 bytes a node each)."""
        storage = super().estimate_nbytes(
            capacity, obs_shape, obs_dtype, action_shape, action_dtype
        )
        return storage + 2 * _SegmentTree.estimate_nbytes(capacity)

    @property
    def nbytes(self) -> int:
        """Bytes of the storage arrays and both trees."""
        return super().nbytes + self._sum_tree.nbytes + self._min_tree.nbytes

    def _on_write(self, slots: slice | np.ndarray) -> None:
        _update_trees((self._sum_tree, self._min_tree), slots, self.max_priority)

    def priorities(self, indices: ArrayLike) -> np.ndarray:
        """The stored priorities ``p_i`` (already raised to α) of slots ``indices``."""
        return self._sum_tree[indices]

    def sample(self, batch_size: int, rng: np.random.Generator, beta: float = 1.0) -> ReplayBatch:
        """Draw ``batch_size`` transitions with probability ``p_i / Σ p`` (stratified).

        Args:
            batch_size: Rows to draw, in ``[1, len(self)]``.
            rng: The generator to draw from.
            beta: Importance-sampling exponent β in [0, 1] (1 corrects the bias fully).

        Returns:
            A batch whose ``weights`` are ``(p_i / p_min)^(-β)``, which equals
            ``(N P(i))^(-β) / max_j (N P(j))^(-β)`` since the largest weight belongs to the
            smallest priority.

        Raises:
            ConfigError: A bad ``batch_size`` or ``beta``.
        """
        self._check_batch_size(batch_size)
        if not 0.0 <= beta <= 1.0:
            raise ConfigError(f"beta must be in [0, 1], got {beta!r}")
        top_starts = self._sum_tree._top_starts()  # [w + 1], the total last
        values = rng.random(batch_size)  # [B]
        values += np.arange(batch_size)
        values *= top_starts[-1] / batch_size  # [B], one uniform value per stratum
        indices = self._sum_tree._search(values, top_starts)  # [B]
        np.minimum(indices, self._size - 1, out=indices)  # rounding at the top end
        weights = self._sum_tree._levels[0].take(indices).astype(np.float32)  # [B] p_i
        weights /= np.float32(self._min_tree.min)
        np.power(weights, np.float32(-beta), out=weights)  # [B], max 1 at p_min
        return self._gather(indices, weights)

    def update_priorities(
        self, indices: ArrayLike, td_errors: ArrayLike, eps: float = 1e-6
    ) -> None:
        """Set ``p_i = (|δ_i| + eps)^α`` for the sampled slots.

        Args:
            indices: ``[B]`` slots from :attr:`ReplayBatch.indices`.
            td_errors: ``[B]`` TD errors δ (any sign, NumPy or CPU tensor converted by NumPy).
            eps: Keeps every priority above zero so each transition may be drawn again.

        Raises:
            ConfigError: The shapes differ, an index is out of range, or a TD error is not
                finite.
        """
        idx = np.asarray(indices, dtype=np.int64)  # [B]
        delta = np.asarray(td_errors, dtype=np.float64)  # [B]
        if idx.shape != delta.shape:
            raise ConfigError(f"indices {idx.shape} and td_errors {delta.shape} differ in shape")
        if idx.size == 0:
            return
        if idx.min() < 0 or idx.max() >= self._size:
            raise ConfigError(
                f"priority indices must lie in [0, {self._size}), got {idx.min()}..{idx.max()}"
            )
        magnitudes = np.abs(delta)  # [B]
        if not math.isfinite(magnitudes.max()):  # a NaN or an infinity makes the max one
            raise ConfigError("td_errors contain NaN or infinity; priorities were not updated")
        priorities = np.add(magnitudes, eps, out=magnitudes)  # [B], |δ| + eps
        np.power(priorities, self.alpha, out=priorities)  # [B], p = (|δ| + eps)^α
        _update_trees((self._sum_tree, self._min_tree), idx.reshape(-1), priorities.reshape(-1))
        self.max_priority = max(self.max_priority, float(priorities.max()))
