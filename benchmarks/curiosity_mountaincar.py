"""Curiosity on MountainCar-v0: does PPO + RND reach the flag where plain PPO does not?

Trains the bundled presets ``ppo-mountaincar`` (plain PPO) and ``ppo-rnd-mountaincar`` (the same
settings plus random network distillation) for each seed, each run in its own process
(``--parallel`` at a time), evaluating the deterministic policy every ``eval_every`` steps on
``eval_episodes`` episodes. Writes ``benchmarks/results/curiosity-mountaincar.json`` (per preset
and seed: every evaluation's mean and min, the first step whose evaluation mean beat -200 and
the first step at which every evaluation episode reached the goal, the wall time) and the figure
``docs/curiosity-mountaincar.png`` (both presets' evaluation curves). Runs go to
``benchmarks/results/curiosity-mountaincar/PRESET/seedS``.

Acceptance (issue 6): PPO + RND reaches the goal in every evaluation episode (eval mean > -200)
within 500k steps for at least 2 of 3 seeds; plain PPO with the same budget and seeds does not.

Run: ``python benchmarks/curiosity_mountaincar.py [--seeds 0 1 2] [--steps N] [--parallel 2]``.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import shutil
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

from common import machine_info  # benchmarks/common.py, beside this script

from rlworks.fileio import atomic_path, atomic_write_bytes

ROOT = Path(__file__).resolve().parent
ENV_ID = "MountainCar-v0"
PRESETS = ("ppo-mountaincar", "ppo-rnd-mountaincar")
LABELS = {"ppo-mountaincar": "PPO", "ppo-rnd-mountaincar": "PPO + RND"}
COLORS = {"ppo-mountaincar": "tab:gray", "ppo-rnd-mountaincar": "tab:blue"}
FAIL = -200.0  # the return of an episode that never reaches the flag (200-step time limit)


def shown(path: Path) -> str:
    """``path`` relative to the repository root where it lies inside it."""
    path = path.resolve()
    return str(path.relative_to(ROOT.parent) if path.is_relative_to(ROOT.parent) else path)


def train(preset: str, seed: int, steps: int, run_dir: Path) -> dict[str, Any]:
    """One preset and seed, start to end, in this (worker) process."""
    import rlworks as rw
    from rlworks.agents.ppo import PPO, PPOConfig
    from rlworks.config import config_from_dict, find_preset, load_yaml
    from rlworks.training.callbacks import Callback
    from rlworks.training.evaluation import EvalResult, evaluate
    from rlworks.training.trainer import TrainState

    evals: list[dict[str, float]] = []

    class EvalLog(Callback):
        """Evaluates the greedy policy every ``every`` steps and keeps each evaluation's
        lowest return as well as its mean (the trainer's own evaluations keep mean and std)."""

        def __init__(self, every: int, episodes: int) -> None:
            self.every, self.episodes, self.next = every, episodes, every

        def evaluate(self, state: TrainState) -> EvalResult:
            result = evaluate(agent, ENV_ID, episodes=self.episodes, seed=10_000)
            evals.append(
                {
                    "step": state.step,
                    "mean": result.mean,
                    "min": result.min,
                    "wall_s": round(state.wall_s, 1),
                    "intrinsic_reward": state.info.get("intrinsic_reward", 0.0),
                }
            )
            return result

        def on_iteration(self, state: TrainState) -> None:
            if state.step >= self.next:
                self.next += self.every
                self.evaluate(state)

        def on_train_end(self, state: TrainState) -> None:
            if not evals or evals[-1]["step"] != state.step:
                self.evaluate(state)

    path = find_preset(preset, "ppo", ENV_ID)
    assert path is not None
    data = load_yaml(path)
    settings = data.get("train", {})
    config = config_from_dict(PPOConfig, data["agent"], source=str(path))
    shutil.rmtree(run_dir, ignore_errors=True)
    env = rw.make_env(ENV_ID, n_envs=int(settings["n_envs"]), seed=seed)
    agent = PPO(env, config, seed=seed, device="cpu")
    start = time.perf_counter()
    result = agent.learn(
        steps,
        eval_every=0,  # EvalLog evaluates
        eval_episodes=int(settings["eval_episodes"]),
        log_every=int(settings["log_every"]),
        run_dir=run_dir,
        progress=False,
        callbacks=[EvalLog(int(settings["eval_every"]), int(settings["eval_episodes"]))],
    )
    wall = time.perf_counter() - start
    first_mean = next((e["step"] for e in evals if e["mean"] > FAIL), None)
    first_all = next((e["step"] for e in evals if e["min"] > FAIL), None)
    return {
        "preset": preset,
        "seed": seed,
        "first_step_eval_mean_above_-200": first_mean,
        "first_step_every_episode_reached_goal": first_all,
        "final_eval_mean": evals[-1]["mean"],
        "best_eval_mean": max((e["mean"] for e in evals), default=None),
        "steps": result.steps,
        "wall_s": round(wall, 1),
        "steps_per_s": result.steps_per_s,
        "evals": evals,
        "run_dir": shown(run_dir),
    }


def plot(rows: list[dict[str, Any]], out: Path, steps: int) -> None:
    """Evaluation mean per step, one line per run, one colour per preset."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(8, 4.5))
    labelled: set[str] = set()
    for row in rows:
        preset = row["preset"]
        xs = [e["step"] for e in row["evals"]]
        ys = [e["mean"] for e in row["evals"]]
        label = None if preset in labelled else LABELS[preset]
        labelled.add(preset)
        ax.plot(xs, ys, color=COLORS[preset], alpha=0.85, lw=1.4, label=label)
    ax.axhline(FAIL, color="black", ls="--", lw=0.8)
    ax.set(xlabel="environment steps", ylabel="eval mean return (deterministic policy)")
    ax.set_xlim(0, steps)
    ax.set_title(f"{ENV_ID}: PPO vs PPO + RND, seeds {sorted({r['seed'] for r in rows})}")
    ax.legend(loc="lower right")
    fig.tight_layout()
    with atomic_path(out) as tmp:
        fig.savefig(tmp, dpi=110)
    plt.close(fig)


def main(argv: list[str] | None = None) -> None:
    """Train every preset and seed, plot, write the report and print a summary table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2], metavar="SEED")
    parser.add_argument("--steps", type=int, default=500_000, help="step budget per run")
    parser.add_argument("--parallel", type=int, default=2, help="runs trained at once")
    parser.add_argument("--presets", nargs="+", default=list(PRESETS), choices=PRESETS)
    parser.add_argument("--results", default=str(ROOT / "results"))
    parser.add_argument("--figure", default=str(ROOT.parent / "docs" / "curiosity-mountaincar.png"))
    args = parser.parse_args(argv)
    results = Path(args.results)
    runs = results / "curiosity-mountaincar"
    jobs = [(p, s) for s in args.seeds for p in args.presets]  # each seed's pair together
    info = machine_info()
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(max_workers=args.parallel, mp_context=context) as pool:
        futures = [pool.submit(train, p, s, args.steps, runs / p / f"seed{s}") for p, s in jobs]
        rows = [f.result() for f in futures]
    plot(rows, Path(args.figure), args.steps)
    summary = {}
    for preset in args.presets:
        mine = [r for r in rows if r["preset"] == preset]
        solved = sum(r["first_step_every_episode_reached_goal"] is not None for r in mine)
        summary[preset] = f"{solved}/{len(mine)} seeds reached the goal in every eval episode"
    report = {
        "benchmark": "curiosity-mountaincar",
        "env": ENV_ID,
        "steps_budget": args.steps,
        "parallel": args.parallel,
        "machine": info,
        "summary": summary,
        "runs": rows,
        "figure": shown(Path(args.figure)),
    }
    out = results / "curiosity-mountaincar.json"
    atomic_write_bytes(out, (json.dumps(report, indent=2) + "\n").encode())
    print(f"wrote {out}")
    print("\n| preset | seed | eval mean > -200 at | all episodes at goal at | final | wall s |")
    print("|---|---:|---:|---:|---:|---:|")
    for r in rows:
        a, b = r["first_step_eval_mean_above_-200"], r["first_step_every_episode_reached_goal"]
        print(
            f"| {r['preset']} | {r['seed']} | {'—' if a is None else f'{a:,}'} | "
            f"{'—' if b is None else f'{b:,}'} | {r['final_eval_mean']:.1f} | {r['wall_s']} |"
        )
    for preset, line in summary.items():
        print(f"{preset}: {line}")


if __name__ == "__main__":
    main()
