"""rlworks against Stable-Baselines3: running the benchmark cases, and the harness's public names.

The harness is four modules: :mod:`~rlworks.bench.cases` (the :class:`BenchCase` data, one per
comparison: the rlworks command and the SB3 algorithm with its constructor kwargs in SB3's own
names, both meaning the same hyperparameters, plus the protocol; new algorithms add a case to
:data:`CASES`, not code), :mod:`~rlworks.bench.commands` (the plan of runs and their command
lines), this module (running them) and :mod:`~rlworks.bench.report` (medians, ratios, the
results file and the docs section). This module re-exports the public names of all four.

:func:`run_case` runs, per seed, each library in its own process, alternating which goes first
(rlworks on even seeds, SB3 on odd), two kinds of runs:

* throughput (the seeds of ``throughput_seeds``): the whole step budget, evaluation only at the
  end; env steps/s = steps ÷ the training-loop clock (rlworks: ``steps_per_s`` of
  ``rlworks train --json``; SB3: :mod:`rlworks.bench.sb3_runner`'s, time in ``model.learn`` plus
  the final evaluation, as rlworks' trainer counts it);
* time to solve: the whole command timed from process start to exit (Python and library imports
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

import dataclasses
import datetime as dt
import importlib.util
import json
import os
import platform
import subprocess
import tempfile
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

from rlworks.bench.cases import CASES, LIBRARY_NAMES, BenchCase, BenchError, Library, get_case
from rlworks.bench.commands import (
    RunSpec,
    display_command,
    plan_runs,
    rlworks_command,
    rlworks_window_main,
    sb3_command,
)
from rlworks.bench.report import (
    aggregate,
    render_section,
    replace_section,
    summary_table,
    update_docs,
    write_results,
)
from rlworks.errors import ConfigError

__all__ = [
    "CASES",
    "BenchCase",
    "BenchError",
    "RunSpec",
    "aggregate",
    "display_command",
    "get_case",
    "machine_info",
    "plan_runs",
    "render_section",
    "replace_section",
    "rlworks_command",
    "rlworks_window_main",
    "run_case",
    "sb3_available",
    "sb3_command",
    "summary_table",
    "update_docs",
    "write_results",
]


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
