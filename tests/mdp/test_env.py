"""Tests for rlworks.mdp.env: tabular MDPs as Gymnasium environments, and BookMDP-v0."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env as gymnasium_check_env

import rlworks
from rlworks.envs.checker import check_env
from rlworks.errors import ConfigError, EnvError
from rlworks.mdp import TabularMDP, TabularMDPEnv, book_mdp

BOOK_ID = "rlworks/BookMDP-v0"


def test_reset_starts_in_s0_with_the_action_mask() -> None:
    env = TabularMDPEnv()
    obs, info = env.reset(seed=0)
    assert obs == 0 and isinstance(obs, int)
    assert info["action_mask"].dtype == np.int8
    assert info["action_mask"].tolist() == [1, 1, 1]
    assert env.observation_space == gym.spaces.Discrete(3)
    assert env.action_space == gym.spaces.Discrete(3)
    np.testing.assert_array_equal(env.valid_actions, book_mdp().valid)


def test_step_follows_the_mdp() -> None:
    env = TabularMDPEnv("book")
    env.reset(seed=0, options={"start_state": 1})
    obs, reward, terminated, truncated, info = env.step(2)  # s1 --a2--> s2 through the fire
    assert (obs, reward, terminated, truncated) == (2, -50.0, False, False)
    assert info["action_mask"].tolist() == [0, 1, 0]  # only a1 in s2


def test_step_frequencies_and_rewards_follow_t_and_r() -> None:
    env = TabularMDPEnv()
    env.reset(seed=1)
    counts = np.zeros(3)
    total_reward = 0.0
    for _ in range(10_000):
        env.reset(options={"start_state": 0})
        obs, reward, *_ = env.step(0)
        counts[obs] += 1
        total_reward += reward
    # T(s0, a0) = [0.7, 0.3, 0]; E[R(s0, a0)] = 0.7 * 10 = 7
    np.testing.assert_allclose(counts / counts.sum(), [0.7, 0.3, 0.0], atol=0.015)
    assert total_reward / 10_000 == pytest.approx(7.0, abs=0.15)


def test_same_seed_same_trajectory() -> None:
    def trajectory(seed: int) -> list[int]:
        env = TabularMDPEnv()
        obs, _ = env.reset(seed=seed)
        env.action_space.seed(seed)
        states = [obs]
        for _ in range(50):
            obs, *_ = env.step(env.action_space.sample())
            states.append(obs)
        return states

    assert trajectory(3) == trajectory(3)
    assert trajectory(3) != trajectory(4)


def test_impossible_action_raises_naming_state_action_and_possible_ones() -> None:
    env = TabularMDPEnv()
    env.reset(seed=0, options={"start_state": 1})
    with pytest.raises(
        ValueError, match=r"action 1 is not possible in state s1 \(possible: 0, 2\)"
    ):
        env.step(1)
    with pytest.raises(EnvError, match=r"out of range"):
        env.step(7)


def test_step_before_reset_is_an_error() -> None:
    with pytest.raises(EnvError, match=r"reset"):
        TabularMDPEnv().step(0)


def test_action_space_sample_draws_only_possible_actions() -> None:
    env = TabularMDPEnv()
    env.reset(seed=0, options={"start_state": 2})
    env.action_space.seed(0)
    assert {int(env.action_space.sample()) for _ in range(50)} == {1}
    env.reset(options={"start_state": 1})
    assert {int(env.action_space.sample()) for _ in range(100)} == {0, 2}
    mask = np.array([0, 1, 0], dtype=np.int8)  # an explicit mask wins
    assert int(env.action_space.sample(mask=mask)) == 1


def test_start_state_is_drawn_from_the_initial_distribution() -> None:
    mdp = TabularMDP.from_lists(
        [[[1.0, 0.0]], [[0.0, 1.0]]], [[[0, 0]], [[0, 0]]], initial_state=[0.25, 0.75]
    )
    env = TabularMDPEnv(mdp)
    env.reset(seed=0)
    starts = [env.reset()[0] for _ in range(4000)]
    assert np.mean(starts) == pytest.approx(0.75, abs=0.03)


def test_frozen_lake_episodes_terminate_in_holes_or_at_the_goal() -> None:
    env = TabularMDPEnv("FrozenLake-v1")
    env.reset(seed=0)
    env.action_space.seed(0)
    ends = []
    for _ in range(20):
        env.reset()
        for _ in range(200):
            obs, reward, terminated, _, _ = env.step(env.action_space.sample())
            if terminated:
                ends.append((obs, reward))
                break
    assert ends and all(obs in (5, 7, 11, 12, 15) for obs, _ in ends)
    assert all(reward == (1.0 if obs == 15 else 0.0) for obs, reward in ends)


def test_render_ansi() -> None:
    env = TabularMDPEnv(render_mode="ansi")
    env.reset(seed=0, options={"start_state": 1})
    assert env.render() == "state s1 (possible actions: a0, a2)\n"
    env.step(2)
    assert env.render() == "s1 --a2--> state s2 (possible actions: a1), reward -50\n"


def test_bad_arguments() -> None:
    with pytest.raises(EnvError, match=r"render_mode='human'"):
        TabularMDPEnv(render_mode="human")
    with pytest.raises(ConfigError, match=r"unknown example|cannot load an MDP"):
        TabularMDPEnv("nope")
    with pytest.raises(EnvError, match=r"expected a TabularMDP"):
        TabularMDPEnv(3)  # type: ignore[arg-type]


def test_passes_gymnasiums_check_env() -> None:
    gymnasium_check_env(TabularMDPEnv(), skip_render_check=True)
    gymnasium_check_env(TabularMDPEnv("FrozenLake-v1"), skip_render_check=True)


def test_passes_rlworks_check_env() -> None:
    check_env(TabularMDPEnv())
    check_env(gym.make(BOOK_ID))


def test_registered_id_has_a_time_limit_and_the_book_mdp() -> None:
    env = gym.make(BOOK_ID)
    assert env.spec is not None and env.spec.max_episode_steps == 100
    assert env.unwrapped.mdp.name == "book"  # type: ignore[attr-defined]
    env.reset(seed=0)
    steps = 0
    truncated = False
    while not truncated:
        _, _, terminated, truncated, _ = env.step(env.action_space.sample())
        assert not terminated
        steps += 1
    assert steps == 100


def test_make_env_vectorizes_and_exposes_valid_actions() -> None:
    venv = rlworks.make_env(BOOK_ID, 2, seed=0)
    obs, info = venv.reset()
    assert obs.tolist() == [0, 0]
    # SeededVectorEnv is a VectorWrapper, which has no get_attr: ask the vector env under it.
    masks = venv.unwrapped.get_attr("valid_actions")
    assert len(masks) == 2
    np.testing.assert_array_equal(masks[0], book_mdp().valid)
    obs, _, _, _, info = venv.step(np.array([0, 2]))
    assert obs.shape == (2,) and info["action_mask"].shape == (2, 3)
    venv.close()
