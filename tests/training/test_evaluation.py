"""Tests for rlworks.training.evaluation: the chapter's numbers, seeding, independence of n_envs."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest

import rlworks
from rlworks.policies import basic_policy
from rlworks.training import EvalResult, evaluate


def test_basic_policy_reproduces_the_chapters_numbers() -> None:
    # The chapter plays 500 episodes, episode k reset with seed k, and prints
    # (np.mean, np.std, np.min, np.max) = (41.698, 8.389..., 24.0, 63.0).
    result = rlworks.evaluate(basic_policy, "CartPole-v1", episodes=500, seed=0)
    assert result.mean == 41.698
    assert result.std == pytest.approx(8.389445512070509, rel=1e-12)
    assert result.min == 24.0
    assert result.max == 63.0
    assert result.episodes == 500
    assert len(result.returns) == len(result.lengths) == 500
    # CartPole pays 1 per step: returns are lengths.
    assert result.returns == [float(n) for n in result.lengths]


def single_env_returns(episodes: int, seed: int) -> list[float]:
    """The reference: one plain Gymnasium env, episode k reset with seed + k."""
    env = gym.make("CartPole-v1")
    returns = []
    for k in range(episodes):
        obs, _ = env.reset(seed=seed + k)
        total, done = 0.0, False
        while not done:
            action = int(basic_policy(obs[None])[0])
            obs, reward, terminated, truncated, _ = env.step(action)
            total += float(reward)
            done = terminated or truncated
        returns.append(total)
    env.close()
    return returns


@pytest.mark.parametrize("n_envs", [1, 3, 8])
def test_episode_k_is_reset_with_seed_plus_k_whatever_n_envs(n_envs: int) -> None:
    # 20 episodes from seed 7: the same returns, in the same order, as the single-env loop.
    expected = single_env_returns(20, seed=7)
    result = evaluate(basic_policy, "CartPole-v1", episodes=20, seed=7, n_envs=n_envs)
    assert result.returns == expected
    assert result.seed == 7
    assert result.mean == pytest.approx(np.mean(expected), abs=0)
    assert result.std == pytest.approx(np.std(expected), abs=0)


def test_results_do_not_depend_on_n_envs_for_the_same_seed() -> None:
    results = [
        evaluate(basic_policy, "CartPole-v1", episodes=30, seed=3, n_envs=n) for n in (1, 3, 8)
    ]
    assert results[0] == results[1] == results[2]


def test_different_seeds_play_different_episodes() -> None:
    a = evaluate(basic_policy, "CartPole-v1", episodes=10, seed=0)
    b = evaluate(basic_policy, "CartPole-v1", episodes=10, seed=1)
    # Seed 1's episode k is seed 0's episode k + 1.
    assert a.returns[1:] == b.returns[:-1]
    assert a.returns != b.returns


def test_more_envs_than_episodes() -> None:
    result = evaluate(basic_policy, "CartPole-v1", episodes=2, seed=0, n_envs=8)
    assert result.returns == single_env_returns(2, seed=0)


def test_agent_is_evaluated_greedily_on_its_own_env() -> None:
    # A random-search agent whose best parameters are the basic policy: push toward the side
    # the pole leans to (score of action 1 = angle, of action 0 = 0).
    agent = rlworks.agents.RandomSearch("CartPole-v1", seed=0)
    agent.best_params = np.array([[0.0, 0.0, 0.0, 0.0], [0.0, 0.0, 1.0, 0.0]])
    agent.candidate = -agent.best_params  # the exploring policy would do the opposite
    result = evaluate(agent, episodes=10, seed=0)
    assert result.returns == single_env_returns(10, seed=0)


def test_to_dict_with_and_without_episodes() -> None:
    result = evaluate(basic_policy, "CartPole-v1", episodes=3, seed=0)
    full = result.to_dict()
    assert set(full) == {"mean", "std", "min", "max", "episodes", "seed", "returns", "lengths"}
    assert "returns" not in result.to_dict(with_episodes=False)
    assert EvalResult(**full) == result


@pytest.mark.parametrize("episodes", [0, -1])
def test_episodes_below_one_is_a_value_error(episodes: int) -> None:
    with pytest.raises(ValueError, match=f"episodes must be >= 1, got {episodes}"):
        evaluate(basic_policy, "CartPole-v1", episodes=episodes)


def test_plain_policy_needs_an_env() -> None:
    with pytest.raises(ValueError, match="needs an environment id"):
        evaluate(basic_policy, episodes=1)
