"""Random network distillation (RND): novelty as the error of predicting a random network.

A fixed, randomly initialized *target* network embeds each observation; a *predictor* network is
trained to reproduce that embedding on the observations the agent visits. Where the agent has
often been, the predictor is accurate; on a novel observation it errs, and that squared error
is the intrinsic reward of the transition that reached it. Both networks read observations
whitened by running statistics (and clipped), so that the random features do not collapse onto
the largest input; the rewards are normalized by :class:`~rlworks.curiosity.RewardNormalizer`.

Reference: Burda et al., "Exploration by Random Network Distillation", 2018
(https://arxiv.org/abs/1810.12894).
"""

from __future__ import annotations

import torch
from torch import nn

from rlworks.curiosity.base import CuriosityBatch, CuriosityConfig, ObservationWhitener
from rlworks.nets.mlp import mlp

__all__ = ["RND"]


class RND(nn.Module):
    """Random network distillation on flat observations.

    Example:
        >>> rnd = RND(obs_dim=2, config=CuriosityConfig())
        >>> batch = CuriosityBatch(obs, next_obs, actions)   # [M, 2], [M, 2], [M]
        >>> rewards = rnd.intrinsic_reward(batch)            # [M], updates the obs statistics
        >>> loss, info = rnd.loss(batch)                     # predictor's MSE
    """

    def __init__(self, obs_dim: int, config: CuriosityConfig) -> None:
        """Build the target (frozen) and the predictor (one hidden layer deeper).

        Args:
            obs_dim: Width of a flattened observation.
            config: Network sizes and normalization settings.
        """
        super().__init__()
        self.config = config
        sizes, k, act = config.hidden_sizes, config.feature_size, config.activation
        self.target = mlp(obs_dim, sizes, k, activation=act, init="orthogonal")
        self.predictor = mlp(
            obs_dim, [*sizes, sizes[-1]] if sizes else [k], k, activation=act, init="orthogonal"
        )
        for p in self.target.parameters():
            p.requires_grad_(False)
        self.whiten = ObservationWhitener(obs_dim, config.obs_clip, config.normalize_obs)

    def prediction_error(self, next_obs: torch.Tensor) -> torch.Tensor:
        """``mean_k (predictor(x) − target(x))²`` per row, ``[B]``, with gradient."""
        x = self.whiten(next_obs)  # [B, D]
        with torch.no_grad():
            target: torch.Tensor = self.target(x)  # [B, K]
        predicted: torch.Tensor = self.predictor(x)  # [B, K]
        return (predicted - target).square().mean(dim=1)  # [B]

    def intrinsic_reward(self, batch: CuriosityBatch) -> torch.Tensor:
        """Update the observation statistics with the rollout's next observations, then the
        prediction error of each, ``[M]``."""
        self.whiten.update(batch.next_obs)
        with torch.no_grad():
            return self.prediction_error(batch.next_obs)

    def loss(self, batch: CuriosityBatch) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        """The predictor's mean squared error on a minibatch."""
        loss = self.prediction_error(batch.next_obs).mean()
        return loss, {"rnd_loss": loss.detach()}
