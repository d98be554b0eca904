"""Trainer callbacks: progress bar, metrics.csv, TensorBoard events and periodic checkpoints.

A callback gets the trainer's :class:`~rlworks.training.trainer.TrainState` at the start, after
every iteration, after every evaluation and at the end; it may set ``state.stop``. Write your own
by subclassing :class:`Callback` and overriding the hooks you need.
"""

from __future__ import annotations

import csv
import math
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

from rlworks.config import config_to_dict
from rlworks.training.checkpoint import save_checkpoint

if TYPE_CHECKING:
    from rich.progress import Progress, TaskID

    from rlworks.agents.base import Agent
    from rlworks.training.evaluation import EvalResult
    from rlworks.training.metrics import Metric
    from rlworks.training.trainer import TrainState

__all__ = ["CSVLogger", "Callback", "CheckpointCallback", "ProgressBar", "TensorBoardLogger"]


class Callback:
    """Hooks called by the trainer; every hook does nothing by default."""

    def on_train_start(self, state: TrainState) -> None:
        """Before the first iteration."""

    def on_iteration(self, state: TrainState) -> None:
        """After each collect-and-learn iteration."""

    def on_eval(self, state: TrainState, result: EvalResult) -> None:
        """After each evaluation of the greedy policy."""

    def on_train_end(self, state: TrainState) -> None:
        """After the last iteration and the final evaluation."""

    def on_train_abort(self, state: TrainState) -> None:
        """When training stops on an error: release resources, write no results."""


class Every:
    """Fires once each time ``step`` crosses a multiple of ``every`` after ``start`` (0: never)."""

    def __init__(self, every: int, start: int = 0) -> None:
        self.every = every
        self.next = (start // every + 1) * every if every else 0

    def due(self, step: int) -> bool:
        if not self.every or step < self.next:
            return False
        self.next = (step // self.every + 1) * self.every
        return True


class ProgressBar(Callback):
    """A rich progress bar on standard error: steps, steps/s, recent return, last evaluation."""

    def __init__(self, refresh_s: float = 0.2) -> None:
        """Create the bar; it refreshes at most every ``refresh_s`` seconds."""
        self.refresh_s = refresh_s
        self._last = 0.0
        self._progress: Progress | None = None
        self._task: TaskID | None = None

    def on_train_start(self, state: TrainState) -> None:
        """Start the bar."""
        from rich.console import Console
        from rich.progress import (
            BarColumn,
            Progress,
            TextColumn,
            TimeElapsedColumn,
        )

        self._progress = Progress(
            TextColumn("[bold]train"),
            BarColumn(bar_width=24),
            TextColumn("{task.completed:,.0f}/{task.total:,.0f} steps"),
            TextColumn("{task.fields[rate]}"),
            TextColumn("{task.fields[ret]}"),
            TextColumn("{task.fields[eval]}"),
            TimeElapsedColumn(),
            console=Console(stderr=True),
            transient=False,
        )
        self._progress.start()
        self._task = self._progress.add_task(
            "train", total=state.config.steps, completed=state.step, rate="", ret="", eval=""
        )

    def on_iteration(self, state: TrainState) -> None:
        """Update at most every ``refresh_s`` seconds."""
        now = time.perf_counter()
        if now - self._last >= self.refresh_s:
            self._last = now
            self._update(state)

    def on_eval(self, state: TrainState, result: EvalResult) -> None:
        """Show the evaluation."""
        self._update(state)

    def on_train_end(self, state: TrainState) -> None:
        """Draw the final numbers and stop the bar."""
        if self._progress is not None:
            self._update(state)
            self._progress.stop()

    def on_train_abort(self, state: TrainState) -> None:
        """Stop the bar."""
        if self._progress is not None:
            self._progress.stop()

    def _update(self, state: TrainState) -> None:
        if self._progress is None or self._task is None:
            return
        ret = state.metrics.get("average_return", math.nan)
        rate = state.step / state.wall_s if state.wall_s > 0 else 0.0
        last = state.last_eval
        self._progress.update(
            self._task,
            completed=min(state.step, state.config.steps),
            rate=f"{rate:,.0f} steps/s",
            ret="" if math.isnan(ret) else f"return {ret:.1f}",
            eval="" if last is None else f"eval {last.mean:.1f}±{last.std:.1f}",
        )


class CSVLogger(Callback):
    """Writes ``metrics.csv``: a row every ``log_every`` steps and after each evaluation.

    Columns: step, wall_s, episodes, train_return, train_length, eval_mean, eval_std, then the
    agent's diagnostics as named by its first iteration. Empty cells mean "not measured".
    """

    base_columns = (
        "step",
        "wall_s",
        "episodes",
        "train_return",
        "train_length",
        "eval_mean",
        "eval_std",
    )

    def __init__(self, path: Path) -> None:
        """Log to ``path`` (appending when it exists, as on resume)."""
        self.path = path
        self._file: TextIO | None = None
        self._writer: Any = None
        self._columns: list[str] = []
        self._pending: dict[str, Any] | None = None
        self._every = Every(0)

    def on_train_start(self, state: TrainState) -> None:
        """Remember the logging interval."""
        self._every = Every(state.config.log_every, state.step)

    def on_iteration(self, state: TrainState) -> None:
        """Hold a row when a logging interval has passed (an evaluation may join it)."""
        self._flush()
        if self._every.due(state.step):
            self._pending = self._row(state, None)

    def on_eval(self, state: TrainState, result: EvalResult) -> None:
        """Write a row with the evaluation, merged with a row held for the same step."""
        row = self._row(state, result)
        if self._pending is not None and self._pending["step"] == state.step:
            row = {**self._pending, "eval_mean": row["eval_mean"], "eval_std": row["eval_std"]}
        self._pending = row
        self._flush()

    def on_train_end(self, state: TrainState) -> None:
        """Write the held row and close the file."""
        self._flush()
        if self._file is not None:
            self._file.close()
            self._file = None

    on_train_abort = on_train_end

    def _flush(self) -> None:
        if self._pending is not None:
            self._writer.writerow(self._pending)
            assert self._file is not None
            self._file.flush()
            self._pending = None

    def _row(self, state: TrainState, result: EvalResult | None) -> dict[str, Any]:
        if self._file is None:
            self._open(state)
        row: dict[str, Any] = {
            "step": state.step,
            "wall_s": f"{state.wall_s:.3f}",
            "episodes": state.episodes,
            "train_return": _fmt(state.metrics.get("average_return")),
            "train_length": _fmt(state.metrics.get("average_episode_length")),
            "eval_mean": "" if result is None else _fmt(result.mean),
            "eval_std": "" if result is None else _fmt(result.std),
        }
        row.update({k: _fmt(v) for k, v in state.info.items() if k in self._columns})
        return row

    def _open(self, state: TrainState) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        if self.path.exists() and self.path.stat().st_size > 0:
            with self.path.open(newline="") as f:
                self._columns = next(csv.reader(f))
            self._file = self.path.open("a", newline="")
            self._writer = csv.DictWriter(self._file, self._columns, extrasaction="ignore")
            return
        extra = [k for k in state.info if k not in self.base_columns]
        self._columns = [*self.base_columns, *extra]
        self._file = self.path.open("w", newline="")
        self._writer = csv.DictWriter(self._file, self._columns, extrasaction="ignore")
        self._writer.writeheader()


def _fmt(value: float | None) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    return f"{value:.6g}"


class _ScalarWriter:
    """Scalar summaries into a TensorBoard event file, through the ``tensorboard`` package
    itself (what ``torch.utils.tensorboard.SummaryWriter`` wraps, without importing torch)."""

    def __init__(self, log_dir: Path) -> None:
        from tensorboard.compat.proto.event_pb2 import Event
        from tensorboard.compat.proto.summary_pb2 import Summary
        from tensorboard.summary.writer.event_file_writer import EventFileWriter

        self._event, self._summary = Event, Summary
        self._file = EventFileWriter(str(log_dir))

    def add_scalar(self, tag: str, value: float, step: int) -> None:
        """One scalar event."""
        summary = self._summary(value=[self._summary.Value(tag=tag, simple_value=float(value))])
        self._file.add_event(self._event(summary=summary, step=step, wall_time=time.time()))

    def close(self) -> None:
        """Flush and close the event file."""
        self._file.close()


class TensorBoardLogger(Callback):
    """Writes TensorBoard event files into the run directory (``tensorboard --logdir runs``)."""

    def __init__(self, log_dir: Path) -> None:
        """Log to ``log_dir``."""
        self.log_dir = log_dir
        self._writer: _ScalarWriter | None = None
        self._every = Every(0)

    def on_train_start(self, state: TrainState) -> None:
        """Open the event file."""
        self._writer = _ScalarWriter(self.log_dir)
        self._every = Every(state.config.log_every, state.step)

    def on_iteration(self, state: TrainState) -> None:
        """Log training metrics and the agent's diagnostics every ``log_every`` steps."""
        writer = self._writer
        if writer is None or not self._every.due(state.step):
            return
        for name, value in state.metrics.items():
            if not math.isnan(value):
                writer.add_scalar(f"train/{name}", value, state.step)
        for name, value in state.info.items():
            writer.add_scalar(f"agent/{name}", value, state.step)
        if state.wall_s > 0:
            writer.add_scalar("perf/steps_per_s", state.step / state.wall_s, state.step)

    def on_eval(self, state: TrainState, result: EvalResult) -> None:
        """Log the evaluation."""
        if self._writer is not None:
            self._writer.add_scalar("eval/mean_return", result.mean, state.step)
            self._writer.add_scalar("eval/std_return", result.std, state.step)

    def on_train_end(self, state: TrainState) -> None:
        """Flush and close the event file."""
        if self._writer is not None:
            self._writer.close()

    on_train_abort = on_train_end


class CheckpointCallback(Callback):
    """Writes ``step_N.pt`` every ``checkpoint_every`` steps and ``final.pt`` at the end."""

    def __init__(
        self,
        directory: Path,
        agent: Agent[Any],
        metrics: list[Metric],
        run_config: dict[str, Any] | None,
    ) -> None:
        """Checkpoint ``agent`` (and the trainer's counters) into ``directory``."""
        self.directory = directory
        self.agent = agent
        self.metrics = metrics
        self.run_config = run_config
        self._every = Every(0)

    def on_train_start(self, state: TrainState) -> None:
        """Remember the interval."""
        self._every = Every(state.config.checkpoint_every, state.step)

    def on_iteration(self, state: TrainState) -> None:
        """Checkpoint when an interval has passed."""
        if self._every.due(state.step):
            self.save(state, self.directory / f"step_{state.step}.pt")

    def on_train_end(self, state: TrainState) -> None:
        """Write the final checkpoint."""
        self.save(state, self.directory / "final.pt")

    def save(self, state: TrainState, path: Path) -> Path:
        """Write one checkpoint with the trainer state."""
        payload = self.agent.checkpoint_payload()
        payload["train_config"] = config_to_dict(state.config)
        payload["run_config"] = self.run_config
        payload["trainer"] = {
            "step": state.step,
            "iteration": state.iteration,
            "wall_s": state.wall_s,
            "solved_at_step": state.solved_at_step,
            "solved_at_s": state.solved_at_s,
            "metrics": {m.name: m.state_dict() for m in self.metrics},
        }
        return save_checkpoint(path, payload)
