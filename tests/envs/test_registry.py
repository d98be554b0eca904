"""Tests for rlworks.envs.registry: id lookup, suggestions, Atari and missing-extra messages."""

from __future__ import annotations

import importlib.util
import sys
import warnings

import gymnasium as gym
import pytest
from gymnasium.error import DependencyNotInstalled

from rlworks.envs import registry
from rlworks.envs.registry import (
    ATARI_GAMES,
    ENV_FAMILIES,
    GRIDWORLD_ID,
    env_family,
    is_atari_id,
    list_envs,
    missing_extra_hint,
    register_atari,
    register_rlworks_envs,
    resolve_env_id,
)
from rlworks.errors import EnvError

HAS_ALE = importlib.util.find_spec("ale_py") is not None
needs_ale = pytest.mark.skipif(not HAS_ALE, reason="needs the atari extra (ale-py)")


def test_atari_games_literal_is_sorted_and_unique() -> None:
    assert list(ATARI_GAMES) == sorted(set(ATARI_GAMES))
    assert {"Breakout", "Pong", "SpaceInvaders", "MsPacman"} <= set(ATARI_GAMES)


@pytest.mark.atari
@needs_ale
def test_atari_games_match_installed_ale_py() -> None:
    assert register_atari()
    registered = {
        env_id[len("ALE/") : -len("-v5")]
        for env_id in gym.registry
        if env_id.startswith("ALE/") and env_id.endswith("-v5")
    }
    assert registered == set(ATARI_GAMES)


@pytest.mark.parametrize(
    "env_id",
    [
        "ALE/Breakout-v5",
        "Breakout-v4",
        "BreakoutNoFrameskip-v4",
        "BreakoutDeterministic-v4",
        "Breakout-ram-v5",
        "Breakout-ramNoFrameskip-v4",
        "ALE/SpaceInvaders-v5",
        "ALE/Pong",
        "ALE/pong-v5",
    ],
)
def test_is_atari_id_true(env_id: str) -> None:
    assert is_atari_id(env_id)


@pytest.mark.parametrize(
    "env_id", ["CartPole-v1", "LunarLander-v3", "ALE/Brekout-v5", "rlworks/GridWorld-v0", ""]
)
def test_is_atari_id_false(env_id: str) -> None:
    assert not is_atari_id(env_id)


def test_register_rlworks_envs_is_idempotent() -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # Gymnasium warns when an id is registered twice
        register_rlworks_envs()
        register_rlworks_envs()
    spec = gym.spec(GRIDWORLD_ID)
    assert spec.entry_point == "rlworks.envs.gridworld:GridWorldEnv"
    assert spec.max_episode_steps == 100


def test_resolve_env_id_returns_spec() -> None:
    assert resolve_env_id("CartPole-v1").id == "CartPole-v1"
    assert resolve_env_id(GRIDWORLD_ID).max_episode_steps == 100


def test_resolve_env_id_module_prefix_imports_module() -> None:
    spec = resolve_env_id("rlworks.envs.gridworld:rlworks/GridWorld-v0")
    assert spec.id == GRIDWORLD_ID
    with pytest.raises(EnvError, match="cannot import module 'no_such_module_xyz'"):
        resolve_env_id("no_such_module_xyz:Foo-v0")


@pytest.mark.parametrize(
    ("env_id", "message"),
    [
        (
            "CartPol-v1",
            "unknown environment id 'CartPol-v1'; did you mean 'CartPole-v1'? (see `rlworks envs`)",
        ),
        (
            "cartpole-v1",
            "unknown environment id 'cartpole-v1'; did you mean 'CartPole-v1'? "
            "(see `rlworks envs`)",
        ),
        (
            "LunarLander-v2",
            "unknown environment id 'LunarLander-v2'; did you mean 'LunarLander-v3'? "
            "(see `rlworks envs`)",
        ),
        (
            "GridWorld-v0",
            "unknown environment id 'GridWorld-v0'; did you mean 'rlworks/GridWorld-v0'? "
            "(see `rlworks envs`)",
        ),
        ("Zzqxw-v9", "unknown environment id 'Zzqxw-v9' (see `rlworks envs`)"),
    ],
)
def test_unknown_id_message(env_id: str, message: str) -> None:
    with pytest.raises(EnvError) as info:
        resolve_env_id(env_id)
    assert str(info.value) == message


def test_non_string_id() -> None:
    with pytest.raises(EnvError, match=r"environment id 3 \(int\) is not a string; expected an id"):
        resolve_env_id(3)  # type: ignore[arg-type]


def test_atari_id_without_ale_py_names_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    # Simulate a machine without ale-py, even if this process already registered the ALE ids.
    monkeypatch.setitem(sys.modules, "ale_py", None)  # `import ale_py` now raises ImportError
    monkeypatch.setattr(registry, "_atari_registered", False)
    monkeypatch.delitem(gym.registry, "ALE/Breakout-v5", raising=False)
    assert register_atari() is False
    with pytest.raises(EnvError) as info:
        resolve_env_id("ALE/Breakout-v5")
    assert str(info.value) == (
        "'ALE/Breakout-v5' is an Atari environment and needs the atari extra: "
        'pip install "rlworks[atari]"'
    )


@pytest.mark.atari
@needs_ale
def test_atari_id_registers_ale_py_on_demand() -> None:
    spec = resolve_env_id("ALE/Breakout-v5")
    assert spec.entry_point == "ale_py.env:AtariEnv"
    assert env_family(spec) == "atari"


@pytest.mark.parametrize(
    ("exc", "message"),
    [
        (
            DependencyNotInstalled(
                "Box2D is not installed, you can install it by run `pip install swig` followed "
                'by `pip install "gymnasium[box2d]"`'
            ),
            "'LunarLander-v3' needs Box2D, which is not installed: pip install \"rlworks[box2d]\"",
        ),
        (
            DependencyNotInstalled(
                'MuJoCo is not installed, run `pip install "gymnasium[mujoco]"`'
            ),
            "'LunarLander-v3' needs MuJoCo, which is not installed: "
            'pip install "gymnasium[mujoco]"',
        ),
        (
            ModuleNotFoundError("No module named 'jax'", name="jax"),
            "'LunarLander-v3' is a JAX environment and needs JAX: pip install \"gymnasium[jax]\"",
        ),
    ],
)
def test_missing_extra_hint(exc: BaseException, message: str) -> None:
    assert missing_extra_hint("LunarLander-v3", exc) == message


def test_missing_extra_hint_ignores_other_errors() -> None:
    assert missing_extra_hint("CartPole-v1", ValueError("bad")) is None
    assert missing_extra_hint("CartPole-v1", DependencyNotInstalled("something else")) is None


@pytest.mark.skipif(importlib.util.find_spec("Box2D") is not None, reason="Box2D is installed")
def test_missing_extra_hint_for_real_box2d_error() -> None:
    with pytest.raises(DependencyNotInstalled) as info:
        gym.make("LunarLander-v3")
    hint = missing_extra_hint("LunarLander-v3", info.value)
    assert hint is not None
    assert 'pip install "rlworks[box2d]"' in hint


def test_list_envs_groups_by_family() -> None:
    groups = list_envs()
    assert list(groups) == [family for family in ENV_FAMILIES if family in groups]
    assert "CartPole-v1" in groups["classic-control"]
    assert "LunarLander-v3" in groups["box2d"]
    assert "FrozenLake-v1" in groups["toy-text"]
    assert "HalfCheetah-v5" in groups["mujoco"]
    assert groups["rlworks"] == ["rlworks/BookMDP-v0", GRIDWORLD_ID]
    all_ids = [env_id for ids in groups.values() for env_id in ids]
    assert "HalfCheetah-v2" not in all_ids  # placeholder that only raises
    for ids in groups.values():
        assert ids == sorted(ids, key=str.lower)


@pytest.mark.atari
@needs_ale
def test_list_envs_atari_only_ale_v5() -> None:
    atari = list_envs()["atari"]
    assert "ALE/Breakout-v5" in atari
    assert all(env_id.startswith("ALE/") and env_id.endswith("-v5") for env_id in atari)
    assert len(atari) == len(ATARI_GAMES)


def test_env_family() -> None:
    assert env_family(gym.spec("Pendulum-v1")) == "classic-control"
    assert env_family(gym.spec("Taxi-v4")) == "toy-text"
    assert env_family(gym.spec(GRIDWORLD_ID)) == "rlworks"
    assert env_family(gym.spec("Walker2d-v2")) is None
