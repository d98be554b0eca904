"""Gradient workers as local processes (``torch.multiprocessing``) with shared-memory slots.

Each worker gets a duplex pipe and two shared-memory tensors of the flat parameter size: a
*gradient slot* it writes and a *weight slot* the master writes. The handshake makes them
race-free without locks: the master writes worker ``i``'s weight slot only while ``i`` waits for
it, and reads ``i``'s gradient slot only while ``i`` waits for its answer. Only small reports
travel through the pipes.

Failure handling: the master waits on the pipes *and* the processes' sentinels with
:func:`multiprocessing.connection.wait`, so a worker that dies (even by SIGKILL) is seen at once;
the pool is then closed (the others asked to stop, terminated if they do not, and joined) and a
:class:`~rlworks.distributed.protocol.WorkerError` names the worker, its pid and exit code.
Workers are daemon processes that ignore SIGINT (the master handles Ctrl-C) and exit on their own
when the master's end of the pipe closes, so a killed master leaves no orphans either.

Start method: ``forkserver`` where available (workers are forked from a clean server process
that has imported the algorithm once, so starting one takes milliseconds), else ``spawn``;
``fork`` is not offered, since forking a process whose torch, BLAS or logging threads are
running is unsafe.
"""

from __future__ import annotations

import contextlib
import multiprocessing as mp
import signal
import sys
import time
import traceback
from collections import deque
from collections.abc import Sequence
from multiprocessing.connection import Connection, wait
from typing import Any, Literal

import torch
import torch.multiprocessing as tmp
from threadpoolctl import threadpool_limits

from rlworks.distributed.protocol import GradientMessage, WorkerError, WorkerFactory
from rlworks.errors import ConfigError, RLWorksError

__all__ = ["START_METHODS", "ProcessGradientServer", "resolve_start_method"]

START_METHODS = ("auto", "forkserver", "spawn")
"""Accepted ``start_method`` values; ``auto`` is forkserver where available, else spawn."""

StartMethod = Literal["auto", "forkserver", "spawn"]

_WEIGHTS, _STOP = "weights", "stop"  # master → worker
_GRADS, _FAILED = "grads", "failed"  # worker → master


def resolve_start_method(method: str) -> str:
    """The multiprocessing start method to use for ``method`` (see :data:`START_METHODS`).

    Raises:
        ConfigError: Unknown or unavailable method.
    """
    available = mp.get_all_start_methods()
    if method == "auto":
        return "forkserver" if "forkserver" in available else "spawn"
    if method not in START_METHODS or method not in available:
        raise ConfigError(
            f"start_method must be one of {', '.join(m for m in START_METHODS if m == 'auto' or m in available)}, "  # noqa: E501
            f"got {method!r}"
        )
    return method


class ProcessGradientServer:
    """A :class:`~rlworks.distributed.protocol.GradientServer` of local worker processes.

    Example:
        >>> server = ProcessGradientServer(factory, n_workers=2)
        >>> server.start(flat_weights)  # [P]
        >>> msg = server.next_gradient()  # GradientMessage(worker, grads [P], report)
        >>> ...  # apply msg.grads to the master
        >>> server.send_weights(msg.worker, flat_weights)
        >>> server.close()
    """

    def __init__(
        self,
        factory: WorkerFactory,
        n_workers: int,
        *,
        name: str = "worker",
        start_method: StartMethod = "auto",
        timeout: float = 120.0,
        poll_interval: float = 0.5,
        preload: Sequence[str] = (),
    ) -> None:
        """Prepare a pool (nothing starts before :meth:`start`).

        Args:
            factory: Picklable; builds worker ``i``'s gradient worker in its process.
            n_workers: Number of worker processes (>= 1).
            name: What to call a worker in errors and process names (``"A3C worker"``).
            start_method: ``auto``, ``forkserver`` or ``spawn``.
            timeout: Seconds :meth:`next_gradient` waits for any worker before giving up.
            poll_interval: Upper bound on a single wait (liveness is re-checked after it).
            preload: Modules the forkserver imports once besides this one (the factory's
                module), so that each worker starts by forking instead of importing. The
                forkserver is started once per process: later pools reuse it, preloads and all.

        Raises:
            ConfigError: ``n_workers < 1``, a non-positive timeout or an unknown start method.
        """
        if n_workers < 1:
            raise ConfigError(f"n_workers must be >= 1, got {n_workers}")
        if not timeout > 0:
            raise ConfigError(f"worker timeout must be > 0 seconds, got {timeout}")
        self.factory = factory
        self.n_workers = n_workers
        self.name = name
        self.start_method = resolve_start_method(start_method)
        self.timeout = timeout
        self.poll_interval = poll_interval
        self.preload = [__name__, *preload]  # torch, gymnasium and rlworks, imported once
        self._procs: list[Any] = []
        self._conns: list[Connection] = []
        self._grad_slots: list[torch.Tensor] = []
        self._weight_slots: list[torch.Tensor] = []
        self._pending: deque[int] = deque()

    # ------------------------------------------------------------------ life cycle
    @property
    def running(self) -> bool:
        """Whether the workers are started and not yet closed."""
        return bool(self._procs)

    @property
    def pids(self) -> list[int]:
        """Process ids of the workers (empty when not running)."""
        return [int(p.pid) for p in self._procs]

    def start(self, weights: torch.Tensor) -> None:
        """Start the workers and send each the initial weights ``[P]``."""
        if self.running:
            raise RuntimeError("the worker pool is already running")
        ctx: Any = tmp.get_context(self.start_method)  # a SpawnContext or ForkServerContext
        if self.start_method == "forkserver":
            ctx.set_forkserver_preload(self.preload)
        size = weights.numel()
        try:
            for index in range(self.n_workers):
                grad_slot = torch.zeros(size, dtype=torch.float32).share_memory_()  # type: ignore[no-untyped-call]
                weight_slot = torch.zeros(size, dtype=torch.float32).share_memory_()  # type: ignore[no-untyped-call]
                parent, child = ctx.Pipe(duplex=True)
                proc = ctx.Process(
                    target=_worker_main,
                    args=(index, self.factory, child, grad_slot, weight_slot),
                    name=f"{self.name} {index}".replace(" ", "-"),
                    daemon=True,
                )
                proc.start()
                child.close()  # the worker holds its end; EOF here now means it is gone
                self._procs.append(proc)
                self._conns.append(parent)
                self._grad_slots.append(grad_slot)
                self._weight_slots.append(weight_slot)
            for index in range(self.n_workers):
                self.send_weights(index, weights)
        except BaseException:
            self.close()
            raise

    def close(self) -> None:
        """Ask every worker to stop, terminate those that do not within 2 s, join them all."""
        procs, conns = self._procs, self._conns
        self._procs, self._conns = [], []
        self._grad_slots, self._weight_slots = [], []
        self._pending.clear()
        for conn in conns:
            with contextlib.suppress(OSError):
                conn.send(_STOP)
        deadline = time.monotonic() + 2.0
        for proc in procs:
            proc.join(max(0.0, deadline - time.monotonic()))
        for proc in procs:
            if proc.is_alive():
                proc.terminate()
        for proc in procs:
            proc.join(2.0)
            if proc.is_alive():
                proc.kill()
                proc.join()
        for conn in conns:
            conn.close()

    # ------------------------------------------------------------------ the exchange
    def next_gradient(self) -> GradientMessage:
        """The next gradient from any worker, in arrival order (see the protocol)."""
        if not self.running:
            raise RuntimeError("the worker pool is not running; call start() first")
        deadline = time.monotonic() + self.timeout
        sentinels = {proc.sentinel: i for i, proc in enumerate(self._procs)}
        readers = {id(conn): i for i, conn in enumerate(self._conns)}
        while True:
            wait_s = 0.0 if self._pending else min(self.poll_interval, deadline - time.monotonic())
            ready = wait([*self._conns, *sentinels], timeout=max(0.0, wait_s))
            dead = sorted(sentinels[obj] for obj in ready if isinstance(obj, int))
            if dead:
                self._fail(self._death_error(dead[0]))
            for obj in ready:
                index = readers.get(id(obj))
                if index is not None and index not in self._pending:
                    self._pending.append(index)
            if self._pending:
                return self._receive(self._pending.popleft())
            if time.monotonic() >= deadline:
                self._fail(
                    WorkerError(
                        f"no gradient from any of the {self.n_workers} {self.name}s in "
                        f"{self.timeout:g} s (pids {self.pids}); they are stopped"
                    )
                )

    def send_weights(self, worker: int, weights: torch.Tensor) -> None:
        """Write ``weights`` ``[P]`` into the worker's slot and tell it to go on."""
        self._weight_slots[worker].copy_(weights.detach().reshape(-1))
        try:
            self._conns[worker].send(_WEIGHTS)
        except OSError:
            self._fail(self._death_error(worker))

    # ------------------------------------------------------------------ failures
    def _receive(self, index: int) -> GradientMessage:
        try:
            kind, payload = self._conns[index].recv()
        except (EOFError, OSError):
            self._fail(self._death_error(index))
        if kind == _FAILED:
            self._fail(self._failure_error(index, payload))
        return GradientMessage(index, self._grad_slots[index], payload)

    def _who(self, index: int) -> str:
        return f"{self.name} {index} (pid {self._procs[index].pid})"

    def _death_error(self, index: int) -> Exception:
        """The error for a worker found dead: its own failure report when it sent one."""
        conn, proc = self._conns[index], self._procs[index]
        with contextlib.suppress(EOFError, OSError, ValueError):
            if conn.poll():
                kind, payload = conn.recv()
                if kind == _FAILED:
                    return self._failure_error(index, payload)
        proc.join(1.0)
        code = proc.exitcode
        how = f"exit code {code}"
        if code is not None and code < 0:
            with contextlib.suppress(ValueError):
                how += f" (killed by {signal.Signals(-code).name})"
        elif code is None:
            how = "its pipe closed while it was still running"
        return WorkerError(f"{self._who(index)} died with {how}; the run is stopped")

    def _failure_error(self, index: int, payload: tuple[Any, str]) -> Exception:
        exc, trace = payload
        where = self._who(index)
        if isinstance(exc, RLWorksError):
            with contextlib.suppress(Exception):
                return type(exc)(f"{where}: {exc}")
        tail = trace.strip().splitlines()[-1] if trace.strip() else repr(exc)
        error = WorkerError(f"{where} failed: {tail}")
        error.__notes__ = [f"traceback in the worker:\n{trace}"]
        return error

    def _fail(self, error: Exception) -> Any:
        """Close the pool, then raise ``error`` (never returns)."""
        self.close()
        raise error


# ----------------------------------------------------------------------------- worker side
def _worker_main(
    index: int,
    factory: WorkerFactory,
    conn: Connection,
    grad_slot: torch.Tensor,
    weight_slot: torch.Tensor,
) -> None:
    """Worker process: wait for weights, compute a gradient, report; until stopped."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the master handles Ctrl-C and stops us
    torch.set_num_threads(1)
    # Subnormals flushed for the worker's life (rlworks.optim.flush_denormals), whatever the
    # trainer's flush_denormals: they only change values below 1.2e-38.
    torch.set_flush_denormal(True)
    code = 0
    try:
        with threadpool_limits(limits=1, user_api="blas"):
            worker = factory(index)
            try:
                while conn.recv() == _WEIGHTS:
                    worker.set_weights(weight_slot)
                    grads, report = worker.compute_gradients()
                    grad_slot.copy_(grads.detach().reshape(-1))
                    conn.send((_GRADS, report))
            finally:
                worker.close()
    except (EOFError, BrokenPipeError, ConnectionResetError):
        pass  # the master is gone: nothing to report to
    except BaseException as exc:  # reported to the master, which raises it
        code = 1
        trace = traceback.format_exc()
        try:
            conn.send((_FAILED, (exc, trace)))
        except Exception:
            with contextlib.suppress(OSError):
                conn.send((_FAILED, (None, trace)))
    finally:
        with contextlib.suppress(OSError):
            conn.close()
    sys.exit(code)
