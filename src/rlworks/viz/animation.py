"""Animations of a policy: rolling out episodes for their frames and writing GIF or MP4 files.

This module owns turning a policy into pictures: :func:`render_episodes` plays a policy in a
single Gymnasium environment made with ``render_mode="rgb_array"`` and collects the rendered frames,
and :func:`save_animation` writes frames to an animated GIF (Pillow) or an MP4 (the ``video`` extra:
imageio with imageio-ffmpeg). Files are written atomically.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np
from PIL import Image

from rlworks.errors import EnvError, RLWorksError
from rlworks.fileio import atomic_path

__all__ = ["ANIMATION_SUFFIXES", "render_episodes", "save_animation"]

ANIMATION_SUFFIXES = (".gif", ".mp4")
"""File suffixes :func:`save_animation` can write."""

_VIDEO_EXTRA_HINT = 'writing MP4 needs the video extra: pip install "rlworks[video]"'


def _check_frames(frames: Sequence[np.ndarray], path: Path) -> list[np.ndarray]:
    """Checks that ``frames`` are non-empty, HxWx3 uint8 and all of one shape; returns them."""
    if len(frames) == 0:
        raise RLWorksError(
            f"no frames to save to '{path}'; expected at least one HxWx3 uint8 frame"
        )
    checked = [np.asarray(frame) for frame in frames]
    first = checked[0]
    for i, frame in enumerate(checked):
        if frame.ndim != 3 or frame.shape[2] != 3 or frame.dtype != np.uint8:
            raise RLWorksError(
                f"frame {i} has shape {frame.shape} and dtype {frame.dtype}; "
                "expected an HxWx3 uint8 array"
            )
        if frame.shape != first.shape:
            raise RLWorksError(
                f"frame {i} has shape {frame.shape}; expected the shape of frame 0, {first.shape}"
            )
    return checked


def save_animation(frames: Sequence[np.ndarray], path: str | Path, *, fps: int = 30) -> Path:
    """Writes frames to an animated GIF or an MP4 video.

    A ``.gif`` is written with Pillow and loops forever; consecutive identical frames are merged
    into one longer frame by Pillow, so ``n_frames`` can be smaller than ``len(frames)``. An
    ``.mp4`` (H.264) needs the ``video`` extra; frames with an odd width or height are padded by
    one black pixel, as the codec needs even sizes.

    Args:
        frames: Frames, each ``[H, W, 3]`` uint8, all of one shape.
        path: Output file; its suffix picks the format (see :data:`ANIMATION_SUFFIXES`). Parent
            directories are created.
        fps: Frames per second, at least 1.

    Returns:
        The path of the written file.

    Raises:
        RLWorksError: If there are no frames, a frame is not ``[H, W, 3]`` uint8, ``fps`` is not
            positive, the suffix is not supported, or an MP4 is asked for without the video extra.
    """
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in ANIMATION_SUFFIXES:
        raise RLWorksError(
            f"animation path '{path}' has suffix '{path.suffix}'; "
            f"expected one of {', '.join(ANIMATION_SUFFIXES)}"
        )
    if isinstance(fps, bool) or not isinstance(fps, int) or fps < 1:
        raise RLWorksError(f"fps={fps!r} is invalid; expected an integer >= 1")
    checked = _check_frames(frames, path)
    if suffix == ".gif":
        _write_gif(checked, path, fps)
    else:
        _write_mp4(checked, path, fps)
    return path


def _write_gif(frames: list[np.ndarray], path: Path, fps: int) -> None:
    """Writes an animated GIF that loops forever (GIF frame delays have 10 ms resolution).

    All frames share one 256-colour palette computed from up to 8 frames spread over the episode,
    and Pillow's per-frame optimization pass is skipped: a 500-frame CartPole episode is written
    in well under a second instead of several (the file is a little larger).
    """
    palette = _shared_palette(frames)
    images = [
        Image.fromarray(frame, mode="RGB").quantize(palette=palette, dither=Image.Dither.NONE)
        for frame in frames
    ]
    duration_ms = max(1, round(1000 / fps))
    with atomic_path(path) as tmp:
        images[0].save(
            tmp,
            format="GIF",
            save_all=True,
            append_images=images[1:],
            duration=duration_ms,
            loop=0,
            optimize=False,
        )


def _shared_palette(frames: list[np.ndarray]) -> Image.Image:
    """A palette image quantized from a strip of up to 8 evenly spaced frames."""
    picks = np.linspace(0, len(frames) - 1, num=min(8, len(frames))).round().astype(int)
    strip = np.concatenate([frames[i] for i in picks], axis=0)  # [8H, W, 3]
    return Image.fromarray(strip, mode="RGB").quantize(colors=256, method=Image.Quantize.MEDIANCUT)


def _import_imageio() -> Any:
    """Imports ``imageio.v2`` after checking that the ffmpeg backend is installed."""
    try:
        importlib.import_module("imageio_ffmpeg")
        return importlib.import_module("imageio.v2")
    except ImportError:
        raise RLWorksError(_VIDEO_EXTRA_HINT) from None


def _write_mp4(frames: list[np.ndarray], path: Path, fps: int) -> None:
    """Writes an H.264 MP4 through imageio's ffmpeg plugin."""
    imageio = _import_imageio()
    height, width = frames[0].shape[:2]
    pad = ((0, height % 2), (0, width % 2), (0, 0))  # yuv420p needs even sizes
    with atomic_path(path) as tmp:
        # macro_block_size=2: pad ourselves instead of letting imageio resize with a warning.
        writer = imageio.get_writer(
            tmp, format="FFMPEG", mode="I", fps=fps, codec="libx264", macro_block_size=2
        )
        try:
            for frame in frames:
                writer.append_data(np.pad(frame, pad) if any(p for _, p in pad[:2]) else frame)
        finally:
            writer.close()


def _env_name(env: gym.Env[Any, Any]) -> str:
    """The environment's id if it was made from the registry, else its class name."""
    spec = env.spec
    return spec.id if spec is not None else type(env.unwrapped).__name__


def _render_frame(env: gym.Env[Any, Any]) -> np.ndarray:
    """Renders one frame and checks that it is an ``[H, W, 3]`` uint8 image; returns a copy."""
    frame = env.render()
    if not isinstance(frame, np.ndarray) or frame.ndim != 3 or frame.shape[2] != 3:
        got = "None" if frame is None else f"{type(frame).__name__} {getattr(frame, 'shape', '')}"
        raise EnvError(
            f"environment '{_env_name(env)}' render() returned {got.strip()}; expected an HxWx3 "
            'array, so the environment must support render_mode="rgb_array"'
        )
    if frame.dtype != np.uint8:
        raise EnvError(
            f"environment '{_env_name(env)}' render() returned a {frame.dtype} image; expected "
            'uint8 RGB, as render_mode="rgb_array" gives'
        )
    return frame.copy()


def render_episodes(
    env_factory: Callable[[], gym.Env[Any, Any]],
    policy: Callable[[np.ndarray], np.ndarray],
    *,
    episodes: int = 1,
    seed: int = 0,
    max_steps: int | None = None,
) -> tuple[list[np.ndarray], list[float]]:
    """Plays ``policy`` for a few episodes and collects the rendered frames.

    The environment is made once with ``env_factory`` and closed at the end. Episode ``k`` is reset
    with seed ``seed + k``; its frames are the one rendered after the reset and one after every
    step. An episode ends when it terminates or is truncated (e.g. by the environment's time
    limit), or after ``max_steps`` steps; without a time limit and ``max_steps``, an episode that
    never terminates never ends.

    Args:
        env_factory: Makes a single (non-vector) Gymnasium environment with
            ``render_mode="rgb_array"``.
        policy: Maps a batch of one observation, ``[1, *obs_shape]``, to a batch of one action,
            ``[1, *action_shape]`` (the same batched interface agents use for vector envs).
        episodes: Number of episodes to play, at least 1.
        seed: Seed of the first episode's reset.
        max_steps: Optional cap on the steps of each episode.

    Returns:
        ``(frames, returns)``: the frames of all episodes back to back, each ``[H, W, 3]`` uint8,
        and the undiscounted return of each episode.

    Raises:
        RLWorksError: If ``episodes`` or ``max_steps`` is not positive, or the policy does not
            return a batch of one action.
        EnvError: If the environment does not render HxWx3 uint8 frames.
    """
    if episodes < 1:
        raise RLWorksError(f"episodes={episodes} is invalid; expected an integer >= 1")
    if max_steps is not None and max_steps < 1:
        raise RLWorksError(f"max_steps={max_steps} is invalid; expected None or an integer >= 1")
    env = env_factory()
    try:
        if env.render_mode != "rgb_array":
            raise EnvError(
                f"environment '{_env_name(env)}' has render_mode={env.render_mode!r}; "
                'expected one made with render_mode="rgb_array"'
            )
        frames: list[np.ndarray] = []
        returns: list[float] = []
        for k in range(episodes):
            obs, _ = env.reset(seed=seed + k)
            frames.append(_render_frame(env))
            episode_return, steps, done = 0.0, 0, False
            while not done:
                actions = np.asarray(policy(np.expand_dims(np.asarray(obs), 0)))  # [1, *act]
                if actions.ndim == 0 or actions.shape[0] != 1:
                    raise RLWorksError(
                        f"policy returned actions of shape {actions.shape} for a batch of one "
                        "observation; expected shape [1, *action_shape]"
                    )
                obs, reward, terminated, truncated, _ = env.step(actions[0])
                episode_return += float(reward)
                steps += 1
                frames.append(_render_frame(env))
                done = terminated or truncated or (max_steps is not None and steps >= max_steps)
            returns.append(episode_return)
    finally:
        env.close()
    return frames, returns
