"""Tests for rlworks.training.trainer and rundir: what a short training run leaves behind."""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch
import yaml
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

import rlworks
from rlworks.agents import RandomSearch, RandomSearchConfig
from rlworks.errors import ConfigError, NonFiniteError
from rlworks.training import Callback, EvalResult, TrainConfig, TrainResult, TrainState, train
from rlworks.training.rundir import create_run_dir, read_run_config

RUN_CONFIG = {
    "algo": "random-search",
    "env": "CartPole-v1",
    "train": {"steps": 3000},
    "agent": {"episodes_per_candidate": 2},
}


def make_agent(seed: int = 1) -> RandomSearch:
    env = rlworks.make_env("CartPole-v1", n_envs=4, seed=seed)
    return RandomSearch(env, RandomSearchConfig(episodes_per_candidate=2), seed=seed)


def short_config(**overrides: Any) -> TrainConfig:
    settings: dict[str, Any] = {
        "steps": 3000,
        "seed": 1,
        "n_envs": 4,
        "eval_every": 1000,
        "eval_episodes": 3,
        "log_every": 500,
    }
    settings.update(overrides)
    return TrainConfig(**settings)


class Recorder(Callback):
    """Records every hook call, in order."""

    def __init__(self) -> None:
        self.calls: list[str] = []
        self.evals: list[tuple[int, float]] = []
        self.iterations: list[int] = []

    def on_train_start(self, state: TrainState) -> None:
        self.calls.append("start")

    def on_iteration(self, state: TrainState) -> None:
        self.calls.append("iteration")
        self.iterations.append(state.iteration)

    def on_eval(self, state: TrainState, result: EvalResult) -> None:
        self.calls.append("eval")
        self.evals.append((state.step, result.mean))

    def on_train_end(self, state: TrainState) -> None:
        self.calls.append("end")


def run_in(path: Path, seed: int = 1, **overrides: Any) -> tuple[RandomSearch, TrainResult]:
    create_run_dir(path, RUN_CONFIG)
    agent = make_agent(seed)
    result = train(
        agent,
        short_config(seed=seed, **overrides),
        run_dir=path,
        progress=False,
        run_config=RUN_CONFIG,
    )
    return agent, result


def read_csv(path: Path) -> list[dict[str, str]]:
    with path.open(newline="") as f:
        return list(csv.DictReader(f))


# ---------------------------------------------------------------------------------------------
# The run directory


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, RandomSearch, TrainResult]:
    path = tmp_path_factory.mktemp("train") / "run"
    agent, result = run_in(path, checkpoint_every=1000)
    return path, agent, result


def test_result_summarizes_the_run(run: tuple[Path, RandomSearch, TrainResult]) -> None:
    path, _, result = run
    assert result.algo == "random-search"
    assert result.env == "CartPole-v1"
    # The budget is in steps; an iteration (2 whole episodes per candidate) may overshoot it.
    assert result.steps >= 3000
    assert result.stop_reason == "step budget"
    assert result.solved_at_step is None
    assert result.run_dir == str(path)


def test_run_dir_holds_the_config(run: tuple[Path, RandomSearch, TrainResult]) -> None:
    assert read_run_config(run[0]) == RUN_CONFIG
    assert yaml.safe_load((run[0] / "config.yaml").read_text()) == RUN_CONFIG


def test_metrics_csv_has_the_documented_columns(
    run: tuple[Path, RandomSearch, TrainResult],
) -> None:
    path, _, result = run
    with (path / "metrics.csv").open(newline="") as f:
        header = next(csv.reader(f))
    assert header == [
        "step",
        "wall_s",
        "episodes",
        "train_return",
        "train_length",
        "eval_mean",
        "eval_std",
        "candidate_return",
        "best_return",
        "candidates",
    ]
    rows = read_csv(path / "metrics.csv")
    steps = [int(r["step"]) for r in rows]
    # One row per iteration that crosses a multiple of log_every (500) or evaluates: an
    # evaluation at a logging step joins that row, so steps strictly increase.
    assert steps == sorted(set(steps))
    assert steps[-1] == result.steps
    evals = [r for r in rows if r["eval_mean"]]
    assert len(evals) >= 3
    assert float(evals[-1]["eval_mean"]) == pytest.approx(result.eval_mean, rel=1e-5)
    # On CartPole (reward 1 per step) the training return equals the episode length.
    assert all(r["train_return"] == r["train_length"] for r in rows)


def test_tensorboard_events(run: tuple[Path, RandomSearch, TrainResult]) -> None:
    path, _, result = run
    assert list(path.glob("events.out.tfevents.*"))
    events = EventAccumulator(str(path))
    events.Reload()
    tags = events.Tags()["scalars"]
    assert {"eval/mean_return", "train/average_return", "agent/best_return"} <= set(tags)
    last = events.Scalars("eval/mean_return")[-1]
    assert last.step == result.steps
    assert last.value == pytest.approx(result.eval_mean, rel=1e-6)


def test_checkpoints(run: tuple[Path, RandomSearch, TrainResult]) -> None:
    path, agent, result = run
    names = sorted(p.name for p in (path / "checkpoints").iterdir())
    # final.pt, and step_N.pt at the first step past each multiple of checkpoint_every = 1000.
    steps = sorted(int(n[5:-3]) for n in names if n.startswith("step_"))
    assert "final.pt" in names
    assert len(steps) == 3
    assert [s // 1000 for s in steps] == [1, 2, 3]
    assert steps[-1] == result.steps
    assert not [n for n in names if n.startswith(".")]  # no temporary files left
    loaded = rlworks.load(path)
    assert isinstance(loaded, RandomSearch)
    np.testing.assert_array_equal(loaded.best_params, agent.best_params)
    payload = rlworks.training.load_checkpoint(path / "checkpoints" / "final.pt")
    assert payload["trainer"]["step"] == result.steps
    assert payload["run_config"] == RUN_CONFIG


def test_eval_json(run: tuple[Path, RandomSearch, TrainResult]) -> None:
    path, _, result = run
    report = json.loads((path / "eval.json").read_text())
    assert {"mean", "std", "min", "max", "returns", "lengths", "seed", "step"} <= set(report)
    assert report["mean"] == result.eval_mean
    assert report["mean"] == pytest.approx(np.mean(report["returns"]))
    assert report["std"] == pytest.approx(np.std(report["returns"]))
    assert report["min"] == min(report["returns"])
    assert report["max"] == max(report["returns"])
    assert len(report["returns"]) == 3
    # Evaluation episodes use seed + 10_000 by default, away from the training seeds.
    assert report["seed"] == 1 + 10_000
    assert report["train"] == result.to_dict()


def test_curve_png(run: tuple[Path, RandomSearch, TrainResult]) -> None:
    assert (run[0] / "curve.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_create_run_dir_refuses_an_existing_run(
    run: tuple[Path, RandomSearch, TrainResult], tmp_path: Path
) -> None:
    with pytest.raises(ConfigError, match="already holds a run"):
        create_run_dir(run[0], RUN_CONFIG)
    # A directory with only checkpoints (the config lost) is a run too.
    (tmp_path / "other" / "checkpoints").mkdir(parents=True)
    with pytest.raises(ConfigError, match="already holds a run"):
        create_run_dir(tmp_path / "other", RUN_CONFIG)
    (tmp_path / "file").write_text("")
    with pytest.raises(ConfigError, match="is not a directory"):
        create_run_dir(tmp_path / "file", RUN_CONFIG)
    # An empty existing directory is fine.
    (tmp_path / "empty").mkdir()
    assert create_run_dir(tmp_path / "empty", RUN_CONFIG) == tmp_path / "empty"


def test_read_run_config_of_a_non_run(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="is not a run directory"):
        read_run_config(tmp_path)


# ---------------------------------------------------------------------------------------------
# The loop


def test_same_seed_same_run(tmp_path: Path) -> None:
    agent_a, result_a = run_in(tmp_path / "a", seed=2)
    agent_b, result_b = run_in(tmp_path / "b", seed=2)
    eval_a = json.loads((tmp_path / "a" / "eval.json").read_text())
    eval_b = json.loads((tmp_path / "b" / "eval.json").read_text())
    assert eval_a["returns"] == eval_b["returns"]
    np.testing.assert_array_equal(agent_a.best_params, agent_b.best_params)
    assert agent_a.candidates_tried == agent_b.candidates_tried
    assert result_a.steps == result_b.steps
    assert result_a.episodes == result_b.episodes

    def without_time(path: Path) -> list[dict[str, str]]:
        return [{k: v for k, v in r.items() if k != "wall_s"} for r in read_csv(path)]

    assert without_time(tmp_path / "a" / "metrics.csv") == without_time(
        tmp_path / "b" / "metrics.csv"
    )


def test_another_seed_another_run() -> None:
    # The check above must be able to fail: seeds 2 and 3 search different candidates.
    a, b = make_agent(2), make_agent(3)
    train(a, short_config(steps=1000, seed=2), progress=False)
    train(b, short_config(steps=1000, seed=3), progress=False)
    assert not np.array_equal(a.best_params, b.best_params)


def test_early_stop_at_target_return() -> None:
    recorder = Recorder()
    agent = make_agent(1)
    config = short_config(steps=100_000, eval_every=1, target_return=450.0)
    result = train(agent, config, progress=False, callbacks=[recorder])

    # Evaluated after every iteration; stopped at the first evaluation reaching 450.
    assert result.solved_at_step is not None
    assert result.solved_at_step == result.steps < 100_000
    assert result.solved_at_s is not None
    assert result.stop_reason == "target return 450 reached"
    assert result.eval_mean >= 450.0
    assert recorder.evals[-1] == (result.steps, result.eval_mean)
    assert all(mean < 450.0 for _, mean in recorder.evals[:-1])
    assert len(recorder.evals) > 1  # not solved by the first candidate: the test means something


def test_callback_hooks_are_called_in_order() -> None:
    recorder = Recorder()
    agent = make_agent(1)
    result = train(agent, short_config(steps=2000), progress=False, callbacks=[recorder])

    assert recorder.calls[0] == "start"
    assert recorder.calls[-1] == "end"
    assert recorder.calls.count("start") == recorder.calls.count("end") == 1
    # One on_iteration per iteration (one candidate each), numbered 1, 2, ...
    assert recorder.iterations == list(range(1, agent.candidates_tried + 1))
    # Evaluations at the first steps past 1000 and 2000 (the last one is the final evaluation).
    assert [step // 1000 for step, _ in recorder.evals] == [1, 2]
    assert recorder.evals[-1] == (result.steps, result.eval_mean)


class SubnormalProbe(Callback):
    """Whether a float32 subnormal survives arithmetic in the training thread, per iteration."""

    def __init__(self) -> None:
        self.kept: list[bool] = []

    def on_iteration(self, state: TrainState) -> None:
        self.kept.append((torch.tensor([1e-38]) / 100).item() > 0)  # 1e-40 is subnormal


def test_training_flushes_subnormals_and_restores_the_mode() -> None:
    # Adam's moments decay into subnormals, whose arithmetic is ~20x slower on x86.
    probe = SubnormalProbe()
    train(make_agent(1), short_config(steps=1000), progress=False, callbacks=[probe])
    if not torch.set_flush_denormal(False):
        pytest.skip("this CPU cannot flush subnormals")
    assert probe.kept and not any(probe.kept)  # flushed while training
    assert (torch.tensor([1e-38]) / 100).item() > 0  # back to torch's default afterwards

    kept = SubnormalProbe()  # flush_denormals=False: IEEE arithmetic throughout
    config = short_config(steps=1000, flush_denormals=False)
    train(make_agent(1), config, progress=False, callbacks=[kept])
    assert kept.kept and all(kept.kept)


class Boom(Callback):
    def on_iteration(self, state: TrainState) -> None:
        raise RuntimeError("boom")


def test_a_failed_run_restores_the_subnormal_mode() -> None:
    with pytest.raises(RuntimeError, match="boom"):
        train(make_agent(1), short_config(steps=1000), progress=False, callbacks=[Boom()])
    assert (torch.tensor([1e-38]) / 100).item() > 0


def test_default_train_writes_nothing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    result = train(make_agent(1), short_config(steps=500), progress=False)
    assert result.run_dir is None
    assert list(tmp_path.iterdir()) == []


class NaNSearch(RandomSearch):
    """Random search whose diagnostics turn NaN on its third candidate."""

    def update(self, batch: Any) -> dict[str, float]:
        info = super().update(batch)
        if self.candidates_tried == 3:
            info["candidate_return"] = float("nan")
        return info


def test_nan_in_agent_info_stops_training(tmp_path: Path) -> None:
    path = tmp_path / "run"
    create_run_dir(path, RUN_CONFIG)
    env = rlworks.make_env("CartPole-v1", n_envs=4, seed=1)
    agent = NaNSearch(env, RandomSearchConfig(episodes_per_candidate=2), seed=1)
    with pytest.raises(NonFiniteError, match=r"non-finite candidate_return = nan at env step \d+"):
        train(agent, short_config(steps=100_000), run_dir=path, progress=False)
    assert agent.candidates_tried == 3
    # The run stopped before any checkpoint could hold the bad state.
    assert not (path / "checkpoints" / "final.pt").exists()


def test_nan_reward_stops_training() -> None:
    agent = make_agent(1)
    original = agent.env.step

    def step(actions: Any) -> Any:
        obs, reward, terminated, truncated, info = original(actions)
        reward = np.array(reward, copy=True)
        reward[2] = np.inf
        return obs, reward, terminated, truncated, info

    agent.env.step = step  # type: ignore[method-assign]
    with pytest.raises(NonFiniteError, match="reward inf at env step 0 in sub-environment 2"):
        train(agent, short_config(), progress=False)
