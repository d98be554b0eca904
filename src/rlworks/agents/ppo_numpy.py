"""PPO in NumPy alone: the torch-free engine for small MLP policies on a CPU.

For a classic-control task, PPO's networks are two ``[64, 64]`` MLPs and a whole run is a few
seconds of arithmetic, while importing torch takes about one. :class:`NumpyPPO` trains the same
algorithm as :class:`~rlworks.agents.ppo.PPO` — the loop of
:class:`~rlworks.agents.ppo_common.PPOLoop`, the hand-written loss and gradient of
:class:`~rlworks.agents.ppo_fast.NumpyPPOLearner`, Adam
(:class:`~rlworks.optim_numpy.NumpyAdam`) — on :class:`~rlworks.nets.numpy_mlp.NumpyMLP`
networks, and never imports torch: ``rlworks train ppo CartPole-v1 --device cpu`` solves
CartPole in about a second and a half from the shell.

Same settings (:class:`~rlworks.agents.ppo_config.PPOConfig`), same checkpoints: parameters under
the torch network's state-dict names, the optimizer state of :class:`~rlworks.optim.FlatAdam`,
so ``rlworks eval``, ``rlworks record`` and :func:`rlworks.load` read a NumPy run with the torch
engine (unless its config says ``engine: numpy``), and either engine resumes the other's run.
What differs is the random numbers: the initial weights and the minibatch orders come from the
agent's NumPy generator rather than torch's, so the two engines take different (equally
distributed) trajectories from one seed.

It runs where the torch engine's hand-written gradient runs: tanh or relu MLPs, categorical or
diagonal-Gaussian heads, on the CPU, without curiosity. ``PPOConfig.engine`` chooses: ``numpy``
asks for it (and says why when it cannot), ``auto`` lets ``rlworks train`` pick it for a CPU run.

References: see :mod:`rlworks.agents.ppo`.
"""

from __future__ import annotations

from typing import Any, Literal

import gymnasium as gym
import numpy as np

from rlworks.agents.base import Agent
from rlworks.agents.ppo_common import PPOLoop
from rlworks.agents.ppo_config import PPOConfig
from rlworks.agents.ppo_fast import NumpyPPOLearner
from rlworks.buffers.rollout import RolloutBatch, RolloutBuffer
from rlworks.envs.spaces import require_bounded_actions
from rlworks.errors import CheckpointError, ConfigError
from rlworks.nets.numpy_mlp import (
    NUMPY_ACTIVATIONS,
    NumpyMLP,
    box_scaling,
    mlp_sizes,
    mode_actions,
    sample_actions,
    scale_inputs,
)
from rlworks.optim_numpy import NumpyAdam, clip_grad_norm
from rlworks.training.driver import Observer

__all__ = ["NumpyPPO"]


class NumpyPPO(PPOLoop, Agent[PPOConfig]):
    """PPO for Discrete and bounded Box actions, in NumPy alone (see the module docstring).

    Example:
        >>> agent = NumpyPPO(rw.make_env("CartPole-v1", n_envs=8, seed=0), config, seed=0)
        >>> agent.learn(100_000, target_return=475)  # config: e.g. the ppo-cartpole preset's
        >>> agent.save("ppo.pt"); rw.load("ppo.pt")  # read back as the torch engine, PPO
    """

    algo = "ppo"
    config_cls = PPOConfig
    observation_types = (gym.spaces.Box,)
    action_types = (gym.spaces.Discrete, gym.spaces.Box)
    default_torch_threads = 1  # one BLAS thread: the products are too small to share
    uses_torch = False

    @staticmethod
    def unsupported(config: PPOConfig, device: str = "cpu") -> str | None:
        """Why the NumPy engine cannot run ``config`` on ``device`` (None: it can)."""
        if device not in ("cpu", "auto"):
            return f"it runs on the CPU, not {device!r}"
        if config.activation not in NUMPY_ACTIVATIONS:
            return f"it implements {' and '.join(NUMPY_ACTIVATIONS)}, not {config.activation!r}"
        if config.curiosity != "none":
            return f"curiosity ({config.curiosity}) needs the torch engine"
        if config.engine == "torch":
            return "the config asks for the torch engine (engine: torch)"
        return None

    @classmethod
    def chosen(cls, config: PPOConfig, device: str, *, loading: bool = False) -> bool:
        """Whether ``config`` runs with this engine on ``device``.

        Training (``rlworks train``): ``engine: numpy`` (whose errors then say why it cannot
        run), or ``auto`` on ``device`` cpu when the engine supports the config. Loading a
        checkpoint, which either engine reads: ``engine: numpy`` on a device it runs on.
        """
        if loading:
            return config.engine == "numpy" and cls.unsupported(config, device) is None
        if config.engine == "numpy":
            return True
        return config.engine == "auto" and device == "cpu" and cls.unsupported(config) is None

    def __init__(
        self,
        env: gym.vector.VectorEnv | str,
        config: PPOConfig | None = None,
        *,
        seed: int = 0,
        device: str = "cpu",
    ) -> None:
        """See :class:`~rlworks.agents.base.Agent`; ``device`` must be cpu (or auto).

        Raises:
            ConfigError: A config or device the engine does not run (naming why).
            SpaceMismatchError: A Box action space with infinite bounds; ``scale_obs`` with
                unbounded observations.
        """
        super().__init__(env, config, seed=seed, device=device)
        cfg = self.config
        why = self.unsupported(cfg, device)
        if why is not None:
            raise ConfigError(f"the NumPy PPO engine cannot run this: {why}; use engine: torch")
        require_bounded_actions(self.action_space, self.algo, self.env_id)
        obs_space = self.observation_space
        assert isinstance(obs_space, gym.spaces.Box)
        self.obs_dim = int(np.prod(obs_space.shape))
        self._obs_center, self._obs_inv_half = box_scaling(obs_space, cfg.scale_obs, self.env_id)
        out = self._read_action_space()
        self._build_networks(out)
        self.optimizer = NumpyAdam(self.params, self.grads, cfg.learning_rate, eps=cfg.adam_eps)
        self.fast_learner = NumpyPPOLearner(
            self.actor, self.critic, self.head, self.action_start, cfg.batch_size,
            log_std=self.log_std if self.head == "gaussian" else None,
            log_std_grad=self.grads[: self.log_std.size] if self.head == "gaussian" else None,
            vf_coef=cfg.vf_coef, ent_coef=cfg.ent_coef, clip_range_vf=cfg.clip_range_vf,
            normalize_advantages=cfg.normalize_advantages,
        )  # fmt: skip
        self.buffer = RolloutBuffer.from_spaces(
            self.observation_space, self.action_space, cfg.n_steps, self.env.num_envs
        )
        self.curiosity = None
        self.num_timesteps = 0
        self.updates = 0
        self.policy_version: int = 0

    def _read_action_space(self) -> int:
        """Set the head, first action and action shape; return the actor's output width."""
        space = self.action_space
        self.head: Literal["categorical", "gaussian"]
        self.action_shape: tuple[int, ...] = ()
        if isinstance(space, gym.spaces.Discrete):
            self.head, self.action_start = "categorical", int(space.start)
            return int(space.n)
        assert isinstance(space, gym.spaces.Box)
        self.head, self.action_start, self.action_shape = "gaussian", 0, tuple(space.shape)
        self._low = np.asarray(space.low, dtype=np.float32)
        self._high = np.asarray(space.high, dtype=np.float32)
        return int(np.prod(space.shape))

    def _build_networks(self, out: int) -> None:
        """The flat parameter and gradient vectors, in torch's ``parameters()`` order (log_std
        for a Gaussian head, actor, critic), and the initialized networks viewing them."""
        cfg = self.config
        n_std = out if self.head == "gaussian" else 0
        n_actor = sum(mlp_sizes(self.obs_dim, cfg.actor_hidden_sizes, out))
        n_critic = sum(mlp_sizes(self.obs_dim, cfg.critic_hidden_sizes, 1))
        self.params = np.zeros(n_std + n_actor + n_critic, np.float32)
        self.grads = np.zeros_like(self.params)
        self.log_std = self.params[:n_std]
        self.log_std[...] = cfg.log_std_init
        a, c = slice(n_std, n_std + n_actor), slice(n_std + n_actor, None)
        self.actor = NumpyMLP(
            self.obs_dim, cfg.actor_hidden_sizes, out, cfg.activation, self.params[a], self.grads[a]
        )
        self.critic = NumpyMLP(
            self.obs_dim, cfg.critic_hidden_sizes, 1, cfg.activation, self.params[c], self.grads[c]
        )
        self.actor.initialize(cfg.init, 0.01, self.rng)  # a near-uniform initial policy
        self.critic.initialize(cfg.init, 1.0, self.rng)
        self._named = [
            *([("log_std", self.log_std)] if n_std else []),
            *self.actor.named_parameters("actor."),
            *self.critic.named_parameters("critic."),
        ]

    @property
    def observers(self) -> list[Observer]:
        """The rollout buffer."""
        return [self.buffer]

    # ------------------------------------------------------------------ acting
    def _prepare_obs(self, flat: np.ndarray) -> np.ndarray:
        return scale_inputs(flat, self._obs_center, self._obs_inv_half)

    def _inputs(self, obs: np.ndarray) -> np.ndarray:
        return self._prepare_obs(np.asarray(obs, dtype=np.float32).reshape(len(obs), -1))

    def _predict_values(self, obs: np.ndarray) -> np.ndarray:
        values: np.ndarray = self.critic.predict(self._inputs(obs))[:, 0]
        return values

    def _clip(self, actions: np.ndarray) -> np.ndarray:
        if self.head == "gaussian":
            clipped: np.ndarray = np.clip(actions, self._low, self._high)
            return clipped
        return actions

    def act(self, obs: np.ndarray, explore: bool = True) -> np.ndarray:
        """Sample (and stage for the rollout) while collecting; the mode otherwise. Box
        actions are clipped to the bounds; the log-probability is that of the action drawn."""
        x = self._inputs(obs)  # [N, D]
        out = self.actor.predict(x)  # [N, out]
        start, shape = self.action_start, self.action_shape
        if not explore:
            mode = mode_actions(out, self.head, action_start=start, action_shape=shape)
            return self._clip(mode)
        actions, log_probs = sample_actions(
            out, self.head, self.rng, log_std=self.log_std if self.head == "gaussian" else None,
            action_start=start, action_shape=shape,
        )  # fmt: skip
        self.buffer.stage(actions, log_probs, self.critic.predict(x)[:, 0])
        return self._clip(actions)

    # ------------------------------------------------------------------ learning
    def update(self, batch: RolloutBatch) -> dict[str, float]:
        """``n_epochs`` passes of minibatch steps on one rollout; returns mean diagnostics."""
        lr, clip_range = self.schedule()
        self.optimizer.lr = lr
        means, grad_norms, stopped_early = self._epochs_fast(batch, clip_range)
        return self._finish_update(batch, means, grad_norms, stopped_early, lr, clip_range)

    def _permutation(self, m: int) -> np.ndarray:
        return self.rng.permutation(m)

    def _clip_gradient(self) -> float:
        return clip_grad_norm(self.grads, self.config.max_grad_norm)

    def _policy_std(self) -> float | None:
        return float(np.exp(self.log_std).mean()) if self.head == "gaussian" else None

    # ------------------------------------------------------------------ checkpoints
    def _state(self) -> dict[str, Any]:
        return {"net": {name: view.copy() for name, view in self._named}, **self._loop_state()}

    def _load_state(self, state: dict[str, Any]) -> None:
        net = state["net"]
        names = [name for name, _ in self._named]
        if set(net) != set(names):
            missing, extra = sorted(set(names) - set(net)), sorted(set(net) - set(names))
            raise CheckpointError(
                f"the checkpoint's PPO network does not fit this one (missing {missing}, "
                f"unexpected {extra})"
            )
        for name, view in self._named:
            value = np.asarray(net[name], dtype=np.float32)
            if value.shape != view.shape:
                raise CheckpointError(
                    f"checkpoint parameter {name!r} has shape {list(value.shape)}, this network "
                    f"{list(view.shape)}"
                )
            view[...] = value
        self._load_loop_state(state)
