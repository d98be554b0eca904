"""Replay buffers at a million CartPole transitions: memory, append + sample, prioritized replay.

Measures, in one process, on buffers of capacity 1,000,000 laid out for CartPole-v1
(``ReplayBuffer.from_spaces``: float32[4] observations, uint8 actions) and filled to capacity
with seeded random transitions:

* ``memory``: the bytes each buffer holds (``.nbytes``; the acceptance bound is 50 MB for the
  uniform buffer), next to an estimate for the chapter's ``deque`` of experience tuples;
* ``uniform add 1 + sample 64``: one transition of a 1-env vector step
  (``add(obs[1, 4], action[1], reward[1], next_obs[1, 4], terminated[1], truncated[1],
  env_ids=[0])``, ``n_step=1``) then ``sample(64, rng)``, amortized µs per pair (target: 20);
  also with 8-row adds, each half alone, and ``sample(8192)`` (a DQN drawing 128 batches at once);
* ``prioritized sample 64 + update 64``: ``PrioritizedReplayBuffer.sample(64, rng, beta=0.4)``
  then ``update_priorities`` of those 64 slots with fresh TD errors (target: 200 µs); also the
  1-row add, which updates both trees;
* ``deque``: the chapter's ``collections.deque(maxlen=1_000_000)`` of
  ``(obs, action, reward, next_obs, done)`` tuples: one ``append`` and 64 items read by random
  index (``[memory[i] for i in indices]``), for reference.

Each path is timed for ``reps`` calls per round; the rounds run interleaved (one of each path per
round, so the machine's drift hits all of them alike) and the table reports the median round, in
wall-clock time and in this process's CPU time (which leaves out the time other jobs held the
cores: on a shared machine the two differ).
Writes ``benchmarks/results/buffers.json``.

Run: ``python benchmarks/buffers.py [--quick] [--rounds 7]``
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections import deque
from collections.abc import Callable
from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np
from common import machine_info, write_report  # benchmarks/common.py, beside this script

from rlworks.buffers import PrioritizedReplayBuffer, ReplayBuffer

CAPACITY = 1_000_000
OBS_SPACE = gym.spaces.Box(-np.inf, np.inf, (4,), np.float32)  # CartPole-v1's spaces
ACTION_SPACE = gym.spaces.Discrete(2)
MEMORY_LIMIT = 50_000_000
Experience = tuple[np.ndarray, int, float, np.ndarray, bool]


def filled(cls: type[ReplayBuffer], rng: np.random.Generator, **kwargs: Any) -> ReplayBuffer:
    """A 1M CartPole buffer filled to capacity with 10 batched adds of random transitions."""
    buffer = cls.from_spaces(OBS_SPACE, ACTION_SPACE, CAPACITY, **kwargs)
    rows = CAPACITY // 10
    for _ in range(10):
        obs = rng.standard_normal((rows, 4), dtype=np.float32)
        buffer.add(
            obs,
            rng.integers(0, 2, rows, dtype=np.uint8),
            np.ones(rows, np.float32),
            obs + 0.01,
            rng.random(rows) < 0.05,
            np.zeros(rows, np.bool_),
        )
    assert len(buffer) == CAPACITY
    return buffer


def filled_deque(rng: np.random.Generator) -> deque[Experience]:
    """The chapter's replay memory, full: a million ``(obs, action, reward, next_obs, done)``."""
    memory: deque[Experience] = deque(maxlen=CAPACITY)
    obs = list(rng.standard_normal((CAPACITY, 4), dtype=np.float32))  # [4] rows
    for i in range(CAPACITY):
        memory.append((obs[i], i & 1, 1.0, obs[i - 1], False))
    return memory


def deque_nbytes(memory: deque[Experience]) -> int:
    """Estimated bytes of the full deque: its blocks plus one standalone tuple, two float32[4]
    arrays and a float per entry (small ints and ``False`` are shared objects)."""
    obs = np.zeros(4, np.float32)
    entry = (obs, 1, 1.0, obs.copy(), False)
    per_entry = sys.getsizeof(entry) + 2 * sys.getsizeof(obs) + sys.getsizeof(1.0)
    return sys.getsizeof(memory) + len(memory) * per_entry


def paths(rng: np.random.Generator, quick: bool) -> dict[str, tuple[Callable[[], object], int]]:
    """Name → (one timed operation, calls per round); builds and fills the buffers."""
    uniform = filled(ReplayBuffer, rng)
    prioritized = filled(PrioritizedReplayBuffer, rng, alpha=0.6)
    assert isinstance(prioritized, PrioritizedReplayBuffer)
    prioritized.update_priorities(np.arange(CAPACITY), rng.standard_normal(CAPACITY))
    memory = filled_deque(rng)

    one = (np.zeros((1, 4), np.float32), np.zeros(1, np.uint8), np.ones(1, np.float32))
    flags1, ids1 = np.zeros(1, np.bool_), [0]
    eight = (np.zeros((8, 4), np.float32), np.zeros(8, np.uint8), np.ones(8, np.float32))
    flags8, ids8 = np.zeros(8, np.bool_), np.arange(8)
    td_errors = rng.standard_normal(64)
    experience: Experience = (np.zeros(4, np.float32), 0, 1.0, np.zeros(4, np.float32), False)

    def add1(buffer: ReplayBuffer) -> None:
        obs, action, reward = one
        buffer.add(obs, action, reward, obs, flags1, flags1, env_ids=ids1)

    def add8() -> None:
        obs, action, reward = eight
        uniform.add(obs, action, reward, obs, flags8, flags8, env_ids=ids8)

    def uniform_pair() -> None:
        add1(uniform)
        uniform.sample(64, rng)

    def uniform_pair8() -> None:
        add8()
        uniform.sample(64, rng)

    def prioritized_pair() -> None:
        batch = prioritized.sample(64, rng, beta=0.4)
        prioritized.update_priorities(batch.indices, td_errors)

    def deque_sample() -> list[Experience]:
        return [memory[i] for i in rng.integers(0, CAPACITY, 64)]

    scale = 10 if quick else 1
    return {
        "uniform: add 1 + sample 64": (uniform_pair, 20_000 // scale),
        "uniform: add 8 + sample 64": (uniform_pair8, 20_000 // scale),
        "uniform: add 1": (lambda: add1(uniform), 20_000 // scale),
        "uniform: sample 64": (lambda: uniform.sample(64, rng), 20_000 // scale),
        "uniform: sample 8192": (lambda: uniform.sample(8192, rng), 300 // scale),
        "prioritized: sample 64 + update 64": (prioritized_pair, 3_000 // scale),
        "prioritized: add 1": (lambda: add1(prioritized), 5_000 // scale),
        "deque: append 1": (lambda: memory.append(experience), 200_000 // scale),
        "deque: 64 items by index": (deque_sample, 300 // scale),
    }, {
        "uniform_nbytes": uniform.nbytes,
        "prioritized_nbytes": prioritized.nbytes,
        "deque_nbytes_estimate": deque_nbytes(memory),
    }


def timed_rounds(
    timed: dict[str, tuple[Callable[[], object], int]], rounds: int
) -> tuple[dict[str, list[float]], dict[str, list[float]]]:
    """Wall-clock and CPU µs per call of every path, one round of each in turn (the CPU time
    of this process leaves out the time other jobs held the cores)."""
    wall: dict[str, list[float]] = {name: [] for name in timed}
    cpu: dict[str, list[float]] = {name: [] for name in timed}
    for _ in range(rounds):
        for name, (operation, reps) in timed.items():
            start, cpu_start = time.perf_counter(), time.process_time()
            for _ in range(reps):
                operation()
            wall[name].append(1e6 * (time.perf_counter() - start) / reps)
            cpu[name].append(1e6 * (time.process_time() - cpu_start) / reps)
    return wall, cpu


def main() -> None:
    """Run the benchmark, print a Markdown table, write the JSON results."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--quick", action="store_true", help="a tenth of the calls per round (still 1M capacity)"
    )
    parser.add_argument("--rounds", type=int, default=None, help="rounds (default 7, quick 3)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", default=str(Path(__file__).parent / "results" / "buffers.json"))
    args = parser.parse_args()
    rounds = args.rounds or (3 if args.quick else 7)
    info = machine_info(gymnasium=gym.__version__)
    wall_start = time.perf_counter()

    rng = np.random.default_rng(args.seed)
    build_start = time.perf_counter()
    timed, memory = paths(rng, args.quick)
    build_s = time.perf_counter() - build_start
    results, cpu = timed_rounds(timed, rounds)
    medians = {name: statistics.median(us) for name, us in results.items()}
    cpu_medians = {name: statistics.median(us) for name, us in cpu.items()}

    mb = 1e-6
    print(f"memory at {CAPACITY:,} CartPole transitions (limit {MEMORY_LIMIT * mb:.0f} MB):")
    print(f"  ReplayBuffer             {memory['uniform_nbytes'] * mb:7.1f} MB")
    print(f"  PrioritizedReplayBuffer  {memory['prioritized_nbytes'] * mb:7.1f} MB")
    print(f"  deque of tuples (est.)   {memory['deque_nbytes_estimate'] * mb:7.1f} MB")
    print()
    print(
        f"| operation | µs per call (median of {rounds} rounds) | range | CPU µs per call "
        "| calls per round |"
    )
    print("|---|---:|---:|---:|---:|")
    for name, us in results.items():
        print(
            f"| {name} | {medians[name]:,.2f} | {min(us):,.2f}-{max(us):,.2f} "
            f"| {cpu_medians[name]:,.2f} | {timed[name][1]:,} |"
        )
    targets = {
        "uniform: add 1 + sample 64": 20.0,
        "prioritized: sample 64 + update 64": 200.0,
    }
    met = {name: medians[name] <= target for name, target in targets.items()}
    met["uniform_nbytes"] = memory["uniform_nbytes"] <= MEMORY_LIMIT
    print(f"targets met: {met}")

    report = {
        "benchmark": "buffers",
        "capacity": CAPACITY,
        "layout": "CartPole-v1: float32[4] observations, uint8 actions (from_spaces)",
        "quick": args.quick,
        "rounds": rounds,
        "seed": args.seed,
        **info,
        "build_s": build_s,
        "wall_s": time.perf_counter() - wall_start,
        "memory_bytes": memory,
        "memory_limit_bytes": MEMORY_LIMIT,
        "calls_per_round": {name: reps for name, (_, reps) in timed.items()},
        "us_per_call": {
            name: {"median": medians[name], "rounds": us} for name, us in results.items()
        },
        "cpu_us_per_call": {
            name: {"median": cpu_medians[name], "rounds": us} for name, us in cpu.items()
        },
        "targets_us": targets,
        "targets_met": met,
    }
    write_report(report, args.out)


if __name__ == "__main__":
    main()
