"""Prioritized experience replay: sum and min segment trees and the buffer built on them.

Schaul, Quan, Antonoglou and Silver, "Prioritized Experience Replay" (2015),
https://arxiv.org/abs/1511.05952 — the chapter's "PER": transitions with large TD errors are
replayed more often, with probability ``P(i) = p_i / Σ_k p_k`` where ``p_i = (|δ_i| + ε)^α``
(the chapter calls α ζ), and the bias this introduces is corrected by importance-sampling weights
``w_i = (N · P(i))^(-β) / max_j w_j``. Annealing β towards 1 is the agent's business: it passes β
to every :meth:`PrioritizedReplayBuffer.sample`.

Both trees are flat arrays over a power-of-two number of leaves (node 1 is the root, node ``i``
has children ``2i`` and ``2i + 1``, leaf ``k`` is node ``L + k``); updates and prefix-sum searches
take a whole batch at once and walk the ``log2 L`` levels with one vectorized step each.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, DTypeLike

from rlworks.buffers.replay import ReplayBatch, ReplayBuffer
from rlworks.errors import ConfigError

__all__ = ["MinTree", "PrioritizedReplayBuffer", "SumTree"]


class _SegmentTree:
    """Shared layout: ``2L`` float64 nodes over ``L = 2^⌈log2 capacity⌉`` leaves."""

    _neutral: float = 0.0

    def __init__(self, capacity: int) -> None:
        if int(capacity) != capacity or capacity < 1:
            raise ConfigError(f"tree capacity must be an integer >= 1, got {capacity!r}")
        self.capacity = int(capacity)
        self.n_leaves = 1 << max(0, (self.capacity - 1).bit_length())
        self._tree = np.full(2 * self.n_leaves, self._neutral, np.float64)  # [2L], node 0 unused

    @staticmethod
    def estimate_nbytes(capacity: int) -> int:
        """Bytes one tree over ``capacity`` leaves takes: ``2 · L · 8``."""
        return 2 * (1 << max(0, (int(capacity) - 1).bit_length())) * 8

    @property
    def nbytes(self) -> int:
        """Bytes held by the node array."""
        return int(self._tree.nbytes)

    def _combine(self, left: np.ndarray, right: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def update(self, indices: ArrayLike, values: ArrayLike) -> None:
        """Set leaves ``indices`` to ``values`` and recompute their ancestors, level by level.

        Args:
            indices: ``[B]`` leaf indices in ``[0, capacity)``; a repeated index keeps one of
                its values.
            values: ``[B]`` (or a scalar broadcast to every index).

        Raises:
            ConfigError: An index lies outside ``[0, capacity)``.
        """
        idx = np.asarray(indices, dtype=np.int64).reshape(-1)  # [B]
        if idx.size and (idx.min() < 0 or idx.max() >= self.capacity):
            raise ConfigError(
                f"leaf indices must lie in [0, {self.capacity}), got {idx.min()}..{idx.max()}"
            )
        _update_trees((self,), idx, values)

    def __getitem__(self, indices: ArrayLike) -> np.ndarray:
        """Leaf values at ``indices``."""
        leaves: np.ndarray = self._tree[np.asarray(indices, dtype=np.int64) + self.n_leaves]
        return leaves


def _update_trees(trees: Sequence[_SegmentTree], indices: ArrayLike, values: ArrayLike) -> None:
    """Set the same leaves of trees of one layout and recompute their ancestors together.

    One pass up the levels serves every tree: per level the parents ``nodes >> 1`` get
    ``combine(tree[nodes], tree[nodes ^ 1])`` (a node and its sibling), read after the writes of
    the level below so that siblings updated in the same batch are both seen.
    """
    nodes = np.asarray(indices, dtype=np.int64) + trees[0].n_leaves  # [B]
    for tree in trees:
        tree._tree[nodes] = values
    while nodes.size and nodes[0] > 1:  # every node of the batch is on the same level
        children, siblings = nodes, nodes ^ 1  # [B] each: the written node and its sibling
        nodes = nodes >> 1  # [B] parents
        for tree in trees:
            array = tree._tree
            array[nodes] = tree._combine(array[children], array[siblings])


class SumTree(_SegmentTree):
    """A sum segment tree: :attr:`total` and batched prefix-sum search.

    Example:
        >>> tree = SumTree(4)
        >>> tree.update([0, 1, 2, 3], [1.0, 2.0, 3.0, 4.0])
        >>> tree.total, tree.find_prefix_sum([0.5, 1.0, 5.9, 6.0]).tolist()
        (10.0, [0, 1, 2, 3])
    """

    _neutral = 0.0

    def _combine(self, left: np.ndarray, right: np.ndarray) -> np.ndarray:
        total: np.ndarray = left + right
        return total

    @property
    def total(self) -> float:
        """Sum of every leaf."""
        return float(self._tree[1])

    def find_prefix_sum(self, values: ArrayLike) -> np.ndarray:
        """For each value ``v``, the leaf ``i`` with ``Σ_{k<i} p_k <= v < Σ_{k<=i} p_k``.

        Descends from the root one level per step for the whole batch: go right (and subtract
        the left child's sum) when ``v >= left``. Values at or above :attr:`total` land on the
        last non-empty leaf's side, so callers clip to the leaves in use.

        Args:
            values: ``[B]`` prefix sums in ``[0, total)``.

        Returns:
            ``[B]`` int64 leaf indices.
        """
        remaining = np.array(values, dtype=np.float64)  # [B], a copy
        nodes = np.ones(remaining.shape, np.int64)  # [B], the root
        tree = self._tree
        for _ in range(self.n_leaves.bit_length() - 1):
            nodes <<= 1  # left children
            left = tree[nodes]  # [B]
            go_right = remaining >= left  # [B]
            np.subtract(remaining, left, out=remaining, where=go_right)
            nodes += go_right
        leaves: np.ndarray = nodes - self.n_leaves
        return leaves


class MinTree(_SegmentTree):
    """A min segment tree: :attr:`min` over the leaves (empty leaves are +inf)."""

    _neutral = float("inf")

    def _combine(self, left: np.ndarray, right: np.ndarray) -> np.ndarray:
        smallest: np.ndarray = np.minimum(left, right)
        return smallest

    @property
    def min(self) -> float:
        """Smallest leaf value (+inf when every leaf is empty)."""
        return float(self._tree[1])


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
        """Bytes of the replay storage plus the sum and min trees (``2 · 2L · 8``)."""
        storage = super().estimate_nbytes(
            capacity, obs_shape, obs_dtype, action_shape, action_dtype
        )
        return storage + 2 * _SegmentTree.estimate_nbytes(capacity)

    @property
    def nbytes(self) -> int:
        """Bytes of the storage arrays and both trees."""
        return super().nbytes + self._sum_tree.nbytes + self._min_tree.nbytes

    def _on_write(self, slots: np.ndarray) -> None:
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
        segment = self._sum_tree.total / batch_size
        values = (np.arange(batch_size) + rng.random(batch_size)) * segment  # [B], one per stratum
        indices = self._sum_tree.find_prefix_sum(values)  # [B]
        np.minimum(indices, self._size - 1, out=indices)  # rounding at the top end
        priorities = self._sum_tree[indices]  # [B]
        weights = (priorities / self._min_tree.min) ** -beta  # [B], max 1 at p_min
        return self._gather(indices, weights.astype(np.float32))

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
        if not np.isfinite(delta).all():
            raise ConfigError("td_errors contain NaN or infinity; priorities were not updated")
        priorities = (np.abs(delta) + eps) ** self.alpha  # [B]
        _update_trees((self._sum_tree, self._min_tree), idx, priorities)
        self.max_priority = max(self.max_priority, float(priorities.max()))
