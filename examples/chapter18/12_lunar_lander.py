"""Chapter 18, exercise 8: policy gradients (REINFORCE) on LunarLander.

"Use policy gradients to solve Gymnasium's LunarLander-v2 environment" (Gymnasium 1.x registers
it as ``LunarLander-v3``). Observations are 8 numbers (position, velocity, angle, angular
velocity, leg contacts), and there are 4 actions: do nothing, fire the left orientation engine,
the main engine, the right orientation engine. With more than two actions the policy network
ends in a softmax over the 4 actions instead of CartPole's single sigmoid: the ``categorical``
head of :class:`~rlworks.nets.PolicyNetwork`, which :class:`~rlworks.agents.Reinforce` picks by
itself for ``Discrete(4)``. The chapter's network has two hidden layers of 32 relu units.

The settings come from the bundled preset ``reinforce-lunarlander`` (read here with
``find_preset``, ``load_yaml`` and ``config_from_dict``, so this script and ``rlworks train
reinforce LunarLander-v3`` train the same agent). While that preset does not exist the script
says so and falls back to the exercise's network with the settings of the book's solution
notebook: 16 episodes per update, discount factor 0.99, Nadam with learning rate 0.005. (The
notebook also adds a -100 penalty to episodes that neither land nor crash within 1,000 steps;
here they are truncated by the environment's own 1,000-step limit, without the penalty.)

By default the script runs a short demonstration (25,000 steps, about 10-20 s on a busy 2-core
machine: far too short to learn to land; the returns stay around -100 to -200) that shows the
loop working, and evaluates the greedy policy on 5 episodes at the end. ``--steps 2000000``
trains with all of the preset's settings (periodic evaluation and its target included; the run
takes a long while: LunarLander steps at a few thousand steps per second on one core).

Needs Box2D: ``pip install "rlworks[box2d]"``; without it the script says so and exits
successfully.

Run: ``python examples/chapter18/12_lunar_lander.py [--steps 2000000] [--seed 0] [--run-dir DIR]``
"""

from __future__ import annotations

import argparse
import importlib.util
import math
from pathlib import Path
from typing import Any

import rlworks as rw
from rlworks.agents import Reinforce, ReinforceConfig
from rlworks.config import config_from_dict, find_preset, load_yaml
from rlworks.errors import ConfigError, EnvError
from rlworks.training import EvalResult, TrainConfig
from rlworks.training.callbacks import Callback
from rlworks.training.trainer import TrainState

ENV_ID = "LunarLander-v3"
PRESET = "reinforce-lunarlander"
DEMO_STEPS = 25_000  # the default short run: shows the loop, learns little
FALLBACK: dict[str, Any] = {  # the exercise's network, the solution notebook's settings
    "train": {"steps": 2_000_000, "n_envs": 16, "eval_every": 50_000, "eval_episodes": 20,
              "target_return": 200},
    "agent": {"n_episodes_per_update": 16, "gamma": 0.99, "hidden_sizes": [32, 32],
              "activation": "relu", "init": "glorot", "optimizer": "nadam",
              "learning_rate": 0.005, "normalize_advantages": True},
}  # fmt: skip


class PrintProgress(Callback):
    """Print the training batch's mean return every ``every`` iterations, and evaluations."""

    def __init__(self, every: int) -> None:
        self.every = every

    def on_iteration(self, state: TrainState) -> None:
        if state.iteration % self.every == 0:
            print(
                f"iteration {state.iteration:>4}, step {state.step:>9,}: mean return "
                f"{state.info['return_mean']:8.1f}, mean length "
                f"{state.info['episode_length_mean']:6.1f} ({state.wall_s:.0f} s)",
                flush=True,
            )

    def on_eval(self, state: TrainState, result: EvalResult) -> None:
        print(f"  evaluation at step {state.step:,}: {result.mean:.1f} ± {result.std:.1f}")


def preset_settings() -> tuple[dict[str, Any], str]:
    """The preset's ``train`` and ``agent`` sections and where they came from."""
    try:
        path = find_preset(PRESET, "reinforce", ENV_ID)
    except ConfigError:
        print(
            f"note: the preset {PRESET!r} is not bundled with this version of rlworks; using "
            "the exercise's network with the solution notebook's settings instead"
        )
        return FALLBACK, "fallback settings in this script"
    assert path is not None
    return load_yaml(path), f"preset {path.name}"


def main(argv: list[str] | None = None) -> None:
    """Train REINFORCE on LunarLander: a short demonstration by default, or ``--steps``."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0], allow_abbrev=False)
    parser.add_argument("--steps", type=int, default=None, help="full run with this step budget")
    parser.add_argument("--seed", type=int, default=0, help="seed of envs and agent")
    parser.add_argument("--run-dir", type=Path, default=None, help="write checkpoints and logs")
    args, _ = parser.parse_known_args(argv)  # known only: the test suite runs under pytest's argv

    if importlib.util.find_spec("Box2D") is None:
        print(f'{ENV_ID} needs Box2D, which is not installed: pip install "rlworks[box2d]"')
        return

    data, source = preset_settings()
    agent_config = config_from_dict(ReinforceConfig, data.get("agent", {}), source=source)
    settings = {**data.get("train", {}), "seed": args.seed}
    if args.steps is None:  # the short demonstration: no periodic evaluation, 5 final episodes
        settings.update(steps=DEMO_STEPS, eval_every=0, eval_episodes=5, target_return=None)
    else:
        settings["steps"] = args.steps
    train_config = config_from_dict(TrainConfig, settings, source=source)
    print(f"settings ({source}):")
    print(f"  agent: {data.get('agent', {})}")
    print(f"  train: {settings}")

    try:
        env = rw.make_env(
            ENV_ID,
            n_envs=train_config.n_envs,
            seed=train_config.seed,
            vectorization=train_config.vectorization,
            max_episode_steps=train_config.max_episode_steps,
        )
    except EnvError as exc:  # e.g. Box2D importable but broken
        print(exc)
        return
    agent = Reinforce(env, agent_config, seed=args.seed)
    print(f"policy network ({agent.policy_net.head} head over {env.single_action_space}):")
    print(agent.policy_net)

    every = 5 if args.steps is None else 10
    train_settings = {k: v for k, v in settings.items() if k not in ("steps", "seed")}
    result = agent.learn(
        train_config.steps,
        **train_settings,
        run_dir=args.run_dir,
        progress=False,
        callbacks=[PrintProgress(every)],
    )
    env.close()
    print(
        f"\n{result.steps:,} steps, {result.episodes:,} episodes in {result.wall_s:.1f} s "
        f"({result.steps_per_s:,.0f} steps/s); stopped: {result.stop_reason}"
    )
    print(f"greedy policy: {result.eval_mean:.1f} ± {result.eval_std:.1f} (landing scores 200+)")
    assert result.steps >= train_config.steps or result.solved_at_step is not None
    assert math.isfinite(result.eval_mean)


if __name__ == "__main__":
    main()
