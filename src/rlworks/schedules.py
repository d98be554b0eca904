"""Schedules: a value (learning rate, exploration rate) as a function of a step or episode count.

A schedule is a plain callable ``t -> value`` for ``t = 0, 1, 2, ...``. The chapter uses three of
them: the *power* schedule of its Q-learning code, ``alpha0 / (1 + t * decay)``; TF-Agents'
``PolynomialDecay`` for the DQN's epsilon (linear when ``power=1``); and the logarithmic
``max(minimum, min(1, 1 - log10((t + 1) / 25)))`` of its discretized-CartPole material.

Example:
    >>> alpha = power(0.05, 0.005)
    >>> alpha(0), alpha(200)
    (0.05, 0.025)
"""

from __future__ import annotations

import math
from collections.abc import Callable

from rlworks.errors import ConfigError

__all__ = [
    "Schedule",
    "constant",
    "exponential",
    "linear",
    "logarithmic",
    "polynomial",
    "power",
]

Schedule = Callable[[int], float]
"""Maps a count ``t >= 0`` (steps or episodes) to a value."""


def _require(ok: bool, message: str) -> None:
    if not ok:
        raise ConfigError(message)


def constant(value: float) -> Schedule:
    """Always ``value``."""
    return lambda t: value


def power(initial: float, decay: float) -> Schedule:
    """``initial / (1 + t * decay)``: the chapter's learning-rate decay (power scheduling).

    Args:
        initial: Value at ``t = 0`` (the chapter's ``alpha0``).
        decay: How fast it falls; the value halves at ``t = 1 / decay``. 0 keeps it constant.
    """
    _require(decay >= 0, f"power schedule decay must be >= 0, got {decay}")
    return lambda t: initial / (1.0 + t * decay)


def polynomial(start: float, end: float, duration: int, exponent: float = 1.0) -> Schedule:
    """TF's ``PolynomialDecay``: from ``start`` to ``end`` over ``duration`` counts, then ``end``.

    ``value = (start - end) * (1 - min(t, duration) / duration) ** exponent + end``.
    """
    _require(duration >= 1, f"schedule duration must be >= 1, got {duration}")
    _require(exponent > 0, f"polynomial schedule exponent must be > 0, got {exponent}")

    def value(t: int) -> float:
        remaining = 1.0 - min(t, duration) / duration
        return float((start - end) * remaining**exponent + end)

    return value


def linear(start: float, end: float, duration: int) -> Schedule:
    """From ``start`` to ``end`` in a straight line over ``duration`` counts, then ``end``."""
    return polynomial(start, end, duration, exponent=1.0)


def exponential(start: float, end: float, rate: float) -> Schedule:
    """``max(end, start * rate ** t)``, decaying from ``start`` to ``end <= start``.

    ``rate`` is in ``(0, 1]``.
    """
    _require(0 < rate <= 1, f"exponential schedule rate must be in (0, 1], got {rate}")
    _require(end <= start, f"exponential schedule decays: end {end} must be <= start {start}")
    return lambda t: max(end, start * rate**t)


def logarithmic(minimum: float, scale: float = 25.0) -> Schedule:
    """``max(minimum, min(1, 1 - log10((t + 1) / scale)))``, the chapter's CartPole schedule.

    It stays at 1 for the first ``scale`` counts, then falls by 0.1 each time ``t + 1`` grows by
    a factor of 10^0.1 (about 26%), down to ``minimum``.
    """
    _require(scale > 0, f"logarithmic schedule scale must be > 0, got {scale}")
    return lambda t: max(minimum, min(1.0, 1.0 - math.log10((t + 1) / scale)))
