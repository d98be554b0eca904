"""rlworks.buffers.frames: each frame stored once, stacks rebuilt byte for byte.

The acceptance test records a stream from a fake stacked-frame vector env (next-step
autoreset, terminations, truncations, resets of all envs) and feeds it to a naive
:class:`ReplayBuffer` storing whole stacks and to the frame buffers: every stored transition and
every sample must be identical, across episode ends and several wrap-arounds of both rings.
"""

from __future__ import annotations

import numpy as np
import pytest
from gymnasium import spaces

from rlworks.buffers import (
    FrameReplayBuffer,
    PrioritizedFrameReplayBuffer,
    PrioritizedReplayBuffer,
    ReplayBatch,
    ReplayBuffer,
)
from rlworks.errors import ConfigError
from rlworks.types import Transition

BIG = 10**12  # available_bytes that never stops a small test buffer
K = 4  # frames per stack
FRAME = (3, 2)  # a tiny frame: the logic does not care about 84 x 84


# ------------------------------------------------------------------- a fake stacked vector env


class FakeStackedVecEnv:
    """``n_envs`` episodes of random frames stacked ``K`` deep (oldest first), in Gymnasium's
    next-step autoreset mode: the step after an episode's end only resets that env (its action
    is ignored, reward 0) and returns the reset stack.

    Episodes last 1 to ``max_len`` steps and end in a termination or a truncation. A reset
    stack is zero-padded, repeat-padded or ``K`` fresh frames, at random. With ``pool`` frames
    come from a few fixed frames, so equal neighbours and equal stacks occur by chance.
    """

    def __init__(
        self,
        n_envs: int,
        seed: int,
        max_len: int = 9,
        pool: int | None = None,
        frame: tuple[int, ...] = FRAME,
    ) -> None:
        self.n_envs = n_envs
        self.frame = frame
        self.rng = np.random.default_rng(seed)
        self.max_len = max_len
        self.pool = None if pool is None else self._random_frames(pool)
        self.stacks = np.zeros((n_envs, K, *frame), np.uint8)  # [E, K, *f]
        self.left = np.zeros(n_envs, np.int64)  # steps left in each episode
        self.end_terminates = np.zeros(n_envs, np.bool_)
        self.autoreset = np.zeros(n_envs, np.bool_)

    def _random_frames(self, count: int) -> np.ndarray:
        return self.rng.integers(0, 256, (count, *self.frame), dtype=np.uint8)

    def _frames(self, count: int) -> np.ndarray:
        if self.pool is None:
            return self._random_frames(count)
        return self.pool[self.rng.integers(0, len(self.pool), count)]

    def _start(self, env: int) -> None:
        padding = self.rng.integers(3)
        first = self._frames(1)[0]
        if padding == 0:  # zeros before the first frame
            self.stacks[env] = 0
            self.stacks[env, -1] = first
        elif padding == 1:  # the first frame repeated (Gymnasium's FrameStackObservation)
            self.stacks[env] = first
        else:  # K frames of its own
            self.stacks[env] = self._frames(K)
        self.left[env] = self.rng.integers(1, self.max_len + 1)
        self.end_terminates[env] = self.rng.random() < 0.5
        self.autoreset[env] = False

    def reset(self) -> np.ndarray:
        for env in range(self.n_envs):
            self._start(env)
        return self.stacks.copy()

    def step(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        reward = np.zeros(self.n_envs, np.float32)
        terminated = np.zeros(self.n_envs, np.bool_)
        truncated = np.zeros(self.n_envs, np.bool_)
        for env in range(self.n_envs):
            if self.autoreset[env]:
                self._start(env)
                continue
            self.stacks[env, :-1] = self.stacks[env, 1:].copy()
            self.stacks[env, -1] = self._frames(1)[0]
            reward[env] = self.rng.integers(-3, 4)
            self.left[env] -= 1
            if self.left[env] == 0:
                terminated[env] = self.end_terminates[env]
                truncated[env] = not self.end_terminates[env]
                self.autoreset[env] = True
        return self.stacks.copy(), reward, terminated, truncated


def record(
    steps: int,
    n_envs: int = 3,
    seed: int = 0,
    pool: int | None = None,
    reset_every: int = 97,
    max_len: int = 9,
    frame: tuple[int, ...] = FRAME,
) -> list[Transition | None]:
    """The transitions a driver hands its observers (reset-only rows dropped); ``None`` marks
    a reset of every env mid-episode (the driver's ``on_reset``)."""
    env = FakeStackedVecEnv(n_envs, seed, max_len, pool, frame)
    rng = np.random.default_rng(seed + 1)
    obs = env.reset()
    prev_done = np.zeros(n_envs, np.bool_)
    stream: list[Transition | None] = []
    for t in range(1, steps + 1):
        if t % reset_every == 0:
            stream.append(None)
            obs, prev_done = env.reset(), np.zeros(n_envs, np.bool_)
        actions = rng.integers(0, 4, n_envs).astype(np.uint8)
        next_obs, reward, terminated, truncated = env.step()
        rows = np.flatnonzero(~prev_done)
        prev_done = terminated | truncated
        stream.append(
            Transition(
                obs[rows],
                actions[rows],
                reward[rows],
                next_obs[rows],
                terminated[rows],
                truncated[rows],
                rows,
            )
        )
        obs = next_obs
    return stream


def feed(buffers: list[ReplayBuffer | FrameReplayBuffer], item: Transition | None) -> None:
    for buf in buffers:
        if item is None:
            buf.on_reset()
        else:
            buf(item)


def assert_same(got: ReplayBatch, want: ReplayBatch) -> None:
    for name, a, b in zip(ReplayBatch._fields, got, want, strict=True):
        assert a.dtype == b.dtype, name
        np.testing.assert_array_equal(a, b, err_msg=name)


def naive(
    capacity: int, n_step: int, prioritized: bool = False, frame: tuple[int, ...] = FRAME
) -> ReplayBuffer:
    cls = PrioritizedReplayBuffer if prioritized else ReplayBuffer
    return cls(
        capacity, (K, *frame), np.uint8, (), np.uint8, n_step=n_step, gamma=0.9, available_bytes=BIG
    )


def dedup(
    capacity: int,
    n_step: int,
    prioritized: bool = False,
    frame_capacity: int | None = None,
    frame: tuple[int, ...] = FRAME,
) -> FrameReplayBuffer:
    cls = PrioritizedFrameReplayBuffer if prioritized else FrameReplayBuffer
    return cls(
        capacity,
        (K, *frame),
        np.uint8,
        (),
        np.uint8,
        n_step=n_step,
        gamma=0.9,
        frame_capacity=(2 * K + 1) * capacity if frame_capacity is None else frame_capacity,
        available_bytes=BIG,
    )


# ------------------------------------------------------------------------- acceptance


@pytest.mark.parametrize("n_step", [1, 3])
@pytest.mark.parametrize(("pool", "frame"), [(None, FRAME), (3, FRAME), (3, (4, 2))])
def test_uniform_reproduces_naive_buffer(
    n_step: int, pool: int | None, frame: tuple[int, ...]
) -> None:
    # 600 steps of 3 envs (~1500 transitions) wrap a 200-transition ring about 7 times. The
    # 8-byte frame (4, 2) is compared as uint64 words, the 6-byte one byte by byte.
    stream = record(600, pool=pool, frame=frame)
    assert sum(int(item.done.sum()) for item in stream if item is not None) > 100
    plain, frames = naive(200, n_step, frame=frame), dedup(200, n_step, frame=frame)
    rng_plain, rng_frames = np.random.default_rng(5), np.random.default_rng(5)
    for t, item in enumerate(stream):
        feed([plain, frames], item)
        assert len(frames) == len(plain)
        if t % 23 == 0 and len(plain) >= 16:
            assert_same(frames.gather(np.arange(len(plain))), plain.gather(np.arange(len(plain))))
            assert_same(frames.sample(16, rng_frames), plain.sample(16, rng_plain))
    assert len(plain) == 200
    assert_same(frames.gather(np.arange(200)), plain.gather(np.arange(200)))
    # One frame per transition plus at most K per episode start, against 2K per record.
    rows = sum(item.batch_size for item in stream if item is not None)
    starts = 3 + sum(3 if item is None else int(item.done.sum()) for item in stream)
    assert frames.frames_written <= rows + K * starts


@pytest.mark.parametrize("n_step", [1, 3])
def test_prioritized_reproduces_naive_buffer(n_step: int) -> None:
    stream = record(500, pool=3, seed=1)
    plain, frames = naive(128, n_step, prioritized=True), dedup(128, n_step, prioritized=True)
    assert isinstance(plain, PrioritizedReplayBuffer)
    assert isinstance(frames, PrioritizedFrameReplayBuffer)
    rng_plain, rng_frames, rng_td = (np.random.default_rng(s) for s in (7, 7, 8))
    for t, item in enumerate(stream):
        feed([plain, frames], item)
        if t % 11 == 0 and len(plain) >= 32:
            got = frames.sample(32, rng_frames, beta=0.4)
            want = plain.sample(32, rng_plain, beta=0.4)
            assert_same(got, want)
            td_errors = rng_td.normal(size=32)
            frames.update_priorities(got.indices, td_errors)
            plain.update_priorities(want.indices, td_errors)
            assert frames.max_priority == plain.max_priority
    np.testing.assert_array_equal(
        frames.priorities(np.arange(128)), plain.priorities(np.arange(128))
    )


@pytest.mark.parametrize("prioritized", [False, True])
def test_short_frame_ring_evicts_oldest_and_never_returns_stale_stacks(prioritized: bool) -> None:
    # Episodes of 1-3 steps cost up to K + 1 frames a transition: a ring of capacity + 40
    # frames cannot keep 100 transitions, so the oldest records are evicted.
    stream = record(400, seed=2, reset_every=61, max_len=3)
    plain = naive(100, 3, prioritized)
    frames = dedup(100, 3, prioritized, frame_capacity=140)
    rng = np.random.default_rng(3)
    evicted_seen = False
    for item in stream:
        feed([plain, frames], item)
        if len(frames) < 8:
            continue
        evicted_seen |= len(frames) < len(plain)
        whole = frames.gather(np.arange(len(frames)))
        assert_same(whole, plain.gather(whole.indices))
        # The live records are the newest: their slots are the last len(frames) written.
        oldest = 0 if len(plain) < 100 else int(plain._pos)
        age = (whole.indices - oldest) % 100
        assert sorted(age.tolist()) == list(range(len(plain) - len(frames), len(plain)))
        batch = (
            frames.sample(8, rng, beta=0.5)
            if isinstance(frames, PrioritizedFrameReplayBuffer)
            else frames.sample(8, rng)
        )
        want = plain.gather(batch.indices)
        for name in ("obs", "next_obs", "actions", "rewards", "discounts"):
            np.testing.assert_array_equal(getattr(batch, name), getattr(want, name))
    assert evicted_seen


# ------------------------------------------------------------------------- exact values


def _frame(value: int) -> np.ndarray:
    return np.full(FRAME, value, np.uint8)


def _stack(*values: int) -> np.ndarray:
    return np.stack([_frame(v) for v in values])[None]  # [1, K, *f]


def _add(buf: FrameReplayBuffer, obs: np.ndarray, nxt: np.ndarray, r: float, end: str = "") -> None:
    buf.add(obs, [0], [r], nxt, [end == "term"], [end == "trunc"])


def test_each_frame_is_stored_once() -> None:
    buf = dedup(8, 1, frame_capacity=64)
    # Episode 1, zero-padded reset: obs [0 0 0 1] stores 0 once and 1 (2 frames); each next
    # stack shifts in one frame: [0 0 1 2] stores 2, [0 1 2 3] stores 3 → 4 frames.
    _add(buf, _stack(0, 0, 0, 1), _stack(0, 0, 1, 2), 1.0)
    assert buf.frames_written == 3
    _add(buf, _stack(0, 0, 1, 2), _stack(0, 1, 2, 3), 2.0, "term")
    assert buf.frames_written == 4
    # Episode 2, repeat-padded reset [5 5 5 5]: one frame; [5 5 5 6] adds 6 → 6 frames in all,
    # where the naive buffer holds 3 transitions x 2 stacks x 4 frames = 24.
    _add(buf, _stack(5, 5, 5, 5), _stack(5, 5, 5, 6), 3.0, "trunc")
    assert buf.frames_written == 6
    batch = buf.gather([0, 1, 2])
    np.testing.assert_array_equal(batch.obs[:, :, 0, 0], [[0, 0, 0, 1], [0, 0, 1, 2], [5, 5, 5, 5]])
    np.testing.assert_array_equal(
        batch.next_obs[:, :, 0, 0], [[0, 0, 1, 2], [0, 1, 2, 3], [5, 5, 5, 6]]
    )
    # discount: γ = 0.9 unless terminated.
    np.testing.assert_allclose(batch.discounts, [0.9, 0.0, 0.9])
    np.testing.assert_array_equal(batch.terminated, [False, True, False])
    np.testing.assert_array_equal(batch.truncated, [False, False, True])


def test_n_step_returns_over_frame_pointers() -> None:
    buf = FrameReplayBuffer(8, (K, *FRAME), n_step=3, gamma=0.5, available_bytes=BIG)
    stacks = [_stack(*range(t, t + K)) for t in range(5)]  # s_t = frames t .. t+3
    for t, r in enumerate([1.0, 2.0, 4.0]):
        _add(buf, stacks[t], stacks[t + 1], r)
    # Window full after 3 rewards: R_0 = 1 + 0.5·2 + 0.25·4 = 3, discount 0.5³ = 0.125, s_3.
    assert len(buf) == 1
    _add(buf, stacks[3], stacks[4], 8.0, "term")
    # The termination flushes: R_1 = 2 + 0.5·4 + 0.25·8 = 6, R_2 = 4 + 0.5·8 = 8, R_3 = 8,
    # all bootstrapping from nothing (discount 0) and pointing at the final stack s_4.
    batch = buf.gather(np.arange(4))
    np.testing.assert_allclose(batch.rewards, [3.0, 6.0, 8.0, 8.0])
    np.testing.assert_allclose(batch.discounts, [0.125, 0.0, 0.0, 0.0])
    np.testing.assert_array_equal(
        batch.obs[:, :, 0, 0], [[0, 1, 2, 3], [1, 2, 3, 4], [2, 3, 4, 5], [3, 4, 5, 6]]
    )
    np.testing.assert_array_equal(batch.next_obs[:, 0, 0, 0], [3, 4, 4, 4])
    assert buf.frames_written == 8  # frames 0..7, each once


# ------------------------------------------------------------------------------ memory


def test_breakout_million_fits_in_7_5_gb() -> None:
    # Frames: (1 000 000 + 1 000 000 // 32 + 256) x 84·84 = 1 031 506 x 7056 = 7 278 306 336;
    # records: 10⁶ x (2·4·8 pointers + 1 action + 4 reward + 1 code + 2 flags) = 72 000 000;
    # keys: 10⁶ x 8 = 8 000 000.
    estimate = FrameReplayBuffer.estimate_nbytes(1_000_000, (4, 84, 84), np.uint8, (), np.uint8)
    assert estimate == 7_278_306_336 + 72_000_000 + 8_000_000
    assert estimate <= 7.5e9
    # The naive buffer stores both stacks: 10⁶ x (2 x 28 224 + 1 + 4 + 1 + 2) bytes.
    assert ReplayBuffer.estimate_nbytes(1_000_000, (4, 84, 84), np.uint8, (), np.uint8) == (
        56_456_000_000
    )
    prioritized = PrioritizedFrameReplayBuffer.estimate_nbytes(
        1_000_000, (4, 84, 84), np.uint8, (), np.uint8
    )
    assert prioritized <= 7.5e9


@pytest.mark.parametrize("cls", [FrameReplayBuffer, PrioritizedFrameReplayBuffer])
def test_allocation_matches_estimate(cls: type[FrameReplayBuffer]) -> None:
    buf = cls(5_000, (4, 84, 84), np.uint8, (), np.uint8, available_bytes=BIG)
    estimate = cls.estimate_nbytes(5_000, (4, 84, 84), np.uint8, (), np.uint8)
    assert buf.nbytes == estimate
    # 5000 + 156 + 256 = 5412 frames of 7056 bytes hold nearly all of it.
    assert buf._frames.nbytes == 5_412 * 7_056


def test_memory_check_names_both_sizes() -> None:
    needed = FrameReplayBuffer.estimate_nbytes(1_000, (4, 84, 84))
    with pytest.raises(ConfigError, match=rf"needs {needed} bytes .* only 1000000 bytes"):
        FrameReplayBuffer(1_000, (4, 84, 84), available_bytes=1_000_000)


def test_from_spaces_and_bad_input() -> None:
    obs_space = spaces.Box(0, 255, (4, 84, 84), np.uint8)
    buf = FrameReplayBuffer.from_spaces(obs_space, spaces.Discrete(4), 100, available_bytes=BIG)
    assert (buf.stack, buf.frame_shape, buf.obs_dtype, buf.action_dtype) == (
        4,
        (84, 84),
        np.dtype(np.uint8),
        np.dtype(np.uint8),
    )
    with pytest.raises(ConfigError, match="obs has shape"):
        buf.add(np.zeros((1, 3, 84, 84), np.uint8), [0], [0.0], np.zeros((1, 4, 84, 84)), [0], [0])
    with pytest.raises(ConfigError, match="cannot sample"):
        buf.sample(1, np.random.default_rng(0))
    with pytest.raises(ConfigError, match="frame_capacity"):
        FrameReplayBuffer(10, (4, 84, 84), frame_capacity=3, available_bytes=BIG)
    with pytest.raises(ConfigError, match="capacity"):
        FrameReplayBuffer(0, (4, 84, 84), available_bytes=BIG)


@pytest.mark.parametrize("prioritized", [False, True])
def test_a_frozen_screen_does_not_drain_the_buffer(prioritized: bool) -> None:
    # Env 0 moves; env 1 shows one frozen stack (Breakout after a lost life, before FIRE).
    # Reused for ever, the frozen stack's frames would age until the ring overwrote them, and
    # every record keyed meanwhile would be evicted with them; the reuse window stores the
    # frozen frame again every frame_capacity // 64 frames instead.
    cls = PrioritizedFrameReplayBuffer if prioritized else FrameReplayBuffer
    buf = cls(1000, (4, 2, 2), np.uint8, (), np.uint8, available_bytes=10**12)
    rng = np.random.default_rng(0)
    moving = rng.integers(0, 256, (4, 2, 2), dtype=np.uint8)
    frozen = np.full((4, 2, 2), 7, np.uint8)
    sizes = []
    for _ in range(3000):  # ~5 turns of the 1,287-frame ring
        after = np.concatenate([moving[1:], rng.integers(0, 256, (1, 2, 2), dtype=np.uint8)])
        buf.add(np.stack([moving, frozen]), [0, 0], [0.0, 0.0], np.stack([after, frozen]),
                [False, False], [False, False])  # fmt: skip
        moving = after
        sizes.append(len(buf))
    assert min(sizes[600:]) >= 900  # full (1,000) but for the few records a turn evicts
    stacks = buf.gather(np.arange(len(buf))).obs  # [N, 4, 2, 2], half of them env 1's
    assert abs(int((stacks == frozen).all(axis=(1, 2, 3)).sum()) - len(buf) / 2) <= 1


def test_int64_stacks_are_stored_as_the_buffer_dtype() -> None:
    buf = FrameReplayBuffer(50, (2, 3, 3), np.uint8, available_bytes=10**9)
    obs = np.arange(18, dtype=np.int64).reshape(1, 2, 3, 3)
    for _ in range(3):
        buf.add(obs, [0], [1.0], obs, [False], [False])
    assert len(buf) == 3 and buf.gather(np.arange(3)).obs.dtype == np.uint8
    np.testing.assert_array_equal(buf.gather(np.arange(1)).obs[0], obs[0])
