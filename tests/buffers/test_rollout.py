"""RolloutBuffer: rows follow driver broadcasts, reset-only slots stay invalid, truncated
episodes bootstrap from their true final observation, and GAE over it has exact values."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest

import rlworks as rw
from rlworks.buffers import RolloutBuffer
from rlworks.training import Driver
from rlworks.types import Transition


def _transition(
    env_ids: list[int],
    obs: list[float],
    next_obs: list[float],
    rewards: list[float],
    terminated: list[bool],
    truncated: list[bool],
) -> Transition:
    def col(x: list[float]) -> np.ndarray:
        return np.array(x, dtype=np.float32).reshape(-1, 1)

    n = len(env_ids)
    return Transition(
        col(obs), np.zeros(n, np.int64), np.array(rewards), col(next_obs),
        np.array(terminated), np.array(truncated), np.array(env_ids),
    )  # fmt: skip


def _stage(buffer: RolloutBuffer, values: list[float]) -> None:
    n = len(values)
    buffer.stage(np.arange(n), np.full(n, -0.5, np.float32), np.array(values, np.float32))


def _filled() -> RolloutBuffer:
    # Two envs, three rows (next-step autoreset: env 1's reset step is not broadcast):
    #   row 0: env 0 obs 1 → 2, r 1            env 1 obs 10 → 11, r 1, terminated
    #   row 1: env 0 obs 2 → 3, r 1, truncated (env 1 only resets: no row)
    #   row 2: env 0 obs 5 → 6, r 1            env 1 obs 20 → 21, r 1
    buffer = RolloutBuffer(3, 2, (1,), np.float32, (), np.int64)
    _stage(buffer, [1.0, 10.0])
    buffer(_transition([0, 1], [1, 10], [2, 11], [1, 1], [False, True], [False, False]))
    _stage(buffer, [2.0, 99.0])
    buffer(_transition([0], [2], [3], [1], [False], [True]))
    _stage(buffer, [5.0, 20.0])
    buffer(_transition([0, 1], [5, 20], [6, 21], [1, 1], [False, False], [False, False]))
    return buffer


def test_rows_follow_broadcasts_and_reset_slots_are_invalid() -> None:
    buffer = _filled()
    assert buffer.full
    assert buffer.valid.tolist() == [[True, True], [True, False], [True, True]]
    assert buffer.obs[:, :, 0].tolist() == [[1, 10], [2, 0], [5, 20]]
    assert buffer.actions.tolist() == [[0, 1], [0, 0], [0, 1]]  # staged actions, by env id
    (t, e), obs = buffer.bootstrap_rows()
    # the truncated row (1, 0) with its final obs 3; the open last rows with obs 6 and 21
    assert list(zip(t.tolist(), e.tolist(), strict=True)) == [(1, 0), (2, 0), (2, 1)]
    assert obs[:, 0].tolist() == [3, 6, 21]
    with pytest.raises(ValueError, match="full"):
        buffer(_transition([0], [0], [0], [0], [False], [False]))


def test_advantages_bootstrap_truncation_and_stop_at_termination() -> None:
    buffer = _filled()
    # V(s) = s for the bootstrap observations; γ = 0.5, λ = 1 (n-step returns).
    batch = buffer.compute_advantages(lambda obs: obs[:, 0].astype(np.float64), 0.5, 1.0)
    # env 0: row 2: G = 1 + 0.5 * V(6) = 4;  row 1 truncated: G = 1 + 0.5 * V(3) = 2.5;
    #        row 0: G = 1 + 0.5 * 2.5 = 2.25
    # env 1: row 2: G = 1 + 0.5 * V(21) = 11.5;  row 0 terminated: G = 1
    # valid rows in time-major order: (0,0) (0,1) (1,0) (2,0) (2,1)
    np.testing.assert_allclose(batch.returns, [2.25, 1.0, 2.5, 4.0, 11.5])
    # advantages = returns - stored values (1, 10, 2, 5, 20)
    np.testing.assert_allclose(batch.advantages, [1.25, -9.0, 0.5, -1.0, -8.5])
    np.testing.assert_allclose(batch.log_probs, -0.5)
    assert batch.obs.shape == (5, 1)


def test_unstaged_steps_are_refused_and_clear_empties() -> None:
    buffer = RolloutBuffer(2, 1, (1,), np.float32, (), np.int64)
    with pytest.raises(ValueError, match="stage"):
        buffer(_transition([0], [0], [1], [0], [False], [False]))
    buffer = _filled()
    buffer.clear()
    assert buffer.pos == 0 and not buffer.valid.any() and not buffer.full


def test_a_driver_reset_cuts_the_episodes_in_progress() -> None:
    buffer = RolloutBuffer(3, 1, (1,), np.float32, (), np.int64)
    _stage(buffer, [1.0])
    buffer(_transition([0], [1], [2], [1], [False], [False]))
    buffer.on_reset()
    assert buffer.truncated[0, 0]
    (t, e), obs = buffer.bootstrap_rows()
    assert (t.tolist(), e.tolist(), obs[:, 0].tolist()) == ([0], [0], [2])


@pytest.mark.parametrize("vectorization", ["native", "sync"])
def test_filled_by_a_driver_with_next_step_autoreset(vectorization: str) -> None:
    env = rw.make_env("CartPole-v1", n_envs=3, seed=0, vectorization=vectorization)  # type: ignore[arg-type]
    buffer = RolloutBuffer.from_spaces(
        env.single_observation_space, env.single_action_space, n_steps=40, n_envs=3
    )
    rng = np.random.default_rng(0)

    def policy(obs: np.ndarray) -> np.ndarray:
        actions = rng.integers(0, 2, len(obs))
        buffer.stage(actions, np.zeros(len(obs), np.float32), np.zeros(len(obs), np.float32))
        return actions

    next_obs = np.zeros_like(buffer.obs)  # [T, N, 4]: each broadcast's next observations
    recorded: list[Transition] = []
    driver = Driver(env, policy, [buffer, recorded.append])
    steps = buffer.collect(driver)
    for t, transition in enumerate(recorded):
        next_obs[t, transition.env_ids] = transition.next_obs
    assert buffer.full and steps == driver.total_steps == int(buffer.valid.sum())
    assert buffer.terminated.any() and not buffer.valid.all()  # episodes ended, slots skipped
    # Within an episode, each row's observation is the previous row's next observation.
    done = buffer.terminated | buffer.truncated
    for e in range(3):
        for t in range(39):
            if buffer.valid[t, e] and buffer.valid[t + 1, e] and not done[t, e]:
                np.testing.assert_array_equal(buffer.obs[t + 1, e], next_obs[t, e])
            if buffer.valid[t, e] and done[t, e]:
                assert not buffer.valid[t + 1, e]  # next-step autoreset: a reset-only slot
    assert isinstance(env.single_action_space, gym.spaces.Discrete)
