"""Checkpoint files: atomic writes, a versioned format, and the checks made when loading one.

A checkpoint is a ``torch.save`` archive of plain data (tensors, numbers, strings, lists, dicts),
loaded with ``weights_only=True`` so that opening one never runs code. NumPy arrays in a payload
are stored as tensors. A process that never imported torch (a NumPy engine's run) writes the
same format through :func:`~rlworks.training.torch_archive.write_torch_archive`; reading one
always takes torch.

It carries the format version, the rlworks version, the algorithm and its config, the
environment id and the signatures of its spaces, the agent's state (networks, optimizer, RNG)
and, when written by the trainer, the trainer's counters.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np

from rlworks._version import __version__
from rlworks.envs.spaces import space_signature
from rlworks.errors import CheckpointError
from rlworks.fileio import atomic_path
from rlworks.training.torch_archive import write_torch_archive

__all__ = [
    "FORMAT",
    "FORMAT_VERSION",
    "check_spaces",
    "find_checkpoint",
    "load_checkpoint",
    "save_checkpoint",
]

FORMAT = "rlworks-checkpoint"
FORMAT_VERSION = 1
"""Bumped whenever the payload layout changes; loading another version is refused."""


def save_checkpoint(path: str | Path, payload: dict[str, Any]) -> Path:
    """Write a checkpoint atomically, adding the format and library versions.

    Args:
        path: Destination file (its directory is created).
        payload: The agent's checkpoint data (see ``Agent.checkpoint_payload``).

    Returns:
        The path written.
    """
    path = Path(path)
    data = {"format": FORMAT, "format_version": FORMAT_VERSION, "rlworks_version": __version__}
    data.update(payload)
    with atomic_path(path) as tmp:
        if sys.modules.get("torch") is not None:
            import torch

            torch.save(_arrays_as_tensors(data), tmp)
        else:  # nothing here holds a tensor: write the archive without importing torch
            write_torch_archive(data, tmp)
    return path


def _arrays_as_tensors(obj: Any) -> Any:
    """``obj`` with every NumPy array inside dicts, lists and tuples turned into a tensor and
    every NumPy scalar into a Python number (``weights_only`` loading refuses NumPy objects)."""
    if isinstance(obj, np.ndarray):
        import torch

        return torch.from_numpy(obj.copy())
    if isinstance(obj, np.generic):  # a NumPy scalar: the Python number (as the other writer)
        return obj.item()
    if isinstance(obj, dict):
        return {key: _arrays_as_tensors(value) for key, value in obj.items()}
    if type(obj) in (list, tuple):  # exactly: named tuples and torch.Size stay as they are
        return type(obj)(_arrays_as_tensors(item) for item in obj)
    return obj


def load_checkpoint(path: str | Path) -> dict[str, Any]:
    """Read and check a checkpoint written by :func:`save_checkpoint`.

    Raises:
        CheckpointError: Missing file, truncated or corrupt archive, not an rlworks checkpoint,
            or written in another format version.
    """
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"checkpoint {str(path)!r} does not exist")
    import torch

    try:
        data = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:
        reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise CheckpointError(
            f"checkpoint {str(path)!r} is truncated or corrupt ({reason[:120]})"
        ) from None
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        raise CheckpointError(f"{str(path)!r} is not an rlworks checkpoint")
    version = data.get("format_version")
    if version != FORMAT_VERSION:
        raise CheckpointError(
            f"checkpoint {str(path)!r} has format version {version}, this rlworks "
            f"({__version__}) reads version {FORMAT_VERSION}; re-train or use the rlworks "
            f"version that wrote it ({data.get('rlworks_version', 'unknown')})"
        )
    for key in ("algo", "config", "env_id", "spaces", "agent"):
        if key not in data:
            raise CheckpointError(f"checkpoint {str(path)!r} lacks its {key!r} entry")
    return data


def check_spaces(
    payload: dict[str, Any],
    observation_space: gym.Space[Any],
    action_space: gym.Space[Any],
    *,
    env_name: str,
    source: str = "checkpoint",
) -> None:
    """Refuse a checkpoint whose spaces differ from an environment's.

    Raises:
        CheckpointError: Naming the space, what the checkpoint expects and what the env has.
    """
    for what, space in (("observation", observation_space), ("action", action_space)):
        expected = payload["spaces"][what]
        actual = space_signature(space)
        if expected != actual:
            raise CheckpointError(
                f"{source} was trained on {what} space {expected} ({payload['env_id']}), "
                f"but {env_name} has {actual}"
            )


def find_checkpoint(target: str | Path) -> Path:
    """The checkpoint file for a checkpoint path or a run directory (its ``final.pt`` if present,
    else its latest ``step_*.pt``).

    Raises:
        CheckpointError: The path does not exist or the run directory holds no checkpoint.
    """
    path = Path(target)
    if path.is_file():
        return path
    if not path.is_dir():
        raise CheckpointError(f"{str(path)!r} is neither a run directory nor a checkpoint file")
    checkpoints = path / "checkpoints"
    final = checkpoints / "final.pt"
    if final.is_file():
        return final
    steps = sorted(checkpoints.glob("step_*.pt"), key=lambda p: int(p.stem.split("_")[1]))
    if steps:
        return steps[-1]
    raise CheckpointError(
        f"run directory {str(path)!r} has no checkpoint in {str(checkpoints)!r}; "
        "expected one written by `rlworks train`"
    )
