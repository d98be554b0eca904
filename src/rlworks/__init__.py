"""rlworks: reinforcement learning from Bellman's equation to DQN on Breakout.

Quickstart::

    import rlworks as rw

    env = rw.make_env("CartPole-v1", n_envs=10, seed=0)
    agent = rw.agents.RandomSearch(env, seed=0)
    agent.learn(200_000, target_return=475, eval_episodes=20)
    print(rw.evaluate(agent, "CartPole-v1", episodes=100))
    agent.save("search.pt")
    agent = rw.load("search.pt")

Submodules and names are imported on first use, so ``import rlworks`` (and the ``rlworks``
command's ``--help``) does not pay for torch or matplotlib until they are needed.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from rlworks._version import __version__
from rlworks.errors import RLWorksError

if TYPE_CHECKING:
    from rlworks import agents, envs, mdp, policies, schedules, tabular, training, viz
    from rlworks.agents import load
    from rlworks.envs import check_env, make_env
    from rlworks.training import EvalResult, TrainConfig, TrainResult, evaluate, train

_SUBMODULES = {"agents", "envs", "mdp", "policies", "schedules", "tabular", "training", "viz"}
_NAMES = {
    "load": "rlworks.agents",
    "check_env": "rlworks.envs",
    "make_env": "rlworks.envs",
    "EvalResult": "rlworks.training",
    "TrainConfig": "rlworks.training",
    "TrainResult": "rlworks.training",
    "evaluate": "rlworks.training",
    "train": "rlworks.training",
}

__all__ = [
    "EvalResult",
    "RLWorksError",
    "TrainConfig",
    "TrainResult",
    "__version__",
    "agents",
    "check_env",
    "envs",
    "evaluate",
    "load",
    "make_env",
    "mdp",
    "policies",
    "schedules",
    "tabular",
    "train",
    "training",
    "viz",
]


def __getattr__(name: str) -> Any:
    """Import a submodule or a public name the first time it is used."""
    if name in _SUBMODULES:
        value: Any = importlib.import_module(f"rlworks.{name}")
    elif name in _NAMES:
        value = getattr(importlib.import_module(_NAMES[name]), name)
    else:
        raise AttributeError(f"module 'rlworks' has no attribute {name!r}")
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | _SUBMODULES | set(_NAMES))
