"""TD targets and the running-average update, worked by hand."""

from __future__ import annotations

import numpy as np
import pytest

from rlworks.tabular.exploration import epsilon_greedy_probabilities
from rlworks.tabular.updates import (
    expected_sarsa_targets,
    q_learning_targets,
    sarsa_targets,
    td0_targets,
    td_update,
)

NEG_INF = -np.inf
F, T = False, True


def _book_q() -> np.ndarray:
    # The book MDP's table before learning: 0 where possible, -inf where impossible
    # (a1 in s1; a0 and a2 in s2).
    return np.array([[0.0, 0.0, 0.0], [0.0, NEG_INF, 0.0], [NEG_INF, 0.0, NEG_INF]])


def _q_backup(q: np.ndarray, s: int, a: int, r: float, s2: int, alpha: float) -> float:
    targets = q_learning_targets(np.array([r]), q[[s2]], np.array([F]), 0.9)
    td_update(q, (np.array([s]), np.array([a])), targets, alpha)
    return float(q[s, a])


def test_q_learning_backups_on_the_book_mdp() -> None:
    q = _book_q()
    # 1) s0 --a0--> s0, r = 10: target = 10 + 0.9 * max(0, 0, 0) = 10;
    #    Q(s0, a0) = 0 + 0.05 * (10 - 0) = 0.5
    assert _q_backup(q, 0, 0, 10.0, 0, alpha=0.05) == pytest.approx(0.5)
    # 2) again: target = 10 + 0.9 * max(0.5, 0, 0) = 10.45;
    #    Q(s0, a0) = 0.5 + 0.05 * (10.45 - 0.5) = 0.5 + 0.4975 = 0.9975
    assert _q_backup(q, 0, 0, 10.0, 0, alpha=0.05) == pytest.approx(0.9975)
    # 3) s1 --a2--> s2, r = -50: max Q(s2, .) = max(-inf, 0, -inf) = 0 → target = -50;
    #    Q(s1, a2) = 0 + 0.05 * (-50 - 0) = -2.5
    assert _q_backup(q, 1, 2, -50.0, 2, alpha=0.05) == pytest.approx(-2.5)
    # 4) s2 --a1--> s0, r = 40: target = 40 + 0.9 * 0.9975 = 40.89775;
    #    Q(s2, a1) = 0.05 * 40.89775 = 2.0448875
    assert _q_backup(q, 2, 1, 40.0, 0, alpha=0.05) == pytest.approx(2.0448875)
    # 5) s0 --a2--> s1, r = 0: max Q(s1, .) = max(0, -inf, -2.5) = 0 → target 0 → stays 0
    assert _q_backup(q, 0, 2, 0.0, 1, alpha=0.05) == 0.0
    # Impossible entries keep -inf.
    assert np.isneginf(q[[1, 2, 2], [1, 0, 2]]).all()


def test_td0_on_a_two_state_chain() -> None:
    # Chain A (0) --r=0--> B (1) --r=1--> end (terminated). V = [0, 0], α = 0.5, γ = 0.9.
    v = np.zeros(2)
    gamma, alpha = 0.9, 0.5

    def step(s: int, r: float, s2: int, terminated: bool) -> float:
        targets = td0_targets(np.array([r]), v[[s2]], np.array([terminated]), gamma)
        return float(td_update(v, (np.array([s]),), targets, alpha)[0])

    # Episode 1. A→B: target 0 + 0.9 * V(B) = 0, error 0 → V(A) = 0.
    #            B→end: target 1 (no bootstrap; next state index 0 is ignored), error 1,
    #            V(B) = 0 + 0.5 * 1 = 0.5.
    assert step(0, 0.0, 1, F) == 0.0
    assert step(1, 1.0, 0, T) == pytest.approx(1.0)
    np.testing.assert_allclose(v, [0.0, 0.5])
    # Episode 2. A→B: target 0.9 * 0.5 = 0.45, error 0.45, V(A) = 0.5 * 0.45 = 0.225.
    #            B→end: error 1 - 0.5 = 0.5, V(B) = 0.5 + 0.25 = 0.75.
    assert step(0, 0.0, 1, F) == pytest.approx(0.45)
    assert step(1, 1.0, 0, T) == pytest.approx(0.5)
    np.testing.assert_allclose(v, [0.225, 0.75])
    # Episode 3. A→B: target 0.9 * 0.75 = 0.675, error 0.675 - 0.225 = 0.45,
    #            V(A) = 0.225 + 0.225 = 0.45. B→end: error 0.25, V(B) = 0.75 + 0.125 = 0.875.
    assert step(0, 0.0, 1, F) == pytest.approx(0.45)
    assert step(1, 1.0, 0, T) == pytest.approx(0.25)
    np.testing.assert_allclose(v, [0.45, 0.875])
    # Fixed point: V(B) = 1, V(A) = 0.9 (the errors shrink geometrically toward it).


def test_termination_stops_bootstrapping_truncation_does_not() -> None:
    # Three rows with r = 1 and V(s') = 10, γ = 0.9:
    # continuing → 1 + 0.9 * 10 = 10; terminated → 1; truncated by a time limit is not
    # terminated, so it bootstraps like a continuing row → 10.
    reward = np.ones(3)
    next_v = np.full(3, 10.0)
    terminated = np.array([F, T, F])  # row 2 is the truncated one
    np.testing.assert_allclose(td0_targets(reward, next_v, terminated, 0.9), [10.0, 1.0, 10.0])
    next_q = np.tile([[10.0, 2.0]], (3, 1))
    np.testing.assert_allclose(
        q_learning_targets(reward, next_q, terminated, 0.9), [10.0, 1.0, 10.0]
    )


def test_terminal_rows_ignore_minus_infinity() -> None:
    # A terminal next state whose row is all -inf must not leak into the target.
    next_q = np.array([[NEG_INF, NEG_INF]])
    assert q_learning_targets(np.array([3.0]), next_q, np.array([T]), 0.9).tolist() == [3.0]


def test_q_learning_targets_with_the_exploration_function() -> None:
    # Q(s', .) = [1, 2], N(s', .) = [0, 3], k = 2: f = [1 + 2/1, 2 + 2/4] = [3, 2.5];
    # target = 0 + 1.0 * max f = 3 (plain Q-learning would give max Q = 2).
    next_q = np.array([[1.0, 2.0]])
    counts = np.array([[0, 3]])
    r, done = np.array([0.0]), np.array([F])
    assert q_learning_targets(r, next_q, done, 1.0, next_counts=counts, bonus_k=2.0)[0] == 3.0
    assert q_learning_targets(r, next_q, done, 1.0)[0] == 2.0


def test_sarsa_targets_by_hand() -> None:
    # r + γ Q(s', a') with γ = 0.5: [1 + 0.5 * 5, 2 (terminated), -1 + 0.5 * -4] = [3.5, 2, -3]
    targets = sarsa_targets(
        np.array([1.0, 2.0, -1.0]), np.array([5.0, 7.0, -4.0]), np.array([F, T, F]), 0.5
    )
    np.testing.assert_allclose(targets, [3.5, 2.0, -3.0])


def test_expected_sarsa_targets_by_hand() -> None:
    next_q = np.array(
        [
            [1.0, 3.0, 3.0, NEG_INF],  # tie a1/a2, a3 impossible
            [2.0, NEG_INF, 5.0, 0.0],  # a1 impossible
            [2.0, NEG_INF, 5.0, 0.0],  # same, but terminated
        ]
    )
    valid = np.isfinite(next_q)
    probs = np.vstack(
        [
            # ε = 0.3: 0.1 for each of 3 possible actions, + 0.35 per tied best → [.1 .45 .45 0]
            epsilon_greedy_probabilities(next_q[:1], valid[:1], 0.3),
            # ε = 0.6: 0.2 each, + 0.4 for a2 → [0.2, 0, 0.6, 0.2]
            epsilon_greedy_probabilities(next_q[1:], valid[1:], 0.6),
        ]
    )
    np.testing.assert_allclose(probs[0], [0.1, 0.45, 0.45, 0.0])
    np.testing.assert_allclose(probs[1], [0.2, 0.0, 0.6, 0.2])
    # Row 0: E = 0.1 * 1 + 0.45 * 3 + 0.45 * 3 = 0.1 + 2.7 = 2.8; target = 1 + 0.5 * 2.8 = 2.4
    # Row 1: E = 0.2 * 2 + 0.6 * 5 + 0.2 * 0 = 0.4 + 3 = 3.4;   target = 0 + 0.5 * 3.4 = 1.7
    #        (the impossible a1 has probability 0; its -inf must not give 0 * -inf = nan)
    # Row 2: terminated → target = r = 4
    targets = expected_sarsa_targets(
        np.array([1.0, 0.0, 4.0]), next_q, probs, np.array([F, F, T]), 0.5
    )
    np.testing.assert_allclose(targets, [2.4, 1.7, 4.0])


def test_expected_sarsa_with_greedy_probabilities_is_q_learning() -> None:
    # ε = 0 with a unique best action: Σ π Q = max Q, so both targets agree (6 + 0.9 * 4 = 9.6).
    next_q = np.array([[1.0, 4.0, NEG_INF]])
    probs = epsilon_greedy_probabilities(next_q, np.isfinite(next_q), 0.0)
    r, done = np.array([6.0]), np.array([F])
    assert expected_sarsa_targets(r, next_q, probs, done, 0.9)[0] == pytest.approx(9.6)
    assert q_learning_targets(r, next_q, done, 0.9)[0] == pytest.approx(9.6)


def test_td_update_returns_errors_and_moves_toward_targets() -> None:
    # Q = [[1, 2], [3, 4]]; update (0, 1) toward 6 and (1, 0) toward -1 with α = [0.5, 0.25]:
    # errors [6 - 2, -1 - 3] = [4, -4]; Q(0,1) = 2 + 0.5 * 4 = 4; Q(1,0) = 3 + 0.25 * -4 = 2
    q = np.array([[1.0, 2.0], [3.0, 4.0]])
    errors = td_update(
        q, (np.array([0, 1]), np.array([1, 0])), np.array([6.0, -1.0]), np.array([0.5, 0.25])
    )
    np.testing.assert_allclose(errors, [4.0, -4.0])
    np.testing.assert_allclose(q, [[1.0, 4.0], [2.0, 4.0]])


@pytest.mark.parametrize("n_states", [3, 70_000])  # dense counting and sorting branches
def test_td_update_applies_repeated_entries_in_order(n_states: int) -> None:
    # Two environments hit the same entry V(0) = 0 in one batch, targets 10 and 20, α = 0.5.
    # The returned errors are measured against the table before the batch: [10, 20]. The rows
    # are applied one after the other, as if the environments had stepped in turn:
    # V(0) = 0 + 0.5 * (10 - 0) = 5, then 5 + 0.5 * (20 - 5) = 12.5.
    # (Summing the increments would give 0.5 * 10 + 0.5 * 20 = 15, α times the repeats.)
    # V(2) is hit once: 0 + 0.5 * 4 = 2.
    v = np.zeros(n_states)
    errors = td_update(v, (np.array([0, 0, 2]),), np.array([10.0, 20.0, 4.0]), 0.5)
    np.testing.assert_allclose(errors, [10.0, 20.0, 4.0])
    np.testing.assert_allclose(v[:3], [12.5, 0.0, 2.0])
    assert not v[3:].any()
    # Per-row learning rates 1/1 and 1/2 (first and second visit): 0 + 1 * 10 = 10, then
    # 10 + 0.5 * (20 - 10) = 15, the running average of the two targets.
    v = np.zeros(n_states)
    td_update(v, (np.array([1, 1]),), np.array([10.0, 20.0]), np.array([1.0, 0.5]))
    assert v[1] == pytest.approx(15.0)
    # Q-table: (1, 1) three times with targets 2, 2, 5 from Q = 0, α = 0.25:
    # 0 + 0.25 * 2 = 0.5; 0.5 + 0.25 * (2 - 0.5) = 0.875; 0.875 + 0.25 * (5 - 0.875) = 1.90625.
    # (0, 1) once toward 4: 0 + 0.25 * 4 = 1.
    q = np.zeros((n_states // 2 + 1, 2))
    td_update(q, (np.array([1, 0, 1, 1]), np.array([1, 1, 1, 1])), np.array([2.0, 4, 2, 5]), 0.25)
    np.testing.assert_allclose(q[:2], [[0.0, 1.0], [0.0, 1.90625]])


def test_td_update_with_eight_envs_in_one_state_does_not_diverge() -> None:
    # 8 envs starting in the same state with α = 0.5 and the same target 1: applied in turn,
    # V(0) = 1 - 0.5^8 = 0.99609375, never past the target (the sum would overshoot to 4).
    v = np.zeros(2)
    td_update(v, (np.zeros(8, dtype=np.int64),), np.ones(8), 0.5)
    assert v[0] == pytest.approx(1 - 0.5**8)


def test_target_functions_do_not_modify_their_inputs() -> None:
    next_q = np.array([[1.0, NEG_INF]])
    counts = np.array([[2, 0]])
    before_q, before_counts = next_q.copy(), counts.copy()
    q_learning_targets(np.array([0.0]), next_q, np.array([F]), 0.9, next_counts=counts, bonus_k=1)
    np.testing.assert_array_equal(next_q, before_q)
    np.testing.assert_array_equal(counts, before_counts)
