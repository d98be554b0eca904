"""Chapter 18, "Fixed Q-Value Targets": the DQN with a target model copied every 50 episodes.

The basic DQN sets its own targets, "a dog chasing its own tail". The chapter adds a target
model, a clone of the online model that only computes ``max_a' Q_target(s', a')``; the online
model learns and acts, and its weights are copied into the target every 50 episodes (``if
episode % 50 == 0`` after the 50 warm-up episodes: at episodes 100, 150, ... 550). Everything
else is example 13's: 2x32 ELU network, Nadam 1e-2, MSE, batch 32, γ = 0.95, ``deque(maxlen=
2000)``, 600 episodes of at most 200 steps, ε = ``max(1 - episode / 500, 0.01)``, one training
step per episode after episode 50, the best weights restored. The chapter's run ends on
``Episode: 600, Steps: 200, eps: 0.010``. (The chapter's loop here unpacks ``play_one_step``'s
result as ``obs, reward, done, info, truncated``, swapping two names; the loop still breaks on
``done`` only because ``info`` is an empty dict. This script unpacks in the right order.)

The changes from the chapter (PyTorch, Gymnasium's 200-step truncation with the chapter's
``runs = 1 - (dones | truncateds)``, seeding, NumPy acting, evaluation) are example 13's; see
its docstring. The target is ``copy.deepcopy(model)`` (the chapter's ``clone_model`` and
``set_weights``), refreshed with ``load_state_dict``.

Measured on seeds 0-5 (5-10 s of training on a busy 2-core machine): every seed reaches 200
steps, first at episode 330, 362, 351, 265, 371, 393 (later than example 13: the targets lag
the online model); the last 50 episodes average 66-189; the restored best weights score 173.7,
200.0, 197.1, 135.3, 189.0, 198.4 over the 10 greedy episodes. The script asserts for its
default seed 0 that some episode reaches 200 steps and that the greedy mean is at least 120.

The same agent from the command line (rlworks bootstraps through truncations):
``rlworks train dqn CartPole-v1 --preset book --seed 0``.

Run: ``python examples/chapter18/14_fixed_q_targets.py [--seed 0] [--episodes 600] [--plot FILE]``
"""

from __future__ import annotations

import copy
import sys
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from rlworks.nets import mlp, seeded
from rlworks.optim import make_optimizer

sys.path.insert(0, str(Path(__file__).resolve().parent))  # runpy does not add the script's dir
import _dqn_common as dqn

DEFAULT_SEED = 0
LEARNING_RATE = 1e-2


def make_model(seed: int) -> nn.Sequential:
    """The chapter's DQN: 4 inputs → 32 ELU → 32 ELU → one Q-value per action, Glorot init."""
    with seeded(seed):
        return mlp(4, [32, 32], 2, activation="elu", init="glorot")


def make_training_step(
    model: nn.Module, target: nn.Module, optimizer: torch.optim.Optimizer
) -> dqn.TrainingStep:
    """One MSE step towards ``r + γ·max_a' Q_target(s', a')``: the target model sets the
    targets (the one line the chapter changes), the online model learns."""

    def training_step(batch: dqn.Experiences) -> float:
        with torch.no_grad():
            max_next_q = target(batch.next_states).max(dim=1).values  # [B]  <= CHANGED
        runs = (~(batch.dones | batch.truncateds)).float()  # [B] 1: the episode goes on
        targets = batch.rewards + runs * dqn.DISCOUNT_FACTOR * max_next_q  # [B]
        q_values = model(batch.states).gather(1, batch.actions[:, None])[:, 0]  # [B]
        loss = F.mse_loss(q_values, targets)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        return loss.item()

    return training_step


def main(argv: list[str] | None = None) -> None:
    """Train with fixed Q-value targets as the chapter does, then evaluate the best weights."""
    args = dqn.parse_args(__doc__.splitlines()[0], argv, DEFAULT_SEED)
    model = make_model(args.seed)
    target = copy.deepcopy(model)  # the chapter's clone_model + set_weights
    optimizer = make_optimizer("nadam", model.parameters(), LEARNING_RATE)
    run, lengths = dqn.run_chapter_loop(
        "Fixed Q-value targets",
        model,
        make_training_step(model, target, optimizer),
        args,
        target=target,
    )
    if (args.seed, args.episodes) == (DEFAULT_SEED, dqn.N_EPISODES):
        assert run.first_max_episode is not None, "no episode reached 200 steps"
        assert np.mean(lengths) >= 120, lengths  # seeds 0-5: 135-200


if __name__ == "__main__":
    main()
