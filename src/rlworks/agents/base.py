"""The agent protocol every rlworks algorithm implements.

An agent has two behaviours, as TF-Agents' ``collect_policy`` and ``policy``: ``act(obs,
explore=True)`` explores while collecting experience, ``act(obs, explore=False)`` is the greedy or
deterministic policy used for evaluation. ``train_iteration(driver)`` collects with the driver and
learns; ``update(batch)`` is the learning step itself. The base class supplies what every
algorithm shares and should not rewrite: space checks, seeding, device choice, checkpoints
(``save``/``load``, ``state_dict``/``load_state_dict``) and ``learn``.
"""

from __future__ import annotations

import abc
import dataclasses
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, Generic, Self, TypeVar

import gymnasium as gym
import numpy as np

from rlworks.config import config_from_dict, config_to_dict
from rlworks.envs.atari import (
    AtariOptions,
    atari_game,
    atari_options_of,
    resolve_atari_options,
)
from rlworks.envs.make import make_env
from rlworks.envs.spaces import require_spaces, space_signature
from rlworks.errors import CheckpointError, ConfigError, SpaceMismatchError
from rlworks.training.checkpoint import check_spaces, load_checkpoint, save_checkpoint
from rlworks.training.driver import Driver, Observer

if TYPE_CHECKING:
    import torch

    from rlworks.training.trainer import TrainResult

__all__ = ["Agent", "resolve_device"]

C = TypeVar("C")


def resolve_device(device: str) -> torch.device:
    """``"auto"`` → CUDA when available, else CPU; otherwise the named device.

    Raises:
        ConfigError: An unknown device name, or ``"cuda"`` on a machine without CUDA.
    """
    import torch

    if device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if device.startswith("cuda") and not torch.cuda.is_available():
        raise ConfigError(f"device {device!r} requested but CUDA is not available; use cpu or auto")
    try:
        return torch.device(device)
    except RuntimeError:
        raise ConfigError(f"device must be auto, cpu or cuda[:N], got {device!r}") from None


class Agent(abc.ABC, Generic[C]):
    """Base class of rlworks agents (one level deep: algorithms subclass it directly).

    Subclasses set the class attributes, implement ``act``, ``train_iteration``, ``update``,
    ``_state`` and ``_load_state``, and keep their hyperparameters in ``self.config``.

    Attributes:
        algo: Algorithm name used on the command line and in checkpoints.
        config_cls: The algorithm's config dataclass.
        observation_types: Observation space classes the algorithm handles.
        action_types: Action space classes the algorithm handles.
    """

    algo: ClassVar[str]
    config_cls: ClassVar[type[Any]]
    observation_types: ClassVar[tuple[type[gym.Space[Any]], ...]]
    action_types: ClassVar[tuple[type[gym.Space[Any]], ...]]
    action_space_hint: ClassVar[str] = ""
    """Appended to the error when an env's action space does not fit (what to use instead)."""
    default_torch_threads: ClassVar[int | None] = None
    """CPU threads torch should use while this algorithm trains, unless the run sets
    ``torch_threads``; None keeps torch's default (one per core). See :meth:`torch_threads`."""
    uses_torch: ClassVar[bool] = True
    """Whether the agent runs torch: its torch generator (``torch_rng``, seeded and
    checkpointed) and ``device`` exist only then. The NumPy engines set False and never import
    torch."""
    policy_version: int | None = None
    """Bumped by the algorithm whenever its greedy policy changes, so that the trainer can skip
    re-evaluating an unchanged policy; ``None`` means unknown (always evaluate)."""

    def __init__(
        self,
        env: gym.vector.VectorEnv | str,
        config: C | None = None,
        *,
        seed: int = 0,
        device: str = "auto",
    ) -> None:
        """Create an agent for an environment.

        Args:
            env: A vector env (see :func:`rlworks.make_env`) or an environment id, which is made
                with one copy (an Atari game with the chapter's preprocessing, see
                :func:`rlworks.envs.atari.make_atari_env`).
            config: The algorithm's config; defaults to ``config_cls()``.
            seed: Seeds the agent's NumPy generator and torch (and the env when ``env`` is an id).
            device: ``"auto"``, ``"cpu"`` or ``"cuda"``.

        Raises:
            SpaceMismatchError: The algorithm cannot handle the env's spaces.
            ConfigError: The config is invalid.
        """
        if isinstance(env, str):
            env = make_env(env, 1, seed=seed, atari=resolve_atari_options(env, None))
        self.env = env
        self.env_id: str = str(getattr(env, "env_id", getattr(env.spec, "id", "unknown")))
        self.observation_space = env.single_observation_space
        self.action_space = env.single_action_space
        require_spaces(
            self.algo,
            self.env_id,
            self.observation_space,
            self.action_space,
            self.observation_types,
            self.action_types,
            action_hint=self.action_space_hint,
        )
        if config is None:
            config = self.config_cls()
        elif not isinstance(config, self.config_cls):
            raise ConfigError(
                f"{self.algo} expects a {self.config_cls.__name__}, got {type(config).__name__}"
            )
        # Re-validate through the dict path so that hand-built configs get the same checks.
        self.config: C = config_from_dict(
            self.config_cls, config_to_dict(config), source=f"{self.algo} config"
        )
        self.seed = seed
        self.rng = np.random.default_rng(seed)
        if self.uses_torch:
            import torch

            self.torch_rng = torch.Generator().manual_seed(seed)
            self.device = resolve_device(device)

    # ----------------------------------------------------------------- what algorithms implement
    @abc.abstractmethod
    def act(self, obs: np.ndarray, explore: bool = True) -> np.ndarray:
        """Actions for a batch of observations ``[N, *obs_shape]`` → ``[N, *action_shape]``."""

    @abc.abstractmethod
    def train_iteration(self, driver: Driver) -> dict[str, float]:
        """Collect experience with ``driver`` (which calls ``act(obs, explore=True)``) and learn.

        Returns:
            Diagnostics to log (losses, exploration rate, ...), by name.
        """

    @abc.abstractmethod
    def update(self, batch: Any) -> dict[str, float]:
        """One learning step on a batch of experience; returns diagnostics."""

    @abc.abstractmethod
    def _state(self) -> dict[str, Any]:
        """The algorithm's learnable state (parameters, optimizer, counters) as plain data."""

    @abc.abstractmethod
    def _load_state(self, state: dict[str, Any]) -> None:
        """Restore what :meth:`_state` returned."""

    def reset_seed(self, index: int) -> int:
        """Seed of the environment reset before the agent's ``index``-th batch of whole episodes
        (a candidate, an update, a generation), derived from the agent's seed: a run resumed from
        a checkpoint plays exactly the episodes the uninterrupted run would have played."""
        return int(np.random.SeedSequence([self.seed, index]).generate_state(1)[0])

    @property
    def observers(self) -> list[Observer]:
        """Observers the algorithm adds to the collect driver (replay buffer, rollout storage)."""
        return []

    # ----------------------------------------------------------------- shared behaviour
    @property
    def collect_policy(self) -> Callable[[np.ndarray], np.ndarray]:
        """The exploring policy, as a batch callable (TF-Agents' ``collect_policy``)."""
        return lambda obs: self.act(obs, explore=True)

    @property
    def policy(self) -> Callable[[np.ndarray], np.ndarray]:
        """The greedy / deterministic policy, as a batch callable (TF-Agents' ``policy``)."""
        return lambda obs: self.act(obs, explore=False)

    def state_dict(self) -> dict[str, Any]:
        """Learnable state plus the agent's random generators, as plain data."""
        state: dict[str, Any] = {
            "algorithm": self._state(),
            "numpy_rng": self.rng.bit_generator.state,
        }
        if self.uses_torch:
            state["torch_rng"] = self.torch_rng.get_state()
        return state

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Restore what :meth:`state_dict` returned. A torch agent keeps its freshly seeded
        torch generator when the state has none (written by a NumPy engine)."""
        self._load_state(state["algorithm"])
        self.rng.bit_generator.state = state["numpy_rng"]
        if self.uses_torch and "torch_rng" in state:
            self.torch_rng.set_state(state["torch_rng"])

    def checkpoint_payload(self) -> dict[str, Any]:
        """Everything a checkpoint stores about this agent."""
        return {
            "algo": self.algo,
            "config": config_to_dict(self.config),
            "env_id": self.env_id,
            "atari": _options_dict(atari_options_of(self.env)),
            "seed": self.seed,
            "spaces": {
                "observation": space_signature(self.observation_space),
                "action": space_signature(self.action_space),
            },
            "agent": self.state_dict(),
        }

    def torch_threads(self) -> int | None:
        """CPU threads torch should use while this agent trains, unless the run sets
        ``torch_threads``: :attr:`default_torch_threads` unless the agent's networks say
        otherwise."""
        return self.default_torch_threads

    def save(self, path: str | Path) -> Path:
        """Write a checkpoint atomically; :func:`rlworks.load` or :meth:`load` reads it back."""
        return save_checkpoint(path, self.checkpoint_payload())

    @classmethod
    def from_payload(
        cls,
        payload: dict[str, Any],
        env: gym.vector.VectorEnv | str | None = None,
        *,
        device: str = "auto",
        source: str = "checkpoint",
    ) -> Self:
        """Rebuild an agent from a loaded checkpoint payload (see :func:`load_checkpoint`).

        Without ``env``, or with an environment id, the environment is made as the agent was
        trained: an Atari game with the checkpoint's preprocessing (frame stack, frame skip...).

        Raises:
            CheckpointError: The environment plays another Atari game, stacks another number or
                size of frames, or has other spaces than the checkpoint's.
        """
        config = config_from_dict(cls.config_cls, payload["config"], source=source)
        seed = int(payload["seed"])
        target = payload["env_id"] if env is None else env
        _check_game(payload, target, source)
        if isinstance(target, str):
            # None: trained without preprocessing; no key (older checkpoints): automatic.
            recorded = payload.get("atari")
            raw = "atari" in payload and recorded is None
            options = resolve_atari_options(target, False if raw else recorded)
            target = make_env(target, 1, seed=seed, atari=options)
        _check_frames(payload, target, source)
        try:
            agent = cls(target, config, seed=seed, device=device)
        except SpaceMismatchError as exc:
            raise CheckpointError(f"{source} does not fit: {exc}") from None
        check_spaces(
            payload,
            agent.observation_space,
            agent.action_space,
            env_name=agent.env_id,
            source=source,
        )
        agent.load_state_dict(payload["agent"])
        return agent

    @classmethod
    def load(
        cls,
        path: str | Path,
        env: gym.vector.VectorEnv | str | None = None,
        *,
        device: str = "auto",
    ) -> Self:
        """Load a checkpoint written by :meth:`save` or by the trainer.

        Args:
            path: Checkpoint file.
            env: Environment to attach; defaults to the checkpoint's env id with one copy.
            device: Where to put the networks.

        Raises:
            CheckpointError: The file is corrupt, from another format version or algorithm, or its
                spaces differ from ``env``'s.
        """
        payload = load_checkpoint(path)
        if payload["algo"] != cls.algo:
            raise CheckpointError(
                f"checkpoint {str(path)!r} holds a {payload['algo']} agent, not {cls.algo}"
            )
        return cls.from_payload(payload, env, device=device, source=f"checkpoint {str(path)!r}")

    def learn(self, total_steps: int, **train_settings: Any) -> TrainResult:
        """Train for ``total_steps`` environment steps in ``self.env``.

        Args:
            total_steps: Environment step budget.
            **train_settings: Fields of :class:`rlworks.training.TrainConfig` (``eval_every``,
                ``target_return``, ...) and ``run_dir`` / ``progress`` / ``callbacks``.

        Returns:
            The trainer's :class:`~rlworks.training.TrainResult`.
        """
        from rlworks.training.trainer import TrainConfig, train

        run_kwargs = {
            k: train_settings.pop(k)
            for k in ("run_dir", "progress", "callbacks")
            if k in train_settings
        }
        config = config_from_dict(
            TrainConfig,
            {"steps": total_steps, "seed": self.seed, **train_settings},
            source="learn()",
        )
        return train(self, config, **run_kwargs)


def _options_dict(options: AtariOptions | None) -> dict[str, Any] | None:
    """Atari options as plain data for a checkpoint (None: not a preprocessed Atari env)."""
    if options is None:
        return None
    out = dataclasses.asdict(options)
    if isinstance(out["screen_size"], tuple):
        out["screen_size"] = list(out["screen_size"])
    return out


def _env_name(env: gym.vector.VectorEnv | str) -> str:
    if isinstance(env, str):
        return env
    return str(getattr(env, "env_id", getattr(env.spec, "id", "unknown")))


def _check_game(payload: dict[str, Any], env: gym.vector.VectorEnv | str, source: str) -> None:
    """Refuse to put an agent trained on one Atari game into another game."""
    trained_id, env_id = str(payload["env_id"]), _env_name(env)
    if trained_id == env_id:
        return
    trained, wanted = atari_game(trained_id), atari_game(env_id)
    if trained is not None and trained != wanted:
        plays = f"the game {wanted!r}" if wanted is not None else "no Atari game"
        raise CheckpointError(
            f"{source} holds an agent trained on {trained_id} (the game {trained!r}), but "
            f"{env_id} plays {plays}; evaluate it on {trained_id}"
        )


def _check_frames(payload: dict[str, Any], env: gym.vector.VectorEnv, source: str) -> None:
    """Refuse an Atari env whose frame stack or frame size differs from the checkpoint's."""
    recorded, options = payload.get("atari"), atari_options_of(env)
    if not recorded or options is None:
        return  # space signatures still compare the observation shapes
    trained = AtariOptions.from_mapping(recorded)
    if (trained.frame_stack, trained.frame_shape) != (options.frame_stack, options.frame_shape):
        h, w = trained.frame_shape
        eh, ew = options.frame_shape
        raise CheckpointError(
            f"{source} was trained on stacks of {trained.frame_stack} frames of {h}x{w} "
            f"({payload['env_id']}), but this {_env_name(env)} env stacks "
            f"{options.frame_stack} frames of {eh}x{ew}; make it with frame_stack="
            f"{trained.frame_stack} and screen_size={h if h == w else (h, w)}"
        )
