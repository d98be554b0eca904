"""Tests for rlworks.mdp.planning: the chapter's numbers, backups by hand, independent checks."""

from __future__ import annotations

import json
from typing import Any

import gymnasium as gym
import numpy as np
import pytest

from rlworks.errors import ConfigError
from rlworks.mdp import (
    TabularMDP,
    bellman_backup,
    book_mdp,
    greedy_policy,
    policy_evaluation,
    policy_iteration,
    q_value_iteration,
    solve,
    value_iteration,
)
from rlworks.mdp.planning import RESULT_KEYS

NEG_INF = -np.inf

# ---------------------------------------------------------------------------------------------
# the chapter's numbers (Q-value iteration on the book MDP)


def test_q_value_iteration_gamma_0_90_matches_the_book() -> None:
    result = q_value_iteration(book_mdp(), gamma=0.90)
    assert result.converged
    expected = [
        [18.91891892, 17.02702702, 13.62162162],
        [0.0, NEG_INF, -4.87971488],
        [NEG_INF, 50.13365013, NEG_INF],
    ]
    np.testing.assert_allclose(result.Q, expected, atol=0.01)
    assert result.policy.tolist() == [0, 0, 1]
    np.testing.assert_allclose(result.V, [18.91891892, 0.0, 50.13365013], atol=0.01)


def test_q_value_iteration_gamma_0_95_for_50_iterations_matches_the_book_exactly() -> None:
    result = solve(book_mdp(), 0.95, method="q-value", iterations=50)
    expected = [
        [21.73304188, 20.63807938, 16.70138772],
        [0.95462106, NEG_INF, 1.01361207],
        [NEG_INF, 53.70728682, NEG_INF],
    ]
    np.testing.assert_allclose(result.Q, expected, atol=1e-6)
    assert result.iterations == 50 and not result.converged
    assert result.policy.tolist() == [0, 2, 1]  # now it goes through the fire in s1


def test_q_value_iteration_gamma_0_95_converged_differs_from_50_iterations() -> None:
    converged = solve(book_mdp(), 0.95, method="q-value")
    fifty = solve(book_mdp(), 0.95, method="q-value", iterations=50)
    assert converged.converged and converged.iterations > 50
    assert converged.policy.tolist() == [0, 2, 1]
    assert np.abs(converged.Q[0, 0] - fifty.Q[0, 0]) > 0.1


@pytest.mark.parametrize("gamma", [0.5, 0.9, 0.95, 0.99])
def test_value_and_policy_iteration_agree_with_q_value_iteration(gamma: float) -> None:
    mdp = book_mdp()
    reference = solve(mdp, gamma, method="q-value", tol=1e-12)
    for method in ("value", "policy"):
        result = solve(mdp, gamma, method=method, tol=1e-12)  # type: ignore[arg-type]
        assert result.converged and result.method == method
        np.testing.assert_allclose(result.V, reference.V, atol=1e-8)
        np.testing.assert_allclose(result.Q, reference.Q, atol=1e-8)
        assert result.policy.tolist() == reference.policy.tolist()


# ---------------------------------------------------------------------------------------------
# exact values worked by hand


def test_two_bellman_backups_on_the_book_mdp_by_hand() -> None:
    mdp = book_mdp()
    q1 = bellman_backup(mdp, np.zeros(3), gamma=0.9)
    # From V = 0 only immediate rewards count:
    #   Q(s0, a0) = 0.7 * 10 + 0.3 * 0 = 7      Q(s0, a1) = 0     Q(s0, a2) = 0
    #   Q(s1, a0) = 0                          Q(s1, a1) = -inf  Q(s1, a2) = 1.0 * -50 = -50
    #   Q(s2, a1) = 0.8 * 40 = 32              (a0 and a2 impossible in s2: -inf)
    expected_q1 = [[7.0, 0.0, 0.0], [0.0, NEG_INF, -50.0], [NEG_INF, 32.0, NEG_INF]]
    np.testing.assert_allclose(q1, expected_q1)
    v1 = q1.max(axis=1)  # [7, 0, 32]
    q2 = bellman_backup(mdp, v1, gamma=0.9)
    # Q(s0, a0) = 7 + 0.9 * (0.7 * 7 + 0.3 * 0)        = 7 + 0.9 * 4.9   = 11.41
    # Q(s0, a1) = 0 + 0.9 * (1.0 * 7)                  = 6.3
    # Q(s0, a2) = 0 + 0.9 * (0.8 * 7 + 0.2 * 0)        = 0.9 * 5.6       = 5.04
    # Q(s1, a0) = 0 + 0.9 * (1.0 * 0)                  = 0
    # Q(s1, a2) = -50 + 0.9 * (1.0 * 32)               = -50 + 28.8      = -21.2
    # Q(s2, a1) = 32 + 0.9 * (0.8 * 7 + 0.1 * 0 + 0.1 * 32) = 32 + 0.9 * 8.8 = 39.92
    expected_q2 = [[11.41, 6.3, 5.04], [0.0, NEG_INF, -21.2], [NEG_INF, 39.92, NEG_INF]]
    np.testing.assert_allclose(q2, expected_q2, rtol=1e-12)
    # Q-value iteration's second iterate is exactly this backup.
    history = solve(mdp, 0.9, method="q-value", iterations=2, record_history=True).history
    assert history is not None
    np.testing.assert_allclose(history[2], expected_q2, rtol=1e-12)


def _two_state_chain_mdp() -> TabularMDP:
    # s0 --a0--> s0 w.p. 0.5 (reward 1), s1 w.p. 0.5 (reward 0); s1 --a0--> s1 (reward 2)
    return TabularMDP.from_lists(
        [[[0.5, 0.5]], [[0.0, 1.0]]],
        [[[1.0, 0.0]], [[0.0, 2.0]]],
    )


@pytest.mark.parametrize("method", ["iterate", "solve"])
def test_policy_evaluation_of_a_two_state_chain_by_hand(method: Any) -> None:
    # gamma = 0.5:  V(s1) = 2 + 0.5 V(s1)                          -> V(s1) = 4
    #               V(s0) = 0.5 * 1 + 0.5 (0.5 V(s0) + 0.5 V(s1)) = 1.5 + 0.25 V(s0) -> V(s0) = 2
    values = policy_evaluation(_two_state_chain_mdp(), np.array([0, 0]), 0.5, method=method)
    np.testing.assert_allclose(values, [2.0, 4.0], atol=1e-9)


def test_policy_evaluation_of_a_stochastic_policy() -> None:
    # Book MDP, gamma 0.9, in s0 half a0 / half a2; s1 always a2; s2 always a1.
    mdp = book_mdp()
    pi = np.array([[0.5, 0.0, 0.5], [0.0, 0.0, 1.0], [0.0, 1.0, 0.0]])
    values = policy_evaluation(mdp, pi, 0.9, method="solve")
    # Check V = r_pi + gamma P_pi V directly.
    r_pi = (pi * mdp.expected_reward).sum(axis=1)
    p_pi = np.einsum("sa,sat->st", pi, mdp.transitions)
    np.testing.assert_allclose(values, r_pi + 0.9 * p_pi @ values, atol=1e-10)
    iterated = policy_evaluation(mdp, pi, 0.9, method="iterate", tol=1e-12)
    np.testing.assert_allclose(iterated, values, atol=1e-9)


def test_terminal_states_have_zero_value_and_end_bootstrapping() -> None:
    # s0 --a0--> s1 (terminal, reward 5); s0 --a1--> s0 (reward 1)
    mdp = TabularMDP(
        [[[0.0, 1.0], [1.0, 0.0]], [[0.0, 0.0], [0.0, 0.0]]],
        [[[0.0, 5.0], [1.0, 0.0]], [[0.0, 0.0], [0.0, 0.0]]],
        terminal=[False, True],
    )
    q = bellman_backup(mdp, np.array([100.0, 100.0]), gamma=1.0)
    # Q(s0, a0) = 5 (the episode ends: no value of s1); Q(s0, a1) = 1 + 1.0 * 100 = 101
    np.testing.assert_allclose(q, [[5.0, 101.0], [0.0, 0.0]])
    # With gamma = 0.5: staying is worth 1 / (1 - 0.5) = 2 < 5, so go to the terminal state.
    result = solve(mdp, 0.5, method="value")
    np.testing.assert_allclose(result.V, [5.0, 0.0])
    assert result.policy[0] == 0 and result.converged


def test_greedy_policy_respects_impossible_actions_and_breaks_ties_low() -> None:
    q = np.array([[1.0, 1.0, 0.0], [5.0, 9.0, 2.0]])
    valid = np.array([[True, True, True], [True, False, True]])
    assert greedy_policy(q, valid).tolist() == [0, 0]
    assert greedy_policy(q, valid).dtype == np.int64


# ---------------------------------------------------------------------------------------------
# stopping, history, output


def test_gamma_one_on_the_book_mdp_never_converges() -> None:
    mdp = book_mdp()  # no terminal state: at gamma = 1 the values grow without bound
    for method in ("value", "q-value"):
        result = solve(mdp, 1.0, method=method, max_iterations=500)  # type: ignore[arg-type]
        assert not result.converged and result.iterations == 500
        assert np.isfinite(result.V).all() and result.V.min() > 500  # about 1.23 per step
    result = policy_iteration(mdp, 1.0, max_iterations=200)  # evaluation hits the cap
    assert not result.converged and np.isfinite(result.V).all()
    with pytest.warns(RuntimeWarning, match=r"did not converge within 200 iterations"):
        policy_evaluation(mdp, np.array([0, 2, 1]), 1.0, max_iterations=200)


def test_overflowing_values_stop_with_a_warning() -> None:
    huge = TabularMDP([[[1.0]]], [[[1e307]]])
    with pytest.warns(RuntimeWarning, match=r"overflowed"):
        result = value_iteration(huge, 1.0, max_iterations=100)
    assert not result.converged and np.isfinite(result.V).all()


def test_history_shapes() -> None:
    mdp = book_mdp()
    q_run = solve(mdp, 0.9, method="q-value", iterations=5, record_history=True)
    assert q_run.history is not None and q_run.history.shape == (6, 3, 3)
    np.testing.assert_array_equal(q_run.history[0], np.where(mdp.valid, 0.0, -np.inf))
    np.testing.assert_array_equal(q_run.history[-1], q_run.Q)
    v_run = solve(mdp, 0.9, method="value", iterations=5, record_history=True)
    assert v_run.history is not None and v_run.history.shape == (6, 3)
    np.testing.assert_array_equal(v_run.history[0], np.zeros(3))
    p_run = solve(mdp, 0.9, method="policy", record_history=True)
    assert p_run.history is not None and p_run.history.shape == (p_run.iterations, 3)
    assert solve(mdp, 0.9).history is None


def test_to_json_has_the_documented_keys_and_nulls() -> None:
    data = solve(book_mdp(), 0.9, method="q-value").to_json()
    assert tuple(data) == RESULT_KEYS
    assert data["Q"][1][1] is None and data["Q"][2][0] is None
    assert data["policy"] == [0, 0, 1] and data["method"] == "q-value" and data["gamma"] == 0.9
    assert data["valid"][1] == [True, False, True]
    assert json.loads(json.dumps(data)) == data


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"gamma": 1.5}, r"gamma must be in \[0, 1\], got 1.5"),
        ({"gamma": -0.1}, r"gamma must be in \[0, 1\], got -0.1"),
        ({"gamma": 0.9, "tol": 0.0}, "tol must be > 0"),
        ({"gamma": 0.9, "iterations": 0}, "iterations must be an integer >= 1"),
        ({"gamma": 0.9, "max_iterations": 0}, "max_iterations must be an integer >= 1"),
        ({"gamma": 0.9, "method": "magic"}, "unknown planning method 'magic'"),
    ],
)
def test_bad_settings_are_rejected(kwargs: dict[str, Any], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        solve(book_mdp(), **kwargs)


def test_bad_policies_are_rejected() -> None:
    mdp = book_mdp()
    with pytest.raises(ConfigError, match=r"policy uses action 1 in state 1, .*\(possible: 0, 2\)"):
        policy_evaluation(mdp, np.array([0, 1, 1]), 0.9)
    with pytest.raises(ConfigError, match=r"policy probabilities of state 0 sum to 0.5"):
        policy_evaluation(mdp, np.array([[0.5, 0, 0], [1, 0, 0], [0, 1, 0]]), 0.9)
    with pytest.raises(ConfigError, match=r"policy shape \(2,\)"):
        policy_evaluation(mdp, np.array([0, 0]), 0.9)


def test_linear_solve_at_gamma_one_needs_episodes_that_end() -> None:
    with pytest.raises(ConfigError, match=r"singular"):
        policy_evaluation(book_mdp(), np.array([0, 0, 1]), 1.0, method="solve")


# ---------------------------------------------------------------------------------------------
# independent check on Gymnasium's toy-text environments


def _independent_policy_value(
    table: Any, n_states: int, policy: np.ndarray, gamma: float
) -> np.ndarray:
    """V^pi straight from env.unwrapped.P: solve (I - gamma P_pi^continue) V = r_pi."""
    p_pi = np.zeros((n_states, n_states))
    r_pi = np.zeros(n_states)
    for s in range(n_states):
        for prob, next_state, reward, done in table[s][int(policy[s])]:
            r_pi[s] += prob * reward
            if not done:
                p_pi[s, next_state] += prob
    return np.linalg.solve(np.eye(n_states) - gamma * p_pi, r_pi)


def _one_step_lookahead(
    table: Any, n_states: int, n_actions: int, values: np.ndarray, gamma: float
) -> np.ndarray:
    q = np.zeros((n_states, n_actions))
    for s in range(n_states):
        for a in range(n_actions):
            for prob, next_state, reward, done in table[s][a]:
                q[s, a] += prob * (reward + (0.0 if done else gamma * values[next_state]))
    return q


@pytest.mark.parametrize("gamma", [0.99, 0.9])
@pytest.mark.parametrize(
    "env_id", ["FrozenLake-v1", "FrozenLake8x8-v1", "Taxi-v4", "CliffWalking-v1"]
)
def test_value_iteration_matches_an_independent_policy_evaluation(
    env_id: str, gamma: float
) -> None:
    env = gym.make(env_id)
    table = env.unwrapped.P  # type: ignore[attr-defined]
    n_states, n_actions = int(env.observation_space.n), int(env.action_space.n)  # type: ignore[attr-defined]
    result = value_iteration(TabularMDP.from_env(env), gamma, tol=1e-12)
    assert result.converged
    independent = _independent_policy_value(table, n_states, result.policy, gamma)
    np.testing.assert_allclose(result.V, independent, atol=1e-6)
    q = _one_step_lookahead(table, n_states, n_actions, independent, gamma)
    chosen = q[np.arange(n_states), result.policy]
    assert (chosen >= q.max(axis=1) - 1e-6).all(), "the policy is not greedy w.r.t. its own value"
    env.close()
