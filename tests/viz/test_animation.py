"""Tests of rlworks.viz.animation: writing GIF/MP4 files and rendering episodes of a policy."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np
import pytest
from PIL import GifImagePlugin, Image

from rlworks.errors import EnvError, RLWorksError
from rlworks.viz import render_episodes, save_animation

os.environ.setdefault("SDL_VIDEODRIVER", "dummy")  # pygame renders off-screen on headless machines


def distinct_frames(n: int, height: int = 24, width: int = 32) -> list[np.ndarray]:
    """``n`` frames of one size, each a different solid colour (Pillow merges identical frames)."""
    return [
        np.full((height, width, 3), (20 * i % 256, 255 - 20 * i % 256, 60), dtype=np.uint8)
        for i in range(n)
    ]


def make_cartpole() -> gym.Env[Any, Any]:
    return gym.make("CartPole-v1", render_mode="rgb_array")


def always_push_left(obs: np.ndarray) -> np.ndarray:
    """Batched policy: action 0 for each of the ``[B, 4]`` observations."""
    return np.zeros(len(obs), dtype=np.int64)


# --- save_animation -------------------------------------------------------------------------------


def test_gif_has_one_frame_per_input_frame_and_loops(tmp_path: Path) -> None:
    path = save_animation(distinct_frames(7), tmp_path / "clip.gif", fps=25)
    assert path == tmp_path / "clip.gif"
    with Image.open(path) as gif:
        assert isinstance(gif, GifImagePlugin.GifImageFile)
        assert gif.is_animated
        assert gif.n_frames == 7
        assert gif.size == (32, 24)  # (W, H)
        assert gif.info["loop"] == 0  # forever
        assert gif.info["duration"] == 40  # 1000 ms / 25 fps
    assert [p.name for p in tmp_path.iterdir()] == ["clip.gif"]  # no temporary file left


def test_unknown_suffix_is_an_error_naming_the_allowed_ones(tmp_path: Path) -> None:
    with pytest.raises(RLWorksError, match=r"suffix '\.avi'; expected one of \.gif, \.mp4"):
        save_animation(distinct_frames(2), tmp_path / "clip.avi")
    assert not list(tmp_path.iterdir())


def test_no_frames_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(RLWorksError, match="no frames to save"):
        save_animation([], tmp_path / "clip.gif")


@pytest.mark.parametrize(
    "bad_frame",
    [
        np.zeros((24, 32), dtype=np.uint8),  # grayscale
        np.zeros((24, 32, 4), dtype=np.uint8),  # RGBA
        np.zeros((24, 32, 3), dtype=np.float32),  # not uint8
        np.zeros((12, 32, 3), dtype=np.uint8),  # another size than frame 0
    ],
)
def test_malformed_frames_are_an_error(tmp_path: Path, bad_frame: np.ndarray) -> None:
    frames = [*distinct_frames(2), bad_frame]
    with pytest.raises(RLWorksError, match="frame 2 has shape"):
        save_animation(frames, tmp_path / "clip.gif")


def test_fps_must_be_positive(tmp_path: Path) -> None:
    with pytest.raises(RLWorksError, match="fps=0 is invalid"):
        save_animation(distinct_frames(2), tmp_path / "clip.gif", fps=0)


def test_mp4_with_the_video_extra(tmp_path: Path) -> None:
    imageio_ffmpeg = pytest.importorskip("imageio_ffmpeg")
    # Odd sizes: the writer pads to even ones (H.264 with yuv420p needs them).
    frames = distinct_frames(10, height=25, width=33)
    path = save_animation(frames, tmp_path / "clip.mp4", fps=10)
    assert path.stat().st_size > 0
    n_frames, seconds = imageio_ffmpeg.count_frames_and_secs(str(path))
    assert (n_frames, seconds) == (10, pytest.approx(1.0))  # 10 frames at 10 fps
    # `ffmpeg -i` describes the stream (and exits 1 for want of an output); W x H is 34x26.
    probe = subprocess.run(
        [imageio_ffmpeg.get_ffmpeg_exe(), "-hide_banner", "-i", str(path)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert re.search(r"Video: h264.* 34x26\b", probe.stderr), probe.stderr
    assert [p.name for p in tmp_path.iterdir()] == ["clip.mp4"]


def test_mp4_without_the_video_extra_names_the_extra(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "imageio_ffmpeg", None)  # makes `import imageio_ffmpeg` fail
    with pytest.raises(RLWorksError) as info:
        save_animation(distinct_frames(2), tmp_path / "clip.mp4")
    assert str(info.value) == 'writing MP4 needs the video extra: pip install "rlworks[video]"'
    assert not list(tmp_path.iterdir())


# --- render_episodes ------------------------------------------------------------------------------


def test_render_cartpole_episode_frames_and_return() -> None:
    frames, returns = render_episodes(make_cartpole, always_push_left, seed=3)
    # One frame after the reset, one per step; CartPole pays +1 per step, so return == steps.
    steps = len(frames) - 1
    assert steps > 0
    assert returns == [float(steps)]
    assert all(frame.shape == (400, 600, 3) and frame.dtype == np.uint8 for frame in frames)


def test_render_several_episodes_with_a_step_cap_is_seeded() -> None:
    frames, returns = render_episodes(make_cartpole, always_push_left, episodes=2, max_steps=5)
    assert returns == [5.0, 5.0]  # always pushing left lasts longer than 5 steps
    assert len(frames) == 2 * (1 + 5)
    again, _ = render_episodes(make_cartpole, always_push_left, episodes=2, max_steps=5)
    assert all(np.array_equal(a, b) for a, b in zip(frames, again, strict=True))
    assert not np.array_equal(frames[0], frames[6])  # episode 1 is reset with seed 0 + 1


def test_render_closes_the_environment() -> None:
    class CloseSpy(gym.Wrapper[Any, Any, Any, Any]):
        closed = False

        def close(self) -> None:
            self.closed = True
            super().close()

    env = CloseSpy(make_cartpole())
    render_episodes(lambda: env, always_push_left, max_steps=2)
    assert env.closed


def test_render_without_rgb_array_mode_is_an_error() -> None:
    with pytest.raises(EnvError, match=r"CartPole-v1.*render_mode=\"rgb_array\""):
        render_episodes(lambda: gym.make("CartPole-v1"), always_push_left)


def test_render_returning_none_is_an_error(monkeypatch: pytest.MonkeyPatch) -> None:
    env = gym.make("CartPole-v1", render_mode="rgb_array", disable_env_checker=True)
    monkeypatch.setattr(env.unwrapped, "render", lambda: None)
    with pytest.raises(EnvError, match=r"render\(\) returned None.*render_mode=\"rgb_array\""):
        render_episodes(lambda: env, always_push_left)


def test_policy_must_return_a_batch_of_one_action() -> None:
    with pytest.raises(RLWorksError, match=r"policy returned actions of shape \(\)"):
        render_episodes(make_cartpole, lambda obs: np.int64(0))  # type: ignore[arg-type,return-value]
