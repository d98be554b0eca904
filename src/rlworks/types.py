"""Batched transitions: what the driver hands to observers and what buffers hand to agents."""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

__all__ = ["Transition"]


class Transition(NamedTuple):
    """One vectorized environment step for ``B`` environments (``B <= n_envs``).

    The driver drops the rows of environments that were only being reset on this step
    (Gymnasium's next-step autoreset), so every row is a real transition and ``env_ids`` says
    which sub-environment each row came from. ``next_obs`` is always the observation that
    followed ``obs`` in the same episode, also on the last step of an episode: the final
    observation, never the reset one.

    Attributes:
        obs: Observations before the step, ``[B, *obs_shape]``.
        action: Actions taken, ``[B, *action_shape]``.
        reward: Rewards received, ``[B]`` float.
        next_obs: Observations after the step, ``[B, *obs_shape]``.
        terminated: ``[B]`` bool, the episode reached a terminal state (do not bootstrap).
        truncated: ``[B]`` bool, the episode was cut short, e.g. by a time limit (bootstrap).
        env_ids: ``[B]`` int, index of the sub-environment of each row, ascending.
    """

    obs: np.ndarray
    action: np.ndarray
    reward: np.ndarray
    next_obs: np.ndarray
    terminated: np.ndarray
    truncated: np.ndarray
    env_ids: np.ndarray

    @property
    def done(self) -> np.ndarray:
        """``terminated | truncated``: the episode of this row ended on this step, ``[B]`` bool."""
        done: np.ndarray = np.logical_or(self.terminated, self.truncated)
        return done

    @property
    def batch_size(self) -> int:
        """Number of rows (environment steps) in the batch."""
        return int(self.reward.shape[0])
