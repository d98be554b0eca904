"""The benchmark cases: each an rlworks command and the SB3 algorithm with the same
hyperparameters, plus the protocol (environments, step budgets, target return, evaluation).

New algorithms add a :class:`BenchCase` to :data:`CASES`, not code. Part of the harness
(:mod:`rlworks.bench.harness`), which re-exports these names.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

from rlworks.errors import ConfigError, RLWorksError

__all__ = ["CASES", "LIBRARY_NAMES", "BenchCase", "BenchError", "Kind", "Library", "get_case"]

Library = Literal["rlworks", "sb3"]
Kind = Literal["throughput", "solve"]
LIBRARY_NAMES = {"rlworks": "rlworks", "sb3": "SB3"}


class BenchError(RLWorksError):
    """A benchmark run failed (its process exited non-zero or printed no JSON result)."""


# --------------------------------------------------------------------------- cases
@dataclass(frozen=True)
class BenchCase:
    """One comparison: the same hyperparameters in rlworks and in Stable-Baselines3."""

    name: str
    """Case name used on the command line and in file names, e.g. ``dqn-cartpole``."""
    title: str
    """Heading of the docs section, e.g. ``DQN on CartPole-v1``."""
    algo: str
    """rlworks algorithm (``rlworks train ALGO ENV``)."""
    env: str
    """Gymnasium environment id, the same for both libraries."""
    preset: str | None
    """rlworks preset holding the hyperparameters (``--preset``); None: the bundled default."""
    sb3_algo: str
    """Stable-Baselines3 algorithm class name, e.g. ``DQN``."""
    sb3_kwargs: Mapping[str, Any]
    """SB3 constructor kwargs in SB3's names, JSON-friendly (see ``sb3_runner.decode_kwargs``)."""
    throughput_steps: int
    """Step budget of a throughput run."""
    solve_steps: int
    """Step budget (the most steps) of a time-to-solve run."""
    target_return: float
    """Solved at the first evaluation whose mean reaches this."""
    n_envs: int = 1
    """Parallel environment copies, the same for both libraries."""
    eval_every: int = 5_000
    """Evaluate every this many env steps in time-to-solve runs."""
    eval_episodes: int = 20
    """Deterministic episodes per evaluation."""
    overrides: tuple[str, ...] = ()
    """Extra ``--set KEY=VALUE`` for the rlworks side."""
    sb3_policy: str = "MlpPolicy"
    """SB3 policy name."""
    torch_threads: int | None = 1
    """torch threads for both libraries (None: each library's own default)."""
    notes: str = ""
    """Anything else the docs paragraph should say about this case."""
    window: tuple[int, int] | None = None
    """A throughput window (START, END): each run trains until END env steps and reports the
    steps/s between START and END only (after learning has started), with no evaluation; such
    a case has no time-to-solve runs (``solve_steps`` and ``target_return`` are unused)."""
    atari: bool = False
    """Atari preprocessing on both sides: rlworks' ``make_env(..., atari=True)``, SB3's
    ``make_atari_env`` + ``VecFrameStack(4)`` (window cases only)."""
    frames_per_step: int = 1
    """Emulator frames per agent step (Atari's frame skip): frames/s = this × steps/s."""


DQN_ZOO_CARTPOLE = {
    "learning_rate": 2.3e-3,
    "batch_size": 64,
    "buffer_size": 100_000,
    "learning_starts": 1_000,
    "gamma": 0.99,
    "target_update_interval": 10,
    "train_freq": 256,
    "gradient_steps": 128,
    "exploration_fraction": 0.16,
    "exploration_final_eps": 0.04,
    "policy_kwargs": {"net_arch": [256, 256]},
}

PPO_ZOO_CARTPOLE = {
    "n_steps": 32,
    "batch_size": 256,
    "n_epochs": 20,
    "gae_lambda": 0.8,
    "gamma": 0.98,
    "learning_rate": "lin_1e-3",
    "clip_range": "lin_0.2",
    "ent_coef": 0.0,
    "vf_coef": 0.5,
    "max_grad_norm": 0.5,
    "policy_kwargs": {"net_arch": {"pi": [64, 64], "vf": [64, 64]}, "activation_fn": "tanh"},
}

SAC_ZOO_PENDULUM = {
    "learning_rate": 1e-3,
    "buffer_size": 1_000_000,
    "learning_starts": 100,
    "batch_size": 256,
    "tau": 0.005,
    "gamma": 0.99,
    "train_freq": 1,
    "gradient_steps": 1,
    "ent_coef": "auto",
    "target_entropy": "auto",
    "policy_kwargs": {"net_arch": [256, 256], "activation_fn": "relu"},
}

DQN_ZOO_ATARI = {
    "learning_rate": 1e-4,
    "buffer_size": 50_000,
    "learning_starts": 1_000,
    "batch_size": 32,
    "gamma": 0.99,
    "target_update_interval": 1_000,
    "train_freq": 4,
    "gradient_steps": 1,
    "exploration_fraction": 0.1,
    "exploration_final_eps": 0.01,
    "optimize_memory_usage": True,
    "replay_buffer_kwargs": {"handle_timeout_termination": False},
}
"""rl-baselines3-zoo's Atari DQN, with learning started after 1,000 steps and a 50,000-frame
buffer (the zoo: 100,000 and 100,000) so that a short run measures the training loop; SB3 keeps
each observation once (``optimize_memory_usage``), as rlworks' frame buffer does."""

BREAKOUT_WINDOW = (2_000, 6_000)

DQN_BREAKOUT_OVERRIDES = (
    "agent.learning_rate=0.0001",
    "agent.optimizer_eps=1e-8",  # torch's Adam default, which SB3 uses
    "agent.buffer_size=50000",
    "agent.learning_starts=1000",
    "agent.batch_size=32",
    "agent.gamma=0.99",
    "agent.target_update_period=1000",
    "agent.train_freq=4",
    "agent.gradient_steps=1",
    "agent.exploration_initial_eps=1.0",
    "agent.exploration_final_eps=0.01",
    f"agent.exploration_duration={BREAKOUT_WINDOW[1] // 10}",  # SB3: 0.1 of the budget
    "agent.loss=huber",
    "agent.max_grad_norm=10",
    "agent.async_collection=true",
)

CASES: dict[str, BenchCase] = {
    case.name: case
    for case in (
        BenchCase(
            name="dqn-cartpole",
            title="DQN on CartPole-v1",
            algo="dqn",
            env="CartPole-v1",
            preset="zoo",
            sb3_algo="DQN",
            sb3_kwargs=DQN_ZOO_CARTPOLE,
            n_envs=1,
            throughput_steps=50_000,
            solve_steps=50_000,
            target_return=475,
            notes="rl-baselines3-zoo's DQN hyperparameters for CartPole-v1 (rlworks preset "
            "`dqn-cartpole-zoo`); SB3's exploration_fraction 0.16 of the 50,000-step budget is "
            "rlworks' exploration_duration 8,000.",
        ),
        BenchCase(
            name="ppo-cartpole",
            title="PPO on CartPole-v1",
            algo="ppo",
            env="CartPole-v1",
            preset="ppo-cartpole",
            sb3_algo="PPO",
            sb3_kwargs=PPO_ZOO_CARTPOLE,
            n_envs=8,
            throughput_steps=100_000,
            solve_steps=100_000,
            target_return=475,
            eval_every=5_000,
            eval_episodes=20,
            notes="rl-baselines3-zoo's PPO hyperparameters for CartPole-v1 (rlworks preset "
            "`ppo-cartpole`): `lin_X` is rl-zoo's linear schedule, X annealed to 0 over the "
            "100,000-step budget of `model.learn`, which is rlworks' anneal_lr and "
            "anneal_clip_range with anneal_steps 100,000; separate [64, 64] tanh actor and "
            "critic, orthogonal initialization and Adam eps 1e-5 in both libraries. With "
            "`--device cpu` rlworks trains with PPO's NumPy engine (`NumpyPPO`, the same "
            "algorithm and checkpoints without importing torch); SB3 with torch.",
        ),
        BenchCase(
            name="sac-pendulum",
            title="SAC on Pendulum-v1",
            algo="sac",
            env="Pendulum-v1",
            preset="sac-pendulum",
            sb3_algo="SAC",
            sb3_kwargs=SAC_ZOO_PENDULUM,
            n_envs=1,
            throughput_steps=20_000,
            solve_steps=20_000,
            target_return=-200,
            eval_every=2_000,
            eval_episodes=20,
            notes="rl-baselines3-zoo's SAC hyperparameters for Pendulum-v1 (learning rate 1e-3, "
            "otherwise SB3's defaults; rlworks preset `sac-pendulum`): [256, 256] relu actor "
            "and twin critics, one gradient step per environment step after 100 random steps, "
            "entropy coefficient tuned towards -1.",
        ),
        BenchCase(
            name="dqn-breakout",
            title="DQN on Atari Breakout (training-loop speed)",
            algo="dqn",
            env="ALE/Breakout-v5",
            preset=None,
            sb3_algo="DQN",
            sb3_kwargs=DQN_ZOO_ATARI,
            sb3_policy="CnnPolicy",
            n_envs=1,
            throughput_steps=BREAKOUT_WINDOW[1],
            solve_steps=BREAKOUT_WINDOW[1],
            target_return=0.0,  # unused: a window case has no time-to-solve runs
            window=BREAKOUT_WINDOW,
            atari=True,
            frames_per_step=4,
            overrides=DQN_BREAKOUT_OVERRIDES,
            notes="rl-baselines3-zoo's Atari DQN hyperparameters (Adam 1e-4, batch 32, one "
            "gradient step every 4 agent steps, target network copied every 1,000 steps, "
            "Huber loss, gradient norm clipped at 10, ε from 1 to 0.01 over the first 10% of "
            "the run), with learning started after 1,000 steps and a 50,000-transition buffer, "
            "the Nature DQN CNN on 4 stacked 84x84 grayscale frames, each action repeated for 4 "
            "frames, 30 no-op starts, FIRE at reset, rewards clipped to their sign, no end of "
            "episode at a lost life, no sticky actions. rlworks collects and learns in parallel "
            "(`async_collection`: the driver and the actor's copy of the network in a "
            "background thread, the learner in the main one, one torch thread each); SB3's "
            "loop is serial.",
        ),
    )
}
"""The benchmark cases by name."""


def get_case(name: str) -> BenchCase:
    """The case called ``name``.

    Raises:
        ConfigError: Unknown name, listing the known ones.
    """
    try:
        return CASES[name]
    except KeyError:
        raise ConfigError(
            f"unknown benchmark case {name!r}; known cases: {', '.join(sorted(CASES))}"
        ) from None
