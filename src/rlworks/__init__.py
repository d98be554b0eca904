"""rlworks: reinforcement learning from Bellman's equation to DQN on Breakout.

Quickstart::

    import rlworks as rw

    env = rw.make_env("CartPole-v1", n_envs=8, seed=0)
    agent = rw.agents.RandomSearch(env, seed=0)
    agent.learn(200_000, target_return=475, eval_episodes=20)
    print(rw.evaluate(agent, "CartPole-v1", episodes=100))
    agent.save("search.pt")
    agent = rw.load("search.pt")
"""

from rlworks import agents, envs, policies, training, viz
from rlworks._version import __version__
from rlworks.agents import load
from rlworks.envs import check_env, make_env
from rlworks.errors import RLWorksError
from rlworks.training import EvalResult, TrainConfig, TrainResult, evaluate, train

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
    "policies",
    "train",
    "training",
    "viz",
]
