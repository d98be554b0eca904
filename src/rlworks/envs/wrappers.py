"""The chapter's TF-Agents environment wrappers, on Gymnasium.

This module owns the wrapper names the chapter uses. Where Gymnasium already has a wrapper with
the same behaviour, the name below *is* Gymnasium's class, re-exported rather than rewritten:

=======================  ==================================================  =====================
Chapter (TF-Agents)      Here                                                Behaviour
=======================  ==================================================  =====================
``ActionRepeat``         :class:`ActionRepeat` (thin subclass of             repeats an action
                         ``gymnasium.wrappers.RepeatAction`` taking          ``times`` times, sums
                         TF-Agents' ``times`` argument)                      the rewards, stops at
                                                                             the episode's end
``ActionClipWrapper``    ``gymnasium.wrappers.ClipAction``                   clips actions to the
                                                                             Box bounds
``ActionDiscretize-``    :class:`ActionDiscretizeWrapper` (ours:             continuous Box actions
``Wrapper``              Gymnasium's ``DiscretizeAction`` uses bin centres,  to ``Discrete``
                         TF-Agents includes both bounds)
``TimeLimit``            ``gymnasium.wrappers.TimeLimit``                    truncates after
                                                                             ``max_episode_steps``
``RunStats``             ``gymnasium.wrappers.RecordEpisodeStatistics``      episode return, length
                                                                             and time in ``info``
``VideoWrapper``         ``gymnasium.wrappers.RecordVideo``                  records episodes as
                                                                             MP4 (needs moviepy)
=======================  ==================================================  =====================
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any, TypeVar

import gymnasium
import numpy as np
import numpy.typing as npt
from gymnasium import spaces
from gymnasium.wrappers import ClipAction, RecordEpisodeStatistics, RecordVideo, RepeatAction
from gymnasium.wrappers import TimeLimit as TimeLimit

from rlworks.errors import EnvError

__all__ = [
    "ActionClipWrapper",
    "ActionDiscretizeWrapper",
    "ActionRepeat",
    "RunStats",
    "TimeLimit",
    "VideoWrapper",
]

ObsType = TypeVar("ObsType")
ActType = TypeVar("ActType")

#: TF-Agents' ``ActionClipWrapper``: Gymnasium's ``ClipAction``, which clips each action to the
#: bounds of the Box action space before stepping.
ActionClipWrapper = ClipAction
#: TF-Agents' ``RunStats``: Gymnasium's ``RecordEpisodeStatistics``, which adds
#: ``info["episode"] = {"r": return, "l": length, "t": elapsed}`` at each episode's end and keeps
#: the last returns and lengths in ``return_queue`` / ``length_queue``.
RunStats = RecordEpisodeStatistics
#: TF-Agents' ``VideoWrapper``: Gymnasium's ``RecordVideo`` (needs ``render_mode="rgb_array"``
#: and moviepy).
VideoWrapper = RecordVideo

# Beyond this many table entries, ActionDiscretizeWrapper.action_values refuses to build the table.
_MAX_TABLE_ENTRIES = 10_000_000


class ActionRepeat(RepeatAction[ObsType, ActType]):
    """TF-Agents' ``ActionRepeat``: Gymnasium's ``RepeatAction`` under the chapter's name.

    Repeats each action ``times`` times and returns the last observation with the *sum* of the
    rewards; it stops early when the episode terminates or is truncated. Only the argument name
    differs from Gymnasium's wrapper (``times``, as in ``ActionRepeat(env, times=4)``).

    Example:
        >>> import gymnasium as gym
        >>> env = ActionRepeat(gym.make("CartPole-v1"), times=4)
        >>> _ = env.reset(seed=0)
        >>> env.step(0)[1]  # 4 steps of +1
        4.0
    """

    def __init__(self, env: gymnasium.Env[ObsType, ActType], times: int) -> None:
        """Wrap ``env``.

        Args:
            env: The environment to wrap.
            times: How many times each action is repeated, at least 1.

        Raises:
            EnvError: ``times`` is not an integer >= 1.
        """
        if isinstance(times, bool) or not isinstance(times, int | np.integer) or times < 1:
            raise EnvError(f"ActionRepeat times={times!r}, expected an integer >= 1")
        # Record `times` (not Gymnasium's `num_repeats`) so that the wrapper spec can rebuild us.
        gymnasium.utils.RecordConstructorArgs.__init__(self, times=times)
        super().__init__(env, num_repeats=int(times))


class ActionDiscretizeWrapper(
    gymnasium.ActionWrapper[ObsType, np.int64, npt.NDArray[Any]],
    gymnasium.utils.RecordConstructorArgs,
):
    """Turns a bounded continuous ``Box`` action space into a ``Discrete`` one (TF-Agents' way).

    Each action dimension ``i`` gets ``num_actions[i]`` evenly spaced values that *include both
    bounds*: ``num_actions=5`` on ``[-1, 1]`` gives ``-1, -0.5, 0, 0.5, 1``. With several
    dimensions the discrete action enumerates every combination (``Discrete(prod(num_actions))``),
    the last dimension varying fastest. :attr:`action_values` is the table of continuous actions.

    (Gymnasium's ``DiscretizeAction`` uses the *centres* of equal bins instead, which never reach
    the bounds, hence this wrapper.)

    Example:
        >>> import gymnasium as gym
        >>> env = ActionDiscretizeWrapper(gym.make("Pendulum-v1"), num_actions=5)
        >>> env.action_space
        Discrete(5)
        >>> env.action_values[:, 0].tolist()
        [-2.0, -1.0, 0.0, 1.0, 2.0]
    """

    def __init__(
        self,
        env: gymnasium.Env[ObsType, npt.NDArray[Any]],
        num_actions: int | Sequence[int] | npt.NDArray[np.integer[Any]],
    ) -> None:
        """Wrap ``env``.

        Args:
            env: An environment with a bounded ``Box`` action space.
            num_actions: Values per action dimension, at least 2: one int for every dimension, or
                one per dimension (a sequence with as many entries as the Box has elements).

        Raises:
            EnvError: The action space is not a bounded Box, or ``num_actions`` is not >= 2 or has
                the wrong number of entries.
        """
        gymnasium.utils.RecordConstructorArgs.__init__(self, num_actions=num_actions)
        gymnasium.ActionWrapper.__init__(self, env)
        box = env.action_space
        if not isinstance(box, spaces.Box):
            raise EnvError(f"ActionDiscretizeWrapper needs a Box action space, got {box}")
        low = box.low.reshape(-1)
        high = box.high.reshape(-1)
        unbounded = np.flatnonzero(~(np.isfinite(low) & np.isfinite(high)))
        if unbounded.size:
            raise EnvError(
                f"action space {box} is unbounded in dimension {int(unbounded[0])}; "
                "ActionDiscretizeWrapper needs finite low and high bounds"
            )
        counts = _check_num_actions(num_actions, low.size)
        self._box = box
        self._counts = counts
        # values[i] holds the num_actions[i] evenly spaced values of flat dimension i.
        self._values = [
            np.linspace(low[i], high[i], counts[i]).astype(box.dtype) for i in range(low.size)
        ]
        self._n = math.prod(counts)
        self._table: npt.NDArray[Any] | None = None
        self.action_space = spaces.Discrete(self._n)

    @property
    def num_actions(self) -> tuple[int, ...]:
        """The number of values of each (flattened) action dimension."""
        return self._counts

    @property
    def action_values(self) -> npt.NDArray[Any]:
        """The continuous action of every discrete action, shape ``[n, *box.shape]``."""
        if self._table is None:
            entries = self._n * int(np.prod(self._box.shape))
            if entries > _MAX_TABLE_ENTRIES:
                raise EnvError(
                    f"action_values would hold {entries} numbers for num_actions={self._counts}; "
                    f"expected at most {_MAX_TABLE_ENTRIES} (use fewer values per dimension)"
                )
            grids = np.meshgrid(*self._values, indexing="ij")  # [*counts] each
            flat = np.stack([grid.reshape(-1) for grid in grids], axis=-1)  # [n, dims]
            self._table = flat.reshape((self._n, *self._box.shape)).astype(self._box.dtype)
        return self._table

    def action(self, action: np.int64) -> npt.NDArray[Any]:
        """Map a discrete action to its continuous action.

        Args:
            action: An integer in ``[0, n)``.

        Returns:
            The continuous action, of the Box's shape and dtype.

        Raises:
            EnvError: ``action`` is not an integer in ``[0, n)``.
        """
        try:
            index = int(action)
        except (TypeError, ValueError):
            index = -1
        if not 0 <= index < self._n or index != action:
            raise EnvError(
                f"action {action!r} is outside Discrete({self._n}); "
                f"expected an integer in [0, {self._n - 1}]"
            )
        digits = np.unravel_index(index, self._counts)
        flat = np.array(
            [values[d] for values, d in zip(self._values, digits, strict=True)],
            dtype=self._box.dtype,
        )
        return flat.reshape(self._box.shape)


def _check_num_actions(
    num_actions: int | Sequence[int] | npt.NDArray[np.integer[Any]], dims: int
) -> tuple[int, ...]:
    """Validate ``num_actions`` and return one count per flat action dimension."""
    if isinstance(num_actions, int | np.integer) and not isinstance(num_actions, bool):
        counts: list[Any] = [num_actions] * dims
    else:
        try:
            counts = [count.item() for count in np.asarray(num_actions).reshape(-1)]
        except (TypeError, ValueError):
            counts = []
        if len(counts) != dims:
            raise EnvError(
                f"num_actions={num_actions!r} has {len(counts)} entries, expected one int >= 2 "
                f"or {dims} (one per action dimension)"
            )
    for count in counts:
        if isinstance(count, bool | np.bool_) or not isinstance(count, int | np.integer):
            raise EnvError(f"num_actions={num_actions!r} holds {count!r}, expected integers >= 2")
        if count < 2:
            raise EnvError(
                f"num_actions={num_actions!r}, expected integers >= 2 (both bounds are actions)"
            )
    return tuple(int(count) for count in counts)
