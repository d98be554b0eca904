"""Curiosity: intrinsic rewards for exploration (RND, ICM) behind one small interface.

A :class:`Curiosity` module gives each transition of a rollout an intrinsic reward and has a loss
of its own; :func:`make_curiosity` wraps one, for an on-policy agent, into an
:class:`IntrinsicMotivation` (recorder observer, optimizer, reward normalization, checkpoint
state). Shared code: nothing here imports an algorithm. Names load on first use
(:mod:`rlworks._lazy`): the settings in :mod:`~rlworks.curiosity.settings` need no torch.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from rlworks._lazy import lazy_exports

if TYPE_CHECKING:
    from rlworks.curiosity.base import (
        Curiosity,
        CuriosityBatch,
        ObservationWhitener,
        RewardNormalizer,
        RolloutRecorder,
        RunningMeanStd,
    )
    from rlworks.curiosity.icm import ICM
    from rlworks.curiosity.motivation import IntrinsicMotivation, make_curiosity
    from rlworks.curiosity.rnd import RND
    from rlworks.curiosity.settings import CURIOSITY, CuriosityConfig, check_curiosity

_EXPORTS = {
    **dict.fromkeys(
        (
            "Curiosity",
            "CuriosityBatch",
            "ObservationWhitener",
            "RewardNormalizer",
            "RolloutRecorder",
            "RunningMeanStd",
        ),
        "rlworks.curiosity.base",
    ),
    "ICM": "rlworks.curiosity.icm",
    "RND": "rlworks.curiosity.rnd",
    **dict.fromkeys(("IntrinsicMotivation", "make_curiosity"), "rlworks.curiosity.motivation"),
    **dict.fromkeys(
        ("CURIOSITY", "CuriosityConfig", "check_curiosity"), "rlworks.curiosity.settings"
    ),
}
__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS, globals())

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
