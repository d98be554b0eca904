"""rlworks against Stable-Baselines3: the benchmark cases, running them, the medians and ratios.

A :class:`BenchCase` is data: the rlworks command (algorithm, environment, preset, ``--set``
overrides) and the SB3 algorithm with its constructor kwargs in SB3's own names, both meaning the
same hyperparameters, plus the protocol (environments, step budgets, target return, evaluation).
New algorithms add a case to :data:`CASES`, not code.

:func:`run_case` runs, per seed, each library in its own process, alternating which goes first
(rlworks on even seeds, SB3 on odd), two kinds of runs:

* throughput (the seeds of ``throughput_seeds``): the whole step budget, evaluation only at the
  end; env steps/s = steps ÷ the training-loop clock (rlworks: ``steps_per_s`` of
  ``rlworks train --json``; SB3: :mod:`rlworks.bench.sb3_runner`'s, time in ``model.learn`` plus
  the final evaluation, as rlworks' trainer counts it);
* time to solve: the whole command timed from process start to exit (Python and torch imports
  included), evaluating the deterministic policy every ``eval_every`` steps on ``eval_episodes``
  episodes (episode k reset with seed + 10,000 + k) and stopping at the first mean >= target.

:func:`aggregate` turns the run records into per-seed rows, medians and rlworks/SB3 ratios;
:func:`render_section` and :func:`update_docs` write the case's marked section of
``docs/benchmarks.md``; :func:`write_results` writes ``benchmarks/results/<case>.json``. Both
files are written atomically.

This module never imports Stable-Baselines3 (nor torch): the SB3 side runs in
:mod:`rlworks.bench.sb3_runner`'s own process; without SB3 installed rlworks runs alone.
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
import importlib.util
import json
import math
import os
import platform
import re
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from rlworks.errors import ConfigError, RLWorksError

__all__ = [
    "CASES",
    "BenchCase",
    "BenchError",
    "RunSpec",
    "aggregate",
    "get_case",
    "machine_info",
    "plan_runs",
    "render_section",
    "replace_section",
    "rlworks_command",
    "run_case",
    "sb3_available",
    "sb3_command",
    "summary_table",
    "update_docs",
    "write_results",
]

Library = Literal["rlworks", "sb3"]
Kind = Literal["throughput", "solve"]
LIBRARY_NAMES = {"rlworks": "rlworks", "sb3": "SB3"}


class BenchError(RLWorksError):
    """A benchmark run failed (its process exited non-zero or printed no JSON result)."""


# --------------------------------------------------------------------------- cases
@dataclass(frozen=True)
class BenchCase:
    """One comparison: the same hyperparameters in rlworks and in Stable-Baselines3."""

    name: str
    """Case name used on the command line and in file names, e.g. ``dqn-cartpole``."""
    title: str
    """Heading of the docs section, e.g. ``DQN on CartPole-v1``."""
    algo: str
    """rlworks algorithm (``rlworks train ALGO ENV``)."""
    env: str
    """Gymnasium environment id, the same for both libraries."""
    preset: str | None
    """rlworks preset holding the hyperparameters (``--preset``); None: the bundled default."""
    sb3_algo: str
    """Stable-Baselines3 algorithm class name, e.g. ``DQN``."""
    sb3_kwargs: Mapping[str, Any]
    """SB3 constructor kwargs in SB3's names, JSON-friendly (see ``sb3_runner.decode_kwargs``)."""
    throughput_steps: int
    """Step budget of a throughput run."""
    solve_steps: int
    """Step budget (the most steps) of a time-to-solve run."""
    target_return: float
    """Solved at the first evaluation whose mean reaches this."""
    n_envs: int = 1
    """Parallel environment copies, the same for both libraries."""
    eval_every: int = 5_000
    """Evaluate every this many env steps in time-to-solve runs."""
    eval_episodes: int = 20
    """Deterministic episodes per evaluation."""
    overrides: tuple[str, ...] = ()
    """Extra ``--set KEY=VALUE`` for the rlworks side."""
    sb3_policy: str = "MlpPolicy"
    """SB3 policy name."""
    torch_threads: int | None = 1
    """torch threads for both libraries (None: each library's own default)."""
    notes: str = ""
    """Anything else the docs paragraph should say about this case."""
    window: tuple[int, int] | None = None
    """A throughput window (START, END): each run trains until END env steps and reports the
    steps/s between START and END only (after learning has started), with no evaluation; such
    a case has no time-to-solve runs (``solve_steps`` and ``target_return`` are unused)."""
    atari: bool = False
    """Atari preprocessing on both sides: rlworks' ``make_env(..., atari=True)``, SB3's
    ``make_atari_env`` + ``VecFrameStack(4)`` (window cases only)."""
    frames_per_step: int = 1
    """Emulator frames per agent step (Atari's frame skip): frames/s = this × steps/s."""


DQN_ZOO_CARTPOLE = {
    "learning_rate": 2.3e-3,
    "batch_size": 64,
    "buffer_size": 100_000,
    "learning_starts": 1_000,
    "gamma": 0.99,
    "target_update_interval": 10,
    "train_freq": 256,
    "gradient_steps": 128,
    "exploration_fraction": 0.16,
    "exploration_final_eps": 0.04,
    "policy_kwargs": {"net_arch": [256, 256]},
}

PPO_ZOO_CARTPOLE = {
    "n_steps": 32,
    "batch_size": 256,
    "n_epochs": 20,
    "gae_lambda": 0.8,
    "gamma": 0.98,
    "learning_rate": "lin_1e-3",
    "clip_range": "lin_0.2",
    "ent_coef": 0.0,
    "vf_coef": 0.5,
    "max_grad_norm": 0.5,
    "policy_kwargs": {"net_arch": {"pi": [64, 64], "vf": [64, 64]}, "activation_fn": "tanh"},
}

SAC_ZOO_PENDULUM = {
    "learning_rate": 1e-3,
    "buffer_size": 1_000_000,
    "learning_starts": 100,
    "batch_size": 256,
    "tau": 0.005,
    "gamma": 0.99,
    "train_freq": 1,
    "gradient_steps": 1,
    "ent_coef": "auto",
    "target_entropy": "auto",
    "policy_kwargs": {"net_arch": [256, 256], "activation_fn": "relu"},
}

DQN_ZOO_ATARI = {
    "learning_rate": 1e-4,
    "buffer_size": 50_000,
    "learning_starts": 1_000,
    "batch_size": 32,
    "gamma": 0.99,
    "target_update_interval": 1_000,
    "train_freq": 4,
    "gradient_steps": 1,
    "exploration_fraction": 0.1,
    "exploration_final_eps": 0.01,
    "optimize_memory_usage": True,
    "replay_buffer_kwargs": {"handle_timeout_termination": False},
}
"""rl-baselines3-zoo's Atari DQN, with learning started after 1,000 steps and a 50,000-frame
buffer (the zoo: 100,000 and 100,000) so that a short run measures the training loop; SB3 keeps
each observation once (``optimize_memory_usage``), as rlworks' frame buffer does."""

BREAKOUT_WINDOW = (2_000, 6_000)

DQN_BREAKOUT_OVERRIDES = (
    "agent.learning_rate=0.0001",
    "agent.optimizer_eps=1e-8",  # torch's Adam default, which SB3 uses
    "agent.buffer_size=50000",
    "agent.learning_starts=1000",
    "agent.batch_size=32",
    "agent.gamma=0.99",
    "agent.target_update_period=1000",
    "agent.train_freq=4",
    "agent.gradient_steps=1",
    "agent.exploration_initial_eps=1.0",
    "agent.exploration_final_eps=0.01",
    f"agent.exploration_duration={BREAKOUT_WINDOW[1] // 10}",  # SB3: 0.1 of the budget
    "agent.loss=huber",
    "agent.max_grad_norm=10",
    "agent.async_collection=true",
)

CASES: dict[str, BenchCase] = {
    case.name: case
    for case in (
        BenchCase(
            name="dqn-cartpole",
            title="DQN on CartPole-v1",
            algo="dqn",
            env="CartPole-v1",
            preset="zoo",
            sb3_algo="DQN",
            sb3_kwargs=DQN_ZOO_CARTPOLE,
            n_envs=1,
            throughput_steps=50_000,
            solve_steps=50_000,
            target_return=475,
            notes="rl-baselines3-zoo's DQN hyperparameters for CartPole-v1 (rlworks preset "
            "`dqn-cartpole-zoo`); SB3's exploration_fraction 0.16 of the 50,000-step budget is "
            "rlworks' exploration_duration 8,000.",
        ),
        BenchCase(
            name="ppo-cartpole",
            title="PPO on CartPole-v1",
            algo="ppo",
            env="CartPole-v1",
            preset="ppo-cartpole",
            sb3_algo="PPO",
            sb3_kwargs=PPO_ZOO_CARTPOLE,
            n_envs=8,
            throughput_steps=100_000,
            solve_steps=100_000,
            target_return=475,
            eval_every=5_000,
            eval_episodes=20,
            notes="rl-baselines3-zoo's PPO hyperparameters for CartPole-v1 (rlworks preset "
            "`ppo-cartpole`): `lin_X` is rl-zoo's linear schedule, X annealed to 0 over the "
            "100,000-step budget of `model.learn`, which is rlworks' anneal_lr and "
            "anneal_clip_range with anneal_steps 100,000; separate [64, 64] tanh actor and "
            "critic, orthogonal initialization and Adam eps 1e-5 in both libraries. With "
            "`--device cpu` rlworks trains with PPO's NumPy engine (`NumpyPPO`, the same "
            "algorithm and checkpoints without importing torch); SB3 with torch.",
        ),
        BenchCase(
            name="sac-pendulum",
            title="SAC on Pendulum-v1",
            algo="sac",
            env="Pendulum-v1",
            preset="sac-pendulum",
            sb3_algo="SAC",
            sb3_kwargs=SAC_ZOO_PENDULUM,
            n_envs=1,
            throughput_steps=20_000,
            solve_steps=20_000,
            target_return=-200,
            eval_every=2_000,
            eval_episodes=20,
            notes="rl-baselines3-zoo's SAC hyperparameters for Pendulum-v1 (learning rate 1e-3, "
            "otherwise SB3's defaults; rlworks preset `sac-pendulum`): [256, 256] relu actor "
            "and twin critics, one gradient step per environment step after 100 random steps, "
            "entropy coefficient tuned towards -1.",
        ),
        BenchCase(
            name="dqn-breakout",
            title="DQN on Atari Breakout (training-loop speed)",
            algo="dqn",
            env="ALE/Breakout-v5",
            preset=None,
            sb3_algo="DQN",
            sb3_kwargs=DQN_ZOO_ATARI,
            sb3_policy="CnnPolicy",
            n_envs=1,
            throughput_steps=BREAKOUT_WINDOW[1],
            solve_steps=BREAKOUT_WINDOW[1],
            target_return=0.0,  # unused: a window case has no time-to-solve runs
            window=BREAKOUT_WINDOW,
            atari=True,
            frames_per_step=4,
            overrides=DQN_BREAKOUT_OVERRIDES,
            notes="rl-baselines3-zoo's Atari DQN hyperparameters (Adam 1e-4, batch 32, one "
            "gradient step every 4 agent steps, target network copied every 1,000 steps, "
            "Huber loss, gradient norm clipped at 10, ε from 1 to 0.01 over the first 10% of "
            "the run), with learning started after 1,000 steps and a 50,000-transition buffer, "
            "the Nature DQN CNN on 4 stacked 84x84 grayscale frames, each action repeated for 4 "
            "frames, 30 no-op starts, FIRE at reset, rewards clipped to their sign, no end of "
            "episode at a lost life, no sticky actions. rlworks collects and learns in parallel "
            "(`async_collection`: the driver and the actor's copy of the network in a "
            "background thread, the learner in the main one, one torch thread each); SB3's "
            "loop is serial.",
        ),
    )
}
"""The benchmark cases by name."""


def get_case(name: str) -> BenchCase:
    """The case called ``name``.

    Raises:
        ConfigError: Unknown name, listing the known ones.
    """
    try:
        return CASES[name]
    except KeyError:
        raise ConfigError(
            f"unknown benchmark case {name!r}; known cases: {', '.join(sorted(CASES))}"
        ) from None


# --------------------------------------------------------------------------- plan and commands
@dataclass(frozen=True)
class RunSpec:
    """One process to run: which library, which kind of run, which seed."""

    library: Library
    kind: Kind
    seed: int


def plan_runs(
    seeds: Sequence[int],
    throughput_seeds: Iterable[int],
    libraries: Sequence[Library],
    *,
    solve: bool = True,
) -> list[RunSpec]:
    """The runs in the order they execute.

    Per seed: the throughput runs (when the seed is in ``throughput_seeds``), then the
    time-to-solve runs (unless ``solve`` is false: a window case); within each pair rlworks goes
    first on even seeds, SB3 on odd seeds, so that neither library always runs on a machine
    warmed (or loaded) by the other.
    """
    wanted = set(throughput_seeds)
    plan = []
    for seed in seeds:
        order = list(libraries) if seed % 2 == 0 else list(reversed(libraries))
        kinds: list[Kind] = ["throughput"] if seed in wanted else []
        kinds += ["solve"] if solve else []
        plan += [RunSpec(library, kind, seed) for kind in kinds for library in order]
    return plan


_WINDOW_RUNNER = (
    "import sys; from rlworks.bench.harness import rlworks_window_main as main; "
    "sys.exit(main(sys.argv[1:]))"
)


def _window_args(case: BenchCase, seed: int) -> list[str]:
    assert case.window is not None
    args = [case.algo, case.env, "--seed", str(seed), "--n-envs", str(case.n_envs)]
    args += ["--window", *map(str, case.window), "--frame-skip", str(case.frames_per_step)]
    if case.torch_threads is not None:
        args += ["--torch-threads", str(case.torch_threads)]
    return args + (["--atari"] if case.atari else [])


def rlworks_command(case: BenchCase, kind: Kind, seed: int, run_dir: str | Path) -> list[str]:
    """``python -m rlworks.cli train ...`` for one run of ``case``; for a window case,
    :func:`rlworks_window_main` in its own process (``run_dir`` unused)."""
    if case.window is not None:
        command = [sys.executable, "-c", _WINDOW_RUNNER, *_window_args(case, seed)]
        return command + [f"--set={item}" for item in case.overrides]
    command = [sys.executable, "-m", "rlworks.cli", "train", case.algo, case.env]
    if case.preset is not None:
        command += ["--preset", case.preset]
    for item in case.overrides:
        command += ["--set", item]
    if case.torch_threads is not None:
        command += ["--set", f"train.torch_threads={case.torch_threads}"]
    command += ["--seed", str(seed), "--n-envs", str(case.n_envs), "--device", "cpu"]
    # No learning-curve plot (matplotlib, ~0.4 s): SB3's runner draws none either.
    command += ["--eval-episodes", str(case.eval_episodes), "--set", "train.plot=false"]
    if kind == "throughput":
        # Evaluation only at the end, and no early stop whatever the preset says.
        command += ["--steps", str(case.throughput_steps), "--eval-every", "0"]
        command += ["--set", "train.target_return=null"]
    else:
        command += ["--steps", str(case.solve_steps), "--eval-every", str(case.eval_every)]
        command += ["--target-return", f"{case.target_return:g}"]
    return [*command, "--run-dir", str(run_dir), "--quiet", "--json"]


def sb3_command(case: BenchCase, kind: Kind, seed: int) -> list[str]:
    """``python .../sb3_runner.py ...`` for one run of ``case``.

    The runner is started by its path rather than with ``-m rlworks.bench.sb3_runner`` so that
    the SB3 process does not import the rlworks package.
    """
    from rlworks.bench import sb3_runner

    command = [sys.executable, str(Path(sb3_runner.__file__)), case.sb3_algo, case.env]
    command += ["--seed", str(seed), "--n-envs", str(case.n_envs), "--policy", case.sb3_policy]
    command += ["--kwargs", json.dumps(dict(case.sb3_kwargs))]
    if case.window is not None:
        return command + _window_args(case, seed)[2:]
    command += ["--eval-episodes", str(case.eval_episodes)]
    if case.torch_threads is not None:
        command += ["--torch-threads", str(case.torch_threads)]
    if kind == "throughput":
        command += ["--steps", str(case.throughput_steps), "--eval-every", "0"]
    else:
        command += ["--steps", str(case.solve_steps), "--eval-every", str(case.eval_every)]
        command += ["--target-return", f"{case.target_return:g}"]
    return command


def display_command(case: BenchCase, kind: Kind) -> str:
    """The rlworks command line of a run, as a user would type it (seed 0, no run dir); for a
    window case, the ``rlworks train`` command with the same settings."""
    if case.window is not None:
        words = ["train", case.algo, case.env]
        for item in case.overrides:
            words += ["--set", item]
        if case.torch_threads is not None:
            words += ["--set", f"train.torch_threads={case.torch_threads}"]
        words += ["--seed", "0", "--n-envs", str(case.n_envs), "--device", "cpu"]
        return " ".join(["rlworks", *words, "--steps", str(case.window[1])])
    words = rlworks_command(case, kind, 0, "RUN_DIR")[3:-4]
    return " ".join(["rlworks", *words])


def rlworks_window_main(argv: Sequence[str] | None = None) -> int:
    """The rlworks side of a window case, run in its own process; prints one JSON object.

    The agent (``--set agent.KEY=VALUE`` settings, the rest of its config at its defaults)
    trains through the trainer, as ``rlworks train`` does (driver, the four metrics, callbacks),
    until END env steps; a callback times the steps from START to END (with the gradient steps
    taken between them) and ends the run there, before the trainer's final evaluation.
    """
    import argparse

    parser = argparse.ArgumentParser(prog="rlworks bench window run")
    parser.add_argument("algo")
    parser.add_argument("env")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--n-envs", type=int, default=1)
    parser.add_argument("--window", type=int, nargs=2, required=True, metavar=("START", "END"))
    parser.add_argument("--frame-skip", type=int, default=1)
    parser.add_argument("--torch-threads", type=int)
    parser.add_argument("--atari", action="store_true")
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE")
    args = parser.parse_args(argv)

    import torch

    import rlworks as rw
    from rlworks.agents import get_algorithm
    from rlworks.bench.sb3_runner import WindowClock
    from rlworks.config import config_from_dict, parse_overrides
    from rlworks.training.callbacks import Callback

    values = parse_overrides(args.set)
    agent_values = {
        k.removeprefix("agent."): v for k, v in values.items() if k.startswith("agent.")
    }
    if len(agent_values) != len(values):
        raise ConfigError(f"window runs take agent.KEY=VALUE settings only, got {args.set}")
    agent_cls = get_algorithm(args.algo)
    config = config_from_dict(agent_cls.config_cls, agent_values, source="--set")
    env = rw.make_env(args.env, n_envs=args.n_envs, seed=args.seed, atari=args.atari or None)
    agent = agent_cls(env, config, seed=args.seed, device="cpu")
    clock = WindowClock(*args.window)

    class _WindowOver(Exception):
        pass

    seen_threads: list[int] = []

    class StopAtWindowEnd(Callback):
        def on_iteration(self, state: Any) -> None:
            if not clock.tick(state.step, int(getattr(agent, "gradient_steps", 0))):
                seen_threads.append(torch.get_num_threads())  # the trainer's, while training
                raise _WindowOver

    start = time.perf_counter()
    threads = {"torch_threads": args.torch_threads} if args.torch_threads else {}
    with contextlib.suppress(_WindowOver):  # the window's end stops the run
        agent.learn(
            args.window[1], eval_every=0, progress=False, callbacks=[StopAtWindowEnd()], **threads
        )
    wall = time.perf_counter() - start
    env.close()
    rate = clock.steps_per_s
    result = {
        "library": "rlworks",
        "algo": args.algo,
        "env": args.env,
        "seed": args.seed,
        "n_envs": args.n_envs,
        "steps": int(getattr(agent, "units", clock.end)),
        "wall_s": round(wall, 3),
        "window": list(args.window),
        "window_steps": clock.steps,
        "window_s": round(clock.seconds, 3),
        "window_gradient_steps": clock.updates,
        "steps_per_s": round(rate, 1) if math.isfinite(rate) else None,
        "frames_per_s": round(rate * args.frame_skip, 1) if math.isfinite(rate) else None,
        "eval_mean": None,
        "torch_threads": seen_threads[0] if seen_threads else None,
        "settings": agent_values,
    }
    print(json.dumps(result))
    return 0


# --------------------------------------------------------------------------- environment
def sb3_available() -> bool:
    """Whether Stable-Baselines3 can be imported by the interpreter running the benchmark."""
    try:
        return importlib.util.find_spec("stable_baselines3") is not None
    except (ImportError, ValueError):  # e.g. sys.modules["stable_baselines3"] = None
        return False


def _version(package: str) -> str | None:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version(package)
    except PackageNotFoundError:
        return None


def machine_info() -> dict[str, Any]:
    """CPU model, core count, memory, load average at the start and library versions.

    Versions are read from the installed packages' metadata, so nothing heavy is imported.
    """
    info: dict[str, Any] = {"nproc": os.cpu_count(), "machine": platform.machine()}
    try:
        cpuinfo = Path("/proc/cpuinfo").read_text()
        info["cpu"] = next(
            line.split(":", 1)[1].strip() for line in cpuinfo.splitlines() if "model name" in line
        )
        meminfo = Path("/proc/meminfo").read_text().split()
        info["mem_gib"] = round(int(meminfo[meminfo.index("MemTotal:") + 1]) / 2**20, 1)
        info["loadavg_at_start"] = [round(x, 2) for x in os.getloadavg()]
    except (OSError, StopIteration, ValueError):
        pass
    from rlworks._version import __version__

    info.update(python=platform.python_version(), rlworks=__version__)
    for package in ("torch", "gymnasium", "numpy", "stable-baselines3"):
        info[package] = _version(package)
    return info


# --------------------------------------------------------------------------- running
def _run_process(command: list[str]) -> tuple[float, dict[str, Any]]:
    """Run ``command``; its wall time from start to exit and the JSON of its last stdout line."""
    start = time.perf_counter()
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    wall = time.perf_counter() - start
    lines = done.stdout.strip().splitlines()
    result: Any = None
    if done.returncode == 0 and lines:
        try:
            result = json.loads(lines[-1])
        except json.JSONDecodeError:
            result = None
    if not isinstance(result, dict):
        errors = [line for line in done.stderr.strip().splitlines() if line.strip()]
        why = errors[-1] if errors else f"no JSON result on stdout (exit status {done.returncode})"
        raise BenchError(f"{why} [command: {' '.join(command)}]")
    return wall, result


def _describe(spec: RunSpec, result: Mapping[str, Any], wall: float) -> str:
    if "window" in result:
        return (
            f"{result['window_steps']:,} steps from step {result['window'][0]:,} at "
            f"{result['steps_per_s'] or 0:,.1f} steps/s ({result['frames_per_s'] or 0:,.0f} "
            f"frames/s, {result['window_gradient_steps']:,} gradient steps), whole command "
            f"{wall:.1f} s"
        )
    if spec.kind == "throughput":
        return (
            f"{result['steps']:,} steps at {result['steps_per_s']:,.0f} steps/s, "
            f"eval {result['eval_mean']:.1f}, whole command {wall:.1f} s"
        )
    solved = result.get("solved_at_step")
    outcome = f"solved at step {solved:,}" if solved is not None else "not solved"
    return f"{outcome}, eval {result['eval_mean']:.1f}, whole command {wall:.1f} s"


def run_case(
    case: BenchCase,
    *,
    seeds: Sequence[int] = (0, 1, 2, 3, 4),
    throughput_seeds: Sequence[int] | None = None,
    use_sb3: bool = True,
    progress: Callable[[str], None] | None = None,
) -> dict[str, Any]:
    """Run ``case`` for every seed and return the report (runs, rows, medians, ratios).

    Args:
        case: What to run.
        seeds: Seeds of the time-to-solve runs.
        throughput_seeds: Seeds that also get a throughput run; None: the first seed only
            (for a window case, which has no time-to-solve runs: every seed).
        use_sb3: Run the SB3 side (when it is installed).
        progress: Called with one line before and after each run (e.g. print to stderr).

    Raises:
        ConfigError: Empty, negative or repeated seeds, or throughput seeds not in ``seeds``.
        BenchError: A run failed.
    """
    if case.window is not None and throughput_seeds is None:
        throughput_seeds = seeds  # no time-to-solve runs: every seed gets a throughput window
    seeds, throughput = _check_seeds(seeds, throughput_seeds)
    libraries, sb3_note = _libraries(use_sb3)
    say = progress or (lambda line: None)
    plan = plan_runs(seeds, throughput, libraries, solve=case.window is None)
    records: list[dict[str, Any]] = []
    info = machine_info()
    start = time.perf_counter()
    for index, spec in enumerate(plan, 1):
        name = LIBRARY_NAMES[spec.library]
        say(
            f"[{case.name} {index}/{len(plan)}] {name} {spec.kind}, seed {spec.seed} "
            f"(elapsed {time.perf_counter() - start:.0f} s)"
        )
        with tempfile.TemporaryDirectory(prefix="rlworks-bench-") as tmp:
            command = (
                rlworks_command(case, spec.kind, spec.seed, Path(tmp) / "run")
                if spec.library == "rlworks"
                else sb3_command(case, spec.kind, spec.seed)
            )
            wall, result = _run_process(command)
        say(f"    {name} {spec.kind}, seed {spec.seed}: {_describe(spec, result, wall)}")
        records.append(
            {
                **dataclasses.asdict(spec),
                "process_wall_s": round(wall, 3),
                "command": command,
                "result": result,
            }
        )
    summary = aggregate(records, seeds, throughput, libraries)
    return {
        "case": _case_dict(case),
        "date": dt.datetime.now().astimezone().isoformat(timespec="seconds"),
        "command": _bench_command(case, seeds, throughput, use_sb3),
        "machine": info,
        "libraries": list(libraries),
        "sb3_note": sb3_note,
        "seeds": list(seeds),
        "throughput_seeds": list(throughput),
        "wall_s": round(time.perf_counter() - start, 1),
        "loadavg_at_end": _loadavg(),
        **summary,
        "runs": records,
    }


def _loadavg() -> list[float] | None:
    try:
        return [round(x, 2) for x in os.getloadavg()]
    except OSError:
        return None


def _check_seeds(
    seeds: Sequence[int], throughput_seeds: Sequence[int] | None
) -> tuple[list[int], list[int]]:
    seeds = list(seeds)
    if not seeds:
        raise ConfigError("--seeds needs at least one seed")
    if any(s < 0 for s in seeds) or len(set(seeds)) != len(seeds):
        raise ConfigError(f"--seeds must be distinct non-negative integers, got {seeds}")
    throughput = seeds[:1] if throughput_seeds is None else list(dict.fromkeys(throughput_seeds))
    outside = [s for s in throughput if s not in seeds]
    if outside:
        raise ConfigError(f"--throughput-seeds {outside} are not among --seeds {seeds}")
    return seeds, throughput


def _libraries(use_sb3: bool) -> tuple[list[Library], str | None]:
    if not use_sb3:
        return ["rlworks"], "Stable-Baselines3 was left out (--no-sb3): rlworks alone, no ratios."
    if not sb3_available():
        return ["rlworks"], (
            "Stable-Baselines3 is not installed (pip install 'rlworks[bench]'): rlworks alone, "
            "no ratios."
        )
    return ["rlworks", "sb3"], None


def _case_dict(case: BenchCase) -> dict[str, Any]:
    data = dataclasses.asdict(case)
    data["sb3_kwargs"] = json.loads(json.dumps(dict(case.sb3_kwargs)))
    data["overrides"] = list(case.overrides)
    return data


def _bench_command(
    case: BenchCase, seeds: Sequence[int], throughput: Sequence[int], use_sb3: bool
) -> str:
    words = ["rlworks", "bench", case.name, "--seeds", *map(str, seeds), "--throughput-seeds"]
    words += [*map(str, throughput)]
    return " ".join(words + ([] if use_sb3 else ["--no-sb3"]))


# --------------------------------------------------------------------------- aggregation
def _median_with_inf(values: Sequence[float | None]) -> float:
    """Median counting ``None`` (unsolved) as +inf; nan for no values."""
    if not values:
        return math.nan
    return float(statistics.median(math.inf if v is None else v for v in values))


def _median(values: Iterable[float | None]) -> float:
    present = [v for v in values if v is not None]
    return float(statistics.median(present)) if present else math.nan


def _row(library: Library, seed: int, records: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    mine = {r["kind"]: r for r in records if r["library"] == library and r["seed"] == seed}
    throughput, solve = mine.get("throughput"), mine.get("solve")
    row: dict[str, Any] = {"library": library, "seed": seed}
    row["steps_per_s"] = throughput["result"]["steps_per_s"] if throughput else None
    row["eval_mean_after_budget"] = throughput["result"]["eval_mean"] if throughput else None
    solved_at = solve["result"].get("solved_at_step") if solve else None
    row["solved_at_step"] = solved_at
    row["solve_s"] = solve["process_wall_s"] if solve and solved_at is not None else None
    row["solved_at_s"] = solve["result"].get("solved_at_s") if solve else None
    row["final_eval_mean"] = solve["result"]["eval_mean"] if solve else None
    row["solve_run_wall_s"] = solve["process_wall_s"] if solve else None
    return row


def aggregate(
    records: Sequence[Mapping[str, Any]],
    seeds: Sequence[int],
    throughput_seeds: Sequence[int],
    libraries: Sequence[Library],
) -> dict[str, Any]:
    """Per-seed rows, per-library medians and the rlworks/SB3 ratios.

    * ``steps_per_s``: median over the throughput seeds;
    * ``solve_s``: median of the time-to-solve runs' whole-command wall time over all seeds,
      an unsolved seed counted as +inf, so it is infinite (JSON null) when more than half of the
      seeds are unsolved (with an even number of seeds: half or more); ``solved_at_step`` alike;
    * ratios (only with both libraries): throughput = median rlworks steps/s ÷ median SB3
      steps/s (and per seed); time to solve = median rlworks solve time ÷ median SB3 solve time
      (null when either median is infinite).

    Args:
        records: Run records: ``library``, ``kind``, ``seed``, ``process_wall_s`` and ``result``
            (the run's JSON: ``steps_per_s``, ``eval_mean``, ``solved_at_step``, ...).
        seeds: All seeds.
        throughput_seeds: Seeds with a throughput run.
        libraries: The libraries that ran.
    """
    rows = [_row(lib, seed, records) for lib in libraries for seed in seeds]
    medians: dict[str, dict[str, Any]] = {}
    for lib in libraries:
        mine = [r for r in rows if r["library"] == lib]
        solved = sum(r["solved_at_step"] is not None for r in mine)
        medians[lib] = {
            "steps_per_s": _finite(_median(r["steps_per_s"] for r in mine)),
            "solve_s": _finite(_median_with_inf([r["solve_s"] for r in mine])),
            "solved_at_step": _finite(_median_with_inf([r["solved_at_step"] for r in mine])),
            "final_eval_mean": _finite(_median(r["final_eval_mean"] for r in mine)),
            "seeds_solved": solved,
            "seeds": len(mine),
            "solve_median_infinite": math.isinf(_median_with_inf([r["solve_s"] for r in mine])),
        }
    return {"rows": rows, "medians": medians, "ratios": _ratios(rows, medians, throughput_seeds)}


def _ratios(
    rows: Sequence[Mapping[str, Any]],
    medians: Mapping[str, Mapping[str, Any]],
    throughput_seeds: Sequence[int],
) -> dict[str, Any] | None:
    if set(medians) != {"rlworks", "sb3"}:
        return None
    ours, theirs = medians["rlworks"], medians["sb3"]
    by = {(r["library"], r["seed"]): r for r in rows}
    per_seed = {}
    for seed in throughput_seeds:
        a, b = by[("rlworks", seed)]["steps_per_s"], by[("sb3", seed)]["steps_per_s"]
        per_seed[str(seed)] = a / b if a is not None and b else None
    throughput = (
        ours["steps_per_s"] / theirs["steps_per_s"]
        if ours["steps_per_s"] is not None and theirs["steps_per_s"]
        else None
    )
    solve = (
        ours["solve_s"] / theirs["solve_s"]
        if ours["solve_s"] is not None and theirs["solve_s"]
        else None
    )
    note = None
    if solve is None:
        unsolved = [
            LIBRARY_NAMES[lib] for lib in ("rlworks", "sb3") if medians[lib]["solve_s"] is None
        ]
        note = f"median time to solve is infinite for {' and '.join(unsolved)}"
    return {
        "throughput": throughput,
        "throughput_per_seed": per_seed,
        "time_to_solve": solve,
        "time_to_solve_note": note,
    }


def _finite(value: float) -> float | None:
    return round(value, 3) if math.isfinite(value) else None


# --------------------------------------------------------------------------- writing
def write_results(report: Mapping[str, Any], out_dir: str | Path) -> Path:
    """Write ``report`` as indented JSON to ``out_dir/<case>.json`` atomically."""
    from rlworks.fileio import atomic_write_bytes

    path = Path(out_dir) / f"{report['case']['name']}.json"
    return atomic_write_bytes(path, (json.dumps(report, indent=2) + "\n").encode())


def _markers(name: str) -> tuple[str, str]:
    return f"<!-- bench:{name}:start -->", f"<!-- bench:{name}:end -->"


def replace_section(text: str, name: str, section: str) -> str:
    """``text`` with the section of case ``name`` (markers included) replaced by ``section``.

    ``section`` must itself start and end with the case's markers. When ``text`` has no such
    section, ``section`` is appended after one blank line; the rest of ``text`` is untouched.

    Raises:
        ConfigError: ``text`` holds only one of the two markers, or a marker twice.
    """
    start, end = _markers(name)
    if not (section.startswith(start) and section.rstrip().endswith(end)):
        raise ValueError(f"section must be delimited by {start} and {end}")
    section = section.rstrip("\n")
    counts = (text.count(start), text.count(end))
    if counts == (0, 0):
        return f"{text.rstrip(chr(10))}\n\n{section}\n" if text.strip() else f"{section}\n"
    if counts != (1, 1) or text.index(start) > text.index(end):
        raise ConfigError(
            f"the benchmarks document must hold {start} and {end} once each, in that order"
        )
    pattern = re.compile(re.escape(start) + r".*?" + re.escape(end), re.DOTALL)
    return pattern.sub(lambda _: section, text, count=1)


def update_docs(path: str | Path, report: Mapping[str, Any], results: str | Path) -> Path:
    """Replace (or append) the case's section of the Markdown file ``path``, atomically."""
    from rlworks.fileio import atomic_write_bytes

    path = Path(path)
    text = path.read_text() if path.exists() else ""
    section = render_section(report, results)
    return atomic_write_bytes(path, replace_section(text, report["case"]["name"], section).encode())


def _num(value: float | None, digits: int = 0, empty: str = "–") -> str:
    return empty if value is None else f"{value:,.{digits}f}"


def _hyperparameters(kwargs: Mapping[str, Any]) -> str:
    return ", ".join(f"{k}={v!r}" for k, v in kwargs.items())


def render_section(report: Mapping[str, Any], results: str | Path) -> str:
    """The case's Markdown section: markers, heading, protocol paragraph, table, ratios."""
    case = report["case"]
    start, end = _markers(case["name"])
    heading = f"## {case['title']}: rlworks vs Stable-Baselines3 — `rlworks bench {case['name']}`"
    paragraph = (
        _window_paragraph(report, results) if case.get("window") else _paragraph(report, results)
    )
    lines = [start, heading, "", paragraph, "", summary_table(report)]
    note = _load_note(report)
    lines += ["", note] if note else []
    return "\n".join([*lines, end]) + "\n"


def summary_table(report: Mapping[str, Any]) -> str:
    """The per-seed Markdown table with the medians, and the ratio line under it."""
    if report["case"].get("window"):
        return _window_table(report)
    lines = [
        "| library | seed | env steps/s | time to solve, s | solved at step | final eval |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for row in report["rows"]:
        solve = _num(row["solve_s"], 1, "not solved")
        lines.append(
            f"| {LIBRARY_NAMES[row['library']]} | {row['seed']} | {_num(row['steps_per_s'])} | "
            f"{solve} | {_num(row['solved_at_step'])} | {_num(row['final_eval_mean'], 1)} |"
        )
    for lib in report["libraries"]:
        m = report["medians"][lib]
        solve = _num(m["solve_s"], 1, "∞")
        lines.append(
            f"| **{LIBRARY_NAMES[lib]} median** | | **{_num(m['steps_per_s'])}** | **{solve}** "
            f"({m['seeds_solved']}/{m['seeds']} solved) | {_num(m['solved_at_step'], 0, '∞')} | "
            f"{_num(m['final_eval_mean'], 1)} |"
        )
    return "\n".join([*lines, "", _ratio_line(report)])


def _threads_and_machine(case: Mapping[str, Any], info: Mapping[str, Any]) -> tuple[str, str]:
    """The protocol's torch threads and the machine (with versions and load), as the
    paragraphs of :func:`_paragraph` and :func:`_window_paragraph` word them."""
    threads = case["torch_threads"]
    thread_text = (
        f"{threads} torch thread{'s' if threads != 1 else ''} (and as many BLAS threads)"
        if threads
        else "each library's default torch threads"
    )
    load = info.get("loadavg_at_start")
    machine = (
        f"{info.get('cpu', info.get('machine'))}, {info.get('nproc')} cores, "
        f"{info.get('mem_gib', '?')} GiB"
        + (f", load average {load[0]:.2f} at the start" if load else "")
        + f"; Python {info.get('python')}, torch {info.get('torch')}, Gymnasium "
        f"{info.get('gymnasium')}, Stable-Baselines3 {info.get('stable-baselines3') or 'absent'}"
    )
    return thread_text, machine


def _paragraph(report: Mapping[str, Any], results: str | Path) -> str:
    case, info = report["case"], report["machine"]
    thread_text, machine = _threads_and_machine(case, info)
    seeds, throughput = report["seeds"], report["throughput_seeds"]
    text = (
        f"Measured {report['date'][:10]} on {machine}, with `{report['command']}` (wall time "
        f"{report['wall_s']:,.0f} s; raw results of every run in `{results}`). "
        + (f"{case['notes']} " if case["notes"] else "")
        + f"Both libraries train {case['env']} with the same hyperparameters — in "
        f'SB3\'s names, `{case["sb3_algo"]}("{case["sb3_policy"]}", '
        f"{_hyperparameters(case['sb3_kwargs'])})`; rlworks: "
        f"`{display_command(_case_from_dict(case), 'solve')}` — on {case['n_envs']} "
        f"environment{'s' if case['n_envs'] != 1 else ''}, CPU, {thread_text}, one process per "
        "run, alternating which library runs first (rlworks on even seeds, SB3 on odd). "
        f"Throughput (seed{'s' if len(throughput) != 1 else ''} "
        f"{', '.join(map(str, throughput)) or 'none'}): the full {case['throughput_steps']:,}-step "
        "budget with evaluation only at the end; env steps/s = steps ÷ the training-loop clock "
        "(rlworks: the trainer's `steps_per_s`; SB3: time in `model.learn` plus the final "
        "evaluation, which rlworks' clock also holds). Time to solve (seeds "
        f"{', '.join(map(str, seeds))}): the whole command from process start to exit (Python "
        f"and library imports included; rlworks also writes its run directory — config, "
        f"metrics, TensorBoard events, checkpoint, eval.json — all but the curve plot, which "
        f"neither side draws), evaluating the "
        f"deterministic policy every {case['eval_every']:,} steps on {case['eval_episodes']} "
        f"episodes (episode k reset with seed + 10,000 + k) and stopping at the first mean ≥ "
        f"{case['target_return']:g}, at most {case['solve_steps']:,} steps. An unsolved seed "
        "counts as +∞ in the median, so a library with more than half of its seeds unsolved "
        "(half or more with an even number of seeds) has an infinite median (∞). Final eval: "
        "the mean of the time-to-solve run's last evaluation (the solving one, or the one at "
        "the end of the budget)."
    )
    if report.get("sb3_note"):
        text += " " + report["sb3_note"]
    return text


def _case_from_dict(data: Mapping[str, Any]) -> BenchCase:
    values = dict(data)
    values["overrides"] = tuple(values.get("overrides") or ())
    if values.get("window") is not None:
        values["window"] = tuple(values["window"])
    return BenchCase(**values)


QUIET_LOAD = 0.5
"""A 1-minute load average above this at the start or the end marks a run as not quiet."""


def _load_note(report: Mapping[str, Any]) -> str:
    """A note when other processes were running (window cases, which record both loads)."""
    if not report["case"].get("window"):
        return ""
    start = (report["machine"].get("loadavg_at_start") or [None])[0]
    end = (report.get("loadavg_at_end") or [None])[0]
    loads = [x for x in (start, end) if x is not None]
    if not loads or max(loads) <= QUIET_LOAD:
        return ""
    return (
        f"*Not a quiet-machine measurement*: load average {_num(start, 2)} at the start and "
        f"{_num(end, 2)} at the end on {report['machine'].get('nproc')} cores; other processes "
        "took CPU time from both libraries' runs. Re-measure with "
        f"`rlworks bench {report['case']['name']}` on a quiet machine."
    )


def _window_result(report: Mapping[str, Any], library: str, seed: int) -> Mapping[str, Any]:
    for run in report["runs"]:
        if run["library"] == library and run["seed"] == seed and run["kind"] == "throughput":
            result: Mapping[str, Any] = run["result"]
            return result
    return {}


def _window_table(report: Mapping[str, Any]) -> str:
    """A window case's table: agent steps/s and frames/s per seed and their medians."""
    frames = report["case"]["frames_per_step"]
    lines = [
        "| library | seed | agent steps/s | frames/s | window steps | gradient steps | window, s |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for row in report["rows"]:
        result = _window_result(report, row["library"], row["seed"])
        if not result:
            continue
        lines.append(
            f"| {LIBRARY_NAMES[row['library']]} | {row['seed']} | {_num(row['steps_per_s'], 1)} "
            f"| {_num(result.get('frames_per_s'))} | {_num(result.get('window_steps'))} | "
            f"{_num(result.get('window_gradient_steps'))} | {_num(result.get('window_s'), 1)} |"
        )
    for lib in report["libraries"]:
        rate = report["medians"][lib]["steps_per_s"]
        lines.append(
            f"| **{LIBRARY_NAMES[lib]} median** | | **{_num(rate, 1)}** | "
            f"**{_num(None if rate is None else rate * frames)}** | | | |"
        )
    ratios = report.get("ratios")
    if not ratios:
        ratio = "No ratios: Stable-Baselines3 did not run."
    else:
        per_seed = ", ".join(
            f"seed {s}: {_num(r, 2)}" for s, r in ratios["throughput_per_seed"].items()
        )
        ratio = (
            f"**rlworks ÷ SB3**: agent steps/s (and frames/s) **{_num(ratios['throughput'], 2)}**"
            f" ({per_seed}; above 1: rlworks faster)."
        )
    return "\n".join([*lines, "", ratio])


def _window_paragraph(report: Mapping[str, Any], results: str | Path) -> str:
    case, info = report["case"], report["machine"]
    start, end = case["window"]
    warm = case["sb3_kwargs"].get("learning_starts", 0)
    thread_text, machine = _threads_and_machine(case, info)
    text = (
        f"Measured {report['date'][:10]} on {machine}, with `{report['command']}` (wall time "
        f"{report['wall_s']:,.0f} s; raw results of every run in `{results}`). "
        + (f"{case['notes']} " if case["notes"] else "")
        + f"Both libraries train {case['env']} with the same hyperparameters — in SB3's "
        f'names, `{case["sb3_algo"]}("{case["sb3_policy"]}", '
        f"{_hyperparameters(case['sb3_kwargs'])})`; rlworks: "
        f"`{display_command(_case_from_dict(case), 'throughput')}` — on {case['n_envs']} "
        f"environment{'s' if case['n_envs'] != 1 else ''}, CPU, {thread_text}, one process per "
        "run, alternating which library runs first (rlworks on even seeds, SB3 on odd). "
        f"Each run trains until env step {end:,} and is timed from step {start:,} to step "
        f"{end:,} only: learning has started (after {warm:,} "
        "steps), the replay buffer is filling, the clock covers collection, gradient steps and "
        "target updates (rlworks: through the trainer, with its driver and metrics; SB3: "
        "`model.learn`'s loop) and no evaluation. Agent steps/s = window steps ÷ window "
        f"seconds; frames/s = {case['frames_per_step']} × agent steps/s (each agent step "
        f"repeats its action for {case['frames_per_step']} emulator frames); gradient steps: "
        "those taken inside the window (one per 4 agent steps in both libraries)."
    )
    if report.get("sb3_note"):
        text += " " + report["sb3_note"]
    return text


def _ratio_line(report: Mapping[str, Any]) -> str:
    ratios = report.get("ratios")
    if not ratios:
        return "No ratios: Stable-Baselines3 did not run."
    throughput = ratios["throughput"]
    solve = ratios["time_to_solve"]
    per_seed = ", ".join(
        f"seed {s}: {_num(r, 2)}" for s, r in ratios["throughput_per_seed"].items()
    )
    solved = ", ".join(
        f"{LIBRARY_NAMES[lib]} {m['seeds_solved']}/{m['seeds']}"
        for lib, m in report["medians"].items()
    )
    solve_text = (
        f"**{solve:.2f}**" if solve is not None else f"undefined ({ratios['time_to_solve_note']})"
    )
    return (
        f"**rlworks ÷ SB3**: env steps/s **{_num(throughput, 2)}** ({per_seed}; above 1: "
        f"rlworks faster); median time to solve {solve_text} (below 1: rlworks solves sooner); "
        f"seeds solved: {solved}."
    )
