"""Breakout end to end: presets, the train/eval/record commands on ALE ids, game scores in
evaluation, resume, and checkpoints refused by another game or frame stack.

Training runs are a few hundred steps with a tiny buffer; episodes are cut short so that an
untrained greedy agent (which never presses FIRE after losing a life) cannot stall evaluation.
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import yaml

pytest.importorskip("ale_py")
pytest.importorskip("cv2")

import rlworks as rw
from rlworks.agents.dqn import DQNConfig
from rlworks.buffers.frames import FrameReplayBuffer
from rlworks.cli import main
from rlworks.config import PRESETS_DIR, config_from_dict, find_preset, load_yaml
from rlworks.envs.atari import AtariOptions, atari_options_of, resolve_atari_options
from rlworks.envs.make import make_env
from rlworks.errors import CheckpointError
from rlworks.training.checkpoint import load_checkpoint
from rlworks.training.evaluation import evaluate
from rlworks.training.trainer import TrainConfig

BREAKOUT = "ALE/Breakout-v5"
TINY = [
    "--steps", "400", "--n-envs", "2", "--eval-every", "0", "--eval-episodes", "1",
    "--checkpoint-every", "200", "--quiet",
    "--set", "agent.buffer_size=1000", "--set", "agent.learning_starts=200",
    "--set", "agent.batch_size=8", "--set", "agent.fc_layer_params=[32]",
    "--set", "train.max_episode_steps=60",
]  # fmt: skip


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def last_json(out: str) -> dict[str, Any]:
    return json.loads(out.strip().splitlines()[-1])  # type: ignore[no-any-return]


@pytest.fixture(scope="module")
def breakout_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A few hundred steps of `rlworks train dqn ALE/Breakout-v5` (the fast preset, shrunk)."""
    run_dir = tmp_path_factory.mktemp("atari") / "run"
    assert main(["train", "dqn", BREAKOUT, "--run-dir", str(run_dir), *TINY]) == 0
    return run_dir


# --------------------------------------------------------------------------- presets
def test_book_preset_holds_the_chapters_numbers() -> None:
    path = find_preset("book", "dqn", BREAKOUT)
    assert path == PRESETS_DIR / "dqn-breakout-book.yaml"
    data = load_yaml(path)
    train = config_from_dict(TrainConfig, data["train"], source=str(path))
    agent = config_from_dict(DQNConfig, data["agent"], source=str(path))
    options = resolve_atari_options(BREAKOUT, data["atari"])
    # RMSprop(lr=2.5e-4, rho=0.95, momentum=0, epsilon=1e-5, centered=True)
    assert agent.optimizer == "rmsprop" and agent.learning_rate == 2.5e-4
    assert agent.rmsprop_rho == 0.95 and agent.rmsprop_centered and agent.optimizer_eps == 1e-5
    # PolynomialDecay(1.0 -> 0.01, decay_steps=250000 // 4 training steps) = 250k env steps
    assert (agent.exploration_initial_eps, agent.exploration_final_eps) == (1.0, 0.01)
    assert agent.exploration_duration == 250_000 and agent.exploration_schedule == "linear"
    # target_update_period=2000 training steps, one training step per update_period=4 steps
    assert agent.train_freq == 4 and agent.gradient_steps == 1
    assert agent.target_update_period == 2_000 * 4 and agent.tau == 1.0
    assert agent.loss == "huber" and agent.gamma == 0.99 and agent.max_grad_norm is None
    assert agent.buffer_size == 1_000_000 and agent.batch_size == 64
    assert agent.learning_starts == 20_000  # the random warm-up: 20k steps = 80k frames
    assert not agent.double and agent.n_step == 1 and agent.dueling_head == "none"
    assert agent.conv_layer_params == [[32, 8, 4], [64, 4, 2], [64, 3, 1]]
    assert agent.fc_layer_params == [512]
    assert train.n_envs == 1 and train.steps == 2_500_000  # 10M frames
    assert options == AtariOptions()  # the chapter's AtariPreprocessing + FrameStack4
    assert options is not None and options.max_episode_steps == 27_000  # 108k frames


def test_fast_preset_is_the_default_and_keeps_one_gradient_step_per_four_env_steps() -> None:
    path = find_preset(None, "dqn", BREAKOUT)
    assert path == PRESETS_DIR / "dqn-breakout-fast.yaml"
    assert find_preset("fast", "dqn", BREAKOUT) == path
    data = load_yaml(path)
    train = config_from_dict(TrainConfig, data["train"], source=str(path))
    agent = config_from_dict(DQNConfig, data["agent"], source=str(path))
    assert agent.train_freq / agent.gradient_steps == 4
    assert train.n_envs <= agent.train_freq
    assert agent.double and agent.n_step == 3 and agent.optimizer == "adam"
    assert 100_000 <= agent.buffer_size <= 200_000
    assert 2_000_000 <= train.steps * 4 <= 5_000_000  # frames
    assert 0 < train.eval_episodes <= 10 and 50_000 <= train.eval_every <= 100_000
    nbytes = FrameReplayBuffer.estimate_nbytes(agent.buffer_size, (4, 84, 84))
    assert nbytes < 1.5e9  # what the description promises


def test_book_short_name_keeps_the_cartpole_preset_on_cartpole() -> None:
    assert find_preset("book", "dqn", "CartPole-v1") == PRESETS_DIR / "dqn-book.yaml"
    assert find_preset(None, "dqn", "CartPole-v1") == PRESETS_DIR / "dqn-cartpole.yaml"


def test_a_million_frames_buffer_is_documented_at_7_4_gb() -> None:
    nbytes = FrameReplayBuffer.estimate_nbytes(1_000_000, (4, 84, 84))
    assert round(nbytes / 1e9, 1) == 7.4
    assert "7.4 GB" in Path(__file__).parents[1].joinpath("docs/atari.md").read_text()


def test_atari_setting_is_validated_before_any_work(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    for setting, expected in (
        ("atari.frames=4", "unknown Atari option 'frames'"),
        ("atari.frame_stack=0", "frame_stack must be an integer >= 1"),
        ("atari=3", "atari must be true, false, null or a mapping"),
    ):
        code, _, err = run(capsys, "train", "dqn", BREAKOUT, "--set", setting,
                           "--run-dir", str(tmp_path / "run"))  # fmt: skip
        assert code == 2 and expected in err, err
    assert not (tmp_path / "run").exists()


# --------------------------------------------------------------------------- train / eval / record
def test_train_eval_record_breakout_end_to_end(
    capsys: pytest.CaptureFixture[str], breakout_run: Path, tmp_path: Path
) -> None:
    config = yaml.safe_load((breakout_run / "config.yaml").read_text())
    assert config["preset"] == "dqn-breakout-fast"
    assert config["atari"]["clip_rewards"] is True  # recorded for resume
    assert config["atari"]["frame_stack"] == 4 and "atari" not in config["train"]
    header = (breakout_run / "metrics.csv").read_text().splitlines()[0].split(",")
    for column in ("step", "episodes", "train_return", "train_length"):  # the chapter's metrics
        assert column in header
    payload = load_checkpoint(breakout_run / "checkpoints" / "final.pt")
    assert payload["atari"]["frame_stack"] == 4 and payload["atari"]["clip_rewards"] is True

    code, out, _ = run(capsys, "eval", str(breakout_run), "--episodes", "2", "--json")
    assert code == 0
    data = last_json(out)
    assert data["env"] == BREAKOUT and data["episodes"] == 2

    gif = tmp_path / "breakout.gif"
    code, out, _ = run(capsys, "record", str(breakout_run), "--out", str(gif),
                       "--max-steps", "40", "--json")  # fmt: skip
    assert code == 0
    data = last_json(out)
    assert gif.is_file() and gif.stat().st_size > 0
    from PIL import Image

    with Image.open(gif) as image:
        assert image.size == (160, 210)  # the full-colour screen, not the 84x84 stack
    assert data["frames"] <= 41 // 2 + 3  # every 2nd screen of at most 41 (+ FIRE screens)
    assert len(data["returns"]) == 1


def test_loaded_atari_agent_rebuilds_the_preprocessed_env(breakout_run: Path) -> None:
    agent = rw.load(breakout_run, device="cpu")
    options = atari_options_of(agent.env)
    assert options is not None and options.frame_stack == 4 and options.clip_rewards
    assert agent.observation_space.shape == (4, 84, 84)


def test_resume_an_atari_run_refills_its_frame_buffer(
    capsys: pytest.CaptureFixture[str], breakout_run: Path, tmp_path: Path
) -> None:
    import shutil

    copy = tmp_path / "resumed"
    shutil.copytree(breakout_run, copy)
    code, out, _ = run(capsys, "train", "--resume", str(copy), "--steps", "700", "--quiet",
                       "--json")  # fmt: skip
    assert code == 0
    assert last_json(out)["steps"] >= 700
    rows = (copy / "metrics.csv").read_text().splitlines()
    header, last = rows[0].split(","), rows[-1].split(",")
    gradient_steps = float(last[header.index("gradient_steps")])
    before = load_checkpoint(breakout_run / "checkpoints" / "final.pt")
    assert gradient_steps > before["agent"]["algorithm"]["gradient_steps"]  # learned again


# --------------------------------------------------------------------------- game scores
def test_evaluation_reports_unclipped_game_scores() -> None:
    # Space Invaders pays 5-30 points an alien: firing all the time scores more than the count of
    # rewarded steps that clipping to +1 would give.
    def fire(obs: np.ndarray) -> np.ndarray:
        return np.ones(len(obs), dtype=np.int64)

    game = "ALE/SpaceInvaders-v5"
    score = evaluate(fire, game, episodes=1, seed=0, max_episode_steps=200)
    clipped = evaluate(fire, game, episodes=1, seed=0, max_episode_steps=200,
                       atari={"clip_rewards": True})  # fmt: skip
    assert clipped.mean > 0
    assert score.mean > clipped.mean


def test_an_agents_evaluation_env_keeps_its_preprocessing_without_clipping(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    env = rw.make_env(BREAKOUT, 1, seed=0, atari={"frame_stack": 2, "noop_max": 0})
    agent = rw.agents.DQN(env, DQNConfig(buffer_size=100, batch_size=8, fc_layer_params=[16]))
    made: dict[str, Any] = {}
    real = make_env

    def spy(*args: Any, **kwargs: Any) -> Any:
        made.update(kwargs)
        return real(*args, **kwargs)

    monkeypatch.setattr("rlworks.training.evaluation.make_env", spy)
    evaluate(agent, episodes=1, max_episode_steps=20)
    options = made["atari"]
    assert isinstance(options, AtariOptions)
    assert options.clip_rewards is False
    assert (options.frame_stack, options.noop_max) == (2, 0)
    env.close()


def test_trainer_evaluates_atari_with_game_scores(monkeypatch: pytest.MonkeyPatch) -> None:
    env = rw.make_env(BREAKOUT, 1, seed=0, atari=True)
    agent = rw.agents.DQN(env, DQNConfig(buffer_size=100, batch_size=8, learning_starts=50,
                                         fc_layer_params=[16]))  # fmt: skip
    seen: list[Any] = []
    real = make_env

    def spy(*args: Any, **kwargs: Any) -> Any:
        seen.append(kwargs.get("atari"))
        return real(*args, **kwargs)

    monkeypatch.setattr("rlworks.training.evaluation.make_env", spy)
    agent.learn(40, eval_episodes=1, max_episode_steps=20, progress=False)
    assert seen and all(o is not None and not o.clip_rewards for o in seen)
    env.close()


# --------------------------------------------------------------------------- wrong checkpoints
def test_an_atari_checkpoint_refuses_another_game(
    capsys: pytest.CaptureFixture[str], breakout_run: Path
) -> None:
    with pytest.raises(CheckpointError, match=r"ALE/Breakout-v5 \(the game 'breakout'\).*Pong"):
        rw.load(breakout_run, "ALE/Pong-v5", device="cpu")
    code, _, err = run(capsys, "eval", str(breakout_run), "ALE/Pong-v5", "--episodes", "1")
    assert code == 2
    assert "ALE/Breakout-v5" in err and "ALE/Pong-v5" in err and "Traceback" not in err


def test_an_atari_checkpoint_refuses_another_frame_stack(breakout_run: Path) -> None:
    env = rw.make_env(BREAKOUT, 1, seed=0, atari={"frame_stack": 2})
    with pytest.raises(CheckpointError, match=r"stacks of 4 frames of 84x84.*stacks 2 frames"):
        rw.load(breakout_run, env, device="cpu")
    env.close()


def test_same_game_under_another_id_is_accepted(breakout_run: Path) -> None:
    agent = rw.load(breakout_run, "BreakoutNoFrameskip-v4", device="cpu")
    options = atari_options_of(agent.env)
    assert options is not None
    recorded = load_checkpoint(breakout_run / "checkpoints" / "final.pt")["atari"]
    assert dataclasses.asdict(options) == recorded


# --------------------------------------------------------------------------- overrides
def test_set_atari_option_and_raw_game(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    from rlworks.cli import _resolve_settings, build_parser

    args = build_parser().parse_args(
        [
            "train",
            "dqn",
            BREAKOUT,
            "--preset",
            "book",
            "--set",
            "atari.noop_max=0",
            "--set",
            "env.atari.frame_stack=2",
        ]
    )
    run_config, *_ = _resolve_settings(args)
    atari = run_config["atari"]
    assert atari["noop_max"] == 0 and atari["frame_stack"] == 2
    assert atari["max_episode_steps"] == 27_000  # the preset's other options stay
    args = build_parser().parse_args(["train", "dqn", BREAKOUT, "--set", "atari=false"])
    run_config, *_ = _resolve_settings(args)
    assert run_config["atari"] is False
    assert resolve_atari_options(BREAKOUT, run_config["atari"]) is None
    args = build_parser().parse_args(["train", "dqn", "CartPole-v1"])
    run_config, *_ = _resolve_settings(args)
    assert "atari" not in run_config  # other environments' config.yaml is unchanged
    code, _, err = run(capsys, "train", "dqn", "CartPole-v1", "--set", "atari.noop_max=0",
                       "--run-dir", str(tmp_path / "run"))  # fmt: skip
    assert code == 2 and "needs an Atari game" in err
    assert not (tmp_path / "run").exists()


def test_record_plays_whole_games_for_an_agent_trained_on_single_lives() -> None:
    # The fast preset trains with terminal_on_life_loss; recording with those options would
    # stop the GIF at the first lost ball, so the watch loop gets whole games.
    from rlworks.agents import DQN
    from rlworks.cli import _record_atari_options

    env = make_env(BREAKOUT, seed=0, atari={"terminal_on_life_loss": True})
    agent = DQN(env, config_from_dict(DQNConfig, {"buffer_size": 100, "batch_size": 8}))
    options = _record_atari_options(agent, BREAKOUT)
    assert options is not None and options.terminal_on_life_loss is False
    assert options.frame_stack == atari_options_of(env).frame_stack  # type: ignore[union-attr]
    env.close()
