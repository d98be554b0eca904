"""Tabular reinforcement learning: TD(0) prediction, Q-learning, SARSA and expected SARSA, with the
chapter's exploration policies and learning-rate schedules.

The pure pieces (TD targets, exploration policies) live in :mod:`rlworks.tabular.updates` and
:mod:`rlworks.tabular.exploration`; the agents in :mod:`rlworks.tabular.agents` run them through
the trainer like every other algorithm.
"""

# rlworks.agents imports the tabular agents, whose module imports rlworks.agents.base: import the
# agents package first so that ``import rlworks.tabular`` on its own is not a circular import.
import rlworks.agents  # noqa: F401
from rlworks.tabular.agents import (
    SARSA,
    TD0,
    ExpectedSARSA,
    QLearning,
    TabularAgent,
    TabularConfig,
)

__all__ = ["SARSA", "TD0", "ExpectedSARSA", "QLearning", "TabularAgent", "TabularConfig"]
