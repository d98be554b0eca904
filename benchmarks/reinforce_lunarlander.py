"""REINFORCE on LunarLander-v3, the chapter's exercise: does the tuned preset land within 2M steps?

Runs ``rlworks train reinforce LunarLander-v3`` (the bundled ``reinforce-lunarlander`` preset) for
each seed as its own process, ``--parallel`` at a time, each in a run directory under
``benchmarks/results/reinforce-lunarlander/``, then draws every seed's learning curve into one
figure (``docs/reinforce-lunarlander.png``) and writes
``benchmarks/results/reinforce-lunarlander.json`` with, per seed: the first step at which the
greedy policy's mean return over the evaluation episodes reached the target, the wall time to
it, the final evaluation, and the steps/s.

Acceptance (issue 4): eval mean >= 100 within 2M steps for at least 2 of 3 seeds.

Run: ``python benchmarks/reinforce_lunarlander.py [--seeds 0 1 2] [--steps 2000000]
[--target 100] [--parallel 2]``. Needs the ``box2d`` extra (``pip install -e .[box2d]``).
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from common import machine_info, write_report  # benchmarks/common.py, beside this script

from rlworks.viz.curves import plot_learning_curves, read_metrics

ROOT = Path(__file__).resolve().parent
RUNS = ROOT / "results" / "reinforce-lunarlander"
ENV_ID = "LunarLander-v3"


def train(seed: int, steps: int, target: float) -> dict[str, Any]:
    """One seed's whole ``rlworks train`` command, timed from start to exit."""
    run_dir = RUNS / f"seed{seed}"
    shutil.rmtree(run_dir, ignore_errors=True)
    command = [
        sys.executable, "-m", "rlworks.cli", "train", "reinforce", ENV_ID,
        "--seed", str(seed), "--steps", str(steps), "--target-return", str(target),
        "--run-dir", str(run_dir), "--quiet", "--json",
    ]  # fmt: skip
    start = time.perf_counter()
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    wall = time.perf_counter() - start
    if done.returncode != 0:
        raise SystemExit(f"seed {seed} failed ({done.returncode}):\n{done.stderr[-2000:]}")
    result = json.loads(done.stdout.strip().splitlines()[-1])
    table = read_metrics(run_dir)
    evals = [
        (int(s), float(m))
        for s, m in zip(table["step"], table["eval_mean"], strict=True)
        if m == m  # not NaN: an evaluation row
    ]
    return {
        "seed": seed,
        "solved_at_step": result["solved_at_step"],
        "solved_at_s": result["solved_at_s"],
        "final_eval_mean": result["eval_mean"],
        "best_eval_mean": max(m for _, m in evals) if evals else None,
        "steps": result["steps"],
        "steps_per_s": result["steps_per_s"],
        "command_wall_s": round(wall, 1),
        "evals": evals,
        "run_dir": str(run_dir.relative_to(ROOT.parent)),
    }


def main() -> None:
    """Train every seed, plot the curves, write the report and print a summary table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--steps", type=int, default=2_000_000)
    parser.add_argument("--target", type=float, default=100.0)
    parser.add_argument("--parallel", type=int, default=2, help="seeds trained at once")
    parser.add_argument("--figure", default=str(ROOT.parent / "docs" / "reinforce-lunarlander.png"))
    args = parser.parse_args()
    try:
        import Box2D  # noqa: F401
    except ImportError:
        raise SystemExit("LunarLander needs Box2D: pip install -e '.[box2d]'") from None
    info = machine_info()
    with ThreadPoolExecutor(max_workers=args.parallel) as pool:
        rows = list(pool.map(lambda s: train(s, args.steps, args.target), args.seeds))
    plot_learning_curves(
        [RUNS / f"seed{seed}" for seed in args.seeds],
        args.figure,
        labels=[f"seed {seed}" for seed in args.seeds],
        target_return=args.target,
        title=f"REINFORCE on {ENV_ID} (reinforce-lunarlander preset), seeds {args.seeds}",
    )
    solved = sum(row["solved_at_step"] is not None for row in rows)
    report = {
        "benchmark": "reinforce-lunarlander",
        "env": ENV_ID,
        "steps_budget": args.steps,
        "target": args.target,
        "parallel": args.parallel,
        "machine": info,
        "solved": f"{solved}/{len(rows)}",
        "seeds": rows,
        "figure": args.figure,
    }
    write_report(report, ROOT / "results" / "reinforce-lunarlander.json")
    print(f"\n| seed | reached {args.target:g} at step | wall to it (s) | final eval | steps/s |")
    print("|---:|---:|---:|---:|---:|")
    for row in rows:
        at = row["solved_at_step"]
        print(
            f"| {row['seed']} | {'—' if at is None else f'{at:,}'} | "
            f"{'—' if at is None else row['solved_at_s']} | {row['final_eval_mean']:.1f} | "
            f"{row['steps_per_s']:,.0f} |"
        )
    print(f"solved {solved} of {len(rows)} seeds")


if __name__ == "__main__":
    main()
