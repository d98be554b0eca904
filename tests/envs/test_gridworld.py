"""Tests for rlworks.envs.gridworld: the chapter's 4x4 grid environment."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest

from rlworks.envs.checker import check_env
from rlworks.envs.gridworld import GridWorldEnv
from rlworks.envs.registry import GRIDWORLD_ID
from rlworks.errors import EnvError

UP, DOWN, LEFT, RIGHT = 0, 1, 2, 3


def test_book_example_reset_then_step_down() -> None:
    env = GridWorldEnv()
    obs, _ = env.reset(seed=0)
    expected = np.zeros((4, 4), dtype=np.int32)
    expected[0, 0] = 1
    np.testing.assert_array_equal(obs, expected)
    assert obs.dtype == np.int32

    obs, reward, terminated, truncated, _ = env.step(DOWN)
    expected = np.zeros((4, 4), dtype=np.int32)
    expected[1, 0] = 1
    np.testing.assert_array_equal(obs, expected)
    assert (reward, terminated, truncated) == (0.0, False, False)


def test_reaching_the_goal_gives_plus_ten_and_terminates() -> None:
    env = GridWorldEnv()
    env.reset(seed=0)
    rewards = []
    for action in (DOWN, DOWN, DOWN, RIGHT, RIGHT):
        obs, reward, terminated, _, _ = env.step(action)
        rewards.append(reward)
        assert not terminated
    obs, reward, terminated, truncated, info = env.step(RIGHT)
    assert rewards == [0.0] * 5
    assert (reward, terminated, truncated) == (10.0, True, False)
    assert obs[3, 3] == 1
    assert obs.sum() == 1
    assert info["position"] == (3, 3)


@pytest.mark.parametrize("action", [UP, LEFT])
def test_stepping_off_the_grid_gives_minus_one_and_terminates(action: int) -> None:
    env = GridWorldEnv()
    env.reset(seed=0)
    obs, reward, terminated, truncated, _ = env.step(action)
    assert (reward, terminated, truncated) == (-1.0, True, False)
    np.testing.assert_array_equal(obs, np.zeros((4, 4), dtype=np.int32))  # agent left the grid


def test_size_sets_grid_and_goal() -> None:
    env = GridWorldEnv(size=6)
    obs, _ = env.reset()
    assert obs.shape == (6, 6)
    assert env.observation_space == gym.spaces.Box(0, 1, (6, 6), np.int32)
    assert env.goal == (5, 5)
    for action in [DOWN] * 5 + [RIGHT] * 4:
        assert env.step(action)[1] == 0.0
    assert env.step(RIGHT)[1:3] == (10.0, True)


def test_reset_is_deterministic_and_returns_fresh_arrays() -> None:
    env = GridWorldEnv()
    first, _ = env.reset(seed=1)
    env.step(DOWN)
    second, _ = env.reset(seed=2)
    np.testing.assert_array_equal(first, second)
    assert first is not second


def test_passes_check_env() -> None:
    check_env(GridWorldEnv())
    # through gymnasium.make, so that Gymnasium's checker also renders every render mode
    check_env(gym.make(GRIDWORLD_ID, size=3, render_mode="rgb_array"), skip_render=False)


def test_registered_id_has_a_100_step_time_limit() -> None:
    env = gym.make(GRIDWORLD_ID)
    env.reset(seed=0)
    truncated = False
    for step in range(100):
        # right then left: never terminates on a 4x4 grid
        _, reward, terminated, truncated, _ = env.step(RIGHT if step % 2 == 0 else LEFT)
        assert reward == 0.0
        assert not terminated
    assert truncated


def test_render_rgb_array_colors_agent_and_goal() -> None:
    env = GridWorldEnv(render_mode="rgb_array")
    env.reset()
    image = env.render()
    assert image.shape == (128, 128, 3)
    assert image.dtype == np.uint8
    agent_pixel = image[16, 16]  # centre of cell (0, 0)
    goal_pixel = image[3 * 32 + 16, 3 * 32 + 16]  # centre of cell (3, 3)
    empty_pixel = image[32 + 16, 32 + 16]  # centre of cell (1, 1)
    assert len({tuple(agent_pixel), tuple(goal_pixel), tuple(empty_pixel)}) == 3


def test_render_ansi_shows_agent_and_goal() -> None:
    env = GridWorldEnv(render_mode="ansi")
    env.reset()
    env.step(DOWN)
    assert env.render() == ". . . .\nA . . .\n. . . .\n. . . G\n"
    env.step(LEFT)
    assert "off the grid" in env.render()


def test_render_none_without_render_mode() -> None:
    env = GridWorldEnv()
    env.reset()
    assert env.render() is None


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"size": 1}, "GridWorldEnv size=1, expected an integer >= 2"),
        ({"size": 2.5}, "GridWorldEnv size=2.5, expected an integer >= 2"),
        ({"render_mode": "human"}, "GridWorldEnv render_mode='human', expected None"),
    ],
)
def test_bad_arguments_raise_env_error(kwargs: dict[str, object], message: str) -> None:
    with pytest.raises(EnvError) as info:
        GridWorldEnv(**kwargs)  # type: ignore[arg-type]
    assert str(info.value).startswith(message)


@pytest.mark.parametrize("action", [4, -1, "up"])
def test_invalid_action_raises_env_error(action: object) -> None:
    env = GridWorldEnv()
    env.reset()
    with pytest.raises(EnvError, match=r"GridWorldEnv action .*, expected 0 \(up\)"):
        env.step(action)  # type: ignore[arg-type]
