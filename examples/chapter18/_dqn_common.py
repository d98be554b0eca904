"""The pieces the chapter's four deep Q-learning scripts share (examples 13-16).

The chapter writes its replay memory (a ``deque`` of experience tuples), ``sample_experiences``,
``epsilon_greedy_policy``, ``play_one_step`` and the 600-episode loop once and then only changes
``training_step`` (and, for the dueling DQN, the model). This module holds those shared pieces so
each example script shows just the part its variant changes. The leading underscore keeps the
test suite, which runs every ``examples/chapter18/[0-9]*.py``, from running it as an example.

Randomness: the env is reset once with ``seed`` and then without a seed (Gymnasium keeps drawing
from the seeded generator); one ``np.random.Generator`` picks the random actions and the replay
indices; the scripts build their networks under ``rlworks.nets.seeded(seed)``, which leaves the
caller's global torch generator untouched. Training draws nothing from torch after that.
"""

from __future__ import annotations

import argparse
import copy
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NamedTuple

import gymnasium as gym
import numpy as np
import torch
from torch import nn

from rlworks.nets.mlp import NumpyForward

ENV_ID = "CartPole-v1"
N_EPISODES = 600  # the chapter's loop: 600 episodes ...
MAX_STEPS = 200  # ... of at most 200 steps
N_WARMUP_EPISODES = 50  # no training while episode <= 50 (`if episode > 50`)
TARGET_UPDATE_PERIOD = 50  # episodes between target copies (fixed Q-value targets onwards)
BATCH_SIZE = 32
DISCOUNT_FACTOR = 0.95
MEMORY_SIZE = 2000
EVAL_EPISODES = 10
EVAL_SEED = 10_000  # evaluation resets use seeds 10,000-10,009, away from the training seed

Experience = tuple[np.ndarray, int, float, np.ndarray, bool, bool]
"""One replay-memory entry: (state, action, reward, next_state, done, truncated)."""


class Experiences(NamedTuple):
    """A sampled batch, one array per field (``B`` rows)."""

    states: torch.Tensor  # [B, 4] float32
    actions: torch.Tensor  # [B] int64
    rewards: torch.Tensor  # [B] float32
    next_states: torch.Tensor  # [B, 4] float32
    dones: torch.Tensor  # [B] bool: the pole fell or the cart left the track
    truncateds: torch.Tensor  # [B] bool: the 200-step limit cut the episode


TrainingStep = Callable[[Experiences], float]
"""The part each variant changes: one gradient step on a sampled batch; returns the loss."""


def make_env(max_steps: int = MAX_STEPS) -> gym.Env[Any, Any]:
    """One CartPole whose episodes are truncated after ``max_steps`` steps (the chapter's 200)."""
    return gym.make(ENV_ID, max_episode_steps=max_steps)


def sample_experiences(
    replay_memory: deque[Experience], batch_size: int, rng: np.random.Generator
) -> Experiences:
    """Draw ``batch_size`` entries uniformly (with replacement) and stack each field."""
    indices = rng.integers(len(replay_memory), size=batch_size)
    batch = [replay_memory[i] for i in indices]
    states, actions, rewards, next_states, dones, truncateds = zip(*batch, strict=True)
    return Experiences(
        states=torch.as_tensor(np.array(states), dtype=torch.float32),
        actions=torch.as_tensor(np.array(actions), dtype=torch.int64),
        rewards=torch.as_tensor(np.array(rewards), dtype=torch.float32),
        next_states=torch.as_tensor(np.array(next_states), dtype=torch.float32),
        dones=torch.as_tensor(np.array(dones), dtype=torch.bool),
        truncateds=torch.as_tensor(np.array(truncateds), dtype=torch.bool),
    )


QFunction = Callable[[np.ndarray], np.ndarray]
"""Q-values of a float32 batch of states ``[N, 4]`` → ``[N, A]`` as a NumPy array."""


def make_q_function(model: nn.Module) -> QFunction:
    """The model's forward pass for acting, in NumPy where it can run there.

    Acting calls the network on one state at a time some 60,000 times per run; torch's per-call
    overhead (~150 µs for this 3-layer stack) would be most of the run time, NumPy takes ~15 µs.
    A model runs in NumPy when it is an ``nn.Sequential`` that
    :class:`rlworks.nets.mlp.NumpyForward` supports, or has its own ``numpy_forward`` method
    (the dueling DQN); otherwise torch runs it. Either way the current parameters are read.
    """
    forward = getattr(model, "numpy_forward", None)
    if forward is None and isinstance(model, nn.Sequential) and NumpyForward.supports(model):
        forward = NumpyForward(model)
    if forward is not None:
        return forward  # type: ignore[no-any-return]

    def torch_forward(states: np.ndarray) -> np.ndarray:
        with torch.no_grad():
            return model(torch.as_tensor(states)).numpy()  # type: ignore[no-any-return]

    return torch_forward


def greedy_action(q_function: QFunction, state: np.ndarray) -> int:
    """The action with the largest predicted Q-value."""
    q_values = q_function(np.asarray(state, dtype=np.float32)[None])  # [1, A]
    return int(q_values[0].argmax())


def epsilon_greedy_policy(
    q_function: QFunction,
    state: np.ndarray,
    epsilon: float,
    rng: np.random.Generator,
    n_actions: int,
) -> int:
    """A random action with probability ``epsilon``, else the greedy one."""
    if rng.random() < epsilon:
        return int(rng.integers(n_actions))
    return greedy_action(q_function, state)


def play_one_step(
    env: gym.Env[Any, Any],
    state: np.ndarray,
    epsilon: float,
    q_function: QFunction,
    replay_memory: deque[Experience],
    rng: np.random.Generator,
) -> tuple[np.ndarray, float, bool, bool]:
    """Act ε-greedily, store the experience, return ``(next_state, reward, done, truncated)``."""
    action = epsilon_greedy_policy(q_function, state, epsilon, rng, int(env.action_space.n))  # type: ignore[attr-defined]
    next_state, reward, done, truncated, _ = env.step(action)
    replay_memory.append((state, action, float(reward), next_state, done, truncated))
    return next_state, float(reward), done, truncated


@dataclass
class DQNRun:
    """What the chapter's loop produced."""

    rewards: list[int] = field(default_factory=list)  # steps (= sum of rewards) per episode
    best_score: int = 0
    best_episode: int = 0  # 1-based, the last episode reaching best_score
    best_weights: dict[str, torch.Tensor] = field(default_factory=dict)
    wall_s: float = 0.0

    @property
    def first_max_episode(self) -> int | None:
        """The first episode (1-based) lasting the full 200 steps, or None."""
        return next((i + 1 for i, r in enumerate(self.rewards) if r >= MAX_STEPS), None)


def train_dqn(
    env: gym.Env[Any, Any],
    model: nn.Module,
    training_step: TrainingStep,
    *,
    seed: int,
    rng: np.random.Generator,
    n_episodes: int = N_EPISODES,
    target: nn.Module | None = None,
) -> DQNRun:
    """The chapter's loop: ε decays from 1 to 0.01 over 500 episodes, one training step per
    episode once ``episode > 50``, a copy into ``target`` every 50 episodes (when given), and
    the weights of the best episode so far kept (ties: the later episode)."""
    replay_memory: deque[Experience] = deque(maxlen=MEMORY_SIZE)
    q_function = make_q_function(model)
    run = DQNRun()
    start = time.perf_counter()
    env.reset(seed=seed)
    for episode in range(n_episodes):
        state, _ = env.reset()
        epsilon = max(1 - episode / 500, 0.01)
        steps = 0
        for _ in range(MAX_STEPS):  # the env also truncates at MAX_STEPS
            state, _, done, truncated = play_one_step(
                env, state, epsilon, q_function, replay_memory, rng
            )
            steps += 1
            if done or truncated:
                break
        run.rewards.append(steps)
        if steps >= run.best_score:
            run.best_score, run.best_episode = steps, episode + 1
            run.best_weights = copy.deepcopy(model.state_dict())
        if (episode + 1) % 50 == 0 or episode + 1 == n_episodes:
            recent = np.mean(run.rewards[-50:])
            print(
                f"Episode: {episode + 1}, Steps: {steps}, eps: {epsilon:.3f} "
                f"(mean of the last 50: {recent:.1f}, best so far: {run.best_score})"
            )
        if episode > N_WARMUP_EPISODES:
            training_step(sample_experiences(replay_memory, BATCH_SIZE, rng))
            if target is not None and episode % TARGET_UPDATE_PERIOD == 0:
                target.load_state_dict(model.state_dict())
    run.wall_s = time.perf_counter() - start
    return run


def evaluate_greedy(model: nn.Module, episodes: int = EVAL_EPISODES) -> list[int]:
    """Steps lasted by the greedy policy on ``episodes`` fresh 200-step episodes."""
    env = make_env()
    q_function = make_q_function(model)
    lengths = []
    for i in range(episodes):
        state, _ = env.reset(seed=EVAL_SEED + i)
        steps = 0
        for _ in range(MAX_STEPS):
            state, _, done, truncated, _ = env.step(greedy_action(q_function, state))
            steps += 1
            if done or truncated:
                break
        lengths.append(steps)
    env.close()
    return lengths


def parse_args(description: str, argv: list[str] | None, default_seed: int) -> argparse.Namespace:
    """The scripts' shared options: ``--seed``, ``--episodes`` and ``--plot``."""
    parser = argparse.ArgumentParser(description=description, allow_abbrev=False)
    parser.add_argument("--seed", type=int, default=default_seed, help="seed of env, ε and model")
    parser.add_argument("--episodes", type=int, default=N_EPISODES, help="training episodes")
    parser.add_argument("--plot", type=Path, default=None, help="save the learning curve here")
    args, _ = parser.parse_known_args(argv)  # known only: the test suite runs under pytest's argv
    return args


def plot_rewards(rewards: list[int], path: Path, title: str) -> None:
    """Save the per-episode curve (the chapter's "Sum of rewards" figure) to ``path``."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(8, 4))
    ax.plot(rewards)
    ax.set_xlabel("Episode", fontsize=14)
    ax.set_ylabel("Sum of rewards", fontsize=14)
    ax.set_title(title)
    ax.grid(True)
    fig.savefig(path, bbox_inches="tight")
    plt.close(fig)
    print(f"learning curve saved to {path}")


def run_chapter_loop(
    title: str,
    model: nn.Module,
    training_step: TrainingStep,
    args: argparse.Namespace,
    *,
    target: nn.Module | None = None,
) -> tuple[DQNRun, list[int]]:
    """Train as the chapter does, restore the best weights, evaluate them greedily, print all.

    Returns the run and the greedy evaluation's episode lengths.
    """
    rng = np.random.default_rng(args.seed)
    env = make_env()
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # a 2x32 network on batches of 32 gains nothing from threads
    try:
        run = train_dqn(
            env, model, training_step, seed=args.seed, rng=rng, n_episodes=args.episodes,
            target=target,
        )  # fmt: skip
        model.load_state_dict(run.best_weights)  # the chapter restores the best weights
        lengths = evaluate_greedy(model)
    finally:
        torch.set_num_threads(threads)
        env.close()
    print(f"\n{title}, seed {args.seed}: {len(run.rewards)} episodes in {run.wall_s:.1f} s")
    print(f"  first episode lasting {MAX_STEPS} steps: {run.first_max_episode}")
    print(f"  best score {run.best_score} (episode {run.best_episode}), weights restored")
    print(f"  greedy policy with the best weights, {len(lengths)} episodes: {lengths}")
    print(f"  mean {np.mean(lengths):.1f}")
    if args.plot is not None:
        plot_rewards(run.rewards, args.plot, f"{title} (seed {args.seed})")
    return run, lengths
