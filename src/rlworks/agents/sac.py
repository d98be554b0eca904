"""Soft Actor-Critic: off-policy maximum-entropy actor-critic for continuous actions.

The chapter's overview describes SAC as an actor-critic that learns to maximize rewards and the
entropy of its actions, so that it explores well and learns sample-efficiently. Here:

* a tanh-squashed Gaussian actor ``π(a|s)`` whose actions are rescaled to the ``Box`` bounds;
* twin critics ``Q1, Q2`` (one :class:`~rlworks.nets.squashed.QEnsemble`) and target copies that
  follow them by Polyak steps ``θ' ← (1 - τ) θ' + τ θ``;
* the critic target ``y = r + γ (1 - terminated) (min_i Q_i'(s', a') - α log π(a'|s'))`` with
  ``a' ~ π(·|s')``; truncated transitions bootstrap;
* the actor minimizes ``E[α log π(a|s) - min_i Q_i(s, a)]`` with reparameterized ``a``;
* automatic entropy tuning: ``log α`` descends ``-log α · (log π(a|s) + H̄)`` towards the target
  entropy ``H̄`` (``-action_dim`` by default).

The loop: collect ``train_freq`` environment steps, then take ``gradient_steps`` gradient steps;
the first ``learning_starts`` steps take uniformly random actions. Each network group (actor,
critics) lives in one flat parameter vector so that each optimizer step is one fused Adam kernel
and each Polyak step one lerp; acting runs the actor in NumPy, which for one observation is
several times cheaper than torch. On the CPU, plain MLP networks take their gradients from
:class:`~rlworks.agents.sac_fast.NumpySACLearner` (the same math by hand on preallocated memory,
checked against autograd by the tests); everything else goes through autograd.

References: Haarnoja et al., "Soft Actor-Critic: Off-Policy Maximum Entropy Deep Reinforcement
Learning with a Stochastic Actor", 2018 (https://arxiv.org/abs/1801.01290); Haarnoja et al.,
"Soft Actor-Critic Algorithms and Applications", 2018 (https://arxiv.org/abs/1812.05905);
Géron, *Hands-On Machine Learning*, ch. 18, "Overview of Some Popular RL Algorithms".
"""

from __future__ import annotations

import copy
import math
from dataclasses import dataclass, field
from typing import Any

import gymnasium as gym
import numpy as np
import torch

from rlworks.agents.base import Agent
from rlworks.agents.sac_fast import NumpySACLearner
from rlworks.buffers import ReplayBatch, ReplayBuffer
from rlworks.errors import ConfigError, NonFiniteError, SpaceMismatchError
from rlworks.nets import as_float_batch, flat_size, seeded
from rlworks.nets.flat import FlatParameters
from rlworks.nets.squashed import (
    QEnsemble,
    SquashedGaussianPolicy,
    scale_actions,
    unscale_actions,
)
from rlworks.optim import FlatAdam
from rlworks.training.driver import Driver, Observer
from rlworks.training.metrics import EpisodeProgress

__all__ = [
    "SAC",
    "SACConfig",
    "sac_actor_loss",
    "sac_alpha_loss",
    "sac_critic_loss",
    "sac_critic_targets",
]


# ----------------------------------------------------------------------------- config
@dataclass
class SACConfig:
    """Hyperparameters of SAC. The defaults are Stable-Baselines3's (rl-baselines3-zoo's
    Pendulum-v1 settings differ only in ``learning_rate: 1e-3``)."""

    label = "SAC settings"

    # --- networks
    hidden_sizes: list[int] = field(default_factory=lambda: [256, 256])
    """Widths of the hidden layers of the actor and of each critic."""
    activation: str = "relu"
    """Hidden activation of the actor and critics: relu or tanh."""
    n_critics: int = 2
    """Number of critics whose minimum is used (2: clipped double-Q)."""

    # --- learning
    learning_rate: float = 3e-4
    """Adam step size of the actor, the critics and the entropy coefficient."""
    adam_eps: float = 1e-8
    """Adam epsilon (torch's default, as SB3 uses)."""
    gamma: float = 0.99
    """Discount factor."""
    tau: float = 0.005
    """Polyak coefficient of the target critics: the fraction of the way they move per update."""
    target_update_interval: int = 1
    """Gradient steps between two Polyak updates of the target critics."""
    ent_coef: float | str = "auto"
    """Entropy coefficient α: a fixed number > 0, or auto to learn it (starting at
    ``ent_coef_init``) so that the policy's entropy follows ``target_entropy``."""
    ent_coef_init: float = 1.0
    """Initial α when ``ent_coef`` is auto."""
    target_entropy: float | str = "auto"
    """Entropy α is tuned towards: auto means ``-action_dim``, or a number."""

    # --- replay and schedule
    buffer_size: int = 1_000_000
    """Transitions kept in the replay buffer."""
    batch_size: int = 256
    """Transitions per gradient step."""
    learning_starts: int = 100
    """Environment steps of uniform random actions before the policy acts and learning starts."""
    train_freq: int = 1
    """Environment steps collected between training phases (summed over sub-environments)."""
    gradient_steps: int = 1
    """Gradient steps per ``train_freq`` steps collected."""

    def validate(self) -> None:
        """Check ranges; raise :class:`ConfigError` naming the key."""
        for key in ("buffer_size", "batch_size", "train_freq", "gradient_steps", "n_critics",
                    "target_update_interval"):  # fmt: skip
            if getattr(self, key) < 1:
                raise ConfigError(f"{key} must be >= 1, got {getattr(self, key)}")
        if self.learning_starts < 0:
            raise ConfigError(f"learning_starts must be >= 0, got {self.learning_starts}")
        if self.batch_size > self.buffer_size:
            raise ConfigError(
                f"batch_size ({self.batch_size}) must be <= buffer_size ({self.buffer_size})"
            )
        for key in ("learning_rate", "adam_eps", "ent_coef_init"):
            value = getattr(self, key)
            if not (value > 0 and math.isfinite(value)):
                raise ConfigError(f"{key} must be a positive number, got {value}")
        if not 0.0 <= self.gamma <= 1.0:
            raise ConfigError(f"gamma must be in [0, 1], got {self.gamma}")
        if not 0.0 < self.tau <= 1.0:
            raise ConfigError(f"tau must be in (0, 1], got {self.tau}")
        if not self.hidden_sizes or any(w < 1 for w in self.hidden_sizes):
            raise ConfigError(f"hidden_sizes must hold widths >= 1, got {self.hidden_sizes}")
        if self.activation not in ("relu", "tanh"):
            raise ConfigError(f"activation must be relu or tanh, got {self.activation!r}")
        if isinstance(self.ent_coef, str):
            if self.ent_coef != "auto":
                raise ConfigError(f"ent_coef must be 'auto' or a number > 0, got {self.ent_coef!r}")
        elif not (self.ent_coef > 0 and math.isfinite(self.ent_coef)):
            raise ConfigError(f"ent_coef must be 'auto' or a number > 0, got {self.ent_coef}")
        if isinstance(self.target_entropy, str):
            if self.target_entropy != "auto":
                raise ConfigError(
                    f"target_entropy must be 'auto' or a number, got {self.target_entropy!r}"
                )
        elif not math.isfinite(self.target_entropy):
            raise ConfigError(
                f"target_entropy must be 'auto' or a finite number, got {self.target_entropy}"
            )


# ----------------------------------------------------------------------------- losses
def sac_critic_targets(
    rewards: torch.Tensor,
    discounts: torch.Tensor,
    next_q: torch.Tensor,
    next_log_prob: torch.Tensor,
    alpha: torch.Tensor | float,
) -> torch.Tensor:
    """Soft TD targets ``y = r + discount · (min_i Q_i'(s', a') - α log π(a'|s'))``.

    Args:
        rewards: ``[B]`` rewards.
        discounts: ``[B]`` ``γ`` where the transition bootstraps (also after a truncation), 0
            after a termination: ``γ (1 - terminated)``.
        next_q: ``[n, B]`` target critics' values of ``(s', a')`` with ``a' ~ π(·|s')``.
        next_log_prob: ``[B]`` ``log π(a'|s')``.
        alpha: Entropy coefficient.

    Returns:
        ``[B]`` targets (no gradient flows through them when the inputs carry none).
    """
    soft_value = next_q.min(dim=0).values - alpha * next_log_prob  # [B]
    return rewards + discounts * soft_value


def sac_critic_loss(
    q: torch.Tensor, targets: torch.Tensor
) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
    """``Σ_i ½ mean_b (Q_i(s_b, a_b) - y_b)²`` over the critics.

    Args:
        q: ``[n, B]`` critics' values of the stored ``(s, a)``.
        targets: ``[B]`` soft TD targets (treated as constants).

    Returns:
        The loss and ``{"q_mean": mean Q, "td_errors": [n, B] Q - y}``.
    """
    td_errors = q - targets.detach()  # [n, B]
    loss = 0.5 * td_errors.square().mean(dim=1).sum()
    return loss, {"q_mean": q.detach().mean(), "td_errors": td_errors.detach()}


def sac_actor_loss(
    log_prob: torch.Tensor, q_pi: torch.Tensor, alpha: torch.Tensor | float
) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
    """``mean_b (α log π(a_b|s_b) - min_i Q_i(s_b, a_b))`` for reparameterized ``a_b ~ π``.

    Args:
        log_prob: ``[B]`` ``log π(a|s)`` of the sampled actions.
        q_pi: ``[n, B]`` critics' values of those actions.
        alpha: Entropy coefficient (a constant here).

    Returns:
        The loss and ``{"entropy": -mean log π}``.
    """
    loss = (alpha * log_prob - q_pi.min(dim=0).values).mean()
    return loss, {"entropy": -log_prob.detach().mean()}


def sac_alpha_loss(
    log_alpha: torch.Tensor, log_prob: torch.Tensor, target_entropy: float
) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
    """``-mean_b log α · (log π(a_b|s_b) + H̄)``: α grows while the entropy is below ``H̄``.

    Args:
        log_alpha: ``[1]`` the learned log entropy coefficient.
        log_prob: ``[B]`` ``log π(a|s)`` of actions sampled from the current policy (constants).
        target_entropy: ``H̄``.

    Returns:
        The loss and ``{"alpha": exp(log α)}``.
    """
    loss = -(log_alpha * (log_prob.detach() + target_entropy)).mean()
    return loss, {"alpha": log_alpha.detach().exp().squeeze()}


# ----------------------------------------------------------------------------- agent
class SAC(Agent[SACConfig]):
    """Soft Actor-Critic for ``Box`` actions with finite bounds.

    Example:
        >>> env = rw.make_env("Pendulum-v1", n_envs=1, seed=0)
        >>> agent = SAC(env, SACConfig(learning_rate=1e-3), seed=0)
        >>> result = agent.learn(20_000, target_return=-200, progress=False)
    """

    algo = "sac"
    config_cls = SACConfig
    observation_types = (gym.spaces.Box,)
    action_types = (gym.spaces.Box,)
    action_space_hint = (
        ". SAC's squashed Gaussian policy needs continuous (Box) actions: use dqn or ppo for "
        "discrete actions"
    )
    default_torch_threads = 1  # small MLPs: a second thread costs more in hand-offs than it saves

    def __init__(
        self,
        env: gym.vector.VectorEnv | str,
        config: SACConfig | None = None,
        *,
        seed: int = 0,
        device: str = "auto",
    ) -> None:
        """See :class:`~rlworks.agents.base.Agent`.

        Raises:
            SpaceMismatchError: Non-Box actions (the message suggests dqn or ppo), or a Box with
                infinite bounds (the message names them).
            ConfigError: Invalid settings, or a replay buffer larger than the free memory.
        """
        super().__init__(env, config, seed=seed, device=device)
        cfg = self.config
        space = self.action_space
        assert isinstance(space, gym.spaces.Box)
        if not (np.isfinite(space.low).all() and np.isfinite(space.high).all()):
            raise SpaceMismatchError(
                f"sac cannot handle {self.env_id}: its action space has infinite bounds "
                f"(low={space.low.tolist()}, high={space.high.tolist()}); SAC squashes actions "
                "into finite bounds: wrap the env to clip or rescale its actions"
            )
        self.action_low = space.low.astype(np.float32).reshape(-1)  # [A]
        self.action_high = space.high.astype(np.float32).reshape(-1)  # [A]
        self.action_dim = int(self.action_low.size)
        self.action_shape = tuple(space.shape)
        obs_dim = flat_size(self.observation_space.shape)
        with seeded(seed):
            self.actor = SquashedGaussianPolicy(
                obs_dim, self.action_dim, cfg.hidden_sizes, cfg.activation
            ).to(self.device)
            self.critic = QEnsemble(
                obs_dim, self.action_dim, cfg.hidden_sizes, cfg.n_critics, cfg.activation
            ).to(self.device)
        self.critic_target = copy.deepcopy(self.critic).requires_grad_(False)
        # One flat vector per network group: one Adam kernel and one Polyak lerp per step.
        self.actor_flat = FlatParameters(self.actor)
        self.critic_flat = FlatParameters(self.critic)
        self.target_flat = FlatParameters(self.critic_target)
        self.target_flat.param.requires_grad_(False)
        self.actor_optimizer = FlatAdam(self.actor_flat.param, cfg.learning_rate, eps=cfg.adam_eps)
        self.critic_optimizer = FlatAdam(
            self.critic_flat.param, cfg.learning_rate, eps=cfg.adam_eps
        )
        self.auto_alpha = cfg.ent_coef == "auto"
        initial = cfg.ent_coef_init if self.auto_alpha else float(cfg.ent_coef)
        self.log_alpha = torch.nn.Parameter(torch.full((1,), math.log(initial), device=self.device))
        self.log_alpha.grad = torch.zeros_like(self.log_alpha)
        self.alpha_optimizer = FlatAdam(self.log_alpha, cfg.learning_rate, eps=cfg.adam_eps)
        self.target_entropy = (
            -float(self.action_dim) if cfg.target_entropy == "auto" else float(cfg.target_entropy)
        )
        # Sampling noise for the updates: the agent's torch generator (one on the device for
        # CUDA, seeded from the agent's seed and checkpointed with the agent).
        self.noise_rng = (
            self.torch_rng
            if self.device.type == "cpu"
            else torch.Generator(device=self.device).manual_seed(seed)
        )
        self.buffer = ReplayBuffer.from_spaces(
            self.observation_space, self.action_space, cfg.buffer_size, gamma=cfg.gamma
        )
        self.progress = EpisodeProgress(self.env.num_envs)
        self.gradient_steps = 0
        self.policy_version: int = 0
        # Hand-written gradients for plain CPU MLPs (None: autograd).
        self.fast_learner = (
            NumpySACLearner(self.actor, self.critic, self.critic_target, cfg.batch_size)
            if NumpySACLearner.supports(self.actor, self.critic, self.critic_target)
            else None
        )
        self._log_alpha_np = self.log_alpha.detach().numpy() if self.fast_learner else None

    # ------------------------------------------------------------------ acting
    @property
    def observers(self) -> list[Observer]:
        """The replay buffer, and the agent's own step and episode counts."""
        return [self.buffer, self.progress]

    @property
    def alpha(self) -> float:
        """The entropy coefficient α now."""
        return float(self.log_alpha.detach().exp())

    def act(self, obs: np.ndarray, explore: bool = True) -> np.ndarray:
        """Uniform random actions for the first ``learning_starts`` steps, then samples of the
        squashed Gaussian while exploring; ``tanh(mean)`` otherwise; rescaled to the bounds."""
        n = len(obs)
        shape = (n, *self.action_shape)
        if explore and self.progress.steps < self.config.learning_starts:
            uniform = self.rng.uniform(-1.0, 1.0, (n, self.action_dim))
            return scale_actions(uniform, self.action_low, self.action_high).astype(
                self.action_space.dtype
            ).reshape(shape)  # fmt: skip
        flat_obs = np.asarray(obs, dtype=np.float32).reshape(n, -1)  # [N, D]
        rng = self.rng if explore else None
        squashed: np.ndarray | None
        if n == 1 and self.fast_learner is not None:  # one env: preallocated rows, no checks
            squashed = self.fast_learner.act_one(flat_obs, rng)  # [1, A]
        else:
            squashed = self.actor.numpy_act(flat_obs, rng)  # [N, A]
        if squashed is None:  # not a NumPy-able network (another device): torch
            with torch.inference_mode():
                mean, log_std = self.actor(as_float_batch(obs, self.device))
                if explore:
                    noise = torch.as_tensor(
                        self.rng.standard_normal(mean.shape, dtype=np.float32), device=self.device
                    )
                    mean = mean + log_std.exp() * noise
                squashed = torch.tanh(mean).cpu().numpy()
        actions = scale_actions(squashed, self.action_low, self.action_high)
        return actions.astype(self.action_space.dtype).reshape(shape)

    # ------------------------------------------------------------------ the loop
    def train_iteration(self, driver: Driver) -> dict[str, float]:
        """Collect ``train_freq`` steps, then take ``gradient_steps`` gradient steps per
        ``train_freq`` steps collected once more than ``learning_starts`` steps are in (and,
        after a resume, the buffer has refilled)."""
        cfg = self.config
        before = self.progress.steps
        driver.run(num_steps=cfg.train_freq)
        info = {"buffer_size": float(len(self.buffer))}
        # The replay buffer is not checkpointed: a resumed run refills it before learning again.
        needed = max(cfg.batch_size, min(cfg.learning_starts, cfg.buffer_size))
        if self.progress.steps > cfg.learning_starts and len(self.buffer) >= needed:
            phases = self.progress.steps // cfg.train_freq - before // cfg.train_freq
            info.update(self.update(cfg.gradient_steps * max(phases, 1)))
        return info

    def update(self, batch: Any = None) -> dict[str, float]:
        """Take gradient steps: ``batch`` is a :class:`ReplayBatch` to learn from once, or the
        number of steps to take on batches sampled uniformly from the buffer."""
        cfg = self.config
        if isinstance(batch, ReplayBatch):
            whole, size, n_steps = batch, len(batch.rewards), 1
        else:
            n_steps = int(batch) if batch is not None else cfg.gradient_steps
            size = cfg.batch_size
            # Every batch of the phase in one uniform draw (with replacement).
            slots = (self.rng.random(size * n_steps) * len(self.buffer)).astype(np.int64)
            whole = self.buffer.gather(slots)
        arrays = self._arrays(whole, contiguous=self.fast_learner is None)
        if self.fast_learner is not None:  # the learner copies the rows into its own buffers
            steps = [self._fast_gradient_step(*(a[i * size : (i + 1) * size] for a in arrays))
                     for i in range(n_steps)]  # fmt: skip
            stats = np.mean(steps, axis=0).tolist()
        else:
            data = [torch.from_numpy(a).to(self.device) for a in arrays]
            diagnostics = [self._gradient_step(*(t[i * size : (i + 1) * size] for t in data))
                           for i in range(n_steps)]  # fmt: skip
            stats = torch.stack(diagnostics).mean(dim=0).tolist()  # one sync per phase
        names = ("critic_loss", "actor_loss", "alpha_loss", "alpha", "q_mean", "entropy")
        info = dict(zip(names, stats, strict=True))
        if not all(math.isfinite(v) for v in stats):
            raise NonFiniteError(
                f"non-finite SAC losses {info} at gradient step {self.gradient_steps} (env step "
                f"{self.progress.steps}); the run stops before writing a checkpoint"
            )
        self.policy_version += 1
        info["gradient_steps"] = float(self.gradient_steps)
        return info

    def _arrays(self, batch: ReplayBatch, contiguous: bool = True) -> tuple[np.ndarray, ...]:
        """obs ``[B, D]``, actions in ``[-1, 1]`` ``[B, A]``, rewards, next_obs, discounts, as
        float32 arrays (C-contiguous copies with ``contiguous``, else possibly strided views)."""
        n = len(batch.rewards)
        actions = unscale_actions(
            np.asarray(batch.actions, np.float32).reshape(n, -1), self.action_low, self.action_high
        ).astype(np.float32, copy=False)
        arrays = (
            np.asarray(batch.obs, np.float32).reshape(n, -1),
            actions,
            np.asarray(batch.rewards, np.float32),
            np.asarray(batch.next_obs, np.float32).reshape(n, -1),
            np.asarray(batch.discounts, np.float32),
        )
        return tuple(np.ascontiguousarray(a) for a in arrays) if contiguous else arrays

    def _fast_gradient_step(
        self,
        obs: np.ndarray,
        actions: np.ndarray,
        rewards: np.ndarray,
        next_obs: np.ndarray,
        discounts: np.ndarray,
    ) -> list[float]:
        """:meth:`_gradient_step` with the hand-written gradients of the fast learner: the same
        phases, noise draws and optimizer steps in the same order; diagnostics as floats."""
        learner, cfg = self.fast_learner, self.config
        assert learner is not None and self._log_alpha_np is not None
        learner.load(obs, actions, rewards, next_obs, discounts)
        log_prob = learner.sample_policy(self.noise_rng)  # [B]
        log_alpha = self._log_alpha_np[0]  # float32, the value before this step's update
        alpha = float(np.exp(log_alpha))
        # alpha loss -mean(log α (log π + H̄)); its gradient is -mean(log π + H̄)
        gap = float(np.add.reduce(log_prob + np.float32(self.target_entropy))) / len(log_prob)
        alpha_loss = -float(log_alpha) * gap
        if self.auto_alpha:
            self.log_alpha.grad.fill_(-gap)  # type: ignore[union-attr]
            self.alpha_optimizer.step()
        critic_loss, q_mean = learner.critic_loss_and_grad(alpha)
        self.critic_optimizer.step()
        actor_loss, entropy = learner.actor_loss_and_grad(alpha)
        self.actor_optimizer.step()
        self.gradient_steps += 1
        if self.gradient_steps % cfg.target_update_interval == 0:
            self.target_flat.param.data.lerp_(self.critic_flat.param.data, cfg.tau)
        return [critic_loss, actor_loss, alpha_loss, alpha, q_mean, entropy]

    def _gradient_step(
        self,
        obs: torch.Tensor,
        actions: torch.Tensor,
        rewards: torch.Tensor,
        next_obs: torch.Tensor,
        discounts: torch.Tensor,
    ) -> torch.Tensor:
        """One step on entropy coefficient, critics and actor; diagnostics ``[6]``."""
        cfg = self.config
        # Entropy coefficient: the actor's current actions say how far the entropy is off.
        pi_actions, log_prob = self.actor.sample(obs, self.noise_rng)  # [B, A], [B]
        alpha = self.log_alpha.detach().exp()  # [1], the value before this step's update
        alpha_loss, _ = sac_alpha_loss(self.log_alpha, log_prob, self.target_entropy)
        if self.auto_alpha:
            self.log_alpha.grad.zero_()  # type: ignore[union-attr]
            alpha_loss.backward()  # type: ignore[no-untyped-call]
            self.alpha_optimizer.step()
        # Critics: regress both onto the soft target of the target critics.
        with torch.no_grad():
            next_actions, next_log_prob = self.actor.sample(next_obs, self.noise_rng)
            next_q = self.critic_target(next_obs, next_actions)  # [n, B]
            targets = sac_critic_targets(rewards, discounts, next_q, next_log_prob, alpha)
        critic_loss, critic_info = sac_critic_loss(self.critic(obs, actions), targets)
        self.critic_flat.zero_grad()
        critic_loss.backward()  # type: ignore[no-untyped-call]
        self.critic_optimizer.step()
        # Actor: the critics' weights are constants here (no weight gradients are computed).
        q_pi = self.critic(obs, pi_actions, detach_params=True)  # [n, B]
        actor_loss, actor_info = sac_actor_loss(log_prob, q_pi, alpha)
        self.actor_flat.zero_grad()
        actor_loss.backward()  # type: ignore[no-untyped-call]
        self.actor_optimizer.step()
        self.gradient_steps += 1
        if self.gradient_steps % cfg.target_update_interval == 0:
            with torch.no_grad():
                self.target_flat.param.lerp_(self.critic_flat.param, cfg.tau)
        return torch.stack([
            critic_loss.detach(), actor_loss.detach(), alpha_loss.detach(),
            alpha.squeeze(), critic_info["q_mean"], actor_info["entropy"],
        ])  # fmt: skip

    # ------------------------------------------------------------------ checkpoints
    def _state(self) -> dict[str, Any]:
        return {
            "actor": self.actor.state_dict(),
            "critic": self.critic.state_dict(),
            "critic_target": self.critic_target.state_dict(),
            "log_alpha": self.log_alpha.detach().clone(),
            "actor_optimizer": self.actor_optimizer.state_dict(),
            "critic_optimizer": self.critic_optimizer.state_dict(),
            "alpha_optimizer": self.alpha_optimizer.state_dict(),
            "noise_rng": None if self.noise_rng is self.torch_rng else self.noise_rng.get_state(),
            "steps": self.progress.steps,
            "episodes": self.progress.episodes,
            "gradient_steps": self.gradient_steps,
            "policy_version": self.policy_version,
        }

    def _load_state(self, state: dict[str, Any]) -> None:
        self.actor.load_state_dict(state["actor"])
        self.critic.load_state_dict(state["critic"])
        self.critic_target.load_state_dict(state["critic_target"])
        with torch.no_grad():
            self.log_alpha.copy_(state["log_alpha"])
        self.actor_optimizer.load_state_dict(state["actor_optimizer"])
        self.critic_optimizer.load_state_dict(state["critic_optimizer"])
        self.alpha_optimizer.load_state_dict(state["alpha_optimizer"])
        if state["noise_rng"] is not None and self.noise_rng is not self.torch_rng:
            self.noise_rng.set_state(state["noise_rng"])
        self.progress.steps = int(state["steps"])
        self.progress.episodes = int(state["episodes"])
        self.gradient_steps = int(state["gradient_steps"])
        self.policy_version = int(state["policy_version"])
