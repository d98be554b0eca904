"""How much of raw Gymnasium stepping speed tabular Q-learning keeps on FrozenLake-v1.

Measures, in one process and one run, with the paths interleaved (one of each per round, so the
machine's drift hits all of them alike), environment steps per second of:

* ``raw``: one ``gymnasium.make("FrozenLake-v1")`` env (4x4, slippery, the registered wrappers)
  stepped in a plain Python loop with actions drawn in advance from a seeded
  ``numpy.random.default_rng`` and ``reset()`` at episode ends — the physical limit;
* ``env alone, sync``: Gymnasium's ``SyncVectorEnv`` of ``n`` ``gymnasium.make`` copies stepped
  with seeded random action batches, no agent — Gymnasium's own vector overhead;
* ``env alone, native``: ``rlworks.make_env(..., vectorization="native")`` (a
  ``TabularVectorEnv``) stepped the same way, no agent. This is NOT Gymnasium's stepping code: it
  steps FrozenLake's own transition table ``P`` for all copies at once with NumPy (identical
  dynamics and 100-step time limit, a different random stream);
* ``rlworks Q-learning``: ``rlworks.make_env("FrozenLake-v1", n, vectorization=v)`` +
  ``Driver(env, agent.collect_policy, agent.observers)`` with a ``QLearning`` agent (ε-greedy,
  the tabular-frozenlake preset: gamma 0.99, alpha0 0.1, decay 1e-4, epsilon_decay_steps
  100,000): every transition updates the table;

for ``v`` = ``"sync"`` at ``n`` = 1, 8, 32, 64 and ``v`` = ``"native"`` at ``n`` = 1, 8, 16, 32,
64 (the rows that are only a next-step autoreset are not counted in the env-alone rows, as the
driver does not broadcast them). Each round also runs ``agent.learn(...)`` end to end at
``--learn-n-envs`` for both vectorizations (the trainer: driver, four metrics, diagnostics;
``eval_every=0`` so only the final 1,000-episode evaluation runs, timed separately and excluded;
the evaluation env is Gymnasium's in both cases). Reports the median steps/s of ``--repeats``
rounds and the share of the raw single-env rate kept (goal: >= 50%), and once per configuration
an instrumented driver run that splits the time per step into acting, learning, and the
environment plus driver. Writes ``benchmarks/results/tabular.json``.

Run: ``python benchmarks/tabular.py [--steps 40000] [--repeats 5] [--vectorization sync native]``
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import statistics
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import common  # benchmarks/common.py, beside this script
import gymnasium as gym
import numpy as np
from common import machine_info, write_report

import rlworks as rw
from rlworks.tabular.agents import QLearning, TabularConfig
from rlworks.training import Driver
from rlworks.training.callbacks import Callback
from rlworks.types import Transition

ENV_ID = "FrozenLake-v1"
VECTORIZATIONS = ("sync", "native")
N_ENVS = {"sync": (1, 8, 32, 64), "native": (1, 8, 16, 32, 64)}
GOAL = 0.5  # acceptance: tabular learning keeps >= 50% of raw Gymnasium stepping speed
RAW = "raw gymnasium, 1 env"
NATIVE_NOTE = (
    'note: "native" = make_env(..., vectorization="native"), a TabularVectorEnv that steps '
    "FrozenLake's own transition table for all copies with NumPy (identical dynamics and time "
    "limit, a different random stream; evaluation still runs on Gymnasium's env). It replaces "
    "Gymnasium's per-env Python stepping, so it is not Gymnasium's stepping code."
)


def preset_config() -> TabularConfig:
    """The tabular-frozenlake preset's agent settings."""
    return TabularConfig(gamma=0.99, alpha0=0.1, decay=1e-4, epsilon_decay_steps=100_000)


# ----------------------------------------------------------------------------- the paths
def raw_gymnasium(steps: int, seed: int) -> float:
    """Steps per second of a plain single-env Gymnasium loop."""
    return common.raw_gymnasium(ENV_ID, steps, seed)


def make_vector_env(n_envs: int, seed: int, vectorization: str) -> gym.vector.VectorEnv:
    """The env alone: Gymnasium's SyncVectorEnv of gymnasium.make copies, or rlworks' native one."""
    if vectorization == "sync":
        return gym.vector.SyncVectorEnv([lambda: gym.make(ENV_ID) for _ in range(n_envs)])
    return rw.make_env(ENV_ID, n_envs, seed=seed, vectorization="native")


def vector_env_alone(steps: int, seed: int, n_envs: int, vectorization: str) -> float:
    """Steps per second of the vector env alone, random action batches, no agent."""
    return common.vector_env_rate(make_vector_env(n_envs, seed, vectorization), steps, seed)


def rlworks_q_learning(steps: int, seed: int, n_envs: int, vectorization: str) -> float:
    """Steps per second of make_env + Driver + QLearning's collect policy and observers."""
    env = rw.make_env(ENV_ID, n_envs, seed=seed, vectorization=vectorization)
    agent = QLearning(env, preset_config(), seed=seed)
    driver = Driver(env, agent.collect_policy, agent.observers)
    driver.reset()
    start = time.perf_counter()
    result = driver.run(num_steps=steps)
    elapsed = time.perf_counter() - start
    env.close()
    assert agent.steps == result.steps >= steps
    return result.steps / elapsed


class _EvalTimer(Callback):
    """Records when the last training iteration ended and when the final evaluation ended."""

    def __init__(self) -> None:
        self.last_iteration = self.eval_end = 0.0

    def on_iteration(self, state: Any) -> None:
        self.last_iteration = time.perf_counter()

    def on_eval(self, state: Any, result: Any) -> None:
        self.eval_end = time.perf_counter()


def rlworks_learn(steps: int, seed: int, n_envs: int, vectorization: str) -> dict[str, float]:
    """``agent.learn`` end to end: train steps/s without the final evaluation, and its time."""
    env = rw.make_env(ENV_ID, n_envs, seed=seed, vectorization=vectorization)
    agent = QLearning(env, preset_config(), seed=seed)
    timer = _EvalTimer()
    start = time.perf_counter()
    result = agent.learn(
        steps,
        n_envs=n_envs,
        vectorization=vectorization,
        eval_every=0,
        eval_episodes=1000,
        log_every=10_000,
        progress=False,
        callbacks=[timer],
    )
    total = time.perf_counter() - start
    env.close()
    train_s = timer.last_iteration - start
    return {
        "steps": result.steps,
        "train_steps_per_s": result.steps / train_s,
        "final_eval_s": timer.eval_end - timer.last_iteration,
        "total_s": total,
        "eval_mean": result.eval_mean,
    }


def breakdown(steps: int, seed: int, n_envs: int, vectorization: str) -> dict[str, float]:
    """Microseconds per environment step in the agent's act and update, and everything else."""
    env = rw.make_env(ENV_ID, n_envs, seed=seed, vectorization=vectorization)
    agent = QLearning(env, preset_config(), seed=seed)
    spent = {"act": 0.0, "update": 0.0}
    act, (learn,) = agent.collect_policy, agent.observers

    def timed_act(obs: np.ndarray) -> np.ndarray:
        start = time.perf_counter()
        actions = act(obs)
        spent["act"] += time.perf_counter() - start
        return actions

    def timed_learn(transition: Transition) -> None:
        start = time.perf_counter()
        learn(transition)
        spent["update"] += time.perf_counter() - start

    driver = Driver(env, timed_act, [timed_learn])
    driver.reset()
    start = time.perf_counter()
    result = driver.run(num_steps=steps)
    total = time.perf_counter() - start
    env.close()
    per_step = 1e6 / result.steps
    return {
        "act_us": spent["act"] * per_step,
        "update_us": spent["update"] * per_step,
        "env_and_driver_us": (total - spent["act"] - spent["update"]) * per_step,
        "total_us": total * per_step,
    }


# ----------------------------------------------------------------------------- the run
def env_name(v: str, n: int) -> str:
    return f"env alone, {v}, {n} envs"


def q_name(v: str, n: int) -> str:
    return f"rlworks Q-learning, {v}, {n} envs"


def learn_name(v: str, n: int) -> str:
    return f"agent.learn, {v}, {n} envs"


def interleaved_runs(paths: dict[str, Callable[[int], Any]], repeats: int) -> dict[str, list[Any]]:
    """Results of every path, ``repeats`` rounds, each round running every path once (seed =
    round), so that the machine's drift during the run affects all paths alike."""
    runs: dict[str, list[Any]] = {name: [] for name in paths}
    for seed in range(repeats):
        for name, fn in paths.items():
            runs[name].append(fn(seed))
    return runs


def main() -> None:
    """Run the benchmark, print Markdown tables, write the JSON results."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=40_000)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument(
        "--vectorization", nargs="+", choices=VECTORIZATIONS, default=list(VECTORIZATIONS)
    )
    parser.add_argument("--sync-n-envs", type=int, nargs="+", default=list(N_ENVS["sync"]))
    parser.add_argument("--native-n-envs", type=int, nargs="+", default=list(N_ENVS["native"]))
    parser.add_argument("--learn-steps", type=int, default=50_000)
    parser.add_argument("--learn-n-envs", type=int, nargs="+", default=[8, 64])
    parser.add_argument("--out", default=str(Path(__file__).parent / "results" / "tabular.json"))
    args = parser.parse_args()
    info = machine_info(gymnasium=gym.__version__)
    wall_start = time.perf_counter()
    configs = {
        v: args.sync_n_envs if v == "sync" else args.native_n_envs for v in args.vectorization
    }
    steps, learn_steps = args.steps, args.learn_steps

    paths: dict[str, Callable[[int], Any]] = {RAW: lambda r: raw_gymnasium(steps, r)}
    for v, ns in configs.items():
        for n in ns:
            paths[env_name(v, n)] = lambda r, n=n, v=v: vector_env_alone(steps, r, n, v)
            paths[q_name(v, n)] = lambda r, n=n, v=v: rlworks_q_learning(steps, r, n, v)
    for v in configs:
        for n in args.learn_n_envs:
            paths[learn_name(v, n)] = lambda r, n=n, v=v: rlworks_learn(learn_steps, r, n, v)
    runs = interleaved_runs(paths, args.repeats)
    splits = {(v, n): breakdown(steps, 0, n, v) for v, ns in configs.items() for n in ns}

    raw_rates = runs[RAW]
    raw = statistics.median(raw_rates)

    def summary(rates: list[float]) -> dict[str, Any]:
        shares = [r / base for r, base in zip(rates, raw_rates, strict=True)]
        rate = statistics.median(rates)
        return {"rates": rates, "median": rate, "share_of_raw": rate / raw,
                "share_per_round": shares}  # fmt: skip

    def spread(shares: list[float]) -> str:
        return f"{min(shares):.0%}–{max(shares):.0%}"

    print(
        f"{ENV_ID}, {steps:,} steps per run, median of {args.repeats} interleaved rounds; "
        f"raw gymnasium 1 env: {raw:,.0f} steps/s ({1e6 / raw:.1f} µs/step), "
        f"per round {', '.join(f'{r:,.0f}' for r in raw_rates)}"
    )
    print(NATIVE_NOTE)
    print()
    print(
        "| vectorization | n_envs | env alone steps/s | share of raw | rlworks Q-learning "
        "steps/s | share of raw | share per round | >= 50% |"
    )
    print("|---|---:|---:|---:|---:|---:|---|---|")
    rows = []
    for v, ns in configs.items():
        for n in ns:
            env_s, q_s = summary(runs[env_name(v, n)]), summary(runs[q_name(v, n)])
            rows.append({"vectorization": v, "n_envs": n, "env_alone": env_s, "q_learning": q_s})
            print(
                f"| {v} | {n} | {env_s['median']:,.0f} | {env_s['share_of_raw']:.0%} | "
                f"{q_s['median']:,.0f} | {q_s['share_of_raw']:.0%} | "
                f"{spread(q_s['share_per_round'])} | "
                f"{'yes' if q_s['share_of_raw'] >= GOAL else 'no'} |"
            )
    print()
    print(
        f"agent.learn({learn_steps:,}, eval_every=0, eval_episodes=1000): train steps/s "
        "(final evaluation excluded, timed apart)"
    )
    print()
    print(
        "| vectorization | n_envs | train steps/s | share of raw | share per round | "
        "final eval s | >= 50% |"
    )
    print("|---|---:|---:|---:|---|---:|---|")
    learn_rows = []
    for v in configs:
        for n in args.learn_n_envs:
            results = runs[learn_name(v, n)]
            learn_s = summary([r["train_steps_per_s"] for r in results])
            eval_s = statistics.median(r["final_eval_s"] for r in results)
            learn_rows.append({"vectorization": v, "n_envs": n, "runs": results, **learn_s,
                               "median_final_eval_s": eval_s})  # fmt: skip
            print(
                f"| {v} | {n} | {learn_s['median']:,.0f} | {learn_s['share_of_raw']:.0%} | "
                f"{spread(learn_s['share_per_round'])} | {eval_s:.2f} | "
                f"{'yes' if learn_s['share_of_raw'] >= GOAL else 'no'} |"
            )
    print()
    print(
        "| vectorization | n_envs | act µs/step | update µs/step | env + driver µs/step | "
        "total µs/step |"
    )
    print("|---|---:|---:|---:|---:|---:|")
    for (v, n), split in splits.items():
        print(
            f"| {v} | {n} | {split['act_us']:.1f} | {split['update_us']:.1f} | "
            f"{split['env_and_driver_us']:.1f} | {split['total_us']:.1f} |"
        )
    print(f"(raw gymnasium: {1e6 / raw:.1f} µs/step)")
    print()
    meets = [(r["vectorization"], r["n_envs"]) for r in rows
             if r["q_learning"]["share_of_raw"] >= GOAL]  # fmt: skip
    learn_meets = [(r["vectorization"], r["n_envs"]) for r in learn_rows
                   if r["share_of_raw"] >= GOAL]  # fmt: skip
    for v, ns in configs.items():
        ok = [n for (vv, n) in meets if vv == v]
        misses = [n for n in ns if n not in ok]
        verdict = "PASS" if ok else "FAIL"
        print(
            f"{verdict} [{v}]: Q-learning keeps >= {GOAL:.0%} of raw single-env gymnasium "
            f"stepping at n_envs {', '.join(map(str, ok)) or 'none'}; below at "
            f"{', '.join(map(str, misses)) or 'none'}"
        )
        ok_learn = [n for (vv, n) in learn_meets if vv == v]
        of = ", ".join(map(str, args.learn_n_envs))
        print(
            f"{'PASS' if ok_learn else 'FAIL'} [{v}] agent.learn: >= {GOAL:.0%} at n_envs "
            f"{', '.join(map(str, ok_learn)) or 'none'} (of {of})"
        )
    if "native" in configs:
        print("(PASS [native] is met with rlworks' NumPy stepping of the table, not Gymnasium's)")
    info["loadavg_at_end"] = list(os.getloadavg())
    wall = time.perf_counter() - wall_start
    print(f"wall time {wall:.0f} s; load average start {info.get('loadavg_at_start')}, end "
          f"{info['loadavg_at_end']}")  # fmt: skip
    report = {
        "benchmark": "tabular",
        "env": ENV_ID,
        "steps": steps,
        "repeats": args.repeats,
        "vectorizations": configs,
        "native_note": NATIVE_NOTE,
        "agent_config": dataclasses.asdict(preset_config()),
        **info,
        "wall_s": wall,
        "raw": summary(raw_rates),
        "rows": rows,
        "learn": learn_rows,
        "learn_steps": learn_steps,
        "breakdown_us_per_step": {f"{v}/{n}": split for (v, n), split in splits.items()},
        "goal_share_of_raw": GOAL,
        "meeting_goal": [{"vectorization": v, "n_envs": n} for v, n in meets],
        "learn_meeting_goal": [{"vectorization": v, "n_envs": n} for v, n in learn_meets],
    }
    write_report(report, args.out)


if __name__ == "__main__":
    main()
