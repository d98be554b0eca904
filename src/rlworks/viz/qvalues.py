"""The chapter's Figure 18-9: how fast Q-value iteration and Q-learning find one Q-value.

This module owns :func:`plot_q_convergence`, which draws the estimate of ``Q(s, a)`` (by default
``Q(s0, a0)``) after each Q-value iteration next to its estimate after each Q-learning step, each
panel with a dashed line at the true value. Like :mod:`rlworks.viz.curves`, it draws on a private
:class:`matplotlib.figure.Figure` with the Agg canvas (pyplot's global state is never touched) and
writes PNG files atomically.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import numpy.typing as npt
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

from rlworks.errors import ConfigError
from rlworks.fileio import atomic_path

__all__ = ["plot_q_convergence"]


def _trace(history: npt.ArrayLike, name: str, state: int, action: int) -> np.ndarray:
    """The ``[K]`` estimates of ``Q(state, action)`` in a ``[K, S, A]`` (or ``[K]``) history."""
    try:
        array = np.asarray(history, dtype=np.float64)
    except (TypeError, ValueError):
        raise ConfigError(f"{name} must be an array of numbers, [K, S, A] or [K]") from None
    if array.ndim not in (1, 3) or array.shape[0] == 0:
        raise ConfigError(
            f"{name} has shape {array.shape}; expected [K, S, A] Q-tables (K >= 1), one per "
            "iteration or step, or [K] values of Q(s, a)"
        )
    if array.ndim == 3:
        n_states, n_actions = array.shape[1:]
        if not 0 <= state < n_states:
            raise ConfigError(f"state {state} is out of range [0, {n_states}) for {name}")
        if not 0 <= action < n_actions:
            raise ConfigError(f"action {action} is out of range [0, {n_actions}) for {name}")
        array = array[:, state, action]
    if not np.isfinite(array).all():
        first = int(np.flatnonzero(~np.isfinite(array))[0])
        raise ConfigError(
            f"{name} holds {array[first]} at index {first} for Q(s{state}, a{action}); expected "
            "finite values (-inf marks an impossible action: pick a possible one)"
        )
    return array


def plot_q_convergence(
    iteration_history: npt.ArrayLike,
    learning_history: npt.ArrayLike,
    true_value: float,
    out: str | Path | None = None,
    *,
    state: int = 0,
    action: int = 0,
) -> Figure:
    """Draws Figure 18-9: Q-value iteration (left) versus Q-learning (right) on one Q-value.

    Both panels share the y axis, labelled ``Q-Value(s0, a0)``; the blue line is the estimate
    after each iteration (left, x = Q-value iterations) or each step (right, x = Q-learning
    steps), and the black dashed line is ``true_value``. The x axes span ``[0, K]``; the y axis
    spans from ``min(0, lowest value)`` to a round number about 20% above the highest (0 to 24
    for the chapter's MDP, as in the book).

    Args:
        iteration_history: Q-value iteration's Q-tables, ``[K1, S, A]`` (e.g.
            :attr:`~rlworks.mdp.PlanningResult.history`), or the ``[K1]`` values of ``Q(s, a)``.
        learning_history: Q-learning's Q-tables after each step, ``[K2, S, A]``, or ``[K2]``.
        true_value: The optimal ``Q(s, a)``, drawn dashed in both panels.
        out: If given, the PNG file to write (parent directories are created; must end in
            ``.png``).
        state: The state ``s`` whose Q-value is drawn.
        action: The action ``a`` whose Q-value is drawn (it must be possible in ``state``).

    Returns:
        The figure, on an Agg canvas (``fig.savefig`` works without pyplot).

    Raises:
        ConfigError: (a ``ValueError``) naming the argument: a history that is empty or not
            ``[K, S, A]``/``[K]``, histories whose ``[S, A]`` shapes differ, ``state`` or
            ``action`` out of range, a non-finite value (an impossible action's ``-inf``), a
            non-finite ``true_value``, or ``out`` without the ``.png`` suffix.
    """
    shapes = [np.shape(h) for h in (iteration_history, learning_history)]
    if len(shapes[0]) == 3 and len(shapes[1]) == 3 and shapes[0][1:] != shapes[1][1:]:
        raise ConfigError(
            f"learning_history holds Q-tables of shape {shapes[1][1:]}, but iteration_history "
            f"holds {shapes[0][1:]}; both must describe the same MDP"
        )
    traces = [
        _trace(iteration_history, "iteration_history", state, action),
        _trace(learning_history, "learning_history", state, action),
    ]
    if not np.isfinite(true_value):
        raise ConfigError(f"true_value must be a finite number, got {true_value}")
    if out is not None and Path(out).suffix.lower() != ".png":
        raise ConfigError(f"out '{out}' has suffix '{Path(out).suffix}'; expected '.png'")

    values = np.concatenate([*traces, [true_value]])
    low = min(0.0, float(values.min()))
    high = float(values.max())
    top = high + 0.2 * max(high - low, 1e-9)
    ticks = MaxNLocator(nbins=6).tick_values(low, top)
    bottom, top = float(min(ticks[0], low)), float(max(ticks[-1], top))

    fig = Figure(figsize=(10.0, 4.0), dpi=100, layout="constrained")
    FigureCanvasAgg(fig)
    axes = fig.subplots(1, 2, sharey=True)
    titles = ("Q-Value Iteration", "Q-Learning")
    xlabels = ("Iterations", "Steps")
    for ax, trace, title, xlabel in zip(axes, traces, titles, xlabels, strict=True):
        width = len(trace)
        ax.plot([0, width], [true_value, true_value], "k--")
        ax.plot(np.arange(width), trace, "b-", linewidth=2)
        ax.set_title(title, fontsize=14)
        ax.set_xlabel(xlabel, fontsize=14)
        ax.axis((0.0, float(width), bottom, top))
        ax.grid(True)
    axes[0].set_ylabel(f"Q-Value$(s_{{{state}}}, a_{{{action}}})$", fontsize=14)

    if out is not None:
        with atomic_path(out) as tmp:
            fig.savefig(tmp, format="png")
    return fig
