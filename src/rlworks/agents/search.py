"""Brute-force policy search: sample linear policies at random, evaluate each, keep the best.

The chapter's first learning algorithm ("Policy Search"): try many values of the policy parameters
and pick the combination that performs best. The policy is linear in the observation: for
``Discrete(n)`` actions it takes the argmax of ``n`` linear scores, for ``Box`` actions it squashes
a linear output into the bounds with ``tanh``. Each iteration samples one candidate, plays
``episodes_per_candidate`` whole episodes with it through the driver, and keeps it if its mean
return is at least the best so far.

Reference: Géron, *Hands-On Machine Learning*, ch. 18, "Policy Search"; for why such a simple
search works on CartPole, Mania et al., "Simple random search provides a competitive approach to
reinforcement learning", 2018 (https://arxiv.org/abs/1803.07055).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Literal

import gymnasium as gym
import numpy as np
import torch

from rlworks.agents.base import Agent
from rlworks.errors import ConfigError
from rlworks.training.driver import Driver, Observer
from rlworks.training.metrics import AverageReturn

__all__ = ["RandomSearch", "RandomSearchConfig", "linear_scores", "scores_to_actions"]


# ----------------------------------------------------------------------------- config
@dataclass
class RandomSearchConfig:
    """Hyperparameters of brute-force random policy search."""

    label = "random-search settings"

    episodes_per_candidate: int = 10
    """Whole episodes played with each candidate; its score is their mean return."""
    param_scale: float = 1.0
    """Candidates' parameters are drawn from U(-scale, scale) or N(0, scale²)."""
    distribution: Literal["uniform", "normal"] = "uniform"
    """Distribution the candidates' parameters are drawn from."""
    bias: bool = False
    """Give the linear policy a bias term as well as one weight per observation feature. Off by
    default: on CartPole a constant push only hurts, and it makes good candidates ~20x rarer
    (measured: 61 candidates at most over seeds 0-4 without, up to 2528 with)."""

    def validate(self) -> None:
        """Check ranges; raise :class:`ConfigError` naming the key."""
        if self.episodes_per_candidate < 1:
            raise ConfigError(
                f"episodes_per_candidate must be >= 1, got {self.episodes_per_candidate}"
            )
        if not (self.param_scale > 0 and math.isfinite(self.param_scale)):
            raise ConfigError(f"param_scale must be a positive number, got {self.param_scale}")


# ----------------------------------------------------------------------------- the policy
def linear_scores(params: np.ndarray, obs: np.ndarray, bias: bool) -> np.ndarray:
    """``obs @ W.T + b`` for a batch: params ``[A, D(+1)]``, obs ``[N, ...]`` → ``[N, A]``."""
    flat = obs.reshape(obs.shape[0], -1).astype(np.float64, copy=False)  # [N, D]
    weights = params[:, :-1] if bias else params  # [A, D]
    scores: np.ndarray = flat @ weights.T  # [N, A]
    if bias:
        scores += params[:, -1]
    return scores


def scores_to_actions(scores: np.ndarray, space: gym.Space[Any]) -> np.ndarray:
    """Actions from policy outputs ``[N, A]``: the argmax for ``Discrete`` spaces (ties go to the
    first action), ``tanh`` squashed into the bounds for ``Box`` spaces (unbounded dimensions take
    the raw output)."""
    if isinstance(space, gym.spaces.Discrete):
        actions: np.ndarray = scores.argmax(axis=1) + int(space.start)  # [N]
        return actions.astype(np.int64)
    assert isinstance(space, gym.spaces.Box)
    low, high = space.low.reshape(-1), space.high.reshape(-1)
    bounded = np.isfinite(low) & np.isfinite(high)
    squashed = low + (np.tanh(scores) + 1.0) * 0.5 * (high - low)
    continuous = np.where(bounded, squashed, scores)  # [N, A]
    out: np.ndarray = continuous.reshape(scores.shape[0], *space.shape).astype(space.dtype)
    return out


# ----------------------------------------------------------------------------- the agent
class RandomSearch(Agent[RandomSearchConfig]):
    """Random search over the parameters of a linear policy.

    Example:
        >>> env = rw.make_env("CartPole-v1", n_envs=8, seed=0)
        >>> agent = RandomSearch(env, seed=0)
        >>> result = agent.learn(200_000, target_return=475, eval_episodes=20, progress=False)
    """

    algo = "random-search"
    config_cls = RandomSearchConfig
    observation_types = (gym.spaces.Box,)
    action_types = (gym.spaces.Discrete, gym.spaces.Box)

    def __init__(
        self,
        env: gym.vector.VectorEnv | str,
        config: RandomSearchConfig | None = None,
        *,
        seed: int = 0,
        device: str = "auto",
    ) -> None:
        """See :class:`~rlworks.agents.base.Agent`."""
        super().__init__(env, config, seed=seed, device=device)
        obs_dim = int(np.prod(self.observation_space.shape or ()))
        if isinstance(self.action_space, gym.spaces.Discrete):
            n_out = int(self.action_space.n)
        else:
            n_out = int(np.prod(self.action_space.shape or ()))
        self.param_shape = (n_out, obs_dim + int(self.config.bias))
        self.best_params = np.zeros(self.param_shape)
        self.best_return = -math.inf
        self.candidate = self.best_params
        self.candidates_tried = 0
        self.policy_version: int = 0
        self._candidate_returns = AverageReturn(buffer_size=self.config.episodes_per_candidate)

    @property
    def observers(self) -> list[Observer]:
        """Records the returns of the episodes each candidate plays."""
        return [self._candidate_returns]

    def act(self, obs: np.ndarray, explore: bool = True) -> np.ndarray:
        """The candidate's actions while searching (explore), the best policy's otherwise."""
        params = self.candidate if explore else self.best_params
        scores = linear_scores(params, np.asarray(obs), self.config.bias)  # [N, A]
        return scores_to_actions(scores, self.action_space)

    def sample_candidate(self) -> np.ndarray:
        """Draw one parameter set from the configured distribution."""
        scale = self.config.param_scale
        if self.config.distribution == "uniform":
            return self.rng.uniform(-scale, scale, size=self.param_shape)
        return self.rng.normal(0.0, scale, size=self.param_shape)

    def train_iteration(self, driver: Driver) -> dict[str, float]:
        """Sample a candidate, play its episodes from a fresh reset, keep it if it is the best.

        The reset is seeded from (agent seed, candidate index), so a search resumed from a
        checkpoint plays exactly the episodes the uninterrupted search would have played.
        """
        self.candidate = self.sample_candidate()
        self._candidate_returns.reset()
        seed = self.reset_seed(self.candidates_tried)
        driver.run(num_episodes=self.config.episodes_per_candidate, reset=True, seed=seed)
        return self.update(self._candidate_returns.result())

    def update(self, batch: Any) -> dict[str, float]:
        """Compare the candidate's mean return (``batch``) with the best; ties go to the newer."""
        score = float(batch)
        self.candidates_tried += 1
        if score >= self.best_return:
            self.best_return = score
            self.best_params = self.candidate
            self.policy_version += 1
        return {
            "candidate_return": score,
            "best_return": self.best_return,
            "candidates": float(self.candidates_tried),
        }

    def _state(self) -> dict[str, Any]:
        return {
            "best_params": torch.from_numpy(self.best_params.copy()),
            "best_return": self.best_return,
            "candidates_tried": self.candidates_tried,
            "policy_version": self.policy_version,
        }

    def _load_state(self, state: dict[str, Any]) -> None:
        params = state["best_params"].numpy()
        if params.shape != self.param_shape:
            raise ValueError(f"best_params has shape {params.shape}, expected {self.param_shape}")
        self.best_params = params.astype(np.float64)
        self.candidate = self.best_params
        self.best_return = float(state["best_return"])
        self.candidates_tried = int(state["candidates_tried"])
        self.policy_version = int(state["policy_version"])
