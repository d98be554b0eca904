"""Deep Q-learning: the chapter's DQN and its variants, composed from config switches.

The loop (TF-Agents' two-part architecture): the driver plays the ε-greedy collect policy and
its observers write every transition to the replay buffer; every ``train_freq`` units the agent
takes ``gradient_steps`` gradient steps on batches sampled from the buffer, towards targets from
a target network that follows the online one every ``target_update_period`` units (a copy, or a
Polyak step with ``tau < 1``). With ``async_collection`` the two parts overlap: the driver collects
in a background thread with the actor, a copy of the online network synced every
``actor_sync_period`` gradient steps, while the learner takes its gradient steps.

Which target, head, buffer and loss are used is decided by :class:`DQNConfig`: ``double``,
``dueling``, ``prioritized``, ``n_step``, ``distributional`` and ``noisy``; Rainbow is all six.
Image observations (a 3-D uint8 Box, channels first) get the Nature DQN's CNN under the same
heads (``conv_layer_params``, ``fc_layer_params``); their frames stay uint8 in the replay buffer
and on the way to the network, which divides them by 255, and they always take the autograd
path (the NumPy learner and NumPy acting serve plain MLPs only).

References: Mnih et al., "Human-level control through deep reinforcement learning", 2015
(https://doi.org/10.1038/nature14236); van Hasselt et al. 2016 (Double DQN); Schaul et al. 2016
(prioritized replay, https://arxiv.org/abs/1511.05952); Wang et al. 2016 (dueling); Bellemare et
al. 2017 (C51); Fortunato et al. 2018 (noisy nets); Hessel et al. 2018 (Rainbow,
https://arxiv.org/abs/1710.02298); Géron, *Hands-On Machine Learning*, ch. 18.
"""

from __future__ import annotations

import copy
import math
import threading
from typing import Any, Literal

import gymnasium as gym
import numpy as np
import torch

from rlworks import schedules
from rlworks.agents.base import Agent
from rlworks.agents.dqn.config import DQNConfig
from rlworks.agents.dqn.fast import BatchQ, NumpyTDLearner
from rlworks.agents.dqn.losses import categorical_loss, categorical_projection, q_targets, td_loss
from rlworks.buffers import (
    FrameReplayBuffer,
    PrioritizedFrameReplayBuffer,
    PrioritizedReplayBuffer,
    ReplayBatch,
    ReplayBuffer,
)
from rlworks.envs.atari import atari_options_of
from rlworks.errors import ConfigError, NonFiniteError
from rlworks.nets import (
    NATURE_CONV_LAYER_PARAMS,
    NATURE_FC_LAYER_PARAMS,
    QNetwork,
    as_float_batch,
    flat_size,
    is_image_space,
    seeded,
)
from rlworks.nets.flat import FlatParameters
from rlworks.optim import FlatAdam, make_optimizer
from rlworks.training.async_collect import collect_in_background
from rlworks.training.driver import Driver, Observer
from rlworks.training.metrics import EpisodeProgress

__all__ = ["DQN"]


class DQN(Agent[DQNConfig]):
    """Deep Q-network agent for discrete actions: DQN, Double, Dueling, PER, n-step, C51, noisy.

    Example:
        >>> env = rw.make_env("CartPole-v1", n_envs=1, seed=0)
        >>> agent = DQN(env, DQNConfig(double=True, dueling="mean"), seed=0)
        >>> result = agent.learn(50_000, target_return=475, progress=False)
    """

    algo = "dqn"
    config_cls = DQNConfig
    observation_types = (gym.spaces.Box,)
    action_types = (gym.spaces.Discrete,)
    action_space_hint = (
        ". DQN picks the action with the largest Q-value, so it needs a finite set of actions: "
        "use sac or ppo for continuous actions, or discretize the action space "
        "(rlworks.envs.discretize)"
    )
    default_torch_threads = 1  # small MLPs: a second thread costs more in hand-offs than it saves

    def torch_threads(self) -> int | None:
        """1 for MLPs; torch's default (a thread per core) for a conv network, whose train
        step took 45 ms on one thread and 27 ms on two here (Nature CNN, batch 32), unless
        ``async_collection`` gives the collector a core of its own (one thread each)."""
        if self.q_net.is_conv and not self.config.async_collection:
            return None
        return self.default_torch_threads

    def __init__(
        self,
        env: gym.vector.VectorEnv | str,
        config: DQNConfig | None = None,
        *,
        seed: int = 0,
        device: str = "auto",
    ) -> None:
        """See :class:`~rlworks.agents.base.Agent`.

        Raises:
            SpaceMismatchError: Continuous (or other non-Discrete) actions; the message suggests
                SAC/PPO or discretizing the actions.
            ConfigError: Invalid settings, or a replay buffer larger than the free memory.
        """
        super().__init__(env, config, seed=seed, device=device)
        cfg = self.config
        assert isinstance(self.action_space, gym.spaces.Discrete)
        self.n_actions = int(self.action_space.n)
        with seeded(seed):
            self.q_net = self._make_network().to(self.device)
        self.q_net.reset_noise(self.torch_rng)  # noisy nets explore from the first step
        # One flat parameter vector: one optimizer kernel and one norm per step, not one per layer.
        self.flat = FlatParameters(self.q_net)
        self.target_net = copy.deepcopy(self.q_net).requires_grad_(False)
        self._numpy_learner = (
            NumpyTDLearner(self.q_net, cfg.batch_size)
            if NumpyTDLearner.supports(self.q_net)
            else None
        )
        self._batch_q: dict[Literal["online", "target"], BatchQ] = {}  # see _numpy_targets
        self.optimizer: torch.optim.Optimizer | FlatAdam = (
            FlatAdam(self.flat.param, cfg.learning_rate, eps=cfg.optimizer_eps)
            if cfg.optimizer == "adam"
            else make_optimizer(
                cfg.optimizer,
                [self.flat.param],
                cfg.learning_rate,
                eps=cfg.optimizer_eps,
                rho=cfg.rmsprop_rho,
                centered=cfg.rmsprop_centered,
            )
        )
        buffer_kwargs: dict[str, Any] = {"n_step": cfg.n_step, "gamma": cfg.gamma}
        if cfg.prioritized:
            buffer_kwargs["alpha"] = cfg.priority_alpha
        self.buffer: ReplayBuffer | FrameReplayBuffer
        if self._frame_replay():  # stacked frames: each one stored once
            frames_cls = PrioritizedFrameReplayBuffer if cfg.prioritized else FrameReplayBuffer
            self.buffer = frames_cls.from_spaces(
                self.observation_space, self.action_space, cfg.buffer_size, **buffer_kwargs
            )
        else:
            buffer_cls = PrioritizedReplayBuffer if cfg.prioritized else ReplayBuffer
            self.buffer = buffer_cls.from_spaces(
                self.observation_space, self.action_space, cfg.buffer_size, **buffer_kwargs
            )
        self.epsilon_schedule = _exploration_schedule(cfg)
        self.progress = EpisodeProgress(self.env.num_envs)
        self.gradient_steps = 0
        self.policy_version: int = 0
        self.best_return = -math.inf
        self.best_net: QNetwork | None = None  # keep_best: the weights of the best episode
        # The collect policy's network and generator: the online ones, or with async_collection
        # the actor's own (the learner changes the online weights while the collector acts).
        self._buffer_lock = threading.Lock()
        self.actor_net = self.q_net
        self.actor_rng = self.rng
        # eval_epsilon's draws: a stream of their own, so that evaluations change no training draw
        self._eval_rng = np.random.default_rng(np.random.SeedSequence([seed, 2]))
        self._actor_synced_at = 0
        self._learner_ahead = 0  # gradient steps taken beyond the serial schedule (async)
        if cfg.async_collection:
            self.actor_net = copy.deepcopy(self.q_net).requires_grad_(False)
            self.actor_rng = np.random.default_rng(np.random.SeedSequence([seed, 1]))

    def _frame_replay(self) -> bool:
        """Whether the replay buffer stores stacked frames once each (``frame_replay``)."""
        mode = self.config.frame_replay
        if mode != "auto":
            return mode == "on"
        options = atari_options_of(self.env)
        stacked = options is not None and options.frame_stack > 1
        return stacked and is_image_space(self.observation_space)

    def _make_network(self) -> QNetwork:
        """The configured Q-network: an MLP on flattened vectors, or a CNN on image frames
        (Nature DQN layers unless ``conv_layer_params`` / ``fc_layer_params`` say otherwise)."""
        cfg = self.config
        space = self.observation_space
        shape = tuple(space.shape or ())
        conv = cfg.conv_layer_params
        if conv is None and is_image_space(space):
            conv = [list(layer) for layer in NATURE_CONV_LAYER_PARAMS]
        if conv is not None and len(conv) > 0 and len(shape) != 3:
            raise ConfigError(
                f"conv_layer_params {conv} needs image observations of shape (channels, height, "
                f"width); {self.env_id} has observations of shape {shape}: set "
                "conv_layer_params to null or [] for an MLP"
            )
        if not conv:  # vector observations, or images flattened on purpose ([])
            return self._build_network(flat_size(shape), cfg.hidden_sizes, None)
        fc = list(NATURE_FC_LAYER_PARAMS) if cfg.fc_layer_params is None else cfg.fc_layer_params
        try:
            return self._build_network(shape, fc, conv)
        except ConfigError as exc:
            if cfg.conv_layer_params is not None:
                raise
            raise ConfigError(
                f"{exc} (conv_layer_params is null, so the Nature DQN's layers were picked for "
                "these image observations: set conv_layer_params to layers that fit, or [] for "
                "an MLP)"
            ) from None

    def _build_network(
        self,
        obs_dim: int | tuple[int, ...],
        hidden_sizes: list[int],
        conv_layer_params: list[list[int]] | None,
    ) -> QNetwork:
        cfg = self.config
        uint8 = np.dtype(self.observation_space.dtype) == np.uint8
        return QNetwork(
            obs_dim,
            self.n_actions,
            hidden_sizes,
            conv_layer_params=conv_layer_params,
            input_scale=255.0 if uint8 else 1.0,  # pixels to [0, 1]; float images as they are
            activation=cfg.activation,
            init=cfg.init,
            dueling=cfg.dueling_head,
            noisy=cfg.noisy,
            noisy_sigma0=cfg.noisy_sigma0,
            atoms=cfg.atoms if cfg.distributional else 1,
            v_min=cfg.v_min,
            v_max=cfg.v_max,
        )

    # ------------------------------------------------------------------ acting
    @property
    def observers(self) -> list[Observer]:
        """The replay buffer, and the agent's own step, episode and return counts."""
        return [self.buffer, self.progress]

    @property
    def units(self) -> int:
        """Progress in the config's unit: environment steps or episodes observed."""
        progress = self.progress
        return progress.steps if self.config.unit == "steps" else progress.episodes

    @property
    def epsilon(self) -> float:
        """Exploration rate of the collect policy now."""
        return float(self.epsilon_schedule(self.units))

    def act(self, obs: np.ndarray, explore: bool = True) -> np.ndarray:
        """ε-greedy actions while collecting (with the noisy network's current noise when
        ``noisy``); greedy ones otherwise (the best-episode weights with ``keep_best``), or
        ε-greedy with ``eval_epsilon`` when it is above 0."""
        n = len(obs)
        rng = self.actor_rng
        if n == 1 and explore:  # one env: the same draws as below, without the masks
            eps = self.epsilon
            if eps > 0 and rng.random() < eps:
                return np.array([rng.integers(0, self.n_actions)])
            if self._numpy_learner is not None and self.actor_net is self.q_net:
                return self._numpy_learner.greedy_action(obs)
            return self._greedy(self.actor_net, obs, noisy=self.config.noisy)
        actions = np.empty(n, dtype=np.int64)
        random_rows = np.zeros(n, dtype=bool)
        eps = self.epsilon if explore else self.config.eval_epsilon
        if eps > 0:
            if not explore:
                rng = self._eval_rng
            random_rows = rng.random(n) < eps
            actions[random_rows] = rng.integers(0, self.n_actions, random_rows.sum())
        greedy_rows = ~random_rows
        if greedy_rows.any():
            rows = obs if greedy_rows.all() else obs[greedy_rows]
            if explore:
                net = self.actor_net
            else:
                net = self.q_net if self.best_net is None else self.best_net
            actions[greedy_rows] = self._greedy(net, rows, noisy=explore and self.config.noisy)
        return actions

    def _obs_tensor(self, obs: Any) -> torch.Tensor:
        """A batch of observations on the device, as the network takes it: image frames as they
        are (uint8 ``[N, C, H, W]``, no float copy: the network scales them on the device),
        vectors as flat float32 ``[N, D]``."""
        if self.q_net.is_conv:
            return torch.as_tensor(np.asarray(obs), device=self.device)
        return as_float_batch(obs, self.device)

    def _greedy(self, net: QNetwork, obs: np.ndarray, noisy: bool) -> np.ndarray:
        if not noisy and not net.is_conv:
            q = net.numpy_q(np.asarray(obs).reshape(len(obs), -1))
            if q is not None:
                greedy: np.ndarray = q.argmax(axis=1)
                return greedy
        with torch.inference_mode():
            if not noisy and self.config.noisy:
                q_values = self._mean_network_q(net, obs)
            else:
                q_values = net(self._obs_tensor(obs))
            actions: np.ndarray = q_values.argmax(dim=1).cpu().numpy()
            return actions

    def _mean_network_q(self, net: QNetwork, obs: np.ndarray) -> torch.Tensor:
        """Q-values of a noisy network without its noise (its mean weights)."""
        saved = [buf.clone() for name, buf in net.named_buffers() if "epsilon" in name]
        net.remove_noise()
        q: torch.Tensor = net(self._obs_tensor(obs))
        noise = [buf for name, buf in net.named_buffers() if "epsilon" in name]
        for buf, value in zip(noise, saved, strict=True):
            buf.copy_(value)
        return q

    # ------------------------------------------------------------------ the loop
    def train_iteration(self, driver: Driver) -> dict[str, float]:
        """Collect ``train_freq`` units, update the target network on schedule, then take
        ``gradient_steps`` gradient steps per ``train_freq`` units collected, once more than
        ``learning_starts`` units are in (and, after a resume, the buffer has refilled).
        With ``async_collection``, once learning has started, the collection overlaps the
        gradient steps (:meth:`_train_iteration_async`)."""
        cfg = self.config
        if cfg.async_collection and self._ready_to_learn():
            return self._train_iteration_async(driver)
        before = self.units
        self.progress.best_return = -math.inf
        if cfg.noisy:  # new exploration noise for this collection phase
            self.actor_net.reset_noise(self.torch_rng)
        if cfg.unit == "steps":
            driver.run(num_steps=cfg.train_freq)
        else:
            driver.run(num_episodes=cfg.train_freq)
        self._after_collection(before)
        info = {"epsilon": self.epsilon, "buffer_size": float(len(self.buffer))}
        if self._ready_to_learn():
            phases = self.units // cfg.train_freq - before // cfg.train_freq
            info.update(self.update(cfg.gradient_steps * max(phases, 1)))
        return info

    def _after_collection(self, before: int) -> None:
        """The target network follows on the unit count, as it passes multiples of the period;
        ``keep_best`` keeps the weights of a new best episode."""
        cfg = self.config
        passed = self.units // cfg.target_update_period - before // cfg.target_update_period
        if passed > 0:
            self._update_target(passed)
        if cfg.keep_best and self.progress.best_return >= self.best_return:
            self._keep_best()

    def _ready_to_learn(self) -> bool:
        """More than ``learning_starts`` units are in, and the buffer holds enough to sample
        (the replay buffer is not checkpointed: a resumed run refills it before learning)."""
        cfg = self.config
        warm = cfg.learning_starts if cfg.unit == "steps" else 0
        needed = max(cfg.batch_size, min(warm, cfg.buffer_size))
        return self.units > cfg.learning_starts and len(self.buffer) >= needed

    def _train_iteration_async(self, driver: Driver) -> dict[str, float]:
        """Collect ``train_freq`` units in a background thread with the actor while this
        thread takes the gradient steps the serial loop would take after them, then join.

        The learner samples what the buffer holds, so its batches may miss the transitions
        being collected (the serial loop's next phase). When the collector brings more units
        than planned (several environments, skipped autoreset rows, episodes) the learner
        catches up after the join; when fewer, it takes fewer steps next time: it never gets
        more than one iteration's gradient steps ahead of the serial schedule.
        """
        cfg = self.config
        before = self.units
        self.progress.best_return = -math.inf
        if cfg.noisy:  # new exploration noise for this collection phase
            self.actor_net.reset_noise(self.torch_rng)
        if cfg.unit == "steps":
            run: dict[str, int] = {"num_steps": cfg.train_freq}
            per_run = -(-cfg.train_freq // driver.num_envs) * driver.num_envs
            expected = (before + per_run) // cfg.train_freq - before // cfg.train_freq
        else:
            run, expected = {"num_episodes": cfg.train_freq}, 1
        todo = max(cfg.gradient_steps * max(expected, 1) - self._learner_ahead, 0)
        info: dict[str, float] = {}
        with collect_in_background(driver, self._buffer_lock, [self.buffer], **run):
            if todo:
                info = self.update(todo)
        phases = self.units // cfg.train_freq - before // cfg.train_freq
        self._learner_ahead += todo - cfg.gradient_steps * max(phases, 1)
        if self._learner_ahead < 0:
            info = self.update(-self._learner_ahead)
            self._learner_ahead = 0
        self._after_collection(before)
        if self.gradient_steps - self._actor_synced_at >= cfg.actor_sync_period:
            self._sync_actor()
        return {"epsilon": self.epsilon, "buffer_size": float(len(self.buffer)), **info}

    def _sync_actor(self) -> None:
        """Copy the online network's weights to the actor (async collection)."""
        if self.actor_net is not self.q_net:
            self.actor_net.load_state_dict(self.q_net.state_dict())
        self._actor_synced_at = self.gradient_steps

    def update(self, batch: Any = None) -> dict[str, float]:
        """Take gradient steps: ``batch`` is a :class:`ReplayBatch` to learn from once, or the
        number of steps to take on batches sampled from the buffer."""
        cfg = self.config
        size = cfg.batch_size
        whole: ReplayBatch | None = None
        if isinstance(batch, ReplayBatch):
            whole, size, n_steps = batch, len(batch.rewards), 1
        else:
            n_steps = int(batch) if batch is not None else cfg.gradient_steps
            if not cfg.prioritized:  # every batch of the phase in one uniform draw
                with self._buffer_lock:  # the collector may be adding (async_collection)
                    slots = self.rng.integers(0, len(self.buffer), size * n_steps)
                    whole = self.buffer.gather(slots)
        if whole is not None and self._numpy_learner is not None:
            losses, q_means, grad_norm = self._numpy_phase(whole, size, n_steps)
        else:
            losses, q_means, grad_norm = self._torch_phase(whole, size, n_steps)
        self.policy_version += 1
        return {
            "loss": float(np.mean(losses)),
            "q_mean": float(np.mean(q_means)),
            "grad_norm": grad_norm,
            "gradient_steps": float(self.gradient_steps),
        }

    def _numpy_phase(
        self, whole: ReplayBatch, size: int, n_steps: int
    ) -> tuple[list[float], list[float], float]:
        """``n_steps`` gradient steps of the NumPy learner on consecutive slices of ``whole``."""
        cfg = self.config
        learner = self._numpy_learner
        assert learner is not None
        obs = np.ascontiguousarray(whole.obs, np.float32).reshape(len(whole.rewards), -1)
        # Fixed targets do not change during a phase: value every next state in one pass.
        targets = None if cfg.double else self._numpy_targets(whole)
        weights = whole.weights if cfg.prioritized else None
        losses, q_means, grad_norm = [], [], 0.0
        for i in range(n_steps):
            rows = slice(i * size, (i + 1) * size)
            step_targets = (
                targets[rows]
                if targets is not None
                else self._numpy_targets(ReplayBatch(*(field[rows] for field in whole)))
            )
            loss, td_errors, q_mean = learner.loss_and_grad(
                obs[rows],
                whole.actions[rows],
                step_targets,
                None if weights is None else weights[rows],
                cfg.loss,
                cfg.huber_delta,
            )
            grad_norm = self._step_optimizer(loss)
            losses.append(loss)
            q_means.append(q_mean)
            if cfg.prioritized:
                self._update_priorities(whole.indices[rows], td_errors)
        return losses, q_means, grad_norm

    def _torch_phase(
        self, whole: ReplayBatch | None, size: int, n_steps: int
    ) -> tuple[list[float], list[float], float]:
        """``n_steps`` autograd gradient steps, on slices of ``whole`` or prioritized samples."""
        cfg = self.config
        losses, q_means, grad_norm = [], [], 0.0
        for i in range(n_steps):
            rows = slice(i * size, (i + 1) * size)
            sample = (
                ReplayBatch(*(field[rows] for field in whole))
                if whole is not None
                else self._sample_prioritized()
            )
            loss, info = self._loss(sample)
            self.flat.zero_grad()
            loss.backward()  # type: ignore[no-untyped-call]
            losses.append(float(loss.detach()))
            q_means.append(float(info["q_mean"]))
            grad_norm = self._step_optimizer(losses[-1])
            if cfg.prioritized:
                self._update_priorities(sample.indices, info["td_errors"].cpu().numpy())
        return losses, q_means, grad_norm

    def _step_optimizer(self, loss: float) -> float:
        """Clip the gradient and step, unless the loss or the gradient is not finite: a NaN
        stops the run before it reaches the weights (or any checkpoint). Returns the norm."""
        grad_norm = self.flat.clip_grad_norm(self.config.max_grad_norm)
        if not math.isfinite(loss):
            raise self._non_finite("loss")
        if not math.isfinite(grad_norm):
            raise self._non_finite("gradient")
        self.optimizer.step()
        self.gradient_steps += 1
        return grad_norm

    def _update_priorities(self, indices: np.ndarray, td_errors: np.ndarray) -> None:
        errors = np.abs(td_errors)
        self._check_finite(errors, "TD error")
        assert isinstance(self.buffer, PrioritizedReplayBuffer | PrioritizedFrameReplayBuffer)
        with self._buffer_lock:
            self.buffer.update_priorities(indices, errors, eps=self.config.priority_eps)

    def _batch_forward(self, role: Literal["online", "target"], net: QNetwork) -> BatchQ:
        """The :class:`BatchQ` of ``net`` (made again if the attribute now holds another one)."""
        forward = self._batch_q.get(role)
        if forward is None or forward.net is not net:
            forward = self._batch_q[role] = BatchQ(net)
        return forward

    def _numpy_targets(self, batch: ReplayBatch) -> np.ndarray:
        """TD targets ``[B]`` of a batch, the networks run by :class:`BatchQ`."""
        n = len(batch.rewards)
        next_obs = np.ascontiguousarray(batch.next_obs, np.float32).reshape(n, -1)  # [B, D]
        next_q = self._batch_forward("target", self.target_net)(next_obs)  # [B, A]
        if self.config.double:
            online = self._batch_forward("online", self.q_net)(next_obs)  # [B, A]
            next_values = next_q[np.arange(len(next_q)), online.argmax(axis=1)]
        else:
            next_values = next_q.max(axis=1)
        targets: np.ndarray = batch.rewards + batch.discounts * next_values
        return targets.astype(np.float32)

    def _sample_prioritized(self) -> ReplayBatch:
        cfg = self.config
        assert isinstance(self.buffer, PrioritizedReplayBuffer | PrioritizedFrameReplayBuffer)
        beta = cfg.priority_beta + (1.0 - cfg.priority_beta) * min(
            1.0, self.units / cfg.priority_beta_duration
        )
        with self._buffer_lock:
            return self.buffer.sample(cfg.batch_size, self.rng, beta)

    def _loss(self, batch: ReplayBatch) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        """The configured loss on one batch: scalar TD (fixed or Double targets) or C51."""
        cfg = self.config
        device = self.device
        obs = self._obs_tensor(batch.obs)  # [B, D] float32, or [B, C, H, W] uint8 frames
        next_obs = self._obs_tensor(batch.next_obs)  # as obs
        actions = torch.as_tensor(batch.actions, device=device).long()  # [B]
        rewards = torch.as_tensor(batch.rewards, device=device)  # [B]
        discounts = torch.as_tensor(batch.discounts, device=device)  # [B]
        weights = torch.as_tensor(batch.weights, device=device) if cfg.prioritized else None
        if cfg.noisy:  # fresh noise for every gradient step, online and target alike
            self.q_net.reset_noise(self.torch_rng)
            self.target_net.reset_noise(self.torch_rng)
        rows = torch.arange(len(actions), device=device)
        if cfg.distributional:
            log_probs = self.q_net.log_probs(obs)[rows, actions]  # [B, Z]
            with torch.no_grad():
                next_probs = self.target_net.log_probs(next_obs).exp()  # [B, A, Z]
                support = self.q_net.support
                chooser = self.q_net(next_obs) if cfg.double else next_probs @ support  # [B, A]
                best = chooser.argmax(dim=1)  # [B]
                target = categorical_projection(next_probs[rows, best], rewards, discounts, support)
            return categorical_loss(log_probs, target, weights)
        q_taken = self.q_net(obs)[rows, actions]  # [B]
        with torch.no_grad():
            targets = q_targets(
                rewards,
                discounts,
                self.target_net(next_obs),
                self.q_net(next_obs) if cfg.double else None,
            )  # [B]
        return td_loss(q_taken, targets, weights, cfg.loss, cfg.huber_delta)

    def _update_target(self, times: int) -> None:
        tau = self.config.tau
        with torch.no_grad():
            if tau >= 1.0:
                self.target_net.load_state_dict(self.q_net.state_dict())
                return
            online = [p.data for p in self.q_net.parameters()]
            target = [p.data for p in self.target_net.parameters()]
            for _ in range(times):  # each period passed is one Polyak step
                torch._foreach_lerp_(target, online, tau)

    def _keep_best(self) -> None:
        """Keep the weights that played the best episode: the actor's (the online network
        itself unless ``async_collection`` gave the collector a copy of its own)."""
        self.best_return = self.progress.best_return
        played = self.actor_net
        if self.best_net is None:
            self.best_net = copy.deepcopy(played).requires_grad_(False)
        else:
            self.best_net.load_state_dict(played.state_dict())

    def _check_finite(self, values: np.ndarray, what: str) -> None:
        if not np.isfinite(values).all():
            raise self._non_finite(what)

    def _non_finite(self, what: str) -> NonFiniteError:
        return NonFiniteError(
            f"non-finite DQN {what} at gradient step {self.gradient_steps + 1} "
            f"(env step {self.progress.steps}); the run stops before writing a checkpoint"
        )

    # ------------------------------------------------------------------ checkpoints
    def _state(self) -> dict[str, Any]:
        state = {
            "q_net": self.q_net.state_dict(),
            "target_net": self.target_net.state_dict(),
            "optimizer": self.optimizer.state_dict(),
            "steps": self.progress.steps,
            "episodes": self.progress.episodes,
            "gradient_steps": self.gradient_steps,
            "policy_version": self.policy_version,
            "best_return": self.best_return,
            "best_net": None if self.best_net is None else self.best_net.state_dict(),
        }
        if self.config.async_collection:
            state["actor_rng"] = self.actor_rng.bit_generator.state
            state["learner_ahead"] = self._learner_ahead
        return state

    def _load_state(self, state: dict[str, Any]) -> None:
        self.q_net.load_state_dict(state["q_net"])
        self.target_net.load_state_dict(state["target_net"])
        self.optimizer.load_state_dict(state["optimizer"])
        self.progress.steps = int(state["steps"])
        self.progress.episodes = int(state["episodes"])
        self.gradient_steps = int(state["gradient_steps"])
        self.policy_version = int(state["policy_version"])
        self.best_return = float(state["best_return"])
        if state["best_net"] is not None:
            self.best_net = copy.deepcopy(self.q_net).requires_grad_(False)
            self.best_net.load_state_dict(state["best_net"])
        if self.config.async_collection:
            if "actor_rng" in state:
                self.actor_rng.bit_generator.state = state["actor_rng"]
            self._learner_ahead = int(state.get("learner_ahead", 0))
        self._sync_actor()


def _exploration_schedule(cfg: DQNConfig) -> schedules.Schedule:
    start, end, duration = (
        cfg.exploration_initial_eps,
        cfg.exploration_final_eps,
        cfg.exploration_duration,
    )
    if cfg.exploration_schedule == "polynomial":
        return schedules.polynomial(start, end, duration, cfg.exploration_power)
    if cfg.exploration_schedule == "exponential":  # DQNConfig checked 0 < end <= start
        return schedules.exponential(start, end, (end / start) ** (1.0 / duration))
    return schedules.linear(start, end, duration)
