"""The driver: steps a vector env with a policy and broadcasts transitions to observers.

This is TF-Agents' ``DynamicStepDriver`` / ``DynamicEpisodeDriver`` in one class. An observer is any
callable taking a :class:`~rlworks.types.Transition` (a replay buffer, a metric, a logger). The
driver hides the vector env's autoreset mode: observers only ever see real transitions whose
``next_obs`` belongs to the same episode as ``obs``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import gymnasium as gym
import numpy as np
from gymnasium.vector import AutoresetMode

from rlworks.envs.make import autoreset_mode_of
from rlworks.errors import NonFiniteError
from rlworks.types import Transition

__all__ = ["Driver", "DriverResult", "Observer", "Policy", "episode_quota"]

Policy = Callable[[np.ndarray], np.ndarray]
"""Maps a batch of observations ``[N, *obs_shape]`` to a batch of actions ``[N, *action_shape]``."""


class Observer(Protocol):
    """Anything called with each batch of transitions the driver collects.

    An observer that tracks episodes in progress (a return metric, an n-step buffer) may also
    define ``on_reset()``: the driver calls it after it resets every sub-environment, since the
    episodes in progress are then abandoned without an end row.
    """

    def __call__(self, transition: Transition, /) -> None: ...


@dataclass(frozen=True)
class DriverResult:
    """What one :meth:`Driver.run` call collected.

    Attributes:
        steps: Environment steps broadcast to observers (summed over sub-environments).
        episodes: Episodes that ended during the call.
    """

    steps: int
    episodes: int


class Driver:
    """Runs a policy in a vector env and broadcasts every transition to observers.

    The driver keeps the current observations between calls, so consecutive ``run`` calls continue
    the same episodes (what an off-policy agent wants: collect 4 steps, train, collect 4 more).

    Example:
        >>> env = make_env("CartPole-v1", n_envs=8, seed=0)
        >>> steps = EnvironmentSteps()
        >>> driver = Driver(env, lambda obs: np.zeros(len(obs), dtype=np.int64), [steps])
        >>> driver.run(num_steps=1000).steps >= 1000
        True
    """

    def __init__(
        self,
        env: gym.vector.VectorEnv,
        policy: Policy,
        observers: Sequence[Observer] = (),
        *,
        check_finite: bool = True,
    ) -> None:
        """Create a driver.

        Args:
            env: The vector env to step (next-step, same-step or disabled autoreset).
            policy: Maps a batch of observations to a batch of actions.
            observers: Called in order with each :class:`Transition` batch.
            check_finite: Stop with :class:`NonFiniteError` (naming step and env index) when a
                reward or float observation is NaN or infinite.
        """
        self.env = env
        self.policy = policy
        self.observers: list[Observer] = list(observers)
        self.check_finite = check_finite
        self.num_envs = env.num_envs
        self.autoreset_mode = autoreset_mode_of(env)
        self.total_steps = 0
        self.total_episodes = 0
        self._obs: Any = None
        self._prev_done = np.zeros(self.num_envs, dtype=bool)
        self._all_ids = np.arange(self.num_envs)

    def reset(self, *, seed: int | None = None) -> np.ndarray:
        """Reset every sub-environment (episodes in progress are abandoned, not broadcast)."""
        self._obs, _ = self.env.reset(seed=seed)
        self._prev_done[:] = False
        self._check(self._obs, None)
        for observer in self.observers:
            on_reset = getattr(observer, "on_reset", None)
            if callable(on_reset):
                on_reset()
        return np.asarray(self._obs)

    def run(
        self,
        num_steps: int | None = None,
        num_episodes: int | None = None,
        *,
        reset: bool = False,
        seed: int | None = None,
    ) -> DriverResult:
        """Collect until ``num_steps`` steps or ``num_episodes`` episodes have been broadcast.

        Steps are counted over all sub-environments, so a call may overshoot ``num_steps`` by up
        to ``num_envs - 1``. With ``num_episodes`` and ``reset=True`` the driver collects exactly
        that many whole episodes from a fresh reset: each sub-environment is given a fixed quota
        of episodes in advance (so short episodes are not over-represented) and its transitions
        past its quota are not broadcast.

        Args:
            num_steps: Stop after at least this many steps.
            num_episodes: Stop after this many episodes have ended.
            reset: Reset every sub-environment first.
            seed: Seed of that reset (sub-environment i gets ``seed + i``); ``None`` continues
                the environments' own random streams.

        Returns:
            The steps and episodes broadcast during this call.
        """
        if (num_steps is None) == (num_episodes is None):
            raise ValueError("Driver.run needs exactly one of num_steps and num_episodes")
        budget = num_steps if num_steps is not None else num_episodes
        if budget is None or budget < 1:
            name = "num_steps" if num_steps is not None else "num_episodes"
            raise ValueError(f"Driver.run needs a positive budget, got {name}={budget}")
        if reset or self._obs is None:
            self.reset(seed=seed)
        quota: np.ndarray | None = None
        if num_episodes is not None and reset:
            quota = episode_quota(num_episodes, self.num_envs)
        steps = episodes = 0
        while (num_steps is not None and steps < num_steps) or (
            num_episodes is not None and episodes < num_episodes
        ):
            transition = self._step()
            if quota is not None:
                transition = _within_quota(transition, quota)
            n = transition.batch_size
            if n == 0:
                continue
            ended = int(np.count_nonzero(transition.done))
            for observer in self.observers:
                observer(transition)
            steps += n
            episodes += ended
            # Counted as we go, so that a NonFiniteError names the step where it happened.
            self.total_steps += n
            self.total_episodes += ended
        return DriverResult(steps, episodes)

    def _step(self) -> Transition:
        obs = self._obs
        actions = self.policy(obs)
        next_obs, reward, terminated, truncated, info = self.env.step(actions)
        mode = self.autoreset_mode
        if mode is AutoresetMode.NEXT_STEP:
            # Rows whose previous step ended an episode were only reset: their action was ignored.
            valid = ~self._prev_done
            self._prev_done = terminated | truncated
            self._obs = next_obs
            if not valid.all():
                self._check(next_obs, reward)
                return _select(
                    obs, actions, reward, next_obs, terminated, truncated, np.flatnonzero(valid)
                )
        elif mode is AutoresetMode.SAME_STEP:
            self._obs = next_obs
            done = terminated | truncated
            if done.any():
                self._check(self._obs, None)  # rows of finished envs now hold reset observations
                next_obs = np.array(next_obs, copy=True)
                for i in np.flatnonzero(done):
                    next_obs[i] = info["final_obs"][i]
        else:  # DISABLED: the driver resets the envs that ended.
            done = terminated | truncated
            if done.any():
                reset_obs, _ = self.env.reset(options={"reset_mask": done})
                self._check(reset_obs, None)
                self._obs = reset_obs
            else:
                self._obs = next_obs
        self._check(next_obs, reward)
        return Transition(obs, actions, reward, next_obs, terminated, truncated, self._all_ids)

    def _check(self, obs: Any, reward: np.ndarray | None) -> None:
        if not self.check_finite:
            return
        if reward is not None and not np.isfinite(reward).all():
            env_index = int(np.flatnonzero(~np.isfinite(reward))[0])
            raise NonFiniteError(
                f"non-finite reward {reward[env_index]} at env step {self.total_steps} "
                f"in sub-environment {env_index}"
            )
        if isinstance(obs, np.ndarray) and obs.dtype.kind == "f" and not np.isfinite(obs).all():
            bad = ~np.isfinite(obs.reshape(obs.shape[0], -1)).all(axis=1)
            env_index = int(np.flatnonzero(bad)[0])
            raise NonFiniteError(
                f"non-finite observation at env step {self.total_steps} "
                f"in sub-environment {env_index}"
            )


def episode_quota(num_episodes: int, num_envs: int) -> np.ndarray:
    """Episodes each sub-environment plays in ``Driver.run(num_episodes, reset=True)``:
    ``num_episodes // num_envs`` each, plus one for the first ``num_episodes % num_envs``."""
    quota = np.full(num_envs, num_episodes // num_envs, dtype=np.int64)
    quota[: num_episodes % num_envs] += 1
    return quota


def _select(
    obs: np.ndarray,
    actions: np.ndarray,
    reward: np.ndarray,
    next_obs: np.ndarray,
    terminated: np.ndarray,
    truncated: np.ndarray,
    rows: np.ndarray,
) -> Transition:
    return Transition(
        obs[rows],
        np.asarray(actions)[rows],
        reward[rows],
        next_obs[rows],
        terminated[rows],
        truncated[rows],
        rows,
    )


def _within_quota(transition: Transition, quota: np.ndarray) -> Transition:
    """Drop rows of sub-environments that already finished their episode quota; count down."""
    keep = quota[transition.env_ids] > 0
    if not keep.all():
        transition = Transition(*(np.asarray(field)[keep] for field in transition))
    ended = transition.env_ids[transition.done]
    quota[ended] -= 1
    return transition
