"""The training loop: collect and learn, evaluate periodically, stop early, checkpoint, log.

``train(agent, config)`` is the one loop every algorithm runs through. The agent decides what an
iteration is (four steps and one gradient step for DQN, one candidate for random search); the
trainer owns everything around it: metrics, evaluation every ``eval_every`` steps, early stop at
``target_return``, checkpoints, the run directory and callbacks (progress bar, CSV, TensorBoard).
"""

from __future__ import annotations

import contextlib
import dataclasses
import math
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
from threadpoolctl import threadpool_limits

from rlworks.envs.atari import atari_game
from rlworks.errors import ConfigError, NonFiniteError
from rlworks.training.callbacks import (
    Callback,
    CheckpointCallback,
    CSVLogger,
    Every,
    ProgressBar,
    TensorBoardLogger,
)
from rlworks.training.driver import Driver
from rlworks.training.evaluation import EvalResult, evaluate
from rlworks.training.metrics import (
    AverageEpisodeLength,
    AverageReturn,
    EnvironmentSteps,
    Metric,
    NumberOfEpisodes,
)
from rlworks.training.rundir import finish_run_dir

if TYPE_CHECKING:
    from rlworks.agents.base import Agent

__all__ = ["TrainConfig", "TrainResult", "TrainState", "train"]


@dataclass
class TrainConfig:
    """Settings of a training run that are not the algorithm's hyperparameters.

    ``train()`` reads the step budget, evaluation, checkpoint and logging fields; ``seed``,
    ``n_envs``, ``vectorization`` and ``device`` are read by whoever makes the environment and the
    agent (``rlworks train``, ``Agent.learn``) and are recorded here so that ``config.yaml``
    describes the whole run. ``seed`` also sets the default evaluation seed.
    """

    label = "train settings"

    steps: int = 100_000
    """Environment step budget (summed over parallel environments)."""
    seed: int = 0
    """Seed for environments, NumPy generators and torch."""
    n_envs: int = 8
    """Parallel environment copies used for collection."""
    vectorization: Literal["auto", "native", "sync", "async"] = "auto"
    """How copies are batched: native vector entry point, in-process sync, or subprocess async."""
    max_episode_steps: int | None = None
    """Time limit of training and evaluation episodes; None keeps the environment's own (needed
    for envs without one, such as CliffWalking-v1, whose greedy policy may walk in circles)."""
    max_iterations: int | None = None
    """Also stop after this many agent iterations (REINFORCE updates, search generations);
    None: the step budget alone decides."""
    eval_every: int = 10_000
    """Evaluate the greedy policy every this many environment steps (0: only at the end)."""
    eval_episodes: int = 10
    """Episodes per evaluation; episode k is reset with seed eval_seed + k."""
    eval_seed: int | None = None
    """Seed of evaluation episodes; defaults to seed + 10_000, away from training seeds."""
    target_return: float | None = None
    """Stop as soon as an evaluation's mean return reaches this value."""
    checkpoint_every: int = 0
    """Write checkpoints/step_N.pt every this many steps (0: only the final checkpoint)."""
    log_every: int = 2_000
    """Write a metrics.csv row and TensorBoard scalars every this many steps."""
    device: str = "auto"
    """Device for networks: auto (CUDA when available), cpu or cuda."""
    torch_threads: int | None = None
    """Threads torch and NumPy's BLAS may use on the CPU during training (restored afterwards);
    None: the agent's choice (``Agent.torch_threads()``: 1 for the small MLP agents,
    whose tiny tensor operations only lose to thread hand-offs, the libraries' defaults for the
    others)."""
    flush_denormals: bool = True
    """Treat subnormal floats as zero in the training thread
    (:func:`rlworks.optim.flush_denormals`): Adam's moments of weights whose gradient stays zero
    decay into subnormals, whose arithmetic is ~20x slower on x86; off keeps IEEE arithmetic to
    the last bit in this process (A3C's worker processes always flush). It takes torch's switch,
    so it applies to agents that use torch; the NumPy engines never import torch, and their
    Adam (:class:`~rlworks.optim_numpy.NumpyAdam`) flushes its own moments instead."""
    plot: bool = True
    """Draw the learning curve ``curve.png`` into the run directory when the run ends (about
    0.4 s, mostly importing matplotlib; ``rlworks plot RUN_DIR`` draws it later)."""

    def validate(self) -> None:
        """Check ranges; raise :class:`ConfigError` naming the key."""
        for key in ("steps", "n_envs", "eval_episodes", "log_every"):
            if getattr(self, key) < 1:
                raise ConfigError(f"{key} must be >= 1, got {getattr(self, key)}")
        for key in ("eval_every", "checkpoint_every"):
            if getattr(self, key) < 0:
                raise ConfigError(f"{key} must be >= 0, got {getattr(self, key)}")
        if self.torch_threads is not None and self.torch_threads < 1:
            raise ConfigError(f"torch_threads must be >= 1 or null, got {self.torch_threads}")
        if self.max_iterations is not None and self.max_iterations < 1:
            raise ConfigError(f"max_iterations must be >= 1, got {self.max_iterations}")
        if self.max_episode_steps is not None and self.max_episode_steps < 1:
            raise ConfigError(f"max_episode_steps must be >= 1, got {self.max_episode_steps}")
        if self.target_return is not None and not math.isfinite(self.target_return):
            raise ConfigError(f"target_return must be a finite number, got {self.target_return}")

    @property
    def resolved_eval_seed(self) -> int:
        """The evaluation seed actually used."""
        return self.seed + 10_000 if self.eval_seed is None else self.eval_seed


@dataclass
class TrainState:
    """What the loop knows at any moment; callbacks read it and may set ``stop``."""

    config: TrainConfig
    run_dir: Path | None
    step: int = 0
    episodes: int = 0
    iteration: int = 0
    wall_s: float = 0.0
    info: dict[str, float] = field(default_factory=dict)
    metrics: dict[str, float] = field(default_factory=dict)
    last_eval: EvalResult | None = None
    last_eval_step: int = -1
    last_eval_version: int | None = None
    evals: list[tuple[int, float, float]] = field(default_factory=list)
    solved_at_step: int | None = None
    solved_at_s: float | None = None
    stop: bool = False
    stop_reason: str = ""


@dataclass(frozen=True)
class TrainResult:
    """Summary of a finished run (what ``rlworks train --json`` prints)."""

    algo: str
    env: str
    steps: int
    episodes: int
    wall_s: float
    steps_per_s: float
    eval_mean: float
    eval_std: float
    solved_at_step: int | None
    solved_at_s: float | None
    stop_reason: str
    run_dir: str | None

    def to_dict(self) -> dict[str, Any]:
        """A JSON-friendly dict."""
        return dataclasses.asdict(self)


def train(
    agent: Agent[Any],
    config: TrainConfig | None = None,
    *,
    run_dir: str | Path | None = None,
    progress: bool = True,
    callbacks: Sequence[Callback] = (),
    run_config: dict[str, Any] | None = None,
    resume: dict[str, Any] | None = None,
) -> TrainResult:
    """Train ``agent`` in ``agent.env`` for ``config.steps`` environment steps.

    Args:
        agent: Any rlworks agent.
        config: Trainer settings; ``TrainConfig()`` by default.
        run_dir: Directory for config.yaml, metrics.csv, TensorBoard events, checkpoints/,
            eval.json and curve.png; ``None`` writes nothing.
        progress: Show a progress bar (on standard error).
        callbacks: Extra callbacks, called after the built-in ones.
        run_config: The resolved run settings written to ``config.yaml``.
        resume: Trainer state from a checkpoint, to continue its counts.

    Returns:
        The run's :class:`TrainResult`.

    Raises:
        NonFiniteError: A NaN or infinity in rewards, observations or the agent's diagnostics.
    """
    config = config or TrainConfig()
    path = Path(run_dir) if run_dir is not None else None
    state = TrainState(config=config, run_dir=path)
    metrics: list[Metric] = [
        NumberOfEpisodes(),
        EnvironmentSteps(),
        AverageReturn(buffer_size=20),
        AverageEpisodeLength(buffer_size=20),
    ]
    offset_steps = offset_wall = 0.0
    if resume is not None:
        state.step = int(resume["step"])
        state.iteration = int(resume["iteration"])
        state.solved_at_step = resume.get("solved_at_step")
        state.solved_at_s = resume.get("solved_at_s")
        offset_steps, offset_wall = state.step, float(resume["wall_s"])
        state.wall_s = offset_wall
        for metric in metrics:
            metric.load_state_dict(resume["metrics"].get(metric.name, metric.state_dict()))
        state.episodes = int(metrics[0].result())
        state.metrics = {metric.name: metric.result() for metric in metrics}
        if config.max_iterations is not None and state.iteration >= config.max_iterations:
            raise ConfigError(
                f"the run already took its {config.max_iterations:,} iterations (max_iterations)"
            )
        if state.step >= config.steps:
            raise ConfigError(
                f"the run already took {state.step:,} of its {config.steps:,} steps; "
                "pass a larger --steps to continue it"
            )
    driver = Driver(agent.env, agent.collect_policy, [*agent.observers, *metrics])
    built_in: list[Callback] = []
    if progress:
        built_in.append(ProgressBar())
    if path is not None:
        built_in += [CSVLogger(path / "metrics.csv"), TensorBoardLogger(path)]
        built_in.append(CheckpointCallback(path / "checkpoints", agent, metrics, run_config))
    all_callbacks = [*built_in, *callbacks]

    wanted = config.torch_threads or agent.torch_threads()
    thread_limits = contextlib.ExitStack()  # undone in the finally clause below
    uses_torch = agent.uses_torch  # not the NumPy engines, which never import torch
    if wanted is not None:
        if uses_torch:
            import torch

            thread_limits.callback(torch.set_num_threads, torch.get_num_threads())
            torch.set_num_threads(wanted)
        # NumPy's BLAS too: idle OpenBLAS threads spin, stealing the cores the env and torch use.
        thread_limits.enter_context(threadpool_limits(limits=wanted, user_api="blas"))
    if config.flush_denormals and uses_torch:
        from rlworks.optim import flush_denormals

        thread_limits.enter_context(flush_denormals())
    start = time.perf_counter()
    eval_due = Every(config.eval_every, state.step)
    try:
        for callback in all_callbacks:
            callback.on_train_start(state)
        try:
            while state.step < config.steps and not state.stop:
                if config.max_iterations is not None and state.iteration >= config.max_iterations:
                    state.stop_reason = f"{config.max_iterations:,} iterations"
                    break
                # Collect and learn: the agent decides how many steps an iteration takes.
                info = agent.train_iteration(driver)
                state.iteration += 1
                state.step = int(offset_steps + driver.total_steps)
                state.episodes = int(metrics[0].result())
                state.wall_s = offset_wall + time.perf_counter() - start
                state.info = info
                state.metrics = {metric.name: metric.result() for metric in metrics}
                _check_info(info, state.step)
                for callback in all_callbacks:
                    callback.on_iteration(state)
                # Evaluate the greedy policy and stop early once it reaches the target.
                if eval_due.due(state.step):
                    _evaluate(agent, state, all_callbacks)
        except KeyboardInterrupt:
            # The iteration in progress is lost; the checkpoint records the steps really taken.
            state.step = int(offset_steps + driver.total_steps)
            state.stop_reason = "interrupted"
        state.stop_reason = state.stop_reason or "step budget"
        if state.last_eval_step != state.step and state.stop_reason != "interrupted":
            _evaluate(agent, state, all_callbacks)
        wall = offset_wall + time.perf_counter() - start
        last = state.last_eval
        result = TrainResult(
            algo=agent.algo,
            env=agent.env_id,
            steps=state.step,
            episodes=state.episodes,
            wall_s=round(wall, 3),
            steps_per_s=round(state.step / wall, 1) if wall > 0 else 0.0,
            eval_mean=last.mean if last else math.nan,
            eval_std=last.std if last else math.nan,
            solved_at_step=state.solved_at_step,
            solved_at_s=None if state.solved_at_s is None else round(state.solved_at_s, 3),
            stop_reason=state.stop_reason,
            run_dir=str(path) if path is not None else None,
        )
        for callback in all_callbacks:
            callback.on_train_end(state)
    except BaseException:
        # A failed run (e.g. NaN) closes its files but writes no final checkpoint or results.
        for callback in all_callbacks:
            callback.on_train_abort(state)
        raise
    finally:
        thread_limits.close()
    if path is not None:
        finish_run_dir(path, state, result, target_return=config.target_return, plot=config.plot)
    return result


def _evaluate(agent: Agent[Any], state: TrainState, callbacks: Sequence[Callback]) -> None:
    config = state.config
    version = agent.policy_version
    if state.last_eval is not None and version is not None and version == state.last_eval_version:
        result = state.last_eval  # the greedy policy has not changed: same episodes, same returns
    else:
        result = evaluate(
            agent,
            episodes=config.eval_episodes,
            seed=config.resolved_eval_seed,
            n_envs=_eval_envs(agent.env_id, config.eval_episodes),
            deterministic=True,
            max_episode_steps=config.max_episode_steps,
        )
    state.last_eval = result
    state.last_eval_version = version
    state.last_eval_step = state.step
    state.evals.append((state.step, result.mean, result.std))
    target = config.target_return
    if target is not None and result.mean >= target and state.solved_at_step is None:
        state.solved_at_step = state.step
        state.solved_at_s = state.wall_s
        state.stop = True
        state.stop_reason = f"target return {target:g} reached"
    for callback in callbacks:
        callback.on_eval(state, result)


def _check_info(info: dict[str, float], step: int) -> None:
    for key, value in info.items():
        if not np.isfinite(value):
            raise NonFiniteError(f"non-finite {key} = {value} at env step {step}")


def _eval_envs(env_id: str, episodes: int) -> int:
    """Environments an evaluation plays at once: every episode (up to 32), so the greedy policy
    runs on one batch per step; 8 for Atari games, which are heavier to make and hold. (The
    returns do not depend on it: each episode has its own seed.)"""
    return min(episodes, 8 if atari_game(env_id) is not None else 32)
