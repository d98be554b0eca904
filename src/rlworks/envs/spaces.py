"""Space signatures and the space checks algorithms run before any work starts."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import gymnasium as gym
import numpy as np

from rlworks.errors import SpaceMismatchError

__all__ = ["require_bounded_actions", "require_spaces", "space_signature"]


def space_signature(space: gym.Space[Any]) -> str:
    """A short, stable description of a space, used to check that a checkpoint fits an env.

    Example:
        >>> space_signature(gym.spaces.Box(-1.0, 1.0, (4,), np.float32))
        'Box(shape=(4,), dtype=float32)'
        >>> space_signature(gym.spaces.Discrete(2))
        'Discrete(2)'
    """
    if isinstance(space, gym.spaces.Discrete):
        return f"Discrete({int(space.n)})"
    if isinstance(space, gym.spaces.Box):
        return f"Box(shape={tuple(space.shape)}, dtype={np.dtype(space.dtype).name})"
    if isinstance(space, gym.spaces.MultiDiscrete):
        return f"MultiDiscrete({np.asarray(space.nvec).tolist()})"
    if isinstance(space, gym.spaces.MultiBinary):
        return f"MultiBinary({space.n})"
    if isinstance(space, gym.spaces.Tuple):
        return f"Tuple({', '.join(space_signature(s) for s in space.spaces)})"
    if isinstance(space, gym.spaces.Dict):
        items = ", ".join(f"{k}: {space_signature(s)}" for k, s in space.spaces.items())
        return f"Dict({items})"
    return type(space).__name__


def require_spaces(
    algo: str,
    env_name: str,
    observation_space: gym.Space[Any],
    action_space: gym.Space[Any],
    observation_types: Sequence[type[gym.Space[Any]]],
    action_types: Sequence[type[gym.Space[Any]]],
    action_hint: str = "",
) -> None:
    """Raise a clear error when an algorithm cannot handle an environment's spaces.

    Args:
        algo: Algorithm name for the message, e.g. ``"random-search"``.
        env_name: Environment id for the message.
        observation_space: The single (unbatched) observation space.
        action_space: The single (unbatched) action space.
        observation_types: Space classes the algorithm accepts for observations.
        action_types: Space classes the algorithm accepts for actions.
        action_hint: Appended to the message when the action space does not fit (what to use
            instead).

    Raises:
        SpaceMismatchError: Naming the space that does not fit and the accepted kinds.
    """
    for what, space, types in (
        ("observation", observation_space, observation_types),
        ("action", action_space, action_types),
    ):
        if not isinstance(space, tuple(types)):
            allowed = " or ".join(t.__name__ for t in types)
            hint = action_hint if what == "action" else ""
            raise SpaceMismatchError(
                f"{algo} cannot handle {env_name}: its {what} space is {space_signature(space)}, "
                f"expected {allowed}{hint}"
            )


def require_bounded_actions(action_space: gym.Space[Any], algo: str, env_name: str) -> None:
    """Refuse Box action spaces with an infinite bound: Gaussian actions are clipped to the
    bounds when the environment is stepped, which needs finite ones.

    Raises:
        SpaceMismatchError: Naming the env, its bounds and what to do.
    """
    if isinstance(action_space, gym.spaces.Box) and not (
        np.isfinite(action_space.low).all() and np.isfinite(action_space.high).all()
    ):
        raise SpaceMismatchError(
            f"{algo} clips its Gaussian actions to the action bounds, but {env_name} has "
            f"unbounded actions (low={action_space.low.tolist()}, "
            f"high={action_space.high.tolist()}); wrap the environment so that its Box action "
            "space has finite low and high bounds"
        )
