"""Tabular learners as rlworks agents: Q-learning, SARSA, expected SARSA and TD(0) prediction.

Each agent keeps a table (``Q [S, A]``, or ``V [S]`` for TD(0)) and updates it from every
transition the driver collects, so it trains, checkpoints and evaluates through the same trainer as
every other algorithm (``rlworks train q-learning FrozenLake-v1``). States are the observations of
a ``Discrete`` space, or the bin indices of a ``Box`` observation cut by a
:class:`~rlworks.envs.discretize.Discretizer` (the chapter's discretized CartPole). Environments
that forbid some actions in some states (the chapter's MDP) say so with a ``valid_actions [S, A]``
attribute; impossible actions get ``-inf`` Q-values and are never chosen.

Learning rate (``learning_rate``): ``constant`` α0; ``power`` α0 / (1 + t · decay), the chapter's;
``visits`` 1 / N(s, a)^ω; ``logarithmic`` max(α_min, min(1, 1 - log10((t + 1) / 25))).
Exploration (``exploration``): ``random`` (the chapter's drunk monkey), ``epsilon`` (ε-greedy with
a linear, exponential, logarithmic or constant schedule) and ``bonus``, the chapter's exploration
function: act greedily on f(Q, N) = Q + k / (1 + N) and back up max f(Q(s', ·), N(s', ·)).
``t`` counts steps or episodes (``schedule_unit``).

References: Watkins & Dayan, "Q-learning", 1992 (https://doi.org/10.1007/BF00992698); Sutton &
Barto, *Reinforcement Learning: An Introduction*, ch. 6; Géron, ch. 18, "Temporal Difference
Learning", "Q-Learning" and "Exploration Policies".
"""

from __future__ import annotations

import math
import zlib
from dataclasses import dataclass
from typing import Any, ClassVar, Literal

import gymnasium as gym
import numpy as np
import torch

from rlworks import schedules
from rlworks.agents.base import Agent
from rlworks.envs.discretize import Discretizer
from rlworks.envs.spaces import space_signature
from rlworks.errors import ConfigError, NonFiniteError, SpaceMismatchError
from rlworks.tabular.exploration import (
    epsilon_greedy_actions,
    epsilon_greedy_probabilities,
    exploration_bonus,
    greedy_actions,
    random_actions,
)
from rlworks.tabular.updates import (
    earlier_repeats,
    expected_sarsa_targets,
    q_learning_targets,
    sarsa_targets,
    td0_targets,
    td_update,
)
from rlworks.training.driver import Driver, Observer
from rlworks.types import Transition

__all__ = ["SARSA", "TD0", "ExpectedSARSA", "QLearning", "TabularAgent", "TabularConfig"]


# ----------------------------------------------------------------------------- config
@dataclass
class TabularConfig:
    """Hyperparameters of the tabular learners (Q-learning, SARSA, expected SARSA, TD(0))."""

    label = "tabular settings"

    gamma: float = 0.99
    """Discount factor, in [0, 1]."""
    learning_rate: Literal["constant", "power", "visits", "logarithmic"] = "power"
    """How α evolves: constant α0, α0 / (1 + t·decay), 1 / N(s, a)^visit_exponent, or the
    chapter's max(alpha_min, min(1, 1 - log10((t + 1) / log_scale)))."""
    alpha0: float = 0.1
    """Initial (or constant) learning rate, in (0, 1]."""
    decay: float = 0.0
    """Decay of the power schedule: α halves after 1 / decay counts (the chapter: 0.005)."""
    alpha_min: float = 0.0
    """Floor of the visits and logarithmic learning rates."""
    visit_exponent: float = 1.0
    """ω of the visits schedule 1 / N^ω, in (0, 1]; below 1 forgets old estimates faster."""
    exploration: Literal["epsilon", "random", "bonus"] = "epsilon"
    """Behaviour while learning: ε-greedy, uniformly random, or greedy on Q + k / (1 + N)."""
    epsilon_schedule: Literal["linear", "exponential", "logarithmic", "constant"] = "linear"
    """How ε goes from epsilon_start to epsilon_end (logarithmic starts at 1 and uses
    log_scale)."""
    epsilon_start: float = 1.0
    """ε at t = 0."""
    epsilon_end: float = 0.05
    """ε after epsilon_decay_steps counts (the floor of the logarithmic schedule)."""
    epsilon_decay_steps: int = 10_000
    """Counts over which ε reaches epsilon_end (linear and exponential schedules)."""
    log_scale: float = 25.0
    """Counts during which the logarithmic schedules stay at 1 (the chapter uses 25 episodes)."""
    schedule_unit: Literal["steps", "episodes"] = "steps"
    """What t counts in the learning-rate and exploration schedules."""
    bonus_k: float = 1.0
    """Curiosity k of the exploration function f(Q, N) = Q + k / (1 + N)."""
    init_q: float = 0.0
    """Initial value of every possible entry of the table (optimism encourages exploration)."""
    discretize_bins: list[int] | None = None
    """Bins per binned observation dimension; required for Box observations (CartPole: [6, 12])."""
    discretize_dims: list[int] | None = None
    """Observation dimensions to bin (CartPole angle and angular velocity: [2, 3]); default all."""
    discretize_low: list[float] | None = None
    """Lower edges of the binned dimensions; default the observation space's bounds."""
    discretize_high: list[float] | None = None
    """Upper edges of the binned dimensions; default the observation space's bounds."""
    steps_per_iteration: int = 1000
    """Environment steps per trainer iteration (how often diagnostics are gathered)."""

    def validate(self) -> None:
        """Check ranges; raise :class:`ConfigError` naming the key."""
        _in_range("gamma", self.gamma, 0.0, 1.0)
        _in_range("epsilon_start", self.epsilon_start, 0.0, 1.0)
        _in_range("epsilon_end", self.epsilon_end, 0.0, 1.0)
        _in_range("alpha_min", self.alpha_min, 0.0, 1.0)
        if not 0.0 < self.alpha0 <= 1.0:
            raise ConfigError(f"alpha0 must be in (0, 1], got {self.alpha0}")
        if not 0.0 < self.visit_exponent <= 1.0:
            raise ConfigError(f"visit_exponent must be in (0, 1], got {self.visit_exponent}")
        for key in ("decay", "bonus_k"):
            value = getattr(self, key)
            if not (value >= 0 and math.isfinite(value)):
                raise ConfigError(f"{key} must be a finite number >= 0, got {value}")
        for key in ("epsilon_decay_steps", "steps_per_iteration"):
            if getattr(self, key) < 1:
                raise ConfigError(f"{key} must be >= 1, got {getattr(self, key)}")
        if not self.log_scale > 0:
            raise ConfigError(f"log_scale must be > 0, got {self.log_scale}")
        if not math.isfinite(self.init_q):
            raise ConfigError(f"init_q must be finite, got {self.init_q}")
        if self.epsilon_schedule == "exponential" and not (
            0 < self.epsilon_end <= self.epsilon_start
        ):
            raise ConfigError(
                "the exponential epsilon schedule decays: it needs 0 < epsilon_end <= "
                f"epsilon_start, got epsilon_start {self.epsilon_start}, epsilon_end "
                f"{self.epsilon_end}"
            )
        extras = ("discretize_dims", "discretize_low", "discretize_high")
        if self.discretize_bins is None and any(getattr(self, k) is not None for k in extras):
            raise ConfigError("discretize_dims/low/high need discretize_bins as well")


def _in_range(key: str, value: float, low: float, high: float) -> None:
    if not low <= value <= high:
        raise ConfigError(f"{key} must be in [{low:g}, {high:g}], got {value}")


# ----------------------------------------------------------------------------- shared machinery
class TabularAgent(Agent[TabularConfig]):
    """What every tabular learner shares: states, the table, schedules, counters, checkpoints.

    Subclasses choose the TD target (:meth:`targets`) and, for TD(0), the table's shape.
    """

    config_cls = TabularConfig
    observation_types = (gym.spaces.Discrete, gym.spaces.Box)
    action_types = (gym.spaces.Discrete,)
    table_kind: ClassVar[str] = "q"

    def __init__(
        self,
        env: gym.vector.VectorEnv | str,
        config: TabularConfig | None = None,
        *,
        seed: int = 0,
        device: str = "auto",
    ) -> None:
        """See :class:`~rlworks.agents.base.Agent`.

        Raises:
            SpaceMismatchError: A ``Box`` observation space without ``discretize_bins``.
        """
        super().__init__(env, config, seed=seed, device=device)
        cfg = self.config
        self.discretizer: Discretizer | None = None
        self._obs_start = 0
        space = self.observation_space
        if isinstance(space, gym.spaces.Box):
            if cfg.discretize_bins is None:
                size = int(np.prod(space.shape or ()))
                example = (
                    f"--set discretize_bins=[{','.join(['10'] * size)}]"
                    if size <= 4
                    else "--set discretize_dims=[0,1] --set discretize_bins=[10,10]"
                )
                raise SpaceMismatchError(
                    f"{self.algo} needs discrete states, but {self.env_id} observes "
                    f"{space_signature(space)}; set discretize_bins (and discretize_dims, "
                    f"discretize_low, discretize_high) to bin it, e.g. {example}"
                )
            self.discretizer = Discretizer(
                space, cfg.discretize_bins, cfg.discretize_dims, cfg.discretize_low,
                cfg.discretize_high,
            )  # fmt: skip
            self.n_states = self.discretizer.n_states
        else:
            assert isinstance(space, gym.spaces.Discrete)
            if cfg.discretize_bins is not None:
                raise ConfigError(
                    f"discretize_bins is for Box observations; {self.env_id} already has "
                    f"discrete states ({space_signature(space)})"
                )
            self.n_states, self._obs_start = int(space.n), int(space.start)
        assert isinstance(self.action_space, gym.spaces.Discrete)
        self.n_actions = int(self.action_space.n)
        self._action_start = int(self.action_space.start)
        self.valid = np.ones((self.n_states, self.n_actions), dtype=bool)  # [S, A]
        if self.discretizer is None:
            self.valid = find_valid_actions(self.env, self.n_states, self.n_actions)
        self.visits = np.zeros((self.n_states, self.n_actions), dtype=np.int64)  # N(s, a)
        self.table = self._initial_table()
        self.steps = 0
        self.episodes = 0
        self._alpha = _alpha_schedule(cfg)
        self._epsilon = _epsilon_schedule(cfg)
        # Diagnostics summed since the last train_iteration report.
        self._error_sum = self._alpha_sum = 0.0
        self._updates = 0

    def _initial_table(self) -> np.ndarray:
        q = np.full((self.n_states, self.n_actions), self.config.init_q)  # [S, A]
        q[~self.valid] = -np.inf
        return q

    # ------------------------------------------------------------------ states and actions
    def states(self, obs: np.ndarray) -> np.ndarray:
        """Table indices of a batch of observations: ``[N, ...]`` → ``[N]`` int64."""
        if self.discretizer is not None:
            return self.discretizer(obs)
        states = np.asarray(obs).astype(np.int64, copy=False).reshape(-1)
        return states - self._obs_start if self._obs_start else states

    @property
    def clock(self) -> int:
        """The schedules' ``t``: steps or episodes so far."""
        return self.episodes if self.config.schedule_unit == "episodes" else self.steps

    @property
    def epsilon(self) -> float:
        """The exploration rate now."""
        return self._epsilon(self.clock)

    @property
    def observers(self) -> list[Observer]:
        """The agent learns from every transition the driver collects."""
        return [self._learn]

    def _learn(self, transition: Transition) -> None:
        self.update(transition)

    # ------------------------------------------------------------------ the learning step
    def update(self, batch: Transition) -> dict[str, float]:
        """One TD update of the table from a batch of transitions (one per environment).

        This runs on every environment step, so it is written for few NumPy calls.
        """
        s, s2 = self.states(batch.obs), self.states(batch.next_obs)  # [B], [B]
        a = np.asarray(batch.action).astype(np.int64, copy=False)  # [B]
        if self._action_start:
            a = a - self._action_start
        if self.config.learning_rate == "visits":
            alpha: Any = self._visit_rates(s, a)  # [B]
            self._alpha_sum += float(alpha.sum())
        else:
            np.add.at(self.visits, (s, a), 1)
            alpha = self._alpha(self.clock)
            self._alpha_sum += alpha * len(s)
        index = (s, a) if self.table.ndim == 2 else (s,)
        errors = td_update(self.table, index, self.targets(batch, s2), alpha)
        self.steps += len(s)
        self.episodes += int(np.count_nonzero(batch.done))  # an episode may be both
        self._error_sum += np.abs(errors).sum()
        self._updates += len(s)
        return {}

    def _visit_rates(self, s: np.ndarray, a: np.ndarray) -> np.ndarray:
        """``1 / N^ω`` per row, N counting this visit: repeats of an entry in one batch get
        N, N + 1, ..., so that the in-order update is the exact running average."""
        counts = self.visits[s, a] + earlier_repeats((s, a), self.visits.shape) + 1  # [B]
        np.add.at(self.visits, (s, a), 1)
        rates: np.ndarray = np.maximum(self.config.alpha_min, counts**-self.config.visit_exponent)
        return rates

    def targets(self, batch: Transition, next_states: np.ndarray) -> np.ndarray:
        """TD targets for the batch, ``[B]``."""
        raise NotImplementedError

    def train_iteration(self, driver: Driver) -> dict[str, float]:
        """Collect ``steps_per_iteration`` steps, updating the table after each one."""
        driver.run(num_steps=self.config.steps_per_iteration)
        self.check_finite()
        updates = max(self._updates, 1)
        info = {
            "td_error": float(self._error_sum) / updates,
            "alpha": float(self._alpha_sum) / updates,
            "states_visited": float(np.count_nonzero(self.visits.sum(axis=1))) / self.n_states,
        }
        self._error_sum = self._alpha_sum = 0.0
        self._updates = 0
        if self.config.exploration == "epsilon" and self.table_kind == "q":
            info["epsilon"] = self.epsilon
        return info

    def check_finite(self) -> None:
        """Raise :class:`NonFiniteError` if a learned entry is NaN or infinite (divergence)."""
        learned = self.table[self.valid] if self.table.ndim == 2 else self.table
        if not np.isfinite(learned).all():
            bad = int(np.flatnonzero(~np.isfinite(learned))[0])
            raise NonFiniteError(
                f"{self.algo} diverged: a table entry became {learned[bad]} by step {self.steps} "
                f"(lower alpha0 or use a decaying learning_rate)"
            )

    # ------------------------------------------------------------------ checkpoints
    def _state(self) -> dict[str, Any]:
        return {
            "table": torch.from_numpy(self.table.copy()),
            "visits": torch.from_numpy(self.visits.copy()),
            "steps": self.steps,
            "episodes": self.episodes,
        }

    def _load_state(self, state: dict[str, Any]) -> None:
        table, visits = state["table"].numpy(), state["visits"].numpy()
        if table.shape != self.table.shape or visits.shape != self.visits.shape:
            raise ValueError(
                f"table has shape {table.shape}, expected {self.table.shape} for {self.env_id}"
            )
        self.table = table.astype(np.float64)
        self.visits = visits.astype(np.int64)
        self.steps, self.episodes = int(state["steps"]), int(state["episodes"])


def find_valid_actions(env: gym.vector.VectorEnv, n_states: int, n_actions: int) -> np.ndarray:
    """The ``valid_actions [S, A]`` mask an environment declares, or all True.

    Natively vectorized tabular envs carry the mask themselves; Gymnasium's sync and async vector
    envs are asked first whether their sub-environments have it (a failed ``get_attr`` would shut
    an async env's workers down).
    """
    base: Any = env.unwrapped
    mask = getattr(base, "valid_actions", None)
    if mask is None and hasattr(base, "call") and hasattr(base, "get_attr"):
        try:
            if all(base.call("has_wrapper_attr", "valid_actions")):
                mask = base.get_attr("valid_actions")[0]
        except (AttributeError, NotImplementedError):
            mask = None
    if mask is None:
        return np.ones((n_states, n_actions), dtype=bool)
    mask = np.array(mask, dtype=np.bool_)
    if mask.shape != (n_states, n_actions):
        raise SpaceMismatchError(
            f"valid_actions has shape {mask.shape}, expected {(n_states, n_actions)}"
        )
    return mask


def _alpha_schedule(cfg: TabularConfig) -> schedules.Schedule:
    if cfg.learning_rate == "constant":
        return schedules.constant(cfg.alpha0)
    if cfg.learning_rate == "logarithmic":
        return schedules.logarithmic(cfg.alpha_min, cfg.log_scale)
    return schedules.power(cfg.alpha0, cfg.decay)  # "visits" is per entry, computed in update


def _epsilon_schedule(cfg: TabularConfig) -> schedules.Schedule:
    start, end, steps = cfg.epsilon_start, cfg.epsilon_end, cfg.epsilon_decay_steps
    if cfg.epsilon_schedule == "constant":
        return schedules.constant(start)
    if cfg.epsilon_schedule == "logarithmic":
        return schedules.logarithmic(end, cfg.log_scale)
    if cfg.epsilon_schedule == "exponential":
        return schedules.exponential(start, end, (end / start) ** (1.0 / steps))
    return schedules.linear(start, end, steps)


# ----------------------------------------------------------------------------- control: Q tables
class _QAgent(TabularAgent):
    """Acting on a Q-table: greedy for evaluation, the configured exploration while learning."""

    @property
    def policy_version(self) -> int:
        """A checksum of the greedy policy: evaluation is skipped while it is unchanged."""
        return zlib.crc32(self.greedy_policy().astype(np.int32).tobytes())

    @policy_version.setter
    def policy_version(self, value: int | None) -> None:
        pass  # derived from the table

    @property
    def q_values(self) -> np.ndarray:
        """The Q-table ``[S, A]`` (``-inf`` for impossible actions)."""
        return self.table

    def greedy_policy(self) -> np.ndarray:
        """The greedy action of every state, ``[S]`` (ties to the lowest index)."""
        return greedy_actions(self.table)

    def act(self, obs: np.ndarray, explore: bool = True) -> np.ndarray:
        """Greedy actions, or the exploring behaviour's while learning: ``[N]``."""
        s = self.states(obs)
        actions = self._explore(s) if explore else greedy_actions(self.table[s])
        return actions + self._action_start if self._action_start else actions

    def _explore(self, s: np.ndarray) -> np.ndarray:
        """Action indices of the exploring behaviour for a batch of states, ``[N]``."""
        return self._behaviour(s)

    def _behaviour(self, s: np.ndarray) -> np.ndarray:
        kind, q = self.config.exploration, self.table[s]  # [N, A]
        if kind == "random":
            return random_actions(self.valid[s], self.rng)
        if kind == "bonus":
            bonus = exploration_bonus(q, self.visits[s], self.config.bonus_k)
            return epsilon_greedy_actions(bonus, self.valid[s], 0.0, self.rng)
        return epsilon_greedy_actions(q, self.valid[s], self.epsilon, self.rng)


class QLearning(_QAgent):
    """Q-learning: ``Q(s, a) ←α r + γ max_a' Q(s', a')``, off-policy.

    Example:
        >>> env = rw.make_env("FrozenLake-v1", n_envs=8, seed=0)
        >>> agent = QLearning(env, TabularConfig(gamma=0.99), seed=0)
        >>> agent.learn(200_000, eval_episodes=1000)
    """

    algo = "q-learning"

    def targets(self, batch: Transition, next_states: np.ndarray) -> np.ndarray:
        """``r + γ max_a' Q(s', a')``, or max over f(Q, N) with the bonus exploration."""
        cfg = self.config
        counts = self.visits[next_states] if cfg.exploration == "bonus" else None
        return q_learning_targets(
            batch.reward, self.table[next_states], batch.terminated, cfg.gamma,
            next_counts=counts, bonus_k=cfg.bonus_k,
        )  # fmt: skip


class ExpectedSARSA(_QAgent):
    """Expected SARSA: ``Q(s, a) ←α r + γ Σ_a' π(a'|s') Q(s', a')`` under the ε-greedy policy."""

    algo = "expected-sarsa"

    def targets(self, batch: Transition, next_states: np.ndarray) -> np.ndarray:
        """The behaviour policy's expected next Q-value (ε = 1 for random exploration)."""
        cfg = self.config
        q, valid = self.table[next_states], self.valid[next_states]
        epsilon = 1.0 if cfg.exploration == "random" else self.epsilon
        if cfg.exploration == "bonus":
            q_bonus = exploration_bonus(q, self.visits[next_states], cfg.bonus_k)
            probs = epsilon_greedy_probabilities(q_bonus, valid, 0.0)
        else:
            probs = epsilon_greedy_probabilities(q, valid, epsilon)
        return expected_sarsa_targets(batch.reward, q, probs, batch.terminated, cfg.gamma)


class SARSA(_QAgent):
    """SARSA: ``Q(s, a) ←α r + γ Q(s', a')`` with ``a'`` the action the agent takes next.

    The next action is drawn when the transition arrives and then played on the next step, so
    the update uses exactly the action taken (on-policy).
    """

    algo = "sarsa"

    def __init__(
        self,
        env: gym.vector.VectorEnv | str,
        config: TabularConfig | None = None,
        *,
        seed: int = 0,
        device: str = "auto",
    ) -> None:
        """See :class:`~rlworks.agents.base.Agent`."""
        super().__init__(env, config, seed=seed, device=device)
        self._next_state = np.full(self.env.num_envs, -1, dtype=np.int64)
        self._next_action = np.zeros(self.env.num_envs, dtype=np.int64)

    def targets(self, batch: Transition, next_states: np.ndarray) -> np.ndarray:
        """``r + γ Q(s', a')``; ``a'`` is remembered per environment for the next step."""
        q = self.table[next_states]  # [B, A]
        next_actions = self._behaviour(next_states)  # [B]
        go_on = ~batch.done  # a truncated episode restarts: a' is only used for its target
        ids = batch.env_ids[go_on]
        self._next_state[ids] = next_states[go_on]
        self._next_action[ids] = next_actions[go_on]
        taken = q[np.arange(len(q)), next_actions]
        return sarsa_targets(batch.reward, taken, batch.terminated, self.config.gamma)

    def _explore(self, s: np.ndarray) -> np.ndarray:
        """The behaviour's actions, except that each env plays the ``a'`` its last update chose."""
        actions = self._behaviour(s)
        if len(s) == len(self._next_state):
            planned = self._next_state == s  # [N]
            actions[planned] = self._next_action[planned]
            self._next_state[:] = -1
        return actions


# ----------------------------------------------------------------------------- prediction: V
class TD0(TabularAgent):
    """TD(0) prediction of the state values of the uniformly random policy.

    ``V(s) ←α r + γ V(s')``. The agent always acts at random among the possible actions (its
    evaluation policy is the same random policy); the exploration settings are not used.
    """

    algo = "td0"
    table_kind = "v"

    def _initial_table(self) -> np.ndarray:
        return np.full(self.n_states, self.config.init_q)  # [S]

    @property
    def values(self) -> np.ndarray:
        """The state-value estimates ``V [S]``."""
        return self.table

    def act(self, obs: np.ndarray, explore: bool = True) -> np.ndarray:
        """Uniformly random possible actions: ``[N]``."""
        valid = self.valid[self.states(obs)]
        return random_actions(valid, self.rng) + self._action_start

    def targets(self, batch: Transition, next_states: np.ndarray) -> np.ndarray:
        """``r + γ V(s')``."""
        next_v = self.table[next_states]
        return td0_targets(batch.reward, next_v, batch.terminated, self.config.gamma)
