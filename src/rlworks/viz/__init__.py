"""Pictures of training: learning curves from a run's metrics and animations of a policy.

:mod:`rlworks.viz.curves` reads ``metrics.csv`` and plots learning curves to PNG;
:mod:`rlworks.viz.animation` renders episodes and writes them as GIF or MP4;
:mod:`rlworks.viz.qvalues` draws the chapter's Figure 18-9 (Q-value iteration vs Q-learning);
:mod:`rlworks.viz.atari` draws stacked Atari observations and records an agent playing a game.
"""

from __future__ import annotations

from rlworks.viz.animation import ANIMATION_SUFFIXES, render_episodes, save_animation
from rlworks.viz.atari import observation_image, plot_observation, watch_frames
from rlworks.viz.curves import METRICS_FILENAME, plot_learning_curves, read_metrics
from rlworks.viz.qvalues import plot_q_convergence

__all__ = [
    "ANIMATION_SUFFIXES",
    "METRICS_FILENAME",
    "observation_image",
    "plot_learning_curves",
    "plot_observation",
    "plot_q_convergence",
    "read_metrics",
    "render_episodes",
    "save_animation",
    "watch_frames",
]
