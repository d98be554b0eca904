"""What an on-policy agent holds to be curious: a module, its storage, optimizer and statistics.

:func:`make_curiosity` builds an :class:`IntrinsicMotivation` from an agent config's three
curiosity fields (``curiosity``, ``intrinsic_coef``, ``curiosity_settings``). The agent:

1. adds :attr:`IntrinsicMotivation.recorder` to its collect observers;
2. after collecting a rollout and before estimating advantages, calls
   :meth:`IntrinsicMotivation.add_intrinsic` on its ``[T, N]`` reward array;
3. in each minibatch step adds :meth:`IntrinsicMotivation.loss` (rows of the rollout batch) to its
   loss, and wraps its backward pass with :meth:`zero_grad` and :meth:`step`;
4. keeps :meth:`state_dict` in its checkpoints.

Intrinsic returns are **episodic** here: the intrinsic reward is added to the extrinsic one and
one critic learns the sum, with GAE cut at terminal states like every other reward. RND's
non-episodic intrinsic return needs a second value head (a terminal state must end the
extrinsic return but not the intrinsic one), which would change the actor-critic network every
algorithm shares; with time-limit truncations bootstrapped (as rlworks always does), the only
place the two differ is a true terminal state, where an episodic bonus slightly discourages
ending the episode — on sparse-reward tasks whose terminal state is the goal the extrinsic
reward outweighs that.
"""

from __future__ import annotations

import math
from typing import Any, Literal

import gymnasium as gym
import numpy as np
import torch

from rlworks.config import config_to_dict
from rlworks.curiosity.base import (
    Curiosity,
    CuriosityBatch,
    CuriosityConfig,
    RewardNormalizer,
    RolloutRecorder,
)
from rlworks.curiosity.icm import ICM
from rlworks.curiosity.rnd import RND
from rlworks.curiosity.settings import CURIOSITY, check_curiosity
from rlworks.errors import NonFiniteError, SpaceMismatchError
from rlworks.nets.mlp import flat_size, seeded

__all__ = ["CURIOSITY", "IntrinsicMotivation", "check_curiosity", "make_curiosity"]

CuriosityName = Literal["none", "rnd", "icm"]


class IntrinsicMotivation:
    """A curiosity module with its rollout recorder, Adam optimizer and reward normalizer.

    Example:
        >>> im = make_curiosity("rnd", 1.0, {}, obs_space, act_space, n_steps=16, n_envs=16,
        ...                     seed=0, device=torch.device("cpu"))
        >>> observers = [buffer, im.recorder]
        >>> info = im.add_intrinsic(buffer.rewards[: buffer.pos])  # after collecting
        >>> loss = loss + im.loss(idx)[0]                             # per minibatch
    """

    def __init__(
        self,
        module: Curiosity,
        config: CuriosityConfig,
        recorder: RolloutRecorder,
        intrinsic_coef: float,
        device: torch.device,
    ) -> None:
        """Wrap a built module (see :func:`make_curiosity`)."""
        self.module = module
        self.config = config
        self.recorder = recorder
        self.intrinsic_coef = intrinsic_coef
        self.device = device
        self.params = [p for p in module.parameters() if p.requires_grad]
        self.optimizer = torch.optim.Adam(self.params, lr=config.learning_rate)
        self.normalizer = RewardNormalizer(
            recorder.n_envs, config.reward_gamma, config.reward_norm_horizon, config.center_reward
        )
        self._batch: CuriosityBatch | None = None

    def add_intrinsic(self, rewards: np.ndarray) -> dict[str, float]:
        """Add ``intrinsic_coef`` × the (normalized) intrinsic rewards of the rollout just
        recorded to ``rewards`` ``[T, N]`` in place, and keep the rollout for :meth:`loss`.

        Returns:
            ``intrinsic_reward`` (mean raw reward, i.e. prediction error) and
            ``intrinsic_reward_scaled`` (mean of what was added).

        Raises:
            ValueError: ``rewards`` does not have the recorder's rows.
            NonFiniteError: The module produced NaN or inf.
        """
        rec = self.recorder
        n = rec.pos
        if rewards.shape[0] != n or rewards.shape[1] != rec.n_envs:
            raise ValueError(
                f"rewards have shape {rewards.shape}, the curiosity recorder holds {n} rows of "
                f"{rec.n_envs} environments"
            )
        valid = rec.valid[:n].copy()  # [T, N]
        batch = rec.batch(self.device)
        raw_flat = self.module.intrinsic_reward(batch).detach().cpu().numpy()  # [M]
        if not np.isfinite(raw_flat).all():
            raise NonFiniteError("non-finite intrinsic reward from the curiosity module")
        raw = np.zeros(valid.shape, dtype=np.float64)  # [T, N]
        raw[valid] = raw_flat
        scaled = self.normalizer(raw, valid) if self.config.normalize_reward else raw
        bonus = self.intrinsic_coef * scaled  # [T, N]
        rewards += np.where(valid, bonus, 0.0)
        self._batch = batch
        rec.clear()
        return {
            "intrinsic_reward": float(raw_flat.mean()) if raw_flat.size else 0.0,
            "intrinsic_reward_scaled": float(bonus[valid].mean()) if raw_flat.size else 0.0,
        }

    def loss(self, idx: torch.Tensor | None = None) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        """The module's loss on rows ``idx`` (``[B]``, indices into the rollout batch; None:
        all rows) of the rollout last passed to :meth:`add_intrinsic`."""
        if self._batch is None:
            raise RuntimeError("IntrinsicMotivation.loss needs add_intrinsic() first")
        batch = self._batch if idx is None else self._batch.take(idx)
        return self.module.loss(batch)

    def zero_grad(self) -> None:
        """Clear the module's gradients (before the agent's backward pass)."""
        self.optimizer.zero_grad(set_to_none=True)

    def step(self) -> None:
        """Clip the module's gradients and take an Adam step (after the backward pass).

        Raises:
            NonFiniteError: A NaN or infinite gradient.
        """
        max_norm = self.config.max_grad_norm if self.config.max_grad_norm is not None else math.inf
        norm = float(torch.nn.utils.clip_grad_norm_(self.params, max_norm))
        if not math.isfinite(norm):
            raise NonFiniteError(f"non-finite curiosity gradient (norm {norm})")
        self.optimizer.step()

    def train_step(self, idx: torch.Tensor | None = None) -> dict[str, float]:
        """A gradient step on the module's loss alone (rows ``idx``, None: all), for an agent
        whose backward pass cannot take the loss (the graphs are disjoint, so this equals adding
        the loss to the agent's); returns the loss diagnostics."""
        loss, info = self.loss(idx)
        self.zero_grad()
        loss.backward()  # type: ignore[no-untyped-call]
        self.step()
        return {key: float(value) for key, value in info.items()}

    def state_dict(self) -> dict[str, Any]:
        """Module (with observation statistics), optimizer and reward normalizer."""
        state_dict = getattr(self.module, "state_dict")  # noqa: B009
        return {
            "module": state_dict(),
            "optimizer": self.optimizer.state_dict(),
            "normalizer": self.normalizer.state_dict(),
            "config": config_to_dict(self.config),
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Restore :meth:`state_dict`."""
        self.module.load_state_dict(state["module"])
        self.optimizer.load_state_dict(state["optimizer"])
        self.normalizer.load_state_dict(state["normalizer"])


def make_curiosity(
    name: str,
    intrinsic_coef: float,
    settings: dict[str, Any],
    observation_space: gym.Space[Any],
    action_space: gym.Space[Any],
    n_steps: int,
    n_envs: int,
    *,
    seed: int,
    device: torch.device,
) -> IntrinsicMotivation | None:
    """Build the curiosity an agent config asks for; None for ``"none"``.

    Args:
        name: ``none``, ``rnd`` or ``icm``.
        intrinsic_coef: Weight of the intrinsic reward.
        settings: Fields of :class:`CuriosityConfig`.
        observation_space: Single observation space (Box).
        action_space: Single action space (Discrete or Box).
        n_steps: Rows per rollout.
        n_envs: Sub-environments.
        seed: Seeds the networks' initial weights (the agent's seed).
        device: Where the networks live.

    Raises:
        ConfigError: Bad curiosity fields.
        SpaceMismatchError: Observations that are not a Box.
    """
    config = check_curiosity(name, intrinsic_coef, settings)
    if name == "none":
        return None
    if not isinstance(observation_space, gym.spaces.Box):
        raise SpaceMismatchError(f"curiosity reads Box observations, got {observation_space}")
    obs_dim = flat_size(observation_space.shape)
    # A seed apart from the agent's networks', so that adding curiosity leaves their weights as
    # they were.
    with seeded(int(np.random.SeedSequence([seed, 7919]).generate_state(1)[0])):
        module: Curiosity = (
            RND(obs_dim, config) if name == "rnd" else ICM(obs_dim, action_space, config)
        )
    module_any: Any = module
    module_any.to(device)
    action_shape = tuple(action_space.shape or ())
    action_dtype = np.int64 if isinstance(action_space, gym.spaces.Discrete) else np.float32
    recorder = RolloutRecorder(
        n_steps, n_envs, tuple(observation_space.shape), action_shape, action_dtype
    )
    return IntrinsicMotivation(module, config, recorder, intrinsic_coef, device)
