"""Chapter 18, "The TF-Agents Library": environments, specs, wrappers, Atari preprocessing, the
stacked observation, a short DQN training run on Breakout and watching the agent.

The chapter builds its Breakout system from TF-Agents pieces; rlworks has the same pieces on
Gymnasium and ale-py:

* the environment (``rw.make_env("ALE/Breakout-v5", atari=False)``: the raw 210x160 RGB game)
  and its specs — Gymnasium spaces play the part of TF-Agents' ``BoundedArraySpec``s: the
  observation space is ``Box(0, 255, (210, 160, 3), uint8)`` (the book's float32 copy aside)
  and the action space ``Discrete(4)``, actions NOOP, FIRE, RIGHT, LEFT;
* the chapter's wrappers (``ActionRepeat``, ``ActionDiscretizeWrapper``, ``ActionClipWrapper``,
  ``RunStats``, ``TimeLimit``, ``VideoWrapper``, listed with their first docstring line as the
  chapter lists TF-Agents');
* the Atari preprocessing (``AtariPreprocessing`` + ``FrameStack4``: 84x84 grayscale, 4 frames
  per step with max-pooling, FIRE at reset, 4 stacked frames), played as the chapter plays it —
  FIRE, then LEFT four times — and drawn with ``plot_observation`` (the current frame's change
  in pink over the three older frames);
* a DQN with the Nature CNN (``conv_layer_params`` [(32, 8, 4), (64, 4, 2), (64, 3, 1)],
  ``fc_layer_params`` [512], uint8 frames divided by 255 inside), trained briefly with the
  ``fast`` preset's settings shrunk to a demonstration (a 10k replay buffer storing each frame
  once, learning after 1,000 steps), logging the chapter's four metrics: episodes, environment
  steps, average return and average episode length;
* the chapter's watch loop (reset and FIRE after each lost life) recording a GIF.

A brief run does not learn Breakout: the learning run the ``fast`` preset makes and its
numbers are in ``docs/atari.md``. The script asserts the specs, the shapes and the metrics, and
that the GIF and the figure were written. Measured 2026-12-06 (seed 42, a busy 2-core machine):
about 30 s in all.

Run: ``python examples/chapter18/19_tf_agents_breakout.py [--seed 42] [--steps 2500] [--out DIR]``
"""

from __future__ import annotations

import argparse
import math
import tempfile
from pathlib import Path

import gymnasium as gym
import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

import rlworks as rw
from rlworks.agents import DQN, DQNConfig
from rlworks.config import config_from_dict, find_preset, load_yaml
from rlworks.envs import atari_action_meanings, make_atari_env, wrappers
from rlworks.viz import save_animation
from rlworks.viz.atari import plot_observation, watch_episode

ENV_ID = "ALE/Breakout-v5"
FIRE, LEFT = 1, 3


def show_specs(seed: int) -> None:
    """The raw game: its spaces (the chapter's specs) and its actions."""
    env = rw.make_env(ENV_ID, seed=seed, atari=False)
    obs_space, action_space = env.single_observation_space, env.single_action_space
    print("observation spec:", obs_space)
    print("action spec:", action_space)
    assert isinstance(obs_space, gym.spaces.Box) and obs_space.shape == (210, 160, 3)
    assert obs_space.dtype == np.uint8 and isinstance(action_space, gym.spaces.Discrete)
    single = gym.make(ENV_ID)
    meanings = atari_action_meanings(single)
    print("action meanings:", meanings)
    assert meanings == ["NOOP", "FIRE", "RIGHT", "LEFT"]
    single.close()
    env.close()


def show_wrappers() -> None:
    """The chapter's wrapper list, and ActionRepeat summing the rewards of repeated actions."""
    for name in ("ActionClipWrapper", "ActionDiscretizeWrapper", "ActionRepeat", "RunStats",
                 "TimeLimit", "VideoWrapper"):  # fmt: skip
        doc = (getattr(wrappers, name).__doc__ or "").strip().splitlines()[0]
        print(f"{name:27s} {doc}")
    repeating = wrappers.ActionRepeat(gym.make("CartPole-v1"), times=4)
    repeating.reset(seed=0)
    assert repeating.step(0)[1] == 4.0  # four steps of +1
    repeating.close()


def show_preprocessing(seed: int, out: Path) -> Path:
    """Play FIRE then LEFT four times on the preprocessed game and draw the last stack."""
    env = make_atari_env(ENV_ID, seed=seed, noop_max=0)
    env.reset()
    for action in (FIRE, LEFT, LEFT, LEFT, LEFT):
        obs, *_ = env.step(np.array([action]))
    print("preprocessed observation:", obs.shape, obs.dtype)  # [1, 4, 84, 84] uint8
    assert obs.shape == (1, 4, 84, 84) and obs.dtype == np.uint8
    env.close()
    fig = Figure(figsize=(6, 6))
    FigureCanvasAgg(fig)
    plot_observation(obs[0], ax=fig.add_subplot())
    path = out / "preprocessed_breakout_plot.png"
    fig.savefig(path)
    print(f"stacked observation: {path}")
    return path


def train_briefly(seed: int, steps: int, out: Path) -> DQN:
    """The fast preset's DQN, shrunk to a demonstration, with the chapter's metrics."""
    preset = load_yaml(find_preset("fast", "dqn", ENV_ID))  # type: ignore[arg-type]
    settings = {
        **preset["agent"],
        "buffer_size": 10_000,
        "learning_starts": 1_000,
        "train_freq": 4,
        "gradient_steps": 1,
        "exploration_duration": max(steps // 2, 1),
        "target_update_period": 500,
    }
    config = config_from_dict(DQNConfig, settings, source="the fast preset, shrunk")
    env = rw.make_env(ENV_ID, n_envs=1, seed=seed, atari=preset["atari"])
    agent = DQN(env, config, seed=seed, device="cpu")
    print(f"Q-network's convolutional torso: {agent.q_net.torso}")
    result = agent.learn(steps, eval_every=0, eval_episodes=1, log_every=500,
                         run_dir=out / "run", progress=False)  # fmt: skip
    rows = (out / "run" / "metrics.csv").read_text().splitlines()
    header, last = (
        rows[0].split(","),
        dict(zip(rows[0].split(","), rows[-1].split(","), strict=True)),
    )
    for key in ("step", "episodes", "train_return", "train_length"):
        assert key in header, header
    print(
        f"NumberOfEpisodes = {last['episodes']}, EnvironmentSteps = {last['step']}, "
        f"AverageReturn = {float(last['train_return']):.2f}, "
        f"AverageEpisodeLength = {float(last['train_length']):.1f}"
    )
    print(f"trained {result.steps:,} steps in {result.wall_s:.1f} s, {agent.gradient_steps} "
          f"gradient steps; greedy game score {result.eval_mean:.1f}")  # fmt: skip
    assert result.steps >= steps and agent.gradient_steps > 0
    assert math.isfinite(result.eval_mean)
    env.close()
    return agent


def watch(agent: DQN, seed: int, out: Path) -> Path:
    """The chapter's watch loop: the agent plays, each screen is recorded, a lost life resets
    the game and presses FIRE."""
    frames, score = watch_episode(
        lambda obs: agent.act(obs, explore=False), ENV_ID, seed=seed, max_steps=300
    )
    path = save_animation(frames[::2], out / "breakout.gif", fps=15)
    print(f"watched {len(frames)} screens (score {score:.0f}): {path}")
    assert path.stat().st_size > 0
    return path


def main(argv: list[str] | None = None) -> None:
    """Specs, wrappers, preprocessing, a short training run and a GIF."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0], allow_abbrev=False)
    parser.add_argument("--seed", type=int, default=42, help="seed of envs and agent")
    parser.add_argument("--steps", type=int, default=2_500, help="training steps")
    parser.add_argument("--out", type=Path, default=None, help="where to write the outputs")
    args, _ = parser.parse_known_args(argv)  # known only: the test suite runs under pytest's argv
    with tempfile.TemporaryDirectory() as scratch:
        out = args.out or Path(scratch)
        out.mkdir(parents=True, exist_ok=True)
        show_specs(args.seed)
        show_wrappers()
        show_preprocessing(args.seed, out)
        agent = train_briefly(args.seed, args.steps, out)
        watch(agent, args.seed, out)


if __name__ == "__main__":
    main()
