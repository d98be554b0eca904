"""Tests for rlworks.agents.search: config checks, the linear policy's exact actions, keeping the
best candidate, and a learning test on CartPole."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pytest

import rlworks
from rlworks.agents import RandomSearch, RandomSearchConfig
from rlworks.config import config_from_dict
from rlworks.errors import ConfigError, SpaceMismatchError
from rlworks.training import TrainResult

# ---------------------------------------------------------------------------------------------
# Config


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        ({"episodes_per_candidate": 0}, "episodes_per_candidate must be >= 1, got 0"),
        ({"param_scale": 0.0}, "param_scale must be a positive number, got 0.0"),
        ({"param_scale": -1}, "param_scale must be a positive number, got -1.0"),
        ({"param_scale": math.inf}, "param_scale must be a positive number, got inf"),
        ({"param_scale": math.nan}, "param_scale must be a positive number, got nan"),
        ({"distribution": "gaussian"}, "distribution must be one of 'uniform', 'normal'"),
        ({"bias": "yes"}, "bias must be true or false"),
        ({"episodes_per_candidate": 2.5}, "episodes_per_candidate must be an integer"),
    ],
)
def test_config_errors_name_the_key(settings: dict[str, Any], message: str) -> None:
    with pytest.raises(ConfigError, match=f"^preset.yaml: {message}"):
        config_from_dict(RandomSearchConfig, settings, source="preset.yaml")


def test_hand_built_config_is_validated_too() -> None:
    with pytest.raises(ConfigError, match="episodes_per_candidate must be >= 1, got -2"):
        RandomSearch("CartPole-v1", RandomSearchConfig(episodes_per_candidate=-2))


def test_config_of_another_algorithm_is_refused() -> None:
    with pytest.raises(ConfigError, match="expects a RandomSearchConfig, got dict"):
        RandomSearch("CartPole-v1", {"episodes_per_candidate": 2})  # type: ignore[arg-type]


# ---------------------------------------------------------------------------------------------
# The linear policy


def test_discrete_actions_are_the_argmax_of_linear_scores() -> None:
    agent = RandomSearch("CartPole-v1", seed=0)
    # Action 0 scores the cart position x, action 1 the pole angle θ.
    agent.best_params = np.array([[1.0, 0.0, 0.0, 0.0], [0.0, 0.0, 1.0, 0.0]])
    obs = np.array(
        [
            [0.5, 9.0, 0.1, 9.0],  # x = 0.5 > θ = 0.1 → 0
            [0.1, -9.0, 0.5, -9.0],  # θ = 0.5 > x = 0.1 → 1
            [-0.3, 0.0, -0.2, 0.0],  # θ = -0.2 > x = -0.3 → 1
            [0.2, 0.0, 0.2, 0.0],  # a tie goes to the first action → 0
        ],
        dtype=np.float32,
    )
    actions = agent.act(obs, explore=False)
    np.testing.assert_array_equal(actions, [0, 1, 1, 0])
    assert actions.dtype == np.int64


def test_explore_uses_the_candidate_and_greedy_the_best() -> None:
    agent = RandomSearch("CartPole-v1", seed=0)
    agent.best_params = np.array([[0.0, 0.0, 0.0, 0.0], [0.0, 0.0, 1.0, 0.0]])
    agent.candidate = -agent.best_params
    obs = np.array([[0.0, 0.0, 0.1, 0.0]], dtype=np.float32)
    # Best: scores (0, 0.1) → 1; candidate: scores (0, -0.1) → 0.
    assert agent.act(obs, explore=False).tolist() == [1]
    assert agent.act(obs, explore=True).tolist() == [0]


def test_box_actions_are_squashed_into_the_bounds() -> None:
    # Pendulum: obs (cos θ, sin θ, θ'), one action in [-2, 2]: a = -2 + (tanh(s) + 1) / 2 * 4,
    # that is a = 2 tanh(s) with s = obs · w.
    agent = RandomSearch("Pendulum-v1", seed=0)
    agent.best_params = np.array([[1.0, 2.0, 0.5]])
    obs = np.array(
        [
            [0.0, 0.0, 0.0],  # s = 0 → 0
            [1.0, 0.0, 0.0],  # s = 1 → 2 tanh(1) = 1.5231884
            [0.0, -0.5, 0.0],  # s = -1 → -1.5231884
            [1.0, 1.0, 8.0],  # s = 1 + 2 + 4 = 7 → 2 tanh(7) = 1.9999966
            [-1.0, -1.0, -8.0],  # s = -7 → -1.9999966
        ],
        dtype=np.float32,
    )
    actions = agent.act(obs, explore=False)
    assert actions.shape == (5, 1)
    assert actions.dtype == np.float32
    expected = 2 * np.tanh([0.0, 1.0, -1.0, 7.0, -7.0])
    np.testing.assert_allclose(actions[:, 0], expected, rtol=1e-6)
    assert np.all(np.abs(actions) <= 2.0)


def test_random_candidates_stay_within_the_bounds() -> None:
    env = rlworks.make_env("Pendulum-v1", 4, seed=0)
    agent = RandomSearch(env, RandomSearchConfig(param_scale=50.0), seed=0)
    obs = np.random.default_rng(0).uniform(-8, 8, size=(256, 3)).astype(np.float32)
    for _ in range(5):
        agent.candidate = agent.sample_candidate()
        actions = agent.act(obs)
        assert np.all((actions >= -2.0) & (actions <= 2.0))
        assert env.single_action_space.contains(actions[0])


def test_bias_adds_a_constant_score() -> None:
    agent = RandomSearch("CartPole-v1", RandomSearchConfig(bias=True), seed=0)
    assert agent.param_shape == (2, 5)
    # Scores: action 0 = 0.5 (bias only), action 1 = θ.
    agent.best_params = np.array([[0.0, 0.0, 0.0, 0.0, 0.5], [0.0, 0.0, 1.0, 0.0, 0.0]])
    obs = np.array([[0.0, 0.0, 0.4, 0.0], [0.0, 0.0, 0.6, 0.0]], dtype=np.float32)
    assert agent.act(obs, explore=False).tolist() == [0, 1]


@pytest.mark.parametrize(
    ("distribution", "check"),
    [
        ("uniform", lambda p: np.all(np.abs(p) <= 0.5)),
        ("normal", lambda p: np.abs(p.std() - 0.5) < 0.05),
    ],
)
def test_candidates_follow_the_configured_distribution(distribution: str, check: Any) -> None:
    config = RandomSearchConfig(param_scale=0.5, distribution=distribution)  # type: ignore[arg-type]
    agent = RandomSearch("CartPole-v1", config, seed=0)
    params = np.stack([agent.sample_candidate() for _ in range(500)])  # [500, 2, 4]
    assert params.shape == (500, 2, 4)
    assert check(params)


@pytest.mark.parametrize(
    ("env_id", "space"),
    [
        ("FrozenLake-v1", "Discrete(16)"),
        ("Blackjack-v1", "Tuple(Discrete(32), Discrete(11), Discrete(2))"),
    ],
)
def test_non_box_observations_are_refused(env_id: str, space: str) -> None:
    with pytest.raises(SpaceMismatchError) as info:
        RandomSearch(env_id)
    assert str(info.value) == (
        f"random-search cannot handle {env_id}: its observation space is {space}, expected Box"
    )


# ---------------------------------------------------------------------------------------------
# Keeping the best


def test_update_keeps_the_best_and_ties_go_to_the_newer() -> None:
    agent = RandomSearch("CartPole-v1", seed=0)
    a, b, c = (np.full((2, 4), v) for v in (1.0, 2.0, 3.0))
    assert agent.best_return == -math.inf

    agent.candidate = a
    info = agent.update(10.0)
    assert agent.best_params is a
    assert agent.policy_version == 1
    assert info == {"candidate_return": 10.0, "best_return": 10.0, "candidates": 1.0}

    agent.candidate = b
    agent.update(10.0)  # a tie: the newer candidate wins
    assert agent.best_params is b
    assert agent.policy_version == 2

    agent.candidate = c
    info = agent.update(9.0)  # worse: b stays, the greedy policy is unchanged
    assert agent.best_params is b
    assert agent.policy_version == 2
    assert info == {"candidate_return": 9.0, "best_return": 10.0, "candidates": 3.0}


def test_train_iteration_scores_a_candidate_on_whole_episodes() -> None:
    env = rlworks.make_env("CartPole-v1", 4, seed=0)
    agent = RandomSearch(env, RandomSearchConfig(episodes_per_candidate=6), seed=0)
    driver = rlworks.training.Driver(env, agent.collect_policy, agent.observers)
    info = agent.train_iteration(driver)
    # 6 whole episodes: the candidate's score is the mean return over them, and CartPole pays 1
    # per step, so the steps collected are 6 times that mean.
    assert driver.total_episodes == 6
    assert driver.total_steps == pytest.approx(6 * info["candidate_return"])
    assert info["best_return"] == info["candidate_return"]
    assert agent.best_params is agent.candidate


# ---------------------------------------------------------------------------------------------
# Learning


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_random_search_solves_cartpole(seed: int) -> None:
    env = rlworks.make_env("CartPole-v1", n_envs=8, seed=seed)
    agent = RandomSearch(env, seed=seed)
    result = agent.learn(
        200_000, target_return=475, eval_episodes=20, eval_every=5_000, progress=False
    )
    assert isinstance(result, TrainResult)
    assert result.eval_mean >= 475
    assert result.solved_at_step is not None
    assert result.solved_at_step <= 200_000
    assert result.stop_reason == "target return 475 reached"
    # The greedy policy is judged on fresh evaluation episodes, not its training score.
    check = rlworks.evaluate(agent, episodes=20, seed=seed + 10_000)
    assert check.mean == result.eval_mean
