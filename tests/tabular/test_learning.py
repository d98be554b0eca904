"""Known-answer learning tests for the tabular agents: a reward threshold within a step budget.

Every threshold below was measured first (numbers per seed in the comments) and is set with a
margin. The five-seed versions are marked ``slow``; one seed of each stays in the fast suite.
Timings are single-core wall times measured on the development machine.
"""

from __future__ import annotations

import numpy as np
import pytest

import rlworks as rw
from rlworks.tabular import QLearning, TabularConfig
from rlworks.training.driver import Driver

SEEDS = [0, 1, 2, 3, 4]


# ----------------------------------------------------------------------------- FrozenLake 4x4
def frozenlake_success_rate(seed: int) -> float:
    """Greedy success rate over 1,000 episodes after 200k steps of Q-learning (~13 s)."""
    env = rw.make_env("FrozenLake-v1", 8, seed=seed)
    config = TabularConfig(gamma=0.99, alpha0=0.1, decay=1e-4, epsilon_decay_steps=100_000)
    agent = QLearning(env, config, seed=seed)
    agent.learn(200_000, eval_every=0, progress=False)
    # Reward 1 only at the goal, so the mean return is the success rate.
    return rw.evaluate(agent, episodes=1000, seed=1000 + seed).mean


# Measured success rates (eval seed 1000 + seed), seeds 0-4: 0.725, 0.726, 0.720, 0.720, 0.719;
# the lake is slippery, so even a good policy fails often. 0.70 leaves ~0.02 of margin.
FROZENLAKE_THRESHOLD = 0.70


def test_q_learning_solves_frozenlake_one_seed() -> None:
    assert frozenlake_success_rate(0) >= FROZENLAKE_THRESHOLD


@pytest.mark.slow
def test_q_learning_solves_frozenlake_most_seeds() -> None:
    rates = [frozenlake_success_rate(seed) for seed in SEEDS]
    assert sum(rate >= FROZENLAKE_THRESHOLD for rate in rates) >= 4, rates


# ----------------------------------------------------------------------------- CliffWalking
def cliffwalking_greedy_return(seed: int) -> float:
    """Greedy return after 50k steps of Q-learning (~2.5 s); the shortest path scores -13."""
    # CliffWalking-v1 has no time limit: cap episodes so a looping greedy policy still ends.
    env = rw.make_env("CliffWalking-v1", 8, seed=seed, max_episode_steps=200)
    config = TabularConfig(gamma=0.99, epsilon_decay_steps=20_000, epsilon_end=0.1, alpha0=0.5)
    agent = QLearning(env, config, seed=seed)
    agent.learn(50_000, eval_every=0, max_episode_steps=200, progress=False)
    return rw.evaluate(agent, episodes=1, seed=seed, max_episode_steps=200).mean


# Measured greedy returns, seeds 0-4: -13 for all five (the optimal 13 steps of -1). The five
# seeds take ~12 s, so the fast suite keeps one.
def test_q_learning_finds_the_shortest_cliff_path_one_seed() -> None:
    assert cliffwalking_greedy_return(0) == -13


@pytest.mark.slow
def test_q_learning_finds_the_shortest_cliff_path_most_seeds() -> None:
    returns = [cliffwalking_greedy_return(seed) for seed in SEEDS]
    assert sum(r == -13 for r in returns) >= 4, returns


# ----------------------------------------------------------------------------- the book MDP
BOOK_Q_S0_A0 = 18.92  # Q*(s0, a0) with γ = 0.9 (q-value iteration gives 18.9189...)


def book_mdp_q_learning(seed: int, steps: list[int]) -> list[tuple[list[int], float]]:
    """The chapter's Q-learning: random exploration, α = 0.05 / (1 + 0.005 t), γ = 0.9.

    Returns the greedy policy and Q(s0, a0) after each cumulative step count in ``steps``.
    """
    env = rw.make_env("rlworks/BookMDP-v0", 1, seed=seed, max_episode_steps=10_000_000)
    config = TabularConfig(
        gamma=0.9, alpha0=0.05, decay=0.005, exploration="random", learning_rate="power"
    )
    agent = QLearning(env, config, seed=seed)
    driver = Driver(env, agent.collect_policy, agent.observers)
    out, done = [], 0
    for total in steps:
        driver.run(num_steps=total - done)
        done = total
        out.append((agent.greedy_policy().tolist(), float(agent.q_values[0, 0])))
    return out


# After 10_000 steps the greedy policy is right, but Q(s0, a0) is still biased low because
# α has decayed to 0.05 / 51 ≈ 0.001 long before the estimates converge. Measured here,
# seeds 0-4: 17.83, 17.67, 17.87, 17.79, 17.08 (the chapter's own NumPy code: 18.11 ± 0.70
# over 200 seeds; the chapter's printed 18.78 is its seed 42), so "within 1.0 of 18.92" would
# fail for about half the seeds. After 50_000 steps it holds for all of them. Measured here,
# seeds 0-4: 18.55, 18.68, 18.55, 18.67, 18.51 → largest gap 0.41, so 1.0 has ~0.6 margin
# (the chapter's code: 18.74 ± 0.33). One seed takes ~1.4 s to 10k steps, ~7.6 s to 50k.
def _check_book_mdp(seed: int, *, to_50k: bool) -> None:
    results = book_mdp_q_learning(seed, [10_000, 50_000] if to_50k else [10_000])
    policy_10k, _ = results[0]
    assert policy_10k == [0, 0, 1], f"seed {seed}: greedy policy {policy_10k} after 10k steps"
    if to_50k:
        policy_50k, q_50k = results[1]
        assert policy_50k == [0, 0, 1]
        assert abs(q_50k - BOOK_Q_S0_A0) < 1.0, f"seed {seed}: Q(s0, a0) = {q_50k:.3f}"


def test_book_mdp_q_learning_policy_five_seeds_and_q_value_one_seed() -> None:
    for seed in SEEDS:
        _check_book_mdp(seed, to_50k=seed == 0)


@pytest.mark.slow
@pytest.mark.parametrize("seed", SEEDS)
def test_book_mdp_q_learning_converges(seed: int) -> None:
    _check_book_mdp(seed, to_50k=True)


def test_book_mdp_optimal_q_value() -> None:
    # The value the Q-learning tests aim at: Q*(s0, a0) = 18.9189... for γ = 0.9.
    from rlworks.mdp import book_mdp, solve

    assert solve(book_mdp(), gamma=0.9).Q[0, 0] == pytest.approx(BOOK_Q_S0_A0, abs=0.005)
    assert solve(book_mdp(), gamma=0.9).policy.tolist() == [0, 0, 1]


# ----------------------------------------------------------------------------- CartPole, binned
def cartpole_solved_at(seed: int) -> tuple[int | None, float]:
    """Discretized CartPole with the chapter's logarithmic schedules (~5-15 s per seed)."""
    env = rw.make_env("CartPole-v1", 8, seed=seed)
    config = TabularConfig(
        discretize_bins=[6, 12],
        discretize_dims=[2, 3],
        discretize_low=[-0.2095, -0.8727],
        discretize_high=[0.2095, 0.8727],
        learning_rate="logarithmic",
        alpha_min=0.1,
        epsilon_schedule="logarithmic",
        epsilon_end=0.1,
        schedule_unit="episodes",
        gamma=1.0,
    )
    agent = QLearning(env, config, seed=seed)
    result = agent.learn(
        300_000, eval_every=10_000, eval_episodes=100, target_return=195, progress=False
    )
    return result.solved_at_step, result.eval_mean


@pytest.mark.slow
def test_discretized_cartpole_is_solved() -> None:
    # Measured (solved_at_step, eval mean over 100 greedy episodes), seeds 0-4:
    # (20073, 500.0), (10026, 238.3), (10032, 499.2), (10037, 331.3), (20070, 500.0):
    # all five solved by the second evaluation of a 300k budget; the test asks for 3 of 5.
    results = [cartpole_solved_at(seed) for seed in SEEDS]
    solved = [at for at, mean in results if at is not None and mean >= 195]
    assert len(solved) >= 3, results
    assert np.all(np.array(solved) <= 300_000)
