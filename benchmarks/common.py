"""What every benchmark script shares: a description of the machine and writing its results.

The scripts run as ``python benchmarks/NAME.py``, so this module is imported as ``common``.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np

from rlworks.bench.harness import machine_info as bench_machine_info


def run_bench_case(case: str, argv: list[str]) -> int:
    """``rlworks bench CASE ARGV``, writing under this checkout whatever the working directory
    (the options, ``--help`` and protocol are the command's)."""
    from rlworks.cli import main as rlworks

    root = Path(__file__).resolve().parent.parent
    paths = ["--out", str(root / "benchmarks" / "results")]
    if "--no-docs" not in argv:
        paths += ["--docs", str(root / "docs" / "benchmarks.md")]
    return rlworks(["bench", case, *paths, *argv])


def machine_info(**versions: str) -> dict[str, Any]:
    """The harness's machine description (CPU, cores, memory, load at start, library versions)
    plus ``versions``."""
    info = bench_machine_info()
    info.update(versions)
    return info


def write_report(report: dict[str, Any], out: str | Path) -> None:
    """Write ``report`` as indented JSON to ``out`` (creating its folder) and say so."""
    path = Path(out)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(report, indent=2) + "\n")
    print(f"wrote {path}")


def raw_gymnasium(env_id: str, steps: int, seed: int) -> float:
    """Steps per second of one ``gymnasium.make(env_id)`` env (Discrete actions) stepped in a
    plain Python loop, with actions drawn in advance from a seeded ``default_rng`` and ``reset()``
    at episode ends: the physical limit of a single-environment loop."""
    env = gym.make(env_id)
    assert isinstance(env.action_space, gym.spaces.Discrete)
    n = int(env.action_space.n)
    actions = np.random.default_rng(seed).integers(0, n, size=steps).tolist()
    env.reset(seed=seed)
    start = time.perf_counter()
    for action in actions:
        _, _, terminated, truncated, _ = env.step(action)
        if terminated or truncated:
            env.reset()
    elapsed = time.perf_counter() - start
    env.close()
    return steps / elapsed


def vector_env_rate(env: gym.vector.VectorEnv, steps: int, seed: int) -> float:
    """Steps per second of a vector env alone (Discrete actions), stepped with seeded random
    action batches and no agent. Rows that are only a next-step autoreset are not counted, as
    the driver does not broadcast them. Closes ``env``."""
    space = env.single_action_space
    assert isinstance(space, gym.spaces.Discrete)
    n_envs, n_actions = env.num_envs, int(space.n)
    rng = np.random.default_rng(seed)
    env.reset(seed=seed)
    prev_done = np.zeros(n_envs, dtype=bool)
    counted = 0
    start = time.perf_counter()
    while counted < steps:
        _, _, terminated, truncated, _ = env.step(rng.integers(0, n_actions, size=n_envs))
        counted += n_envs - int(np.count_nonzero(prev_done))
        prev_done = terminated | truncated
    elapsed = time.perf_counter() - start
    env.close()
    return counted / elapsed
