"""Exact values of rlworks.buffers.replay: ring order, episode ends, n-step targets, memory."""

from __future__ import annotations

import numpy as np
import pytest
from gymnasium import spaces

from rlworks.buffers import ReplayBuffer, smallest_int_dtype
from rlworks.buffers import replay as replay_module
from rlworks.errors import ConfigError
from rlworks.types import Transition

BIG = 10**12  # available_bytes that never stops a small test buffer


def _step(
    buf: ReplayBuffer,
    obs: list[float],
    rewards: list[float],
    next_obs: list[float],
    env_ids: list[int],
    terminated: list[bool] | None = None,
    truncated: list[bool] | None = None,
) -> None:
    """One vector step of scalar observations; the action is the observation cast to int."""
    rows = len(env_ids)
    buf(
        Transition(
            np.array(obs, np.float32),
            np.array(obs, np.int64) % 7,
            np.array(rewards, np.float32),
            np.array(next_obs, np.float32),
            np.array(terminated or [False] * rows),
            np.array(truncated or [False] * rows),
            np.array(env_ids),
        )
    )


def _all(buf: ReplayBuffer) -> dict[str, list[float]]:
    batch = buf.gather(np.arange(len(buf)))
    return {
        "obs": batch.obs.tolist(),
        "rewards": batch.rewards.tolist(),
        "next_obs": batch.next_obs.tolist(),
        "discounts": batch.discounts.tolist(),
        "terminated": batch.terminated.tolist(),
        "truncated": batch.truncated.tolist(),
    }


def _episode(buf: ReplayBuffer, rewards: list[float], end: str) -> None:
    """One env, observations 0, 1, 2, ...; the last step terminates or truncates."""
    for t, r in enumerate(rewards):
        last = t == len(rewards) - 1
        _step(
            buf,
            [t],
            [r],
            [t + 1],
            [0],
            [last and end == "terminated"],
            [last and end == "truncated"],
        )


# ------------------------------------------------------------------------------- ring storage


def test_ring_wraps_around_and_overwrites_the_oldest() -> None:
    buf = ReplayBuffer(4, available_bytes=BIG)
    _step(buf, [0, 1, 2], [0, 0, 0], [0, 0, 0], [0, 1, 2])  # slots 0, 1, 2
    assert len(buf) == 3
    _step(buf, [3, 4, 5], [0, 0, 0], [0, 0, 0], [0, 1, 2])  # slots 3, 0, 1
    assert len(buf) == 4
    assert _all(buf)["obs"] == [4, 5, 2, 3]
    # 6 rows into 4 slots at position 2: only the newest four, 12..15, written at 2, 3, 0, 1.
    buf.add(np.arange(10, 16), np.zeros(6), np.zeros(6), np.zeros(6), np.zeros(6), np.zeros(6))
    assert _all(buf)["obs"] == [14, 15, 12, 13]


def test_terminated_and_truncated_are_kept_apart() -> None:
    buf = ReplayBuffer(8, gamma=0.9, available_bytes=BIG)
    _step(
        buf,
        [0, 1, 2, 3],
        [1, 1, 1, 1],
        [5, 6, 7, 8],
        [0, 1, 2, 3],
        terminated=[False, True, False, True],
        truncated=[False, False, True, True],
    )
    stored = _all(buf)
    assert stored["terminated"] == [False, True, False, True]
    assert stored["truncated"] == [False, False, True, True]
    # n = 1: discount γ = 0.9 unless terminated (then 0); truncation still bootstraps.
    np.testing.assert_allclose(stored["discounts"], [0.9, 0.0, 0.9, 0.0])


def test_is_a_driver_observer_with_actions_and_next_obs() -> None:
    buf = ReplayBuffer(4, obs_shape=(2,), action_dtype=np.uint8, available_bytes=BIG)
    obs = np.array([[1.0, 2.0], [3.0, 4.0]], np.float32)
    buf(
        Transition(
            obs, np.array([0, 1]), np.ones(2), obs + 10, np.zeros(2), np.zeros(2), np.arange(2)
        )
    )
    batch = buf.gather([0, 1])
    assert batch.obs.tolist() == obs.tolist() and batch.next_obs.tolist() == (obs + 10).tolist()
    assert batch.actions.tolist() == [0, 1] and batch.actions.dtype == np.uint8
    assert batch.weights.tolist() == [1.0, 1.0] and batch.indices.tolist() == [0, 1]


def test_uniform_sample_is_seeded_and_in_range() -> None:
    buf = ReplayBuffer(10, available_bytes=BIG)
    _step(buf, [0, 1, 2, 3, 4], [0] * 5, [0] * 5, [0, 1, 2, 3, 4])
    first = buf.sample(5, np.random.default_rng(3))
    second = buf.sample(5, np.random.default_rng(3))
    assert first.indices.tolist() == second.indices.tolist()
    assert set(first.indices.tolist()) <= {0, 1, 2, 3, 4}
    assert first.obs.tolist() == first.indices.astype(float).tolist()  # obs t sits in slot t
    assert first.weights.tolist() == [1.0] * 5


# ---------------------------------------------------------------------------------- n-step


def test_n_step_across_a_termination() -> None:
    # γ = 0.5, n = 2, rewards 1, 2, 4, terminated on the third step.
    buf = ReplayBuffer(8, n_step=2, gamma=0.5, available_bytes=BIG)
    _episode(buf, [1, 2, 4], "terminated")
    stored = _all(buf)
    assert stored["obs"] == [0, 1, 2]
    # s0: 1 + 0.5·2 = 2, next s2, γ² = 0.25;  s1: 2 + 0.5·4 = 4, next s3, 0 (terminated);
    # s2: 4, next s3, 0.
    assert stored["rewards"] == [2, 4, 4]
    assert stored["next_obs"] == [2, 3, 3]
    assert stored["discounts"] == [0.25, 0.0, 0.0]
    assert stored["terminated"] == [False, True, True]
    assert stored["truncated"] == [False, False, False]


def test_n_step_across_a_truncation_bootstraps() -> None:
    # Same episode, truncated: s1 sums 2 rewards (γ² = 0.25), s2 one (γ = 0.5), both from s3.
    buf = ReplayBuffer(8, n_step=2, gamma=0.5, available_bytes=BIG)
    _episode(buf, [1, 2, 4], "truncated")
    stored = _all(buf)
    assert stored["rewards"] == [2, 4, 4]
    assert stored["next_obs"] == [2, 3, 3]
    assert stored["discounts"] == [0.25, 0.25, 0.5]
    assert stored["terminated"] == [False, False, False]
    assert stored["truncated"] == [False, True, True]


@pytest.mark.parametrize(
    ("end", "discounts"),
    [
        ("terminated", [0.0, 0.0, 0.0]),
        # 3, 2 and 1 rewards summed: γ³ = 0.125, γ² = 0.25, γ = 0.5
        ("truncated", [0.125, 0.25, 0.5]),
    ],
)
def test_n_larger_than_the_episode(end: str, discounts: list[float]) -> None:
    buf = ReplayBuffer(8, n_step=5, gamma=0.5, available_bytes=BIG)
    _episode(buf, [1, 2, 4], end)
    stored = _all(buf)
    # s0: 1 + 0.5·2 + 0.25·4 = 3;  s1: 2 + 0.5·4 = 4;  s2: 4; all bootstrap (or not) from s3.
    assert stored["rewards"] == [3, 4, 4]
    assert stored["next_obs"] == [3, 3, 3]
    assert stored["discounts"] == discounts


def test_n_step_full_windows_slide() -> None:
    # n = 3, γ = 0.5, rewards 1, 2, 4, 8, 16 with no end: two full windows are stored.
    buf = ReplayBuffer(8, n_step=3, gamma=0.5, available_bytes=BIG)
    for t, r in enumerate([1, 2, 4, 8, 16]):
        _step(buf, [t], [r], [t + 1], [0])
    stored = _all(buf)
    assert stored["obs"] == [0, 1, 2]
    # s0: 1 + 1 + 1 = 3;  s1: 2 + 2 + 2 = 6;  s2: 4 + 4 + 4 = 12; next s_{t+3}, γ³ = 0.125
    assert stored["rewards"] == [3, 6, 12]
    assert stored["next_obs"] == [3, 4, 5]
    assert stored["discounts"] == [0.125] * 3


def test_interleaved_envs_with_missing_rows() -> None:
    # Two envs, n = 2, γ = 0.5; env 0 observes 0, 1, 2 and env 1 observes 100, 101, 102, 103.
    buf = ReplayBuffer(8, n_step=2, gamma=0.5, available_bytes=BIG)
    _step(buf, [0, 100], [1, 10], [1, 101], [0, 1])  # windows: env 0 [s0], env 1 [s100]
    assert len(buf) == 0
    _step(buf, [101], [20], [102], [1])  # env 0 missing; env 1 full: s100 → 10 + 0.5·20 = 20
    assert len(buf) == 1
    # env 0 full: s0 → 1 + 0.5·2 = 2, next s2; env 1 terminates: s101 → 20 + 0.5·40 = 40 and
    # s102 → 40, both next s103 with discount 0.
    _step(buf, [1, 102], [2, 40], [2, 103], [0, 1], terminated=[False, True])
    stored = _all(buf)
    assert stored["obs"] == [100, 0, 101, 102]
    assert stored["rewards"] == [20, 2, 40, 40]
    assert stored["next_obs"] == [102, 2, 103, 103]
    assert stored["discounts"] == [0.25, 0.25, 0.0, 0.0]
    # env 0 still holds s1 pending; env 1 starts a fresh episode.
    _step(buf, [200], [1], [201], [1])
    assert len(buf) == 4


def test_on_reset_flushes_pending_windows_as_truncated() -> None:
    buf = ReplayBuffer(8, n_step=3, gamma=0.5, available_bytes=BIG)
    _step(buf, [0, 100], [1, 4], [1, 101], [0, 1])
    _step(buf, [1], [2], [2], [0])
    assert len(buf) == 0
    buf.on_reset()
    stored = _all(buf)
    # env 0: s0 → 1 + 0.5·2 = 2 (γ² = 0.25), s1 → 2 (γ = 0.5), both from s2;
    # env 1: s100 → 4 (γ = 0.5) from s101. Not terminated: the episodes were abandoned.
    assert stored["obs"] == [0, 1, 100]
    assert stored["rewards"] == [2, 2, 4]
    assert stored["next_obs"] == [2, 2, 101]
    assert stored["discounts"] == [0.25, 0.5, 0.5]
    assert stored["terminated"] == [False] * 3 and stored["truncated"] == [True] * 3
    # The windows are empty afterwards: a new episode does not sum old rewards.
    buf.on_reset()
    assert len(buf) == 3
    for t, r in enumerate([8, 8, 8]):
        _step(buf, [10 + t], [r], [11 + t], [0])
    # 8 + 4 + 2 = 14
    assert _all(buf)["rewards"][-1] == 14


def test_n_step_one_ignores_env_ids() -> None:
    buf = ReplayBuffer(4, n_step=1, gamma=0.5, available_bytes=BIG)
    _step(buf, [0], [3], [1], [5])
    assert _all(buf)["rewards"] == [3] and _all(buf)["discounts"] == [0.5]


# ------------------------------------------------------------------------- dtypes and memory


def test_one_million_cartpole_transitions_fit_in_50_mb() -> None:
    obs_space = spaces.Box(-np.inf, np.inf, (4,), np.float32)
    action_space = spaces.Discrete(2)
    # Per transition: obs + next_obs 2·4·4 = 32, action uint8 1, reward float32 4,
    # step count uint8 1, terminated 1, truncated 1 = 40 bytes → 40 MB for 1M.
    assert ReplayBuffer.estimate_nbytes(10**6, (4,), np.float32, (), np.uint8) == 40_000_000
    buf = ReplayBuffer.from_spaces(obs_space, action_space, 10**6, available_bytes=BIG)
    assert buf.nbytes == 40_000_000 <= 50_000_000
    assert buf.action_dtype == np.uint8 and buf.obs_dtype == np.float32


def test_uint8_observations_stay_uint8() -> None:
    obs_space = spaces.Box(0, 255, (2, 3), np.uint8)
    buf = ReplayBuffer.from_spaces(obs_space, spaces.Discrete(4), 2, available_bytes=BIG)
    frames = np.full((1, 2, 3), 200, np.uint8)
    buf.add(frames, [3], [1.0], frames, [False], [False])
    batch = buf.sample(1, np.random.default_rng(0))
    assert batch.obs.dtype == np.uint8 and batch.next_obs.dtype == np.uint8
    assert batch.obs.shape == (1, 2, 3) and int(batch.obs.max()) == 200
    # 2·6 + 1 + 4 + 1 + 1 + 1 = 20 bytes per transition
    assert buf.nbytes == 2 * 20


def test_smallest_exact_action_dtypes() -> None:
    assert smallest_int_dtype(0, 255) == np.uint8
    assert smallest_int_dtype(0, 256) == np.uint16
    assert smallest_int_dtype(-1, 1) == np.int8
    discrete = ReplayBuffer.from_spaces(spaces.Discrete(2), spaces.Discrete(300), 1)
    assert discrete.obs_dtype == np.uint8 and discrete.action_dtype == np.uint16
    shifted = ReplayBuffer.from_spaces(
        spaces.Discrete(3, start=-1), spaces.Discrete(3, start=-1), 1
    )
    assert shifted.action_dtype == np.int8
    box = ReplayBuffer.from_spaces(
        spaces.Box(-1, 1, (3,), np.float64), spaces.Box(-1, 1, (2,), np.float32), 1
    )
    assert box.obs_dtype == np.float64 and box.action_shape == (2,)


# ------------------------------------------------------------------------------------ errors


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"capacity": 0}, "capacity must be an integer >= 1, got 0"),
        ({"capacity": 4, "n_step": 0}, "n_step must be an integer in \\[1, 255\\], got 0"),
        ({"capacity": 4, "gamma": 1.5}, "gamma must be in \\[0, 1\\], got 1.5"),
        ({"capacity": 4, "gamma": -0.1}, "gamma must be in \\[0, 1\\], got -0.1"),
    ],
)
def test_bad_arguments(kwargs: dict[str, float], match: str) -> None:
    with pytest.raises(ConfigError, match=match):
        ReplayBuffer(**kwargs, available_bytes=BIG)  # type: ignore[arg-type]


def test_bad_batch_sizes_name_both_numbers() -> None:
    buf = ReplayBuffer(4, available_bytes=BIG)
    rng = np.random.default_rng(0)
    with pytest.raises(ConfigError, match="batch_size 1 from a buffer holding 0"):
        buf.sample(1, rng)
    _step(buf, [0, 1], [0, 0], [0, 0], [0, 1])
    with pytest.raises(ConfigError, match="batch_size 3 from a buffer holding 2"):
        buf.sample(3, rng)
    with pytest.raises(ConfigError, match="batch_size 0 from a buffer holding 2"):
        buf.sample(0, rng)


def test_too_large_for_memory_fails_before_allocating(monkeypatch: pytest.MonkeyPatch) -> None:
    # 10^13 CartPole transitions = 4·10^14 bytes: allocating would fail, so the check came first.
    with pytest.raises(ConfigError, match=r"needs 400000000000000 bytes .* only 1000000 bytes"):
        ReplayBuffer(10**13, (4,), np.float32, (), np.uint8, available_bytes=10**6)
    monkeypatch.setattr(replay_module, "available_memory_bytes", lambda: 1000)
    with pytest.raises(ConfigError, match=r"needs 4000 bytes .* only 1000 bytes"):
        ReplayBuffer(100, (4,), np.float32, (), np.uint8)
    monkeypatch.setattr(replay_module, "available_memory_bytes", lambda: None)
    assert len(ReplayBuffer(100, (4,), np.float32, (), np.uint8)) == 0  # unknown: no check


def test_available_memory_is_read_from_proc_meminfo() -> None:
    available = replay_module.available_memory_bytes()
    assert available is None or available > 0


def test_every_driver_transition_is_stored_once_with_consistent_targets() -> None:
    from rlworks.envs import make_env
    from rlworks.training.driver import Driver

    env = make_env("CartPole-v1", n_envs=4, seed=0)
    buf = ReplayBuffer.from_spaces(
        env.single_observation_space, env.single_action_space, 4096, n_step=3, gamma=0.9
    )
    rng = np.random.default_rng(0)
    driver = Driver(env, lambda obs: rng.integers(0, 2, len(obs)), [buf])
    result = driver.run(num_steps=600, reset=True, seed=0)
    driver.reset(seed=1)  # abandons the episodes in progress: on_reset flushes their windows
    assert len(buf) == result.steps  # every transition stored exactly once
    batch = buf.gather(np.arange(len(buf)))
    # CartPole pays 1 per step: R = Σ_{k<m} 0.9^k for m summed steps, discount 0.9^m or 0.
    steps = np.rint(np.log(1 - batch.rewards * 0.1) / np.log(0.9)).astype(int)  # invert R
    assert set(steps.tolist()) <= {1, 2, 3}
    expected = np.where(batch.terminated, 0.0, 0.9**steps)
    np.testing.assert_allclose(batch.discounts, expected, rtol=1e-6)
    assert batch.terminated.any() and batch.truncated.any()  # truncated: the flushed windows
    assert not (batch.terminated & batch.truncated).any()
    env.close()


# ------------------------------------------------------------------------ packed records


def test_cartpole_records_are_packed_and_batches_are_views_of_the_gathered_rows() -> None:
    obs_space = spaces.Box(-np.inf, np.inf, (4,), np.float32)
    buf = ReplayBuffer.from_spaces(obs_space, spaces.Discrete(2), 8, gamma=0.5)
    # Fields by decreasing alignment: obs 0, next_obs 16, rewards 32, actions 36, code 37,
    # terminated 38, truncated 39 → 40 bytes, every field aligned in every record.
    assert buf._data.dtype.itemsize == 40 and buf._views_aligned
    obs = np.arange(12, dtype=np.float32).reshape(3, 4)
    buf.add(obs, [1, 0, 1], [1.0, 2.0, 3.0], obs + 100, [False, True, False], [False] * 3)
    batch = buf.gather([2, 0, 1])
    assert batch.obs.tolist() == obs[[2, 0, 1]].tolist()
    assert batch.next_obs.tolist() == (obs[[2, 0, 1]] + 100).tolist()
    assert batch.actions.tolist() == [1, 1, 0] and batch.actions.dtype == np.uint8
    assert batch.rewards.tolist() == [3.0, 1.0, 2.0]
    # n_step = 1: discount γ = 0.5, or 0 after a termination.
    assert batch.discounts.tolist() == [0.5, 0.5, 0.0]
    assert batch.terminated.tolist() == [False, False, True]
    assert all(field.flags.aligned for field in batch)
    assert np.may_share_memory(batch.obs, batch.rewards)  # one gathered block, no copies


def test_layouts_that_would_misalign_a_field_hand_out_aligned_copies() -> None:
    # float32 scalar observations and int64 actions: 8 + 4 + 4 + 4 + 3 = 23-byte records, so
    # the int64 action of record 1 starts at byte 23: the batch copies every field out.
    buf = ReplayBuffer(6, (), np.float32, (), np.int64, n_step=2, gamma=0.5, available_bytes=BIG)
    assert buf._data.dtype.itemsize == 23 and not buf._views_aligned
    assert buf.nbytes == 6 * 23
    _episode(buf, [1.0, 2.0, 4.0], "terminated")
    batch = buf.gather(np.arange(3))
    assert all(field.flags.aligned and field.flags.c_contiguous for field in batch)
    # 2-step returns: 1 + 0.5·2 = 2 (γ²), then 2 + 0.5·4 = 4 and 4, both ending in the terminal.
    assert batch.rewards.tolist() == [2.0, 4.0, 4.0]
    assert batch.discounts.tolist() == [0.25, 0.0, 0.0]
    assert batch.actions.tolist() == [0, 1, 2]


def test_large_samples_return_the_rows_at_their_indices() -> None:
    # What a DQN drawing 128 batches of 64 at once gets: 8192 rows, each consistent.
    buf = ReplayBuffer(10_000, (2,), np.float32, (), np.uint8, available_bytes=BIG)
    obs = np.repeat(np.arange(10_000, dtype=np.float32)[:, None], 2, axis=1)
    buf.add(obs, np.arange(10_000) % 3, np.arange(10_000), obs, np.zeros(10_000), np.zeros(10_000))
    batch = buf.sample(8192, np.random.default_rng(0))
    assert batch.obs.shape == (8192, 2)
    assert (batch.obs[:, 0] == batch.indices).all() and (batch.rewards == batch.indices).all()
    assert (batch.actions == batch.indices % 3).all()
    assert len(np.unique(batch.indices)) > 5000  # with replacement, spread over the buffer
