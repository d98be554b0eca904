"""Exploration policies over Q-table rows: greedy, random, ε-greedy and the exploration function."""

from __future__ import annotations

import numpy as np
import pytest

from rlworks.tabular.exploration import (
    epsilon_greedy_actions,
    epsilon_greedy_probabilities,
    exploration_bonus,
    greedy_actions,
    random_actions,
)

NEG_INF = -np.inf


def _repeat(row: list[float], valid_row: list[bool], n: int) -> tuple[np.ndarray, np.ndarray]:
    return np.tile(np.array(row), (n, 1)), np.tile(np.array(valid_row), (n, 1))


def _chi_square(counts: np.ndarray, expected: np.ndarray) -> float:
    return float(((counts - expected) ** 2 / expected).sum())


def test_greedy_actions_break_ties_to_the_lowest_index() -> None:
    q = np.array([[1.0, 3.0, 3.0], [NEG_INF, 0.0, -1.0], [NEG_INF, -5.0, NEG_INF]])
    assert greedy_actions(q).tolist() == [1, 1, 1]


def test_epsilon_zero_is_greedy_with_random_tie_breaking() -> None:
    # Actions 1 and 2 tie at 3; action 0 is worse, action 3 impossible.
    q, valid = _repeat([1.0, 3.0, 3.0, NEG_INF], [True, True, True, False], 4000)
    actions = epsilon_greedy_actions(q, valid, 0.0, np.random.default_rng(0))
    counts = np.bincount(actions, minlength=4)
    assert counts[0] == counts[3] == 0
    # Binomial(4000, 1/2): sd = sqrt(4000 / 4) ≈ 31.6; allow 6 sd ≈ 190.
    assert abs(counts[1] - 2000) < 190
    assert counts[1] + counts[2] == 4000


def test_epsilon_zero_picks_the_unique_best_action() -> None:
    q = np.array([[0.0, 2.0, 1.0], [-3.0, -2.0, -1.0]])
    valid = np.ones_like(q, dtype=bool)
    rng = np.random.default_rng(1)
    for _ in range(20):
        assert epsilon_greedy_actions(q, valid, 0.0, rng).tolist() == [1, 2]


def test_epsilon_one_is_uniform_over_possible_actions() -> None:
    # Action 1 impossible; the other three should each get 1/3 of 30_000 draws.
    q, valid = _repeat([5.0, NEG_INF, 0.0, -1.0], [True, False, True, True], 30_000)
    actions = epsilon_greedy_actions(q, valid, 1.0, np.random.default_rng(2))
    counts = np.bincount(actions, minlength=4)
    assert counts[1] == 0
    # chi-square with 2 degrees of freedom: 13.8 is its 0.999 quantile.
    assert _chi_square(counts[[0, 2, 3]], np.full(3, 10_000.0)) < 13.8


def test_random_actions_are_uniform_over_possible_actions() -> None:
    valid = np.tile(np.array([False, True, True, False, True]), (30_000, 1))
    actions = random_actions(valid, np.random.default_rng(3))
    counts = np.bincount(actions, minlength=5)
    assert counts[0] == counts[3] == 0
    assert _chi_square(counts[[1, 2, 4]], np.full(3, 10_000.0)) < 13.8


@pytest.mark.parametrize("epsilon", [0.0, 0.1, 0.5, 1.0])
def test_impossible_actions_are_never_chosen(epsilon: float) -> None:
    # The book MDP's mask: in s1 action 1 is impossible, in s2 only action 1 is possible.
    # Impossible actions are the largest values of the row where they are not -inf.
    valid_rows = np.array([[True, True, True], [True, False, True], [False, True, False]])
    q_rows = np.array([[0.0, 0.0, 0.0], [-10.0, NEG_INF, -20.0], [NEG_INF, -7.0, NEG_INF]])
    valid = np.tile(valid_rows, (2000, 1))
    q = np.tile(q_rows, (2000, 1))
    rng = np.random.default_rng(4)
    eg = epsilon_greedy_actions(q, valid, epsilon, rng)
    rnd = random_actions(valid, rng)
    bonus = epsilon_greedy_actions(exploration_bonus(q, np.zeros_like(q), 2.0), valid, 0.0, rng)
    rows = np.arange(len(q))
    for actions in (eg, rnd, bonus):
        assert valid[rows, actions].all()
    # In s2 (every third row) the only possible action is 1.
    assert (eg[2::3] == 1).all() and (rnd[2::3] == 1).all()


@pytest.mark.parametrize("epsilon", [0.0, 0.05, 0.3, 1.0])
def test_epsilon_greedy_probabilities_rows_sum_to_one(epsilon: float) -> None:
    rng = np.random.default_rng(5)
    q = rng.integers(0, 3, size=(200, 5)).astype(float)  # many ties
    valid = rng.random((200, 5)) < 0.7
    valid[:, 0] = True  # at least one possible action per row
    q[~valid] = NEG_INF
    probs = epsilon_greedy_probabilities(q, valid, epsilon)
    np.testing.assert_allclose(probs.sum(axis=1), 1.0)
    assert (probs[~valid] == 0).all()
    assert (probs >= 0).all()


def test_epsilon_greedy_probabilities_by_hand() -> None:
    q = np.array(
        [
            [1.0, 3.0, 3.0, NEG_INF],  # tie between a1 and a2, a3 impossible
            [2.0, NEG_INF, 5.0, 0.0],  # a1 impossible, a2 best
            [4.0, 4.0, 1.0, 0.0],  # tie, all possible
        ]
    )
    valid = np.isfinite(q)
    # Row 0, ε = 0.3: each of 3 possible actions gets 0.3 / 3 = 0.1; the tied best share
    # 1 - 0.3 = 0.7 → 0.35 each: [0.1, 0.1 + 0.35, 0.1 + 0.35, 0] = [0.1, 0.45, 0.45, 0].
    np.testing.assert_allclose(
        epsilon_greedy_probabilities(q, valid, 0.3)[0], [0.1, 0.45, 0.45, 0.0]
    )
    # Row 1, ε = 0.6: 0.6 / 3 = 0.2 each; a2 gets 0.4 more: [0.2, 0, 0.6, 0.2].
    np.testing.assert_allclose(epsilon_greedy_probabilities(q, valid, 0.6)[1], [0.2, 0, 0.6, 0.2])
    # Row 2, ε = 0: greedy, the tie split evenly: [0.5, 0.5, 0, 0].
    np.testing.assert_allclose(epsilon_greedy_probabilities(q, valid, 0.0)[2], [0.5, 0.5, 0, 0])
    # ε = 1: uniform over the possible actions.
    np.testing.assert_allclose(
        epsilon_greedy_probabilities(q, valid, 1.0),
        [[1 / 3, 1 / 3, 1 / 3, 0], [1 / 3, 0, 1 / 3, 1 / 3], [0.25, 0.25, 0.25, 0.25]],
    )


def test_epsilon_greedy_actions_follow_epsilon_greedy_probabilities() -> None:
    # Row 0 above with ε = 0.3 should be drawn with frequencies [0.1, 0.45, 0.45, 0].
    q, valid = _repeat([1.0, 3.0, 3.0, NEG_INF], [True, True, True, False], 20_000)
    actions = epsilon_greedy_actions(q, valid, 0.3, np.random.default_rng(6))
    counts = np.bincount(actions, minlength=4)
    assert counts[3] == 0
    assert _chi_square(counts[:3], 20_000 * np.array([0.1, 0.45, 0.45])) < 13.8


def test_exploration_bonus_by_hand() -> None:
    # f(Q, N) = Q + k / (1 + N): Q = 2, N = 3, k = 4 → 2 + 4 / 4 = 3
    assert exploration_bonus(np.array(2.0), np.array(3), 4.0) == pytest.approx(3.0)
    # Batched: [2 + 4/4, -inf + 4/1, 0 + 4/10] = [3, -inf, 0.4]
    q = np.array([[2.0, NEG_INF, 0.0]])
    counts = np.array([[3, 0, 9]])
    np.testing.assert_allclose(exploration_bonus(q, counts, 4.0), [[3.0, NEG_INF, 0.4]])
    # k = 0 is plain Q.
    np.testing.assert_array_equal(exploration_bonus(q, counts, 0.0), q)


def test_exploration_bonus_prefers_rarely_tried_actions() -> None:
    # Q = [1, 1.5], N = [0, 20], k = 1: f = [1 + 1, 1.5 + 1/21] = [2, 1.548] → action 0
    q = np.array([[1.0, 1.5]])
    f = exploration_bonus(q, np.array([[0, 20]]), 1.0)
    assert greedy_actions(f).tolist() == [0]
    assert greedy_actions(q).tolist() == [1]
