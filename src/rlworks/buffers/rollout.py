"""On-policy rollout storage for vector envs: ``[n_steps, n_envs]`` arrays filled by the driver.

Actor-critic algorithms (A2C, PPO) play ``n_steps`` steps in each of ``n_envs`` environments with
the current policy, learn from that rollout and throw it away. :class:`RolloutBuffer` is that
storage, preallocated once: a driver observer that writes one row per broadcast transition batch.

Row ``t`` of the buffer is the ``t``-th batch the driver broadcast, and column ``e`` is
sub-environment ``e``. With Gymnasium's next-step autoreset the step after an episode end only
resets that sub-environment; the driver drops such rows, so a batch may hold fewer than
``n_envs`` rows. Their slots stay marked invalid (``valid[t, e]`` is False). An invalid slot
only ever follows an episode end, so it never sits inside an episode and advantage estimation
needs no special case for it; learners simply skip invalid slots.

The policy's log-probabilities and value estimates of the actions it chose are not part of a
:class:`~rlworks.types.Transition`: the agent hands them over with :meth:`RolloutBuffer.stage`
when it acts (for every sub-environment), and the buffer keeps the rows of the transitions that
follow. ``stage`` also carries the actions as sampled, since an agent may step the env with
clipped ones (Box bounds) while its log-probabilities are those of the sampled actions.

Truncated episodes are bootstrapped: the buffer keeps the true final observation of every
truncated step (and the next observation after each environment's last row), and
:meth:`RolloutBuffer.compute_advantages` asks the critic for their values.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, NamedTuple

import gymnasium as gym
import numpy as np

from rlworks.returns import gae
from rlworks.types import Transition

if TYPE_CHECKING:
    from rlworks.training.driver import Driver

__all__ = ["RolloutBatch", "RolloutBuffer"]

ValueFn = Callable[[np.ndarray], np.ndarray]
"""Maps observations ``[K, *obs_shape]`` to value estimates ``[K]``."""


class RolloutBatch(NamedTuple):
    """The valid rows of a full rollout, flattened (time-major: row ``t * n_envs + e`` order).

    Attributes:
        obs: ``[M, *obs_shape]``.
        actions: ``[M, *action_shape]``, as sampled (before any clipping).
        log_probs: ``[M]`` float32, ``log π_old(a | s)`` when the actions were chosen.
        values: ``[M]`` float32, ``V_old(s)`` when the actions were chosen.
        advantages: ``[M]`` float32, from :func:`~rlworks.returns.gae`.
        returns: ``[M]`` float32, advantages + values: the value targets.
    """

    obs: np.ndarray
    actions: np.ndarray
    log_probs: np.ndarray
    values: np.ndarray
    advantages: np.ndarray
    returns: np.ndarray


class RolloutBuffer:
    """Preallocated ``[n_steps, n_envs]`` storage of one on-policy rollout.

    Example:
        >>> buffer = RolloutBuffer.from_spaces(env.single_observation_space,
        ...                                    env.single_action_space, n_steps=32, n_envs=8)
        >>> # in act(): buffer.stage(actions, log_probs, values) for all 8 sub-environments
        >>> driver = Driver(env, agent.collect_policy, [buffer])
        >>> while not buffer.full:
        ...     driver.run(num_steps=1)  # one broadcast batch = one buffer row
        >>> batch = buffer.compute_advantages(value_fn, gamma=0.99, lam=0.95)
        >>> buffer.clear()
    """

    def __init__(
        self,
        n_steps: int,
        n_envs: int,
        obs_shape: tuple[int, ...],
        obs_dtype: Any,
        action_shape: tuple[int, ...],
        action_dtype: Any,
    ) -> None:
        """Allocate the storage.

        Args:
            n_steps: Rows (driver broadcasts) per rollout.
            n_envs: Sub-environments of the vector env.
            obs_shape: Shape of one observation.
            obs_dtype: Observation dtype (uint8 images stay uint8).
            action_shape: Shape of one action (``()`` for discrete actions).
            action_dtype: Action dtype.
        """
        if n_steps < 1 or n_envs < 1:
            raise ValueError(f"n_steps and n_envs must be >= 1, got {n_steps} and {n_envs}")
        self.n_steps, self.n_envs = n_steps, n_envs
        size = (n_steps, n_envs)
        self.obs = np.zeros((*size, *obs_shape), dtype=obs_dtype)  # [T, N, *obs]
        self.actions = np.zeros((*size, *action_shape), dtype=action_dtype)  # [T, N, *act]
        self.log_probs = np.zeros(size, dtype=np.float32)  # [T, N]
        self.values = np.zeros(size, dtype=np.float32)  # [T, N]
        self.rewards = np.zeros(size, dtype=np.float64)  # [T, N]
        self.terminated = np.zeros(size, dtype=bool)  # [T, N]
        self.truncated = np.zeros(size, dtype=bool)  # [T, N]
        self.valid = np.zeros(size, dtype=bool)  # [T, N]
        self.next_obs = np.zeros((n_envs, *obs_shape), dtype=obs_dtype)  # [N, *obs]: latest
        self.last_row = np.full(n_envs, -1, dtype=np.int64)  # [N]: each env's latest row
        self.pos = 0
        self._final_rows: list[tuple[int, int]] = []  # (t, env) of truncated rows
        self._final_obs: list[np.ndarray] = []  # their true final observations
        self._staged: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None
        self._all_envs = np.arange(n_envs)

    @classmethod
    def from_spaces(
        cls,
        observation_space: gym.Space[Any],
        action_space: gym.Space[Any],
        n_steps: int,
        n_envs: int,
    ) -> RolloutBuffer:
        """A buffer shaped for single observation and action spaces (Box or Discrete)."""
        obs_shape = tuple(observation_space.shape or ())
        action_shape = tuple(action_space.shape or ())
        action_dtype = (
            np.int64 if isinstance(action_space, gym.spaces.Discrete) else action_space.dtype
        )
        return cls(n_steps, n_envs, obs_shape, observation_space.dtype, action_shape, action_dtype)

    # ------------------------------------------------------------------ filling
    @property
    def full(self) -> bool:
        """Whether all ``n_steps`` rows are written."""
        return self.pos >= self.n_steps

    def stage(self, actions: np.ndarray, log_probs: np.ndarray, values: np.ndarray) -> None:
        """Hand over what the policy computed for the step about to be taken, for every
        sub-environment: sampled actions ``[N, *act]``, their log-probabilities ``[N]`` and the
        value estimates of the current observations ``[N]``. The next transition batch takes
        the rows of the sub-environments it holds."""
        self._staged = (actions, log_probs, values)

    def __call__(self, transition: Transition) -> None:
        """Write one broadcast batch as row ``pos`` (observer protocol).

        Raises:
            ValueError: The buffer is full, or nothing was staged for this step.
        """
        if self.pos >= self.n_steps:
            raise ValueError(f"the rollout buffer is full ({self.n_steps} rows); clear() it")
        if self._staged is None:
            raise ValueError(
                "RolloutBuffer needs stage(actions, log_probs, values) before each step"
            )
        actions, log_probs, values = self._staged
        self._staged = None
        t, ids = self.pos, transition.env_ids
        rows: Any = slice(None) if len(ids) == self.n_envs else ids
        self.obs[t, rows] = transition.obs
        self.actions[t, rows] = actions[ids]
        self.log_probs[t, rows] = log_probs[ids]
        self.values[t, rows] = values[ids]
        self.rewards[t, rows] = transition.reward
        self.terminated[t, rows] = transition.terminated
        self.truncated[t, rows] = transition.truncated
        self.valid[t] = False
        self.valid[t, rows] = True
        self.next_obs[rows] = transition.next_obs
        self.last_row[rows] = t
        cut = np.asarray(transition.truncated) & ~np.asarray(transition.terminated)
        if cut.any():
            for i in np.flatnonzero(cut):
                self._final_rows.append((t, int(ids[i])))
                self._final_obs.append(np.array(transition.next_obs[i], copy=True))
        self.pos += 1

    def on_reset(self) -> None:
        """The driver reset every sub-environment: episodes in progress end here as if
        truncated (bootstrapped from the observation they were left in), so that advantages
        never run from one episode into the next."""
        for env in np.flatnonzero(self.last_row >= 0):
            t = int(self.last_row[env])
            if not (self.terminated[t, env] or self.truncated[t, env]):
                self.truncated[t, env] = True
                self._final_rows.append((t, int(env)))
                self._final_obs.append(self.next_obs[env].copy())
        self._staged = None

    def clear(self) -> None:
        """Forget the rollout (the storage is kept)."""
        self.pos = 0
        self.last_row[:] = -1
        self.terminated[:] = False
        self.truncated[:] = False
        self.valid[:] = False
        self._final_rows.clear()
        self._final_obs.clear()

    def collect(self, driver: Driver) -> int:
        """Clear the buffer and fill it with ``n_steps`` broadcasts of ``driver`` (which must
        have this buffer among its observers, and a policy that stages); returns the
        environment steps (valid rows) collected."""
        self.clear()
        while self.pos < self.n_steps:
            driver.run(num_steps=1)  # exactly one broadcast: each has at least one row
        return int(np.count_nonzero(self.valid))

    # ------------------------------------------------------------------ reading
    def bootstrap_rows(self) -> tuple[tuple[np.ndarray, np.ndarray], np.ndarray]:
        """Where the next-state value must be estimated, and from which observations.

        Returns:
            ``((t [K], env [K]), obs [K, *obs_shape])``: every truncated row with its true final
            observation, and each sub-environment's row on the last written line that did not
            end its episode, with the observation that followed it.
        """
        rows = list(self._final_rows)
        obs = list(self._final_obs)
        last = self.pos - 1
        if last >= 0:
            open_ = self.valid[last] & ~self.terminated[last] & ~self.truncated[last]  # [N]
            for env in np.flatnonzero(open_):
                rows.append((last, int(env)))
                obs.append(self.next_obs[env])
        if not rows:
            empty = np.zeros(0, dtype=np.int64)
            return (empty, empty), self.next_obs[:0]
        t_idx, e_idx = (np.array(column, dtype=np.int64) for column in zip(*rows, strict=True))
        return (t_idx, e_idx), np.stack(obs)

    def compute_advantages(self, value_fn: ValueFn, gamma: float, lam: float) -> RolloutBatch:
        """GAE over the rows written, bootstrapping truncated and unfinished episodes with
        ``value_fn``; returns the valid rows, flattened.

        Args:
            value_fn: The critic: observations ``[K, *obs_shape]`` → values ``[K]``.
            gamma: Discount factor.
            lam: GAE λ.
        """
        n = self.pos
        (t_idx, e_idx), boot_obs = self.bootstrap_rows()
        next_values = np.zeros((n, self.n_envs), dtype=np.float64)  # [T, N]
        if len(t_idx):
            next_values[t_idx, e_idx] = value_fn(boot_obs)
        advantages, returns = gae(
            self.rewards[:n],
            self.values[:n],
            next_values,
            self.terminated[:n],
            self.truncated[:n],
            gamma,
            lam,
        )
        valid = self.valid[:n]  # [T, N]
        return RolloutBatch(
            self.obs[:n][valid],
            self.actions[:n][valid],
            self.log_probs[:n][valid],
            self.values[:n][valid],
            advantages[valid].astype(np.float32),
            returns[valid].astype(np.float32),
        )
