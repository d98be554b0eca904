"""Algorithms, by the name the command line uses, and :func:`load` for any checkpoint."""

from __future__ import annotations

import difflib
from pathlib import Path
from typing import Any

import gymnasium as gym

from rlworks.agents.a2c import A2C, A2CConfig
from rlworks.agents.a3c import A3C, A3CConfig
from rlworks.agents.base import Agent, resolve_device
from rlworks.agents.dqn import DQN, DQNConfig
from rlworks.agents.evolution import CEMConfig, CrossEntropyMethod, GeneticAlgorithm, GeneticConfig
from rlworks.agents.imitation import BehaviorCloning, ImitationConfig
from rlworks.agents.ppo import PPO, PPOConfig
from rlworks.agents.reinforce import Reinforce, ReinforceConfig
from rlworks.agents.sac import SAC, SACConfig
from rlworks.agents.search import RandomSearch, RandomSearchConfig
from rlworks.errors import CheckpointError, ConfigError
from rlworks.tabular.agents import SARSA, TD0, ExpectedSARSA, QLearning, TabularConfig
from rlworks.training.checkpoint import find_checkpoint, load_checkpoint

__all__ = [
    "A2C",
    "A3C",
    "ALGORITHMS",
    "DQN",
    "PPO",
    "SAC",
    "SARSA",
    "TD0",
    "A2CConfig",
    "A3CConfig",
    "Agent",
    "BehaviorCloning",
    "CEMConfig",
    "CrossEntropyMethod",
    "DQNConfig",
    "ExpectedSARSA",
    "GeneticAlgorithm",
    "GeneticConfig",
    "ImitationConfig",
    "PPOConfig",
    "QLearning",
    "RandomSearch",
    "RandomSearchConfig",
    "Reinforce",
    "ReinforceConfig",
    "SACConfig",
    "TabularConfig",
    "get_algorithm",
    "load",
    "resolve_device",
]

ALGORITHMS: dict[str, type[Agent[Any]]] = {
    RandomSearch.algo: RandomSearch,
    Reinforce.algo: Reinforce,
    DQN.algo: DQN,
    PPO.algo: PPO,
    A2C.algo: A2C,
    A3C.algo: A3C,
    SAC.algo: SAC,
    GeneticAlgorithm.algo: GeneticAlgorithm,
    CrossEntropyMethod.algo: CrossEntropyMethod,
    BehaviorCloning.algo: BehaviorCloning,
    QLearning.algo: QLearning,
    SARSA.algo: SARSA,
    ExpectedSARSA.algo: ExpectedSARSA,
    TD0.algo: TD0,
}
"""Every algorithm ``rlworks train`` knows, by name."""


def get_algorithm(name: str) -> type[Agent[Any]]:
    """The agent class for an algorithm name.

    Raises:
        ConfigError: Unknown name, with close matches and the full list.
    """
    try:
        return ALGORITHMS[name]
    except KeyError:
        close = difflib.get_close_matches(name, list(ALGORITHMS), n=1)
        hint = f"did you mean {close[0]!r}? " if close else ""
        raise ConfigError(
            f"unknown algorithm {name!r}; {hint}available: {', '.join(sorted(ALGORITHMS))}"
        ) from None


def load(
    path: str | Path, env: gym.vector.VectorEnv | str | None = None, *, device: str = "auto"
) -> Agent[Any]:
    """Load any agent from a checkpoint file or a run directory (its final checkpoint).

    Args:
        path: A checkpoint file, or a run directory written by ``rlworks train``.
        env: Environment to attach; defaults to the checkpoint's env id with one copy.
        device: Where to put the networks.

    Raises:
        CheckpointError: Missing, truncated or foreign checkpoint, unknown algorithm, or spaces
            that do not match ``env``.
    """
    file = find_checkpoint(path)
    payload = load_checkpoint(file)
    try:
        cls = get_algorithm(str(payload["algo"]))
    except ConfigError as exc:
        raise CheckpointError(f"checkpoint {str(file)!r}: {exc}") from None
    return cls.from_payload(payload, env, device=device, source=f"checkpoint {str(file)!r}")
