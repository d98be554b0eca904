"""Algorithms, by the name the command line uses, and :func:`load` for any checkpoint."""

from __future__ import annotations

import difflib
import importlib
from collections.abc import Iterator, MutableMapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import gymnasium as gym

from rlworks._lazy import lazy_exports
from rlworks.config import config_from_dict
from rlworks.errors import CheckpointError, ConfigError

if TYPE_CHECKING:
    from rlworks.agents.a2c import A2C, A2CConfig
    from rlworks.agents.a3c import A3C, A3CConfig
    from rlworks.agents.base import Agent, resolve_device
    from rlworks.agents.dqn import DQN, DQNConfig
    from rlworks.agents.evolution import (
        CEMConfig,
        CrossEntropyMethod,
        GeneticAlgorithm,
        GeneticConfig,
    )
    from rlworks.agents.imitation import BehaviorCloning, ImitationConfig
    from rlworks.agents.ppo import PPO
    from rlworks.agents.ppo_config import PPOConfig
    from rlworks.agents.ppo_numpy import NumpyPPO
    from rlworks.agents.reinforce import Reinforce, ReinforceConfig
    from rlworks.agents.sac import SAC, SACConfig
    from rlworks.agents.search import RandomSearch, RandomSearchConfig
    from rlworks.tabular.agents import SARSA, TD0, ExpectedSARSA, QLearning, TabularConfig
    from rlworks.training.checkpoint import find_checkpoint as find_checkpoint
    from rlworks.training.checkpoint import load_checkpoint as load_checkpoint

_EXPORTS = {
    **dict.fromkeys(("A2C", "A2CConfig"), "rlworks.agents.a2c"),
    **dict.fromkeys(("A3C", "A3CConfig"), "rlworks.agents.a3c"),
    **dict.fromkeys(("Agent", "resolve_device"), "rlworks.agents.base"),
    **dict.fromkeys(("DQN", "DQNConfig"), "rlworks.agents.dqn"),
    **dict.fromkeys(
        ("CEMConfig", "CrossEntropyMethod", "GeneticAlgorithm", "GeneticConfig"),
        "rlworks.agents.evolution",
    ),
    **dict.fromkeys(("BehaviorCloning", "ImitationConfig"), "rlworks.agents.imitation"),
    "PPO": "rlworks.agents.ppo",
    "PPOConfig": "rlworks.agents.ppo_config",
    "NumpyPPO": "rlworks.agents.ppo_numpy",
    **dict.fromkeys(("Reinforce", "ReinforceConfig"), "rlworks.agents.reinforce"),
    **dict.fromkeys(("SAC", "SACConfig"), "rlworks.agents.sac"),
    **dict.fromkeys(("RandomSearch", "RandomSearchConfig"), "rlworks.agents.search"),
    **dict.fromkeys(
        ("SARSA", "TD0", "ExpectedSARSA", "QLearning", "TabularConfig"), "rlworks.tabular.agents"
    ),
    # Not in __all__, importable from here before the package became lazy.
    **dict.fromkeys(("find_checkpoint", "load_checkpoint"), "rlworks.training.checkpoint"),
}
__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS, globals())

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
    "NumpyPPO",
    "PPOConfig",
    "QLearning",
    "RandomSearch",
    "RandomSearchConfig",
    "Reinforce",
    "ReinforceConfig",
    "SACConfig",
    "TabularConfig",
    "get_agent_class",
    "get_algorithm",
    "get_config_class",
    "load",
    "resolve_device",
]

# Algorithm name → ("module:AgentClass", "module:ConfigClass") under rlworks., imported on use.
_ALGORITHMS: dict[str, tuple[str, str]] = {
    "random-search": ("agents.search:RandomSearch", "agents.search:RandomSearchConfig"),
    "reinforce": ("agents.reinforce:Reinforce", "agents.reinforce:ReinforceConfig"),
    "dqn": ("agents.dqn:DQN", "agents.dqn:DQNConfig"),
    "ppo": ("agents.ppo:PPO", "agents.ppo_config:PPOConfig"),
    "a2c": ("agents.a2c:A2C", "agents.a2c:A2CConfig"),
    "a3c": ("agents.a3c:A3C", "agents.a3c:A3CConfig"),
    "sac": ("agents.sac:SAC", "agents.sac:SACConfig"),
    "genetic": ("agents.evolution:GeneticAlgorithm", "agents.evolution:GeneticConfig"),
    "cem": ("agents.evolution:CrossEntropyMethod", "agents.evolution:CEMConfig"),
    "bc": ("agents.imitation:BehaviorCloning", "agents.imitation:ImitationConfig"),
    "q-learning": ("tabular.agents:QLearning", "tabular.agents:TabularConfig"),
    "sarsa": ("tabular.agents:SARSA", "tabular.agents:TabularConfig"),
    "expected-sarsa": ("tabular.agents:ExpectedSARSA", "tabular.agents:TabularConfig"),
    "td0": ("tabular.agents:TD0", "tabular.agents:TabularConfig"),
}


def _resolve(path: str) -> Any:
    """The object ``"module:name"`` names under the ``rlworks`` package (importing the module)."""
    module, name = path.split(":")
    return getattr(importlib.import_module(f"rlworks.{module}"), name)


class _Algorithms(MutableMapping[str, "type[Agent[Any]]"]):
    """Name → agent class. The built-in classes are imported when first looked up;
    ``ALGORITHMS[name] = cls`` registers another (or replaces a built-in one)."""

    def __init__(self) -> None:
        self.added: dict[str, type[Agent[Any]]] = {}

    def __getitem__(self, name: str) -> type[Agent[Any]]:
        if name in self.added:
            return self.added[name]
        agent_cls: type[Agent[Any]] = _resolve(_ALGORITHMS[name][0])
        return agent_cls

    def __setitem__(self, name: str, cls: type[Agent[Any]]) -> None:
        self.added[name] = cls

    def __delitem__(self, name: str) -> None:
        if name not in self.added:
            raise KeyError(f"{name!r} is a built-in algorithm or unknown; only added ones go")
        del self.added[name]

    def __contains__(self, name: object) -> bool:
        return name in self.added or name in _ALGORITHMS

    def __iter__(self) -> Iterator[str]:
        return iter({**dict.fromkeys(_ALGORITHMS), **dict.fromkeys(self.added)})

    def __len__(self) -> int:
        return len(set(_ALGORITHMS) | set(self.added))

    def clear(self) -> None:
        """Forget the added algorithms (the built-in ones stay)."""
        self.added.clear()


_REGISTRY = _Algorithms()
ALGORITHMS: MutableMapping[str, type[Agent[Any]]] = _REGISTRY
"""Every algorithm ``rlworks train`` knows, by name (built-in classes load on first lookup)."""


def _unknown(name: str) -> ConfigError:
    close = difflib.get_close_matches(name, list(ALGORITHMS), n=1)
    hint = f"did you mean {close[0]!r}? " if close else ""
    return ConfigError(
        f"unknown algorithm {name!r}; {hint}available: {', '.join(sorted(ALGORITHMS))}"
    )


def get_algorithm(name: str) -> type[Agent[Any]]:
    """The agent class for an algorithm name.

    Raises:
        ConfigError: Unknown name, with close matches and the full list.
    """
    if name not in ALGORITHMS:
        raise _unknown(name)
    return ALGORITHMS[name]


def get_agent_class(
    name: str, config: Any, device: str, *, loading: bool = False
) -> type[Agent[Any]]:
    """The class that trains (or, with ``loading``, loads) algorithm ``name`` with ``config``
    on ``device``: for PPO the engine its config chooses
    (:meth:`NumpyPPO.chosen <rlworks.agents.ppo_numpy.NumpyPPO.chosen>`), else
    :func:`get_algorithm`'s.

    Raises:
        ConfigError: Unknown name, with close matches and the full list.
    """
    if name == "ppo" and name not in _REGISTRY.added:  # (a registered PPO replaces both)
        from rlworks.agents.ppo_numpy import NumpyPPO

        if NumpyPPO.chosen(config, device, loading=loading):
            return NumpyPPO
    return get_algorithm(name)


def get_config_class(name: str) -> type[Any]:
    """The config dataclass of an algorithm, without importing the agent (nor torch, for PPO).

    Raises:
        ConfigError: Unknown name, with close matches and the full list.
    """
    if name not in ALGORITHMS:
        raise _unknown(name)
    if name in _REGISTRY.added:
        added: type[Any] = ALGORITHMS[name].config_cls
        return added
    config_cls: type[Any] = _resolve(_ALGORITHMS[name][1])
    return config_cls


def load(
    path: str | Path, env: gym.vector.VectorEnv | str | None = None, *, device: str = "auto"
) -> Agent[Any]:
    """Load any agent from a checkpoint file or a run directory (its final checkpoint).

    PPO comes back as the torch engine (:class:`PPO`, which reads either engine's
    checkpoints), or as :class:`NumpyPPO` when its config says ``engine: numpy`` and ``device``
    is one that engine runs on.

    Args:
        path: A checkpoint file, or a run directory written by ``rlworks train``.
        env: Environment to attach; defaults to the checkpoint's env id with one copy.
        device: Where to put the networks.

    Raises:
        CheckpointError: Missing, truncated or foreign checkpoint, unknown algorithm, or spaces
            that do not match ``env``.
    """
    from rlworks.training.checkpoint import find_checkpoint, load_checkpoint

    file = find_checkpoint(path)
    payload = load_checkpoint(file)
    source = f"checkpoint {str(file)!r}"
    algo = str(payload["algo"])
    try:
        config = config_from_dict(get_config_class(algo), payload["config"], source=source)
        cls = get_agent_class(algo, config, device, loading=True)
    except ConfigError as exc:
        raise CheckpointError(f"{source}: {exc}") from None
    return cls.from_payload(payload, env, device=device, source=source)
