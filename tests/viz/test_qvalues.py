"""Tests of rlworks.viz.qvalues: the chapter's Figure 18-9, Q-value iteration vs Q-learning."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from rlworks.errors import ConfigError
from rlworks.mdp import book_mdp, solve
from rlworks.viz import plot_q_convergence


def book_histories() -> tuple[np.ndarray, np.ndarray, float]:
    """50 Q-value iterations on the book MDP, and a fake 200-step learning history, [K, 3, 3]."""
    result = solve(book_mdp(), 0.9, method="q-value", iterations=50, record_history=True)
    assert result.history is not None
    learning = np.repeat(result.history[:1], 200, axis=0)  # [200, 3, 3]
    learning[:, 0, 0] = np.linspace(0.0, 18.0, 200)
    return result.history, learning, float(result.Q[0, 0])


def test_writes_the_two_panel_png(tmp_path: Path) -> None:
    iteration, learning, true_value = book_histories()
    out = tmp_path / "figures" / "q_value_plot.png"
    fig = plot_q_convergence(iteration, learning, true_value, out)
    assert out.is_file()
    with Image.open(out) as image:
        assert image.format == "PNG"
        assert image.size == (1000, 400)  # figsize (10, 4) at 100 dpi
    assert not list(out.parent.glob(".*tmp*"))  # the atomic write left no temporary file
    left, right = fig.axes
    assert left.get_title() == "Q-Value Iteration" and right.get_title() == "Q-Learning"
    assert left.get_ylabel() == "Q-Value$(s_{0}, a_{0})$"
    assert left.get_xlabel() == "Iterations" and right.get_xlabel() == "Steps"


def test_lines_and_limits_follow_the_data() -> None:
    iteration, learning, true_value = book_histories()
    fig = plot_q_convergence(iteration, learning, true_value)
    left, right = fig.axes
    # Each panel: the dashed true value, then the blue trace of Q(s0, a0), one point per entry.
    dashed, blue = left.get_lines()
    assert dashed.get_linestyle() == "--"
    np.testing.assert_array_equal(dashed.get_ydata(), [true_value, true_value])
    np.testing.assert_array_equal(blue.get_ydata(), iteration[:, 0, 0])
    assert len(right.get_lines()[1].get_ydata()) == 200
    # x spans [0, K]; y from 0 to the round number above 1.2 * 18.92 (the book's 24).
    assert left.get_xlim() == (0.0, 51.0)
    assert right.get_xlim() == (0.0, 200.0)
    assert left.get_ylim() == right.get_ylim() == (0.0, 24.0)


def test_accepts_one_dimensional_traces_and_other_entries() -> None:
    iteration, learning, _ = book_histories()
    fig = plot_q_convergence(iteration[:, 2, 1], learning[:, 2, 1], 50.13)
    np.testing.assert_array_equal(fig.axes[0].get_lines()[1].get_ydata(), iteration[:, 2, 1])
    fig = plot_q_convergence(iteration, learning, 50.13, state=2, action=1)
    assert fig.axes[0].get_ylabel() == "Q-Value$(s_{2}, a_{1})$"
    assert fig.axes[0].get_ylim()[1] >= 50.13


def test_negative_values_extend_the_axis_below_zero() -> None:
    fig = plot_q_convergence([0.0, -3.0, -4.5], [0.0, -1.0, -2.0, -4.0], -4.88)
    bottom, top = fig.axes[0].get_ylim()
    assert bottom <= -4.88 and top >= 0.0


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"learning_history": np.zeros((10, 4, 3))}, "learning_history"),
        ({"iteration_history": np.zeros((0, 3, 3))}, "iteration_history"),
        ({"iteration_history": np.zeros((5, 3))}, "iteration_history"),
        ({"learning_history": [[1.0, "x"]]}, "learning_history"),
        ({"state": 3}, "state 3"),
        ({"action": -1}, "action -1"),
        ({"state": 1, "action": 1}, "impossible action"),  # Q(s1, a1) is -inf in the book MDP
        ({"true_value": float("nan")}, "true_value"),
        ({"out": "plot.svg"}, "out"),
    ],
)
def test_bad_input_names_the_argument(kwargs: dict[str, object], match: str) -> None:
    iteration, learning, true_value = book_histories()
    args: dict[str, object] = {
        "iteration_history": iteration,
        "learning_history": learning,
        "true_value": true_value,
    }
    args.update(kwargs)
    with pytest.raises(ValueError, match=match):
        plot_q_convergence(**args)  # type: ignore[arg-type]


def test_errors_are_config_errors_and_write_nothing(tmp_path: Path) -> None:
    iteration, learning, true_value = book_histories()
    out = tmp_path / "q.png"
    with pytest.raises(ConfigError):
        plot_q_convergence(iteration, learning[:, :2], true_value, out)
    assert not out.exists()
