"""``evaluate``: run a policy or agent for whole episodes and report the return statistics.

Episode ``k`` of an evaluation starts from ``reset(seed=seed + k)`` whatever the number of
parallel environments, so results are reproducible and comparable across ``n_envs``, and
``evaluate(basic_policy, "CartPole-v1", episodes=500, seed=0)`` plays the chapter's episodes.
Atari games are played with the preprocessing the agent was trained with (frame stack, frame
skip, no-op starts...) but unclipped rewards, so that returns are game scores.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import Any, Protocol, runtime_checkable

import gymnasium as gym
import numpy as np
from gymnasium.vector import AutoresetMode

from rlworks.envs.atari import AtariOptions, atari_options_of, resolve_atari_options
from rlworks.envs.make import make_env
from rlworks.envs.registry import resolve_env_id
from rlworks.errors import NonFiniteError

__all__ = ["Actor", "EvalResult", "evaluate"]


@runtime_checkable
class Actor(Protocol):
    """Anything with an ``act(obs, explore=...)`` method: every rlworks agent."""

    env_id: str

    def act(self, obs: np.ndarray, explore: bool = True) -> np.ndarray: ...


@dataclass(frozen=True)
class EvalResult:
    """Statistics of an evaluation.

    Attributes:
        mean: Mean undiscounted episode return.
        std: Population standard deviation of the returns (NumPy's default, as in the chapter).
        min: Lowest return.
        max: Highest return.
        episodes: Number of episodes played.
        seed: Episode ``k`` was reset with ``seed + k``.
        returns: Every episode's return, in episode order.
        lengths: Every episode's length, in episode order.
    """

    mean: float
    std: float
    min: float
    max: float
    episodes: int
    seed: int
    returns: list[float]
    lengths: list[int]

    def to_dict(self, *, with_episodes: bool = True) -> dict[str, Any]:
        """A JSON-friendly dict; ``with_episodes=False`` drops the per-episode lists."""
        out = asdict(self)
        if not with_episodes:
            out.pop("returns")
            out.pop("lengths")
        return out


UNLIMITED_EPISODE_CAP = 10_000
"""Evaluation episodes of environments without a time limit are cut at this many steps."""


def _safety_limit(env_id: str) -> int | None:
    """A time limit for an environment that has none (CliffWalking-v1): a greedy policy that
    walks in circles would otherwise never finish its episode."""
    if resolve_env_id(env_id).max_episode_steps is not None:
        return None
    warnings.warn(
        f"{env_id} has no time limit; evaluation episodes are cut at {UNLIMITED_EPISODE_CAP:,} "
        "steps (pass max_episode_steps to choose)",
        stacklevel=3,
    )
    return UNLIMITED_EPISODE_CAP


def evaluate(
    agent: Actor | Callable[[np.ndarray], np.ndarray],
    env: str | None = None,
    *,
    episodes: int = 10,
    seed: int = 0,
    n_envs: int | None = None,
    deterministic: bool = True,
    max_episode_steps: int | None = None,
    env_kwargs: Mapping[str, Any] | None = None,
    wrappers: Sequence[Callable[[gym.Env[Any, Any]], gym.Env[Any, Any]]] = (),
    atari: bool | AtariOptions | Mapping[str, Any] | None = None,
) -> EvalResult:
    """Play ``episodes`` whole episodes and return their statistics.

    Example:
        >>> from rlworks.policies import basic_policy
        >>> evaluate(basic_policy, "CartPole-v1", episodes=500, seed=0).mean  # the chapter's
        41.698

    Args:
        agent: An rlworks agent (its greedy ``act(obs, explore=False)`` is used unless
            ``deterministic=False``) or a batch policy ``obs [N, ...] -> actions [N, ...]``.
        env: Environment id; defaults to the agent's ``env_id``.
        episodes: Number of episodes (>= 1).
        seed: Episode ``k`` is reset with ``seed + k``.
        n_envs: Parallel environments (default ``min(episodes, 8)``); does not change the
            returns of a deterministic policy.
        deterministic: Use the agent's greedy policy rather than its exploring one.
        max_episode_steps: Override of the environment's time limit.
        env_kwargs: Extra keyword arguments for the environment.
        wrappers: Wrappers applied to each environment copy.
        atari: Atari preprocessing. None (automatic): for an ALE id, the options of the agent's
            own environment (``agent.env``) when it has them, the raw game when the agent was
            made on the raw game, else the default options; in every automatic case rewards
            are not clipped, so returns are game scores. False: the raw game; True: the default
            options, unclipped; an :class:`~rlworks.envs.atari.AtariOptions` or a mapping of
            its fields: exactly those options.

    Raises:
        ValueError: ``episodes < 1`` or no environment given for a plain policy.
        EnvError: The environment cannot be made.
    """
    if episodes < 1:
        raise ValueError(f"episodes must be >= 1, got {episodes}")
    if n_envs is not None and n_envs < 1:
        raise ValueError(f"n_envs must be >= 1, got {n_envs}")
    if isinstance(agent, Actor):
        actor = agent
        env = env or agent.env_id

        def policy(obs: np.ndarray) -> np.ndarray:
            return actor.act(obs, explore=not deterministic)

    else:
        policy = agent  # type: ignore[assignment]
    if env is None:
        raise ValueError("evaluate() needs an environment id for a plain policy")
    options = _atari_options(agent, env, atari)
    no_limit = options is None or options.max_episode_steps is None
    if max_episode_steps is None and isinstance(env, str) and no_limit:
        max_episode_steps = _safety_limit(env)
    n = min(8 if n_envs is None else n_envs, episodes)
    venv = make_env(
        env,
        n,
        seed=None,
        vectorization="sync",
        autoreset_mode=AutoresetMode.DISABLED,
        max_episode_steps=max_episode_steps,
        env_kwargs=env_kwargs,
        wrappers=wrappers,
        atari=options,
    )
    try:
        returns, lengths = _play(venv, policy, episodes, seed)
    finally:
        venv.close()
    return EvalResult(
        mean=float(np.mean(returns)),
        std=float(np.std(returns)),
        min=float(np.min(returns)),
        max=float(np.max(returns)),
        episodes=episodes,
        seed=seed,
        returns=[float(r) for r in returns],
        lengths=[int(n) for n in lengths],
    )


def _atari_options(
    agent: object, env: str, atari: bool | AtariOptions | Mapping[str, Any] | None
) -> AtariOptions | None:
    """The preprocessing evaluation plays ``env`` with (see :func:`evaluate`'s ``atari``)."""
    if atari is not None and not isinstance(atari, bool):
        return resolve_atari_options(env, atari)  # explicit options: exactly those
    if atari is None:
        if not resolve_atari_options(env, None):
            return None  # not an Atari screen id
        own_env = getattr(agent, "env", None)
        if own_env is not None:
            # The agent's own preprocessing (None: it was made on the raw game), game scores.
            own = atari_options_of(own_env)
            return None if own is None else resolve_atari_options(env, own, evaluation=True)
    return resolve_atari_options(env, atari, evaluation=True)


def _play(
    venv: gym.vector.VectorEnv, policy: Callable[[np.ndarray], np.ndarray], episodes: int, seed: int
) -> tuple[np.ndarray, np.ndarray]:
    """Assign episodes to env slots in order; a slot that finishes starts the next episode."""
    n = venv.num_envs
    returns = np.zeros(episodes)
    lengths = np.zeros(episodes, dtype=np.int64)
    slot_episode = np.arange(n)  # which episode each slot is playing; -1 once the slot is idle
    next_episode = n
    obs, _ = venv.reset(seed=[seed + k for k in range(n)])  # type: ignore[arg-type]
    while (slot_episode >= 0).any():
        obs, reward, terminated, truncated, _ = venv.step(policy(obs))
        active = slot_episode >= 0
        returns[slot_episode[active]] += reward[active]
        lengths[slot_episode[active]] += 1
        done = terminated | truncated
        if not done.any():
            continue
        seeds: list[int | None] = [None] * n
        for i in np.flatnonzero(done & active):
            if next_episode < episodes:
                slot_episode[i] = next_episode
                seeds[i] = seed + next_episode
                next_episode += 1
            else:
                slot_episode[i] = -1
        # Idle slots are reset too (unseeded), so that no env is stepped past its episode end.
        obs, _ = venv.reset(seed=seeds, options={"reset_mask": done})  # type: ignore[arg-type]
    if not np.all(np.isfinite(returns)):
        bad = int(np.flatnonzero(~np.isfinite(returns))[0])
        raise NonFiniteError(f"episode {bad} (seed {seed + bad}) has a non-finite return")
    return returns, lengths
