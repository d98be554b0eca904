"""How much of the raw environment step rate the collection stack keeps.

Measures, in one process and one run, random-policy collection of CartPole-v1 steps:

* ``raw``: one ``gymnasium.make("CartPole-v1")`` env stepped in a plain Python loop with
  ``action_space.sample()`` and ``reset()`` at episode ends — the physical limit of a
  single-environment loop;
* ``rlworks``: ``rlworks.make_env("CartPole-v1", n_envs=8)`` + ``Driver`` + the four training
  metrics (NumberOfEpisodes, EnvironmentSteps, AverageReturn, AverageEpisodeLength) + a random
  batch policy — what every rlworks algorithm collects through;
* the same with 64 environments, to show how the native vector env scales;
* the same with ``vectorization="sync"`` (eight ``gymnasium.make`` copies), the
  path environments without a native vector entry point take.

Reports steps/s (median of ``--repeats`` runs) and the share of the raw rate kept. Writes
``benchmarks/results/collect.json``.

Run: ``python benchmarks/collect.py [--steps 200000] [--repeats 3]``
"""

from __future__ import annotations

import argparse
import platform
import statistics
import time
from collections.abc import Callable
from pathlib import Path

import gymnasium as gym
import torch
from common import write_report  # benchmarks/common.py, beside this script

import rlworks as rw
from rlworks.policies import random_policy
from rlworks.training import (
    AverageEpisodeLength,
    AverageReturn,
    Driver,
    EnvironmentSteps,
    NumberOfEpisodes,
)

ENV_ID = "CartPole-v1"


def raw_gymnasium(steps: int, seed: int) -> float:
    """Steps per second of a plain single-env Gymnasium loop."""
    env = gym.make(ENV_ID)
    env.action_space.seed(seed)
    env.reset(seed=seed)
    start = time.perf_counter()
    for _ in range(steps):
        _, _, terminated, truncated, _ = env.step(env.action_space.sample())
        if terminated or truncated:
            env.reset()
    elapsed = time.perf_counter() - start
    env.close()
    return steps / elapsed


def rlworks_driver(steps: int, seed: int, n_envs: int = 8, vectorization: str = "auto") -> float:
    """Steps per second of make_env + Driver + metrics with a random policy."""
    env = rw.make_env(ENV_ID, n_envs, seed=seed, vectorization=vectorization)  # type: ignore[arg-type]
    metrics = [NumberOfEpisodes(), EnvironmentSteps(), AverageReturn(), AverageEpisodeLength()]
    driver = Driver(env, random_policy(env.single_action_space, seed), metrics)
    driver.reset()
    start = time.perf_counter()
    result = driver.run(num_steps=steps)
    elapsed = time.perf_counter() - start
    env.close()
    assert metrics[1].result() == result.steps >= steps
    return result.steps / elapsed


def interleaved_rates(
    paths: dict[str, Callable[[int, int], float]], steps: int, repeats: int
) -> dict[str, list[float]]:
    """Rates of every path, ``repeats`` rounds, each round running every path once (seed = round),
    so that the machine's drift during the run affects all paths alike."""
    rates: dict[str, list[float]] = {name: [] for name in paths}
    for seed in range(repeats):
        for name, fn in paths.items():
            rates[name].append(fn(steps, seed))
    return rates


def main() -> None:
    """Run the benchmark and print a Markdown table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=200_000)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--out", default=str(Path(__file__).parent / "results" / "collect.json"))
    args = parser.parse_args()

    paths: dict[str, Callable[[int, int], float]] = {
        "raw gymnasium, 1 env": raw_gymnasium,
        "rlworks make_env(n_envs=8) + Driver + metrics": rlworks_driver,
        "rlworks make_env(n_envs=64) + Driver + metrics": lambda n, s: rlworks_driver(
            n, s, n_envs=64
        ),
        "rlworks, vectorization='sync' (8 copies)": lambda n, s: rlworks_driver(
            n, s, vectorization="sync"
        ),
    }
    runs = interleaved_rates(paths, args.steps, args.repeats)
    raw = statistics.median(runs["raw gymnasium, 1 env"])
    print(f"| path | steps/s (median of {args.repeats}) | share of raw |")
    print("|---|---:|---:|")
    rows = []
    for name, rates in runs.items():
        rate = statistics.median(rates)
        rows.append({"path": name, "rates": rates, "median": rate, "share_of_raw": rate / raw})
        print(f"| {name} | {rate:,.0f} | {rate / raw:.0%} |")
    report = {
        "benchmark": "collect",
        "env": ENV_ID,
        "steps": args.steps,
        "repeats": args.repeats,
        "python": platform.python_version(),
        "gymnasium": gym.__version__,
        "torch": torch.__version__,
        "rlworks": rw.__version__,
        "machine": platform.machine(),
        "rows": rows,
    }
    write_report(report, args.out)


if __name__ == "__main__":
    main()
