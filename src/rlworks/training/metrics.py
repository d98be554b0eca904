"""Training metrics as observers: TF-Agents' NumberOfEpisodes, EnvironmentSteps, AverageReturn and
AverageEpisodeLength, computed with vectorized NumPy on each transition batch.

Each metric is called with every :class:`~rlworks.types.Transition` the driver broadcasts and
reports its value with ``result()``; ``state_dict()`` / ``load_state_dict()`` let a resumed run
continue its counts.
"""

from __future__ import annotations

import math
from collections import deque
from typing import Any

import numpy as np

from rlworks.types import Transition

__all__ = [
    "AverageEpisodeLength",
    "AverageReturn",
    "EnvironmentSteps",
    "EpisodeProgress",
    "Metric",
    "NumberOfEpisodes",
    "log_metrics",
]


class Metric:
    """Base of the metrics: a named observer with a scalar ``result()``."""

    name = "metric"

    def __call__(self, transition: Transition, /) -> None:
        """Update the metric with one batch of transitions."""
        raise NotImplementedError

    def result(self) -> float:
        """The current value."""
        raise NotImplementedError

    def reset(self) -> None:
        """Forget everything seen so far."""
        raise NotImplementedError

    def state_dict(self) -> dict[str, Any]:
        """The state needed to continue counting after a resume."""
        return {}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Restore what :meth:`state_dict` returned."""


class EnvironmentSteps(Metric):
    """Number of environment steps seen (summed over sub-environments)."""

    name = "environment_steps"

    def __init__(self) -> None:
        """Start at zero."""
        self.value = 0

    def __call__(self, transition: Transition, /) -> None:
        """Count the rows of the batch."""
        self.value += transition.batch_size

    def result(self) -> float:
        """Steps seen."""
        return float(self.value)

    def reset(self) -> None:
        """Back to zero."""
        self.value = 0

    def state_dict(self) -> dict[str, Any]:
        """``{"value": steps}``."""
        return {"value": self.value}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Restore the count."""
        self.value = int(state["value"])


class NumberOfEpisodes(Metric):
    """Number of episodes that ended (terminated or truncated)."""

    name = "number_of_episodes"

    def __init__(self) -> None:
        """Start at zero."""
        self.value = 0

    def __call__(self, transition: Transition, /) -> None:
        """Count the rows whose episode ended."""
        self.value += int(np.count_nonzero(transition.done))

    def result(self) -> float:
        """Episodes ended."""
        return float(self.value)

    def reset(self) -> None:
        """Back to zero."""
        self.value = 0

    def state_dict(self) -> dict[str, Any]:
        """``{"value": episodes}``."""
        return {"value": self.value}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Restore the count."""
        self.value = int(state["value"])


class _EpisodeWindow(Metric):
    """Accumulates per-sub-environment returns and lengths; keeps the last ``buffer_size`` ended
    episodes. Episodes in progress when the driver resets are dropped (see :meth:`on_reset`)."""

    def __init__(self, buffer_size: int = 10) -> None:
        if buffer_size < 1:
            raise ValueError(f"buffer_size must be >= 1, got {buffer_size}")
        self.buffer_size = buffer_size
        self._return = np.zeros(0)
        self._length = np.zeros(0, dtype=np.int64)
        self.returns: deque[float] = deque(maxlen=buffer_size)
        self.lengths: deque[int] = deque(maxlen=buffer_size)

    def __call__(self, transition: Transition, /) -> None:
        ids = transition.env_ids
        if ids.size and ids[-1] >= self._return.size:  # env_ids are sorted: grow to fit
            size = int(ids.max()) + 1
            self._return = np.concatenate([self._return, np.zeros(size - self._return.size)])
            self._length = np.concatenate(
                [self._length, np.zeros(size - self._length.size, dtype=np.int64)]
            )
        if ids.size == self._return.size:  # every sub-environment (ids are sorted, unique)
            self._return += transition.reward
            self._length += 1
        else:
            self._return[ids] += transition.reward
            self._length[ids] += 1
        done = transition.done
        if done.any():
            ended = ids[done]
            self.returns.extend(self._return[ended].tolist())
            self.lengths.extend(self._length[ended].tolist())
            self._return[ended] = 0.0
            self._length[ended] = 0

    def on_reset(self) -> None:
        """Drop the episodes in progress: the driver has reset every sub-environment."""
        self._return[:] = 0.0
        self._length[:] = 0

    def reset(self) -> None:
        self._return[:] = 0.0
        self._length[:] = 0
        self.returns.clear()
        self.lengths.clear()

    def state_dict(self) -> dict[str, Any]:
        return {"returns": list(self.returns), "lengths": list(self.lengths)}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.returns = deque((float(r) for r in state["returns"]), maxlen=self.buffer_size)
        self.lengths = deque((int(n) for n in state["lengths"]), maxlen=self.buffer_size)


class AverageReturn(_EpisodeWindow):
    """Mean undiscounted return of the last ``buffer_size`` episodes (NaN before the first)."""

    name = "average_return"

    def result(self) -> float:
        """Mean return of the recent episodes."""
        return float(np.mean(self.returns)) if self.returns else float("nan")


class AverageEpisodeLength(_EpisodeWindow):
    """Mean length of the last ``buffer_size`` episodes (NaN before the first)."""

    name = "average_episode_length"

    def result(self) -> float:
        """Mean length of the recent episodes."""
        return float(np.mean(self.lengths)) if self.lengths else float("nan")


class EpisodeProgress:
    """Observer counting the transitions and episodes collected, recording each episode's return
    (:attr:`episode_returns`, the chapter's learning curve) and the best return since
    :attr:`best_return` was last reset (the chapter's ``best_score``)."""

    def __init__(self, n_envs: int) -> None:
        """Start at zero for a vector env of ``n_envs`` copies."""
        self.steps = 0
        self.episodes = 0
        self.best_return = -math.inf
        self.episode_returns: list[float] = []
        self._returns = np.zeros(n_envs)  # running return of each sub-environment's episode

    def __call__(self, transition: Transition) -> None:
        """Count one batch of transitions."""
        self.steps += transition.batch_size
        if transition.env_ids.size == self._returns.size:  # every sub-environment
            self._returns += transition.reward
        else:
            self._returns[transition.env_ids] += transition.reward
        done = transition.done
        if done.any():
            ended = transition.env_ids[done]
            self.episodes += len(ended)
            returns = self._returns[ended]
            self.episode_returns += returns.tolist()
            self.best_return = max(self.best_return, float(returns.max()))
            self._returns[ended] = 0.0

    def on_reset(self) -> None:
        """Episodes in progress were abandoned: their returns start again."""
        self._returns[:] = 0.0


def log_metrics(metrics: list[Metric]) -> dict[str, float]:
    """The current value of each metric, by name (TF-Agents' ``log_metrics``, as a dict)."""
    return {metric.name: metric.result() for metric in metrics}
