"""Chapter 18, extra material "Deque vs Rotating List": replay memories at a million entries.

The chapter's DQNs keep their last 2,000 experiences in a ``deque(maxlen=2000)``. Its extra
material shows why that does not scale to the million-entry memories of the Atari DQNs: a deque
appends in constant time but reaches item ``i`` by walking its linked blocks from the nearer
end, so random access costs O(N). It fills a ``deque(maxlen=1_000_000)`` with the integers
0..999,999 and times (IPython's ``%timeit``)::

    mem.append(1)                                          76.8 ns
    [mem[i] for i in np.random.randint(1000000, size=5)]   320 µs

and then a rotating list (a NumPy object array written at a moving index, the chapter's
``ReplayMemory`` class), whose ``append`` is a Python method call but whose sampling is one fancy
index::

    mem.append(1)                                          761 ns
    mem.sample(5)                                          2.97 µs

This script re-times both, with the same million integers, next to
:class:`rlworks.buffers.ReplayBuffer`, the preallocated NumPy ring that rlworks' agents use:
one array of packed records, each transition one 40-byte record for CartPole (two float32[4]
observations, a float32 reward, a uint8 action, a uint8 discount code and two flags, side by side
without padding); ``add`` writes a batch of rows into the records' fields in place (with
``n_step == 1`` it skips the n-step windows and the discount code), ``sample`` draws its indices
as ``floor(U · N)`` and copies each sampled record with one memcpy, the batch's fields being views
into those copies. The ring buffer holds real CartPole-shaped transitions
(``ReplayBuffer.from_spaces`` on CartPole's spaces), filled with 20 batched adds of 50,000 rows.
Besides the chapter's 5-item access it times a training batch of 64. Random indices come from a
seeded ``np.random.Generator``, not NumPy's global state. Timings use :mod:`timeit`: the best
of 5 repeats, each of at least 0.05 s.

Measured once on a 2-core machine shared with other jobs (CPython 3.11, NumPy 2.4, 1,000,000
entries; best of 5 repeats)::

    operation             deque          rotating list   ReplayBuffer    chapter (deque / list)
    append 1 item         61 ns          438 ns          4.45 µs         76.8 ns / 761 ns
    random access of 5    105 µs         10.2 µs         9.08 µs         320 µs / 2.97 µs
    random access of 64   744 µs         21.7 µs         11.1 µs         -
    fill 1M entries       41 ms          55 ms           135 ms          -

The chapter's picture holds: a deque appends about 7 times faster than the rotating list's Python
method, but reaching 5 random items of a million-entry deque takes about a hundred microseconds,
and a training batch of 64 most of a millisecond, 34 times what the rotating list needs and 67
times what the ring buffer needs. Our rotating list samples slower than the chapter's 2.97 µs
because drawing the indices (``Generator.integers``) takes most of its time, while the gather
itself takes ~0.5 µs; ``ReplayBuffer.sample`` draws its indices with one cheaper ``rng.random``
call and gathers whole records, so a batch of 64 costs it about half the rotating list's time.
Its single-row ``add`` is still slow next to a deque append (a handful of strided field writes
per call, even without the n-step machinery) because it is meant for batches: the 20 adds of
50,000 rows fill it in about a tenth of a second.

The script asserts only relations that hold with wide margins on any machine: random access
into the million-entry deque is slower than the rotating list's and the ring buffer's sampling
(34 and 67 times for a batch of 64 here), a deque append is faster than the rotating list's
Python ``append``, sampled rows are the rows written at the sampled slots, and the ring buffer
keeps its million CartPole transitions in at most 50 MB (one packed 40-byte record each). A deque
of the chapter's experience tuples would hold a Python tuple and two NumPy arrays per transition
(~344 bytes, ~344 MB for a million); the script prints that estimate too. Speed claims for the
library live in ``benchmarks/``; this script only reproduces the chapter's comparison.

Run: ``python examples/chapter18/17_deque_vs_ring_buffer.py [--size 1000000] [--seed 42]``
"""

from __future__ import annotations

import argparse
import sys
import timeit
from collections import deque
from collections.abc import Callable
from typing import Any

import gymnasium as gym
import numpy as np

from rlworks.buffers import ReplayBuffer

DEFAULT_SIZE, DEFAULT_SEED = 1_000_000, 42
FILL_BATCH = 50_000  # rows per ReplayBuffer.add while filling
MIN_TIME_S = 0.05  # each timeit repeat runs at least this long
REPEATS = 5
BOOK = {  # the chapter's printed timings, seconds
    ("append 1 item", "deque"): 76.8e-9,
    ("append 1 item", "rotating list"): 761e-9,
    ("random access of 5", "deque"): 320e-6,
    ("random access of 5", "rotating list"): 2.97e-6,
}


class RotatingList:
    """The chapter's rotating list: an object array written at a moving index."""

    def __init__(self, max_size: int) -> None:
        self.buffer = np.empty(max_size, dtype=object)
        self.max_size = max_size
        self.index = 0
        self.size = 0

    def append(self, obj: Any) -> None:
        """Overwrite the oldest slot once full."""
        self.buffer[self.index] = obj
        self.size = min(self.size + 1, self.max_size)
        self.index = (self.index + 1) % self.max_size

    def sample(self, batch_size: int, rng: np.random.Generator) -> np.ndarray:
        """``batch_size`` items drawn uniformly with replacement."""
        return self.buffer[rng.integers(self.size, size=batch_size)]  # type: ignore[no-any-return]


def time_call(func: Callable[[], object]) -> float:
    """Seconds per call of ``func``: best of ``REPEATS`` runs of at least ``MIN_TIME_S`` each."""
    timer = timeit.Timer(func)
    number = 1
    while timer.timeit(number) < MIN_TIME_S:
        number *= 4 if number < 1_000_000 else 2
    return min(timer.repeat(REPEATS, number)) / number


def fill_ring_buffer(size: int) -> ReplayBuffer:
    """A CartPole-shaped ring buffer holding ``size`` transitions, written in batches.

    Row ``i`` has ``obs = [i, i, i, i]`` (exact in float32 up to 2**24), so a sampled row's
    observation names the slot it came from.
    """
    env = gym.make("CartPole-v1")
    buffer = ReplayBuffer.from_spaces(env.observation_space, env.action_space, size)
    env.close()
    for start in range(0, size, FILL_BATCH):
        rows = np.arange(start, min(start + FILL_BATCH, size))
        obs = np.repeat(rows[:, None], 4, axis=1).astype(np.float32)  # [B, 4]
        zeros = np.zeros(rows.size, np.bool_)
        buffer.add(obs, (rows % 2).astype(np.uint8), np.ones(rows.size), obs + 1, zeros, zeros)
    return buffer


def experience_tuple_bytes() -> int:
    """Bytes of one of the chapter's experience tuples: the tuple and its two float32[4]
    observation arrays (the action, reward and flags are small shared objects)."""
    obs = np.zeros(4, np.float32)
    next_obs = np.zeros(4, np.float32)
    experience = (obs, 1, 1.0, next_obs, False, False)
    return sys.getsizeof(experience) + sys.getsizeof(obs) + sys.getsizeof(next_obs)


def main(argv: list[str] | None = None) -> None:
    """Fill the three memories, time them, print the table, check the robust relations."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0], allow_abbrev=False)
    parser.add_argument("--size", type=int, default=DEFAULT_SIZE, help="entries in each memory")
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED, help="seed of the indices")
    args, _ = parser.parse_known_args(argv)  # known only: the test suite runs under pytest's argv
    size, rng = args.size, np.random.default_rng(args.seed)

    # The chapter's two memories hold the integers 0..size-1; the ring holds transitions.
    fill: dict[str, float] = {}
    start = timeit.default_timer()
    mem: deque[int] = deque(range(size), maxlen=size)
    fill["deque"] = timeit.default_timer() - start
    start = timeit.default_timer()
    rotating = RotatingList(size)
    rotating.buffer[:] = list(range(size))  # the same as `size` appends, without the loop
    rotating.size = size
    fill["rotating list"] = timeit.default_timer() - start
    start = timeit.default_timer()
    ring = fill_ring_buffer(size)
    fill["ReplayBuffer"] = timeit.default_timer() - start

    one = np.zeros((1, 4), np.float32)
    one_action, one_flag = np.zeros(1, np.uint8), np.zeros(1, np.bool_)
    ring_args = (one, one_action, np.ones(1), one, one_flag, one_flag)
    timings: dict[tuple[str, str], float] = {}
    for n in (5, 64):
        op = f"random access of {n}"
        timings[op, "deque"] = time_call(lambda n=n: [mem[i] for i in rng.integers(size, size=n)])
        timings[op, "rotating list"] = time_call(lambda n=n: rotating.sample(n, rng))
        timings[op, "ReplayBuffer"] = time_call(lambda n=n: ring.sample(n, rng))
    # Sampled rows are the rows written at the sampled slots.
    sample = ring.sample(64, rng)
    assert np.array_equal(sample.obs[:, 0], sample.indices.astype(np.float32))
    assert np.array_equal(sample.next_obs, sample.obs + 1)
    # Appends last: they overwrite the oldest entries with other values.
    timings["append 1 item", "deque"] = time_call(lambda: mem.append(1))
    timings["append 1 item", "rotating list"] = time_call(lambda: rotating.append(1))
    timings["append 1 item", "ReplayBuffer"] = time_call(lambda: ring.add(*ring_args))

    def fmt(seconds: float | None) -> str:
        if seconds is None:
            return "-"
        for unit, scale in (("ns", 1e-9), ("µs", 1e-6), ("ms", 1e-3)):
            if seconds < 1000 * scale:
                return f"{seconds / scale:.3g} {unit}"
        return f"{seconds:.3g} s"

    columns = ("deque", "rotating list", "ReplayBuffer")
    print(f"{size:,} entries, best of {REPEATS} timeit repeats")
    print(f"{'operation':<20}" + "".join(f"{c:>15}" for c in columns) + f"{'chapter':>22}")
    for op in ("append 1 item", "random access of 5", "random access of 64"):
        book = " / ".join(fmt(BOOK.get((op, c))) for c in columns[:2])
        cells = "".join(f"{fmt(timings[op, c]):>15}" for c in columns)
        print(f"{op:<20}{cells}{book:>22}")
    print(f"{'fill':<20}" + "".join(f"{fmt(fill[c]):>15}" for c in columns))
    tuple_bytes = experience_tuple_bytes()
    print(
        f"\nReplayBuffer storage: {ring.nbytes / 1e6:.1f} MB for {len(ring):,} CartPole "
        f"transitions ({ring.nbytes // len(ring)} bytes each); the chapter's experience tuples "
        f"in a deque: ~{tuple_bytes} bytes each, ~{tuple_bytes * size / 1e6:.0f} MB"
    )

    if size == DEFAULT_SIZE:
        deque_64 = timings["random access of 64", "deque"]
        assert deque_64 > timings["random access of 64", "ReplayBuffer"], timings
        assert deque_64 > timings["random access of 64", "rotating list"], timings
        assert (
            timings["random access of 5", "deque"] > timings["random access of 5", "rotating list"]
        )
        assert timings["append 1 item", "deque"] < timings["append 1 item", "rotating list"]
        assert ring.nbytes <= 50e6, ring.nbytes


if __name__ == "__main__":
    main()
