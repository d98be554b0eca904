"""Tests for rlworks.envs.checker: per-fault messages of check_env, and load_env_target."""

from __future__ import annotations

import sys
import textwrap
from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np
import pytest
from gymnasium import spaces

from rlworks.envs.checker import EnvCheckError, check_env, find_faults, load_env_target
from rlworks.envs.gridworld import GridWorldEnv
from rlworks.errors import EnvError

# ---------------------------------------------------------------------------------------------
# Environments: one correct, and one broken one per fault


class GoodEnv(gym.Env[np.ndarray, np.int64]):
    """A correct environment: obs in Box(-1, 1, (3,), float32), episodes of 5 steps."""

    def __init__(self) -> None:
        self.observation_space = spaces.Box(-1.0, 1.0, (3,), np.float32)
        self.action_space = spaces.Discrete(2)
        self._t = 0

    def _obs(self) -> Any:
        return np.full(3, 0.1 * self._t, dtype=np.float32)

    def reset(
        self, *, seed: int | None = None, options: dict[str, Any] | None = None
    ) -> tuple[Any, dict[str, Any]]:
        super().reset(seed=seed)
        self._t = 0
        return self._obs(), {}

    def step(self, action: np.int64) -> Any:
        self._t += 1
        return self._obs(), 1.0, self._t >= 5, False, {}


class ResetObsOnly(GoodEnv):
    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None) -> Any:
        return super().reset(seed=seed)[0]


class FourTupleStep(GoodEnv):
    def step(self, action: np.int64) -> Any:
        obs, reward, terminated, _, info = super().step(action)
        return obs, reward, terminated, info


class Float64Obs(GoodEnv):
    def _obs(self) -> Any:
        return super()._obs().astype(np.float64)


class ObsOutOfBounds(GoodEnv):
    def _obs(self) -> Any:
        return np.array([0.0, 5.0, 0.0], dtype=np.float32)


class IntTerminated(GoodEnv):
    def step(self, action: np.int64) -> Any:
        obs, reward, terminated, truncated, info = super().step(action)
        return obs, reward, int(terminated), truncated, info


class InfoNotDict(GoodEnv):
    def step(self, action: np.int64) -> Any:
        obs, reward, terminated, truncated, _ = super().step(action)
        return obs, reward, terminated, truncated, None


class RewardNotNumber(GoodEnv):
    def step(self, action: np.int64) -> Any:
        obs, _, terminated, truncated, info = super().step(action)
        return obs, "1", terminated, truncated, info


class MissingActionSpace(GoodEnv):
    def __init__(self) -> None:
        super().__init__()
        del self.action_space


class WrongObservationSpace(GoodEnv):
    def __init__(self) -> None:
        super().__init__()
        self.observation_space = (3,)  # type: ignore[assignment]


class ResetWithoutSeed(GoodEnv):
    def reset(self) -> Any:  # type: ignore[override]
        return super().reset()


class TwoFaults(Float64Obs, InfoNotDict):
    """float64 observations and a None info."""


class NoSuperReset(GoodEnv):
    """Passes rlworks' checks but not Gymnasium's: reset() never seeds the env's RNG."""

    def reset(
        self, *, seed: int | None = None, options: dict[str, Any] | None = None
    ) -> tuple[Any, dict[str, Any]]:
        self._t = 0
        return self._obs(), {}


class NotAGymnasiumEnv:
    def reset(self) -> Any:
        return np.zeros(3), {}


class NeedsArguments(GoodEnv):
    def __init__(self, size: int) -> None:
        super().__init__()


def make_good_env() -> GoodEnv:
    return GoodEnv()


# ---------------------------------------------------------------------------------------------
# check_env


@pytest.mark.filterwarnings("ignore:.*observation space m.* value is .*infinity")  # CartPole
def test_good_envs_pass() -> None:
    check_env(GoodEnv())
    check_env(GridWorldEnv())
    check_env(load_env_target("CartPole-v1"))


@pytest.mark.parametrize(
    ("env_class", "message"),
    [
        (
            ResetObsOnly,
            "reset() returned an ndarray of shape (3,); "
            "Gymnasium's API returns a tuple (obs, info)",
        ),
        (
            FourTupleStep,
            "step() returned 4 values; Gymnasium's API returns 5: "
            "(obs, reward, terminated, truncated, info)",
        ),
        (Float64Obs, "reset() observation dtype float64, expected float32 from observation_space"),
        (
            ObsOutOfBounds,
            "reset() observation is outside observation_space at [1]=5 not in [-1, 1]",
        ),
        (IntTerminated, "step() terminated is 0 (int), expected a bool"),
        (InfoNotDict, "step() info is None (NoneType), expected a dict"),
        (RewardNotNumber, "step() reward is '1' (str), expected a float"),
        (
            MissingActionSpace,
            "action_space is missing; set self.action_space to a gymnasium.spaces.Space in "
            "__init__",
        ),
        (
            WrongObservationSpace,
            "observation_space is (3,) (tuple), expected a gymnasium.spaces.Space",
        ),
        (
            ResetWithoutSeed,
            "reset(seed=0) raised TypeError: ResetWithoutSeed.reset() got an unexpected keyword "
            "argument 'seed'; define reset(self, *, seed=None, options=None) and call "
            "super().reset(seed=seed)",
        ),
    ],
)
def test_broken_env_fault_message(env_class: type[gym.Env[Any, Any]], message: str) -> None:
    with pytest.raises(EnvCheckError) as info:
        check_env(env_class())
    error = info.value
    assert error.faults == [message]
    lines = str(error).splitlines()
    assert lines[0] == f"environment {env_class.__qualname__} breaks Gymnasium's API (1 fault):"
    assert lines[1:] == [f"  - {message}"]


def test_every_fault_is_listed_once() -> None:
    # float64 observations at reset and at every step, a None info at every step: two faults
    with pytest.raises(EnvCheckError) as info:
        check_env(TwoFaults())
    assert info.value.faults == [
        "reset() observation dtype float64, expected float32 from observation_space",
        "step() info is None (NoneType), expected a dict",
    ]
    assert str(info.value).splitlines()[0].endswith("(2 faults):")


def test_check_env_error_is_an_env_error() -> None:
    with pytest.raises(EnvError):
        check_env(Float64Obs())
    assert issubclass(EnvCheckError, ValueError)


def test_gymnasium_checker_runs_after_ours_and_is_wrapped() -> None:
    assert find_faults(NoSuperReset()) == []
    with pytest.raises(EnvCheckError) as info:
        check_env(NoSuperReset())
    (fault,) = info.value.faults
    assert fault.startswith("Gymnasium's check_env: AssertionError: ")
    assert "super().reset(seed=seed)" in fault
    assert "\n" not in fault


def test_not_a_gymnasium_env() -> None:
    with pytest.raises(EnvCheckError) as info:
        check_env(NotAGymnasiumEnv())  # type: ignore[arg-type]
    assert info.value.faults[0].startswith("NotAGymnasiumEnv is not a gymnasium.Env")


def test_out_of_bounds_message_lists_several_values() -> None:
    class ManyOut(GoodEnv):
        def _obs(self) -> Any:
            return np.array([2.0, -3.0, 4.0], dtype=np.float32)

    (fault,) = find_faults(ManyOut())
    assert fault == (
        "reset() observation is outside observation_space at [0]=2 not in [-1, 1], "
        "[1]=-3 not in [-1, 1], [2]=4 not in [-1, 1]"
    )


def test_discrete_observation_out_of_range() -> None:
    class BadDiscrete(GoodEnv):
        def __init__(self) -> None:
            super().__init__()
            self.observation_space = spaces.Discrete(4)

        def _obs(self) -> Any:
            return 7

    (fault,) = find_faults(BadDiscrete())
    assert fault == (
        "reset() observation 7 is outside observation_space, "
        "expected an integer in [0, 3] for Discrete(4)"
    )


# ---------------------------------------------------------------------------------------------
# load_env_target


def test_load_registered_id() -> None:
    env = load_env_target("rlworks/GridWorld-v0")
    assert env.spec is not None
    assert env.spec.id == "rlworks/GridWorld-v0"
    assert isinstance(env.unwrapped, GridWorldEnv)


def test_load_unknown_id_suggests() -> None:
    with pytest.raises(EnvError, match="did you mean 'CartPole-v1'"):
        load_env_target("CartPol-v1")


def test_load_module_class() -> None:
    env = load_env_target(f"{__name__}:GoodEnv")
    assert type(env).__name__ == "GoodEnv"
    check_env(env)


def test_load_module_factory_function() -> None:
    assert type(load_env_target(f"{__name__}:make_good_env")).__name__ == "GoodEnv"


_FILE_ENV_SOURCE = textwrap.dedent(
    """
    import gymnasium as gym

    class FileEnv(gym.Env):
        def __init__(self):
            self.observation_space = gym.spaces.Discrete(3)
            self.action_space = gym.spaces.Discrete(2)

        def reset(self, *, seed=None, options=None):
            super().reset(seed=seed)
            return 0, {}

        def step(self, action):
            return 1, 0.0, True, False, {}
    """
)


def test_load_file_class(tmp_path: Path) -> None:
    source = tmp_path / "my_env.py"
    source.write_text(_FILE_ENV_SOURCE)
    env = load_env_target(f"{source}:FileEnv")
    assert type(env).__name__ == "FileEnv"
    check_env(env)


def test_load_module_from_working_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # `rlworks check-env cwd_env_module:FileEnv`, run in the directory holding cwd_env_module.py
    (tmp_path / "cwd_env_module.py").write_text(_FILE_ENV_SOURCE)
    monkeypatch.chdir(tmp_path)
    monkeypatch.delitem(sys.modules, "cwd_env_module", raising=False)
    try:
        assert type(load_env_target("cwd_env_module:FileEnv")).__name__ == "FileEnv"
    finally:
        sys.modules.pop("cwd_env_module", None)
    assert str(tmp_path) not in sys.path


@pytest.mark.parametrize(
    ("target", "message"),
    [
        (
            "no_such_module_abc:MyEnv",
            "module 'no_such_module_abc' not found (from 'no_such_module_abc:MyEnv'); "
            "expected a registered id, module:Class or path/to/file.py:Class",
        ),
        (
            "rlworks.envs.gridworld:GridWorld",
            "'rlworks.envs.gridworld' has no attribute 'GridWorld' "
            "(from 'rlworks.envs.gridworld:GridWorld'); did you mean 'GridWorldEnv'?",
        ),
        (
            "missing/dir/env.py:MyEnv",
            "environment file 'missing/dir/env.py' not found (from 'missing/dir/env.py:MyEnv'); "
            "expected a registered id, module:Class or path/to/file.py:Class",
        ),
    ],
)
def test_load_errors(target: str, message: str) -> None:
    with pytest.raises(EnvError) as info:
        load_env_target(target)
    assert str(info.value) == message


def test_load_class_that_is_not_an_env() -> None:
    with pytest.raises(EnvError, match=r"NotAGymnasiumEnv' is not a gymnasium.Env subclass"):
        load_env_target(f"{__name__}:NotAGymnasiumEnv")


def test_load_class_that_needs_arguments() -> None:
    with pytest.raises(
        EnvError, match=r"NeedsArguments'\(\) raised TypeError: .*without arguments"
    ):
        load_env_target(f"{__name__}:NeedsArguments")


def test_load_file_that_fails_to_import(tmp_path: Path) -> None:
    source = tmp_path / "broken.py"
    source.write_text("raise RuntimeError('boom')\n")
    with pytest.raises(EnvError, match=r"importing '.*broken.py' failed: RuntimeError: boom"):
        load_env_target(f"{source}:Anything")
