"""What both PPO engines share, without importing torch.

:class:`~rlworks.agents.ppo.PPO` (torch) and :class:`~rlworks.agents.ppo_numpy.NumpyPPO` (NumPy
alone) train the same algorithm with the same loop: collect a rollout, add any intrinsic reward,
compute GAE, then ``n_epochs`` passes of minibatch steps. :class:`PPOLoop` holds that loop, the
annealing schedule and the update's diagnostics; an engine supplies its networks, its
permutations, its gradient clipping and its optimizer (:meth:`PPOLoop._permutation`,
:meth:`PPOLoop._clip_gradient`, ``optimizer.step()``) and, for the hand-written gradient, a
:class:`~rlworks.agents.ppo_fast.NumpyPPOLearner`.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

import gymnasium as gym
import numpy as np

from rlworks.agents.ppo_config import PPOConfig
from rlworks.agents.ppo_fast import MinibatchInfo, NumpyPPOLearner
from rlworks.buffers.rollout import RolloutBatch, RolloutBuffer
from rlworks.errors import ConfigError, NonFiniteError

if TYPE_CHECKING:
    from rlworks.training.driver import Driver

__all__ = ["PPOLoop", "explained_variance"]


class PPOLoop:
    """The PPO iteration shared by the engines (a mixin of the agent classes)."""

    config: PPOConfig
    env: gym.vector.VectorEnv
    buffer: RolloutBuffer
    curiosity: Any
    fast_learner: NumpyPPOLearner | None
    optimizer: Any  # FlatAdam or NumpyAdam: step() along the flat gradient
    num_timesteps: int
    updates: int
    policy_version: int

    # ------------------------------------------------------------------ what an engine supplies
    def update(self, batch: RolloutBatch) -> dict[str, float]:
        raise NotImplementedError

    def _permutation(self, m: int) -> np.ndarray:
        """A random order of ``m`` rollout rows, from the agent's generator."""
        raise NotImplementedError

    def _clip_gradient(self) -> float:
        """Clip the flat gradient to ``max_grad_norm`` in place; its norm before clipping."""
        raise NotImplementedError

    def _predict_values(self, obs: np.ndarray) -> np.ndarray:
        """``V(s)`` ``[N]`` for the bootstrap values of GAE."""
        raise NotImplementedError

    def _prepare_obs(self, flat: np.ndarray) -> np.ndarray:
        """What the networks read for flat float32 observations ``[M, D]``."""
        raise NotImplementedError

    def _policy_std(self) -> float | None:
        """The Gaussian policy's mean standard deviation (None for discrete actions)."""
        raise NotImplementedError

    # ------------------------------------------------------------------ the loop
    def _clip_and_step(self, loss: Any, grad_norms: list[float]) -> None:
        """Gradient clipping and one Adam step on the flat parameters (gradient in place).

        Raises:
            NonFiniteError: A NaN or infinite gradient norm (naming the loss and the update).
        """
        norm = self._clip_gradient()
        if not math.isfinite(norm):
            raise NonFiniteError(
                f"non-finite PPO gradient (norm {norm}, loss {float(loss)}) in update "
                f"{self.updates + 1}, after {self.num_timesteps} env steps"
            )
        self.optimizer.step()
        grad_norms.append(norm)

    def train_iteration(self, driver: Driver) -> dict[str, float]:
        """Collect one rollout of ``n_steps`` per sub-environment, then update on it.

        Raises:
            ConfigError: ``batch_size`` does not divide ``n_steps * n_envs`` (checked before
                the first step).
        """
        cfg = self.config
        rollout = cfg.n_steps * self.env.num_envs
        if rollout % cfg.batch_size:
            raise ConfigError(
                f"batch_size ({cfg.batch_size}) must divide the rollout size n_steps * n_envs "
                f"= {cfg.n_steps} * {self.env.num_envs} = {rollout}"
            )
        self.num_timesteps += self.buffer.collect(driver)
        extra: dict[str, float] = {}
        if self.curiosity is not None:  # intrinsic rewards join the extrinsic ones before GAE
            extra = self.curiosity.add_intrinsic(self.buffer.rewards[: self.buffer.pos])
        batch = self.buffer.compute_advantages(self._predict_values, cfg.gamma, cfg.gae_lambda)
        return {**self.update(batch), **extra}

    def schedule(self) -> tuple[float, float]:
        """Learning rate and clip range now (linear annealing over ``anneal_steps``)."""
        cfg = self.config
        remaining = max(0.0, 1.0 - self.num_timesteps / cfg.anneal_steps)
        lr = cfg.learning_rate * (remaining if cfg.anneal_lr else 1.0)
        clip = cfg.clip_range * (remaining if cfg.anneal_clip_range else 1.0)
        return lr, clip

    def _minibatch_count(self, m: int) -> int:
        """Minibatches per epoch for a rollout of ``m`` valid rows: as many as a full rollout
        holds (``n_steps * n_envs / batch_size``), never more than ``m``.

        Rows the driver drops (the reset observations of autoresetting sub-environments) shrink
        every minibatch a little instead of leaving a tiny last one that would take a
        full-sized step on a few samples.
        """
        cfg = self.config
        return max(1, min(m, cfg.n_steps * self.env.num_envs // cfg.batch_size))

    def _epochs_fast(
        self, batch: RolloutBatch, clip_range: float
    ) -> tuple[dict[str, float], list[float], bool]:
        """The epochs of the update through the hand-written gradient
        (:class:`~rlworks.agents.ppo_fast.NumpyPPOLearner`): the same minibatches (the same
        permutations of the same generator), losses and steps as autograd's, without it.

        Returns:
            The mean diagnostics over the minibatches, the gradient norms of the steps taken,
            and whether ``target_kl`` stopped the epochs early.
        """
        cfg, learner = self.config, self.fast_learner
        assert learner is not None
        m = len(batch.advantages)
        flat = np.ascontiguousarray(batch.obs.reshape(m, -1), dtype=np.float32)  # [M, D]
        obs = np.ascontiguousarray(self._prepare_obs(flat))  # what the networks read
        rollout = (obs, batch.actions, batch.log_probs, batch.values, batch.advantages)
        sums = np.zeros(len(MinibatchInfo._fields))
        grad_norms: list[float] = []
        minibatches, stopped_early = 0, False
        for _ in range(cfg.n_epochs):
            order = self._permutation(m)  # [M]
            for idx in np.array_split(order, self._minibatch_count(m)):  # [B] each
                info = learner.loss_and_grad(*rollout, batch.returns, idx, clip_range)
                sums += info
                minibatches += 1
                if cfg.target_kl is not None and info.approx_kl > 1.5 * cfg.target_kl:
                    stopped_early = True  # this minibatch's step would move too far
                    break
                self._clip_and_step(info.loss, grad_norms)
            if stopped_early:
                break
        means = dict(zip(MinibatchInfo._fields, (sums / minibatches).tolist(), strict=True))
        return means, grad_norms, stopped_early

    def _finish_update(
        self,
        batch: RolloutBatch,
        means: dict[str, float],
        grad_norms: list[float],
        stopped_early: bool,
        lr: float,
        clip_range: float,
    ) -> dict[str, float]:
        """Count the update and return its diagnostics."""
        self.updates += 1
        self.policy_version += 1
        diagnostics = dict(means)
        diagnostics.update(
            grad_norm=sum(grad_norms) / max(len(grad_norms), 1),
            gradient_steps=float(len(grad_norms)),
            stopped_early=float(stopped_early),
            learning_rate=lr,
            clip_range=clip_range,
            explained_variance=explained_variance(batch.values, batch.returns),
            updates=float(self.updates),
        )
        std = self._policy_std()
        if std is not None:
            diagnostics["std"] = std
        return diagnostics

    # ------------------------------------------------------------------ checkpoints
    def _loop_state(self) -> dict[str, Any]:
        """The checkpoint entries both engines share: optimizer, counters, curiosity."""
        return {
            "optimizer": self.optimizer.state_dict(),
            "num_timesteps": self.num_timesteps,
            "updates": self.updates,
            "policy_version": self.policy_version,
            "curiosity": None if self.curiosity is None else self.curiosity.state_dict(),
        }

    def _load_loop_state(self, state: dict[str, Any]) -> None:
        """Restore what :meth:`_loop_state` returned (written by either engine)."""
        self.optimizer.load_state_dict(state["optimizer"])
        self.num_timesteps = int(state["num_timesteps"])
        self.updates = int(state["updates"])
        self.policy_version = int(state["policy_version"])
        if self.curiosity is not None:
            self.curiosity.load_state_dict(state["curiosity"])


def explained_variance(predicted: np.ndarray, target: np.ndarray) -> float:
    """``1 - Var(target - predicted) / Var(target)``: 1 for a perfect critic, 0 for a constant
    one; 0 when the targets do not vary."""
    variance = float(np.var(target))
    if variance == 0.0:
        return 0.0
    return 1.0 - float(np.var(target - predicted)) / variance
