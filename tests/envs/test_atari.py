"""Tests for rlworks.envs.atari: the chapter's Atari preprocessing on both backends.

Every test uses ``noop_max=0`` (deterministic starts) unless it tests the no-op starts, so that a
raw one-frame-per-step ALE environment can replay the same path frame by frame.
"""

from __future__ import annotations

import importlib.util
import sys
from typing import Any

import gymnasium as gym
import numpy as np
import pytest

from rlworks.envs import (
    AtariBackend,
    AtariOptions,
    ClipRewardSign,
    SeededAtariVectorEnv,
    make_atari_env,
    make_env,
    registry,
)
from rlworks.errors import EnvError

pytest.importorskip("ale_py")
pytestmark = pytest.mark.atari

HAS_CV2 = importlib.util.find_spec("cv2") is not None
needs_cv2 = pytest.mark.skipif(not HAS_CV2, reason="the gymnasium backend needs opencv")
BACKENDS = ["native", pytest.param("gymnasium", marks=needs_cv2)]
NOOP, FIRE = 0, 1


def raw_replay(env_id: str, actions: list[int], *, fire: bool = True) -> tuple[Any, Any]:
    """Replay ``actions`` on a raw one-frame-per-step ALE env, 4 frames per action.

    Returns the per-step reward sums [T] and the max of each step's last two grayscale screens
    [T, 210, 160] (what the preprocessing should produce before resizing).
    """
    env = gym.make(env_id, frameskip=1, repeat_action_probability=0.0, obs_type="grayscale")
    env.reset(seed=0)
    ale = env.unwrapped.ale  # type: ignore[attr-defined]
    if fire:
        env.step(FIRE)  # the fire reset: one frame
    rewards, pooled = [], []
    for action in actions:
        total, screens = 0.0, []
        for _ in range(4):
            _, reward, terminated, truncated, _ = env.step(action)
            total += float(reward)
            screens.append(ale.getScreenGrayscale())
            assert not (terminated or truncated)
        rewards.append(total)
        pooled.append(np.maximum(screens[-2], screens[-1]))  # [210, 160]
    env.close()
    return np.array(rewards), np.stack(pooled)


def play(env: gym.vector.VectorEnv, actions: list[int]) -> tuple[Any, Any, Any, Any]:
    """Step copy 0..n-1 of ``env`` with the same action; observations [T, n, ...], rewards [T, n],
    terminated [T, n], truncated [T, n]."""
    n = env.num_envs
    out: list[list[Any]] = [[], [], [], []]
    for action in actions:
        obs, reward, terminated, truncated, _ = env.step(np.full(n, action))
        for store, value in zip(out, (obs, reward, terminated, truncated), strict=True):
            store.append(value)
    return tuple(np.stack(values) for values in out)  # type: ignore[return-value]


# DemonAttack: alternating FIRE / NOOP scores 10 points within 50 steps.
DEMON = "ALE/DemonAttack-v5"
DEMON_PATH = [FIRE if t % 2 == 0 else NOOP for t in range(60)]


# --------------------------------------------------------------------------- layout
@pytest.mark.parametrize("backend", BACKENDS)
def test_observations_are_uint8_stacks_oldest_first(backend: AtariBackend) -> None:
    env = make_atari_env("ALE/Breakout-v5", n_envs=2, seed=0, backend=backend, noop_max=0)
    assert isinstance(env, SeededAtariVectorEnv) and env.backend == backend
    assert env.single_observation_space == gym.spaces.Box(0, 255, (4, 84, 84), np.uint8)
    assert env.single_action_space == gym.spaces.Discrete(4)
    assert env.num_envs == 2 and env.has_time_limit
    obs, info = env.reset()
    assert obs.shape == (2, 4, 84, 84) and obs.dtype == np.uint8
    assert not obs[:, :3].any()  # at reset the three older frames are zeros
    assert obs[:, 3].any()
    assert list(info["lives"]) == [5, 5]
    frames = [obs[0, 3]]
    for _ in range(3):
        obs, reward, *_ = env.step(np.array([NOOP, NOOP]))
        frames.append(obs[0, 3])
        assert reward.dtype == np.float64
    np.testing.assert_array_equal(obs[0], np.stack(frames))  # the newest frame is last
    env.close()


def test_legacy_ids_get_the_same_preprocessing() -> None:
    legacy = make_atari_env("BreakoutNoFrameskip-v4", seed=0, noop_max=0)
    current = make_atari_env("ALE/Breakout-v5", seed=0, noop_max=0)
    np.testing.assert_array_equal(legacy.reset()[0], current.reset()[0])
    legacy.close()
    current.close()


def test_same_seed_same_episode_and_list_seeds() -> None:
    first = make_atari_env("ALE/Breakout-v5", n_envs=2, seed=3)
    second = make_atari_env("ALE/Breakout-v5", n_envs=2, seed=3)
    np.testing.assert_array_equal(first.reset()[0], second.reset(seed=[3, 4])[0])
    first.close()
    second.close()


# --------------------------------------------------------------------------- frame skip, pooling
def test_frame_skip_sums_the_rewards_of_four_frames() -> None:
    expected, _ = raw_replay(DEMON, DEMON_PATH)
    env = make_atari_env(DEMON, seed=0, noop_max=0, clip_rewards=False)
    env.reset()
    _, rewards, _, _ = play(env, DEMON_PATH)
    assert expected.max() > 1  # DemonAttack scores 10 per hit
    np.testing.assert_array_equal(rewards[:, 0], expected)
    env.close()


@pytest.mark.parametrize("backend", BACKENDS)
def test_frames_are_the_max_of_the_last_two_screens(backend: AtariBackend) -> None:
    _, expected = raw_replay(DEMON, DEMON_PATH[:30])
    env = make_atari_env(DEMON, seed=0, backend=backend, noop_max=0, screen_size=(210, 160))
    env.reset()
    obs, _, _, _ = play(env, DEMON_PATH[:30])
    assert obs.shape == (30, 1, 4, 210, 160)
    np.testing.assert_array_equal(obs[:, 0, -1], expected)
    env.close()


# --------------------------------------------------------------------------- resets
@pytest.mark.parametrize("backend", BACKENDS)
def test_noop_starts_vary_with_the_seed_unless_off(backend: AtariBackend) -> None:
    varied = make_atari_env("ALE/Breakout-v5", n_envs=4, seed=0, backend=backend)
    obs, _ = varied.reset()
    assert len({o.tobytes() for o in obs[:, 3]}) > 1  # different no-op counts, different states
    fixed = make_atari_env("ALE/Breakout-v5", n_envs=4, seed=0, backend=backend, noop_max=0)
    obs, _ = fixed.reset()
    assert len({o.tobytes() for o in obs[:, 3]}) == 1
    varied.close()
    fixed.close()


@pytest.mark.parametrize("backend", BACKENDS)
def test_fire_reset_launches_the_ball(backend: AtariBackend) -> None:
    # Breakout waits for FIRE: with it, a NOOP-only agent soon misses the ball and loses a
    # life; without it, the ball never comes and the 5 lives stay.
    def lives_after_noops(fire_reset: bool) -> int:
        env = make_atari_env(
            "ALE/Breakout-v5", seed=0, backend=backend, noop_max=0, fire_reset=fire_reset
        )
        env.reset()
        for _ in range(60):
            *_, info = env.step(np.array([NOOP]))
        env.close()
        return int(info["lives"][0])

    assert lives_after_noops(True) < 5
    assert lives_after_noops(False) == 5


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("terminal_on_life_loss", [False, True])
def test_life_loss_ends_the_episode_only_when_asked(
    backend: AtariBackend, terminal_on_life_loss: bool
) -> None:
    env = make_atari_env(
        "ALE/Breakout-v5",
        seed=0,
        backend=backend,
        noop_max=0,
        terminal_on_life_loss=terminal_on_life_loss,
    )
    env.reset()
    for _ in range(60):
        _, _, terminated, _, info = env.step(np.array([NOOP]))
        if info["lives"][0] < 5:
            break
    assert info["lives"][0] == 4
    assert terminated[0] == terminal_on_life_loss
    if terminal_on_life_loss:  # next-step autoreset restarts the whole game
        *_, info = env.step(np.array([NOOP]))
        assert info["lives"][0] == 5
    env.close()


@needs_cv2
def test_fire_on_life_loss_plays_every_life_without_the_agent_serving() -> None:
    # A NOOP-only agent: with FIRE pressed after each lost life the game goes on and ends
    # after the 5th life (a few hundred steps); without it, it stalls after the first and only
    # the time limit ends the episode.
    def play_noops(fire_on_life_loss: bool) -> tuple[int, bool, bool]:
        env = make_atari_env(
            "ALE/Breakout-v5",
            seed=0,
            noop_max=0,
            fire_on_life_loss=fire_on_life_loss,
            max_episode_steps=1_000,
        )
        assert env.backend == ("gymnasium" if fire_on_life_loss else "native")
        env.reset()
        steps = 0
        while True:
            _, _, terminated, truncated, _ = env.step(np.array([NOOP]))
            steps += 1
            if terminated[0] or truncated[0]:
                env.close()
                return steps, bool(terminated[0]), bool(truncated[0])

    steps, terminated, _ = play_noops(True)
    assert terminated and steps < 1_000  # game over: all 5 lives lost
    assert play_noops(False) == (1_000, False, True)


def test_evaluation_options_play_whole_games_for_the_score() -> None:
    from rlworks.envs.atari import resolve_atari_options

    training = AtariOptions(terminal_on_life_loss=True, noop_max=10)
    evaluation = resolve_atari_options("ALE/Breakout-v5", training, evaluation=True)
    assert evaluation == AtariOptions(
        clip_rewards=False, terminal_on_life_loss=False, fire_on_life_loss=True, noop_max=10
    )


def test_autoreset_disabled_falls_back_to_gymnasium_or_is_refused() -> None:
    from gymnasium.vector import AutoresetMode

    with pytest.raises(EnvError, match="autoreset_mode=DISABLED"):
        make_atari_env("ALE/Breakout-v5", backend="native", autoreset_mode=AutoresetMode.DISABLED)
    if HAS_CV2:
        env = make_atari_env("ALE/Breakout-v5", autoreset_mode=AutoresetMode.DISABLED)
        assert env.backend == "gymnasium"
        env.close()


@pytest.mark.parametrize("backend", BACKENDS)
def test_episodes_are_truncated_after_max_episode_steps(backend: AtariBackend) -> None:
    env = make_atari_env("ALE/Breakout-v5", seed=0, backend=backend, max_episode_steps=5)
    env.reset()
    _, _, terminated, truncated = play(env, [NOOP] * 5)
    assert truncated[:, 0].tolist() == [False] * 4 + [True]
    assert not terminated.any()
    env.close()


# --------------------------------------------------------------------------- rewards
@pytest.mark.parametrize("backend", BACKENDS)
def test_rewards_are_clipped_for_training_only(backend: AtariBackend) -> None:
    def rewards(clip_rewards: bool) -> Any:
        env = make_atari_env(DEMON, seed=0, backend=backend, noop_max=0, clip_rewards=clip_rewards)
        env.reset()
        _, reward, _, _ = play(env, DEMON_PATH)
        env.close()
        return reward[:, 0]

    raw, clipped = rewards(False), rewards(True)
    assert set(raw.tolist()) == {0.0, 10.0}  # evaluation envs report the game score
    np.testing.assert_array_equal(clipped, np.sign(raw))


def test_clip_reward_sign_wrapper() -> None:
    wrapper = ClipRewardSign(gym.make("CartPole-v1"))
    assert [wrapper.reward(r) for r in (-7, -0.5, 0, 0.25, 4)] == [-1.0, -1.0, 0.0, 1.0, 1.0]


# --------------------------------------------------------------------------- native vs gymnasium
@needs_cv2
def test_backends_match_pixel_for_pixel_without_noops_or_sticky_actions() -> None:
    # Found by experiment (see the module docstring): with deterministic starts both backends
    # give the same observations, rewards and episode ends, through automatic resets.
    kwargs: dict[str, Any] = dict(
        n_envs=2, seed=0, noop_max=0, clip_rewards=False, terminal_on_life_loss=True
    )
    native = make_atari_env("ALE/Breakout-v5", backend="native", **kwargs)
    fallback = make_atari_env("ALE/Breakout-v5", backend="gymnasium", **kwargs)
    np.testing.assert_array_equal(native.reset()[0], fallback.reset()[0])
    rng = np.random.default_rng(0)
    ends = 0
    for _ in range(250):
        actions = rng.integers(0, 4, size=2)
        a, b = native.step(actions), fallback.step(actions)
        for x, y in zip(a[:4], b[:4], strict=True):
            np.testing.assert_array_equal(x, y)
        ends += int(a[2].sum())
    assert ends >= 2  # the comparison went through terminations and autoresets
    native.close()
    fallback.close()


# --------------------------------------------------------------------------- make_env hook
def test_make_env_routes_atari_ids_when_asked() -> None:
    env = make_env("ALE/Breakout-v5", n_envs=2, seed=0, atari=True)
    assert isinstance(env, SeededAtariVectorEnv)
    assert env.backend == "native" and env.options == AtariOptions()
    assert env.reset()[0].shape == (2, 4, 84, 84)
    env.close()
    evaluation = make_env(
        "ALE/Breakout-v5", seed=0, atari={"clip_rewards": False}, max_episode_steps=100
    )
    assert isinstance(evaluation, SeededAtariVectorEnv)
    assert evaluation.options == AtariOptions(clip_rewards=False, max_episode_steps=100)
    evaluation.close()
    raw = make_env("ALE/Breakout-v5", seed=0)  # without atari=: the raw ALE environment
    assert raw.single_observation_space.shape == (210, 160, 3)
    raw.close()


@needs_cv2
def test_make_env_sync_vectorization_picks_the_gymnasium_backend() -> None:
    env = make_env("ALE/Breakout-v5", n_envs=2, seed=0, atari=True, vectorization="sync")
    assert isinstance(env, SeededAtariVectorEnv) and env.backend == "gymnasium"
    assert env.reset()[0].shape == (2, 4, 84, 84)
    env.close()


# --------------------------------------------------------------------------- bad input
def test_unknown_game_suggests_close_matches() -> None:
    with pytest.raises(EnvError, match=r"did you mean 'ALE/Breakout-v5'\?"):
        make_atari_env("ALE/Breakot-v5")


@pytest.mark.parametrize(
    ("env_id", "message"),
    [
        ("CartPole-v1", "'CartPole-v1' is not an Atari game"),
        ("ALE/Breakout-ram-v5", r"unknown .*did you mean 'ALE/Breakout-v5'\?"),
    ],
)
def test_ids_that_are_not_atari_screens_are_refused(env_id: str, message: str) -> None:
    with pytest.raises(EnvError, match=message):
        make_atari_env(env_id)


def test_missing_atari_extra_names_the_install(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "ale_py", None)  # `import ale_py` now raises ImportError
    monkeypatch.setattr(registry, "_atari_registered", False)
    monkeypatch.delitem(gym.registry, "ALE/Breakout-v5", raising=False)
    with pytest.raises(EnvError, match=r'pip install "rlworks\[atari\]"'):
        make_atari_env("ALE/Breakout-v5")


def test_missing_opencv_names_the_install(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "cv2", None)  # find_spec("cv2") is now None
    with pytest.raises(EnvError, match="pip install opencv-python-headless"):
        make_atari_env("ALE/Breakout-v5", backend="gymnasium")


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"backend": "native", "render_mode": "rgb_array"}, "takes no render_mode"),
        ({"backend": "fast"}, "backend must be one of auto, native, gymnasium"),
        ({"noop_max": -1}, "noop_max must be an integer >= 0"),
        ({"frame_skip": 0}, "frame_skip must be an integer >= 1"),
        ({"screen_size": (84,)}, "screen_size must be"),
        ({"repeat_action_probability": 1.5}, r"repeat_action_probability must be in \[0, 1\]"),
        ({"max_episode_steps": 0}, "max_episode_steps must be None or an integer >= 1"),
        ({"n_envs": 0}, "n_envs must be an integer >= 1"),
    ],
)
def test_bad_options_are_named(kwargs: dict[str, Any], message: str) -> None:
    with pytest.raises(EnvError, match=message):
        make_atari_env("ALE/Breakout-v5", **kwargs)


def test_make_env_atari_errors() -> None:
    with pytest.raises(EnvError, match="unknown Atari option 'clip'; expected one of clip_rewards"):
        make_env("ALE/Breakout-v5", atari={"clip": True})
    with pytest.raises(EnvError, match="not an environment factory"):
        make_env(lambda: gym.make("CartPole-v1"), atari=True)
    with pytest.raises(EnvError, match="native Atari backend is not available"):
        make_env("ALE/Breakout-v5", atari=True, vectorization="native", env_kwargs={"mode": 0})


@needs_cv2
def test_env_kwargs_may_not_override_the_preprocessing() -> None:
    with pytest.raises(EnvError, match="env_kwargs 'frameskip' is set by the Atari preprocessing"):
        make_atari_env("ALE/Breakout-v5", env_kwargs={"frameskip": 4})
