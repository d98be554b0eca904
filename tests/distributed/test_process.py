"""The process gradient server: the handshake, failures named by worker, hung workers, clean-up;
and replaying remote steps into a driver's metrics."""

from __future__ import annotations

import importlib
import multiprocessing as mp
import sys
import textwrap
import time
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch

import rlworks as rw
from rlworks.distributed import ProcessGradientServer, StepRecord, WorkerError, replay_steps
from rlworks.errors import ConfigError, NonFiniteError
from rlworks.training.driver import Driver
from rlworks.training.metrics import AverageReturn, EnvironmentSteps, NumberOfEpisodes

# Worker processes import their factory by module name, which pytest's importlib mode does not
# give test modules: the toy workers live in a module written to a directory on sys.path.
TOY_WORKERS = '''
import os, time
import torch
from rlworks.errors import NonFiniteError


class ToyWorker:
    """Gradient = weights + index; fails as told on its `fail_at`-th gradient."""

    def __init__(self, index, fail, fail_at):
        self.index, self.fail, self.fail_at, self.calls = index, fail, fail_at, 0
        self.weights = None

    def set_weights(self, weights):
        self.weights = weights.clone()

    def compute_gradients(self):
        self.calls += 1
        if self.calls >= self.fail_at:
            if self.fail == "value":
                raise ValueError("boom")
            if self.fail == "nan":
                raise NonFiniteError("non-finite reward nan at env step 3 in sub-environment 1")
            if self.fail == "hang":
                time.sleep(3600)
            if self.fail == "exit":
                os._exit(7)
        return self.weights + self.index, {"pid": os.getpid(), "calls": self.calls}

    def close(self):
        pass


class ToyFactory:
    def __init__(self, fail="", fail_at=10**9, only=None):
        self.fail, self.fail_at, self.only = fail, fail_at, only

    def __call__(self, index):
        fail = self.fail if self.only in (None, index) else ""
        return ToyWorker(index, fail, self.fail_at)
'''


@pytest.fixture
def toy(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Any:
    (tmp_path / "rlworks_toy_workers.py").write_text(textwrap.dedent(TOY_WORKERS))
    monkeypatch.syspath_prepend(str(tmp_path))
    module = importlib.import_module("rlworks_toy_workers")
    yield module
    sys.modules.pop("rlworks_toy_workers", None)


def no_children_left(pids: list[int]) -> bool:
    alive = [p for p in mp.active_children() if p.pid in pids]
    return not alive and not any(Path(f"/proc/{pid}").exists() for pid in pids)


def exchange_for(server: ProcessGradientServer, seconds: float) -> None:
    """Answer gradients with zero weights for up to ``seconds`` (until an error)."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        msg = server.next_gradient()
        server.send_weights(msg.worker, torch.zeros(3))


def test_handshake_applies_each_gradient_and_returns_new_weights(toy: Any) -> None:
    server = ProcessGradientServer(toy.ToyFactory(), 2, name="toy worker", timeout=60)
    server.start(torch.zeros(3))
    pids = server.pids
    try:
        seen: dict[int, list[float]] = {0: [], 1: []}
        step = 0
        while not all(len(values) >= 2 for values in seen.values()) and step < 100_000:
            msg = server.next_gradient()
            step += 1
            # the worker returned the last weights it was sent plus its index
            seen[msg.worker].append(float(msg.grads[0]))
            assert msg.report["pid"] == pids[msg.worker]
            server.send_weights(msg.worker, torch.full((3,), float(step)))
        for worker, values in seen.items():
            assert values[0] == worker  # first gradient: initial weights 0 + index
            assert values[1] > worker  # later ones: the weights sent back (step > 0) + index
    finally:
        server.close()
    assert not server.running and no_children_left(pids)


def test_a_worker_that_exits_is_named_with_its_exit_code(toy: Any) -> None:
    server = ProcessGradientServer(toy.ToyFactory("exit", fail_at=2, only=1), 2, name="toy worker")
    server.start(torch.zeros(3))
    pids = server.pids
    with pytest.raises(WorkerError, match=rf"toy worker 1 \(pid {pids[1]}\) died with exit code 7"):
        exchange_for(server, 60.0)
    assert not server.running and no_children_left(pids)


def test_worker_exceptions_reach_the_master_naming_the_worker(toy: Any) -> None:
    server = ProcessGradientServer(toy.ToyFactory("value", only=0, fail_at=1), 2, name="toy worker")
    server.start(torch.zeros(3))
    pids = server.pids
    with pytest.raises(
        WorkerError, match=rf"toy worker 0 \(pid {pids[0]}\) failed: ValueError: boom"
    ):
        exchange_for(server, 60.0)
    assert no_children_left(pids)
    # rlworks' own errors keep their class (a NaN stays a NonFiniteError, exit code 3)
    server = ProcessGradientServer(toy.ToyFactory("nan", fail_at=1), 1, name="toy worker")
    server.start(torch.zeros(3))
    with pytest.raises(NonFiniteError, match=r"^toy worker 0 \(pid \d+\): non-finite reward"):
        server.next_gradient()


def test_hung_workers_time_out_and_are_stopped(toy: Any) -> None:
    server = ProcessGradientServer(toy.ToyFactory("hang", fail_at=1), 2, timeout=1.0)
    server.start(torch.zeros(3))
    pids = server.pids
    start = time.monotonic()
    with pytest.raises(WorkerError, match=r"no gradient from any of the 2 workers in 1 s"):
        server.next_gradient()
    assert time.monotonic() - start < 10
    assert no_children_left(pids)


def test_bad_settings_are_refused() -> None:
    with pytest.raises(ConfigError, match="n_workers must be >= 1, got 0"):
        ProcessGradientServer(lambda i: None, 0)  # type: ignore[arg-type,return-value]
    with pytest.raises(ConfigError, match="start_method must be one of"):
        ProcessGradientServer(lambda i: None, 1, start_method="fork")  # type: ignore[arg-type,return-value]


def test_replayed_steps_count_in_the_driver_metrics() -> None:
    env = rw.make_env("CartPole-v1", n_envs=2, seed=0)
    metrics = [EnvironmentSteps(), NumberOfEpisodes(), AverageReturn(buffer_size=10)]
    driver = Driver(env, lambda obs: np.zeros(len(obs), dtype=np.int64), metrics)
    # worker 1 of 2-env workers: global sub-environments 2 and 3; 3 rows
    # env 2: rewards 1, 1 (terminated) then an invalid slot (its reset step)
    # env 3: rewards 1, 1, 1 (truncated on the last row)
    record = StepRecord(
        rewards=np.ones((3, 2)),
        terminated=np.array([[False, False], [True, False], [False, False]]),
        truncated=np.array([[False, False], [False, False], [False, True]]),
        valid=np.array([[True, True], [True, True], [False, True]]),
        env_offset=2,
    )
    assert record.steps == 5
    assert replay_steps(driver, record) == 5
    assert driver.total_steps == 5 and driver.total_episodes == 2
    assert metrics[0].result() == 5 and metrics[1].result() == 2
    assert metrics[2].result() == 2.5  # mean(2, 3)
    env.close()
