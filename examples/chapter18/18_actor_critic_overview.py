"""Chapter 18, "Overview of Some Popular RL Algorithms": A2C, A3C, PPO, SAC and curiosity.

The chapter closes with a tour of the algorithms it does not implement: actor-critics (a policy
network that learns from a value network's estimates instead of whole-episode returns), A3C (many
agents exploring copies of the environment, each pushing updates to a master network at its own
pace and pulling its weights back), A2C (the same, synchronous, on larger batches), SAC (an
actor-critic that also maximizes the entropy of its actions) and PPO (A2C with a clipped loss that
keeps each update small), and curiosity (an intrinsic reward for reaching what the agent cannot
yet predict, for tasks whose rewards are rare). rlworks implements all of them; this script
trains each briefly with its bundled preset and plots the curves:

* ``a2c``, ``a3c`` (2 worker processes) and ``ppo`` on CartPole-v1, the chapter's running task;
* ``sac`` on Pendulum-v1 (SAC needs continuous actions);
* ``ppo`` with random network distillation (RND, the ``ppo-rnd-mountaincar`` preset) on
  MountainCar-v0, whose only reward is -1 per step until the car reaches the flag.

The runs are short demonstrations (``--scale`` multiplies every budget); the learning results the
presets reach with their full budgets are in ``docs/benchmarks.md``. Each run writes its run
directory under ``--out`` (default: a temporary directory) and evaluates the greedy or
deterministic policy along the way; the curves go to three PNG files, one per environment,
named ``PREFIX-ENV.png`` after ``--plot PREFIX`` (default: ``curves`` in the output
directory). Seeds: ``--seed`` drives every environment and network; A3C's two workers
interleave their updates as the operating system schedules them, so its run is not
bit-reproducible.

The script asserts that every run finished its budget (or reached its target) with a finite
evaluation, and, for the default seed, that the CartPole runs got an evaluation mean of at least
200 within their brief budgets. Measured 2026-12-06 (seed 0, a busy 2-core machine, 39 s in
all): A2C, A3C and PPO reached the CartPole target of 475 at 20,033, 20,017 and 25,076 steps
(4.7k, 3.5k and 6.4k steps/s); SAC's 600 steps on Pendulum are too few to learn (-1,473); PPO +
RND on MountainCar reached the flag in every evaluation episode from its first evaluation, at
5,120 steps (-118.5), where a policy that never gets there scores -200.

Run: ``python examples/chapter18/18_actor_critic_overview.py [--seed 0] [--scale 1] [--out DIR]
[--plot PREFIX]``
"""

from __future__ import annotations

import argparse
import math
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import rlworks as rw
from rlworks.agents import get_algorithm
from rlworks.config import config_from_dict, find_preset, load_yaml
from rlworks.training import EvalResult
from rlworks.training.callbacks import Callback
from rlworks.training.trainer import TrainState
from rlworks.viz.curves import plot_learning_curves


@dataclass(frozen=True)
class Run:
    """One short training run: algorithm, environment, bundled preset, step budget."""

    algo: str
    env: str
    preset: str
    steps: int
    eval_every: int


RUNS = [
    Run("a2c", "CartPole-v1", "a2c-cartpole", 30_000, 5_000),
    Run("a3c", "CartPole-v1", "a3c-cartpole", 30_000, 5_000),
    Run("ppo", "CartPole-v1", "ppo-cartpole", 30_000, 5_000),
    Run("sac", "Pendulum-v1", "sac-pendulum", 600, 300),
    Run("ppo", "MountainCar-v0", "ppo-rnd-mountaincar", 10_000, 5_000),
]


class BestEval(Callback):
    """Remembers the best evaluation mean and prints each evaluation."""

    def __init__(self, label: str) -> None:
        self.label = label
        self.best = -math.inf

    def on_eval(self, state: TrainState, result: EvalResult) -> None:
        self.best = max(self.best, result.mean)
        print(f"  {self.label}: step {state.step:>7,}  eval {result.mean:8.1f} ± {result.std:.1f}")


def train_one(run: Run, seed: int, scale: float, out: Path) -> tuple[Path, Any, float]:
    """Train ``run`` with its preset; returns its run directory, result and best evaluation."""
    cls = get_algorithm(run.algo)
    path = find_preset(run.preset, run.algo, run.env)
    assert path is not None
    preset = load_yaml(path)
    config = config_from_dict(cls.config_cls, preset.get("agent", {}), source=f"preset {path.name}")
    train = preset.get("train", {})
    steps = max(int(run.steps * scale), 1)
    env = rw.make_env(run.env, n_envs=int(train.get("n_envs", 1)), seed=seed)
    agent = cls(env, config, seed=seed, device="cpu")
    label = f"{run.algo} ({run.preset})"
    tracker = BestEval(label)
    run_dir = out / f"{run.preset}-seed{seed}"
    result = agent.learn(
        steps,
        eval_every=max(int(run.eval_every * scale), 1),
        eval_episodes=int(train.get("eval_episodes", 10)),
        target_return=train.get("target_return"),
        run_dir=run_dir,
        progress=False,
        callbacks=[tracker],
    )
    env.close()
    print(
        f"{label} on {run.env}: {result.steps:,} steps in {result.wall_s:.1f} s "
        f"({result.steps_per_s:,.0f} steps/s), final eval {result.eval_mean:.1f}, "
        f"stopped: {result.stop_reason}"
    )
    return run_dir, result, max(tracker.best, result.eval_mean)


def main(argv: list[str] | None = None) -> None:
    """Train every overview algorithm briefly and plot the curves per environment."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0], allow_abbrev=False)
    parser.add_argument("--seed", type=int, default=0, help="seed of envs and agents")
    parser.add_argument("--scale", type=float, default=1.0, help="multiplies every step budget")
    parser.add_argument("--out", type=Path, default=None, help="parent of the run directories")
    parser.add_argument(
        "--plot",
        type=Path,
        default=None,
        help="prefix of the curve PNG files (default: OUT/curves)",
    )
    args, _ = parser.parse_known_args(argv)  # known only: the test suite runs under pytest's argv
    with tempfile.TemporaryDirectory() as scratch:
        out = args.out or Path(scratch)
        by_env: dict[str, list[tuple[Path, str]]] = {}
        best: dict[str, float] = {}
        for run in RUNS:
            run_dir, result, best_eval = train_one(run, args.seed, args.scale, out)
            assert result.steps >= int(run.steps * args.scale) or result.solved_at_step, run
            assert math.isfinite(result.eval_mean), run
            by_env.setdefault(run.env, []).append((run_dir, run.algo))
            best[f"{run.algo}/{run.env}"] = best_eval
        prefix = args.plot or out / "curves"
        for env_id, runs in by_env.items():
            png = Path(f"{prefix}-{env_id}.png")
            plot_learning_curves(
                [d for d, _ in runs], png, labels=[a for _, a in runs], title=env_id
            )
            assert png.stat().st_size > 0
            print(f"curves: {png}")
    print("best evaluation of each run:", {k: round(v, 1) for k, v in best.items()})
    if args.seed == 0 and args.scale >= 1.0:
        assert max(v for k, v in best.items() if k.endswith("CartPole-v1")) >= 200, best


if __name__ == "__main__":
    main()
