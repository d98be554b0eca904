"""Collection in a background thread, overlapped with learning in the caller's thread.

The chapter's training architecture has two parts that need not wait for each other: a driver
that plays the collect policy and writes transitions to the replay buffer, and a learner that
samples the buffer and takes gradient steps. On a small CPU machine the learner's step (tens of
milliseconds for an Atari CNN) dominates, and a serial loop leaves the environment and the acting
network idle while it runs. :func:`collect_in_background` runs one ``Driver.run`` call in a
thread while the caller learns: the environment step (ale-py's C++ vector env) and torch's
kernels release the GIL, so the two threads use two cores.

What this module owns is the thread and its hand-over, not the algorithm: the observers that
the learner also reads (a replay buffer) are called under a lock the learner takes while it
samples; the other observers (metrics) are only read once the collection has been joined. An
exception in the collector thread (an environment error, a NaN) is re-raised in the caller with
its own traceback and a note saying where it happened; an exception in the caller stops the
collector at its next transition and joins it, so no thread outlives the call.
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Iterator, Sequence
from typing import Any

import torch

from rlworks.training.driver import Driver, DriverResult, Observer
from rlworks.types import Transition

__all__ = ["BackgroundCollection", "LockedObserver", "collect_in_background"]

COLLECTOR_THREAD_NAME = "rlworks-collector"


class _Stopped(Exception):
    """Raised inside the collector thread to end a collection the caller gave up on."""


class LockedObserver:
    """Calls ``observer`` with ``lock`` held, and ends the collection once ``stop`` is set."""

    def __init__(self, observer: Observer, lock: threading.Lock, stop: threading.Event) -> None:
        """Wrap ``observer``; ``on_reset`` is forwarded under the lock too."""
        self.observer = observer
        self.lock = lock
        self.stop = stop

    def __call__(self, transition: Transition, /) -> None:
        """Record ``transition`` under the lock (the learner samples between two calls)."""
        if self.stop.is_set():
            raise _Stopped
        with self.lock:
            self.observer(transition)

    def on_reset(self) -> None:
        """Forward the driver's reset notice, under the lock."""
        on_reset = getattr(self.observer, "on_reset", None)
        if callable(on_reset):
            with self.lock:
                on_reset()


class BackgroundCollection:
    """One ``driver.run(**run_kwargs)`` in a background thread (see :func:`collect_in_background`).

    Attributes:
        result: What the run collected, once joined without error.
        error: The exception the collector raised, if any.
    """

    def __init__(
        self,
        driver: Driver,
        lock: threading.Lock,
        guarded: Sequence[Observer],
        run_kwargs: dict[str, Any],
    ) -> None:
        """Prepare the thread; nothing runs before :meth:`start`."""
        self.driver = driver
        self.lock = lock
        self.guarded = list(guarded)
        self.run_kwargs = run_kwargs
        self.stop_event = threading.Event()
        self.result: DriverResult | None = None
        self.error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, name=COLLECTOR_THREAD_NAME, daemon=True)
        self._finished = threading.Event()  # set as the run's last act
        self._saved: list[Observer] | None = None
        self._torch_threads = torch.get_num_threads()

    def start(self) -> None:
        """Put the guarded observers behind the lock and start collecting."""
        self._saved = self.driver.observers
        self.driver.observers = [
            LockedObserver(obs, self.lock, self.stop_event)
            if any(obs is g for g in self.guarded)
            else obs
            for obs in self._saved
        ]
        self._thread.start()

    def _run(self) -> None:
        # OpenMP keeps its thread count per OS thread: give the collector the caller's setting
        # (one each, so that the two sides keep to one core each).
        torch.set_num_threads(self._torch_threads)
        try:
            self.result = self.driver.run(**self.run_kwargs)
        except _Stopped:
            pass
        except BaseException as exc:  # handed to the caller's thread by join()
            self.error = exc
        finally:
            self._finished.set()

    def join(self, *, stop: bool = False) -> None:
        """Wait for the collector (asking it to stop at its next transition with ``stop``) and
        give the driver its own observers back."""
        if stop:
            self.stop_event.set()
        if self._thread.ident is not None:
            # The run's own end first: a Thread.join interrupted by Ctrl-C marks the thread
            # stopped while it still runs, and later joins then return at once.
            self._finished.wait()
            self._thread.join()
            deadline = time.monotonic() + 1.0
            while self._thread in threading.enumerate() and time.monotonic() < deadline:
                time.sleep(0.001)  # only after such an interrupt: the thread is exiting
        if self._saved is not None:
            self.driver.observers = self._saved
            self._saved = None


@contextlib.contextmanager
def collect_in_background(
    driver: Driver,
    lock: threading.Lock,
    guarded: Sequence[Observer] = (),
    **run_kwargs: Any,
) -> Iterator[BackgroundCollection]:
    """Run ``driver.run(**run_kwargs)`` in a background thread for the body of a ``with``.

    The body runs in the caller's thread (the learner); on leaving it the collector is joined.
    While it runs, ``driver.observers`` that are in ``guarded`` are called with ``lock`` held:
    take the same lock whenever the caller reads them (sampling the replay buffer), and keep
    that short (gather the batch under the lock, compute outside it).

    Example:
        >>> with collect_in_background(driver, lock, [buffer], num_steps=4):
        ...     with lock:
        ...         batch = buffer.gather(slots)
        ...     learn(batch)  # while the driver steps the env in the other thread

    Args:
        driver: The driver to run; its policy is called in the collector thread.
        lock: Held while a guarded observer records a transition.
        guarded: Observers the caller also reads while the collector runs.
        **run_kwargs: For :meth:`Driver.run` (``num_steps`` or ``num_episodes``).

    Raises:
        BaseException: Whatever the collector raised, with its traceback and a note naming the
            collector thread. An exception of the body stops the collector at its next
            transition and propagates once the thread has ended.
    """
    collection = BackgroundCollection(driver, lock, guarded, run_kwargs)
    try:
        collection.start()
        yield collection
    except BaseException as exc:
        collection.join(stop=True)
        if collection.error is not None and collection.error is not exc:
            exc.add_note(f"(the background collector also raised: {collection.error!r})")
        raise
    try:
        collection.join()
    except BaseException:  # interrupted while waiting (Ctrl-C): stop the collector too
        collection.join(stop=True)
        raise
    error = collection.error
    if error is not None:
        error.add_note(
            f"(raised in the background collector thread {COLLECTOR_THREAD_NAME!r}, at env step "
            f"{driver.total_steps} of the driver)"
        )
        raise error
