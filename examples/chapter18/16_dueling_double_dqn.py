"""Chapter 18, "Dueling Double DQN": Q = V(s) + A(s, a) - max A, trained as Double DQN.

A Q-value splits into the state's value and the action's advantage, ``Q(s, a) = V(s) + A(s, a)``,
and the best action's advantage is 0. The dueling DQN (Wang et al., 2015,
https://arxiv.org/abs/1511.06581) puts two heads on the 2x32 ELU body: one unit for ``V(s)``
and one per action for the raw advantages, from which the chapter subtracts their maximum, so
``Q(s, a) = V(s) + A(s, a) - max_a' A(s, a')``. (The paper prefers subtracting the mean;
rlworks' ``QNetwork`` offers both, ``dueling="max"`` being the chapter's.) The chapter trains it
with the Double DQN step of example 15 and the target copy every 50 episodes, at half the
learning rate (Nadam 5e-3), and ends on ``Episode: 600, Steps: 115, eps: 0.010``, calling it
"a pretty robust agent".

The changes from the chapter are example 13's (see its docstring). The model is a small
``nn.Module`` with Glorot-initialized layers; its ``numpy_forward`` computes the same Q-values
in NumPy for acting.

Measured on seeds 0-5 (6-17 s of training on a busy 2-core machine): every seed reaches 200
steps, first at episode 193, 233, 313, 275, 269, 403; the last 50 episodes average
50-146 (the curve collapses late on several seeds); the restored best weights score 200.0,
200.0, 143.7, 200.0, 200.0, 176.1 over the 10 greedy episodes. The script asserts for its
default seed 0 that some episode reaches 200 steps and that the greedy mean is at least 120.

The same from the command line: ``rlworks train dqn CartPole-v1 --preset book --set double=true
--set dueling=max --set learning_rate=0.005``.

Run: ``python examples/chapter18/16_dueling_double_dqn.py [--seed 0] [--episodes 600] [--plot PNG]``
"""

from __future__ import annotations

import copy
import sys
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from rlworks.nets import init_linear, seeded
from rlworks.nets.mlp import NumpyForward
from rlworks.optim import make_optimizer

sys.path.insert(0, str(Path(__file__).resolve().parent))  # runpy does not add the script's dir
import _dqn_common as dqn

DEFAULT_SEED = 0
LEARNING_RATE = 5e-3  # the chapter halves it for the dueling model


class DuelingDQN(nn.Module):
    """The chapter's dueling DQN: a 2x32 ELU body, then a state value ``V(s)`` and raw
    advantages ``A(s, a)``; ``Q(s, a) = V(s) + A(s, a) - max_a' A(s, a')``, so the best
    action's advantage is 0 and its Q-value is the state value."""

    def __init__(self, n_inputs: int = 4, n_actions: int = 2, hidden: int = 32) -> None:
        super().__init__()
        hidden1, hidden2 = nn.Linear(n_inputs, hidden), nn.Linear(hidden, hidden)
        self.body = nn.Sequential(hidden1, nn.ELU(), hidden2, nn.ELU())
        self.state_value = nn.Linear(hidden, 1)
        self.advantage = nn.Linear(hidden, n_actions)
        for layer in (hidden1, hidden2, self.state_value, self.advantage):
            init_linear(layer, "glorot")  # Keras' default: Glorot-uniform weights, zero biases
        self._numpy_body = NumpyForward(self.body)

    def forward(self, states: torch.Tensor) -> torch.Tensor:
        """``[B, 4]`` → ``[B, A]`` Q-values."""
        hidden = self.body(states)  # [B, 32]
        raw_advantages = self.advantage(hidden)  # [B, A]
        advantages = raw_advantages - raw_advantages.max(dim=1, keepdim=True).values  # [B, A]
        q_values: torch.Tensor = self.state_value(hidden) + advantages  # [B, 1] + [B, A]
        return q_values

    def numpy_forward(self, states: np.ndarray) -> np.ndarray:
        """The same in NumPy, for acting one state at a time (see ``make_q_function``)."""
        hidden = self._numpy_body(states)  # [B, 32]
        assert hidden is not None  # Linear and ELU layers always run in NumPy on the CPU
        w_v, b_v = (p.detach().numpy() for p in self.state_value.parameters())
        w_a, b_a = (p.detach().numpy() for p in self.advantage.parameters())
        raw_advantages = hidden @ w_a.T + b_a  # [B, A]
        advantages = raw_advantages - raw_advantages.max(axis=1, keepdims=True)
        out: np.ndarray = hidden @ w_v.T + b_v + advantages  # [B, A]
        return out


def make_model(seed: int) -> DuelingDQN:
    """The dueling DQN, initialized under ``seed``."""
    with seeded(seed):
        return DuelingDQN()


def make_training_step(
    model: nn.Module, target: nn.Module, optimizer: torch.optim.Optimizer
) -> dqn.TrainingStep:
    """The Double DQN step of example 15, unchanged: ``r + γ·Q_target(s', argmax Q_online)``."""

    def training_step(batch: dqn.Experiences) -> float:
        with torch.no_grad():
            best_next_actions = model(batch.next_states).argmax(dim=1, keepdim=True)  # [B, 1]
            max_next_q = target(batch.next_states).gather(1, best_next_actions)[:, 0]  # [B]
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
    """Train the dueling Double DQN as the chapter does, then evaluate the best weights."""
    args = dqn.parse_args(__doc__.splitlines()[0], argv, DEFAULT_SEED)
    model = make_model(args.seed)
    target = copy.deepcopy(model)  # the chapter's clone_model + set_weights
    optimizer = make_optimizer("nadam", model.parameters(), LEARNING_RATE)
    run, lengths = dqn.run_chapter_loop(
        "Dueling Double DQN",
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
