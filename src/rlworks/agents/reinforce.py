"""REINFORCE: the chapter's policy-gradient algorithm, as one batched loss.

Each iteration plays ``n_episodes_per_update`` whole episodes with the current stochastic policy
on a vector env, gives every action the discounted return that followed it, normalizes those
returns over the whole batch into advantages (the chapter's ``discount_and_normalize_rewards``),
and steps along the mean advantage-weighted gradient of the log-probabilities of the actions taken.

The chapter computes one gradient per step while playing, keeps them all, and averages them
weighted by the advantages. Since the policy does not change while the episodes are played, the
same update is the gradient of one loss, ``-mean_t(A_t · log π(a_t | s_t))``, evaluated on the
stored observations in a single forward pass (``tests/agents/test_reinforce.py`` checks that the
two agree to 1e-6).

Options beyond the chapter: a learned state-value baseline (advantages ``G_t - V(s_t)``, and
truncated episodes continued with ``V`` of the state they were cut in), an entropy bonus and
gradient-norm clipping.

References: Williams, "Simple statistical gradient-following algorithms for connectionist
reinforcement learning", 1992 (https://doi.org/10.1007/BF00992696); Géron, *Hands-On Machine
Learning*, ch. 18, "Policy Gradients".
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass, field
from typing import Any, Literal, NamedTuple

import gymnasium as gym
import numpy as np
import torch

from rlworks.agents.base import Agent
from rlworks.errors import ConfigError, NonFiniteError
from rlworks.nets import PolicyNetwork, as_float_batch, check_head, mlp, seeded
from rlworks.nets.mlp import Init
from rlworks.optim import OPTIMIZERS, make_optimizer
from rlworks.returns import ZeroSpreadWarning, discounted_returns, normalize
from rlworks.training.driver import Driver, Observer
from rlworks.types import Transition

__all__ = ["EpisodeBatch", "Reinforce", "ReinforceConfig", "reinforce_loss"]


# ----------------------------------------------------------------------------- config
@dataclass
class ReinforceConfig:
    """Hyperparameters of REINFORCE. The defaults are the chapter's CartPole settings."""

    label = "REINFORCE settings"

    n_episodes_per_update: int = 10
    """Whole episodes played with the current policy before each gradient step."""
    gamma: float = 0.95
    """Discount factor of the returns credited to each action (the chapter's discount_factor)."""
    hidden_sizes: list[int] = field(default_factory=lambda: [5])
    """Widths of the policy network's hidden layers (the chapter: one layer of 5)."""
    activation: str = "relu"
    """Hidden activation: relu, elu, tanh, gelu, silu or leaky_relu."""
    head: Literal["auto", "bernoulli", "categorical", "gaussian"] = "auto"
    """Action distribution: auto picks bernoulli for two actions (the chapter's sigmoid output),
    categorical for more, gaussian for Box actions."""
    init: Init = "glorot"
    """Weight initialization: glorot (Keras' default, the chapter's), orthogonal or torch."""
    optimizer: Literal["adam", "nadam", "rmsprop", "sgd"] = "nadam"
    """Optimizer of the policy (the chapter: Nadam)."""
    learning_rate: float = 0.01
    """Step size of the policy optimizer."""
    normalize_advantages: bool = True
    """Normalize the advantages over the batch (mean 0, std 1), as the chapter does."""
    baseline: Literal["none", "value"] = "none"
    """none: advantages are the returns (the chapter); value: a learned V(s) is subtracted."""
    value_hidden_sizes: list[int] = field(default_factory=lambda: [64, 64])
    """Widths of the value network's hidden layers (baseline: value)."""
    value_learning_rate: float = 1e-3
    """Adam step size of the value network (baseline: value)."""
    value_steps: int = 5
    """Gradient steps on the value loss per update, over the whole batch (baseline: value)."""
    bootstrap_truncated: bool = True
    """With the value baseline, continue the return of a truncated episode with V of the state
    it was cut in (it would have gone on); without a baseline truncation counts as an end."""
    entropy_coef: float = 0.0
    """Weight of the entropy bonus added to the objective (0: none, as in the chapter)."""
    max_grad_norm: float | None = None
    """Clip the global gradient norm of the policy (and of the value network, each on its own)
    to this value (None: no clipping)."""

    def validate(self) -> None:
        """Check ranges; raise :class:`ConfigError` naming the key."""
        if self.n_episodes_per_update < 1:
            raise ConfigError(
                f"n_episodes_per_update must be >= 1, got {self.n_episodes_per_update}"
            )
        if not 0.0 <= self.gamma <= 1.0:
            raise ConfigError(f"gamma must be in [0, 1], got {self.gamma}")
        for key in ("learning_rate", "value_learning_rate"):
            value = getattr(self, key)
            if not (value > 0 and math.isfinite(value)):
                raise ConfigError(f"{key} must be a positive number, got {value}")
        if self.value_steps < 1:
            raise ConfigError(f"value_steps must be >= 1, got {self.value_steps}")
        if not (self.entropy_coef >= 0 and math.isfinite(self.entropy_coef)):
            raise ConfigError(f"entropy_coef must be >= 0, got {self.entropy_coef}")
        if self.max_grad_norm is not None and not self.max_grad_norm > 0:
            raise ConfigError(f"max_grad_norm must be > 0 or null, got {self.max_grad_norm}")
        for key in ("hidden_sizes", "value_hidden_sizes"):
            if any(w < 1 for w in getattr(self, key)):
                raise ConfigError(f"{key} must hold widths >= 1, got {getattr(self, key)}")
        if self.optimizer not in OPTIMIZERS:  # Literal already checked by config_from_dict
            raise ConfigError(f"optimizer must be one of {', '.join(OPTIMIZERS)}")


# ----------------------------------------------------------------------------- experience
class EpisodeBatch(NamedTuple):
    """Whole episodes, flattened: rows of one episode are consecutive and in time order.

    Attributes:
        obs: ``[M, *obs_shape]``.
        actions: ``[M, *action_shape]``.
        rewards: ``[M]``.
        next_obs: ``[M, *obs_shape]``.
        terminated: ``[M]`` bool.
        truncated: ``[M]`` bool.
        episode: ``[M]`` int, index of each row's episode.
        step: ``[M]`` int, position of each row within its episode.
    """

    obs: np.ndarray
    actions: np.ndarray
    rewards: np.ndarray
    next_obs: np.ndarray
    terminated: np.ndarray
    truncated: np.ndarray
    episode: np.ndarray
    step: np.ndarray

    @property
    def n_episodes(self) -> int:
        """Number of episodes in the batch."""
        return int(self.episode[-1]) + 1 if len(self.episode) else 0

    def episode_returns(self) -> np.ndarray:
        """Undiscounted return of each episode, ``[E]``."""
        return np.bincount(self.episode, weights=self.rewards, minlength=self.n_episodes)

    def time_major(self, values: np.ndarray, fill: Any = 0) -> np.ndarray:
        """Scatter per-row ``values [M]`` into ``[L, E]`` (L: longest episode), padded."""
        out = np.full((int(self.step.max()) + 1, self.n_episodes), fill, dtype=values.dtype)
        out[self.step, self.episode] = values
        return out


class EpisodeCollector:
    """Observer that keeps every transition of the episodes being played, per sub-environment."""

    def __init__(self) -> None:
        """Start empty."""
        self._parts: list[Transition] = []

    def __call__(self, transition: Transition) -> None:
        """Keep one batch of transitions."""
        self._parts.append(transition)

    def clear(self) -> None:
        """Forget everything collected."""
        self._parts = []

    on_reset = clear

    def episodes(self) -> EpisodeBatch:
        """The complete episodes collected, each sub-environment's in the order it played them.

        Rows of an episode still running (none, when the driver ran whole episodes) are dropped.
        """
        if not self._parts:
            raise ValueError("no transitions were collected")
        obs, actions, rewards, next_obs, terminated, truncated, env_ids = (
            np.concatenate(column) for column in zip(*self._parts, strict=True)
        )
        order = np.argsort(env_ids, kind="stable")  # by sub-env, each in time order
        done = (terminated | truncated)[order]
        # An episode index per row; rows after a sub-env's last episode end are incomplete.
        new_env = np.r_[True, env_ids[order][1:] != env_ids[order][:-1]]
        starts = np.r_[True, done[:-1]] | new_env
        episode = np.cumsum(starts) - 1
        complete = np.zeros(int(episode[-1]) + 1, dtype=bool)
        complete[episode[done]] = True
        keep = order[complete[episode]]
        episode = np.unique(episode[complete[episode]], return_inverse=True)[1]
        first = np.r_[0, np.flatnonzero(np.diff(episode)) + 1]  # first row of each episode
        step = np.arange(len(episode)) - np.repeat(first, np.diff(np.r_[first, len(episode)]))
        return EpisodeBatch(
            obs[keep],
            actions[keep],
            rewards[keep].astype(np.float64),
            next_obs[keep],
            terminated[keep],
            truncated[keep],
            episode,
            step,
        )


# ----------------------------------------------------------------------------- the loss
def reinforce_loss(
    log_probs: torch.Tensor,
    advantages: torch.Tensor,
    entropy: torch.Tensor | None = None,
    entropy_coef: float = 0.0,
) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
    """``-mean(A · log π(a | s)) - c · mean(entropy)``: its gradient is the chapter's update.

    Args:
        log_probs: ``log π(a_t | s_t)`` of the actions taken, ``[M]``, with gradient.
        advantages: ``A_t`` (normalized returns), ``[M]``, treated as constants.
        entropy: Entropy of ``π(· | s_t)``, ``[M]``; needed when ``entropy_coef > 0``.
        entropy_coef: Weight of the entropy bonus.

    Returns:
        The loss and its diagnostics (policy loss, entropy).
    """
    policy_loss = -(advantages.detach() * log_probs).mean()
    info = {"policy_loss": policy_loss.detach()}
    loss = policy_loss
    if entropy is not None:
        mean_entropy = entropy.mean()
        info["entropy"] = mean_entropy.detach()
        if entropy_coef > 0:
            loss = loss - entropy_coef * mean_entropy
    return loss, info


# ----------------------------------------------------------------------------- the agent
class Reinforce(Agent[ReinforceConfig]):
    """REINFORCE with batch-normalized returns and an optional learned baseline.

    Example:
        >>> env = rw.make_env("CartPole-v1", n_envs=10, seed=0, max_episode_steps=200)
        >>> agent = Reinforce(env, seed=0)  # the chapter's settings
        >>> result = agent.learn(300_000, max_iterations=150, progress=False)
    """

    algo = "reinforce"
    config_cls = ReinforceConfig
    observation_types = (gym.spaces.Box,)
    action_types = (gym.spaces.Discrete, gym.spaces.Box)
    default_torch_threads = 1  # tiny networks: thread hand-offs cost more than they save

    def __init__(
        self,
        env: gym.vector.VectorEnv | str,
        config: ReinforceConfig | None = None,
        *,
        seed: int = 0,
        device: str = "auto",
    ) -> None:
        """See :class:`~rlworks.agents.base.Agent`.

        Raises:
            SpaceMismatchError: The policy head does not fit the action space (both named).
        """
        super().__init__(env, config, seed=seed, device=device)
        cfg = self.config
        check_head(cfg.head, self.observation_space, self.action_space, self.env_id)
        if getattr(self.env, "has_time_limit", None) is False:
            raise ConfigError(
                f"REINFORCE plays whole episodes, and {self.env_id} has no time limit: an episode "
                "might never end; set max_episode_steps (rlworks train --set "
                "max_episode_steps=N)"
            )
        if self.env.num_envs > cfg.n_episodes_per_update:
            warnings.warn(
                f"{self.env.num_envs} environments but n_episodes_per_update is "
                f"{cfg.n_episodes_per_update}: each iteration plays one episode in "
                f"{cfg.n_episodes_per_update} of them and steps the others for nothing; use "
                f"n_envs <= {cfg.n_episodes_per_update}",
                stacklevel=2,
            )
        with seeded(seed):
            self.policy_net = PolicyNetwork(
                self.observation_space,
                self.action_space,
                cfg.hidden_sizes,
                head=cfg.head,
                activation=cfg.activation,
                init=cfg.init,
                output_gain=0.01,  # orthogonal init only: a near-uniform initial policy
                env_name=self.env_id,
            ).to(self.device)
            self.value_net = (
                mlp(
                    self.policy_net.obs_dim,
                    cfg.value_hidden_sizes,
                    1,
                    activation=cfg.activation,
                    init=cfg.init,
                ).to(self.device)
                if cfg.baseline == "value"
                else None
            )
        self.optimizer = make_optimizer(
            cfg.optimizer, self.policy_net.parameters(), cfg.learning_rate
        )
        self.value_optimizer = (
            make_optimizer("adam", self.value_net.parameters(), cfg.value_learning_rate)
            if self.value_net is not None
            else None
        )
        self.iterations = 0
        self.policy_version: int = 0
        self._collector = EpisodeCollector()

    @property
    def observers(self) -> list[Observer]:
        """Keeps the transitions of the episodes played for the next update."""
        return [self._collector]

    def act(self, obs: np.ndarray, explore: bool = True) -> np.ndarray:
        """Sample from the policy while collecting; its most likely action otherwise."""
        if explore:
            return self.policy_net.sample(obs, self.rng)
        return self.policy_net.mode(obs)

    # ------------------------------------------------------------------ the loop
    def train_iteration(self, driver: Driver) -> dict[str, float]:
        """Play ``n_episodes_per_update`` whole episodes from a fresh reset, then update.

        The reset is seeded from (agent seed, iteration), so a run resumed from a checkpoint
        plays the episodes the uninterrupted run would have played.
        """
        driver.run(  # the reset empties the collector (its on_reset)
            num_episodes=self.config.n_episodes_per_update,
            reset=True,
            seed=self.reset_seed(self.iterations),
        )
        return self.update(self._collector.episodes())

    def advantages(self, batch: EpisodeBatch) -> tuple[np.ndarray, np.ndarray, bool]:
        """Returns and advantages of every row, and whether normalization met zero spread.

        Returns:
            ``(returns [M], advantages [M], zero_spread)``.
        """
        cfg = self.config
        values = next_values = None
        if self.value_net is not None:
            with torch.inference_mode():
                values = self._values(batch.obs).cpu().numpy()  # [M]
                if cfg.bootstrap_truncated and batch.truncated.any():
                    next_values = np.zeros_like(values)
                    rows = np.flatnonzero(batch.truncated)
                    next_values[rows] = self._values(batch.next_obs[rows]).cpu().numpy()
        returns_tm = discounted_returns(
            batch.time_major(batch.rewards),
            cfg.gamma,
            terminated=batch.time_major(batch.terminated, fill=True),
            truncated=batch.time_major(batch.truncated),
            next_values=None if next_values is None else batch.time_major(next_values),
        )  # [L, E]
        returns = returns_tm[batch.step, batch.episode]  # [M]
        advantages = returns if values is None else returns - values
        zero_spread = False
        if cfg.normalize_advantages:
            normalized = normalize(advantages, warn=False)
            advantages, zero_spread = normalized.values, normalized.zero_spread
        return returns, advantages, zero_spread

    def update(self, batch: EpisodeBatch) -> dict[str, float]:
        """One policy-gradient step (and the value steps) on a batch of whole episodes."""
        cfg = self.config
        if batch.n_episodes == 0:
            raise ValueError("REINFORCE needs at least one complete episode to update on")
        returns, advantages, zero_spread = self.advantages(batch)
        # All-zero advantages carry no information on which actions were better: no policy step
        # (an optimizer with momentum, or the entropy bonus, would still move the policy).
        skip_policy_step = zero_spread and cfg.entropy_coef == 0
        if zero_spread:
            warnings.warn(
                f"iteration {self.iterations + 1}: every advantage in the batch was equal, so "
                "they were centred to 0 and not scaled"
                + ("; the policy was not updated" if skip_policy_step else ""),
                ZeroSpreadWarning,
                stacklevel=2,
            )
        obs = as_float_batch(batch.obs, self.device)  # [M, D]
        actions = torch.as_tensor(batch.actions, device=self.device)
        adv = torch.as_tensor(advantages, dtype=torch.float32, device=self.device)  # [M]
        log_probs, entropy = self.policy_net.log_prob_and_entropy(obs, actions)  # [M], [M]
        loss, info = reinforce_loss(log_probs, adv, entropy, cfg.entropy_coef)
        self.optimizer.zero_grad(set_to_none=True)
        loss.backward()  # type: ignore[no-untyped-call]
        grad_norm = self._clip(self.policy_net.parameters())
        if not torch.isfinite(loss) or not math.isfinite(grad_norm):
            raise NonFiniteError(
                f"non-finite REINFORCE loss ({float(loss)}) or gradient norm ({grad_norm}) at "
                f"iteration {self.iterations + 1}"
            )
        if not skip_policy_step:
            self.optimizer.step()
            self.policy_version += 1
        self.iterations += 1
        diagnostics = {
            "loss": float(loss.detach()),
            "policy_loss": float(info["policy_loss"]),
            "entropy": float(info["entropy"]),
            "grad_norm": grad_norm,
            "return_mean": float(batch.episode_returns().mean()),
            "episode_length_mean": len(batch.rewards) / batch.n_episodes,
            "zero_spread": float(zero_spread),
            "iterations": float(self.iterations),
        }
        if self.value_net is not None:
            diagnostics["value_loss"] = self._fit_values(obs, returns)
        return diagnostics

    # ------------------------------------------------------------------ helpers
    def _values(self, obs: np.ndarray) -> torch.Tensor:
        assert self.value_net is not None
        out: torch.Tensor = self.value_net(as_float_batch(obs, self.device)).squeeze(-1)
        return out  # [N]

    def _fit_values(self, obs: torch.Tensor, returns: np.ndarray) -> float:
        """Regress V(s) on the batch's returns; returns the loss of the last step."""
        assert self.value_net is not None and self.value_optimizer is not None
        target = torch.as_tensor(returns, dtype=torch.float32, device=self.device)  # [M]
        loss = torch.zeros(())
        for _ in range(self.config.value_steps):
            value = self.value_net(obs).squeeze(-1)  # [M]
            loss = torch.nn.functional.mse_loss(value, target)
            self.value_optimizer.zero_grad(set_to_none=True)
            loss.backward()  # type: ignore[no-untyped-call]
            if not torch.isfinite(loss):
                raise NonFiniteError(
                    f"non-finite value loss ({float(loss)}) at iteration {self.iterations}"
                )
            self._clip(self.value_net.parameters())
            self.value_optimizer.step()
        return float(loss.detach())

    def _clip(self, params: Any) -> float:
        max_norm = self.config.max_grad_norm
        norm = torch.nn.utils.clip_grad_norm_(list(params), max_norm or math.inf)
        return float(norm)

    def _state(self) -> dict[str, Any]:
        state: dict[str, Any] = {
            "policy_net": self.policy_net.state_dict(),
            "optimizer": self.optimizer.state_dict(),
            "iterations": self.iterations,
            "policy_version": self.policy_version,
        }
        if self.value_net is not None and self.value_optimizer is not None:
            state["value_net"] = self.value_net.state_dict()
            state["value_optimizer"] = self.value_optimizer.state_dict()
        return state

    def _load_state(self, state: dict[str, Any]) -> None:
        self.policy_net.load_state_dict(state["policy_net"])
        self.optimizer.load_state_dict(state["optimizer"])
        if self.value_net is not None and self.value_optimizer is not None:
            self.value_net.load_state_dict(state["value_net"])
            self.value_optimizer.load_state_dict(state["value_optimizer"])
        self.iterations = int(state["iterations"])
        self.policy_version = int(state["policy_version"])
