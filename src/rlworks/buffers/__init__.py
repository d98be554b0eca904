"""Replay buffers: uniform ring-buffer replay with n-step returns, and prioritized replay.

Shared building blocks: nothing here imports an algorithm. A buffer is a driver observer
(``buffer(transition)``) and hands agents :class:`ReplayBatch` samples.
"""

from __future__ import annotations

from rlworks.buffers.prioritized import MinTree, PrioritizedReplayBuffer, SumTree
from rlworks.buffers.replay import (
    ReplayBatch,
    ReplayBuffer,
    available_memory_bytes,
    smallest_int_dtype,
)

__all__ = [
    "MinTree",
    "PrioritizedReplayBuffer",
    "ReplayBatch",
    "ReplayBuffer",
    "SumTree",
    "available_memory_bytes",
    "smallest_int_dtype",
]
