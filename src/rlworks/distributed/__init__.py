"""Distributed training building blocks: asynchronous gradient workers and their servers.

:mod:`~rlworks.distributed.protocol` defines the worker/master boundary (a worker computes
gradients with the master's weights; a server collects them and hands weights back),
:mod:`~rlworks.distributed.process` implements it with local processes and shared memory, and
:mod:`~rlworks.distributed.steps` lets the master count the workers' environment steps in its
own metrics. Algorithms (A3C) plug in through these; nothing here imports an algorithm.
"""

from rlworks.distributed.process import START_METHODS, ProcessGradientServer, resolve_start_method
from rlworks.distributed.protocol import (
    GradientMessage,
    GradientServer,
    GradientWorker,
    WorkerError,
    WorkerFactory,
)
from rlworks.distributed.steps import StepRecord, replay_steps

__all__ = [
    "START_METHODS",
    "GradientMessage",
    "GradientServer",
    "GradientWorker",
    "ProcessGradientServer",
    "StepRecord",
    "WorkerError",
    "WorkerFactory",
    "replay_steps",
    "resolve_start_method",
]
