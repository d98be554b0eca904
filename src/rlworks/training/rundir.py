"""Run directories: where a training run leaves its config, metrics, checkpoints and plots.

::

    runs/random-search-CartPole-v1-s0-20261121-120000/
        config.yaml       the resolved run settings (algo, env, train, agent)
        metrics.csv       step, wall_s, episodes, train_return, ..., eval_mean, eval_std, ...
        events.out.tfevents.*   TensorBoard
        checkpoints/      step_N.pt every checkpoint_every steps, final.pt
        eval.json         the final evaluation (mean, std, min, max, every episode's return)
        curve.png         the learning curve

Every file is written atomically or appended row by row, so an interrupted run never leaves a
half-written file behind.
"""

from __future__ import annotations

import json
import re
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml

from rlworks.errors import ConfigError
from rlworks.fileio import atomic_write_bytes

if TYPE_CHECKING:
    from rlworks.training.trainer import TrainResult, TrainState

__all__ = ["create_run_dir", "default_run_dir", "finish_run_dir", "read_run_config"]


def default_run_dir(algo: str, env_id: str, seed: int, root: str | Path = "runs") -> Path:
    """``runs/<algo>-<env>-s<seed>-<YYYYmmdd-HHMMSS>`` (the env id made file-name safe)."""
    safe_env = re.sub(r"[^A-Za-z0-9_.-]+", "_", env_id)
    stamp = time.strftime("%Y%m%d-%H%M%S")
    path = Path(root) / f"{algo}-{safe_env}-s{seed}-{stamp}"
    suffix = 1
    while path.exists():
        suffix += 1
        path = Path(root) / f"{algo}-{safe_env}-s{seed}-{stamp}-{suffix}"
    return path


def create_run_dir(path: str | Path, run_config: dict[str, Any]) -> Path:
    """Create a run directory and write its ``config.yaml``.

    Raises:
        ConfigError: ``path`` already holds a run (pass another ``--run-dir`` or ``--resume``).
    """
    path = Path(path)
    if (path / "config.yaml").exists() or (path / "checkpoints").exists():
        raise ConfigError(
            f"run directory {str(path)!r} already holds a run; choose another --run-dir, "
            "delete it, or continue it with --resume"
        )
    if path.exists() and not path.is_dir():
        raise ConfigError(f"run directory {str(path)!r} exists and is not a directory")
    path.mkdir(parents=True, exist_ok=True)
    text = yaml.safe_dump(run_config, sort_keys=False)
    atomic_write_bytes(path / "config.yaml", text.encode())
    return path


def read_run_config(path: str | Path) -> dict[str, Any]:
    """The ``config.yaml`` of a run directory.

    Raises:
        ConfigError: The directory has no readable config.yaml.
    """
    from rlworks.config import load_yaml

    file = Path(path) / "config.yaml"
    if not file.is_file():
        raise ConfigError(
            f"{str(path)!r} is not a run directory (no config.yaml); expected one made by "
            "`rlworks train`"
        )
    return load_yaml(file)


def finish_run_dir(
    path: Path,
    state: TrainState,
    result: TrainResult,
    *,
    target_return: float | None,
    plot: bool = True,
) -> None:
    """Write ``eval.json`` and (with ``plot``) ``curve.png`` once training has ended."""
    if state.last_eval is not None:
        report = {
            "step": state.last_eval_step,
            **state.last_eval.to_dict(),
            "train": result.to_dict(),
        }
        atomic_write_bytes(path / "eval.json", (json.dumps(report, indent=2) + "\n").encode())
    if plot and (path / "metrics.csv").is_file():
        from rlworks.viz.curves import plot_learning_curves

        plot_learning_curves(
            [path],
            path / "curve.png",
            title=f"{result.algo} on {result.env}",
            target_return=target_return,
        )
