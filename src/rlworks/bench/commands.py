"""The plan of a benchmark's runs and the command line of each: ``rlworks train ...`` or the SB3
runner, and the in-process runner of a window case (:func:`rlworks_window_main`).

Part of the harness (:mod:`rlworks.bench.harness`), which re-exports these names.
"""

from __future__ import annotations

import contextlib
import json
import math
import sys
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rlworks.bench.cases import BenchCase, Kind, Library
from rlworks.errors import ConfigError

__all__ = [
    "RunSpec",
    "display_command",
    "plan_runs",
    "rlworks_command",
    "rlworks_window_main",
    "sb3_command",
]


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
