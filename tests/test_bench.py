"""The rlworks-vs-SB3 benchmark harness: plan, commands, medians, ratios, docs, CLI, a tiny run."""

from __future__ import annotations

import json
import math
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from rlworks.bench import harness
from rlworks.bench.harness import BenchCase, RunSpec

TINY = BenchCase(
    name="tiny-reinforce",
    title="REINFORCE on CartPole-v1 (test)",
    algo="reinforce",
    env="CartPole-v1",
    preset=None,
    sb3_algo="PPO",
    sb3_kwargs={"n_steps": 64, "batch_size": 64, "n_epochs": 1, "policy_kwargs": {"net_arch": [8]}},
    n_envs=4,
    throughput_steps=1_000,
    solve_steps=1_000,
    target_return=1.0,  # any policy's first evaluation reaches it: solved at the first one
    eval_every=500,
    eval_episodes=2,
)


def record(library: str, kind: str, seed: int, wall: float, **result: Any) -> dict[str, Any]:
    """A run record as run_case stores it."""
    base = {"steps": 1000, "steps_per_s": None, "eval_mean": 500.0, "solved_at_step": None}
    return {
        "library": library,
        "kind": kind,
        "seed": seed,
        "process_wall_s": wall,
        "result": {**base, **result},
    }


# ----------------------------------------------------------------------------- plan and commands
def test_plan_alternates_library_order_between_seeds() -> None:
    plan = harness.plan_runs([0, 1, 2], [0, 1], ["rlworks", "sb3"])
    assert plan == [
        # seed 0 (even): rlworks first, throughput pair then solve pair
        RunSpec("rlworks", "throughput", 0),
        RunSpec("sb3", "throughput", 0),
        RunSpec("rlworks", "solve", 0),
        RunSpec("sb3", "solve", 0),
        # seed 1 (odd): SB3 first
        RunSpec("sb3", "throughput", 1),
        RunSpec("rlworks", "throughput", 1),
        RunSpec("sb3", "solve", 1),
        RunSpec("rlworks", "solve", 1),
        # seed 2: not a throughput seed, rlworks first again
        RunSpec("rlworks", "solve", 2),
        RunSpec("sb3", "solve", 2),
    ]
    assert harness.plan_runs([0, 1], [], ["rlworks"]) == [
        RunSpec("rlworks", "solve", 0),
        RunSpec("rlworks", "solve", 1),
    ]


def test_commands_follow_the_protocol() -> None:
    case = harness.get_case("dqn-cartpole")
    solve = harness.rlworks_command(case, "solve", 3, "/tmp/run")
    assert solve[1:6] == ["-m", "rlworks.cli", "train", "dqn", "CartPole-v1"]
    text = " ".join(solve)
    assert "--preset zoo" in text
    assert "--seed 3 --n-envs 1 --device cpu" in text
    assert "--steps 50000 --eval-every 5000 --target-return 475" in text
    assert "--eval-episodes 20" in text
    assert text.endswith("--run-dir /tmp/run --quiet --json")
    throughput = " ".join(harness.rlworks_command(case, "throughput", 0, "/tmp/run"))
    assert "--eval-every 0 --set train.target_return=null" in throughput
    assert "--target-return" not in throughput

    sb3 = harness.sb3_command(case, "solve", 3)
    assert sb3[1].endswith("sb3_runner.py")
    assert sb3[2:4] == ["DQN", "CartPole-v1"]
    kwargs = json.loads(sb3[sb3.index("--kwargs") + 1])
    assert kwargs["train_freq"] == 256
    assert kwargs["policy_kwargs"] == {"net_arch": [256, 256]}
    assert "--target-return 475" in " ".join(sb3)
    assert "--target-return" not in harness.sb3_command(case, "throughput", 0)


# SB3's name → the rlworks config key meaning the same hyperparameter, per case.
SAME_SETTINGS = {
    "ppo-cartpole": {
        "n_steps": "n_steps", "batch_size": "batch_size", "n_epochs": "n_epochs",
        "gae_lambda": "gae_lambda", "gamma": "gamma", "ent_coef": "ent_coef",
        "vf_coef": "vf_coef", "max_grad_norm": "max_grad_norm",
    },
    "sac-pendulum": {
        "learning_rate": "learning_rate", "buffer_size": "buffer_size",
        "learning_starts": "learning_starts", "batch_size": "batch_size", "tau": "tau",
        "gamma": "gamma", "train_freq": "train_freq", "gradient_steps": "gradient_steps",
        "ent_coef": "ent_coef", "target_entropy": "target_entropy",
    },
}  # fmt: skip


@pytest.mark.parametrize("name", sorted(SAME_SETTINGS))
def test_new_cases_give_both_libraries_the_same_hyperparameters(name: str) -> None:
    from rlworks.config import find_preset, load_yaml

    case = harness.get_case(name)
    path = find_preset(case.preset, case.algo, case.env)
    assert path is not None
    preset = load_yaml(path)
    agent, train = preset["agent"], preset["train"]
    for sb3_key, key in SAME_SETTINGS[name].items():
        assert case.sb3_kwargs[sb3_key] == agent[key], sb3_key
    assert train["n_envs"] == case.n_envs and train["target_return"] == case.target_return
    net_arch = case.sb3_kwargs["policy_kwargs"]["net_arch"]
    if name == "ppo-cartpole":
        # lin_ schedules over the budget = rlworks' annealing over anneal_steps
        for sb3_key in ("learning_rate", "clip_range"):
            value = case.sb3_kwargs[sb3_key]
            assert value.startswith("lin_") and float(value[4:]) == agent[sb3_key]
        assert agent["anneal_lr"] and agent["anneal_clip_range"]
        assert agent["anneal_steps"] == case.throughput_steps == case.solve_steps
        assert net_arch == {"pi": [64, 64], "vf": [64, 64]}  # PPOConfig's default widths
    else:
        assert net_arch == agent["hidden_sizes"]
    command = " ".join(harness.rlworks_command(case, "solve", 0, "/tmp/run"))
    assert f"--n-envs {case.n_envs}" in command and f"--eval-every {case.eval_every}" in command


def test_sb3_kwargs_decode_rl_zoo_linear_schedules() -> None:
    pytest.importorskip("torch")
    from rlworks.bench.sb3_runner import decode_kwargs

    encoded = {"learning_rate": "lin_1e-3", "clip_range": "lin_0.2", "ent_coef": "auto"}
    decoded = decode_kwargs(encoded)
    # SB3 calls a schedule with the remaining progress: 1 at the start, 0 at the end
    assert decoded["learning_rate"](1.0) == pytest.approx(1e-3)
    assert decoded["learning_rate"](0.25) == pytest.approx(2.5e-4)
    assert decoded["clip_range"](0.5) == pytest.approx(0.1)
    assert decoded["ent_coef"] == "auto"  # not a schedulable key: left alone
    with pytest.raises(ValueError, match=r"clip_range: 'lin_x' is not lin_<number>"):
        decode_kwargs({"clip_range": "lin_x"})


def test_unknown_case_names_the_known_ones() -> None:
    from rlworks.errors import ConfigError

    with pytest.raises(ConfigError, match=r"'nope'.*dqn-cartpole"):
        harness.get_case("nope")


# ----------------------------------------------------------------------------- aggregation
def test_aggregate_medians_ratios_and_unsolved_seeds() -> None:
    records = [
        # throughput on seeds 0 and 1
        record("rlworks", "throughput", 0, 9.0, steps_per_s=1000.0),
        record("rlworks", "throughput", 1, 9.0, steps_per_s=1200.0),
        record("sb3", "throughput", 0, 9.0, steps_per_s=500.0),
        record("sb3", "throughput", 1, 9.0, steps_per_s=700.0),
        # time to solve: rlworks 10, 20, 40 s (all solved); SB3 8 s, 50 s, unsolved
        record("rlworks", "solve", 0, 10.0, solved_at_step=5000, eval_mean=480.0),
        record("rlworks", "solve", 1, 20.0, solved_at_step=10000, eval_mean=490.0),
        record("rlworks", "solve", 2, 40.0, solved_at_step=20000, eval_mean=500.0),
        record("sb3", "solve", 0, 8.0, solved_at_step=5000, eval_mean=476.0),
        record("sb3", "solve", 1, 50.0, solved_at_step=30000, eval_mean=499.0),
        record("sb3", "solve", 2, 60.0, solved_at_step=None, eval_mean=300.0),
    ]
    out = harness.aggregate(records, [0, 1, 2], [0, 1], ["rlworks", "sb3"])
    rows = {(r["library"], r["seed"]): r for r in out["rows"]}
    assert rows[("sb3", 2)]["solve_s"] is None  # unsolved: no time to solve ...
    assert rows[("sb3", 2)]["solve_run_wall_s"] == 60.0  # ... though the run took 60 s
    assert rows[("rlworks", 2)]["steps_per_s"] is None  # no throughput run on seed 2
    ours, theirs = out["medians"]["rlworks"], out["medians"]["sb3"]
    # steps/s: median(1000, 1200) = 1100; median(500, 700) = 600
    assert ours["steps_per_s"] == 1100.0
    assert theirs["steps_per_s"] == 600.0
    # solve time: median(10, 20, 40) = 20; median(8, 50, inf) = 50
    assert ours["solve_s"] == 20.0
    assert theirs["solve_s"] == 50.0
    assert (ours["seeds_solved"], theirs["seeds_solved"]) == (3, 2)
    # solved at step: median(5000, 10000, 20000) = 10000; median(5000, 30000, inf) = 30000
    assert (ours["solved_at_step"], theirs["solved_at_step"]) == (10000, 30000)
    # final eval: median(480, 490, 500) = 490; median(476, 499, 300) = 476
    assert (ours["final_eval_mean"], theirs["final_eval_mean"]) == (490.0, 476.0)
    ratios = out["ratios"]
    assert ratios["throughput"] == pytest.approx(1100 / 600)  # 1.833
    # per seed: 1000 / 500 = 2.0, 1200 / 700 = 1.714
    assert ratios["throughput_per_seed"] == pytest.approx({"0": 2.0, "1": 1200 / 700})
    assert ratios["time_to_solve"] == pytest.approx(20 / 50)  # 0.4: rlworks solves sooner
    assert ratios["time_to_solve_note"] is None


def test_more_than_half_unsolved_gives_an_infinite_median_and_no_ratio() -> None:
    records = [
        record("rlworks", "solve", 0, 10.0, solved_at_step=5000),
        record("rlworks", "solve", 1, 20.0, solved_at_step=5000),
        # SB3: 30 s, unsolved, unsolved -> median(30, inf, inf) = inf
        record("sb3", "solve", 0, 30.0, solved_at_step=5000),
        record("sb3", "solve", 1, 90.0),
    ]
    out = harness.aggregate(records, [0, 1], [], ["rlworks", "sb3"])
    # two seeds, one unsolved: median(30, inf) = (30 + inf) / 2 = inf
    assert out["medians"]["sb3"]["solve_s"] is None
    assert out["medians"]["sb3"]["solve_median_infinite"]
    assert out["medians"]["rlworks"]["solve_s"] == 15.0  # median(10, 20) = 15
    assert out["ratios"]["time_to_solve"] is None
    assert "SB3" in out["ratios"]["time_to_solve_note"]
    assert out["ratios"]["throughput"] is None  # no throughput seeds
    assert out["medians"]["rlworks"]["steps_per_s"] is None


def test_aggregate_without_sb3_has_no_ratios() -> None:
    records = [record("rlworks", "solve", 0, 10.0, solved_at_step=5000)]
    out = harness.aggregate(records, [0], [], ["rlworks"])
    assert out["ratios"] is None
    assert list(out["medians"]) == ["rlworks"]


# ----------------------------------------------------------------------------- docs section
def section(name: str, body: str) -> str:
    return f"<!-- bench:{name}:start -->\n{body}\n<!-- bench:{name}:end -->\n"


def test_replace_section_appends_replaces_and_leaves_the_rest() -> None:
    doc = "# Benchmarks\n\n## Other\n\ntext\n"
    first = harness.replace_section(doc, "a", section("a", "one"))
    assert first == doc + "\n" + section("a", "one")  # appended after one blank line
    with_b = harness.replace_section(first, "b", section("b", "bee"))
    replaced = harness.replace_section(with_b, "a", section("a", "two\nlines"))
    assert replaced == with_b.replace("one", "two\nlines")  # only a's body changed
    assert section("b", "bee") in replaced
    assert replaced.startswith(doc)
    assert harness.replace_section(replaced, "a", section("a", "two\nlines")) == replaced
    assert harness.replace_section("", "a", section("a", "x")) == section("a", "x")


def test_replace_section_refuses_a_broken_section() -> None:
    from rlworks.errors import ConfigError

    broken = "text\n<!-- bench:a:start -->\nhalf\n"
    with pytest.raises(ConfigError, match="bench:a:end"):
        harness.replace_section(broken, "a", section("a", "x"))


# ----------------------------------------------------------------------------- running (faked)
def fake_process(command: list[str]) -> tuple[float, dict[str, Any]]:
    """Stands in for a run's process: rlworks solves at 5,000 steps, SB3 at 10,000."""
    is_sb3 = command[1].endswith("sb3_runner.py")
    solve = "--target-return" in command
    result = {
        "steps": 5000 if solve else 1000,
        "steps_per_s": 300.0 if is_sb3 else 600.0,
        "eval_mean": 480.0,
        "solved_at_step": (10_000 if is_sb3 else 5_000) if solve else None,
    }
    return (20.0 if is_sb3 else 10.0), result


def test_missing_sb3_runs_rlworks_alone(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setattr(harness, "sb3_available", lambda: False)
    monkeypatch.setattr(harness, "_run_process", fake_process)
    report = harness.run_case(TINY, seeds=[0, 1])
    assert report["libraries"] == ["rlworks"]
    assert [r["library"] for r in report["runs"]] == ["rlworks"] * 3  # throughput 0, solve 0, 1
    assert report["ratios"] is None
    assert "not installed" in report["sb3_note"]
    docs = harness.update_docs(tmp_path / "b.md", report, "results/tiny.json")
    text = docs.read_text()
    assert "not installed" in text
    assert "No ratios" in text
    assert "SB3 median" not in text


def test_both_libraries_faked(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(harness, "sb3_available", lambda: True)
    monkeypatch.setattr(harness, "_run_process", fake_process)
    lines: list[str] = []
    report = harness.run_case(TINY, seeds=[0, 1], progress=lines.append)
    assert [(r["library"], r["kind"]) for r in report["runs"]] == [
        ("rlworks", "throughput"),
        ("sb3", "throughput"),
        ("rlworks", "solve"),
        ("sb3", "solve"),
        ("sb3", "solve"),
        ("rlworks", "solve"),
    ]
    assert report["ratios"]["throughput"] == 2.0  # 600 / 300
    assert report["ratios"]["time_to_solve"] == 0.5  # 10 s / 20 s
    assert len(lines) == 12  # one line before and one after each of the six runs
    assert "elapsed" in lines[0]
    text = harness.render_section(report, "results/tiny.json")
    assert "**rlworks ÷ SB3**: env steps/s **2.00**" in text
    assert "| SB3 | 1 | – | 20.0 | 10,000 | 480.0 |" in text


def test_seed_validation() -> None:
    from rlworks.errors import ConfigError

    with pytest.raises(ConfigError, match="throughput-seeds"):
        harness.run_case(TINY, seeds=[0, 1], throughput_seeds=[2])
    with pytest.raises(ConfigError, match="distinct"):
        harness.run_case(TINY, seeds=[0, 0])


def test_package_imports_without_sb3_or_torch() -> None:
    code = (
        "import sys; sys.modules['stable_baselines3'] = None\n"
        "import rlworks.bench as b; from rlworks.bench import sb3_runner, harness\n"
        "assert not harness.sb3_available()\n"
        "harness.machine_info(); harness.sb3_command(b.get_case('dqn-cartpole'), 'solve', 0)\n"
        "assert 'torch' not in sys.modules, 'torch imported'\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


# ----------------------------------------------------------------------------- SB3 runner
def test_sb3_evaluation_resets_episode_k_with_seed_plus_k() -> None:
    import gymnasium as gym
    import numpy as np

    from rlworks.bench.sb3_runner import _make_evaluator

    class AlwaysLeft:
        def predict(self, obs: np.ndarray, deterministic: bool) -> tuple[np.ndarray, None]:
            assert deterministic
            return np.zeros(len(obs), dtype=np.int64), None

    evaluate, close = _make_evaluator("CartPole-v1", 3, seed=10_007)
    mean, std = evaluate(AlwaysLeft())
    close()
    returns = []
    for k in range(3):
        env = gym.make("CartPole-v1")
        env.reset(seed=10_007 + k)
        total, done = 0.0, False
        while not done:
            _, reward, terminated, truncated, _ = env.step(0)
            total += float(reward)
            done = terminated or truncated
        returns.append(total)
    assert (mean, std) == pytest.approx((np.mean(returns), np.std(returns)))


def test_sb3_runner_protocol(capsys: pytest.CaptureFixture[str]) -> None:
    pytest.importorskip("stable_baselines3")
    from rlworks.bench.sb3_runner import main

    kwargs = json.dumps(
        {
            "n_steps": 64,
            "batch_size": 64,
            "n_epochs": 1,
            "policy_kwargs": {"net_arch": [8], "activation_fn": "tanh"},
        }
    )
    args = ["PPO", "CartPole-v1", "--n-envs", "2", "--kwargs", kwargs, "--eval-episodes", "2"]
    assert main([*args, "--steps", "1000", "--eval-every", "256", "--target-return", "1"]) == 0
    solved = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert solved["solved_at_step"] == 256  # the first evaluation reaches a target of 1
    assert solved["steps"] == 256
    assert solved["stop_reason"] == "target return 1 reached"
    assert solved["evals"][-1][0] == 256  # no second evaluation at the end
    assert main([*args, "--steps", "128", "--torch-threads", "1"]) == 0
    budget = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert budget["solved_at_step"] is None
    assert budget["steps"] == 128
    assert len(budget["evals"]) == 1  # evaluated once, at the end
    assert budget["torch_threads"] == 1
    # steps / the unrounded wall time; wall_s is rounded to 1 ms, which is several per cent of
    # a 128-step run's ~30 ms, so the bound allows the rounding (and steps_per_s's own 0.1).
    wall = budget["wall_s"]
    assert 128 / (wall + 0.0005) - 0.05 <= budget["steps_per_s"] <= 128 / (wall - 0.0005) + 0.05
    keys = {
        "algo",
        "env",
        "steps",
        "wall_s",
        "steps_per_s",
        "eval_mean",
        "eval_std",
        "solved_at_step",
        "solved_at_s",
        "sb3_version",
        "torch_threads",
    }
    assert keys <= set(budget)


# ----------------------------------------------------------------------------- CLI
def test_cli_list(cli: Callable[..., Any]) -> None:
    result = cli("bench", "--list", "--json")
    assert result.code == 0
    case = next(c for c in result.json["cases"] if c["name"] == "dqn-cartpole")
    assert case["sb3"] == "DQN"
    assert case["target_return"] == 475
    human = cli("bench")  # no CASE: the list, with a hint
    assert "dqn-cartpole" in human.out
    assert "name a case" in human.out
    # A speed-only window case names its window, not a target it does not have.
    assert "agent steps/s from step 2,000 to 6,000" in human.out and "target 0 " not in human.out


def test_cli_unknown_case(cli: Callable[..., Any]) -> None:
    result = cli("bench", "dqn-cartpole", "no-such-case", "--no-docs")
    assert result.code == 2
    assert result.err.startswith("error: unknown benchmark case 'no-such-case'")
    assert "dqn-cartpole" in result.err
    assert len(result.err.strip().splitlines()) == 1


def test_cli_end_to_end_tiny_case(
    cli: Callable[..., Any], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setitem(harness.CASES, TINY.name, TINY)  # the one dict cases.py holds
    docs = tmp_path / "benchmarks.md"
    docs.write_text("# Benchmarks\n\nkeep me\n")
    out = tmp_path / "results"
    result = cli(
        "bench",
        TINY.name,
        "--seeds",
        "0",
        "--throughput-seeds",
        "--no-sb3",
        "--out",
        str(out),
        "--docs",
        str(docs),
        "--json",
    )
    assert result.code == 0, result.err
    assert f"[{TINY.name} 1/1] rlworks solve, seed 0" in result.err
    summary = result.json["cases"][0]
    assert summary["ratios"] is None
    assert summary["medians"]["rlworks"]["seeds_solved"] == 1
    report = json.loads((out / f"{TINY.name}.json").read_text())
    (run,) = report["runs"]
    assert run["result"]["algo"] == "reinforce"
    assert run["result"]["solved_at_step"] is not None
    assert run["process_wall_s"] > 0
    assert report["machine"]["nproc"] >= 1
    text = docs.read_text()
    assert text.startswith("# Benchmarks\n\nkeep me\n")
    assert f"<!-- bench:{TINY.name}:start -->" in text
    assert "| rlworks | 0 | – |" in text
    assert "left out (--no-sb3)" in text
    assert not any(p.name.startswith(".") for p in tmp_path.rglob("*"))  # no temp files left
    assert math.isfinite(report["medians"]["rlworks"]["solve_s"])


# ----------------------------------------------------------------------------- window cases
def test_breakout_window_case_gives_both_libraries_the_same_settings() -> None:
    from rlworks.agents import DQNConfig
    from rlworks.config import config_from_dict, parse_overrides

    case = harness.get_case("dqn-breakout")
    assert case.window is not None and case.atari and case.frames_per_step == 4
    start, end = case.window
    sb3 = case.sb3_kwargs
    assert sb3["learning_starts"] < start < end  # timed once learning has started
    settings = parse_overrides(case.overrides)
    agent = {k.removeprefix("agent."): v for k, v in settings.items()}
    assert agent["async_collection"] is True
    config = config_from_dict(DQNConfig, agent)  # every override is a DQNConfig field
    same = {
        "learning_rate": "learning_rate", "buffer_size": "buffer_size",
        "learning_starts": "learning_starts", "batch_size": "batch_size", "gamma": "gamma",
        "target_update_interval": "target_update_period", "train_freq": "train_freq",
        "gradient_steps": "gradient_steps", "exploration_final_eps": "exploration_final_eps",
    }  # fmt: skip
    for sb3_key, key in same.items():
        assert sb3[sb3_key] == getattr(config, key), sb3_key
    # SB3's exploration_fraction is of model.learn's budget, which is the window's end.
    assert config.exploration_duration == int(sb3["exploration_fraction"] * end)
    assert (config.loss, config.max_grad_norm, config.optimizer) == ("huber", 10, "adam")


def test_window_case_commands_and_plan() -> None:
    case = harness.get_case("dqn-breakout")
    ours = harness.rlworks_command(case, "throughput", 3, "/unused")
    assert ours[1] == "-c" and "rlworks_window_main" in ours[2]
    text = " ".join(ours[3:])
    assert text.startswith("dqn ALE/Breakout-v5 --seed 3 --n-envs 1 --window 2000 6000")
    assert "--atari" in text and "--torch-threads 1" in text
    assert "--set=agent.async_collection=true" in text
    theirs = " ".join(harness.sb3_command(case, "throughput", 3))
    assert "DQN ALE/Breakout-v5 --seed 3 --n-envs 1 --policy CnnPolicy" in theirs
    assert "--window 2000 6000 --frame-skip 4 --torch-threads 1 --atari" in theirs
    assert "--eval-every" not in theirs and "--target-return" not in theirs
    shown = harness.display_command(case, "throughput")
    assert shown.startswith("rlworks train dqn ALE/Breakout-v5 --set agent.learning_rate=")
    assert shown.endswith("--steps 6000")
    # No time-to-solve runs: every seed gets a throughput window, alternating who goes first.
    plan = harness.plan_runs([0, 1], [0, 1], ["rlworks", "sb3"], solve=False)
    assert plan == [
        RunSpec("rlworks", "throughput", 0),
        RunSpec("sb3", "throughput", 0),
        RunSpec("sb3", "throughput", 1),
        RunSpec("rlworks", "throughput", 1),
    ]


def fake_window_process(command: list[str]) -> tuple[float, dict[str, Any]]:
    """A window run: rlworks at 120 agent steps/s, SB3 at 70."""
    is_sb3 = command[1].endswith("sb3_runner.py")
    rate = 70.0 if is_sb3 else 120.0
    result = {
        "steps": 6000,
        "window": [2000, 6000],
        "window_steps": 4000,
        "window_s": 4000 / rate,
        "window_gradient_steps": 1000,
        "steps_per_s": rate,
        "frames_per_s": 4 * rate,
        "eval_mean": None,
    }
    return 60.0, result


def test_window_case_report_and_docs(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setattr(harness, "sb3_available", lambda: True)
    monkeypatch.setattr(harness, "_run_process", fake_window_process)
    case = harness.get_case("dqn-breakout")
    report = harness.run_case(case, seeds=[0, 1])
    assert [(r["library"], r["kind"], r["seed"]) for r in report["runs"]] == [
        ("rlworks", "throughput", 0),
        ("sb3", "throughput", 0),
        ("sb3", "throughput", 1),
        ("rlworks", "throughput", 1),
    ]
    assert report["ratios"]["throughput"] == pytest.approx(120 / 70)
    report["machine"]["loadavg_at_start"] = [2.5, 2.0, 1.5]  # a loaded machine is marked
    path = harness.write_results(report, tmp_path)
    assert json.loads(path.read_text())["case"]["window"] == [2000, 6000]
    docs = harness.update_docs(tmp_path / "b.md", report, "results/dqn-breakout.json")
    text = docs.read_text()
    assert "| rlworks | 0 | 120.0 | 480 | 4,000 | 1,000 | 33.3 |" in text
    assert "| **SB3 median** | | **70.0** | **280** | | | |" in text
    assert "agent steps/s (and frames/s) **1.71**" in text
    assert "timed from step 2,000 to step 6,000" in text
    assert "*Not a quiet-machine measurement*: load average 2.50 at the start" in text
    assert "time to solve" not in text.lower()
    assert harness.update_docs(docs, report, "results/dqn-breakout.json").read_text() == text


def test_window_clock_times_only_the_window() -> None:
    from rlworks.bench.sb3_runner import WindowClock

    clock = WindowClock(8, 20)
    ticks = [clock.tick(step, updates=step // 4) for step in range(4, 40, 4)]
    # 4: before; 8 … 16: inside; 20: the end (False, and every later tick too)
    assert ticks == [True, True, True, True, False, False, False, False, False]
    assert (clock.steps, clock.updates) == (12, 3)  # steps 8 → 20, updates 2 → 5
    assert clock.seconds >= 0 and clock.steps_per_s > 0


def test_sb3_runner_refuses_atari_without_a_window(capsys: pytest.CaptureFixture[str]) -> None:
    from rlworks.bench.sb3_runner import main

    assert main(["DQN", "ALE/Breakout-v5", "--atari"]) == 2
    assert "--window" in capsys.readouterr().err
    assert main(["DQN", "CartPole-v1", "--window", "10", "5"]) == 2


def test_rlworks_window_run_on_cartpole(capsys: pytest.CaptureFixture[str]) -> None:
    settings = ["agent.learning_starts=100", "agent.batch_size=16", "agent.hidden_sizes=[16]"]
    argv = ["dqn", "CartPole-v1", "--window", "200", "400", "--torch-threads", "1"]
    argv += ["--frame-skip", "2", *(f"--set={item}" for item in settings)]
    assert harness.rlworks_window_main(argv) == 0
    result = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert result["window"] == [200, 400] and result["window_steps"] == 200
    assert result["window_gradient_steps"] == 200 // 4  # train_freq 4, gradient_steps 1
    assert result["frames_per_s"] == pytest.approx(2 * result["steps_per_s"], rel=1e-3)
    assert result["torch_threads"] == 1 and result["steps"] == 400
