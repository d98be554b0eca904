"""Evolutionary policy search: the chapter's genetic algorithm and the noisy cross-entropy method.

Both search over one flat vector of policy parameters (a linear policy, or a small ``tanh`` MLP)
and never compute a gradient. Each generation is a population of candidate parameter vectors,
scored by their mean return over ``episodes_per_candidate`` whole episodes, and the whole
generation plays **in parallel on the vector env**: the (candidate, episode) jobs are dealt out to
the sub-environments in advance, sub-environment ``i`` playing jobs ``[offset_i, offset_i +
quota_i)`` with the quotas :meth:`~rlworks.training.Driver.run` gives it, and one batched forward
pass acts for every sub-environment with the candidate it is playing.

* :class:`GeneticAlgorithm` — the chapter's genetic algorithm: keep the best policies, let each
  produce mutated offspring (Géron, *Hands-On Machine Learning*, ch. 18, "Policy Search").
* :class:`CrossEntropyMethod` — fit a Gaussian to the best candidates, with decaying extra noise
  against premature collapse (Szita & Lőrincz, 2006).
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

import gymnasium as gym
import numpy as np
import torch

from rlworks.agents.base import Agent
from rlworks.agents.search import scores_to_actions
from rlworks.errors import ConfigError
from rlworks.training.driver import Driver, Observer, episode_quota
from rlworks.types import Transition

__all__ = [
    "CEMConfig",
    "CrossEntropyMethod",
    "FlatPolicy",
    "GenerationEvaluator",
    "GeneticAlgorithm",
    "GeneticConfig",
]


# ----------------------------------------------------------------------------- configs
@dataclass
class GeneticConfig:
    """Hyperparameters of the genetic algorithm."""

    label = "genetic-algorithm settings"

    population: int = 100
    """Policies in each generation."""
    n_survivors: int = 20
    """Best policies kept each generation; each produces (population - n_survivors) / n_survivors
    offspring (the chapter's 20 survivors with 4 offspring each)."""
    mutation_scale: float = 0.2
    """Standard deviation of the Gaussian noise added to a parent's parameters to make a child."""
    param_scale: float = 1.0
    """The first generation's parameters are drawn from U(-scale, scale) or N(0, scale²)."""
    distribution: Literal["uniform", "normal"] = "uniform"
    """Distribution the first generation's parameters are drawn from."""
    episodes_per_candidate: int = 2
    """Whole episodes played with each policy per generation; its score is their mean return.
    Two rather than one: on CartPole, where many policies hit the 500 cap once by luck, fewer
    generations are wasted (measured over seeds 0-24 with mutation_scale 0.1: steps to solve,
    median 12.8k and mean 33k, against 21k and 71k with one episode)."""
    hidden_sizes: tuple[int, ...] = ()
    """Hidden layer widths of the policy; empty for a linear policy, else a tanh MLP."""
    bias: bool = False
    """Give every layer a bias term (off: on CartPole a constant push only hurts)."""
    reevaluate_survivors: bool = True
    """Play the survivors again each generation, as the chapter does (the whole new generation is
    tried out), instead of keeping their old scores. On by default: with few episodes per policy
    a score is noisy, and a survivor that kept a lucky score would stay on top, and be the greedy
    policy, however badly it plays afterwards (measured on CartPole with one episode per policy:
    25 of seeds 0-24 solved within 1M steps with re-evaluation, 9 without). Costs n_survivors
    extra episodes a generation."""

    def validate(self) -> None:
        """Check ranges; raise :class:`ConfigError` naming the key."""
        _check_population(self.population, self.episodes_per_candidate, self.hidden_sizes)
        if not 1 <= self.n_survivors < self.population:
            raise ConfigError(
                f"n_survivors must be in [1, population - 1] = [1, {self.population - 1}], "
                f"got {self.n_survivors}"
            )
        if (self.population - self.n_survivors) % self.n_survivors:
            raise ConfigError(
                "n_survivors must divide population - n_survivors (every survivor has as many "
                f"offspring), got n_survivors={self.n_survivors} for population={self.population}"
            )
        _check_positive("mutation_scale", self.mutation_scale)
        _check_positive("param_scale", self.param_scale)


@dataclass
class CEMConfig:
    """Hyperparameters of the noisy cross-entropy method."""

    label = "cross-entropy-method settings"

    population: int = 50
    """Candidates sampled from the Gaussian each generation."""
    elite_fraction: float = 0.2
    """Share of the best candidates the Gaussian is refitted to (at least one candidate)."""
    init_std: float = 1.0
    """Standard deviation of the first Gaussian (its mean is 0) in every parameter."""
    extra_noise: float = 0.1
    """Variance added to every parameter after each refit, at the first generation; it decreases
    linearly to 0 (Szita & Lőrincz's Z_t = max(a - t/b, 0), with a = extra_noise)."""
    extra_noise_generations: int = 20
    """Generations over which the extra noise decreases to 0 (b * a in the paper's terms)."""
    episodes_per_candidate: int = 1
    """Whole episodes played with each candidate; its score is their mean return."""
    hidden_sizes: tuple[int, ...] = ()
    """Hidden layer widths of the policy; empty for a linear policy, else a tanh MLP."""
    bias: bool = False
    """Give every layer a bias term (off: on CartPole a constant push only hurts)."""

    def validate(self) -> None:
        """Check ranges; raise :class:`ConfigError` naming the key."""
        _check_population(self.population, self.episodes_per_candidate, self.hidden_sizes)
        if not (0 < self.elite_fraction <= 1):
            raise ConfigError(f"elite_fraction must be in (0, 1], got {self.elite_fraction}")
        if self.n_elite < 1:
            raise ConfigError(
                f"elite_fraction must leave at least one elite: {self.elite_fraction} of "
                f"population={self.population} rounds to 0"
            )
        _check_positive("init_std", self.init_std)
        if not (self.extra_noise >= 0 and math.isfinite(self.extra_noise)):
            raise ConfigError(f"extra_noise must be a number >= 0, got {self.extra_noise}")
        if self.extra_noise_generations < 1:
            raise ConfigError(
                f"extra_noise_generations must be >= 1, got {self.extra_noise_generations}"
            )

    @property
    def n_elite(self) -> int:
        """Number of elite candidates: ``round(elite_fraction * population)``."""
        return round(self.elite_fraction * self.population)


def _check_population(population: int, episodes: int, hidden_sizes: Sequence[int]) -> None:
    if population < 2:
        raise ConfigError(f"population must be >= 2, got {population}")
    if episodes < 1:
        raise ConfigError(f"episodes_per_candidate must be >= 1, got {episodes}")
    if any(width < 1 for width in hidden_sizes):
        raise ConfigError(f"hidden_sizes must be widths >= 1, got {list(hidden_sizes)}")


def _check_positive(key: str, value: float) -> None:
    if not (value > 0 and math.isfinite(value)):
        raise ConfigError(f"{key} must be a positive number, got {value}")


# ----------------------------------------------------------------------------- the policy
class FlatPolicy:
    """A linear policy or ``tanh`` MLP whose parameters live in one flat vector.

    Layer ``k`` maps ``in_k`` to ``out_k`` features with a weight matrix ``[out_k, in_k]`` stored
    row-major, followed by its bias ``[out_k]`` when ``bias`` is set. The forward pass runs ``N``
    parameter vectors on ``N`` observations at once (one candidate per row), or one parameter
    vector on every row.
    """

    def __init__(self, obs_dim: int, n_out: int, hidden_sizes: Sequence[int], bias: bool) -> None:
        """Lay out the layers ``obs_dim → *hidden_sizes → n_out``."""
        widths = [obs_dim, *hidden_sizes, n_out]
        self.shapes = [(n, m) for m, n in itertools.pairwise(widths)]  # (out, in)
        self.bias = bias
        self.size = sum(n * (m + int(bias)) for n, m in self.shapes)
        """Length of the flat parameter vector."""

    def layers(self, params: np.ndarray) -> list[tuple[np.ndarray, np.ndarray | None]]:
        """Views of ``params [N, P]`` as ``(weights [N, out, in], bias [N, out] or None)``."""
        out: list[tuple[np.ndarray, np.ndarray | None]] = []
        start = 0
        for n_out, n_in in self.shapes:
            weights = params[:, start : start + n_out * n_in].reshape(-1, n_out, n_in)
            start += n_out * n_in
            bias = params[:, start : start + n_out] if self.bias else None
            start += n_out if self.bias else 0
            out.append((weights, bias))
        return out

    def scores(self, params: np.ndarray, obs: np.ndarray) -> np.ndarray:
        """Outputs for ``obs [N, ...]``, row ``n`` with ``params[n]`` (``params [N or 1, P]``)."""
        x = obs.reshape(obs.shape[0], 1, -1).astype(np.float64, copy=False)  # [N, 1, D]
        layers = self.layers(params)
        for k, (weights, bias) in enumerate(layers):
            x = x @ weights.transpose(0, 2, 1)  # [N, 1, out]
            if bias is not None:
                x = x + bias[:, None, :]
            if k < len(layers) - 1:
                x = np.tanh(x)
        return x[:, 0, :]  # [N, A]


def _make_policy(agent: Agent[Any], hidden_sizes: Sequence[int], bias: bool) -> FlatPolicy:
    obs_dim = int(np.prod(agent.observation_space.shape or ()))
    space = agent.action_space
    n_out = (
        int(space.n) if isinstance(space, gym.spaces.Discrete) else int(np.prod(space.shape or ()))
    )
    return FlatPolicy(obs_dim, n_out, hidden_sizes, bias)


# ----------------------------------------------------------------------------- parallel evaluation
class GenerationEvaluator:
    """Plays every candidate of a generation for its episodes, in parallel; an observer.

    Job ``j`` is episode ``j % episodes`` of candidate ``j // episodes``. Sub-environment ``i``
    plays jobs ``start[i], start[i] + 1, ...`` up to ``end[i]``, in order: its pointer moves to
    the next job each time one of its episodes ends. Sub-environments past their quota keep
    stepping (the driver drops their rows) with the last candidate, so every row has one.
    """

    def __init__(self) -> None:
        """An idle evaluator; :meth:`run` evaluates a generation."""
        self.active = False
        self.episodes = 1
        self._params = np.zeros((1, 0))  # [C, P]
        self._returns = np.zeros(0)  # [J]: each job's return, J = C * episodes
        self._episode_return = np.zeros(0)  # [n_envs]: return of each sub-env's episode so far
        self._job = np.zeros(0, dtype=np.int64)  # [n_envs]: each sub-env's current job
        self._env_params = np.zeros((0, 0))  # [n_envs, P]: what each sub-env acts with

    def run(self, driver: Driver, params: np.ndarray, episodes: int, seed: int) -> np.ndarray:
        """Play ``episodes`` episodes with each row of ``params [C, P]`` from a reset seeded with
        ``seed``; return each candidate's mean return ``[C]``."""
        n_jobs, n_envs = params.shape[0] * episodes, driver.num_envs
        self._params, self.episodes = params, episodes
        quota = episode_quota(n_jobs, n_envs)  # [n_envs], as the driver deals them out
        self._job = np.cumsum(quota) - quota  # first job of each sub-env
        self._returns = np.full(n_jobs, np.nan)
        self._episode_return = np.zeros(n_envs)
        self._env_params = params[self._candidates(np.arange(n_envs))]  # [n_envs, P]
        self.active = True
        try:
            driver.run(num_episodes=n_jobs, reset=True, seed=seed)
        finally:
            self.active = False
        scores: np.ndarray = self._returns.reshape(-1, episodes).mean(axis=1)  # [C]
        return scores

    @property
    def current_jobs(self) -> np.ndarray:
        """Each sub-environment's current job ``[n_envs]`` (one past its last once done)."""
        return self._job.copy()

    def acting_params(self, n_rows: int, greedy: np.ndarray, explore: bool) -> np.ndarray:
        """Parameters each row acts with: its sub-environment's candidate while a generation
        plays (``explore``), else the ``greedy`` parameters ``[P]`` for every row (``[1, P]``)."""
        if explore and self.active:
            return self.env_params(n_rows)  # [n_envs, P]
        return greedy[None]  # [1, P]

    def env_params(self, n_rows: int) -> np.ndarray:
        """The parameters each sub-environment is playing with, ``[n_envs, P]``.

        Raises:
            ValueError: ``n_rows`` is not the number of sub-environments of the generation.
        """
        if n_rows != self._env_params.shape[0]:
            raise ValueError(
                f"a generation runs on {self._env_params.shape[0]} sub-environments, "
                f"got a batch of {n_rows} observations"
            )
        return self._env_params

    def _candidates(self, envs: np.ndarray) -> np.ndarray:
        """Candidate of each sub-env's current job (the last job's once its quota is done)."""
        job = np.minimum(self._job[envs], self._returns.size - 1)
        candidate: np.ndarray = job // self.episodes
        return candidate

    def __call__(self, transition: Transition, /) -> None:
        """Add rewards to the episodes in progress; record ended jobs and move to the next."""
        if not self.active:
            return
        ids = transition.env_ids
        self._episode_return[ids] += transition.reward
        ended = ids[transition.done]
        if ended.size:
            self._returns[self._job[ended]] = self._episode_return[ended]
            self._episode_return[ended] = 0.0
            self._job[ended] += 1
            self._env_params[ended] = self._params[self._candidates(ended)]

    def on_reset(self) -> None:
        """The driver reset every sub-environment: no episode is in progress."""
        self._episode_return[:] = 0.0


def _top(scores: np.ndarray, k: int) -> np.ndarray:
    """Indices of the ``k`` best scores, best first; ties go to the lower index."""
    return np.argsort(-scores, kind="stable")[:k]


# ----------------------------------------------------------------------------- genetic algorithm
class GeneticAlgorithm(Agent[GeneticConfig]):
    """The chapter's genetic algorithm over the parameters of a linear or MLP policy.

    "Randomly create a first generation of 100 policies and try them out, then kill the 80 worst
    policies and make the 20 survivors produce 4 offspring each. An offspring is a copy of its
    parent plus some random variation. The surviving policies plus their offspring together
    constitute the second generation." The greedy policy is the best-scoring policy of the latest
    generation (not the best ever: an old score may have been luck, a current one was re-earned
    when survivors are re-evaluated). Ties go to the earlier policy, so a survivor that scores
    the maximum again stays the greedy policy rather than a new offspring with one lucky score.

    Reference: Géron, *Hands-On Machine Learning*, ch. 18, "Policy Search"; for neuroevolution at
    scale, Such et al., "Deep Neuroevolution", 2017 (https://arxiv.org/abs/1712.06567).

    Example:
        >>> env = rw.make_env("CartPole-v1", n_envs=50, seed=0)
        >>> agent = GeneticAlgorithm(env, seed=0)
        >>> result = agent.learn(500_000, target_return=475, eval_episodes=20, progress=False)
    """

    algo = "genetic"
    config_cls = GeneticConfig
    observation_types = (gym.spaces.Box,)
    action_types = (gym.spaces.Discrete, gym.spaces.Box)

    def __init__(
        self,
        env: gym.vector.VectorEnv | str,
        config: GeneticConfig | None = None,
        *,
        seed: int = 0,
        device: str = "auto",
    ) -> None:
        """See :class:`~rlworks.agents.base.Agent`."""
        super().__init__(env, config, seed=seed, device=device)
        cfg = self.config
        self.net = _make_policy(self, cfg.hidden_sizes, cfg.bias)
        scale, shape = cfg.param_scale, (cfg.population, self.net.size)
        if cfg.distribution == "uniform":
            self.population = self.rng.uniform(-scale, scale, size=shape)  # [C, P]
        else:
            self.population = self.rng.normal(0.0, scale, size=shape)
        self.survivor_scores = np.full(cfg.n_survivors, np.nan)  # [S], last generation's
        self.best_params = np.zeros(self.net.size)  # [P]
        self.best_return = -math.inf
        self.generation = 0
        self.episodes_used = 0
        self.policy_version: int = 0
        self._evaluator = GenerationEvaluator()

    @property
    def observers(self) -> list[Observer]:
        """Records each candidate's returns and tells each sub-environment its candidate."""
        return [self._evaluator]

    def act(self, obs: np.ndarray, explore: bool = True) -> np.ndarray:
        """While a generation plays, each row acts with its sub-environment's candidate (one
        batched forward pass); otherwise, and always for ``explore=False``, the best policy."""
        obs = np.asarray(obs)
        params = self._evaluator.acting_params(obs.shape[0], self.best_params, explore)
        return scores_to_actions(self.net.scores(params, obs), self.action_space)

    def train_iteration(self, driver: Driver) -> dict[str, float]:
        """Play one generation on the vector env, then select and mutate (:meth:`update`)."""
        cfg = self.config
        fresh = self.generation == 0 or cfg.reevaluate_survivors
        played = self.population if fresh else self.population[cfg.n_survivors :]
        seed = self.reset_seed(self.generation)
        scores = self._evaluator.run(driver, played, cfg.episodes_per_candidate, seed)
        self.episodes_used += played.shape[0] * cfg.episodes_per_candidate
        if not fresh:
            scores = np.concatenate([self.survivor_scores, scores])  # [C]
        return self.update(scores)

    def update(self, batch: Any) -> dict[str, float]:
        """Keep the best ``n_survivors`` of the population's scores (``batch``, ``[C]``) and
        replace the others with mutated copies: survivor ``s`` is the parent of offspring
        ``s * k ... s * k + k - 1`` (``k`` offspring each), after the survivors."""
        cfg = self.config
        scores = np.asarray(batch, dtype=np.float64)  # [C]
        survivors = _top(scores, cfg.n_survivors)  # [S]
        if not np.array_equal(self.population[survivors[0]], self.best_params):
            self.policy_version += 1
        self.best_params = self.population[survivors[0]].copy()
        self.best_return = float(scores[survivors[0]])
        parents = self.population[survivors]  # [S, P]
        children = np.repeat(parents, cfg.population // cfg.n_survivors - 1, axis=0)  # [C-S, P]
        children += self.rng.normal(0.0, cfg.mutation_scale, size=children.shape)
        self.population = np.concatenate([parents, children])  # [C, P]
        self.survivor_scores = scores[survivors]
        self.generation += 1
        return {
            "best_return": self.best_return,
            "mean_return": float(scores.mean()),
            "elite_return": float(self.survivor_scores.mean()),
            "generation": float(self.generation),
            "episodes_used": float(self.episodes_used),
            "mutation_scale": cfg.mutation_scale,
        }

    def _state(self) -> dict[str, Any]:
        return {
            "population": torch.from_numpy(self.population.copy()),
            "survivor_scores": torch.from_numpy(self.survivor_scores.copy()),
            "best_params": torch.from_numpy(self.best_params.copy()),
            "best_return": self.best_return,
            "generation": self.generation,
            "episodes_used": self.episodes_used,
            "policy_version": self.policy_version,
        }

    def _load_state(self, state: dict[str, Any]) -> None:
        self.population = _array(state, "population", self.population.shape)
        self.survivor_scores = _array(state, "survivor_scores", self.survivor_scores.shape)
        self.best_params = _array(state, "best_params", self.best_params.shape)
        self.best_return = float(state["best_return"])
        self.generation = int(state["generation"])
        self.episodes_used = int(state["episodes_used"])
        self.policy_version = int(state["policy_version"])


# ----------------------------------------------------------------------------- cross-entropy method
class CrossEntropyMethod(Agent[CEMConfig]):
    """The noisy cross-entropy method over the parameters of a linear or MLP policy.

    Each generation samples ``population`` parameter vectors from a diagonal Gaussian, plays them,
    and refits the Gaussian to the best ``elite_fraction``: the mean and variance of the elite,
    plus an extra variance that decreases linearly to zero, so that the search does not collapse
    on the first good-looking region. The greedy policy is the Gaussian's mean: it averages the
    elite, so it is less exposed to one candidate's lucky episodes than the best candidate is
    (measured on CartPole, seeds 0-9: after 5 and after 10 generations the mean scores 500 on 50
    evaluation episodes for every seed, the generation's best candidate 487 and 484 on average;
    the best candidate passes an early evaluation sooner, by luck more than by skill).

    Reference: Szita & Lőrincz, "Learning Tetris Using the Noisy Cross-Entropy Method", Neural
    Computation 18(12), 2006 (https://doi.org/10.1162/neco.2006.18.12.2936).

    Example:
        >>> env = rw.make_env("CartPole-v1", n_envs=50, seed=0)
        >>> agent = CrossEntropyMethod(env, seed=0)
        >>> result = agent.learn(500_000, target_return=475, eval_episodes=20, progress=False)
    """

    algo = "cem"
    config_cls = CEMConfig
    observation_types = (gym.spaces.Box,)
    action_types = (gym.spaces.Discrete, gym.spaces.Box)

    def __init__(
        self,
        env: gym.vector.VectorEnv | str,
        config: CEMConfig | None = None,
        *,
        seed: int = 0,
        device: str = "auto",
    ) -> None:
        """See :class:`~rlworks.agents.base.Agent`."""
        super().__init__(env, config, seed=seed, device=device)
        cfg = self.config
        self.net = _make_policy(self, cfg.hidden_sizes, cfg.bias)
        self.mean = np.zeros(self.net.size)  # [P]
        self.std = np.full(self.net.size, cfg.init_std)  # [P]
        self.population = np.zeros((cfg.population, self.net.size))  # [C, P], last sampled
        self.generation = 0
        self.episodes_used = 0
        self.policy_version: int = 0
        self._evaluator = GenerationEvaluator()

    @property
    def observers(self) -> list[Observer]:
        """Records each candidate's returns and tells each sub-environment its candidate."""
        return [self._evaluator]

    def act(self, obs: np.ndarray, explore: bool = True) -> np.ndarray:
        """While a generation plays, each row acts with its sub-environment's candidate (one
        batched forward pass); otherwise, and always for ``explore=False``, the mean."""
        obs = np.asarray(obs)
        params = self._evaluator.acting_params(obs.shape[0], self.mean, explore)
        return scores_to_actions(self.net.scores(params, obs), self.action_space)

    def extra_noise(self, generation: int) -> float:
        """Variance added after the refit of ``generation``: a linear decay to 0."""
        cfg = self.config
        return cfg.extra_noise * max(1.0 - generation / cfg.extra_noise_generations, 0.0)

    def train_iteration(self, driver: Driver) -> dict[str, float]:
        """Sample a generation, play it on the vector env, refit the Gaussian (:meth:`update`)."""
        cfg = self.config
        noise = self.rng.standard_normal((cfg.population, self.net.size))  # [C, P]
        self.population = self.mean + self.std * noise
        seed = self.reset_seed(self.generation)
        scores = self._evaluator.run(driver, self.population, cfg.episodes_per_candidate, seed)
        self.episodes_used += cfg.population * cfg.episodes_per_candidate
        return self.update(scores)

    def update(self, batch: Any) -> dict[str, float]:
        """Refit mean and standard deviation to the elite of ``self.population`` by its scores
        (``batch``, ``[C]``): ``mean = elite mean``, ``std² = elite variance + extra noise``."""
        scores = np.asarray(batch, dtype=np.float64)  # [C]
        elite = _top(scores, self.config.n_elite)  # [K]
        self.mean = self.population[elite].mean(axis=0)  # [P]
        noise = self.extra_noise(self.generation)
        self.std = np.sqrt(self.population[elite].var(axis=0) + noise)  # [P]
        self.generation += 1
        self.policy_version += 1
        return {
            "best_return": float(scores[elite[0]]),
            "mean_return": float(scores.mean()),
            "elite_return": float(scores[elite].mean()),
            "generation": float(self.generation),
            "episodes_used": float(self.episodes_used),
            "std": float(self.std.mean()),
            "extra_noise": noise,
        }

    def _state(self) -> dict[str, Any]:
        return {
            "mean": torch.from_numpy(self.mean.copy()),
            "std": torch.from_numpy(self.std.copy()),
            "generation": self.generation,
            "episodes_used": self.episodes_used,
            "policy_version": self.policy_version,
        }

    def _load_state(self, state: dict[str, Any]) -> None:
        self.mean = _array(state, "mean", self.mean.shape)
        self.std = _array(state, "std", self.std.shape)
        self.generation = int(state["generation"])
        self.episodes_used = int(state["episodes_used"])
        self.policy_version = int(state["policy_version"])


def _array(state: dict[str, Any], key: str, shape: tuple[int, ...]) -> np.ndarray:
    """A float64 copy of ``state[key]`` (a tensor), checked against the expected shape."""
    array: np.ndarray = state[key].numpy().astype(np.float64)
    if array.shape != shape:
        raise ValueError(f"{key} has shape {array.shape}, expected {shape}")
    return array
