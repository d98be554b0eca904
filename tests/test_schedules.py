"""Exact values of the learning-rate and exploration schedules, with the arithmetic written out."""

from __future__ import annotations

import math

import pytest

from rlworks import schedules
from rlworks.errors import ConfigError


def test_constant_never_changes() -> None:
    schedule = schedules.constant(0.3)
    assert [schedule(t) for t in (0, 1, 10**6)] == [0.3, 0.3, 0.3]


def test_power_schedule_is_the_chapters_learning_rate() -> None:
    # The chapter's Q-learning: alpha0 = 0.05, decay = 0.005, alpha = alpha0 / (1 + t * decay).
    alpha = schedules.power(0.05, 0.005)
    # t = 0: 0.05 / (1 + 0) = 0.05
    assert alpha(0) == pytest.approx(0.05)
    # t = 200: 0.05 / (1 + 200 * 0.005) = 0.05 / 2 = 0.025 (halves after 1 / decay = 200 steps)
    assert alpha(200) == pytest.approx(0.025)
    # t = 600: 0.05 / (1 + 3) = 0.0125
    assert alpha(600) == pytest.approx(0.0125)
    # t = 10_000: 0.05 / (1 + 50) = 0.05 / 51 ≈ 0.000980
    assert alpha(10_000) == pytest.approx(0.05 / 51)


def test_power_schedule_without_decay_is_constant() -> None:
    alpha = schedules.power(0.1, 0.0)
    assert alpha(0) == alpha(10**6) == 0.1


def test_power_schedule_rejects_negative_decay() -> None:
    with pytest.raises(ConfigError, match="decay"):
        schedules.power(0.1, -0.5)


def test_polynomial_schedule() -> None:
    # value = (start - end) * (1 - min(t, duration) / duration) ** exponent + end
    schedule = schedules.polynomial(1.0, 0.1, 100, exponent=2.0)
    # t = 0: 0.9 * 1 ** 2 + 0.1 = 1.0
    assert schedule(0) == pytest.approx(1.0)
    # t = 50: 0.9 * 0.5 ** 2 + 0.1 = 0.225 + 0.1 = 0.325
    assert schedule(50) == pytest.approx(0.325)
    # t = 90: 0.9 * 0.1 ** 2 + 0.1 = 0.009 + 0.1 = 0.109
    assert schedule(90) == pytest.approx(0.109)
    # t >= duration: end
    assert schedule(100) == pytest.approx(0.1)
    assert schedule(1_000) == pytest.approx(0.1)


def test_linear_schedule() -> None:
    # The DQN's epsilon: 1 → 0.05 over 10_000 steps.
    schedule = schedules.linear(1.0, 0.05, 10_000)
    assert schedule(0) == pytest.approx(1.0)
    # t = 5_000: 0.95 * (1 - 0.5) + 0.05 = 0.475 + 0.05 = 0.525
    assert schedule(5_000) == pytest.approx(0.525)
    # t = 2_500: 0.95 * 0.75 + 0.05 = 0.7125 + 0.05 = 0.7625
    assert schedule(2_500) == pytest.approx(0.7625)
    assert schedule(10_000) == pytest.approx(0.05)
    assert schedule(50_000) == pytest.approx(0.05)


def test_linear_schedule_can_increase() -> None:
    # 0 → 1 over 10 counts: t = 3 gives (0 - 1) * (1 - 0.3) + 1 = -0.7 + 1 = 0.3
    schedule = schedules.linear(0.0, 1.0, 10)
    assert schedule(3) == pytest.approx(0.3)
    assert schedule(20) == pytest.approx(1.0)


def test_exponential_schedule() -> None:
    # max(end, start * rate ** t) with start = 1, end = 0.01, rate = 0.5
    schedule = schedules.exponential(1.0, 0.01, 0.5)
    assert schedule(0) == pytest.approx(1.0)
    # t = 1: 1 * 0.5 = 0.5; t = 3: 0.5 ** 3 = 0.125; t = 6: 0.5 ** 6 = 0.015625 (> 0.01)
    assert schedule(1) == pytest.approx(0.5)
    assert schedule(3) == pytest.approx(0.125)
    assert schedule(6) == pytest.approx(0.015625)
    # t = 7: 0.5 ** 7 = 0.0078125 < 0.01 → floored at end = 0.01
    assert schedule(7) == pytest.approx(0.01)
    assert schedule(1_000) == pytest.approx(0.01)


def test_logarithmic_schedule_is_the_chapters_cartpole_schedule() -> None:
    # max(0.1, min(1, 1 - log10((t + 1) / 25)))
    schedule = schedules.logarithmic(0.1)
    # t = 0 .. 24: (t + 1) / 25 <= 1, so log10 <= 0 and 1 - log10 >= 1 → min(1, ...) = 1
    assert [schedule(t) for t in range(25)] == [1.0] * 25
    # t = 49: 1 - log10(50 / 25) = 1 - log10(2) ≈ 1 - 0.30103 = 0.69897
    assert schedule(49) == pytest.approx(1 - math.log10(2))
    assert schedule(49) == pytest.approx(0.69897, abs=1e-5)
    # t = 124: 1 - log10(125 / 25) = 1 - log10(5) ≈ 1 - 0.69897 = 0.30103
    assert schedule(124) == pytest.approx(0.30103, abs=1e-5)
    # t = 224: 1 - log10(9) ≈ 1 - 0.95424 = 0.04576 < 0.1 → floored at 0.1
    assert schedule(224) == pytest.approx(0.1)
    # t = 249: 1 - log10(250 / 25) = 1 - log10(10) = 0 → floored at 0.1
    assert schedule(249) == pytest.approx(0.1)
    assert schedule(10**6) == pytest.approx(0.1)


def test_logarithmic_schedule_scale_and_zero_floor() -> None:
    # scale 10, floor 0: t = 9 → 1 - log10(1) = 1; t = 99 → 1 - log10(10) = 0;
    # t = 30: 1 - log10(31 / 10) ≈ 1 - 0.49136 = 0.50864
    schedule = schedules.logarithmic(0.0, scale=10.0)
    assert schedule(9) == pytest.approx(1.0)
    assert schedule(99) == pytest.approx(0.0)
    assert schedule(30) == pytest.approx(0.50864, abs=1e-5)
    # t = 999: 1 - log10(100) = -1 → floored at 0
    assert schedule(999) == 0.0


@pytest.mark.parametrize(
    ("make", "key"),
    [
        (lambda: schedules.polynomial(1.0, 0.0, 0), "duration"),
        (lambda: schedules.polynomial(1.0, 0.0, 10, exponent=0.0), "exponent"),
        (lambda: schedules.linear(1.0, 0.0, -5), "duration"),
        (lambda: schedules.exponential(1.0, 0.1, 0.0), "rate"),
        (lambda: schedules.exponential(1.0, 0.1, 1.5), "rate"),
        (lambda: schedules.logarithmic(0.1, scale=0.0), "scale"),
    ],
)
def test_bad_schedule_settings_name_the_setting(make: object, key: str) -> None:
    with pytest.raises(ConfigError, match=key):
        make()  # type: ignore[operator]
