"""Hand-coded policies from the chapter, as batch callables ``obs [N, ...] -> actions [N, ...]``.

``basic_policy`` is the chapter's first CartPole policy: push the cart toward the side the pole
leans to. Over 500 episodes it keeps the pole up for 41.7 steps on average (the chapter prints
``(41.698, 8.389, 24.0, 63.0)``) — a baseline every learning algorithm must beat.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

import gymnasium as gym
import numpy as np

from rlworks.errors import SpaceMismatchError

__all__ = ["NAMED_POLICIES", "basic_policy", "make_named_policy", "random_policy"]

BatchPolicy = Callable[[np.ndarray], np.ndarray]


def basic_policy(obs: np.ndarray) -> np.ndarray:
    """Accelerate left (0) when the pole leans left (angle < 0), else right (1).

    Args:
        obs: CartPole observations ``[N, 4]``: cart position, cart velocity, pole angle, pole
            angular velocity.

    Returns:
        Actions ``[N]`` (int64).
    """
    angle = obs[:, 2]  # [N]
    return (angle >= 0).astype(np.int64)


def random_policy(action_space: gym.Space[Any], seed: int | None = None) -> BatchPolicy:
    """A policy drawing uniform random actions from ``action_space`` with its own generator.

    Args:
        action_space: The single (unbatched) action space.
        seed: Seed of the policy's generator.
    """
    if isinstance(action_space, gym.spaces.Discrete):
        rng = np.random.default_rng(seed)
        n, start = int(action_space.n), int(action_space.start)
        return lambda obs: rng.integers(start, start + n, size=len(obs))
    space = copy.deepcopy(action_space)  # its own generator: seeding must not touch the caller's
    space.seed(seed)
    return lambda obs: np.stack([np.asarray(space.sample()) for _ in range(len(obs))])


def _basic_for(env_id: str, env: gym.vector.VectorEnv, seed: int | None) -> BatchPolicy:
    obs_space, act_space = env.single_observation_space, env.single_action_space
    fits = (
        isinstance(obs_space, gym.spaces.Box)
        and obs_space.shape == (4,)
        and isinstance(act_space, gym.spaces.Discrete)
        and act_space.n == 2
    )
    if not fits:
        raise SpaceMismatchError(
            f"the basic policy is for CartPole (4 observations, 2 actions); {env_id} has "
            f"observations {obs_space} and actions {act_space}"
        )
    return basic_policy


def _random_for(env_id: str, env: gym.vector.VectorEnv, seed: int | None) -> BatchPolicy:
    return random_policy(env.single_action_space, seed)


NAMED_POLICIES: dict[str, Callable[[str, gym.vector.VectorEnv, int | None], BatchPolicy]] = {
    "basic": _basic_for,
    "random": _random_for,
}
"""Hand-coded policies selectable with ``rlworks eval --policy NAME``."""


def make_named_policy(
    name: str, env_id: str, env: gym.vector.VectorEnv, seed: int | None = None
) -> BatchPolicy:
    """Build a named policy for an environment, checking that it fits the env's spaces.

    Raises:
        SpaceMismatchError: The policy does not fit the environment.
        KeyError: Unknown name (the CLI restricts choices beforehand).
    """
    return NAMED_POLICIES[name](env_id, env, seed)
