"""LunarLander learning benchmark: does ALGO's preset land within its step budget, per seed?

Runs ``rlworks train ALGO LunarLander-v3`` (or ``--env LunarLanderContinuous-v3``; the bundled
``ALGO-lunarlander`` or ``ALGO-lunarlander-continuous`` preset, or ``--preset``) for each seed as
its own process, ``--parallel`` at a time, each in a run directory under
``benchmarks/results/NAME/`` (``NAME`` is the preset's name unless ``--name`` says otherwise),
then draws every seed's learning curve into one figure (``docs/NAME.png``) and writes
``benchmarks/results/NAME.json`` with, per seed: the first step at which the greedy policy's mean
return over the evaluation episodes reached the target, the wall time to it, the final and best
evaluations, and the steps/s. Training stops at the target (``--target-return``).

Defaults per algorithm: ``reinforce`` 2,000,000 steps, target 100 (issue 4's acceptance: eval
mean >= 100 within 2M steps for at least 2 of 3 seeds); ``dqn`` 300,000 steps, target 200 (the
environment's "solved" threshold); any other algorithm takes its preset's step budget and a
target of 200.

Run: ``python benchmarks/lunarlander.py ALGO [--env ENV] [--preset NAME] [--seeds 0 1 2]
[--steps N] [--target R] [--parallel 2] [--name NAME] [--results DIR] [--figure PNG]``; e.g.
``python benchmarks/lunarlander.py sac --env LunarLanderContinuous-v3`` (issue 6: eval mean >= 200
within 300k steps for at least 2 of 3 seeds). Needs the ``box2d``
extra (``pip install -e .[box2d]``).
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

from rlworks.config import find_preset, load_yaml
from rlworks.viz.curves import plot_learning_curves, read_metrics

ROOT = Path(__file__).resolve().parent
ENVS = ("LunarLander-v3", "LunarLanderContinuous-v3")
DEFAULTS: dict[str, tuple[int, float]] = {  # algo: (step budget, target return)
    "reinforce": (2_000_000, 100.0),
    "dqn": (300_000, 200.0),
}
DEFAULT_TARGET = 200.0  # LunarLander's "solved" threshold
TITLES = {"reinforce": "REINFORCE", "dqn": "DQN", "sac": "SAC"}  # as the figures print them


def shown(path: Path) -> str:
    """``path`` relative to the repository root where it lies inside it."""
    return str(path.relative_to(ROOT.parent) if path.is_relative_to(ROOT.parent) else path)


def train(
    algo: str,
    env_id: str,
    preset: str | None,
    seed: int,
    steps: int,
    target: float,
    run_dir: Path,
) -> dict[str, Any]:
    """One seed's whole ``rlworks train`` command, timed from start to exit."""
    shutil.rmtree(run_dir, ignore_errors=True)
    command = [
        sys.executable, "-m", "rlworks.cli", "train", algo, env_id,
        "--seed", str(seed), "--steps", str(steps), "--target-return", str(target),
        "--run-dir", str(run_dir), "--quiet", "--json",
    ]  # fmt: skip
    if preset is not None:
        command += ["--preset", preset]
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
        "run_dir": shown(run_dir),
    }


def main(argv: list[str] | None = None) -> None:
    """Train every seed, plot the curves, write the report and print a summary table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("algo", help="algorithm, as `rlworks train` names it (reinforce, dqn, ...)")
    parser.add_argument("--env", choices=ENVS, default=ENVS[0], help="environment (%(default)s)")
    parser.add_argument("--preset", help="preset name or YAML file (default: ALGO's for ENV)")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2], metavar="SEED")
    parser.add_argument("--steps", type=int, help="step budget per seed (default: per ALGO)")
    parser.add_argument("--target", type=float, help="eval mean that counts as solved")
    parser.add_argument("--parallel", type=int, default=2, help="seeds trained at once")
    parser.add_argument("--name", help="names the run folder, report and figure (the preset's)")
    parser.add_argument(
        "--results", default=str(ROOT / "results"), help="folder of the run folder and report"
    )
    parser.add_argument("--figure", help="learning-curve PNG (default: docs/NAME.png)")
    args = parser.parse_args(argv)
    try:
        import Box2D  # noqa: F401
    except ImportError:
        raise SystemExit("LunarLander needs Box2D: pip install -e '.[box2d]'") from None
    env_id = args.env
    preset_path = find_preset(args.preset, args.algo, env_id)
    if preset_path is None:
        raise SystemExit(f"no bundled {args.algo} preset for {env_id}: pass --preset")
    preset_steps = load_yaml(preset_path).get("train", {}).get("steps")
    default_steps, default_target = DEFAULTS.get(args.algo, (preset_steps, DEFAULT_TARGET))
    steps = args.steps if args.steps is not None else default_steps
    if steps is None:
        raise SystemExit(f"preset {preset_path.stem} sets no step budget: pass --steps")
    target = args.target if args.target is not None else default_target
    name = args.name or preset_path.stem
    results = Path(args.results)
    runs = results / name
    figure = Path(args.figure) if args.figure else ROOT.parent / "docs" / f"{name}.png"

    info = machine_info()
    with ThreadPoolExecutor(max_workers=args.parallel) as pool:
        rows = list(
            pool.map(
                lambda s: train(
                    args.algo, env_id, args.preset, s, steps, target, runs / f"seed{s}"
                ),
                args.seeds,
            )
        )
    title = f"{TITLES.get(args.algo, args.algo)} on {env_id} ({preset_path.stem} preset)"
    plot_learning_curves(
        [runs / f"seed{seed}" for seed in args.seeds],
        figure,
        labels=[f"seed {seed}" for seed in args.seeds],
        target_return=target,
        title=f"{title}, seeds {args.seeds}",
    )
    solved = sum(row["solved_at_step"] is not None for row in rows)
    report = {
        "benchmark": name,
        "algo": args.algo,
        "preset": preset_path.stem,
        "env": env_id,
        "steps_budget": steps,
        "target": target,
        "parallel": args.parallel,
        "machine": info,
        "solved": f"{solved}/{len(rows)}",
        "seeds": rows,
        "figure": shown(figure),
    }
    write_report(report, results / f"{name}.json")
    print(f"\n| seed | reached {target:g} at step | wall to it (s) | final eval | steps/s |")
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
