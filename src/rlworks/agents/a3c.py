"""A3C: asynchronous advantage actor-critic with worker processes and a master network.

The chapter's A3C ("Overview of Some Popular RL Algorithms"): several workers, each with its own
environments and a local copy of the actor-critic network, play ``n_steps``-step rollouts and
compute the gradient of the A2C loss (n-step or GAE advantages, value loss, entropy bonus) with
their local weights. They push those gradients to a master network, which applies each with its
optimizer as it arrives, and pull the master's updated weights before their next rollout. A
worker's gradient was thus computed with weights up to ``n_workers - 1`` updates old (reported
as ``staleness``); that asynchrony is what decorrelates the experience, where A2C (its
synchronous form, :mod:`rlworks.agents.a2c`) batches the workers' rollouts instead.

The loss, the gradient computation, the network and the optimizer are A2C's
(:func:`~rlworks.agents.a2c.a2c_gradient`, :func:`~rlworks.nets.actor_critic.make_actor_critic`,
:func:`~rlworks.agents.a2c.make_a2c_optimizer`), collection is a
:class:`~rlworks.training.driver.Driver` filling a :class:`~rlworks.buffers.RolloutBuffer` in
each worker. The worker/master boundary is :mod:`rlworks.distributed`: the master sees a
:class:`~rlworks.distributed.GradientServer` (here local processes with shared-memory gradient
and weight slots; the master alone steps its optimizer, so updates never race), and the workers
are built in their processes by the picklable :class:`A3CWorkerSpec`.

Each worker makes its own copies of the agent env's registered id: as many as the agent's env
has (``--n-envs`` is *per worker*), with the same time limit. Worker ``i`` seeds sub-environment
``e`` with ``seed + i * n_envs + e`` and its action sampling with ``SeedSequence([seed, i])``.
The trainer counts the steps of all workers (``--steps`` is the total), and its return metrics
see every worker's episodes. With one worker a run is reproducible; with more, the order in
which gradients reach the master depends on timing, so runs are not bit-reproducible.

Workers start with ``forkserver`` (or ``spawn``), which re-imports the main module in each worker:
a script that trains A3C must do so under ``if __name__ == "__main__":``, as for any
multiprocessing program. A worker that dies stops the run at once with a
:class:`~rlworks.distributed.WorkerError` naming it (index, pid, exit code), after every other
worker is stopped and joined.

References: Mnih et al., "Asynchronous Methods for Deep Reinforcement Learning", 2016
(https://arxiv.org/abs/1602.01783); Géron, *Hands-On Machine Learning*, ch. 18.
"""

from __future__ import annotations

import math
import weakref
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal, NamedTuple

import gymnasium as gym
import numpy as np
import torch

from rlworks.agents.a2c import (
    A2CConfig,
    a2c_gradient,
    make_a2c_optimizer,
    make_actor_critic,
    set_learning_rate,
)
from rlworks.agents.base import Agent
from rlworks.buffers import RolloutBuffer
from rlworks.distributed import (
    START_METHODS,
    GradientMessage,
    ProcessGradientServer,
    StepRecord,
    replay_steps,
)
from rlworks.envs.make import make_env
from rlworks.envs.registry import resolve_env_id
from rlworks.errors import ConfigError, EnvError, NonFiniteError
from rlworks.nets import seeded
from rlworks.nets.actor_critic import require_bounded_actions
from rlworks.nets.flat import FlatParameters
from rlworks.training.driver import Driver

if TYPE_CHECKING:
    from rlworks.training.trainer import TrainResult

__all__ = ["A3C", "A3CConfig", "A3CReport", "A3CWorker", "A3CWorkerSpec"]


# ----------------------------------------------------------------------------- config
@dataclass
class A3CConfig(A2CConfig):
    """Hyperparameters of A3C: A2C's (loss, rollout, optimizer, networks) plus the workers."""

    label = "A3C settings"

    n_workers: int = 2
    """Worker processes, each with its own envs (the agent env's number of copies) and local
    network."""
    start_method: Literal["auto", "forkserver", "spawn"] = "auto"
    """How worker processes start: forkserver (fast: forked from a server that imported rlworks
    once), spawn (portable), or auto (forkserver where available)."""
    worker_timeout: float = 120.0
    """Seconds the master waits for a gradient from any worker before stopping the run as hung
    (a dead worker is detected at once, whatever this value)."""

    def validate(self) -> None:
        """Check ranges; raise :class:`ConfigError` naming the key."""
        super().validate()
        if self.n_workers < 1:
            raise ConfigError(f"n_workers must be >= 1, got {self.n_workers}")
        if self.start_method not in START_METHODS:
            raise ConfigError(
                f"start_method must be one of {', '.join(START_METHODS)}, got {self.start_method!r}"
            )
        curiosity = getattr(self, "curiosity", "none")  # A2C's intrinsic-reward option
        if curiosity != "none":
            raise ConfigError(
                f"curiosity must be none for a3c (its workers add no intrinsic reward yet), "
                f"got {curiosity!r}"
            )
        if not (self.worker_timeout > 0 and math.isfinite(self.worker_timeout)):
            raise ConfigError(
                f"worker_timeout must be a positive number, got {self.worker_timeout}"
            )


# ----------------------------------------------------------------------------- the worker
class A3CReport(NamedTuple):
    """What a worker sends with each gradient.

    Attributes:
        record: Rewards and episode ends of the rollout, for the master's metrics.
        diagnostics: Loss parts of the rollout (loss, policy_loss, value_loss, entropy).
        grad_norm: Gradient norm before clipping.
    """

    record: StepRecord
    diagnostics: dict[str, float]
    grad_norm: float


@dataclass(frozen=True)
class A3CWorkerSpec:
    """Everything a worker process needs to build itself; pickled to reach it.

    Attributes:
        env_id: Registered environment id.
        n_envs: Sub-environments per worker.
        seed: The agent's seed.
        max_episode_steps: Time limit override (None: the registered one).
        config: The agent's config.
    """

    env_id: str
    n_envs: int
    seed: int
    max_episode_steps: int | None
    config: A3CConfig

    def __call__(self, index: int) -> A3CWorker:
        """Build worker ``index`` (in its process)."""
        return A3CWorker(self, index)


class A3CWorker:
    """One worker: its envs, its local actor-critic and rollout buffer (runs in its process)."""

    def __init__(self, spec: A3CWorkerSpec, index: int) -> None:
        """Make the envs (seeded ``seed + index * n_envs + e``) and the local network."""
        cfg = spec.config
        self.config, self.index, self.n_envs = cfg, index, spec.n_envs
        self.env = make_env(
            spec.env_id, spec.n_envs, seed=spec.seed + index * spec.n_envs,
            max_episode_steps=spec.max_episode_steps,
        )  # fmt: skip
        obs_space, action_space = self.env.single_observation_space, self.env.single_action_space
        self.net = make_actor_critic(obs_space, action_space, cfg, spec.env_id)
        self.flat = FlatParameters(self.net)
        self.rng = np.random.default_rng(np.random.SeedSequence([spec.seed, index]))
        self.buffer = RolloutBuffer.from_spaces(obs_space, action_space, cfg.n_steps, spec.n_envs)
        self.driver = Driver(self.env, self._act, [self.buffer])

    def _act(self, obs: np.ndarray) -> np.ndarray:
        actions, log_probs, values = self.net.act(obs, self.rng)  # [N, *act], [N], [N]
        self.buffer.stage(actions, log_probs, values)
        return self.net.clip(actions)

    def set_weights(self, weights: torch.Tensor) -> None:
        """Copy the master's flat parameters ``[P]`` into the local network."""
        self.flat.param.data.copy_(weights)

    def compute_gradients(self) -> tuple[torch.Tensor, A3CReport]:
        """Play ``n_steps`` in each env; return the A2C loss gradient ``[P]`` and the report."""
        cfg, buffer = self.config, self.buffer
        buffer.collect(self.driver)
        batch = buffer.compute_advantages(self.net.predict_values, cfg.gamma, cfg.gae_lambda)
        loss, info, norm = a2c_gradient(self.net, self.flat, batch, cfg)
        n = buffer.pos
        record = StepRecord(
            buffer.rewards[:n].copy(), buffer.terminated[:n].copy(),
            buffer.truncated[:n].copy(), buffer.valid[:n].copy(), self.index * self.n_envs,
        )  # fmt: skip
        diagnostics = {key: float(v) for key, v in info.items()}
        diagnostics["loss"] = float(loss.detach())
        return self.flat.grad, A3CReport(record, diagnostics, norm)

    def close(self) -> None:
        """Close the envs."""
        self.env.close()


def _time_limit(env: gym.vector.VectorEnv) -> int | None:
    """The time limit ``env``'s copies run with, when it can be read (None: registered one)."""
    base = env.unwrapped
    limit = getattr(base, "max_episode_steps", None)  # native classic-control vector envs
    if isinstance(limit, int):
        return limit
    for sub in getattr(base, "envs", ())[:1]:  # sync vector envs: look for a TimeLimit
        while isinstance(sub, gym.Wrapper):
            if isinstance(sub, gym.wrappers.TimeLimit):
                return int(sub._max_episode_steps)
            sub = sub.env
    return None


# ----------------------------------------------------------------------------- the agent
class A3C(Agent[A3CConfig]):
    """Asynchronous advantage actor-critic for Discrete and bounded Box actions.

    The agent is the master: ``train_iteration`` waits for the next worker gradient, applies it
    and sends that worker the new weights. Workers start on the first iteration and stop in
    :meth:`close` (called by :meth:`learn`, on any worker failure, and when the agent is
    garbage-collected or the interpreter exits).

    Example:
        >>> env = rw.make_env("CartPole-v1", n_envs=4, seed=0)  # 4 envs per worker
        >>> agent = A3C(env, A3CConfig(n_workers=2), seed=0)
        >>> result = agent.learn(500_000, target_return=475)  # steps of all workers
    """

    algo = "a3c"
    config_cls = A3CConfig
    observation_types = (gym.spaces.Box,)
    action_types = (gym.spaces.Discrete, gym.spaces.Box)
    default_torch_threads = 1

    def __init__(
        self,
        env: gym.vector.VectorEnv | str,
        config: A3CConfig | None = None,
        *,
        seed: int = 0,
        device: str = "auto",
    ) -> None:
        """See :class:`~rlworks.agents.base.Agent`.

        Raises:
            SpaceMismatchError: A Box action space with infinite bounds.
            ConfigError: An environment that is not a registered id (workers make their own).
        """
        super().__init__(env, config, seed=seed, device=device)
        cfg = self.config
        require_bounded_actions(self.action_space, self.algo, self.env_id)
        try:
            resolve_env_id(self.env_id)
        except EnvError:
            raise ConfigError(
                f"a3c workers make their own copies of the environment, so it needs a "
                f"registered environment id, not {self.env_id!r}"
            ) from None
        with seeded(seed):
            self.net = make_actor_critic(
                self.observation_space, self.action_space, cfg, self.env_id
            ).to(self.device)
        self.flat = FlatParameters(self.net)
        self.optimizer = make_a2c_optimizer(self.flat.param, cfg)
        self.worker_spec = A3CWorkerSpec(
            self.env_id, self.env.num_envs, seed, _time_limit(self.env), cfg
        )
        self.server: ProcessGradientServer | None = None
        self.num_timesteps = 0
        self.updates = 0
        self.policy_version: int = 0
        self._sent_at = np.zeros(cfg.n_workers, dtype=np.int64)  # master updates at last pull

    def act(self, obs: np.ndarray, explore: bool = True) -> np.ndarray:
        """A policy sample (explore) or the mode, from the master network; Box actions are
        clipped to the bounds."""
        if not explore:
            return self.net.clip(self.net.mode(obs))
        return self.net.clip(self.net.act(obs, self.rng)[0])

    # ------------------------------------------------------------------ workers
    def start_workers(self) -> ProcessGradientServer:
        """Start the worker processes (if not running) with the master's weights."""
        if self.server is None or not self.server.running:
            cfg = self.config
            server = ProcessGradientServer(
                self.worker_spec, cfg.n_workers, name="A3C worker",
                start_method=cfg.start_method, timeout=cfg.worker_timeout, preload=[__name__],
            )  # fmt: skip
            weakref.finalize(self, server.close)
            server.start(self.flat.param.data)
            self._sent_at[:] = self.updates
            self.server = server
        return self.server

    def close(self) -> None:
        """Stop and join the worker processes (idempotent)."""
        if self.server is not None:
            self.server.close()
            self.server = None

    # ------------------------------------------------------------------ the loop
    def train_iteration(self, driver: Driver) -> dict[str, float]:
        """Apply the next gradient from any worker, send it the new weights, and count its
        steps in ``driver``'s metrics."""
        server = self.start_workers()
        message = server.next_gradient()  # raises WorkerError if a worker dies
        try:
            info = self.update(message)
        except NonFiniteError:
            self.close()
            raise
        server.send_weights(message.worker, self.flat.param.data)
        self._sent_at[message.worker] = self.updates
        replay_steps(driver, message.report.record)
        return info

    def update(self, batch: GradientMessage) -> dict[str, float]:
        """One optimizer step of the master along a worker's gradient."""
        cfg, report = self.config, batch.report
        steps = report.record.steps
        if not math.isfinite(report.grad_norm):
            raise NonFiniteError(
                f"non-finite A3C gradient (norm {report.grad_norm}, loss "
                f"{report.diagnostics['loss']}) from worker {batch.worker} in update "
                f"{self.updates + 1}, after {self.num_timesteps + steps} env steps"
            )
        self.num_timesteps += steps
        lr = cfg.learning_rate
        if cfg.anneal_lr:
            lr *= max(0.0, 1.0 - self.num_timesteps / cfg.anneal_steps)
        set_learning_rate(self.optimizer, lr)
        self.flat.grad.copy_(batch.grads)
        self.optimizer.step()
        self.updates += 1
        self.policy_version += 1
        return {
            **report.diagnostics,
            "grad_norm": report.grad_norm, "learning_rate": lr, "updates": float(self.updates),
            "staleness": float(self.updates - 1 - self._sent_at[batch.worker]),
        }  # fmt: skip

    def learn(self, total_steps: int, **train_settings: Any) -> TrainResult:
        """:meth:`Agent.learn <rlworks.agents.base.Agent.learn>`, then stop the workers."""
        try:
            return super().learn(total_steps, **train_settings)
        finally:
            self.close()

    # ------------------------------------------------------------------ checkpoints
    def _state(self) -> dict[str, Any]:
        return {
            "net": self.net.state_dict(),
            "optimizer": self.optimizer.state_dict(),
            "num_timesteps": self.num_timesteps,
            "updates": self.updates,
            "policy_version": self.policy_version,
        }

    def _load_state(self, state: dict[str, Any]) -> None:
        self.close()  # running workers would push gradients of the old weights
        self.net.load_state_dict(state["net"])
        self.optimizer.load_state_dict(state["optimizer"])
        self.num_timesteps = int(state["num_timesteps"])
        self.updates = int(state["updates"])
        self.policy_version = int(state["policy_version"])
