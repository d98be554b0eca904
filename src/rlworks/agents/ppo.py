"""PPO: proximal policy optimization with a clipped surrogate objective.

Each iteration plays ``n_steps`` steps in each of the vector env's sub-environments with the
current stochastic policy (the rollout), estimates advantages with GAE (bootstrapping truncated
episodes from the critic's value of their true final observation), then takes ``n_epochs``
passes of minibatch gradient steps on the clipped surrogate loss, the value loss and an entropy
bonus. The clipping keeps each update's new policy close to the one that collected the data,
so one rollout can be reused for many gradient steps.

The pieces are shared with A2C: :class:`~rlworks.buffers.RolloutBuffer` (storage and GAE),
:class:`~rlworks.nets.ActorCritic` (separate actor and critic MLPs, NumPy acting),
:func:`~rlworks.returns.gae`. The update is kept lean for small networks on a CPU: one flat
parameter vector (:class:`~rlworks.nets.flat.FlatParameters`), one fused Adam step per minibatch
(:class:`~rlworks.optim.FlatAdam`), tensors made once per rollout. For plain tanh/relu MLPs on
the CPU the loss and its gradient are computed by hand in preallocated memory
(:class:`~rlworks.agents.ppo_fast.NumpyPPOLearner`, checked against autograd by the tests):
the same minibatches, losses and steps, several times faster; everything else (GPU, other
activations, curiosity) takes the autograd path. The loop itself is
:class:`~rlworks.agents.ppo_common.PPOLoop`, shared with the torch-free engine
:class:`~rlworks.agents.ppo_numpy.NumpyPPO` (same config, same checkpoints).

References: Schulman et al., "Proximal Policy Optimization Algorithms", 2017
(https://arxiv.org/abs/1707.06347); Schulman et al., "High-Dimensional Continuous Control Using
Generalized Advantage Estimation", 2016 (https://arxiv.org/abs/1506.02438); Géron, *Hands-On
Machine Learning*, ch. 18, "Overview of Some Popular RL Algorithms".
"""

from __future__ import annotations

from typing import Any

import gymnasium as gym
import numpy as np
import torch

from rlworks.agents.base import Agent
from rlworks.agents.ppo_common import PPOLoop
from rlworks.agents.ppo_config import PPOConfig
from rlworks.agents.ppo_fast import NumpyPPOLearner
from rlworks.buffers import RolloutBatch, RolloutBuffer
from rlworks.curiosity import make_curiosity
from rlworks.nets import seeded
from rlworks.nets.actor_critic import make_actor_critic, require_bounded_actions
from rlworks.nets.flat import FlatParameters
from rlworks.optim import FlatAdam
from rlworks.training.driver import Observer

__all__ = ["PPO", "PPOConfig", "ppo_clip_loss", "value_loss"]


# ----------------------------------------------------------------------------- losses
def ppo_clip_loss(
    log_probs: torch.Tensor,
    old_log_probs: torch.Tensor,
    advantages: torch.Tensor,
    clip_range: float,
) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
    """The clipped surrogate loss ``-mean(min(ρ·A, clip(ρ, 1-ε, 1+ε)·A))``, ``ρ = π/π_old``.

    Args:
        log_probs: ``log π(a | s)`` under the current policy, ``[B]``, with gradient.
        old_log_probs: ``log π_old(a | s)`` from the rollout, ``[B]``.
        advantages: ``A``, ``[B]`` (treated as constants).
        clip_range: ε.

    Returns:
        The loss and its diagnostics: ``clip_fraction`` (share of ratios outside
        ``[1-ε, 1+ε]``) and ``approx_kl`` (``mean((ρ - 1) - log ρ)``, an unbiased, non-negative
        estimate of KL(π_old || π)).
    """
    log_ratio = log_probs - old_log_probs  # [B]
    ratio = log_ratio.exp()  # [B]
    adv = advantages.detach()
    unclipped = ratio * adv
    clipped = ratio.clamp(1.0 - clip_range, 1.0 + clip_range) * adv
    loss = -torch.minimum(unclipped, clipped).mean()
    with torch.no_grad():
        info = {
            "policy_loss": loss.detach(),
            "clip_fraction": ((ratio - 1.0).abs() > clip_range).float().mean(),
            "approx_kl": ((ratio - 1.0) - log_ratio).mean(),
        }
    return loss, info


def value_loss(
    values: torch.Tensor,
    returns: torch.Tensor,
    old_values: torch.Tensor | None = None,
    clip_range_vf: float | None = None,
) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
    """Mean squared error between the value predictions and the returns.

    With ``clip_range_vf`` the prediction is first clipped to ``old_values ± clip_range_vf``
    (Stable-Baselines3's value clipping).

    Args:
        values: ``V(s)`` with gradient, ``[B]``.
        returns: Targets, ``[B]``.
        old_values: ``V_old(s)`` from the rollout, ``[B]``; needed with ``clip_range_vf``.
        clip_range_vf: Largest change of a prediction from its rollout-time value.

    Returns:
        The loss and ``{"value_loss": loss}``.
    """
    if clip_range_vf is not None:
        if old_values is None:
            raise ValueError("value clipping needs old_values")
        values = old_values + (values - old_values).clamp(-clip_range_vf, clip_range_vf)
    loss = (returns - values).square().mean()
    return loss, {"value_loss": loss.detach()}


# ----------------------------------------------------------------------------- the agent
class PPO(PPOLoop, Agent[PPOConfig]):
    """Proximal policy optimization for Discrete and bounded Box actions.

    Example:
        >>> env = rw.make_env("CartPole-v1", n_envs=8, seed=0)
        >>> config = PPOConfig(n_steps=32, batch_size=256, n_epochs=20, gae_lambda=0.8,
        ...                    gamma=0.98, learning_rate=1e-3, anneal_lr=True,
        ...                    anneal_clip_range=True, anneal_steps=100_000)
        >>> result = PPO(env, config, seed=0).learn(100_000, target_return=475)
    """

    algo = "ppo"
    config_cls = PPOConfig
    observation_types = (gym.spaces.Box,)
    action_types = (gym.spaces.Discrete, gym.spaces.Box)
    default_torch_threads = 1  # small MLPs: a second thread costs more in hand-offs than it saves

    def __init__(
        self,
        env: gym.vector.VectorEnv | str,
        config: PPOConfig | None = None,
        *,
        seed: int = 0,
        device: str = "auto",
    ) -> None:
        """See :class:`~rlworks.agents.base.Agent`.

        An agent can be made (or loaded) for any number of environments; training checks that
        ``batch_size`` divides the rollout size (see :meth:`train_iteration`).

        Raises:
            SpaceMismatchError: A Box action space with infinite bounds.
        """
        super().__init__(env, config, seed=seed, device=device)
        cfg = self.config
        n_envs = self.env.num_envs
        require_bounded_actions(self.action_space, self.algo, self.env_id)
        with seeded(seed):
            self.net = make_actor_critic(
                self.observation_space, self.action_space, cfg, self.env_id
            ).to(self.device)
        self.flat = FlatParameters(self.net)  # one Adam kernel and one norm per step
        self.optimizer = FlatAdam(self.flat.param, cfg.learning_rate, eps=cfg.adam_eps)
        # The hand-written gradient where it applies (plain CPU MLPs), autograd elsewhere.
        self.fast_learner = (
            NumpyPPOLearner.for_net(
                self.net,
                cfg.batch_size,
                vf_coef=cfg.vf_coef,
                ent_coef=cfg.ent_coef,
                clip_range_vf=cfg.clip_range_vf,
                normalize_advantages=cfg.normalize_advantages,
            )
            if NumpyPPOLearner.supports(self.net)
            else None
        )
        self.buffer = RolloutBuffer.from_spaces(
            self.observation_space, self.action_space, cfg.n_steps, n_envs
        )
        self.curiosity = make_curiosity(
            cfg.curiosity, cfg.intrinsic_coef, cfg.curiosity_settings, self.observation_space,
            self.action_space, cfg.n_steps, n_envs, seed=seed, device=self.device,
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
    def update(self, batch: RolloutBatch) -> dict[str, float]:
        """``n_epochs`` passes of minibatch steps on one rollout; returns mean diagnostics."""
        cfg = self.config
        lr, clip_range = self.schedule()
        self.optimizer.lr = lr
        if self.fast_learner is not None and self.curiosity is None:
            return self._finish_update(batch, *self._epochs_fast(batch, clip_range), lr, clip_range)
        dev = self.device
        obs = torch.as_tensor(batch.obs, dtype=torch.float32, device=dev)  # [M, *obs]
        actions = torch.as_tensor(batch.actions, device=dev)  # [M, *act]
        old_log_probs = torch.as_tensor(batch.log_probs, device=dev)  # [M]
        old_values = torch.as_tensor(batch.values, device=dev)  # [M]
        advantages = torch.as_tensor(batch.advantages, device=dev)  # [M]
        returns = torch.as_tensor(batch.returns, device=dev)  # [M]
        m = len(batch.advantages)
        sums: dict[str, torch.Tensor] = {}
        grad_norms: list[float] = []
        stopped_early = False
        minibatches = 0
        for _ in range(cfg.n_epochs):
            order = torch.randperm(m, generator=self.torch_rng).to(dev)
            for idx in torch.tensor_split(order, self._minibatch_count(m)):  # [B] each
                adv = advantages[idx]
                if cfg.normalize_advantages and len(idx) > 1:
                    adv = (adv - adv.mean()) / (adv.std() + 1e-8)
                log_prob, entropy, value = self.net.evaluate(obs[idx], actions[idx])
                pg_loss, info = ppo_clip_loss(log_prob, old_log_probs[idx], adv, clip_range)
                v_loss, v_info = value_loss(value, returns[idx], old_values[idx], cfg.clip_range_vf)
                entropy_mean = entropy.mean()
                loss = pg_loss + cfg.vf_coef * v_loss
                if cfg.ent_coef > 0:
                    loss = loss - cfg.ent_coef * entropy_mean
                if self.curiosity is not None:  # its own parameters: see _step
                    c_loss, c_info = self.curiosity.loss(idx)
                    loss = loss + c_loss
                    info.update(c_info)
                info.update(v_info, entropy=entropy_mean.detach(), loss=loss.detach())
                for key, value_ in info.items():
                    sums[key] = sums[key] + value_ if key in sums else value_
                minibatches += 1
                if cfg.target_kl is not None and float(info["approx_kl"]) > 1.5 * cfg.target_kl:
                    stopped_early = True  # this minibatch's step would move too far
                    break
                self._step(loss, grad_norms)
            if stopped_early:
                break
        means = {key: float(total) / minibatches for key, total in sums.items()}
        return self._finish_update(batch, means, grad_norms, stopped_early, lr, clip_range)

    def _step(self, loss: torch.Tensor, grad_norms: list[float]) -> None:
        """Backward pass, gradient clipping and one Adam step on the flat parameters."""
        self.flat.zero_grad()
        if self.curiosity is not None:
            self.curiosity.zero_grad()
        loss.backward()  # type: ignore[no-untyped-call]
        if self.curiosity is not None:
            self.curiosity.step()
        self._clip_and_step(loss, grad_norms)

    # ------------------------------------------------------------------ the loop's hooks
    def _clip_gradient(self) -> float:
        return self.flat.clip_grad_norm(self.config.max_grad_norm)

    def _permutation(self, m: int) -> np.ndarray:
        order: np.ndarray = torch.randperm(m, generator=self.torch_rng).numpy()
        return order

    def _predict_values(self, obs: np.ndarray) -> np.ndarray:
        return self.net.predict_values(obs)

    def _prepare_obs(self, flat: np.ndarray) -> np.ndarray:
        return self.net.prepare_obs(flat)

    def _policy_std(self) -> float | None:
        if self.net.head != "gaussian":
            return None
        return float(self.net.log_std.detach().exp().mean())

    # ------------------------------------------------------------------ checkpoints
    def _state(self) -> dict[str, Any]:
        return {"net": self.net.state_dict(), **self._loop_state()}

    def _load_state(self, state: dict[str, Any]) -> None:
        self.net.load_state_dict(state["net"])
        self._load_loop_state(state)
