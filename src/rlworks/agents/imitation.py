"""Behaviour cloning: train a policy network to reproduce a hand-coded teacher policy.

The chapter checks that its CartPole policy network can learn at all by teaching it the *basic
policy* (push toward the side the pole leans): 50 environments in parallel, and at each of 5000
iterations one gradient step on the binary cross-entropy between the network's probabilities and
the teacher's actions for the 50 current observations, after which every environment steps with
an action *sampled from the network* (so it learns on the states it visits itself), resetting the
environments whose episode ended. This module is that loop for any teacher in
:data:`rlworks.policies.NAMED_POLICIES` and any :class:`~rlworks.nets.PolicyNetwork` head.

Who acts while collecting is a setting (``act_with``): the student, as in the chapter — the
teacher only labels the states the student reaches, which is DAgger's idea (Ross et al., 2011) —
or the teacher, which is plain behaviour cloning on the teacher's own state distribution (the
student never sees the states its own mistakes lead to).

Reference: Géron, *Hands-On Machine Learning*, ch. 18, "Neural Network Policies"; Ross, Gordon
and Bagnell, "A Reduction of Imitation Learning and Structured Prediction to No-Regret Online
Learning", 2011 (https://arxiv.org/abs/1011.0686).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Literal

import gymnasium as gym
import numpy as np
import torch

from rlworks.agents.base import Agent
from rlworks.envs.make import make_env
from rlworks.errors import ConfigError
from rlworks.nets.mlp import ACTIVATIONS, Init, as_float_batch, seeded
from rlworks.nets.policy import HeadName, PolicyNetwork
from rlworks.optim import make_optimizer
from rlworks.policies import NAMED_POLICIES, BatchPolicy, make_named_policy
from rlworks.training.driver import Driver, Observer
from rlworks.training.evaluation import Actor
from rlworks.types import Transition

__all__ = [
    "AgreementResult",
    "BehaviorCloning",
    "ImitationConfig",
    "imitation_agreement",
    "imitation_loss",
]


# ----------------------------------------------------------------------------- config
@dataclass
class ImitationConfig:
    """Hyperparameters of behaviour cloning; the defaults are the chapter's."""

    label = "imitation settings"

    teacher: str = "basic"
    """The policy to imitate: a name in ``rlworks.policies.NAMED_POLICIES`` (``basic``: the
    chapter's CartPole policy, action 0 when the pole angle is < 0, else 1)."""
    hidden_sizes: tuple[int, ...] = (5,)
    """Widths of the student's hidden layers (the chapter: one layer of 5 units; empty: a linear
    student, logistic regression for two actions)."""
    activation: str = "relu"
    """Hidden activation of the student (a name in ``rlworks.nets.ACTIVATIONS``)."""
    head: HeadName = "auto"
    """Action distribution of the student: auto (bernoulli for two actions, categorical for more,
    gaussian for Box actions), bernoulli, categorical or gaussian."""
    init: Init = "glorot"
    """Weight initialization of the student: glorot (Keras' default, as in the chapter), torch or
    orthogonal."""
    optimizer: Literal["rmsprop", "adam", "nadam", "sgd"] = "rmsprop"
    """Optimizer (the chapter: RMSprop with Keras' defaults, rho 0.9 and epsilon 1e-7)."""
    learning_rate: float = 0.001
    """Optimizer step size (Keras' RMSprop default, as in the chapter)."""
    steps_per_iteration: int = 100
    """Vector-env steps per ``train_iteration``, each followed by one gradient step on the
    observations it acted on (the chapter's iterations; 5000 of them = 50 ``train_iteration``
    calls)."""
    act_with: Literal["student", "teacher"] = "student"
    """Who acts while collecting: the student (the chapter; the teacher labels the states the
    student reaches, as in DAgger) or the teacher (plain behaviour cloning on the teacher's own
    states)."""
    explore: bool = True
    """With ``act_with: student``, the student samples its actions from its distribution (the
    chapter); false: it takes its most likely action."""

    def validate(self) -> None:
        """Check names and ranges; raise :class:`ConfigError` naming the key."""
        if self.teacher not in NAMED_POLICIES:
            raise ConfigError(
                f"teacher must be one of {', '.join(sorted(NAMED_POLICIES))}, got {self.teacher!r}"
            )
        if any(width < 1 for width in self.hidden_sizes):
            raise ConfigError(f"hidden_sizes must be widths >= 1, got {list(self.hidden_sizes)}")
        if self.activation not in ACTIVATIONS:
            raise ConfigError(
                f"activation must be one of {', '.join(ACTIVATIONS)}, got {self.activation!r}"
            )
        if not (self.learning_rate > 0 and math.isfinite(self.learning_rate)):
            raise ConfigError(f"learning_rate must be a positive number, got {self.learning_rate}")
        if self.steps_per_iteration < 1:
            raise ConfigError(f"steps_per_iteration must be >= 1, got {self.steps_per_iteration}")


# ----------------------------------------------------------------------------- the loss
def imitation_loss(
    network: PolicyNetwork, obs: torch.Tensor, teacher_actions: torch.Tensor
) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
    """Cross-entropy between the teacher's actions and the student's distribution.

    ``loss = -mean_i log π_student(a_teacher_i | s_i)``. For the bernoulli head this is Keras'
    binary cross-entropy of the chapter, ``-mean(y log p + (1 - y) log(1 - p))`` with ``y`` the
    teacher's action and ``p`` the student's probability of action 1; for the categorical head
    the sparse categorical cross-entropy; for the gaussian head (a continuous teacher) the
    negative log-likelihood of the teacher's actions under the student's Gaussian, which also
    learns the standard deviation.

    Args:
        network: The student.
        obs: Observations ``[B, *obs_shape]``.
        teacher_actions: The teacher's actions for them, ``[B, *action_shape]``.

    Returns:
        The loss (a scalar tensor with gradients) and diagnostics (detached scalar tensors).
    """
    log_prob = network.log_prob(obs, teacher_actions)  # [B]
    loss = -log_prob.mean()
    return loss, {"loss": loss.detach()}


# ----------------------------------------------------------------------------- the agent
class _ObservationRecorder:
    """Observer keeping the observations acted on since the last :meth:`take`."""

    def __init__(self) -> None:
        self._batches: list[np.ndarray] = []

    def __call__(self, transition: Transition) -> None:
        self._batches.append(np.array(transition.obs, copy=True))  # [B, *obs_shape]

    def clear(self) -> None:
        """Forget what was recorded."""
        self._batches = []

    def take(self) -> np.ndarray:
        """The recorded observations ``[B, *obs_shape]``, emptying the recorder."""
        batches, self._batches = self._batches, []
        return batches[0] if len(batches) == 1 else np.concatenate(batches)


class BehaviorCloning(Agent[ImitationConfig]):
    """A policy network trained to reproduce a hand-coded teacher (the chapter's first network).

    Example:
        >>> env = rw.make_env("CartPole-v1", n_envs=50, seed=0)
        >>> config = ImitationConfig(teacher="basic", learning_rate=0.01)
        >>> agent = BehaviorCloning(env, config, seed=0)
        >>> agent.learn(250_000, eval_episodes=100, progress=False)
        >>> imitation_agreement(agent, "basic", "CartPole-v1").agreement  # 0.998
    """

    algo = "bc"
    config_cls = ImitationConfig
    observation_types = (gym.spaces.Box,)
    action_types = (gym.spaces.Discrete, gym.spaces.Box)
    default_torch_threads = 1  # tiny networks: thread hand-offs cost more than they save

    def __init__(
        self,
        env: gym.vector.VectorEnv | str,
        config: ImitationConfig | None = None,
        *,
        seed: int = 0,
        device: str = "auto",
    ) -> None:
        """See :class:`~rlworks.agents.base.Agent`.

        The student's initial weights are drawn under a torch seed taken from the agent's
        ``torch_rng`` (inside :func:`rlworks.nets.mlp.seeded`, so torch's global generator is left
        as it was): the same seed gives the same network.

        Raises:
            SpaceMismatchError: The teacher or the student's head does not fit the environment
                (raised here, before any work).
        """
        super().__init__(env, config, seed=seed, device=device)
        teacher_seed = int(np.random.SeedSequence([seed, 1]).generate_state(1)[0])
        self.teacher = make_named_policy(self.config.teacher, self.env_id, self.env, teacher_seed)
        init_seed = int(torch.randint(2**62, (1,), generator=self.torch_rng).item())
        with seeded(init_seed):
            self.network = PolicyNetwork(
                self.observation_space,
                self.action_space,
                self.config.hidden_sizes,
                head=self.config.head,
                activation=self.config.activation,
                init=self.config.init,
                env_name=self.env_id,
            ).to(self.device)
        self.optimizer = make_optimizer(
            self.config.optimizer, self.network.parameters(), self.config.learning_rate
        )
        self.updates = 0
        self.policy_version: int = 0
        self._recorder = _ObservationRecorder()

    @property
    def observers(self) -> list[Observer]:
        """Records the observations each vector step acted on, for the teacher to label."""
        return [self._recorder]

    def act(self, obs: np.ndarray, explore: bool = True) -> np.ndarray:
        """Collecting (explore): the student's sampled actions, or the teacher's with
        ``act_with: teacher``; otherwise the student's most likely actions."""
        obs = np.asarray(obs)
        if explore and self.config.act_with == "teacher":
            return np.asarray(self.teacher(obs))
        if explore and self.config.explore:
            return self.network.sample(obs, self.rng)
        return self.network.mode(obs)

    def train_iteration(self, driver: Driver) -> dict[str, float]:
        """``steps_per_iteration`` times: one vector step, then one gradient step on the teacher's
        actions for the observations that step acted on (the chapter's iteration).

        ``driver.run(num_steps=1)`` takes exactly one vector step: its rows are all the
        sub-environments except those the vector env was only resetting (next-step autoreset),
        whose reset observation is labelled on the following step instead. The chapter computes
        the probabilities, takes the gradient step, then acts with the probabilities computed
        before it; acting first and then stepping on the same observations is the same thing.

        Returns:
            ``loss``: mean loss over the iteration's gradient steps; ``agreement``: share of the
            last batch on which the student's greedy action equals the teacher's exactly (for
            continuous actions see :func:`imitation_agreement`'s ``atol``); ``updates``:
            gradient steps so far.
        """
        self._recorder.clear()  # steps the driver took outside an iteration are not labelled
        total = torch.zeros((), device=self.device)
        obs = np.empty(0)
        for _ in range(self.config.steps_per_iteration):
            driver.run(num_steps=1)
            obs = self._recorder.take()  # [B, *obs_shape]
            total += self._gradient_step(obs, self.teacher(obs))
        self.policy_version += 1
        return {
            "loss": float(total) / self.config.steps_per_iteration,
            "agreement": float(_agrees(self.network.mode(obs), self.teacher(obs)).mean()),
            "updates": float(self.updates),
        }

    def update(self, batch: Any) -> dict[str, float]:
        """One gradient step on observations ``batch`` ``[B, *obs_shape]``, labelled by the
        teacher; returns the loss before the step and the greedy agreement after it."""
        obs = np.asarray(batch)
        teacher_actions = self.teacher(obs)
        loss = self._gradient_step(obs, teacher_actions)
        return {
            "loss": float(loss),
            "agreement": float(_agrees(self.network.mode(obs), teacher_actions).mean()),
        }

    def _gradient_step(self, obs: np.ndarray, teacher_actions: np.ndarray) -> torch.Tensor:
        """One optimizer step on the imitation loss; returns the (detached) loss before it."""
        obs_t = as_float_batch(obs, self.device)  # [B, D]
        actions_t = torch.as_tensor(np.asarray(teacher_actions), device=self.device)  # [B, ...]
        loss, info = imitation_loss(self.network, obs_t, actions_t)
        self.optimizer.zero_grad(set_to_none=True)
        loss.backward()  # type: ignore[no-untyped-call]
        self.optimizer.step()
        self.updates += 1
        return info["loss"]

    def _state(self) -> dict[str, Any]:
        return {
            "network": {k: v.detach().cpu() for k, v in self.network.state_dict().items()},
            "optimizer": self.optimizer.state_dict(),
            "updates": self.updates,
            "policy_version": self.policy_version,
        }

    def _load_state(self, state: dict[str, Any]) -> None:
        self.network.load_state_dict(state["network"])
        self.optimizer.load_state_dict(state["optimizer"])
        self.updates = int(state["updates"])
        self.policy_version = int(state["policy_version"])


# ----------------------------------------------------------------------------- measuring it
def _agrees(student: np.ndarray, teacher: np.ndarray, atol: float = 0.0) -> np.ndarray:
    """``[N]`` bool: row ``i`` of two action batches agree (every component within ``atol``)."""
    student_flat = np.asarray(student, dtype=np.float64).reshape(len(student), -1)  # [N, A]
    teacher_flat = np.asarray(teacher, dtype=np.float64).reshape(len(teacher), -1)  # [N, A]
    same: np.ndarray = np.all(np.abs(student_flat - teacher_flat) <= atol, axis=1)
    return same


@dataclass(frozen=True)
class AgreementResult:
    """How often a student's greedy actions equal its teacher's.

    Attributes:
        agreement: Share of the held-out states on which the actions agree.
        n_states: Number of held-out states.
        seed: Sub-environment ``i`` of the collection was reset with ``seed + i``.
        disagreements: Up to ``max_examples`` states where they differ ``[K, *obs_shape]``.
        student_actions: The student's actions on those states ``[K, *action_shape]``.
        teacher_actions: The teacher's actions on those states ``[K, *action_shape]``.
    """

    agreement: float
    n_states: int
    seed: int
    disagreements: np.ndarray
    student_actions: np.ndarray
    teacher_actions: np.ndarray

    def to_dict(self) -> dict[str, Any]:
        """A JSON-friendly dict."""
        return {
            "agreement": self.agreement,
            "n_states": self.n_states,
            "seed": self.seed,
            "disagreements": self.disagreements.tolist(),
            "student_actions": self.student_actions.tolist(),
            "teacher_actions": self.teacher_actions.tolist(),
        }


def imitation_agreement(
    student: Actor | BatchPolicy,
    teacher: str | BatchPolicy,
    env_id: str,
    *,
    n_states: int = 10_000,
    seed: int = 1_000_000,
    n_envs: int = 50,
    play_with: Literal["teacher", "student"] = "teacher",
    atol: float = 0.0,
    max_examples: int = 10,
) -> AgreementResult:
    """Share of held-out states on which the student's greedy action equals the teacher's.

    The states are those the *teacher* visits (by default) in fresh environments: the states on
    which imitating it matters, the same for every student (so agreements of different students
    or seeds compare), and free of the student's own drift. ``play_with="student"`` measures on
    the states the student's greedy policy visits instead (what its return depends on). The
    environments are reset with ``seed + i``; the default seed is far from the training seeds
    (``seed .. seed + n_envs - 1``) and evaluation seeds (``seed + 10_000 + k``) that
    ``rlworks train`` uses, so the states are held out from training.

    Args:
        student: An agent (its greedy ``act(obs, explore=False)`` is used) or a batch policy.
        teacher: A name in ``rlworks.policies.NAMED_POLICIES`` or a batch policy.
        env_id: Environment id.
        n_states: Number of states to compare on.
        seed: Seed of the collection's environments.
        n_envs: Parallel environments collecting the states.
        play_with: Whose actions drive the environments: ``teacher`` or ``student``.
        atol: Largest difference per action component still counted as agreeing (continuous
            actions); discrete actions must be equal.
        max_examples: Disagreeing states to return.

    Raises:
        ConfigError: ``n_states`` or ``n_envs`` below 1, an unknown teacher or ``play_with``.
        SpaceMismatchError: A named teacher does not fit the environment.
    """
    if n_states < 1 or n_envs < 1:
        raise ConfigError(f"n_states and n_envs must be >= 1, got {n_states} and {n_envs}")
    if play_with not in ("teacher", "student"):
        raise ConfigError(f"play_with must be teacher or student, got {play_with!r}")
    if isinstance(teacher, str) and teacher not in NAMED_POLICIES:
        raise ConfigError(
            f"teacher must be one of {', '.join(sorted(NAMED_POLICIES))}, got {teacher!r}"
        )
    student_policy = _greedy(student)
    env = make_env(env_id, n_envs, seed=seed)
    try:
        teacher_policy = (
            make_named_policy(teacher, env_id, env, seed) if isinstance(teacher, str) else teacher
        )
        recorder = _ObservationRecorder()
        driver = Driver(env, teacher_policy if play_with == "teacher" else student_policy)
        driver.observers.append(recorder)
        driver.run(num_steps=n_states, reset=True, seed=seed)
    finally:
        env.close()
    states = recorder.take()[:n_states]  # [n_states, *obs_shape]
    student_actions = np.asarray(student_policy(states))
    teacher_actions = np.asarray(teacher_policy(states))
    agree = _agrees(student_actions, teacher_actions, atol)  # [N]
    wrong = np.flatnonzero(~agree)[:max_examples]
    return AgreementResult(
        agreement=float(agree.mean()),
        n_states=n_states,
        seed=seed,
        disagreements=states[wrong],
        student_actions=student_actions[wrong],
        teacher_actions=teacher_actions[wrong],
    )


def _greedy(student: Actor | BatchPolicy) -> BatchPolicy:
    if isinstance(student, Actor):
        actor = student
        return lambda obs: actor.act(obs, explore=False)
    return student
