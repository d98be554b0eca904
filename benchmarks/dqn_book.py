"""The chapter's DQN learning curve on CartPole (Figure 18-10), re-drawn for several seeds.

The chapter trains its deep Q-network for 600 episodes (one episode, then one training step, per
iteration; episodes cut at 200 steps) and plots the sum of rewards of every episode: no apparent
progress for almost 300 episodes, then a jump to 200, then catastrophic forgetting. This script
builds :class:`rlworks.agents.DQN` from the bundled ``dqn-book`` preset (the chapter's settings)
for each seed, drives it 600 iterations with :class:`rlworks.training.driver.Driver`, records
every training episode's return (``agent.progress.episode_returns``), and evaluates the kept
best-episode weights greedily on 20 episodes (seeds 10,000 onwards, cut at 200 steps).

Per seed it reports the first episode whose return reached 200, the best return, the mean of the
last 50 episodes, the greedy evaluation mean and the wall time; it draws every seed's curve into
``docs/dqn-book.png`` and writes ``benchmarks/results/dqn-book.json``.

Run: ``python benchmarks/dqn_book.py [--seeds 0 1 2 3 4] [--iterations 600]``
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path
from typing import Any

import matplotlib
import numpy as np
from common import machine_info, write_report  # benchmarks/common.py, beside this script

import rlworks as rw
from rlworks.agents import DQN, DQNConfig
from rlworks.config import config_from_dict, find_preset, load_yaml
from rlworks.training.driver import Driver

ROOT = Path(__file__).resolve().parent
ENV_ID = "CartPole-v1"
MAX_EPISODE_STEPS = 200
EVAL_EPISODES, EVAL_SEED = 20, 10_000
LAST = 50  # episodes averaged at the end of the curve


def run_seed(seed: int, agent_settings: dict[str, Any], iterations: int) -> dict[str, Any]:
    """Train one seed for ``iterations`` episodes and evaluate its kept best weights."""
    start = time.perf_counter()
    env = rw.make_env(ENV_ID, n_envs=1, seed=seed, max_episode_steps=MAX_EPISODE_STEPS)
    agent = DQN(env, config_from_dict(DQNConfig, agent_settings), seed=seed, device="cpu")
    driver = Driver(env, agent.collect_policy, agent.observers)
    for _ in range(iterations):
        agent.train_iteration(driver)
    train_s = time.perf_counter() - start
    evaluation = rw.evaluate(
        agent,
        ENV_ID,
        episodes=EVAL_EPISODES,
        seed=EVAL_SEED,
        max_episode_steps=MAX_EPISODE_STEPS,
    )
    env.close()
    returns = [float(r) for r in agent.progress.episode_returns]
    first = next((i + 1 for i, r in enumerate(returns) if r >= MAX_EPISODE_STEPS), None)
    return {
        "seed": seed,
        "episodes": len(returns),
        "first_episode_at_200": first,  # 1-based, as the chapter's x axis
        "best_return": max(returns),
        "episodes_at_200": sum(r >= MAX_EPISODE_STEPS for r in returns),
        f"mean_last_{LAST}": float(np.mean(returns[-LAST:])),
        "greedy_eval_mean": evaluation.mean,
        "greedy_eval_std": evaluation.std,
        "gradient_steps": agent.gradient_steps,
        "env_steps": agent.progress.steps,
        "train_s": round(train_s, 1),
        "wall_s": round(time.perf_counter() - start, 1),
        "episode_returns": returns,
    }


def plot(rows: list[dict[str, Any]], figure: Path) -> None:
    """Every seed's sum of rewards per episode, thin lines on one panel, as Figure 18-10."""
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(8, 4.5))
    for row in rows:
        returns = row["episode_returns"]
        ax.plot(range(1, len(returns) + 1), returns, lw=0.7, alpha=0.8, label=f"seed {row['seed']}")
    ax.axhline(MAX_EPISODE_STEPS, color="gray", lw=0.6, ls="--")
    ax.set_xlabel("Episode")
    ax.set_ylabel("Sum of rewards")
    ax.set_title(f"DQN on {ENV_ID} (dqn-book preset, the chapter's Figure 18-10), per seed")
    ax.legend(fontsize=8, loc="upper left")
    ax.grid(alpha=0.3)
    figure.parent.mkdir(parents=True, exist_ok=True)
    fig.tight_layout()
    fig.savefig(figure, dpi=120)
    plt.close(fig)


def main() -> None:
    """Train every seed, plot the curves, write the report and print a markdown table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2, 3, 4], metavar="SEED")
    parser.add_argument(
        "--iterations", type=int, default=600, help="episodes, one training step after each"
    )
    parser.add_argument("--figure", default=str(ROOT.parent / "docs" / "dqn-book.png"))
    parser.add_argument("--out", default=str(ROOT / "results" / "dqn-book.json"))
    args = parser.parse_args()
    preset_path = find_preset("book", "dqn", ENV_ID)
    assert preset_path is not None
    settings = load_yaml(preset_path)["agent"]
    info = machine_info()
    rows = []
    for seed in args.seeds:
        rows.append(run_seed(seed, settings, args.iterations))
        row = rows[-1]
        print(f"seed {seed}: best {row['best_return']:.0f}, {row['wall_s']} s", flush=True)
    figure = Path(args.figure)
    plot(rows, figure)
    print(f"wrote {figure}")
    report = {
        "benchmark": "dqn-book",
        "env": ENV_ID,
        "preset": preset_path.stem,
        "iterations": args.iterations,
        "max_episode_steps": MAX_EPISODE_STEPS,
        "eval": {"episodes": EVAL_EPISODES, "seed": EVAL_SEED, "policy": "greedy, kept best"},
        "machine": info,
        "reached_200": f"{sum(r['first_episode_at_200'] is not None for r in rows)}/{len(rows)}",
        "seeds": rows,
        "figure": str(
            figure.relative_to(ROOT.parent) if figure.is_relative_to(ROOT.parent) else figure
        ),
    }
    write_report(report, args.out)
    print(
        f"\n| seed | first episode at 200 | best | mean of last {LAST} | greedy eval "
        f"({EVAL_EPISODES} ep.) | wall (s) |"
    )
    print("|---:|---:|---:|---:|---:|---:|")
    for row in rows:
        first = row["first_episode_at_200"]
        print(
            f"| {row['seed']} | {'—' if first is None else first} | {row['best_return']:.0f} | "
            f"{row[f'mean_last_{LAST}']:.1f} | {row['greedy_eval_mean']:.1f} | {row['wall_s']} |"
        )


if __name__ == "__main__":
    main()
