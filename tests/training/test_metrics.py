"""Tests for rlworks.training.metrics: exact values on hand-built transition batches."""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import pytest

from rlworks.training.metrics import (
    AverageEpisodeLength,
    AverageReturn,
    EnvironmentSteps,
    Metric,
    NumberOfEpisodes,
    log_metrics,
)
from rlworks.types import Transition


def batch(
    env_ids: Sequence[int],
    reward: Sequence[float],
    terminated: Sequence[bool] | None = None,
    truncated: Sequence[bool] | None = None,
) -> Transition:
    """A transition batch with 1-d observations; only ids, rewards and episode ends matter."""
    n = len(env_ids)
    return Transition(
        obs=np.zeros((n, 1), np.float32),
        action=np.zeros(n, np.int64),
        reward=np.asarray(reward, dtype=np.float64),
        next_obs=np.zeros((n, 1), np.float32),
        terminated=np.asarray(terminated if terminated is not None else [False] * n, bool),
        truncated=np.asarray(truncated if truncated is not None else [False] * n, bool),
        env_ids=np.asarray(env_ids, dtype=np.int64),
    )


# Three sub-environments, four vector steps; sub-environment 1's row is missing on step 3 (it
# was only being reset, as with next-step autoreset).
#
#   step  env 0            env 1                env 2
#   1     r=1              r=10                 r=100
#   2     r=2 terminated   r=20 truncated       r=200
#   3     r=3              -                    r=300 terminated and truncated
#   4     r=4 terminated   r=40                 r=400
BATCHES = [
    batch([0, 1, 2], [1, 10, 100]),
    batch([0, 1, 2], [2, 20, 200], terminated=[True, False, False], truncated=[False, True, False]),
    batch([0, 2], [3, 300], terminated=[False, True], truncated=[False, True]),
    batch([0, 1, 2], [4, 40, 400], terminated=[True, False, False]),
]


def feed(metric: Metric, batches: Sequence[Transition] = BATCHES) -> Metric:
    for b in batches:
        metric(b)
    return metric


def test_environment_steps_counts_rows() -> None:
    # 3 + 3 + 2 + 3 = 11 rows.
    assert feed(EnvironmentSteps()).result() == 11.0


def test_number_of_episodes_counts_ended_rows_once() -> None:
    # Step 2: env 0 terminated, env 1 truncated (2); step 3: env 2 terminated and truncated,
    # one episode (1); step 4: env 0 terminated (1). Total 4.
    assert feed(NumberOfEpisodes()).result() == 4.0


def test_average_return_and_length_of_ended_episodes() -> None:
    returns = feed(AverageReturn())
    lengths = feed(AverageEpisodeLength())
    # Episodes in the order they ended:
    #   step 2: env 0: 1 + 2 = 3 (2 steps); env 1: 10 + 20 = 30 (2 steps)
    #   step 3: env 2: 100 + 200 + 300 = 600 (3 steps)
    #   step 4: env 0: 3 + 4 = 7 (2 steps)
    # env 1's 40 belongs to an episode still in progress.
    assert list(returns.returns) == [3.0, 30.0, 600.0, 7.0]  # type: ignore[attr-defined]
    assert list(lengths.lengths) == [2, 2, 3, 2]  # type: ignore[attr-defined]
    # (3 + 30 + 600 + 7) / 4 = 160; (2 + 2 + 3 + 2) / 4 = 2.25.
    assert returns.result() == 160.0
    assert lengths.result() == 2.25


def test_window_keeps_the_last_buffer_size_episodes() -> None:
    returns = feed(AverageReturn(buffer_size=2))
    lengths = feed(AverageEpisodeLength(buffer_size=3))
    # The last 2 returns: (600 + 7) / 2 = 303.5; the last 3 lengths: (2 + 3 + 2) / 3.
    assert returns.result() == 303.5
    assert lengths.result() == pytest.approx(7 / 3)


def test_average_is_nan_before_the_first_episode() -> None:
    returns, lengths = AverageReturn(), AverageEpisodeLength()
    assert math.isnan(returns.result())
    assert math.isnan(lengths.result())
    feed(returns, BATCHES[:1])
    feed(lengths, BATCHES[:1])
    assert math.isnan(returns.result())
    assert math.isnan(lengths.result())


def test_accumulators_grow_to_the_largest_env_id() -> None:
    # The first batch only has env 4; then env 1 and 4 together.
    metric = AverageReturn()
    metric(batch([4], [5.0]))
    metric(batch([1, 4], [1.0, 6.0], terminated=[True, True]))
    # env 1: 1; env 4: 5 + 6 = 11.
    assert list(metric.returns) == [1.0, 11.0]


def test_buffer_size_must_be_positive() -> None:
    with pytest.raises(ValueError, match="buffer_size must be >= 1, got 0"):
        AverageReturn(buffer_size=0)


def test_reset_forgets_everything() -> None:
    metrics = [feed(m) for m in (EnvironmentSteps(), NumberOfEpisodes(), AverageReturn())]
    for metric in metrics:
        metric.reset()
    assert metrics[0].result() == 0.0
    assert metrics[1].result() == 0.0
    assert math.isnan(metrics[2].result())
    # The episode env 1 had in progress (r=40) is forgotten too: its next episode returns 5.
    metrics[2](batch([1], [5.0], terminated=[True]))
    assert metrics[2].result() == 5.0


def test_on_reset_drops_only_the_episodes_in_progress() -> None:
    metric = feed(AverageReturn())
    metric.on_reset()  # type: ignore[attr-defined]
    # The window of ended episodes is kept; env 1's episode in progress (40) is dropped.
    metric(batch([1], [5.0], terminated=[True]))
    assert list(metric.returns) == [3.0, 30.0, 600.0, 7.0, 5.0]  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    "make", [EnvironmentSteps, NumberOfEpisodes, AverageReturn, AverageEpisodeLength]
)
def test_state_dict_round_trip(make: type[Metric]) -> None:
    original = feed(make())
    restored = make()
    restored.load_state_dict(original.state_dict())
    assert restored.result() == original.result()
    assert restored.state_dict() == original.state_dict()


def test_restored_window_keeps_its_size() -> None:
    original = feed(AverageReturn(buffer_size=4))
    restored = AverageReturn(buffer_size=4)
    restored.load_state_dict(original.state_dict())
    restored(batch([0], [20.0], terminated=[True]))
    # 3 drops out of the window of 4: (30 + 600 + 7 + 20) / 4 = 164.25.
    assert restored.result() == 164.25


def test_log_metrics_by_name() -> None:
    metrics: list[Metric] = [feed(EnvironmentSteps()), feed(NumberOfEpisodes())]
    assert log_metrics(metrics) == {"environment_steps": 11.0, "number_of_episodes": 4.0}
