"""Remote environment steps, counted by the master as if its own driver had played them.

Workers play in their own processes, but the trainer's step budget, episode counts and return
metrics live in the master's :class:`~rlworks.training.driver.Driver` and its observers. A worker
sends a compact :class:`StepRecord` of each rollout (rewards and episode ends, no observations)
and the master replays it with :func:`replay_steps`: one transition batch per rollout row, with
the worker's sub-environments numbered after those of the workers before it.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from rlworks.training.driver import Driver
from rlworks.types import Transition

__all__ = ["StepRecord", "replay_steps"]


class StepRecord(NamedTuple):
    """Rewards and episode ends of one rollout of ``T`` rows in ``N`` sub-environments.

    Attributes:
        rewards: ``[T, N]`` float64.
        terminated: ``[T, N]`` bool.
        truncated: ``[T, N]`` bool.
        valid: ``[T, N]`` bool, whether the slot holds a real step (see
            :class:`~rlworks.buffers.RolloutBuffer`).
        env_offset: Global index of the worker's first sub-environment (``index * N``).
    """

    rewards: np.ndarray
    terminated: np.ndarray
    truncated: np.ndarray
    valid: np.ndarray
    env_offset: int

    @property
    def steps(self) -> int:
        """Environment steps in the record."""
        return int(np.count_nonzero(self.valid))


def replay_steps(driver: Driver, record: StepRecord) -> int:
    """Broadcast ``record`` to ``driver``'s observers and add it to the driver's counts.

    The transitions carry rewards, episode ends and global ``env_ids``; their ``obs``,
    ``action`` and ``next_obs`` are empty ``[B, 0]`` placeholders (metrics read only the
    former).

    Returns:
        The steps replayed.
    """
    steps = 0
    n_envs = record.valid.shape[1]
    ids = np.arange(record.env_offset, record.env_offset + n_envs)  # [N]
    for t in range(record.valid.shape[0]):
        rows = record.valid[t]  # [N]
        n = int(np.count_nonzero(rows))
        if n == 0:
            continue
        empty = np.zeros((n, 0), dtype=np.float32)
        transition = Transition(
            empty, empty, record.rewards[t, rows], empty,
            record.terminated[t, rows], record.truncated[t, rows], ids[rows],
        )  # fmt: skip
        for observer in driver.observers:
            observer(transition)
        steps += n
        driver.total_steps += n
        driver.total_episodes += int(np.count_nonzero(transition.done))
    return steps
