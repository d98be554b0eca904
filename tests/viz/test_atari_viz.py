"""Tests of rlworks.viz.atari: the chapter's picture of a frame stack and its watch loop."""

from __future__ import annotations

import importlib.util

import numpy as np
import pytest
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from rlworks.errors import RLWorksError
from rlworks.viz import observation_image, plot_observation, watch_frames

HAS_ATARI = (
    importlib.util.find_spec("ale_py") is not None and importlib.util.find_spec("cv2") is not None
)
needs_atari = pytest.mark.skipif(not HAS_ATARI, reason="needs ale-py and opencv")


def stack() -> np.ndarray:
    """A [4, 2, 2] stack: older frames 30, 60, 90 everywhere; the current frame 200 at (0, 0)."""
    frames = np.zeros((4, 2, 2), dtype=np.uint8)
    frames[0], frames[1], frames[2] = 30, 60, 90
    frames[3, 0, 0] = 200
    return frames


def test_observation_image_is_the_chapters_pink_highlight() -> None:
    image = observation_image(stack())
    assert image.shape == (2, 2, 3) and image.dtype == np.float32
    # (0, 0): delta = 200 - mean(30, 60, 90) = 140, added to red and blue, then / 150, clipped.
    np.testing.assert_allclose(image[0, 0], [1.0, 60 / 150, 1.0], rtol=1e-6)
    # elsewhere the current frame (0) is darker than the older ones: no delta.
    np.testing.assert_allclose(image[1, 1], [30 / 150, 60 / 150, 90 / 150], rtol=1e-6)
    np.testing.assert_array_equal(observation_image(stack()[None]), image)  # a batch of one


@pytest.mark.parametrize("shape", [(3, 2, 2), (2, 4, 2, 2), (4, 2)])
def test_observation_image_needs_a_stack_of_four(shape: tuple[int, ...]) -> None:
    with pytest.raises(RLWorksError, match=r"expected a stack of 4 frames \[4, H, W\]"):
        observation_image(np.zeros(shape))


def test_plot_observation_draws_on_new_or_given_axes() -> None:
    ax = plot_observation(stack())
    assert not ax.axison and len(ax.images) == 1
    np.testing.assert_array_equal(ax.images[0].get_array(), observation_image(stack()))
    fig = Figure()
    FigureCanvasAgg(fig)
    given = fig.add_subplot()
    assert plot_observation(stack(), ax=given) is given


@needs_atari
@pytest.mark.atari
@pytest.mark.parametrize("reset_on_life_loss", [True, False])
def test_watch_frames_presses_fire_after_a_lost_life(reset_on_life_loss: bool) -> None:
    # A NOOP-only agent loses its first ball after about 24 steps; the watch loop then presses
    # FIRE (after a reset in the chapter's version), which records one more screen.
    def noop(obs: np.ndarray) -> np.ndarray:
        assert obs.shape == (1, 4, 84, 84) and obs.dtype == np.uint8
        return np.zeros(1, dtype=np.int64)

    frames = watch_frames(
        noop,
        "ALE/Breakout-v5",
        seed=0,
        max_steps=40,
        reset_on_life_loss=reset_on_life_loss,
        options={"noop_max": 0},
    )
    assert len(frames) == 1 + 40 + 1
    assert all(f.shape == (210, 160, 3) and f.dtype == np.uint8 for f in frames)


@needs_atari
@pytest.mark.atari
def test_watch_frames_bad_input() -> None:
    with pytest.raises(RLWorksError, match="max_steps=0 is invalid"):
        watch_frames(lambda obs: np.zeros(1), "ALE/Breakout-v5", max_steps=0)
    with pytest.raises(RLWorksError, match=r"expected shape \[1\]"):
        watch_frames(lambda obs: np.zeros(2, dtype=int), "ALE/Breakout-v5", max_steps=3)
