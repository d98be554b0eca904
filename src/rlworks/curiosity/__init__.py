"""Curiosity: intrinsic rewards for exploration (RND, ICM) behind one small interface.

A :class:`Curiosity` module gives each transition of a rollout an intrinsic reward and has a loss
of its own; :func:`make_curiosity` wraps one, for an on-policy agent, into an
:class:`IntrinsicMotivation` (recorder observer, optimizer, reward normalization, checkpoint
state). Shared code: nothing here imports an algorithm.
"""

from __future__ import annotations

from rlworks.curiosity.base import (
    Curiosity,
    CuriosityBatch,
    CuriosityConfig,
    ObservationWhitener,
    RewardNormalizer,
    RolloutRecorder,
    RunningMeanStd,
)
from rlworks.curiosity.icm import ICM
from rlworks.curiosity.motivation import (
    CURIOSITY,
    IntrinsicMotivation,
    check_curiosity,
    make_curiosity,
)
from rlworks.curiosity.rnd import RND

__all__ = [
    "CURIOSITY",
    "ICM",
    "RND",
    "Curiosity",
    "CuriosityBatch",
    "CuriosityConfig",
    "IntrinsicMotivation",
    "ObservationWhitener",
    "RewardNormalizer",
    "RolloutRecorder",
    "RunningMeanStd",
    "check_curiosity",
    "make_curiosity",
]
