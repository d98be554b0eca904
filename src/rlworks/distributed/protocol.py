"""The worker/master boundary of asynchronous gradient training (A3C-style).

A *gradient worker* owns its environments and a local copy of the network: given the master's
weights it plays a rollout and returns the gradient of its loss (and a small report: steps
played, episode ends, loss diagnostics). A *gradient server* runs a pool of such workers and
hands their gradients to the master one at a time; the master applies each one with its
optimizer and sends that worker the updated weights, which it pulls before its next rollout.

The algorithm supplies the worker (through a picklable :data:`WorkerFactory`) and the optimizer
step; the server supplies processes, transport, failure detection and clean-up. Two backends
fit the protocol: :class:`~rlworks.distributed.process.ProcessGradientServer` (local processes,
shared-memory gradient and weight slots) and, later, a Ray one (actors and object refs).
Nothing here imports algorithm code.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, NamedTuple, Protocol

import torch

from rlworks.errors import RLWorksError

__all__ = ["GradientMessage", "GradientServer", "GradientWorker", "WorkerError", "WorkerFactory"]


class WorkerError(RLWorksError):
    """A worker process died, failed or stopped answering; the message names the worker (index
    and pid) and its exit code or error."""

    exit_code = 1


class GradientWorker(Protocol):
    """What runs inside each worker: its own envs and local network."""

    def set_weights(self, weights: torch.Tensor, /) -> None:
        """Copy the master's flat parameters ``[P]`` into the local network."""

    def compute_gradients(self) -> tuple[torch.Tensor, Any]:
        """Play one rollout and return the flat gradient ``[P]`` of its loss with a picklable
        report for the master (steps, episode ends, diagnostics)."""

    def close(self) -> None:
        """Release the environments."""


WorkerFactory = Callable[[int], GradientWorker]
"""Builds worker ``index``'s :class:`GradientWorker` inside the worker process. It is pickled to
reach the worker, so it must be a module-level callable or an instance of a module-level class."""


class GradientMessage(NamedTuple):
    """One worker's gradient, as the master receives it.

    Attributes:
        worker: Index of the worker that sent it.
        grads: The flat gradient ``[P]``; valid until the master answers with
            :meth:`GradientServer.send_weights` for this worker.
        report: The worker's report (see :meth:`GradientWorker.compute_gradients`).
    """

    worker: int
    grads: torch.Tensor
    report: Any


class GradientServer(Protocol):
    """The master's view of a pool of gradient workers.

    The cycle, per worker: the master sends weights, the worker computes a gradient with them,
    the master receives it (:meth:`next_gradient`, in arrival order over all workers), applies
    it and sends that worker the new weights (:meth:`send_weights`).
    """

    n_workers: int
    """Number of workers in the pool."""

    @property
    def running(self) -> bool:
        """Whether the workers are started and not yet closed."""

    def start(self, weights: torch.Tensor, /) -> None:
        """Start the workers and send each the initial weights ``[P]``.

        Raises:
            WorkerError: A worker could not be started.
        """

    def next_gradient(self) -> GradientMessage:
        """The next gradient from any worker.

        Raises:
            WorkerError: A worker died or failed, or none answered in time; the pool is closed
                (every worker stopped and joined) before the error is raised. A worker's own
                :class:`~rlworks.errors.RLWorksError` (a NaN reward, a bad environment) is raised
                as its class, naming the worker.
        """

    def send_weights(self, worker: int, weights: torch.Tensor, /) -> None:
        """Hand worker ``worker`` the master's weights ``[P]`` after applying its gradient."""

    def close(self) -> None:
        """Stop and join every worker (idempotent)."""
