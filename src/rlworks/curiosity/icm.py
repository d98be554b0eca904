"""Intrinsic curiosity module (ICM): surprise as the error of a forward model in a learned
feature space.

An encoder ``φ`` maps observations to features. An *inverse model* predicts the action taken
from ``(φ(s), φ(s'))``; training the encoder through it alone makes the features keep what the
agent can influence and drop what it cannot (the "noisy TV"). A *forward model* predicts
``φ(s')`` from ``(φ(s), a)``; its squared error is the intrinsic reward. The forward loss does
not move the target features ``φ(s')`` (they are detached), so it cannot shrink the features to
make prediction trivial. The module's loss is ``β · forward + (1 − β) · inverse``.

Reference: Pathak et al., "Curiosity-driven Exploration by Self-supervised Prediction", 2017
(https://arxiv.org/abs/1705.05363).
"""

from __future__ import annotations

from typing import Any

import gymnasium as gym
import torch
import torch.nn.functional as F
from torch import nn

from rlworks.curiosity.base import CuriosityBatch, CuriosityConfig, ObservationWhitener
from rlworks.errors import SpaceMismatchError
from rlworks.nets.mlp import flat_size, mlp

__all__ = ["ICM"]


class ICM(nn.Module):
    """Intrinsic curiosity module for Discrete or Box actions on flat observations.

    Example:
        >>> icm = ICM(obs_dim=2, action_space=gym.spaces.Discrete(3), config=CuriosityConfig())
        >>> rewards = icm.intrinsic_reward(batch)   # [M]: forward-model errors
        >>> loss, info = icm.loss(batch)            # info: forward_loss, inverse_loss
    """

    def __init__(self, obs_dim: int, action_space: gym.Space[Any], config: CuriosityConfig) -> None:
        """Build the encoder, the inverse model and the forward model.

        Args:
            obs_dim: Width of a flattened observation.
            action_space: Discrete (inverse model: cross-entropy over the actions) or Box
                (inverse model: mean squared error).
            config: Network sizes, β and normalization settings.

        Raises:
            SpaceMismatchError: Another kind of action space.
        """
        super().__init__()
        self.config = config
        if isinstance(action_space, gym.spaces.Discrete):
            self.discrete = True
            self.action_start = int(action_space.start)
            self.action_dim = int(action_space.n)
        elif isinstance(action_space, gym.spaces.Box):
            self.discrete = False
            self.action_start = 0
            self.action_dim = flat_size(action_space.shape)
        else:
            raise SpaceMismatchError(f"ICM needs Discrete or Box actions, got {action_space}")
        sizes, k, act = config.hidden_sizes, config.feature_size, config.activation
        self.encoder = mlp(obs_dim, sizes, k, activation=act, init="orthogonal")
        self.inverse_model = mlp(2 * k, sizes, self.action_dim, activation=act, init="orthogonal")
        self.forward_model = mlp(k + self.action_dim, sizes, k, activation=act, init="orthogonal")
        self.whiten = ObservationWhitener(obs_dim, config.obs_clip, config.normalize_obs)

    def _action_input(self, actions: torch.Tensor) -> torch.Tensor:
        """One-hot (Discrete) or flat float (Box) actions, ``[B, A]``."""
        if self.discrete:
            index = actions.reshape(-1).long() - self.action_start  # [B]
            return F.one_hot(index, self.action_dim).float()
        return actions.reshape(actions.shape[0], -1).float()

    def losses(self, batch: CuriosityBatch) -> tuple[torch.Tensor, torch.Tensor]:
        """Per-row forward errors ``½‖f(φ(s), a) − φ(s')‖²`` ``[B]`` and the mean inverse loss
        (cross-entropy or MSE), both with gradient."""
        phi = self.encoder(self.whiten(batch.obs))  # [B, K]
        phi_next = self.encoder(self.whiten(batch.next_obs))  # [B, K]
        a = self._action_input(batch.actions)  # [B, A]
        predicted_next = self.forward_model(torch.cat([phi, a], dim=1))  # [B, K]
        forward = 0.5 * (predicted_next - phi_next.detach()).square().sum(dim=1)  # [B]
        inverse_out = self.inverse_model(torch.cat([phi, phi_next], dim=1))  # [B, A]
        if self.discrete:
            target = batch.actions.reshape(-1).long() - self.action_start  # [B]
            inverse = F.cross_entropy(inverse_out, target)
        else:
            inverse = (inverse_out - a).square().mean()
        return forward, inverse

    def intrinsic_reward(self, batch: CuriosityBatch) -> torch.Tensor:
        """Update the observation statistics, then each transition's forward error, ``[M]``."""
        self.whiten.update(torch.cat([batch.obs, batch.next_obs]))
        with torch.no_grad():
            forward, _ = self.losses(batch)
        return forward

    def loss(self, batch: CuriosityBatch) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        """``β · mean forward error + (1 − β) · inverse loss`` on a minibatch."""
        forward, inverse = self.losses(batch)
        forward_mean = forward.mean()
        beta = self.config.forward_weight
        loss = beta * forward_mean + (1.0 - beta) * inverse
        return loss, {
            "icm_loss": loss.detach(),
            "forward_loss": forward_mean.detach(),
            "inverse_loss": inverse.detach(),
        }
