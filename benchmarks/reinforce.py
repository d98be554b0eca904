"""REINFORCE on CartPole-v1: training throughput and time to solve, next to the raw env rate.

Measures, in one process and one run, with the paths interleaved (one of each per round, seed =
round, so the machine's drift hits all of them alike):

* ``raw``: one ``gymnasium.make("CartPole-v1")`` env stepped in a plain Python loop with actions
  drawn in advance from a seeded ``numpy.random.default_rng`` and ``reset()`` at episode ends —
  the physical limit of a single-environment loop;
* ``env alone``: ``rlworks.make_env("CartPole-v1", n_envs=10)`` (Gymnasium's native
  ``CartPoleVectorEnv``) stepped with seeded random action batches, no agent (the rows that are
  only a next-step autoreset are not counted, as the driver does not broadcast them);
* ``REINFORCE training``: ``Reinforce`` with the tuned ``reinforce-cartpole`` preset's settings
  in ``make_env("CartPole-v1", n_envs=10)``, ``agent.train_iteration(driver)`` in a loop from a
  fresh agent until ``--steps`` environment steps (whole iterations: play 10 episodes, one update;
  no evaluation), one torch thread as the trainer uses; also how that time splits into acting,
  updating and the rest, and the share of the vector env's steps that were used;
* ``time to solve``: ``agent.learn(...)`` with all of the preset's settings (evaluation of the
  greedy policy every 10,000 steps on 20 episodes, stop at a mean of 475): the step and the
  trainer's clock at which it was solved, and the wall time of the whole call;
* ``CLI``: the whole-command wall time of ``rlworks train reinforce CartPole-v1 --seed S --json``
  (a fresh process: imports, the run directory with its checkpoint, metrics and curve, in a
  temporary folder given with ``--run-dir``) for the seeds of ``--cli-seeds``.

Reports the medians and the share of the raw rate; writes ``benchmarks/results/reinforce.json``.

Run: ``python benchmarks/reinforce.py [--steps 50000] [--repeats 5] [--cli-seeds 0 1 2 3 4]``
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import common  # benchmarks/common.py, beside this script
import gymnasium as gym
import numpy as np
import torch
from common import machine_info, write_report

import rlworks as rw
from rlworks.agents import Reinforce, ReinforceConfig
from rlworks.config import config_from_dict, find_preset, load_yaml
from rlworks.training import Driver

ENV_ID = "CartPole-v1"
PRESET = "reinforce-cartpole"
RAW = "raw gymnasium, 1 env"
ENV_ALONE = "rlworks make_env(n_envs=10), random actions, no agent"
TRAINING = "REINFORCE training (train_iteration loop, no evaluation)"


def preset() -> tuple[ReinforceConfig, dict[str, Any]]:
    """The tuned preset's agent config and train settings."""
    path = find_preset(PRESET, "reinforce", ENV_ID)
    assert path is not None
    data = load_yaml(path)
    return config_from_dict(ReinforceConfig, data["agent"], source=path.name), data["train"]


# ----------------------------------------------------------------------------- the paths
def raw_gymnasium(steps: int, seed: int) -> float:
    """Steps per second of a plain single-env Gymnasium loop."""
    return common.raw_gymnasium(ENV_ID, steps, seed)


def env_alone(steps: int, seed: int, n_envs: int) -> float:
    """Steps per second of rlworks' vector env alone, random action batches, no agent."""
    return common.vector_env_rate(rw.make_env(ENV_ID, n_envs, seed=seed), steps, seed)


def reinforce_training(steps: int, seed: int) -> dict[str, float]:
    """Steps per second of REINFORCE's collect-and-update loop from a fresh agent, with the time
    split into acting, updating and the rest (vector env + driver), and the share of the vector
    env's steps that were used (a copy whose episode has ended idles, its steps discarded, until
    the longest of the iteration's episodes ends)."""
    config, train = preset()
    env = rw.make_env(ENV_ID, train["n_envs"], seed=seed)
    agent = Reinforce(env, config, seed=seed)
    spent = {"act": 0.0, "update": 0.0}
    calls = 0
    act, update = agent.collect_policy, agent.update

    def timed_act(obs: np.ndarray) -> np.ndarray:
        nonlocal calls
        start = time.perf_counter()
        actions = act(obs)
        spent["act"] += time.perf_counter() - start
        calls += 1
        return actions

    def timed_update(batch: Any) -> dict[str, float]:
        start = time.perf_counter()
        info = update(batch)
        spent["update"] += time.perf_counter() - start
        return info

    agent.update = timed_update  # type: ignore[method-assign]
    driver = Driver(env, timed_act, agent.observers)
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # as the trainer does (TrainConfig.torch_threads)
    try:
        start = time.perf_counter()
        info: dict[str, float] = {}
        while driver.total_steps < steps:
            info = agent.train_iteration(driver)
        elapsed = time.perf_counter() - start
    finally:
        torch.set_num_threads(threads)
    env.close()
    return {
        "steps": driver.total_steps,
        "steps_per_s": driver.total_steps / elapsed,
        "iterations": agent.iterations,
        "act_share": spent["act"] / elapsed,
        "update_share": spent["update"] / elapsed,
        "env_and_driver_share": 1 - (spent["act"] + spent["update"]) / elapsed,
        "used_share_of_env_steps": driver.total_steps / (calls * env.num_envs),
        "us_per_vector_step": 1e6 * (elapsed - spent["update"]) / calls,
        "last_return_mean": info["return_mean"],
    }


def time_to_solve(seed: int) -> dict[str, Any]:
    """``agent.learn`` with all of the preset's settings, until it reaches the target."""
    config, train = preset()
    env = rw.make_env(ENV_ID, train["n_envs"], seed=seed)
    agent = Reinforce(env, config, seed=seed)
    settings = {k: v for k, v in train.items() if k != "steps"}
    start = time.perf_counter()
    result = agent.learn(train["steps"], **settings, progress=False)
    wall = time.perf_counter() - start
    env.close()
    return {
        "solved_at_step": result.solved_at_step,
        "solved_at_s": result.solved_at_s,
        "learn_wall_s": wall,
        "steps": result.steps,
        "eval_mean": result.eval_mean,
        "stop_reason": result.stop_reason,
    }


def cli_wall(seed: int) -> dict[str, Any]:
    """Wall time of the whole ``rlworks train reinforce CartPole-v1 --seed S --json`` command."""
    command = [str(Path(sys.executable).parent / "rlworks"), "train", "reinforce", ENV_ID]
    command += ["--seed", str(seed), "--json"]
    with tempfile.TemporaryDirectory() as tmp:
        start = time.perf_counter()
        done = subprocess.run(
            [*command, "--run-dir", str(Path(tmp) / "run")],
            capture_output=True,
            text=True,
            check=True,
        )
        wall = time.perf_counter() - start
    result = json.loads(done.stdout.strip().splitlines()[-1])
    return {
        "command": " ".join([Path(command[0]).name, *command[1:]]),
        "wall_s": wall,
        "train_wall_s": result["wall_s"],
        "solved_at_step": result["solved_at_step"],
        "solved_at_s": result["solved_at_s"],
    }


# ----------------------------------------------------------------------------- the run
def summary(rates: list[float], raw_rates: list[float]) -> dict[str, Any]:
    """Median rate, its share of the median raw rate, and the share in each round."""
    rate = statistics.median(rates)
    return {
        "rates": rates,
        "median": rate,
        "share_of_raw": rate / statistics.median(raw_rates),
        "share_per_round": [r / base for r, base in zip(rates, raw_rates, strict=True)],
    }


def main() -> None:
    """Run the benchmark, print Markdown tables, write the JSON results."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=50_000, help="steps per throughput run")
    parser.add_argument("--repeats", type=int, default=5, help="rounds (seeds 0..repeats-1)")
    parser.add_argument("--cli-seeds", type=int, nargs="*", default=[0, 1, 2, 3, 4])
    parser.add_argument("--out", default=str(Path(__file__).parent / "results" / "reinforce.json"))
    args = parser.parse_args()
    info = machine_info(gymnasium=gym.__version__, torch=torch.__version__)
    wall_start = time.perf_counter()
    config, train = preset()

    raw_rates: list[float] = []
    alone_rates: list[float] = []
    training: list[dict[str, float]] = []
    solves: list[dict[str, Any]] = []
    cli: list[dict[str, Any]] = []
    for seed in range(args.repeats):
        raw_rates.append(raw_gymnasium(args.steps, seed))
        alone_rates.append(env_alone(args.steps, seed, train["n_envs"]))
        training.append(reinforce_training(args.steps, seed))
        solves.append(time_to_solve(seed))
        if seed in args.cli_seeds:
            cli.append({"seed": seed, **cli_wall(seed)})
        print(f"round {seed + 1}/{args.repeats} done ({time.perf_counter() - wall_start:.0f} s)")

    raw = summary(raw_rates, raw_rates)
    alone = summary(alone_rates, raw_rates)
    train_s = summary([t["steps_per_s"] for t in training], raw_rates)
    print(
        f"\n{ENV_ID}, {args.steps:,} steps per throughput run, median of {args.repeats} "
        f"interleaved rounds; preset {PRESET}: {dataclasses.asdict(config)}\n"
    )
    print(f"| path | steps/s (median of {args.repeats}) | share of raw | share per round |")
    print("|---|---:|---:|---|")
    for name, row in [(RAW, raw), (ENV_ALONE, alone), (TRAINING, train_s)]:
        shares = row["share_per_round"]
        print(
            f"| {name} | {row['median']:,.0f} | {row['share_of_raw']:.0%} | "
            f"{min(shares):.0%}–{max(shares):.0%} |"
        )
    split = {
        key: statistics.median(t[key] for t in training)
        for key in ("act_share", "update_share", "env_and_driver_share",
                    "used_share_of_env_steps", "us_per_vector_step")
    }  # fmt: skip
    print(
        f"\nREINFORCE training, medians: time in act {split['act_share']:.0%}, in update "
        f"{split['update_share']:.0%}, in env + driver {split['env_and_driver_share']:.0%}; "
        f"{split['used_share_of_env_steps']:.0%} of the vector env's steps used; "
        f"{split['us_per_vector_step']:.0f} µs per vector step of {train['n_envs']} copies "
        "(act + env + driver)"
    )

    print(
        "\n| seed | solved at step | trainer clock at solve, s | agent.learn wall, s | "
        "CLI wall, s | CLI solved at step |"
    )
    print("|---:|---:|---:|---:|---:|---:|")
    by_seed = {c["seed"]: c for c in cli}
    for seed, solve in enumerate(solves):
        c = by_seed.get(seed)
        cli_cells = f"{c['wall_s']:.1f} | {c['solved_at_step']}" if c else "- | -"
        print(
            f"| {seed} | {solve['solved_at_step'] or 'not solved'} | "
            f"{solve['solved_at_s'] or float('nan'):.1f} | {solve['learn_wall_s']:.1f} | "
            f"{cli_cells} |"
        )
    solved = [s for s in solves if s["solved_at_step"] is not None]
    medians: dict[str, Any] = {"solved": f"{len(solved)}/{len(solves)}"}
    if solved:
        medians["solved_at_step"] = statistics.median(s["solved_at_step"] for s in solved)
        medians["solved_at_s"] = statistics.median(s["solved_at_s"] for s in solved)
        medians["learn_wall_s"] = statistics.median(s["learn_wall_s"] for s in solves)
    if cli:
        medians["cli_wall_s"] = statistics.median(c["wall_s"] for c in cli)
    print(f"\nmedians: {medians}")

    info["loadavg_at_end"] = list(os.getloadavg())
    wall = time.perf_counter() - wall_start
    print(
        f"wall time {wall:.0f} s; load average start {info.get('loadavg_at_start')}, "
        f"end {info['loadavg_at_end']}"
    )
    report = {
        "benchmark": "reinforce",
        "env": ENV_ID,
        "preset": PRESET,
        "agent_config": dataclasses.asdict(config),
        "train_settings": train,
        "steps": args.steps,
        "repeats": args.repeats,
        **info,
        "wall_s": wall,
        "raw": raw,
        "env_alone": {"n_envs": train["n_envs"], **alone},
        "training": {**train_s, "runs": training, "median_split": split},
        "time_to_solve": solves,
        "cli": cli,
        "medians": medians,
    }
    write_report(report, args.out)


if __name__ == "__main__":
    main()
