"""Aggregating a benchmark's runs (per-seed rows, medians, ratios) and writing them: the JSON
results file and the case's marked section of ``docs/benchmarks.md`` (both atomically).

Part of the harness (:mod:`rlworks.bench.harness`), which re-exports these names.
"""

from __future__ import annotations

import json
import math
import re
import statistics
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from rlworks.bench.cases import LIBRARY_NAMES, BenchCase, Library
from rlworks.bench.commands import display_command
from rlworks.errors import ConfigError

__all__ = [
    "aggregate",
    "render_section",
    "replace_section",
    "summary_table",
    "update_docs",
    "write_results",
]


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
