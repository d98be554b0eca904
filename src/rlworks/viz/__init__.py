"""Pictures of training: learning curves from a run's metrics and animations of a policy.

:mod:`rlworks.viz.curves` reads ``metrics.csv`` and plots learning curves to PNG;
:mod:`rlworks.viz.animation` renders episodes and writes them as GIF or MP4.
"""

from __future__ import annotations

from rlworks.viz.animation import ANIMATION_SUFFIXES, render_episodes, save_animation
from rlworks.viz.curves import METRICS_FILENAME, plot_learning_curves, read_metrics

__all__ = [
    "ANIMATION_SUFFIXES",
    "METRICS_FILENAME",
    "plot_learning_curves",
    "read_metrics",
    "render_episodes",
    "save_animation",
]
