"""The `rlworks` command end to end: every subcommand runs, and every bad input gets one clear line.

Commands run in-process through ``rlworks.cli.main`` (same code path as the console script).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import gymnasium as gym
import pytest
import torch

from rlworks.cli import main
from rlworks.envs import registry
from rlworks.training.checkpoint import load_checkpoint

SMALL_TRAIN = [
    "--steps",
    "3000",
    "--eval-every",
    "1000",
    "--eval-episodes",
    "3",
    "--quiet",
]


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def last_json(out: str) -> dict[str, object]:
    return json.loads(out.strip().splitlines()[-1])  # type: ignore[no-any-return]


@pytest.fixture(scope="module")
def trained_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One short random-search run shared by the eval/record/plot tests."""
    run_dir = tmp_path_factory.mktemp("cli") / "run"
    code = main(["train", "random-search", "CartPole-v1", "--run-dir", str(run_dir), *SMALL_TRAIN])
    assert code == 0
    return run_dir


# --------------------------------------------------------------------------- happy paths
def test_train_json_reports_the_documented_keys(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    run_dir = tmp_path / "run"
    code, out, _ = run(
        capsys, "train", "random-search", "CartPole-v1", "--run-dir", str(run_dir), "--json",
        "--seed", "3", *SMALL_TRAIN,
    )  # fmt: skip
    assert code == 0
    data = last_json(out)
    for key in ("algo", "env", "steps", "wall_s", "steps_per_s", "eval_mean", "eval_std",
                "solved_at_step", "solved_at_s", "run_dir"):  # fmt: skip
        assert key in data
    assert data["algo"] == "random-search" and data["env"] == "CartPole-v1"
    assert data["steps"] >= 3000  # type: ignore[operator]
    assert data["solved_at_step"] is None  # no target given
    for name in ("config.yaml", "metrics.csv", "eval.json", "curve.png", "checkpoints/final.pt"):
        assert (run_dir / name).is_file(), name
    assert list(run_dir.glob("events.out.tfevents.*"))
    config = (run_dir / "config.yaml").read_text()
    assert "seed: 3" in config and "episodes_per_candidate" in config


def test_set_and_flags_reach_the_resolved_config(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    run_dir = tmp_path / "run"
    code, _, _ = run(
        capsys, "train", "random-search", "CartPole-v1", "--run-dir", str(run_dir),
        "--set", "episodes_per_candidate=4", "--set", "train.log_every=500", "--n-envs", "4",
        *SMALL_TRAIN,
    )  # fmt: skip
    assert code == 0
    payload = load_checkpoint(run_dir / "checkpoints" / "final.pt")
    assert payload["config"]["episodes_per_candidate"] == 4
    assert payload["train_config"]["log_every"] == 500
    assert payload["train_config"]["n_envs"] == 4


def test_eval_basic_policy_reproduces_the_chapter(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(
        capsys, "eval", "--policy", "basic", "CartPole-v1", "--episodes", "500", "--seed", "42",
        "--json",
    )  # fmt: skip
    assert code == 0
    data = last_json(out)
    assert 40 <= data["mean"] <= 44  # type: ignore[operator]
    assert data["max"] < 75  # type: ignore[operator]


def test_eval_run_dir_and_checkpoint(capsys: pytest.CaptureFixture[str], trained_run: Path) -> None:
    code, out, _ = run(capsys, "eval", str(trained_run), "--episodes", "3", "--json")
    assert code == 0
    by_dir = last_json(out)
    ckpt = trained_run / "checkpoints" / "final.pt"
    code, out, _ = run(capsys, "eval", str(ckpt), "CartPole-v1", "--episodes", "3", "--json")
    assert code == 0
    assert last_json(out)["mean"] == by_dir["mean"]


def test_record_writes_an_animated_gif(
    capsys: pytest.CaptureFixture[str], trained_run: Path, tmp_path: Path
) -> None:
    from PIL import Image

    out_file = tmp_path / "cartpole.gif"
    code, out, _ = run(
        capsys, "record", str(trained_run), "--out", str(out_file), "--max-steps", "30"
    )
    assert code == 0, out
    with Image.open(out_file) as gif:
        assert gif.format == "GIF"
        assert gif.n_frames > 1  # type: ignore[attr-defined]


def test_plot_writes_a_png(
    capsys: pytest.CaptureFixture[str], trained_run: Path, tmp_path: Path
) -> None:
    out_file = tmp_path / "c.png"
    code, _, _ = run(capsys, "plot", str(trained_run), str(trained_run), "--out", str(out_file))
    assert code == 0
    assert out_file.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_resume_continues_the_step_count(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    run_dir = tmp_path / "run"
    assert main(["train", "random-search", "CartPole-v1", "--run-dir", str(run_dir),
                 *SMALL_TRAIN]) == 0  # fmt: skip
    first = load_checkpoint(run_dir / "checkpoints" / "final.pt")["trainer"]["step"]
    capsys.readouterr()
    code, out, _ = run(capsys, "train", "--resume", str(run_dir), "--steps", "6000", "--json",
                       "--quiet")  # fmt: skip
    assert code == 0
    assert last_json(out)["steps"] >= 6000 > first


def test_envs_lists_families(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "envs", "--json")
    assert code == 0
    data = last_json(out)
    assert "CartPole-v1" in data["classic-control"]  # type: ignore[operator]
    assert "rlworks/GridWorld-v0" in data["rlworks"]  # type: ignore[operator]


def test_check_env_gridworld_passes(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "check-env", "rlworks/GridWorld-v0", "--json")
    assert code == 0
    assert last_json(out) == {"target": "rlworks/GridWorld-v0", "ok": True}


def test_config_shows_every_field_with_its_doc(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "config", "random-search", "CartPole-v1")
    assert code == 0
    assert "episodes_per_candidate: 10" in out
    assert "eval_episodes: 20" in out  # from the bundled preset
    assert "# Whole episodes played with each candidate" in out


def test_help_of_every_command(capsys: pytest.CaptureFixture[str]) -> None:
    for command in ("train", "eval", "record", "plot", "envs", "check-env", "config"):
        with pytest.raises(SystemExit) as info:
            main([command, "--help"])
        assert info.value.code == 0
        assert "usage: rlworks" in capsys.readouterr().out


def test_train_help_lists_every_algorithm(capsys: pytest.CaptureFixture[str]) -> None:
    from rlworks.agents import ALGORITHMS

    with pytest.raises(SystemExit):
        main(["train", "--help"])
    listed = capsys.readouterr().out.split("algorithms:")[1].split("examples:")[0]
    assert set(ALGORITHMS) <= {word.strip(",") for word in listed.split()}, sorted(ALGORITHMS)


# --------------------------------------------------------------------------- bad input
BROKEN_ENV = """
import gymnasium as gym
import numpy as np

class OldApiEnv(gym.Env):
    observation_space = gym.spaces.Box(-1.0, 1.0, (2,), np.float32)
    action_space = gym.spaces.Discrete(2)

    def reset(self, *, seed=None, options=None):
        super().reset(seed=seed)
        return np.zeros(2, np.float32), {}

    def step(self, action):
        return np.zeros(2, np.float32), 0.0, False, {}
"""


@pytest.fixture
def files(tmp_path: Path) -> dict[str, Path]:
    """Bad files: malformed YAML, a truncated and a foreign-version checkpoint, an empty run."""
    bad_yaml = tmp_path / "bad.yaml"
    bad_yaml.write_text("algo: random-search\ntrain:\n  steps: [1, 2\n")
    wrong_type = tmp_path / "wrong_type.yaml"
    wrong_type.write_text("algo: random-search\nagent:\n  episodes_per_candidate: many\n")
    run_dir = tmp_path / "run"
    assert main(["train", "random-search", "CartPole-v1", "--run-dir", str(run_dir),
                 *SMALL_TRAIN]) == 0  # fmt: skip
    good = run_dir / "checkpoints" / "final.pt"
    truncated = tmp_path / "truncated.pt"
    truncated.write_bytes(good.read_bytes()[:200])
    old = tmp_path / "old.pt"
    payload = torch.load(good, weights_only=True)
    payload["format_version"] = 0
    torch.save(payload, old)
    no_ckpt = tmp_path / "no_ckpt"
    (no_ckpt / "checkpoints").mkdir(parents=True)
    (no_ckpt / "config.yaml").write_text("algo: random-search\nenv: CartPole-v1\n")
    module = tmp_path / "broken_env.py"
    module.write_text(BROKEN_ENV)
    return {
        "bad_yaml": bad_yaml,
        "wrong_type": wrong_type,
        "good": good,
        "truncated": truncated,
        "old": old,
        "no_ckpt": no_ckpt,
        "broken_env": module,
    }


BAD_INPUTS = [
    # (id, argv with {placeholders}, expected fragment of the one-line message)
    ("unknown env id", ["train", "random-search", "CartPol-v1"],
     "unknown environment id 'CartPol-v1'; did you mean 'CartPole-v1'?"),
    ("unknown algorithm", ["train", "random-serch", "CartPole-v1"],
     "unknown algorithm 'random-serch'; did you mean 'random-search'?"),
    ("algorithm cannot handle the spaces", ["train", "random-search", "FrozenLake-v1"],
     "random-search cannot handle FrozenLake-v1: its observation space is Discrete(16), "
     "expected Box"),
    ("unknown config key", ["train", "random-search", "CartPole-v1", "--set", "epsiodes=3"],
     "--set epsiodes: unknown key for random-search; allowed:"),
    ("ill-typed config value",
     ["train", "random-search", "CartPole-v1", "--set", "episodes_per_candidate=abc"],
     "command line: episodes_per_candidate must be an integer, got 'abc' (str)"),
    ("out-of-range config value",
     ["train", "random-search", "CartPole-v1", "--set", "episodes_per_candidate=0"],
     "command line: episodes_per_candidate must be >= 1, got 0"),
    ("literal config value",
     ["train", "random-search", "CartPole-v1", "--set", "distribution=cauchy"],
     "distribution must be one of 'uniform', 'normal', got 'cauchy'"),
    ("malformed YAML", ["train", "random-search", "CartPole-v1", "--preset", "{bad_yaml}"],
     "bad.yaml: malformed YAML at line"),
    ("ill-typed preset value",
     ["train", "random-search", "CartPole-v1", "--preset", "{wrong_type}"],
     "wrong_type.yaml: episodes_per_candidate must be an integer, got 'many' (str)"),
    ("unknown preset", ["train", "random-search", "CartPole-v1", "--preset", "nope"],
     "unknown preset 'nope'"),
    ("truncated checkpoint", ["eval", "{truncated}"], "is truncated or corrupt"),
    ("checkpoint of another format version", ["eval", "{old}"],
     "has format version 0, this rlworks"),
    ("checkpoint for different spaces", ["eval", "{good}", "Acrobot-v1"],
     "was trained on observation space Box(shape=(4,), dtype=float32) (CartPole-v1), "
     "but Acrobot-v1 has Box(shape=(6,), dtype=float32)"),
    ("record on a run with no checkpoint", ["record", "{no_ckpt}"], "has no checkpoint in"),
    ("eval of a missing path", ["eval", "no/such/run"],
     "'no/such/run' is neither a run directory nor a checkpoint file"),
    ("basic policy on another env", ["eval", "--policy", "basic", "Acrobot-v1"],
     "the basic policy is for CartPole"),
    ("record to an unknown format",
     ["record", "--policy", "basic", "CartPole-v1", "--out", "x.avi"],
     "--out must end in .gif or .mp4"),
    ("broken custom env", ["check-env", "{broken_env}:OldApiEnv"], "step() returned 4 values"),
]  # fmt: skip


@pytest.mark.parametrize(("argv", "expected"), [c[1:] for c in BAD_INPUTS],
                         ids=[c[0] for c in BAD_INPUTS])  # fmt: skip
def test_bad_input_gets_one_clear_line(
    capsys: pytest.CaptureFixture[str],
    files: dict[str, Path],
    tmp_path: Path,
    argv: list[str],
    expected: str,
) -> None:
    run_dir = tmp_path / "must-not-exist"
    args = [a.format(**{k: str(v) for k, v in files.items()}) for a in argv]
    if args[0] == "train":
        args += ["--run-dir", str(run_dir)]
    code, _, err = run(capsys, *args)
    assert code == 2
    lines = err.strip().splitlines()
    if args[0] == "check-env":  # one summary line, then one line per fault
        assert lines[0].startswith("error: ")
        assert any(expected in line for line in lines[1:])
    else:
        assert len(lines) == 1
        assert lines[0].startswith("error: ")
        assert expected in lines[0]
    assert "Traceback" not in err
    assert not run_dir.exists()  # nothing half-written


def test_atari_id_without_the_extra(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setitem(sys.modules, "ale_py", None)  # `import ale_py` now fails
    monkeypatch.setattr(registry, "_atari_registered", False)
    monkeypatch.delitem(gym.registry, "ALE/Breakout-v5", raising=False)
    code, _, err = run(capsys, "train", "random-search", "ALE/Breakout-v5",
                       "--run-dir", str(tmp_path / "run"))  # fmt: skip
    assert code == 2
    assert err.strip() == (
        "error: 'ALE/Breakout-v5' is an Atari environment and needs the atari extra: "
        'pip install "rlworks[atari]"'
    )
    assert not (tmp_path / "run").exists()


def test_run_dir_that_already_holds_a_run(
    capsys: pytest.CaptureFixture[str], trained_run: Path
) -> None:
    code, _, err = run(capsys, "train", "random-search", "CartPole-v1", "--run-dir",
                       str(trained_run), *SMALL_TRAIN)  # fmt: skip
    assert code == 2
    assert "already holds a run" in err


def test_debug_shows_the_traceback(capsys: pytest.CaptureFixture[str]) -> None:
    from rlworks.errors import EnvError

    with pytest.raises(EnvError):
        main(["--debug", "train", "random-search", "CartPol-v1"])


def test_resume_replays_the_uninterrupted_run(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    settings = ["--seed", "3", "--eval-every", "5000", "--checkpoint-every", "5000", "--quiet"]
    full, part = tmp_path / "full", tmp_path / "part"
    assert main(["train", "random-search", "CartPole-v1", "--steps", "30000",
                 "--run-dir", str(full), *settings]) == 0  # fmt: skip
    assert main(["train", "random-search", "CartPole-v1", "--steps", "15000",
                 "--run-dir", str(part), *settings]) == 0  # fmt: skip
    assert main(["train", "--resume", str(part), "--steps", "30000", "--quiet"]) == 0

    def rows(run_dir: Path) -> list[list[str]]:  # every column but wall_s
        lines = (run_dir / "metrics.csv").read_text().splitlines()
        return [line.split(",")[:1] + line.split(",")[2:] for line in lines]

    assert rows(part) == rows(full)
    capsys.readouterr()
    code, _, err = run(capsys, "train", "--resume", str(part), "--seed", "1")
    assert code == 2
    assert "only --steps may change, got --seed" in err


@pytest.mark.slow
@pytest.mark.parametrize("seed", range(5))
def test_random_search_solves_cartpole_from_the_command_line(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, seed: int
) -> None:
    # Acceptance: eval mean >= 475 over 20 deterministic episodes, within the preset's budget.
    run_dir = tmp_path / "run"
    argv = ["train", "random-search", "CartPole-v1", "--seed", str(seed), "--target-return", "475"]
    code, out, _ = run(capsys, *argv, "--run-dir", str(run_dir), "--json", "--quiet")
    assert code == 0
    data = last_json(out)
    assert data["solved_at_step"] is not None
    assert data["eval_mean"] >= 475  # type: ignore[operator]
    for name in ("config.yaml", "metrics.csv", "eval.json", "curve.png", "checkpoints/final.pt"):
        assert (run_dir / name).is_file(), name
