"""Subnormal floats in Adam: what flushing them to zero buys, measured side by side.

Two measurements, each with the trainer's ``flush_denormals`` off and on, interleaved:

* ``adam``: one fused Adam step (:class:`rlworks.optim.FlatAdam`) over 67,586 parameters (rl-zoo's
  [256, 256] CartPole Q-network) whose gradient is zero after one nonzero step, so that the
  first-moment estimates decay by β1 = 0.9 per step into subnormals (after ~800 steps); median
  µs per step over ``--rounds`` rounds of 2,000 steps, after 1,000 warm-up steps;
* ``dqn``: ``rlworks train dqn CartPole-v1 --preset zoo`` (one torch thread, one environment, no
  evaluation until the end) for ``--steps`` steps per run as its own process, alternating the
  order; the trainer's steps/s and the final evaluation, which should not change.

Writes ``benchmarks/results/denormals.json`` and prints a Markdown table.

Run: ``python benchmarks/denormals.py [--steps 20000] [--runs 2] [--rounds 5]``
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import torch
from common import machine_info, write_report  # benchmarks/common.py, beside this script

from rlworks.optim import FlatAdam, flush_denormals

ROOT = Path(__file__).resolve().parent
N_PARAMS = 4 * 256 + 256 + 256 * 256 + 256 + 256 * 2 + 2  # [4] -> 256 -> 256 -> [2]


def adam_step_us(flush: bool, steps: int = 2000) -> float:
    """µs per FlatAdam step once the moments of zero-gradient weights went subnormal."""
    param = torch.zeros(N_PARAMS)
    param.grad = torch.randn(N_PARAMS, generator=torch.Generator().manual_seed(0))
    adam = FlatAdam(param, 1e-3)
    adam.step()
    param.grad.zero_()  # from now on every moment only decays
    if flush:
        with flush_denormals():
            return _timed_steps(adam, steps)
    return _timed_steps(adam, steps)


def _timed_steps(adam: FlatAdam, steps: int) -> float:
    for _ in range(1000):  # into the subnormal range (0.9^800 x 0.1 < 1.2e-38)
        adam.step()
    start = time.perf_counter()
    for _ in range(steps):
        adam.step()
    return (time.perf_counter() - start) / steps * 1e6


def dqn_run(flush: bool, steps: int, seed: int) -> dict[str, Any]:
    """One ``rlworks train dqn CartPole-v1 --preset zoo`` process; its JSON result."""
    with tempfile.TemporaryDirectory() as tmp:
        command = [
            sys.executable, "-m", "rlworks.cli", "train", "dqn", "CartPole-v1",
            "--preset", "zoo", "--set", "train.torch_threads=1",
            "--set", f"train.flush_denormals={'true' if flush else 'false'}",
            "--seed", str(seed), "--n-envs", "1", "--device", "cpu", "--steps", str(steps),
            "--eval-every", "0", "--eval-episodes", "20", "--run-dir", f"{tmp}/run",
            "--quiet", "--json",
        ]  # fmt: skip
        done = subprocess.run(command, capture_output=True, text=True, check=True)
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def main(argv: list[str] | None = None) -> None:
    """Measure both, write the report and print the table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=20_000, help="DQN steps per run")
    parser.add_argument("--runs", type=int, default=2, help="DQN runs per setting")
    parser.add_argument("--rounds", type=int, default=5, help="Adam timing rounds per setting")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    info = machine_info()

    adam: dict[str, list[float]] = {"off": [], "on": []}
    for _ in range(args.rounds):
        for name in ("off", "on"):
            adam[name].append(adam_step_us(name == "on"))
    dqn: dict[str, list[dict[str, Any]]] = {"off": [], "on": []}
    for run in range(args.runs):
        order = ("off", "on") if run % 2 == 0 else ("on", "off")
        for name in order:
            dqn[name].append(dqn_run(name == "on", args.steps, args.seed))
            print(f"dqn flush {name}: {dqn[name][-1]['steps_per_s']:,.0f} steps/s", flush=True)

    rows = {}
    for name in ("off", "on"):
        rows[name] = {
            "adam_step_us": round(statistics.median(adam[name]), 1),
            "dqn_steps_per_s": round(statistics.median(r["steps_per_s"] for r in dqn[name]), 1),
            "dqn_eval_means": [r["eval_mean"] for r in dqn[name]],
        }
    report = {
        "benchmark": "denormals",
        "machine": info,
        "adam_params": N_PARAMS,
        "dqn_steps": args.steps,
        "seed": args.seed,
        "results": rows,
        "raw": {"adam_us": adam, "dqn": dqn},
    }
    write_report(report, ROOT / "results" / "denormals.json")
    print("\n| flush_denormals | Adam step, µs | DQN CartPole zoo, steps/s | final eval |")
    print("|---|---:|---:|---|")
    for name in ("off", "on"):
        row = rows[name]
        evals = ", ".join(f"{m:.1f}" for m in row["dqn_eval_means"])
        print(f"| {name} | {row['adam_step_us']:,.1f} | {row['dqn_steps_per_s']:,.0f} | {evals} |")


if __name__ == "__main__":
    main()
