"""Tests for rlworks.envs.wrappers: the chapter's TF-Agents wrappers on Gymnasium."""

from __future__ import annotations

from typing import Any

import gymnasium as gym
import numpy as np
import pytest
from gymnasium import spaces

from rlworks.envs import wrappers
from rlworks.envs.gridworld import GridWorldEnv
from rlworks.envs.wrappers import (
    ActionClipWrapper,
    ActionDiscretizeWrapper,
    ActionRepeat,
    RunStats,
    TimeLimit,
    VideoWrapper,
)
from rlworks.errors import EnvError


class _BoxActionEnv(gym.Env[np.ndarray, np.ndarray]):
    """Records the last continuous action it was given."""

    def __init__(self, low: Any, high: Any, shape: tuple[int, ...] | None = None) -> None:
        self.action_space = spaces.Box(low, high, shape=shape, dtype=np.float32)
        self.observation_space = spaces.Box(-1.0, 1.0, (1,), np.float32)
        self.last_action: np.ndarray | None = None

    def reset(
        self, *, seed: int | None = None, options: dict[str, Any] | None = None
    ) -> tuple[np.ndarray, dict[str, Any]]:
        super().reset(seed=seed)
        return np.zeros(1, np.float32), {}

    def step(self, action: np.ndarray) -> tuple[np.ndarray, float, bool, bool, dict[str, Any]]:
        self.last_action = action
        return np.zeros(1, np.float32), 0.0, False, False, {}


# ---------------------------------------------------------------------------------------------
# ActionDiscretizeWrapper


def test_discretize_pendulum_five_actions_include_both_bounds() -> None:
    env = ActionDiscretizeWrapper(gym.make("Pendulum-v1"), num_actions=5)
    assert env.action_space == spaces.Discrete(5)
    # Pendulum's torque is in [-2, 2]: 5 evenly spaced values including both ends, step 4 / 4 = 1
    np.testing.assert_array_equal(env.action_values, [[-2.0], [-1.0], [0.0], [1.0], [2.0]])
    for index, torque in enumerate([-2.0, -1.0, 0.0, 1.0, 2.0]):
        action = env.action(np.int64(index))
        assert action.shape == (1,)
        assert action.dtype == np.float32
        assert action[0] == torque
    env.reset(seed=0)
    obs, reward, *_ = env.step(4)
    assert obs.shape == (3,)
    assert isinstance(reward, float)


def test_discretize_unit_interval_like_tf_agents() -> None:
    # The chapter: num_actions=5 on [-1, 1] -> -1.0, -0.5, 0.0, 0.5, 1.0
    inner = _BoxActionEnv(-1.0, 1.0, (1,))
    env = ActionDiscretizeWrapper(inner, 5)
    np.testing.assert_array_equal(env.action_values[:, 0], [-1.0, -0.5, 0.0, 0.5, 1.0])
    env.reset()
    env.step(1)
    np.testing.assert_array_equal(inner.last_action, [-0.5])


def test_discretize_multi_dimensional_box_enumerates_the_product() -> None:
    inner = _BoxActionEnv(np.array([-1.0, 0.0], np.float32), np.array([1.0, 10.0], np.float32))
    env = ActionDiscretizeWrapper(inner, num_actions=[3, 2])
    assert env.action_space == spaces.Discrete(6)
    assert env.num_actions == (3, 2)
    # last dimension varies fastest: index = 2 * i0 + i1
    expected = [[-1, 0], [-1, 10], [0, 0], [0, 10], [1, 0], [1, 10]]
    np.testing.assert_array_equal(env.action_values, expected)
    for index, row in enumerate(expected):
        np.testing.assert_array_equal(env.action(np.int64(index)), row)


def test_discretize_matrix_shaped_box_keeps_shape() -> None:
    inner = _BoxActionEnv(-1.0, 1.0, (2, 2))
    env = ActionDiscretizeWrapper(inner, num_actions=2)
    assert env.action_space == spaces.Discrete(16)
    assert env.action_values.shape == (16, 2, 2)
    np.testing.assert_array_equal(env.action(np.int64(0)), [[-1, -1], [-1, -1]])
    np.testing.assert_array_equal(env.action(np.int64(15)), [[1, 1], [1, 1]])


@pytest.mark.parametrize(
    ("num_actions", "message"),
    [
        (1, "num_actions=1, expected integers >= 2"),
        (0, "num_actions=0, expected integers >= 2"),
        (2.5, "num_actions=2.5 holds 2.5, expected integers >= 2"),
        ([3, 3], "num_actions=[3, 3] has 2 entries, expected one int >= 2 or 1"),
    ],
)
def test_discretize_rejects_bad_num_actions(num_actions: Any, message: str) -> None:
    with pytest.raises(EnvError) as info:
        ActionDiscretizeWrapper(_BoxActionEnv(-1.0, 1.0, (1,)), num_actions)
    assert str(info.value).startswith(message)


def test_discretize_rejects_unbounded_box() -> None:
    with pytest.raises(EnvError, match="is unbounded in dimension 1; ActionDiscretizeWrapper"):
        ActionDiscretizeWrapper(
            _BoxActionEnv(np.array([-1, 0], np.float32), np.array([1, np.inf], np.float32)), 3
        )


def test_discretize_rejects_discrete_action_space() -> None:
    with pytest.raises(EnvError, match=r"needs a Box action space, got Discrete\(2\)"):
        ActionDiscretizeWrapper(gym.make("CartPole-v1"), 3)  # type: ignore[arg-type]


@pytest.mark.parametrize("action", [5, -1, 1.5])
def test_discretize_rejects_out_of_range_action(action: Any) -> None:
    env = ActionDiscretizeWrapper(_BoxActionEnv(-1.0, 1.0, (1,)), 5)
    with pytest.raises(
        EnvError, match=r"is outside Discrete\(5\); expected an integer in \[0, 4\]"
    ):
        env.action(action)


def test_discretize_spec_rebuilds_the_wrapper() -> None:
    env = ActionDiscretizeWrapper(gym.make("Pendulum-v1"), num_actions=5)
    assert env.spec is not None
    rebuilt = gym.make(env.spec)
    assert isinstance(rebuilt, ActionDiscretizeWrapper)
    assert rebuilt.action_space == spaces.Discrete(5)


# ---------------------------------------------------------------------------------------------
# ActionRepeat


def test_action_repeat_sums_rewards() -> None:
    env = ActionRepeat(gym.make("CartPole-v1"), times=4)
    env.reset(seed=0)
    _, reward, terminated, _, _ = env.step(0)
    assert reward == 4.0  # four CartPole steps of +1
    assert not terminated


def test_action_repeat_stops_at_episode_end() -> None:
    grid = GridWorldEnv()
    env = ActionRepeat(grid, times=10)
    env.reset()
    _, reward, terminated, _, info = env.step(1)  # down x10: 3 moves of 0, then off the grid (-1)
    assert reward == -1.0
    assert terminated
    assert info["position"] == (4, 0)  # stopped after the 4th move, not the 10th


def test_action_repeat_spec_records_times() -> None:
    env = ActionRepeat(gym.make("CartPole-v1"), times=3)
    assert env.spec is not None
    assert env.spec.additional_wrappers[-1].kwargs == {"times": 3}
    rebuilt = gym.make(env.spec)
    assert isinstance(rebuilt, ActionRepeat)
    assert rebuilt.num_repeats == 3


@pytest.mark.parametrize("times", [0, -2, 1.5, True])
def test_action_repeat_rejects_bad_times(times: Any) -> None:
    with pytest.raises(EnvError, match=r"ActionRepeat times=.*, expected an integer >= 1"):
        ActionRepeat(GridWorldEnv(), times=times)


# ---------------------------------------------------------------------------------------------
# Re-exported Gymnasium wrappers


def test_re_exports_are_gymnasium_wrappers() -> None:
    assert ActionClipWrapper is gym.wrappers.ClipAction
    assert TimeLimit is gym.wrappers.TimeLimit
    assert RunStats is gym.wrappers.RecordEpisodeStatistics
    assert VideoWrapper is gym.wrappers.RecordVideo
    assert issubclass(ActionRepeat, gym.wrappers.RepeatAction)
    assert set(wrappers.__all__) == {
        "ActionClipWrapper",
        "ActionDiscretizeWrapper",
        "ActionRepeat",
        "RunStats",
        "TimeLimit",
        "VideoWrapper",
    }


def test_action_clip_wrapper_clips_to_bounds() -> None:
    inner = _BoxActionEnv(-2.0, 2.0, (1,))
    env = ActionClipWrapper(inner)
    env.reset()
    env.step(np.array([5.0], dtype=np.float32))
    np.testing.assert_array_equal(inner.last_action, [2.0])


def test_run_stats_reports_episode_return_and_length() -> None:
    env = RunStats(GridWorldEnv())
    env.reset()
    info: dict[str, Any] = {}
    for action in (1, 1, 1, 3, 3, 3):
        *_, info = env.step(action)
    assert info["episode"]["r"] == 10.0  # 5 steps of 0, then +10 at the goal
    assert info["episode"]["l"] == 6


def test_time_limit_truncates() -> None:
    env = TimeLimit(GridWorldEnv(), max_episode_steps=2)
    env.reset()
    assert env.step(3)[3] is False
    assert env.step(2)[3] is True
