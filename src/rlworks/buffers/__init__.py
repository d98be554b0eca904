"""Replay buffers (uniform ring-buffer replay with n-step returns, prioritized replay, both also
frame-deduplicating for stacked Atari frames) and on-policy rollout storage.

Shared building blocks: nothing here imports an algorithm. A buffer is a driver observer
(``buffer(transition)``) and hands agents :class:`ReplayBatch` samples.
"""

from __future__ import annotations

from rlworks.buffers.frames import FrameReplayBuffer, PrioritizedFrameReplayBuffer
from rlworks.buffers.prioritized import MinTree, PrioritizedReplayBuffer, SumTree
from rlworks.buffers.replay import (
    ReplayBatch,
    ReplayBuffer,
    available_memory_bytes,
    smallest_int_dtype,
)
from rlworks.buffers.rollout import RolloutBatch, RolloutBuffer

__all__ = [
    "FrameReplayBuffer",
    "MinTree",
    "PrioritizedFrameReplayBuffer",
    "PrioritizedReplayBuffer",
    "ReplayBatch",
    "ReplayBuffer",
    "RolloutBatch",
    "RolloutBuffer",
    "SumTree",
    "available_memory_bytes",
    "smallest_int_dtype",
]
