"""Deep Q-learning: the DQN agent, its config and its pure losses (variants are config fields)."""

from __future__ import annotations

from rlworks.agents.dqn.agent import DQN
from rlworks.agents.dqn.config import DQNConfig
from rlworks.agents.dqn.losses import (
    categorical_loss,
    categorical_projection,
    q_targets,
    td_loss,
)

__all__ = [
    "DQN",
    "DQNConfig",
    "categorical_loss",
    "categorical_projection",
    "q_targets",
    "td_loss",
]
