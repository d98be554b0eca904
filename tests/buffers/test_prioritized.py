"""Exact values of rlworks.buffers.prioritized: segment trees, priorities, IS weights."""

from __future__ import annotations

import numpy as np
import pytest

from rlworks.buffers import MinTree, PrioritizedReplayBuffer, SumTree
from rlworks.errors import ConfigError

BIG = 10**12


def _filled(capacity: int, rows: int, alpha: float = 1.0) -> PrioritizedReplayBuffer:
    buf = PrioritizedReplayBuffer(capacity, alpha=alpha, gamma=0.5, available_bytes=BIG)
    obs = np.arange(rows, dtype=np.float32)
    buf.add(obs, np.zeros(rows), np.ones(rows), obs + 1, np.zeros(rows), np.zeros(rows))
    return buf


# ------------------------------------------------------------------------------------ trees


def test_sum_tree_total_and_prefix_sums_are_exact() -> None:
    tree = SumTree(5)  # 8 leaves, 3 levels below the root
    assert tree.n_leaves == 8
    tree.update([0, 1, 2, 3, 4], [1.0, 2.0, 3.0, 4.0, 0.5])
    assert tree.total == 10.5  # 1 + 2 + 3 + 4 + 0.5
    # Cumulative bounds: leaf 0 [0, 1), 1 [1, 3), 2 [3, 6), 3 [6, 10), 4 [10, 10.5)
    values = [0.0, 0.999, 1.0, 2.999, 3.0, 5.999, 6.0, 9.999, 10.0, 10.499]
    assert tree.find_prefix_sum(values).tolist() == [0, 0, 1, 1, 2, 2, 3, 3, 4, 4]
    # Leaf 1 emptied: total 8.5, bounds 0 [0, 1), 1 empty, 2 [1, 4), 3 [4, 8), 4 [8, 8.5).
    tree.update([1], [0.0])
    assert tree.total == 8.5
    assert tree.find_prefix_sum([0.5, 1.0, 3.9, 4.0]).tolist() == [0, 2, 2, 3]
    assert tree[[0, 1, 4]].tolist() == [1.0, 0.0, 0.5]


def test_sum_tree_batched_update_matches_a_cumulative_sum() -> None:
    rng = np.random.default_rng(0)
    tree = SumTree(1000)  # 1024 leaves
    priorities = rng.random(1000)
    tree.update(np.arange(1000), priorities)
    changed = rng.choice(1000, 100, replace=False)
    priorities[changed] = rng.random(100)
    tree.update(changed, priorities[changed])
    np.testing.assert_allclose(tree.total, priorities.sum(), rtol=1e-12)
    values = rng.random(500) * priorities.sum()
    expected = np.searchsorted(np.cumsum(priorities), values, side="right")
    assert tree.find_prefix_sum(values).tolist() == expected.tolist()


def test_min_tree_and_single_leaf_trees() -> None:
    tree = MinTree(3)
    assert tree.min == float("inf")  # empty leaves
    tree.update([0, 1, 2], [4.0, 0.5, 2.0])
    assert tree.min == 0.5
    tree.update([1], [5.0])
    assert tree.min == 2.0
    one = SumTree(1)
    one.update([0], [3.0])
    assert one.total == 3.0 and one.find_prefix_sum([2.9]).tolist() == [0]
    with pytest.raises(ConfigError, match="got 0"):
        SumTree(0)
    with pytest.raises(ConfigError, match=r"\[0, 3\), got 3..3"):
        tree.update([3], [1.0])


# ------------------------------------------------------------------------------- the buffer


def test_new_transitions_enter_at_the_max_priority() -> None:
    buf = _filled(8, 2)
    assert buf.priorities([0, 1]).tolist() == [1.0, 1.0]  # the starting max priority
    buf.update_priorities([0, 1], [3.0, 0.5], eps=0.0)  # α = 1: p = |δ| = 3, 0.5
    assert buf.max_priority == 3.0
    buf.add([9.0], [0], [0.0], [9.0], [False], [False])  # slot 2
    assert buf.priorities([0, 1, 2]).tolist() == [3.0, 0.5, 3.0]


def test_stratified_sampling_with_equal_priorities_takes_one_per_stratum() -> None:
    # 4 equal priorities, 4 strata of width 1: stratum k draws from [k, k + 1) → leaf k.
    buf = _filled(4, 4)
    batch = buf.sample(4, np.random.default_rng(0), beta=0.4)
    assert batch.indices.tolist() == [0, 1, 2, 3]
    assert batch.weights.tolist() == [1.0] * 4


def test_importance_weights_on_a_hand_example() -> None:
    # α = 0.5, eps = 0: δ = 1, 4, 9, 16 → p = 1, 2, 3, 4; P = 0.1, 0.2, 0.3, 0.4 and N = 4.
    # β = 0.5: (N·P)^-β = 0.4^-.5, 0.8^-.5, 1.2^-.5, 1.6^-.5 = 1.5811, 1.1180, 0.9129, 0.7906;
    # divided by the max 1.5811 → 1, 0.7071, 0.5774, 0.5 = (p / p_min)^-β.
    buf = _filled(4, 4, alpha=0.5)
    buf.update_priorities([0, 1, 2, 3], [1.0, -4.0, 9.0, -16.0], eps=0.0)
    np.testing.assert_allclose(buf.priorities([0, 1, 2, 3]), [1, 2, 3, 4])
    expected = np.array([1.0, 0.5**0.5, 3**-0.5, 0.5], np.float32)
    rng = np.random.default_rng(1)
    for _ in range(20):
        batch = buf.sample(4, rng, beta=0.5)
        np.testing.assert_allclose(batch.weights, expected[batch.indices], rtol=1e-6)
    # β = 0: no correction.
    assert buf.sample(4, rng, beta=0.0).weights.tolist() == [1.0] * 4


def test_sampling_frequencies_follow_priority_to_the_alpha() -> None:
    # 64 slots, slot i with δ = 1, 4, 9, 16 by i % 4 → α = 0.5: p = 1, 2, 3, 4 by class, so
    # the classes have P = 0.1, 0.2, 0.3, 0.4. 1000 batches of 64 → n = 64000 draws; each class
    # frequency within 5 binomial standard errors sqrt(P(1-P)/n) (≤ 0.002) of P
    # (stratification only lowers the spread).
    buf = _filled(64, 64, alpha=0.5)
    buf.update_priorities(np.arange(64), np.tile([1.0, 4.0, 9.0, 16.0], 16), eps=0.0)
    rng = np.random.default_rng(2024)
    draws = np.concatenate([buf.sample(64, rng).indices for _ in range(1000)])
    frequencies = np.bincount(draws % 4, minlength=4) / draws.size
    expected = np.array([0.1, 0.2, 0.3, 0.4])
    tolerance = 5 * np.sqrt(expected * (1 - expected) / draws.size)
    assert np.all(np.abs(frequencies - expected) < tolerance), frequencies


def test_update_priorities_changes_the_sampling() -> None:
    buf = _filled(8, 8)
    rng = np.random.default_rng(0)
    # Equal priorities: 8 strata of width 1 → every slot once.
    assert sorted(buf.sample(8, rng).indices.tolist()) == list(range(8))
    # α = 1: p_5 = 100 + 1e-6, the others 1e-6: P(5) = 1 - 7e-6/100 ≈ 0.99999993.
    buf.update_priorities(np.arange(8), [0, 0, 0, 0, 0, 100, 0, 0])
    assert buf.sample(8, rng).indices.tolist() == [5] * 8
    # Once slot 5 is back to a small error, the others are drawn again.
    buf.update_priorities([5], [0.0])
    assert sorted(buf.sample(8, rng).indices.tolist()) == list(range(8))


def test_ring_overwrite_resets_the_slot_priority_to_the_max() -> None:
    buf = _filled(2, 2)
    buf.update_priorities([0, 1], [0.25, 2.0], eps=0.0)  # max 2
    buf.add([7.0], [0], [0.0], [8.0], [False], [False])  # overwrites slot 0
    assert buf.priorities([0, 1]).tolist() == [2.0, 2.0]
    assert buf.gather([0]).obs.tolist() == [7.0]


def test_nbytes_includes_the_trees() -> None:
    # 1M CartPole rows: 40 MB of storage + 2 trees of 32-ary levels over 2^20 leaves up to a
    # top of 1024: (2^20 + 2^15 + 2^10) = 1,082,368 nodes · 8 bytes = 2 · 8,658,944 = 17,317,888.
    estimate = PrioritizedReplayBuffer.estimate_nbytes(10**6, (4,), np.float32, (), np.uint8)
    assert estimate == 40_000_000 + 17_317_888
    buf = _filled(5, 5)  # 5·(2·4 + 8 + 4 + 3) = 115; 8 leaves, one level: 2 trees · 8 · 8 = 128
    assert buf.nbytes == 115 + 128


def test_errors() -> None:
    with pytest.raises(ConfigError, match=r"alpha must be in \[0, 1\], got 1.5"):
        PrioritizedReplayBuffer(4, alpha=1.5, available_bytes=BIG)
    buf = _filled(4, 4)
    rng = np.random.default_rng(0)
    with pytest.raises(ConfigError, match=r"beta must be in \[0, 1\], got -0.5"):
        buf.sample(2, rng, beta=-0.5)
    with pytest.raises(ConfigError, match="batch_size 5 from a buffer holding 4"):
        buf.sample(5, rng)
    with pytest.raises(ConfigError, match="differ in shape"):
        buf.update_priorities([0, 1], [1.0])
    with pytest.raises(ConfigError, match="NaN or infinity"):
        buf.update_priorities([0], [np.nan])
    with pytest.raises(ConfigError, match=r"\[0, 4\), got 4..4"):
        buf.update_priorities([4], [1.0])


# ------------------------------------------------------------------------ wide, deep trees


def _node_values(tree: SumTree | MinTree, reduce: np.ufunc) -> list[np.ndarray]:
    """Every level recomputed from the leaves: level d+1 = reduce over groups of 32 (left to
    right, as the trees do)."""
    levels = [tree[np.arange(tree.n_leaves)]]
    while levels[-1].size > 1024:
        levels.append(reduce.reduceat(levels[-1], np.arange(0, levels[-1].size, 32)))
    return levels


def test_deep_tree_sums_stay_exact_after_updates_with_duplicates() -> None:
    # 40,000 leaves → 65,536 = 2^16 leaves, 2^11 nodes of 32 leaves, a top of 2^6 = 64 nodes.
    rng = np.random.default_rng(3)
    sums, mins = SumTree(40_000), MinTree(40_000)
    assert [level.size for level in sums._levels] == [65_536, 2_048, 64]
    start = rng.random(40_000)
    for tree in (sums, mins):
        tree.update(np.arange(40_000), start)
    for _ in range(50):
        # Batches with repeated slots: a repeated slot keeps one of its values, and its
        # ancestors agree with the leaf kept (each is recomputed from its 32 children).
        idx = rng.integers(0, 40_000, 64)
        idx[:8] = idx[8:16]
        values = rng.random(64)
        for tree in (sums, mins):
            tree.update(idx, values)
            kept = tree[idx]
            assert all(kept[i] in values[idx == idx[i]] for i in range(64))
    for tree, reduce in ((sums, np.add), (mins, np.minimum)):
        for stored, recomputed in zip(tree._levels, _node_values(tree, reduce), strict=True):
            assert np.array_equal(stored, recomputed)  # exact, not approximately
    leaves = sums[np.arange(40_000)]
    np.testing.assert_allclose(sums.total, leaves.sum(), rtol=1e-12)
    assert mins.min == leaves.min()
    # Prefix sums agree with one global cumulative sum (values away from the boundaries).
    bounds = np.cumsum(leaves)
    values = rng.random(2000) * bounds[-1]
    expected = np.searchsorted(bounds, values, side="right")
    found = sums.find_prefix_sum(values)
    gap = np.minimum(np.abs(values - bounds[found - 1]), np.abs(bounds[found] - values))
    far = gap > 1e-9 * bounds[-1]
    assert far.mean() > 0.99
    assert found[far].tolist() == expected[far].tolist()


def test_deep_tree_skips_empty_leaves_and_clips_the_top_end() -> None:
    tree = SumTree(5000)  # 8192 leaves, two levels
    tree.update([0, 100, 4999], [1.0, 2.0, 3.0])  # everything else empty
    # Bounds: leaf 0 [0, 1), leaf 100 [1, 3), leaf 4999 [3, 6).
    found = tree.find_prefix_sum([0.0, 0.999, 1.0, 2.999, 3.0, 5.999, 6.0, 1e9])
    assert found[:6].tolist() == [0, 0, 100, 100, 4999, 4999]
    assert (found[6:] >= 4999).all()  # at or past the total: the last leaf's side


def test_deep_buffer_sampling_frequencies_follow_priority_to_the_alpha() -> None:
    # As the 64-slot test, with 3000 slots: 4096 leaves in two levels (128 nodes of 32 on top).
    # Class c = i % 4 has δ = (c + 1)^2 → p = c + 1 with α = 0.5; P(class) = 0.1, 0.2, 0.3, 0.4.
    buf = _filled(3000, 3000, alpha=0.5)
    buf.update_priorities(np.arange(3000), np.tile([1.0, 4.0, 9.0, 16.0], 750), eps=0.0)
    rng = np.random.default_rng(7)
    draws = np.concatenate([buf.sample(64, rng).indices for _ in range(1000)])
    frequencies = np.bincount(draws % 4, minlength=4) / draws.size
    expected = np.array([0.1, 0.2, 0.3, 0.4])
    tolerance = 5 * np.sqrt(expected * (1 - expected) / draws.size)
    assert np.all(np.abs(frequencies - expected) < tolerance), frequencies
    # IS weights: (p / p_min)^-β with p_min = 1.
    batch = buf.sample(256, rng, beta=1.0)
    np.testing.assert_allclose(batch.weights, 1.0 / (batch.indices % 4 + 1), rtol=1e-6)


def test_partly_filled_deep_buffer_samples_only_stored_slots() -> None:
    buf = _filled(10_000, 1500)  # 16,384 leaves, slots 1500.. empty
    rng = np.random.default_rng(0)
    for _ in range(20):
        batch = buf.sample(512, rng, beta=0.5)
        assert batch.indices.min() >= 0 and batch.indices.max() < 1500
        assert (batch.weights == 1.0).all()  # every stored slot at the max priority 1
        np.testing.assert_array_equal(batch.obs, batch.indices.astype(np.float32))
