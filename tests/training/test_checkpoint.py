"""Tests for rlworks.training.checkpoint: round trips, atomic writes and the checks on loading."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch

import rlworks
from rlworks.agents import RandomSearch
from rlworks.errors import CheckpointError
from rlworks.fileio import atomic_write_bytes
from rlworks.training.checkpoint import (
    FORMAT_VERSION,
    find_checkpoint,
    load_checkpoint,
    save_checkpoint,
)


def trained_agent(seed: int = 0) -> RandomSearch:
    """A CartPole random-search agent with non-trivial state, as after some search."""
    agent = RandomSearch("CartPole-v1", seed=seed)
    for score in (12.0, 30.0, 25.0):
        agent.candidate = agent.sample_candidate()
        agent.update(score)
    return agent


def observations(n: int = 64) -> np.ndarray:
    return np.random.default_rng(1).normal(0.0, 1.0, size=(n, 4)).astype(np.float32)


@pytest.fixture
def saved(tmp_path: Path) -> tuple[RandomSearch, Path]:
    agent = trained_agent()
    return agent, agent.save(tmp_path / "agent.pt")


# ---------------------------------------------------------------------------------------------
# Round trip


def test_round_trip_gives_the_same_agent(saved: tuple[RandomSearch, Path]) -> None:
    agent, path = saved
    for loaded in (rlworks.load(path), RandomSearch.load(path)):
        assert isinstance(loaded, RandomSearch)
        assert loaded.env_id == "CartPole-v1"
        np.testing.assert_array_equal(
            loaded.act(observations(), explore=False), agent.act(observations(), explore=False)
        )
        np.testing.assert_array_equal(loaded.best_params, agent.best_params)
        assert loaded.best_return == 30.0
        assert loaded.candidates_tried == 3
        assert loaded.policy_version == agent.policy_version
        assert loaded.config == agent.config
    # The random generators are restored too: the search continues with the same candidates.
    loaded = rlworks.load(path)
    np.testing.assert_array_equal(loaded.sample_candidate(), agent.sample_candidate())


def test_load_from_a_run_directory(tmp_path: Path) -> None:
    agent = trained_agent()
    agent.save(tmp_path / "run" / "checkpoints" / "final.pt")
    loaded = rlworks.load(tmp_path / "run")
    np.testing.assert_array_equal(
        loaded.act(observations(), explore=False), agent.act(observations(), explore=False)
    )


def test_payload_carries_versions_and_spaces(saved: tuple[RandomSearch, Path]) -> None:
    data = load_checkpoint(saved[1])
    assert data["format"] == "rlworks-checkpoint"
    assert data["format_version"] == FORMAT_VERSION
    assert data["rlworks_version"] == rlworks.__version__
    assert data["algo"] == "random-search"
    assert data["env_id"] == "CartPole-v1"
    assert data["spaces"] == {
        "observation": "Box(shape=(4,), dtype=float32)",
        "action": "Discrete(2)",
    }


# ---------------------------------------------------------------------------------------------
# Atomic writes


def test_save_leaves_no_temporary_file(saved: tuple[RandomSearch, Path]) -> None:
    assert os.listdir(saved[1].parent) == ["agent.pt"]


def test_failed_save_leaves_no_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def broken_save(obj: Any, f: Any, *args: Any, **kwargs: Any) -> None:
        Path(f).write_bytes(b"half a checkpoint")
        raise RuntimeError("disk full")

    monkeypatch.setattr(torch, "save", broken_save)
    with pytest.raises(RuntimeError, match="disk full"):
        trained_agent().save(tmp_path / "agent.pt")
    assert os.listdir(tmp_path) == []


def test_failed_save_keeps_the_previous_checkpoint(
    saved: tuple[RandomSearch, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    agent, path = saved
    before = path.read_bytes()

    def broken_save(obj: Any, f: Any, *args: Any, **kwargs: Any) -> None:
        Path(f).write_bytes(b"half a checkpoint")
        raise RuntimeError("disk full")

    monkeypatch.setattr(torch, "save", broken_save)
    with pytest.raises(RuntimeError):
        agent.save(path)
    assert path.read_bytes() == before
    assert os.listdir(path.parent) == ["agent.pt"]


def test_atomic_write_bytes(tmp_path: Path) -> None:
    target = tmp_path / "sub" / "file.txt"
    atomic_write_bytes(target, b"one")
    atomic_write_bytes(target, b"two")
    assert target.read_bytes() == b"two"
    assert os.listdir(target.parent) == ["file.txt"]


# ---------------------------------------------------------------------------------------------
# Refusing bad checkpoints


def test_truncated_checkpoint(saved: tuple[RandomSearch, Path]) -> None:
    path = saved[1]
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(CheckpointError, match="truncated or corrupt"):
        load_checkpoint(path)
    with pytest.raises(CheckpointError, match="truncated or corrupt"):
        rlworks.load(path)


def test_other_format_version(saved: tuple[RandomSearch, Path]) -> None:
    path = saved[1]
    data = torch.load(path, weights_only=True)
    data["format_version"] = FORMAT_VERSION + 1
    torch.save(data, path)
    with pytest.raises(CheckpointError, match=f"format version {FORMAT_VERSION + 1}"):
        rlworks.load(path)


def test_checkpoint_for_other_spaces(saved: tuple[RandomSearch, Path]) -> None:
    # CartPole: 4 observations; Acrobot: 6.
    with pytest.raises(CheckpointError) as info:
        rlworks.load(saved[1], "Acrobot-v1")
    message = str(info.value)
    assert "observation space Box(shape=(4,), dtype=float32) (CartPole-v1)" in message
    assert "Acrobot-v1 has Box(shape=(6,), dtype=float32)" in message


def test_checkpoint_of_another_algorithm(saved: tuple[RandomSearch, Path]) -> None:
    path = saved[1]
    data = torch.load(path, weights_only=True)
    data["algo"] = "no-such-algo"
    torch.save(data, path)
    with pytest.raises(CheckpointError, match="unknown algorithm 'no-such-algo'"):
        rlworks.load(path)
    with pytest.raises(CheckpointError, match="holds a no-such-algo agent, not random-search"):
        RandomSearch.load(path)


def test_not_a_checkpoint(tmp_path: Path) -> None:
    text = tmp_path / "notes.txt"
    text.write_text("not a checkpoint\n")
    with pytest.raises(CheckpointError, match="truncated or corrupt"):
        load_checkpoint(text)
    foreign = tmp_path / "model.pt"
    torch.save({"weights": torch.zeros(3)}, foreign)
    with pytest.raises(CheckpointError, match="is not an rlworks checkpoint"):
        load_checkpoint(foreign)


def test_checkpoint_missing_an_entry(tmp_path: Path) -> None:
    path = save_checkpoint(tmp_path / "x.pt", {"algo": "random-search", "config": {}})
    with pytest.raises(CheckpointError, match="lacks its 'env_id' entry"):
        load_checkpoint(path)


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(CheckpointError, match="does not exist"):
        load_checkpoint(tmp_path / "nope.pt")
    with pytest.raises(CheckpointError, match="neither a run directory nor a checkpoint"):
        rlworks.load(tmp_path / "nope")


# ---------------------------------------------------------------------------------------------
# find_checkpoint


def test_find_checkpoint_in_run_dir_without_checkpoints(tmp_path: Path) -> None:
    (tmp_path / "run" / "checkpoints").mkdir(parents=True)
    with pytest.raises(CheckpointError, match="has no checkpoint"):
        find_checkpoint(tmp_path / "run")
    with pytest.raises(CheckpointError, match="has no checkpoint"):
        find_checkpoint(tmp_path)


def test_find_checkpoint_prefers_final_then_the_latest_step(tmp_path: Path) -> None:
    checkpoints = tmp_path / "checkpoints"
    checkpoints.mkdir()
    for name in ("step_9.pt", "step_10.pt", "step_2.pt"):
        (checkpoints / name).write_bytes(b"")
    # step_10 is later than step_9, although "step_10" < "step_9" as strings.
    assert find_checkpoint(tmp_path) == checkpoints / "step_10.pt"
    (checkpoints / "final.pt").write_bytes(b"")
    assert find_checkpoint(tmp_path) == checkpoints / "final.pt"
    assert find_checkpoint(checkpoints / "step_2.pt") == checkpoints / "step_2.pt"
