"""Learning curves: reading a run's ``metrics.csv`` and plotting it to a PNG.

This module owns the reader of the per-run metrics table that ``rlworks train`` writes and the
learning-curve figure drawn from one or more such tables. Plots are drawn on a private
:class:`matplotlib.figure.Figure` with the Agg canvas, so nothing touches pyplot's global state, and
files are written atomically (a temporary file in the same directory, then :func:`os.replace`).
"""

from __future__ import annotations

import csv
import math
from collections.abc import Sequence
from pathlib import Path

import numpy as np
from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.ticker import EngFormatter

from rlworks.errors import RLWorksError
from rlworks.fileio import atomic_path

__all__ = ["METRICS_FILENAME", "plot_learning_curves", "read_metrics"]

METRICS_FILENAME = "metrics.csv"
"""Name of the metrics table inside a run directory."""


def _metrics_file(path: str | Path) -> Path:
    """Resolves a run directory or a metrics file to the metrics file, checking that it exists."""
    path = Path(path)
    metrics = path if path.is_file() else path / METRICS_FILENAME
    if not metrics.is_file():
        raise RLWorksError(
            f"run directory '{path}' has no {METRICS_FILENAME}; "
            "expected a directory written by `rlworks train`"
        )
    return metrics


def _parse_cell(cell: str, file: Path, line: int, column: str) -> float:
    """Parses one CSV cell to a float; an empty cell is NaN ("not measured at this row")."""
    cell = cell.strip()
    if not cell:
        return math.nan
    try:
        return float(cell)
    except ValueError:
        raise RLWorksError(
            f"metrics file '{file}' line {line}, column '{column}': {cell!r} is not a number; "
            "expected numbers or empty cells"
        ) from None


def read_metrics(path: str | Path) -> dict[str, np.ndarray]:
    """Reads the metrics table of a run.

    Every column becomes a float array with one entry per row; empty cells ("not measured at this
    row", e.g. ``eval_mean`` between evaluations) and cells missing from a short last row (a run
    killed while writing) become NaN.

    Args:
        path: A run directory containing ``metrics.csv``, or the path of a ``metrics.csv`` file.

    Returns:
        Column name → ``[rows]`` float64 array, in the order of the header.

    Raises:
        RLWorksError: If the file is missing, has no ``step`` column, or holds a cell that is not a
            number.
    """
    file = _metrics_file(path)
    with file.open(newline="", encoding="utf-8") as f:
        reader = csv.reader(f)
        header = [name.strip() for name in next(reader, [])]
        if "step" not in header:
            raise RLWorksError(
                f"metrics file '{file}' has no 'step' column; "
                "expected a header row written by `rlworks train`"
            )
        rows: list[list[float]] = []
        for row in reader:
            if not any(cell.strip() for cell in row):
                continue  # blank line
            if len(row) > len(header):
                raise RLWorksError(
                    f"metrics file '{file}' line {reader.line_num} has {len(row)} cells; "
                    f"expected at most {len(header)}, one per header column"
                )
            values = [
                _parse_cell(cell, file, reader.line_num, name)
                for cell, name in zip(row, header, strict=False)
            ]
            values.extend([math.nan] * (len(header) - len(values)))
            rows.append(values)
    table = np.array(rows, dtype=np.float64).reshape(len(rows), len(header))  # [rows, columns]
    return {name: table[:, i].copy() for i, name in enumerate(header)}


def _run_label(run: str | Path) -> str:
    """Default legend label: the run directory's name (the parent's for a metrics file)."""
    path = Path(run)
    if path.name == METRICS_FILENAME or path.is_file():
        path = path.resolve().parent
    return path.name or str(path)


def plot_learning_curves(
    runs: Sequence[str | Path],
    out: str | Path,
    *,
    labels: Sequence[str] | None = None,
    title: str | None = None,
    target_return: float | None = None,
) -> Path:
    """Plots the learning curves of one or more runs into one PNG.

    For each run, the x axis is environment steps; ``train_return`` (mean return of recent training
    episodes) is drawn as a thin transparent line, and ``eval_mean`` as a line with markers inside a
    ``eval_mean ± eval_std`` band. Rows where a column is empty are skipped for that column, and
    missing columns are simply not drawn.

    Args:
        runs: Run directories (or paths of their ``metrics.csv`` files), one curve colour each.
        out: Path of the PNG to write; parent directories are created. Must end in ``.png``.
        labels: Legend label per run; defaults to each run directory's name.
        title: Figure title; none when ``None``.
        target_return: If given, a dashed horizontal line at this return (e.g. the environment's
            reward threshold).

    Returns:
        The path of the written PNG.

    Raises:
        RLWorksError: If ``runs`` is empty, ``labels`` does not have one entry per run, ``out`` is
            not a ``.png`` path, or a run's metrics cannot be read (see :func:`read_metrics`).
    """
    out = Path(out)
    if not runs:
        raise RLWorksError("plot_learning_curves got no runs; expected at least one run directory")
    if labels is not None and len(labels) != len(runs):
        raise RLWorksError(
            f"plot_learning_curves got {len(labels)} labels for {len(runs)} runs; "
            "expected one label per run"
        )
    if out.suffix.lower() != ".png":
        raise RLWorksError(f"plot output '{out}' has suffix '{out.suffix}'; expected '.png'")
    tables = [read_metrics(run) for run in runs]
    names = list(labels) if labels is not None else [_run_label(run) for run in runs]

    fig = Figure(figsize=(8.0, 5.0), dpi=100, layout="constrained")
    FigureCanvasAgg(fig)
    ax = fig.add_subplot()
    handles: list[Line2D] = []
    for i, (table, name) in enumerate(zip(tables, names, strict=True)):
        color = f"C{i % 10}"
        _draw_run(ax, table, color)
        handles.append(Line2D([], [], color=color, linewidth=2.0, label=name))

    # Style key: which line is which, shared by all runs.
    handles.append(
        Line2D([], [], color="0.4", linewidth=1.0, alpha=0.5, label="training episodes (mean)")
    )
    handles.append(
        Line2D(
            [], [], color="0.4", linewidth=1.5, marker="o", markersize=4, label="evaluation ± std"
        )
    )
    if target_return is not None:
        ax.axhline(target_return, color="0.2", linestyle="--", linewidth=1.0)
        handles.append(
            Line2D(
                [],
                [],
                color="0.2",
                linestyle="--",
                linewidth=1.0,
                label=f"target {target_return:g}",
            )
        )

    ax.xaxis.set_major_formatter(EngFormatter(sep=""))  # 20k, 1.5M
    ax.set_xlabel("environment steps")
    ax.set_ylabel("episode return")
    if title is not None:
        ax.set_title(title)
    ax.grid(True, alpha=0.3)
    ax.legend(handles=handles, loc="best", fontsize="small")

    with atomic_path(out) as tmp:
        fig.savefig(tmp, format="png")
    return out


def _draw_run(ax: Axes, table: dict[str, np.ndarray], color: str) -> None:
    """Draws one run's training line and evaluation band onto ``ax`` in ``color``."""
    step = table["step"]
    if "train_return" in table:
        train = table["train_return"]
        keep = np.isfinite(step) & np.isfinite(train)
        ax.plot(step[keep], train[keep], color=color, linewidth=1.0, alpha=0.4)
    if "eval_mean" in table:
        mean = table["eval_mean"]
        keep = np.isfinite(step) & np.isfinite(mean)
        x, y = step[keep], mean[keep]
        if "eval_std" in table:
            std = np.nan_to_num(table["eval_std"][keep], nan=0.0)  # no std measured → no band
            ax.fill_between(x, y - std, y + std, color=color, alpha=0.15, linewidth=0.0)
        ax.plot(x, y, color=color, linewidth=1.5, marker="o", markersize=4)
