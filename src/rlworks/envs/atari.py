"""Atari 2600 games with the chapter's preprocessing, as seeded vector envs.

This module owns turning an ALE id such as ``"ALE/Breakout-v5"`` into the environment a DQN trains
on (the chapter's ``suite_atari.load(..., gym_env_wrappers=[AtariPreprocessing, FrameStack4])``):

* grayscale frames downsampled to 84x84 (OpenCV's area interpolation);
* frame skipping: each action is repeated for 4 emulator frames and their rewards are summed;
* max-pooling of the last two of those frames (removes the flicker of sprites drawn every other
  frame);
* up to ``noop_max`` no-op *frames* at reset, so that episodes start in different states;
* FIRE pressed (for one frame) at reset in games whose actions include FIRE, so Breakout's ball
  is launched;
* optionally, the episode ends when a life is lost (off by default, as in the book; the whole
  game then restarts, as in TF-Agents' and Gymnasium's ``AtariPreprocessing``);
* optionally, sticky actions (``repeat_action_probability``, Machado et al., 2018);
* rewards clipped to their sign for *training* only (``clip_rewards=False`` for evaluation, which
  must report the game score);
* at most 27,000 agent steps (108,000 frames) per episode, then ``truncated``;
* a stack of the last 4 preprocessed frames.

Observations are uint8 arrays ``[n_envs, 4, 84, 84]``, oldest frame first; at reset the three
older frames are zeros. Rewards are float64, ``info["lives"]`` holds each game's lives.

Two backends build the same thing (:data:`AtariBackend`):

* ``"native"``: ale-py's C++ ``AtariVectorEnv`` (threaded, preprocessing built in; ale-py >= 0.11);
* ``"gymnasium"``: ``gym.make(id, frameskip=1, ...)`` per copy, wrapped in :class:`FireReset`,
  Gymnasium's ``AtariPreprocessing``, :class:`ClipRewardSign`, ``TimeLimit`` and
  ``FrameStackObservation``, in a sync (or async) vector env. It needs OpenCV
  (``pip install opencv-python-headless``), and it is the only backend that takes per-copy
  wrappers, constructor keyword arguments (``mode``, ``difficulty``) or a render mode.

``"auto"`` picks ``"native"`` whenever it can express the request, else ``"gymnasium"``.

Native vs Gymnasium, measured on ale-py 0.12.1 / Gymnasium 1.4: with ``noop_max=0`` and no sticky
actions the two backends are pixel-for-pixel identical (observations, rewards, terminations,
truncations, through automatic resets), since both emulate deterministically, press FIRE for one
frame at reset, pool, resize and stack the same way. They differ, so runs are not interchangeable,
in:

* no-op starts: the native env draws ``U{0..noop_max-1}`` frames (one fewer when it pressed FIRE)
  from its own Mersenne Twister, Gymnasium draws ``U{1..noop_max}`` from the env's NumPy
  generator, so the same seed gives different start states;
* sticky actions: ALE's own generator is seeded with ``seed`` by the native env and with a value
  derived from ``seed`` by Gymnasium;
* the time limit: the native env counts emulator frames and may cut the last step short (after
  ``max_episode_steps * frame_skip`` frames), Gymnasium's ``TimeLimit`` counts agent steps;
  for whole steps these agree;
* ``info``: the native env also reports ``env_id`` and its frame counters count the reset's
  frames; Gymnasium adds ``_key`` masks.
"""

from __future__ import annotations

import dataclasses
import importlib
import importlib.util
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal, SupportsFloat

import gymnasium as gym
import numpy as np
from gymnasium.envs.registration import EnvSpec
from gymnasium.error import DependencyNotInstalled
from gymnasium.vector import AutoresetMode

from rlworks.envs.make import SeededVectorEnv
from rlworks.envs.registry import env_family, is_atari_id, missing_extra_hint, resolve_env_id
from rlworks.errors import EnvError

__all__ = [
    "AtariBackend",
    "AtariOptions",
    "ClipRewardSign",
    "FireReset",
    "SeededAtariVectorEnv",
    "atari_action_meanings",
    "atari_game",
    "atari_options_of",
    "make_atari_env",
    "make_atari_single_env",
    "preprocesses_by_default",
    "resolve_atari_options",
]

AtariBackend = Literal["auto", "native", "gymnasium"]
"""Which implementation steps the games: ``"native"`` (ale-py's C++ ``AtariVectorEnv``),
``"gymnasium"`` (Gymnasium wrappers in a sync or async vector env) or ``"auto"`` (native when it
can express the request)."""

_BACKENDS = ("auto", "native", "gymnasium")
_OPENCV_HINT = (
    "the gymnasium Atari backend resizes frames with OpenCV, which is not installed: "
    "pip install opencv-python-headless"
)
# Constructor arguments the preprocessing owns; env_kwargs may not set them.
_OWNED_KWARGS = frozenset(
    {"frameskip", "repeat_action_probability", "obs_type", "max_num_frames_per_episode"}
)
# The native env's frame limit when there is no time limit (a C int).
_NO_FRAME_LIMIT = 2**31 - 1
Wrapper = Callable[[gym.Env[Any, Any]], gym.Env[Any, Any]]


@dataclass(frozen=True)
class AtariOptions:
    """The chapter's Atari preprocessing settings; the defaults are the book's (and DQN's)."""

    clip_rewards: bool = True
    """Replace each step's reward by its sign (-1, 0, +1): on for training envs, off for
    evaluation envs, which must report the game score."""
    terminal_on_life_loss: bool = False
    """End the episode (``terminated``) when a life is lost; the game then restarts."""
    noop_max: int = 30
    """Most no-op frames played at reset (>= 0; 0 turns random starts off)."""
    frame_skip: int = 4
    """Emulator frames per agent step (>= 1); the last two are max-pooled."""
    frame_stack: int = 4
    """Preprocessed frames per observation (>= 1), oldest first."""
    screen_size: int | tuple[int, int] = 84
    """Frame size: ``84`` for 84x84, or ``(height, width)``; ``(210, 160)`` keeps full frames."""
    fire_reset: bool = True
    """Press FIRE at reset in games whose action set has FIRE (Breakout launches its ball)."""
    fire_on_life_loss: bool = False
    """Also press FIRE right after each lost life, as the chapter's watch loop does: evaluation
    plays whole games this way, so that a policy that never learned to serve (trained with
    ``terminal_on_life_loss``, or not yet) does not stall until ``max_episode_steps``. Gymnasium
    backend only."""
    repeat_action_probability: float = 0.0
    """Sticky actions: the chance that the emulator repeats the previous action on a frame."""
    max_episode_steps: int | None = 27_000
    """Agent steps before an episode is truncated (27,000 steps = 108k frames = 30 minutes of
    play); None for no limit."""

    def __post_init__(self) -> None:
        """Check every field and name the first bad one."""
        for name in ("clip_rewards", "terminal_on_life_loss", "fire_reset", "fire_on_life_loss"):
            if not isinstance(getattr(self, name), bool):
                raise EnvError(
                    f"Atari option {name} must be True or False, got {getattr(self, name)!r}"
                )
        for name, low in (("noop_max", 0), ("frame_skip", 1), ("frame_stack", 1)):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < low:
                raise EnvError(f"Atari option {name} must be an integer >= {low}, got {value!r}")
        steps = self.max_episode_steps
        if steps is not None and (
            isinstance(steps, bool) or not isinstance(steps, int) or steps < 1
        ):
            raise EnvError(
                f"Atari option max_episode_steps must be None or an integer >= 1, got {steps!r}"
            )
        p = self.repeat_action_probability
        if isinstance(p, bool) or not isinstance(p, (int, float)) or not 0.0 <= p <= 1.0:
            raise EnvError(f"Atari option repeat_action_probability must be in [0, 1], got {p!r}")
        _ = self.frame_shape  # validates screen_size

    @property
    def frame_shape(self) -> tuple[int, int]:
        """``(height, width)`` of one preprocessed frame."""
        size = self.screen_size
        pair = (size, size) if isinstance(size, int) else tuple(size)
        if len(pair) != 2 or any(
            isinstance(v, bool) or not isinstance(v, int) or v < 1 for v in pair
        ):
            raise EnvError(
                f"Atari option screen_size must be an integer >= 1 or (height, width), got {size!r}"
            )
        return int(pair[0]), int(pair[1])

    @classmethod
    def from_mapping(cls, options: Mapping[str, Any]) -> AtariOptions:
        """Options from a mapping (a preset, ``make_env(atari={...})``); names unknown keys."""
        known = {field.name for field in dataclasses.fields(cls)}
        unknown = sorted(set(options) - known)
        if unknown:
            raise EnvError(
                f"unknown Atari option {unknown[0]!r}; expected one of {', '.join(sorted(known))}"
            )
        return cls(**dict(options))


# --------------------------------------------------------------------------- wrappers
class FireReset(gym.Wrapper[Any, Any, Any, Any]):
    """Press FIRE for one step after every reset, for games that wait for it (Breakout), and
    with ``on_life_loss`` after every lost life too (the chapter's watch loop).

    Wrap the raw one-frame-per-step environment, *under* the frame-skipping preprocessing, so
    that FIRE lasts one emulator frame as in ale-py's native vector env. Environments whose
    action set has no FIRE are passed through unchanged.
    """

    def __init__(
        self, env: gym.Env[Any, Any], *, at_reset: bool = True, on_life_loss: bool = False
    ) -> None:
        """Wrap ``env``, an ALE environment (its ``unwrapped`` has ``get_action_meanings``
        and ``ale``); ``at_reset`` and ``on_life_loss`` say when FIRE is pressed."""
        super().__init__(env)
        self.at_reset = at_reset
        meanings = atari_action_meanings(env)
        self.fire_action: int | None = meanings.index("FIRE") if "FIRE" in meanings else None
        self.on_life_loss = on_life_loss and self.fire_action is not None
        self._lives = 0

    def step(self, action: Any) -> tuple[Any, SupportsFloat, bool, bool, dict[str, Any]]:
        """Step; with ``on_life_loss``, a step that cost a life (and did not end the game) is
        followed by one FIRE frame, whose reward joins the step's."""
        obs, reward, terminated, truncated, info = self.env.step(action)
        if not self.on_life_loss:
            return obs, reward, terminated, truncated, info
        lives = int(self.env.unwrapped.ale.lives())  # type: ignore[attr-defined]
        lost, self._lives = lives < self._lives, lives
        if lost and not (terminated or truncated):
            obs, extra, terminated, truncated, info = self.env.step(self.fire_action)
            reward = float(reward) + float(extra)
            self._lives = int(self.env.unwrapped.ale.lives())  # type: ignore[attr-defined]
        return obs, reward, terminated, truncated, info

    def reset(
        self, *, seed: int | None = None, options: dict[str, Any] | None = None
    ) -> tuple[Any, dict[str, Any]]:
        """Reset, then press FIRE once (resetting again if that ends the game)."""
        obs, info = self.env.reset(seed=seed, options=options)
        self._lives = int(self.env.unwrapped.ale.lives())  # type: ignore[attr-defined]
        if self.fire_action is None or not self.at_reset:
            return obs, info
        obs, _, terminated, truncated, step_info = self.env.step(self.fire_action)
        if terminated or truncated:
            return self.env.reset(options=options)
        return obs, {**info, **step_info}


class ClipRewardSign(gym.RewardWrapper[Any, Any]):
    """Replace each reward by its sign, -1.0, 0.0 or +1.0 (DQN's reward clipping)."""

    def reward(self, reward: SupportsFloat) -> float:
        """The sign of ``reward``."""
        return float(np.sign(float(reward)))


class SeededAtariVectorEnv(SeededVectorEnv):
    """The vector env :func:`make_atari_env` returns: a seeded vector env that also records the
    backend it runs on and its preprocessing options."""

    def __init__(
        self,
        env: gym.vector.VectorEnv,
        env_id: str,
        seed: int | None,
        *,
        backend: Literal["native", "gymnasium"],
        options: AtariOptions,
    ) -> None:
        """Wrap ``env``, made by ``backend`` from ``env_id`` with ``options``."""
        super().__init__(env, env_id, seed)
        self.backend: Literal["native", "gymnasium"] = backend
        self.options = options


class _NativeAtari(gym.vector.VectorWrapper):
    """Adapts ale-py's ``AtariVectorEnv`` to what the rest of rlworks passes and expects.

    Seeds may be a list (``None`` entries keep that copy's generator), actions any integer array
    or sequence, and rewards come back as float64 like Gymnasium's vector envs.
    """

    def reset(
        self, *, seed: int | list[int | None] | None = None, options: dict[str, Any] | None = None
    ) -> tuple[Any, dict[str, Any]]:
        """Reset the copies (all, or those in ``options["reset_mask"]``)."""
        native_seed: int | np.ndarray | None
        if isinstance(seed, (list, tuple)):
            native_seed = np.array([-1 if s is None else int(s) for s in seed], dtype=np.int64)
        else:
            native_seed = seed
        return self.env.reset(seed=native_seed, options=options)  # type: ignore[arg-type]

    def step(self, actions: Any) -> tuple[Any, Any, Any, Any, dict[str, Any]]:
        """Step every copy with its action; rewards as float64."""
        obs, rewards, terminated, truncated, info = self.env.step(
            np.asarray(actions, dtype=np.int64)
        )
        return obs, np.asarray(rewards, dtype=np.float64), terminated, truncated, info


# --------------------------------------------------------------------------- helpers
def atari_action_meanings(env: gym.Env[Any, Any]) -> list[str]:
    """The meanings (``"NOOP"``, ``"FIRE"``, ``"LEFT"``...) of an ALE environment's actions."""
    unwrapped = env.unwrapped
    meanings = getattr(unwrapped, "get_action_meanings", None)
    if meanings is None:
        raise EnvError(f"{type(unwrapped).__name__} is not an ALE environment (no action meanings)")
    return list(meanings())


def _atari_spec(env_id: str) -> EnvSpec:
    """Resolve an Atari id, with close matches for typos and the extra to install."""
    spec = resolve_env_id(env_id)  # unknown id: close matches; ale-py missing: the extra
    if env_family(spec) != "atari" or "game" not in spec.kwargs:
        raise EnvError(
            f"{env_id!r} is not an Atari game; Atari preprocessing needs an ALE id such as "
            "'ALE/Breakout-v5'"
        )
    if spec.kwargs.get("obs_type", "rgb") == "ram":
        raise EnvError(
            f"{env_id!r} observes the console's RAM; Atari preprocessing needs screen frames, "
            f"e.g. {spec.id.replace('-ram', '')!r}"
        )
    return spec


def _native_class() -> Callable[..., gym.vector.VectorEnv] | None:
    """ale-py's ``AtariVectorEnv`` (ale-py >= 0.11), or None when this ale-py has none."""
    try:
        module = importlib.import_module("ale_py.vector_env")
    except ImportError:
        return None
    cls: Callable[..., gym.vector.VectorEnv] | None = getattr(module, "AtariVectorEnv", None)
    return cls


def _pick_backend(
    backend: AtariBackend, why_not_native: str | None
) -> Literal["native", "gymnasium"]:
    if backend not in _BACKENDS:
        raise EnvError(f"backend must be one of {', '.join(_BACKENDS)}, got {backend!r}")
    if backend == "gymnasium":
        return "gymnasium"
    if why_not_native is None:
        return "native"
    if backend == "native":
        raise EnvError(f"the native Atari backend is not available: {why_not_native}")
    return "gymnasium"


def _make_native(
    spec: EnvSpec, n_envs: int, opts: AtariOptions, autoreset_mode: AutoresetMode | None
) -> gym.vector.VectorEnv:
    cls = _native_class()
    assert cls is not None  # _pick_backend checked it
    height, width = opts.frame_shape
    limit = opts.max_episode_steps
    venv = cls(
        spec.kwargs["game"],
        n_envs,
        max_num_frames_per_episode=_NO_FRAME_LIMIT if limit is None else limit * opts.frame_skip,
        repeat_action_probability=float(opts.repeat_action_probability),
        autoreset_mode=autoreset_mode or AutoresetMode.NEXT_STEP,
        img_height=height,
        img_width=width,
        grayscale=True,
        stack_num=opts.frame_stack,
        frameskip=opts.frame_skip,
        maxpool=True,
        noop_max=opts.noop_max,
        episodic_life=opts.terminal_on_life_loss,
        reward_clipping=opts.clip_rewards,
        use_fire_reset=opts.fire_reset,
    )
    return _NativeAtari(venv)


def _single_factory(
    spec: EnvSpec,
    opts: AtariOptions,
    *,
    render_mode: str | None = None,
    env_kwargs: Mapping[str, Any] | None = None,
    wrappers: Sequence[Wrapper] = (),
) -> Callable[[], gym.Env[Any, Any]]:
    """A factory of one preprocessed environment (the Gymnasium backend's sub-environment)."""
    if importlib.util.find_spec("cv2") is None:
        raise EnvError(_OPENCV_HINT)
    kwargs = dict(env_kwargs or {})
    owned = sorted(_OWNED_KWARGS & set(kwargs))
    if owned:
        raise EnvError(
            f"env_kwargs {owned[0]!r} is set by the Atari preprocessing; use its own option "
            "(frame_skip, repeat_action_probability, max_episode_steps) instead"
        )
    height, width = opts.frame_shape

    def factory() -> gym.Env[Any, Any]:
        from gymnasium.wrappers import AtariPreprocessing, FrameStackObservation, TimeLimit

        try:
            env: gym.Env[Any, Any] = gym.make(
                spec.id,
                frameskip=1,
                repeat_action_probability=float(opts.repeat_action_probability),
                obs_type="grayscale",  # the cheapest; the preprocessing reads the screen itself
                max_num_frames_per_episode=None,  # the TimeLimit below counts agent steps
                render_mode=render_mode,
                **kwargs,
            )
        except TypeError as exc:
            raise EnvError(
                f"environment {spec.id!r} rejected its arguments {kwargs}: {exc}"
            ) from exc
        if opts.fire_reset or opts.fire_on_life_loss:
            env = FireReset(env, at_reset=opts.fire_reset, on_life_loss=opts.fire_on_life_loss)
        env = AtariPreprocessing(
            env,
            noop_max=opts.noop_max,
            frame_skip=opts.frame_skip,
            screen_size=(width, height),  # OpenCV's (width, height)
            terminal_on_life_loss=opts.terminal_on_life_loss,
        )
        if opts.clip_rewards:
            env = ClipRewardSign(env)
        if opts.max_episode_steps is not None:
            env = TimeLimit(env, opts.max_episode_steps)
        env = FrameStackObservation(env, opts.frame_stack, padding_type="zero")
        for wrap in wrappers:
            env = wrap(env)
        return env

    return factory


# --------------------------------------------------------------------------- routing
def atari_game(env_id: str) -> str | None:
    """The ALE game an id plays (``"ALE/Breakout-v5"`` and ``"BreakoutNoFrameskip-v4"`` both
    play ``"breakout"``), or None for ids that are not Atari games."""
    if not is_atari_id(env_id):
        return None
    game = resolve_env_id(env_id).kwargs.get("game")
    return None if game is None else str(game)


def preprocesses_by_default(env_id: object) -> bool:
    """Whether rlworks' training, evaluation and loading give ``env_id`` the chapter's Atari
    preprocessing when nothing says otherwise: Atari games observed through their screen, yes;
    RAM-observing ids, other environments and factories, no."""
    if not isinstance(env_id, str) or not is_atari_id(env_id):
        return False
    spec = resolve_env_id(env_id)  # ale-py missing: the error names the extra
    return (
        env_family(spec) == "atari"
        and "game" in spec.kwargs
        and spec.kwargs.get("obs_type", "rgb") != "ram"
    )


def resolve_atari_options(
    env_id: object,
    atari: bool | AtariOptions | Mapping[str, Any] | None,
    *,
    evaluation: bool = False,
) -> AtariOptions | None:
    """What an ``atari`` setting (``TrainConfig.atari``, ``evaluate(atari=...)``) means for an id.

    Args:
        env_id: The environment id (or factory) the setting applies to.
        atari: None: automatic, the default options for Atari screen ids
            (:func:`preprocesses_by_default`) and none for anything else; False: none (the raw
            ALE environment); True: the default options; an :class:`AtariOptions` or a mapping
            of its fields: those options.
        evaluation: Options for evaluation: reward clipping off (returns are game scores),
            whole games (no end on a lost life) and FIRE pressed after each lost life.

    Returns:
        The options to make the environment with, or None for no preprocessing.

    Raises:
        EnvError: A mapping with an unknown key or a bad value.
    """
    if atari is None:
        if not preprocesses_by_default(env_id):
            return None
        options = AtariOptions()
    elif atari is False:
        return None
    elif atari is True:
        options = AtariOptions()
    elif isinstance(atari, AtariOptions):
        options = atari
    elif isinstance(atari, Mapping):
        options = AtariOptions.from_mapping(atari)
    else:
        raise EnvError(
            f"atari must be true, false, null or a mapping of Atari options, got {atari!r}"
        )
    if not evaluation:
        return options
    # Whole games, as the chapter's watch loop plays them: game scores, every life, FIRE pressed
    # after each lost one.
    return dataclasses.replace(
        options, clip_rewards=False, terminal_on_life_loss=False, fire_on_life_loss=True
    )


def atari_options_of(env: object) -> AtariOptions | None:
    """The preprocessing options of a vector env made by :func:`make_atari_env` (directly or
    through ``make_env(..., atari=...)``), or None for any other environment."""
    options = getattr(env, "options", None)
    return options if isinstance(options, AtariOptions) else None


# --------------------------------------------------------------------------- public makers
def make_atari_env(
    env_id: str,
    n_envs: int = 1,
    *,
    seed: int | None = 0,
    backend: AtariBackend = "auto",
    clip_rewards: bool = True,
    terminal_on_life_loss: bool = False,
    noop_max: int = 30,
    frame_skip: int = 4,
    frame_stack: int = 4,
    screen_size: int | tuple[int, int] = 84,
    fire_reset: bool = True,
    fire_on_life_loss: bool = False,
    repeat_action_probability: float = 0.0,
    max_episode_steps: int | None = 27_000,
    asynchronous: bool = False,
    wrappers: Sequence[Wrapper] = (),
    env_kwargs: Mapping[str, Any] | None = None,
    render_mode: str | None = None,
    autoreset_mode: AutoresetMode | None = None,
) -> SeededVectorEnv:
    """Make ``n_envs`` copies of an Atari game with the chapter's preprocessing.

    Example:
        >>> env = make_atari_env("ALE/Breakout-v5", n_envs=4, seed=0)
        >>> obs, info = env.reset()
        >>> obs.shape, obs.dtype
        ((4, 4, 84, 84), dtype('uint8'))
        >>> eval_env = make_atari_env("ALE/Breakout-v5", clip_rewards=False)  # game scores

    Args:
        env_id: An ALE id, e.g. ``"ALE/Breakout-v5"`` (legacy ``BreakoutNoFrameskip-v4`` ids work
            too: frame skipping and sticky actions are set by the options below).
        n_envs: Number of copies stepped together (>= 1).
        seed: Seed of the first reset (copy ``i`` gets ``seed + i``) and of the action spaces;
            None for nondeterministic runs.
        backend: ``"auto"``, ``"native"`` or ``"gymnasium"`` (see :data:`AtariBackend`).
        clip_rewards: Clip rewards to their sign: True for training, False for evaluation.
        terminal_on_life_loss: End the episode when a life is lost (the game restarts).
        noop_max: Most no-op frames at reset (0: every episode starts the same way).
        frame_skip: Emulator frames per agent step; the last two are max-pooled.
        frame_stack: Frames per observation.
        screen_size: Frame size, ``84`` or ``(height, width)``.
        fire_reset: Press FIRE at reset in games that have it.
        fire_on_life_loss: Press FIRE after each lost life too (Gymnasium backend).
        repeat_action_probability: Sticky-action probability (0 in the book, 0.25 in ALE v5).
        max_episode_steps: Agent steps before truncation (None: no limit).
        asynchronous: Step the Gymnasium backend's copies in subprocesses.
        wrappers: Callables applied in order to each preprocessed copy (Gymnasium backend).
        env_kwargs: Extra arguments of ale-py's ``AtariEnv`` such as ``mode`` or ``difficulty``
            (Gymnasium backend).
        render_mode: Render mode of the copies, e.g. ``"rgb_array"`` (Gymnasium backend).
        autoreset_mode: Gymnasium autoreset mode; None keeps next-step autoreset.

    Returns:
        A :class:`SeededAtariVectorEnv` (a :class:`~rlworks.envs.make.SeededVectorEnv`) with
        uint8 observations ``[n_envs, frame_stack, height, width]`` and a ``Discrete`` action
        space (the game's minimal action set); ``backend`` says which backend was picked.

    Raises:
        EnvError: Unknown or non-Atari id (with close matches), ale-py missing (names
            ``pip install "rlworks[atari]"``), OpenCV missing for the Gymnasium backend, a bad
            option, or a request the chosen backend cannot express.
    """
    if isinstance(n_envs, bool) or not isinstance(n_envs, int) or n_envs < 1:
        raise EnvError(f"n_envs must be an integer >= 1, got {n_envs!r}")
    opts = AtariOptions(
        clip_rewards=clip_rewards,
        terminal_on_life_loss=terminal_on_life_loss,
        noop_max=noop_max,
        frame_skip=frame_skip,
        frame_stack=frame_stack,
        screen_size=screen_size,
        fire_reset=fire_reset,
        fire_on_life_loss=fire_on_life_loss,
        repeat_action_probability=repeat_action_probability,
        max_episode_steps=max_episode_steps,
    )
    spec = _atari_spec(env_id)
    needs_gymnasium = [
        name
        for name, used in (
            ("asynchronous", asynchronous),
            ("wrappers", bool(wrappers)),
            ("env_kwargs", bool(env_kwargs)),
            ("render_mode", render_mode is not None),
            ("fire_on_life_loss", fire_on_life_loss),
            ("autoreset_mode=DISABLED", autoreset_mode is AutoresetMode.DISABLED),
        )
        if used
    ]
    why_not = (
        "ale-py has no AtariVectorEnv (needs ale-py >= 0.11)" if _native_class() is None else None
    )
    if needs_gymnasium:
        why_not = f"it takes no {', '.join(needs_gymnasium)}; use backend='gymnasium'"
    chosen = _pick_backend(backend, why_not)
    try:
        if chosen == "native":
            venv = _make_native(spec, n_envs, opts, autoreset_mode)
        else:
            factory = _single_factory(
                spec, opts, render_mode=render_mode, env_kwargs=env_kwargs, wrappers=wrappers
            )
            vector_cls = gym.vector.AsyncVectorEnv if asynchronous else gym.vector.SyncVectorEnv
            venv = vector_cls(
                [factory] * n_envs, autoreset_mode=autoreset_mode or AutoresetMode.NEXT_STEP
            )
    except DependencyNotInstalled as exc:
        hint = _OPENCV_HINT if "opencv" in str(exc).lower() else missing_extra_hint(env_id, exc)
        raise EnvError(hint or f"{env_id}: {exc}") from exc
    made = SeededAtariVectorEnv(venv, env_id, seed, backend=chosen, options=opts)
    made.has_time_limit = opts.max_episode_steps is not None
    return made


def make_atari_single_env(
    env_id: str,
    *,
    render_mode: str | None = None,
    clip_rewards: bool = False,
    options: AtariOptions | Mapping[str, Any] | None = None,
    env_kwargs: Mapping[str, Any] | None = None,
) -> gym.Env[Any, Any]:
    """Make one (non-vector) preprocessed Atari environment, for rendering and watching agents.

    Its observations are the ones :func:`make_atari_env` gives an agent (``[4, 84, 84]`` uint8),
    while ``render()`` with ``render_mode="rgb_array"`` returns the full-colour 210x160 screen, so
    it fits :func:`rlworks.viz.animation.render_episodes` as the environment factory.

    Args:
        env_id: An ALE id, e.g. ``"ALE/Breakout-v5"``.
        render_mode: Gymnasium render mode, e.g. ``"rgb_array"``.
        clip_rewards: Clip rewards to their sign (default off: watching reports game scores);
            overrides ``options``.
        options: Other preprocessing settings (:class:`AtariOptions` or a mapping of its fields).
        env_kwargs: Extra arguments of ale-py's ``AtariEnv`` (``mode``, ``difficulty``).

    Raises:
        EnvError: As :func:`make_atari_env` (the Gymnasium backend: OpenCV is needed).
    """
    if options is None:
        opts = AtariOptions()
    elif isinstance(options, AtariOptions):
        opts = options
    else:
        opts = AtariOptions.from_mapping(options)
    opts = dataclasses.replace(opts, clip_rewards=clip_rewards)
    spec = _atari_spec(env_id)
    try:
        return _single_factory(spec, opts, render_mode=render_mode, env_kwargs=env_kwargs)()
    except DependencyNotInstalled as exc:
        hint = _OPENCV_HINT if "opencv" in str(exc).lower() else missing_extra_hint(env_id, exc)
        raise EnvError(hint or f"{env_id}: {exc}") from exc
