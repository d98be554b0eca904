"""A2C: synchronous advantage actor-critic on vector envs.

Each iteration plays ``n_steps`` steps in every sub-environment with the current stochastic
policy, estimates advantages (n-step returns when ``gae_lambda`` is 1, GAE otherwise, both
bootstrapping truncated episodes and the rollout's end from the critic), and takes one gradient
step on ``policy loss + vf_coef · value loss - ent_coef · entropy`` over the whole rollout. It is
the synchronous form of A3C (the chapter's "Overview of Some Popular RL Algorithms"): the
parallel workers' experience is batched instead of applied asynchronously.

Built from the same blocks as PPO: :class:`~rlworks.buffers.RolloutBuffer`,
:class:`~rlworks.nets.ActorCritic` and :func:`~rlworks.returns.gae`.

References: Mnih et al., "Asynchronous Methods for Deep Reinforcement Learning", 2016
(https://arxiv.org/abs/1602.01783); Wu et al., "Scalable trust-region method for deep
reinforcement learning using Kronecker-factored approximation" (A2C as a baseline), 2017
(https://arxiv.org/abs/1708.05144); Géron, *Hands-On Machine Learning*, ch. 18.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Literal

import gymnasium as gym
import numpy as np
import torch

from rlworks.agents.base import Agent
from rlworks.buffers import RolloutBatch, RolloutBuffer
from rlworks.curiosity import check_curiosity, make_curiosity
from rlworks.errors import ConfigError, NonFiniteError
from rlworks.nets import ActorCritic, seeded
from rlworks.nets.actor_critic import make_actor_critic, require_bounded_actions
from rlworks.nets.flat import FlatParameters
from rlworks.nets.mlp import ACTIVATIONS, Init
from rlworks.optim import FlatAdam, make_optimizer
from rlworks.training.driver import Driver, Observer

__all__ = [
    "A2C",
    "A2CConfig",
    "a2c_gradient",
    "a2c_loss",
    "make_a2c_optimizer",
    "make_actor_critic",
    "set_learning_rate",
]


# ----------------------------------------------------------------------------- config
@dataclass
class A2CConfig:
    """Hyperparameters of A2C. The defaults are Stable-Baselines3's."""

    label = "A2C settings"

    n_steps: int = 5
    """Steps played in each sub-environment per update."""
    gamma: float = 0.99
    """Discount factor."""
    gae_lambda: float = 1.0
    """GAE λ; 1 gives the classic n-step advantages."""
    learning_rate: float = 7e-4
    """Optimizer step size (its initial value when anneal_lr is set)."""
    anneal_lr: bool = False
    """Decay the learning rate linearly to 0 over anneal_steps environment steps."""
    anneal_steps: int = 1_000_000
    """Environment steps over which the annealed learning rate falls to 0."""
    optimizer: Literal["rmsprop", "adam"] = "rmsprop"
    """rmsprop (as in the A3C paper and Stable-Baselines3) or adam."""
    rmsprop_alpha: float = 0.99
    """RMSprop's decay of the squared-gradient average."""
    optimizer_eps: float = 1e-5
    """Optimizer epsilon."""
    normalize_advantages: bool = False
    """Normalize the advantages of each rollout (mean 0, std 1)."""
    ent_coef: float = 0.0
    """Weight of the entropy bonus."""
    vf_coef: float = 0.5
    """Weight of the value loss."""
    max_grad_norm: float | None = 0.5
    """Clip the global gradient norm to this value (None: no clipping)."""
    actor_hidden_sizes: list[int] = field(default_factory=lambda: [64, 64])
    """Hidden widths of the policy network."""
    critic_hidden_sizes: list[int] = field(default_factory=lambda: [64, 64])
    """Hidden widths of the value network."""
    activation: str = "tanh"
    """Hidden activation: relu, elu, tanh, gelu, silu or leaky_relu."""
    init: Init = "orthogonal"
    """Weight initialization: orthogonal (gains sqrt(2), 0.01 policy output, 1 value output),
    glorot or torch."""
    log_std_init: float = 0.0
    """Initial log standard deviation of the Gaussian policy (Box actions)."""
    scale_obs: bool = False
    """Map observations from their (finite) Box bounds onto [-1, 1] inside the networks; for
    observations whose scales differ by orders of magnitude (MountainCar-v0)."""
    curiosity: Literal["none", "rnd", "icm"] = "none"
    """Intrinsic reward for exploration: none, rnd (random network distillation) or icm
    (intrinsic curiosity module); see :mod:`rlworks.curiosity`."""
    intrinsic_coef: float = 1.0
    """Weight of the (normalized) intrinsic reward added to the extrinsic one before GAE."""
    curiosity_settings: dict[str, Any] = field(default_factory=dict)
    """Fields of :class:`rlworks.curiosity.CuriosityConfig` (learning_rate, hidden_sizes, ...)."""

    def validate(self) -> None:
        """Check ranges; raise :class:`ConfigError` naming the key."""
        for key in ("n_steps", "anneal_steps"):
            if getattr(self, key) < 1:
                raise ConfigError(f"{key} must be >= 1, got {getattr(self, key)}")
        for key in ("gamma", "gae_lambda", "rmsprop_alpha"):
            if not 0.0 <= getattr(self, key) <= 1.0:
                raise ConfigError(f"{key} must be in [0, 1], got {getattr(self, key)}")
        for key in ("learning_rate", "optimizer_eps"):
            value = getattr(self, key)
            if not (value > 0 and math.isfinite(value)):
                raise ConfigError(f"{key} must be a positive number, got {value}")
        for key in ("ent_coef", "vf_coef"):
            value = getattr(self, key)
            if not (value >= 0 and math.isfinite(value)):
                raise ConfigError(f"{key} must be >= 0, got {value}")
        if self.max_grad_norm is not None and not self.max_grad_norm > 0:
            raise ConfigError(f"max_grad_norm must be > 0 or null, got {self.max_grad_norm}")
        for key in ("actor_hidden_sizes", "critic_hidden_sizes"):
            if any(w < 1 for w in getattr(self, key)):
                raise ConfigError(f"{key} must hold widths >= 1, got {getattr(self, key)}")
        if self.activation not in ACTIVATIONS:
            raise ConfigError(
                f"activation must be one of {', '.join(ACTIVATIONS)}, got {self.activation!r}"
            )
        check_curiosity(self.curiosity, self.intrinsic_coef, self.curiosity_settings)


# ----------------------------------------------------------------------------- the loss
def a2c_loss(
    log_probs: torch.Tensor,
    advantages: torch.Tensor,
    values: torch.Tensor,
    returns: torch.Tensor,
    entropy: torch.Tensor,
    vf_coef: float,
    ent_coef: float,
) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
    """``-mean(A · log π(a | s)) + vf_coef · mean((G - V(s))²) - ent_coef · mean(entropy)``.

    Args:
        log_probs: ``log π(a | s)``, ``[B]``, with gradient.
        advantages: ``A``, ``[B]`` (constants).
        values: ``V(s)``, ``[B]``, with gradient.
        returns: Value targets ``G = A + V_old(s)``, ``[B]`` (constants).
        entropy: Entropy of ``π(· | s)``, ``[B]``.
        vf_coef: Weight of the value loss.
        ent_coef: Weight of the entropy bonus.

    Returns:
        The loss and its parts (policy_loss, value_loss, entropy).
    """
    policy_loss = -(advantages.detach() * log_probs).mean()
    v_loss = (returns.detach() - values).square().mean()
    entropy_mean = entropy.mean()
    loss = policy_loss + vf_coef * v_loss - ent_coef * entropy_mean
    info = {
        "policy_loss": policy_loss.detach(),
        "value_loss": v_loss.detach(),
        "entropy": entropy_mean.detach(),
    }
    return loss, info


def a2c_gradient(
    net: ActorCritic, flat: FlatParameters, batch: RolloutBatch, config: A2CConfig
) -> tuple[torch.Tensor, dict[str, torch.Tensor], float]:
    """The A2C loss of a rollout, its gradient left in ``flat.grad`` (clipped to
    ``config.max_grad_norm``), as A2C's update and A3C's workers compute it.

    Returns:
        The loss, its parts (see :func:`a2c_loss`) and the gradient norm before clipping.
    """
    dev = flat.param.device
    advantages = batch.advantages
    if config.normalize_advantages and len(advantages) > 1:
        advantages = (advantages - advantages.mean()) / (advantages.std() + 1e-8)
    obs = torch.as_tensor(batch.obs, dtype=torch.float32, device=dev)  # [M, *obs]
    actions = torch.as_tensor(batch.actions, device=dev)  # [M, *act]
    log_prob, entropy, value = net.evaluate(obs, actions)  # [M] each
    loss, info = a2c_loss(
        log_prob,
        torch.as_tensor(advantages, device=dev),
        value,
        torch.as_tensor(batch.returns, device=dev),
        entropy,
        config.vf_coef,
        config.ent_coef,
    )
    flat.zero_grad()
    loss.backward()  # type: ignore[no-untyped-call]
    return loss, info, flat.clip_grad_norm(config.max_grad_norm)


# ----------------------------------------------------------------------------- building
def make_a2c_optimizer(
    param: torch.nn.Parameter, config: A2CConfig
) -> torch.optim.Optimizer | FlatAdam:
    """The optimizer ``config`` names for a flat parameter (see :class:`FlatParameters`)."""
    if config.optimizer == "adam":
        return FlatAdam(param, config.learning_rate, eps=config.optimizer_eps)
    return make_optimizer(
        "rmsprop", [param], config.learning_rate, eps=config.optimizer_eps, rho=config.rmsprop_alpha
    )


def set_learning_rate(optimizer: torch.optim.Optimizer | FlatAdam, lr: float) -> None:
    """Set the step size of an optimizer made by :func:`make_a2c_optimizer`."""
    if isinstance(optimizer, FlatAdam):
        optimizer.lr = lr
    else:
        optimizer.param_groups[0]["lr"] = lr


# ----------------------------------------------------------------------------- the agent
class A2C(Agent[A2CConfig]):
    """Synchronous advantage actor-critic for Discrete and bounded Box actions.

    Example:
        >>> env = rw.make_env("CartPole-v1", n_envs=8, seed=0)
        >>> result = A2C(env, A2CConfig(), seed=0).learn(500_000, target_return=475)
    """

    algo = "a2c"
    config_cls = A2CConfig
    observation_types = (gym.spaces.Box,)
    action_types = (gym.spaces.Discrete, gym.spaces.Box)
    default_torch_threads = 1  # small MLPs: a second thread costs more in hand-offs than it saves

    def __init__(
        self,
        env: gym.vector.VectorEnv | str,
        config: A2CConfig | None = None,
        *,
        seed: int = 0,
        device: str = "auto",
    ) -> None:
        """See :class:`~rlworks.agents.base.Agent`.

        Raises:
            SpaceMismatchError: A Box action space with infinite bounds.
        """
        super().__init__(env, config, seed=seed, device=device)
        cfg = self.config
        require_bounded_actions(self.action_space, self.algo, self.env_id)
        with seeded(seed):
            self.net = make_actor_critic(
                self.observation_space, self.action_space, cfg, self.env_id
            ).to(self.device)
        self.flat = FlatParameters(self.net)
        self.optimizer = make_a2c_optimizer(self.flat.param, cfg)
        self.buffer = RolloutBuffer.from_spaces(
            self.observation_space, self.action_space, cfg.n_steps, self.env.num_envs
        )
        self.curiosity = make_curiosity(
            cfg.curiosity, cfg.intrinsic_coef, cfg.curiosity_settings, self.observation_space,
            self.action_space, cfg.n_steps, self.env.num_envs, seed=seed, device=self.device,
        )  # fmt: skip
        self.num_timesteps = 0
        self.updates = 0
        self.policy_version: int = 0

    @property
    def observers(self) -> list[Observer]:
        """The rollout buffer (and the curiosity module's recorder)."""
        return [self.buffer] if self.curiosity is None else [self.buffer, self.curiosity.recorder]

    def act(self, obs: np.ndarray, explore: bool = True) -> np.ndarray:
        """Sample (and stage for the rollout) while collecting; the mode otherwise. Box
        actions are clipped to the bounds."""
        if not explore:
            return self.net.clip(self.net.mode(obs))
        actions, log_probs, values = self.net.act(obs, self.rng)
        self.buffer.stage(actions, log_probs, values)
        return self.net.clip(actions)

    # ------------------------------------------------------------------ the loop
    def train_iteration(self, driver: Driver) -> dict[str, float]:
        """Collect ``n_steps`` per sub-environment, then take one gradient step."""
        self.num_timesteps += self.buffer.collect(driver)
        cfg = self.config
        extra: dict[str, float] = {}
        if self.curiosity is not None:  # intrinsic rewards join the extrinsic ones before GAE
            extra = self.curiosity.add_intrinsic(self.buffer.rewards[: self.buffer.pos])
        batch = self.buffer.compute_advantages(self.net.predict_values, cfg.gamma, cfg.gae_lambda)
        return {**self.update(batch), **extra}

    def update(self, batch: RolloutBatch) -> dict[str, float]:
        """One gradient step on a whole rollout."""
        cfg = self.config
        lr = cfg.learning_rate
        if cfg.anneal_lr:
            lr *= max(0.0, 1.0 - self.num_timesteps / cfg.anneal_steps)
        set_learning_rate(self.optimizer, lr)
        loss, info, norm = a2c_gradient(self.net, self.flat, batch, cfg)
        if not math.isfinite(norm):
            raise NonFiniteError(
                f"non-finite A2C gradient (norm {norm}, loss {float(loss)}) in update "
                f"{self.updates + 1}, after {self.num_timesteps} env steps"
            )
        self.optimizer.step()
        self.updates += 1
        self.policy_version += 1
        diagnostics = {key: float(v) for key, v in info.items()}
        if self.curiosity is not None:  # its own parameters, optimizer and loss
            diagnostics.update(self.curiosity.train_step())
        diagnostics.update(
            loss=float(loss.detach()), grad_norm=norm, learning_rate=lr,
            updates=float(self.updates),
        )  # fmt: skip
        return diagnostics

    # ------------------------------------------------------------------ checkpoints
    def _state(self) -> dict[str, Any]:
        return {
            "net": self.net.state_dict(),
            "optimizer": self.optimizer.state_dict(),
            "num_timesteps": self.num_timesteps,
            "updates": self.updates,
            "policy_version": self.policy_version,
            "curiosity": None if self.curiosity is None else self.curiosity.state_dict(),
        }

    def _load_state(self, state: dict[str, Any]) -> None:
        self.net.load_state_dict(state["net"])
        self.optimizer.load_state_dict(state["optimizer"])
        self.num_timesteps = int(state["num_timesteps"])
        self.updates = int(state["updates"])
        self.policy_version = int(state["policy_version"])
        if self.curiosity is not None:
            self.curiosity.load_state_dict(state["curiosity"])
