"""Tests for rlworks.training.driver: observers see exactly the real transitions, whatever the
vector env's autoreset mode."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Sequence
from typing import Any

import gymnasium as gym
import numpy as np
import pytest
from gymnasium import spaces
from gymnasium.envs.classic_control.cartpole import CartPoleVectorEnv
from gymnasium.vector import AutoresetMode

from rlworks.envs import make_env
from rlworks.envs.make import autoreset_mode_of
from rlworks.errors import NonFiniteError
from rlworks.training import AverageEpisodeLength, AverageReturn, Driver
from rlworks.types import Transition

MODES = [AutoresetMode.NEXT_STEP, AutoresetMode.SAME_STEP, AutoresetMode.DISABLED]

# ---------------------------------------------------------------------------------------------
# A known-answer environment


class CountingEnv(gym.Env[np.ndarray, np.int64]):
    """Episodes of exactly ``length`` steps.

    The observation is ``[t, tag]`` (float32): ``t`` steps taken so far in the episode, ``tag``
    identifies the sub-environment. The ``t``-th step gives reward ``t``; the ``length``-th step
    ends the episode, by termination or (``truncate=True``) by truncation.
    """

    def __init__(self, length: int, tag: int, truncate: bool = False, nan_at: int = 0) -> None:
        self.observation_space = spaces.Box(-np.inf, np.inf, (2,), np.float32)
        self.action_space = spaces.Discrete(2)
        self.length, self.tag, self.truncate, self.nan_at = length, tag, truncate, nan_at
        self.t = 0

    def _obs(self) -> np.ndarray:
        return np.array([self.t, self.tag], dtype=np.float32)

    def reset(
        self, *, seed: int | None = None, options: dict[str, Any] | None = None
    ) -> tuple[np.ndarray, dict[str, Any]]:
        super().reset(seed=seed)
        self.t = 0
        return self._obs(), {}

    def step(self, action: np.int64) -> tuple[np.ndarray, float, bool, bool, dict[str, Any]]:
        assert self.t < self.length, "stepped past the end of an episode"
        self.t += 1
        end = self.t == self.length
        reward = float("nan") if self.t == self.nan_at else float(self.t)
        return self._obs(), reward, end and not self.truncate, end and self.truncate, {}


def counting_factory(specs: Sequence[tuple[int, bool]]) -> Callable[[], gym.Env[Any, Any]]:
    """A zero-argument factory making ``CountingEnv(length, i, truncate)`` for spec ``i`` in turn
    (the vector env calls it once per sub-environment, in order)."""
    made = iter(range(len(specs)))

    def factory() -> gym.Env[Any, Any]:
        i = next(made)
        length, truncate = specs[i]
        return CountingEnv(length, tag=i, truncate=truncate)

    return factory


def parity_policy(obs: np.ndarray) -> np.ndarray:
    """Action = t mod 2, so that each row's action can be checked against its observation."""
    return (obs[:, 0].astype(np.int64) % 2).astype(np.int64)


def expected_rows(length: int, truncate: bool, episodes: int) -> list[tuple[Any, ...]]:
    """The real transitions of ``episodes`` whole episodes of ``CountingEnv(length)``: for
    t = 1..length, obs t-1 → next_obs t with reward t; the last one ends the episode."""
    rows = []
    for _ in range(episodes):
        for t in range(1, length + 1):
            end = t == length
            rows.append((t - 1, (t - 1) % 2, float(t), t, end and not truncate, end and truncate))
    return rows


class Recorder:
    """Observer keeping every row, split by sub-environment, and every batch."""

    def __init__(self) -> None:
        self.batches: list[Transition] = []
        self.rows: dict[int, list[tuple[Any, ...]]] = defaultdict(list)

    def __call__(self, transition: Transition, /) -> None:
        self.batches.append(transition)
        assert np.all(np.diff(transition.env_ids) > 0), "env_ids must be ascending"
        for i, env_id in enumerate(transition.env_ids):
            # The tag in the observations says which sub-environment the row really came from.
            assert transition.obs[i, 1] == env_id
            assert transition.next_obs[i, 1] == env_id
            self.rows[int(env_id)].append(
                (
                    int(transition.obs[i, 0]),
                    int(transition.action[i]),
                    float(transition.reward[i]),
                    int(transition.next_obs[i, 0]),
                    bool(transition.terminated[i]),
                    bool(transition.truncated[i]),
                )
            )

    @property
    def steps(self) -> int:
        return sum(b.batch_size for b in self.batches)


def make_counting(specs: Sequence[tuple[int, bool]], mode: AutoresetMode) -> gym.vector.VectorEnv:
    return make_env(
        counting_factory(specs), len(specs), seed=0, vectorization="sync", autoreset_mode=mode
    )


# ---------------------------------------------------------------------------------------------
# Real transitions in every autoreset mode

# Sub-environment 0 terminates after 2 steps, 1 truncates after 3, 2 terminates after 5.
SPECS = [(2, False), (3, True), (5, False)]


@pytest.mark.parametrize("mode", MODES, ids=lambda m: m.value)
def test_observers_see_exactly_the_real_transitions(mode: AutoresetMode) -> None:
    env = make_counting(SPECS, mode)
    assert autoreset_mode_of(env) is mode
    recorder = Recorder()
    driver = Driver(env, parity_policy, [recorder])

    result = driver.run(num_steps=30)

    # 3 sub-environments, 3 rows per step at most: stop at the first count >= 30, < 30 + 3.
    assert 30 <= result.steps < 33
    assert result.steps == recorder.steps == driver.total_steps
    for env_id, (length, truncate) in enumerate(SPECS):
        rows = recorder.rows[env_id]
        whole = len(rows) // length
        # Every row is a real step: no reset rows, next_obs of the last step is the final obs
        # (t = length), terminated and truncated as the env returned them.
        assert rows == expected_rows(length, truncate, whole + 1)[: len(rows)]
    # Episodes ended = rows with terminated or truncated.
    ends = sum(int(b.done.sum()) for b in recorder.batches)
    assert result.episodes == ends == driver.total_episodes
    terminated = sum(int(b.terminated.sum()) for b in recorder.batches)
    truncated = sum(int(b.truncated.sum()) for b in recorder.batches)
    assert terminated == sum(1 for row in recorder.rows[0] + recorder.rows[2] if row[4])
    assert truncated == sum(1 for row in recorder.rows[1] if row[5])
    assert truncated > 0
    assert terminated > 0


@pytest.mark.parametrize("mode", MODES, ids=lambda m: m.value)
def test_terminated_and_truncated_on_the_same_step_are_both_kept(mode: AutoresetMode) -> None:
    # The env terminates at its 3rd step, and a TimeLimit of 3 truncates on that same step.
    def factory() -> gym.Env[Any, Any]:
        return gym.wrappers.TimeLimit(CountingEnv(3, tag=0), max_episode_steps=3)

    env = make_env(factory, 1, seed=0, vectorization="sync", autoreset_mode=mode)
    recorder = Recorder()
    Driver(env, parity_policy, [recorder]).run(num_steps=6)

    assert (
        recorder.rows[0]
        == [
            (0, 0, 1.0, 1, False, False),
            (1, 1, 2.0, 2, False, False),
            (2, 0, 3.0, 3, True, True),
        ]
        * 2
    )


@pytest.mark.parametrize("mode", MODES, ids=lambda m: m.value)
def test_run_continues_across_calls(mode: AutoresetMode) -> None:
    env = make_counting(SPECS, mode)
    recorder = Recorder()
    driver = Driver(env, parity_policy, [recorder])

    first = driver.run(num_steps=4)  # 2 vector steps: 6 rows
    second = driver.run(num_steps=5)
    third = driver.run(num_steps=1)

    # Each call broadcasts whole vector steps of real rows; the counts add up.
    assert first.steps == 6
    assert first.steps + second.steps + third.steps == driver.total_steps == recorder.steps
    # The episodes in progress carry on from one call to the next: each sub-environment's rows
    # over the three calls are one uninterrupted sequence of episodes.
    for env_id, (length, truncate) in enumerate(SPECS):
        rows = recorder.rows[env_id]
        assert rows == expected_rows(length, truncate, len(rows) // length + 1)[: len(rows)]


@pytest.mark.parametrize("mode", MODES, ids=lambda m: m.value)
def test_num_episodes_with_reset_collects_whole_episodes_within_quotas(
    mode: AutoresetMode,
) -> None:
    env = make_counting(SPECS, mode)
    driver = Driver(env, parity_policy)
    driver.run(num_steps=7)  # leave episodes in progress, to be abandoned by the reset
    recorder = Recorder()
    driver.observers.append(recorder)

    result = driver.run(num_episodes=7, reset=True)

    # 7 episodes over 3 sub-environments: quotas 3, 2, 2 (the remainder goes to the first).
    assert result.episodes == 7
    quotas = [3, 2, 2]
    for env_id, (length, truncate) in enumerate(SPECS):
        # Whole episodes from a fresh reset (obs t = 0 first), exactly the quota, nothing past it
        # — although sub-environment 0 (2 steps) could have played 7 in the time of the others.
        assert recorder.rows[env_id] == expected_rows(length, truncate, quotas[env_id])
    # Steps: 3*2 + 2*3 + 2*5 = 22.
    assert result.steps == recorder.steps == 22


def test_num_episodes_with_more_envs_than_episodes() -> None:
    # 2 episodes on 3 sub-environments: quotas 1, 1, 0; sub-environment 2 broadcasts nothing.
    env = make_counting(SPECS, AutoresetMode.NEXT_STEP)
    recorder = Recorder()
    result = Driver(env, parity_policy, [recorder]).run(num_episodes=2, reset=True)

    assert result.episodes == 2
    assert recorder.rows[0] == expected_rows(2, False, 1)
    assert recorder.rows[1] == expected_rows(3, True, 1)
    assert 2 not in recorder.rows
    # Steps: 2 + 3 = 5.
    assert result.steps == 5


def test_num_episodes_without_reset_stops_once_enough_episodes_ended() -> None:
    env = make_counting([(2, False), (2, False)], AutoresetMode.NEXT_STEP)
    recorder = Recorder()
    result = Driver(env, parity_policy, [recorder]).run(num_episodes=1)

    # Both sub-environments end their first episode on the same step: 2 episodes, 4 steps.
    assert result.episodes == 2
    assert result.steps == 4


def test_reset_abandons_the_episodes_in_progress_in_the_metrics() -> None:
    # One sub-environment of 3-step episodes; 2 steps, then a reset and one whole episode: the
    # abandoned 2 steps must not count towards the next episode (length 3, return 1+2+3 = 6).
    env = make_counting([(3, False)], AutoresetMode.NEXT_STEP)
    lengths, returns = AverageEpisodeLength(), AverageReturn()
    driver = Driver(env, parity_policy, [lengths, returns])
    driver.run(num_steps=2)
    driver.run(num_episodes=1, reset=True)

    assert list(lengths.lengths) == [3]
    assert list(returns.returns) == [6.0]


# ---------------------------------------------------------------------------------------------
# Errors


def _nan_factory(nan_obs: bool = False) -> Callable[[], gym.Env[Any, Any]]:
    """Three 10-step sub-environments; the reward (or the observation) of sub-environment 1 is
    NaN on its 3rd step."""
    made = iter(range(3))

    def factory() -> gym.Env[Any, Any]:
        i = next(made)
        env = CountingEnv(10, tag=i, nan_at=3 if i == 1 and not nan_obs else 0)
        if i == 1 and nan_obs:
            return gym.wrappers.TransformObservation(
                env,
                lambda o: np.where(o[0] == 3, np.float32(np.nan), o).astype(np.float32),
                env.observation_space,
            )
        return env

    return factory


@pytest.mark.parametrize("mode", MODES, ids=lambda m: m.value)
def test_nan_reward_raises_naming_the_sub_environment(mode: AutoresetMode) -> None:
    env = make_env(_nan_factory(), 3, seed=0, vectorization="sync", autoreset_mode=mode)
    recorder = Recorder()
    driver = Driver(env, parity_policy, [recorder])

    with pytest.raises(NonFiniteError, match=r"reward nan at env step 6 in sub-environment 1"):
        driver.run(num_steps=100)
    # Two vector steps (6 rows) were broadcast; the bad one never reached an observer.
    assert recorder.steps == 6


def test_nan_observation_raises_naming_the_sub_environment() -> None:
    env = make_env(_nan_factory(nan_obs=True), 3, seed=0, vectorization="sync")
    driver = Driver(env, parity_policy)
    with pytest.raises(NonFiniteError, match=r"observation at env step 6 in sub-environment 1"):
        driver.run(num_steps=100)


def test_check_finite_false_lets_nan_through() -> None:
    env = make_env(_nan_factory(), 3, seed=0, vectorization="sync")
    recorder = Recorder()
    Driver(env, parity_policy, [recorder], check_finite=False).run(num_steps=9)
    assert np.isnan(recorder.rows[1][2][2])


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({}, "exactly one of"),
        ({"num_steps": 5, "num_episodes": 5}, "exactly one of"),
        ({"num_steps": 0}, "num_steps=0"),
        ({"num_steps": -3}, "num_steps=-3"),
        ({"num_episodes": 0}, "num_episodes=0"),
    ],
)
def test_bad_budgets_raise_value_error(kwargs: dict[str, int], message: str) -> None:
    env = make_counting(SPECS, AutoresetMode.NEXT_STEP)
    with pytest.raises(ValueError, match=message):
        Driver(env, parity_policy).run(**kwargs)


# ---------------------------------------------------------------------------------------------
# The native CartPole vector env (next-step autoreset)


def test_native_cartpole_returns_equal_lengths() -> None:
    env = make_env("CartPole-v1", 4, seed=0)
    assert isinstance(env.env, CartPoleVectorEnv)
    assert autoreset_mode_of(env) is AutoresetMode.NEXT_STEP
    rng = np.random.default_rng(0)
    returns, lengths = AverageReturn(buffer_size=1000), AverageEpisodeLength(buffer_size=1000)
    ends: list[np.ndarray] = []

    def final_obs(transition: Transition) -> None:
        ends.append(transition.next_obs[transition.terminated])

    driver = Driver(env, lambda obs: rng.integers(0, 2, len(obs)), [returns, lengths, final_obs])
    result = driver.run(num_steps=2000)

    # CartPole pays 1 per step, so every episode's return is its length: a reset row counted as
    # a step (reward 0) would make a length exceed its return.
    assert len(returns.returns) == result.episodes > 20
    assert list(returns.returns) == [float(n) for n in lengths.lengths]
    # The final observation of a terminated episode is out of bounds (|x| > 2.4 or
    # |angle| > 0.2095 rad), never a fresh reset observation (all within ±0.05).
    final = np.concatenate(ends)
    assert len(final) > 0
    assert np.all((np.abs(final[:, 0]) > 2.4) | (np.abs(final[:, 2]) > 0.2095))
