"""Pictures of Atari play: a stacked observation as one image, and frames of an agent playing.

This module owns the chapter's two Atari pictures: :func:`plot_observation` draws a 4-frame
observation the book's way (the three older frames as a grey picture, the current frame's changes
in pink), and :func:`watch_frames` plays a policy in one preprocessed game and collects the
full-colour screens, pressing FIRE after each lost life as the chapter's watch loop does, for
:func:`rlworks.viz.animation.save_animation`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import numpy as np
import numpy.typing as npt
from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from rlworks.errors import RLWorksError

__all__ = ["observation_image", "plot_observation", "watch_episode", "watch_frames"]

# The book divides by 150, not 255, so that Breakout's dim greys come out bright.
_BRIGHTNESS = 150.0


def observation_image(obs: npt.ArrayLike) -> np.ndarray:
    """Turn a stack of 4 frames into the chapter's RGB picture of it.

    A colour image has only 3 channels, so the three older frames become the red, green and blue
    channels (a still object is grey, a moving one leaves coloured trails), and whatever is
    brighter in the current frame than in the mean of the older ones is added to red and blue,
    which shows the current frame's changes in pink. Values are divided by 150 and clipped.

    Args:
        obs: One observation ``[4, H, W]`` (oldest frame first, as rlworks' Atari envs give it) or
            a batch of one, ``[1, 4, H, W]``; any numeric dtype (uint8 frames are 0..255).

    Returns:
        A float32 image ``[H, W, 3]`` with values in ``[0, 1]``.

    Raises:
        RLWorksError: If ``obs`` is not a stack of 4 frames.
    """
    frames = np.asarray(obs, dtype=np.float32)
    if frames.ndim == 4 and frames.shape[0] == 1:
        frames = frames[0]
    if frames.ndim != 3 or frames.shape[0] != 4:
        raise RLWorksError(
            f"observation has shape {np.shape(obs)}; expected a stack of 4 frames [4, H, W] "
            "(or [1, 4, H, W]), oldest first"
        )
    older = np.moveaxis(frames[:3], 0, -1)  # [H, W, 3]
    delta = np.maximum(frames[3] - older.mean(axis=-1), 0.0)  # [H, W]
    image = older.copy()
    image[..., 0] += delta
    image[..., 2] += delta
    return np.asarray(np.clip(image / _BRIGHTNESS, 0.0, 1.0), dtype=np.float32)


def plot_observation(obs: npt.ArrayLike, ax: Axes | None = None) -> Axes:
    """Draw a stacked Atari observation the chapter's way (see :func:`observation_image`).

    Example:
        >>> ax = plot_observation(obs[0])  # obs from a make_atari_env(...) vector env
        >>> ax.figure.savefig("preprocessed_breakout_plot.png")

    Args:
        obs: One observation ``[4, H, W]`` or ``[1, 4, H, W]``.
        ax: Axes to draw on; None makes a 6x6-inch figure on an Agg canvas (pyplot's global
            state is never touched).

    Returns:
        The axes, with the image and no axis lines.
    """
    image = observation_image(obs)
    if ax is None:
        fig = Figure(figsize=(6, 6))
        FigureCanvasAgg(fig)
        ax = fig.add_subplot()
    ax.imshow(image, interpolation="nearest")
    ax.set_axis_off()
    return ax


def watch_episode(
    policy_fn: Callable[[np.ndarray], npt.ArrayLike],
    env_id: str,
    seed: int = 0,
    max_steps: int = 1000,
    *,
    reset_on_life_loss: bool = True,
    options: Mapping[str, Any] | None = None,
) -> tuple[list[np.ndarray], float]:
    """Play a policy in one preprocessed Atari game and collect its full-colour screens.

    This is the chapter's watch loop: the agent sees the preprocessed stack it was trained on,
    while each step's 210x160 RGB screen is recorded; when a life is lost the game is reset and
    FIRE pressed (the chapter's ``reset_and_fire_on_life_lost`` observer), since an agent that
    never learned to press FIRE would otherwise wait forever for the next ball. With
    ``reset_on_life_loss=False`` the game goes on and only FIRE is pressed. Rewards are not
    clipped. Playing stops after ``max_steps`` agent steps or at the game's end.

    Args:
        policy_fn: Maps a batch of one observation, ``[1, 4, 84, 84]`` uint8, to a batch of one
            action (e.g. ``lambda obs: agent.act(obs, explore=False)``).
        env_id: An ALE id, e.g. ``"ALE/Breakout-v5"``.
        seed: Seed of the first reset.
        max_steps: Agent steps to play, at least 1.
        reset_on_life_loss: Reset the game after a lost life (the chapter), else keep playing.
        options: Preprocessing settings, fields of :class:`rlworks.envs.atari.AtariOptions`
            (the defaults: the training ones, except unclipped rewards).

    Returns:
        ``(screens, score)``: the screens, ``[210, 160, 3]`` uint8 each, one after the reset and
        one per step (and one after each FIRE or reset that follows a lost life); and the game
        score summed over the steps played, across the resets after lost lives.

    Raises:
        RLWorksError: If ``max_steps`` is not positive or the policy does not return one action.
        EnvError: As :func:`rlworks.envs.atari.make_atari_single_env`.
    """
    from rlworks.envs.atari import atari_action_meanings, make_atari_single_env

    if isinstance(max_steps, bool) or not isinstance(max_steps, int) or max_steps < 1:
        raise RLWorksError(f"max_steps={max_steps!r} is invalid; expected an integer >= 1")
    env = make_atari_single_env(env_id, render_mode="rgb_array", options=options)
    try:
        meanings = atari_action_meanings(env)
        fire = meanings.index("FIRE") if "FIRE" in meanings else None
        ale = env.unwrapped.ale  # type: ignore[attr-defined]
        obs, _ = env.reset(seed=seed)
        frames = [_screen(env)]
        score = 0.0
        lives = ale.lives()
        for _ in range(max_steps):
            actions = np.asarray(policy_fn(np.expand_dims(np.asarray(obs), 0)))  # [1]
            if actions.shape != (1,):
                raise RLWorksError(
                    f"policy returned actions of shape {actions.shape} for a batch of one "
                    "observation; expected shape [1]"
                )
            obs, reward, terminated, truncated, _ = env.step(int(actions[0]))
            score += float(reward)
            frames.append(_screen(env))
            if terminated or truncated:
                break
            if ale.lives() < lives and fire is not None:
                if reset_on_life_loss:
                    obs, _ = env.reset()  # the environment presses FIRE after each reset
                else:
                    obs, reward, *_ = env.step(fire)
                    score += float(reward)
                frames.append(_screen(env))
            lives = ale.lives()
    finally:
        env.close()
    return frames, score


def watch_frames(
    policy_fn: Callable[[np.ndarray], npt.ArrayLike],
    env_id: str,
    seed: int = 0,
    max_steps: int = 1000,
    *,
    reset_on_life_loss: bool = True,
    options: Mapping[str, Any] | None = None,
) -> list[np.ndarray]:
    """The screens of :func:`watch_episode` (the chapter's watch loop), without the score.

    Args and errors as :func:`watch_episode`.

    Returns:
        The screens, ``[210, 160, 3]`` uint8 each: one after the reset and one per step.
    """
    frames, _ = watch_episode(
        policy_fn,
        env_id,
        seed,
        max_steps,
        reset_on_life_loss=reset_on_life_loss,
        options=options,
    )
    return frames


def _screen(env: Any) -> np.ndarray:
    """A copy of the current RGB screen."""
    return np.array(env.render(), dtype=np.uint8, copy=True)
