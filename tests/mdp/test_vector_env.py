"""Tests for rlworks.mdp.vector_env: TabularVectorEnv and make_env(..., vectorization="native")."""

from __future__ import annotations

import numpy as np
import pytest
from gymnasium.vector import AutoresetMode

import rlworks
from rlworks.envs.make import autoreset_mode_of
from rlworks.errors import EnvError
from rlworks.mdp import TabularMDP, book_mdp
from rlworks.mdp.vector_env import TabularVectorEnv
from rlworks.tabular import QLearning, TabularConfig
from rlworks.training.driver import Driver


@pytest.fixture(scope="module")
def frozen_lake() -> TabularMDP:
    return TabularMDP.from_env("FrozenLake-v1")


def test_spaces_metadata_and_valid_actions(frozen_lake: TabularMDP) -> None:
    env = TabularVectorEnv(frozen_lake, num_envs=3, max_episode_steps=100)
    assert env.single_observation_space.n == 16 and env.single_action_space.n == 4
    assert env.observation_space.shape == (3,) and env.action_space.shape == (3,)
    assert autoreset_mode_of(env) is AutoresetMode.NEXT_STEP
    masks = env.get_attr("valid_actions")
    assert len(masks) == 3
    np.testing.assert_array_equal(masks[0], frozen_lake.valid)
    obs, info = env.reset(seed=0)
    assert obs.dtype == np.int64 and obs.tolist() == [0, 0, 0] and info == {}


def test_next_state_frequencies_follow_t(frozen_lake: TabularMDP) -> None:
    # From the start state, action 1 (down) on slippery ice: 1/3 each to states 0, 4 and 1.
    # Step every copy once from a fresh reset, many times; each row is one draw from T[0, 1].
    env = TabularVectorEnv(frozen_lake, num_envs=1000)
    counts = np.zeros(16)
    for seed in range(50):
        env.reset(seed=seed)
        obs, *_ = env.step(np.ones(1000, dtype=np.int64))
        counts += np.bincount(obs, minlength=16)
    n = counts.sum()  # 50,000 draws
    p = frozen_lake.transitions[0, 1]
    standard_error = np.sqrt(p * (1 - p) / n)  # about 0.0021 for p = 1/3
    np.testing.assert_array_less(np.abs(counts / n - p), 5 * standard_error + 1e-12)


def test_terminated_and_next_step_autoreset(frozen_lake: TabularMDP) -> None:
    env = TabularVectorEnv(frozen_lake, num_envs=16, max_episode_steps=100)
    obs, _ = env.reset(seed=3)
    ended = np.zeros(16, dtype=bool)
    rng = np.random.default_rng(0)
    seen_termination = False
    for _ in range(300):
        prev_obs = obs
        obs, reward, terminated, truncated, _ = env.step(rng.integers(0, 4, 16))
        if ended.any():
            # The row after an episode end is a reset: start state, reward 0, no end flags.
            assert np.all(frozen_lake.initial[obs[ended]] > 0)
            assert np.all(reward[ended] == 0.0)
            assert not terminated[ended].any() and not truncated[ended].any()
        stepped = ~ended
        # Termination on entering a hole or the goal; reward 1 only on reaching the goal (15).
        s, s2 = prev_obs[stepped], obs[stepped]
        assert np.all(terminated[stepped] == frozen_lake.terminal[s2])
        np.testing.assert_array_equal(reward[stepped], (s2 == 15).astype(float))
        assert not np.any(frozen_lake.terminal[s])
        seen_termination |= bool(terminated.any())
        ended = terminated | truncated
    assert seen_termination


def test_time_limit_truncates_after_max_episode_steps() -> None:
    # A 2-state MDP that never terminates: every episode ends by truncation.
    mdp = TabularMDP.from_lists([[[0.5, 0.5]], [[0.5, 0.5]]], [[[1, 2]], [[3, 4]]])
    env = TabularVectorEnv(mdp, num_envs=4, max_episode_steps=100)
    env.reset(seed=0)
    actions = np.zeros(4, dtype=np.int64)
    for step in range(1, 101):
        _, _, terminated, truncated, _ = env.step(actions)
        assert not terminated.any()
        assert truncated.all() == (step == 100) and truncated.any() == (step == 100)
    obs, reward, terminated, truncated, _ = env.step(actions)  # the reset row
    assert obs.tolist() == [0, 0, 0, 0] and reward.tolist() == [0.0] * 4
    assert not terminated.any() and not truncated.any()
    for _ in range(99):
        _, _, _, truncated, _ = env.step(actions)
        assert not truncated.any()
    assert env.step(actions)[3].all()


def test_same_seed_same_trajectories(frozen_lake: TabularMDP) -> None:
    def rollout(seed: int) -> list[np.ndarray]:
        env = TabularVectorEnv(frozen_lake, num_envs=8, max_episode_steps=100)
        rows = [env.reset(seed=seed)[0]]
        rng = np.random.default_rng(1)
        for _ in range(200):
            obs, reward, terminated, truncated, _ = env.step(rng.integers(0, 4, 8))
            rows += [obs, reward, terminated, truncated]
        return rows

    first, again, other = rollout(7), rollout(7), rollout(8)
    for a, b in zip(first, again, strict=True):
        np.testing.assert_array_equal(a, b)
    assert any(not np.array_equal(a, b) for a, b in zip(first, other, strict=True))


def test_impossible_and_out_of_range_actions_raise() -> None:
    env = TabularVectorEnv(book_mdp(), num_envs=2)
    env.reset(seed=0)  # both copies in s0, where a0, a1, a2 are possible
    with pytest.raises(EnvError, match=r"env 1 in state s0 got action 3, out of range"):
        env.step(np.array([0, 3]))
    with pytest.raises(ValueError, match=r"env 0 .* action -1"):
        env.step(np.array([-1, 0]))
    # The book MDP started in s2, where only a1 is possible.
    book = book_mdp()
    in_s2 = TabularMDP(
        book.transitions, book.rewards, valid=book.valid, initial=[0.0, 0.0, 1.0], name="book"
    )
    env = TabularVectorEnv(in_s2, num_envs=3)
    env.reset(seed=0)
    with pytest.raises(EnvError, match=r"env 2 in state s2 got action 0, which is not possible"):
        env.step(np.array([1, 1, 0]))
    obs, *_ = env.step(np.array([1, 1, 1]))  # still fine after the error
    assert obs.shape == (3,)


def test_step_before_reset_and_bad_arguments() -> None:
    with pytest.raises(EnvError, match="num_envs"):
        TabularVectorEnv(book_mdp(), num_envs=0)
    with pytest.raises(EnvError, match="max_episode_steps"):
        TabularVectorEnv(book_mdp(), num_envs=1, max_episode_steps=0)
    env = TabularVectorEnv(book_mdp(), num_envs=2)
    with pytest.raises(EnvError, match="reset"):
        env.step(np.zeros(2, dtype=np.int64))
    env.reset(seed=0)
    with pytest.raises(EnvError, match="shape"):
        env.step(np.zeros(3, dtype=np.int64))


def test_book_mdp_runs_with_possible_actions() -> None:
    mdp = book_mdp()
    env = TabularVectorEnv(mdp, num_envs=4, max_episode_steps=20)
    obs, _ = env.reset(seed=0)
    rng = np.random.default_rng(0)
    total = 0.0
    for _ in range(200):
        # A random possible action in each copy's state.
        actions = np.array([rng.choice(np.flatnonzero(mdp.valid[s])) for s in obs])
        obs, reward, *_ = env.step(actions)
        total += float(reward.sum())
    assert total != 0.0


@pytest.mark.parametrize(
    ("env_id", "max_episode_steps", "n_states"),
    [("Taxi-v4", None, 500), ("CliffWalking-v1", 200, 48), ("FrozenLake8x8-v1", None, 64)],
)
def test_make_env_native_smoke(env_id: str, max_episode_steps: int | None, n_states: int) -> None:
    env = rlworks.make_env(
        env_id, 4, seed=0, vectorization="native", max_episode_steps=max_episode_steps
    )
    assert isinstance(env.unwrapped, TabularVectorEnv)
    assert env.env_id == env_id and env.single_observation_space.n == n_states
    assert env.unwrapped.max_episode_steps == (max_episode_steps or 200)
    obs, _ = env.reset()
    assert obs.shape == (4,) and env.observation_space.contains(obs)
    ends = 0
    for _ in range(500):
        obs, reward, terminated, truncated, _ = env.step(env.action_space.sample())
        assert env.observation_space.contains(obs) and np.isfinite(reward).all()
        ends += int((terminated | truncated).sum())
    assert ends > 0


def test_make_env_native_is_seeded() -> None:
    def first_steps() -> np.ndarray:
        env = rlworks.make_env("FrozenLake-v1", 8, seed=0, vectorization="native")
        env.reset()
        return np.stack([env.step(np.ones(8, dtype=np.int64))[0] for _ in range(20)])

    np.testing.assert_array_equal(first_steps(), first_steps())


def test_make_env_native_rejects_wrappers_and_rendering() -> None:
    with pytest.raises(EnvError, match=r"per-env wrappers or rendering.*sync"):
        rlworks.make_env("FrozenLake-v1", 2, vectorization="native", render_mode="ansi")
    with pytest.raises(EnvError, match=r"per-env wrappers or rendering.*sync"):
        rlworks.make_env("FrozenLake-v1", 2, vectorization="native", wrappers=[lambda e: e])
    # "auto" keeps Gymnasium's sync vector env for toy-text environments.
    assert not isinstance(rlworks.make_env("FrozenLake-v1", 2).unwrapped, TabularVectorEnv)


def test_driver_runs_on_native_frozen_lake() -> None:
    env = rlworks.make_env("FrozenLake-v1", 8, seed=0, vectorization="native")
    seen: list[int] = []
    driver = Driver(
        env,
        lambda obs: np.ones(len(obs), dtype=np.int64),
        [lambda t: seen.append(len(t.reward))],
    )
    result = driver.run(num_steps=2000)
    assert result.steps >= 2000 and result.episodes > 0
    assert sum(seen) == result.steps


def _learn(seed: int, steps: int) -> float:
    env = rlworks.make_env("FrozenLake-v1", 8, seed=seed, vectorization="native")
    config = TabularConfig(gamma=0.99, alpha0=0.1, decay=1e-4, epsilon_decay_steps=steps // 2)
    agent = QLearning(env, config, seed=seed)
    return agent.learn(steps, eval_episodes=1000, eval_every=0, progress=False).eval_mean


def test_q_learning_learns_frozen_lake_on_native_env_fast() -> None:
    # Greedy success rate of the optimal policy on slippery 4x4 is about 0.74; random is ~0.015.
    assert _learn(seed=0, steps=60_000) >= 0.5


@pytest.mark.slow
@pytest.mark.parametrize("seed", [0, 1])
def test_q_learning_learns_frozen_lake_on_native_env(seed: int) -> None:
    # Evaluation runs on Gymnasium's own FrozenLake, so this checks the native dynamics too.
    assert _learn(seed=seed, steps=200_000) >= 0.70
