"""Chapter 18, "Exploration Policies": random, ε-greedy and the exploration function compared.

"Q-learning can work only if the exploration policy explores the MDP thoroughly enough. Although
a purely random policy is guaranteed to visit every state and every transition many times, it
may take an extremely long time to do so. Therefore, a better option is to use the ε-greedy
policy [...] it will spend more and more time exploring the interesting parts of the
environment". The alternative is to add a bonus to rarely tried actions, acting on and backing
up ``f(Q, N) = Q + k / (1 + N)``, "where k is a curiosity hyperparameter".

Three :class:`~rlworks.tabular.QLearning` agents learn the MDP of Figure 18-8 with the chapter's
settings (``γ = 0.90``, ``α = 0.05 / (1 + 0.005 t)``, 10,000 steps), each exploring differently:
``random``; ``epsilon`` (ε from 1 to 0.05 over the first 5,000 steps); ``bonus`` (``k = 10``).
Each runs for two seeds, in ``rlworks/BookMDP-v0`` (8 copies, 100-step episodes that start in
``s0``). The table shows what each learned — Q(s0, a0) (true value 18.92) and the largest error
over all possible actions — and what each earned while learning.

What this shows, measured (the runs are seeded, so the numbers repeat exactly): all three find the
optimal policy [0, 0, 1] (at γ = 0.90 the best thing to do in s1 is to stay: the fire costs more
than s2's reward is worth). The greedy strategies spend most of their time in s1 and earn more
while learning (about +0.3 per step against -0.36 for the random policy, which keeps walking
through the fire), but the random policy, which visits everything, has the most accurate
Q-values; the exploration function with this small learning rate barely learns s2 at all. That is
the exploration/exploitation trade-off.

The same from the command line, one strategy and seed at a time: ``rlworks train q-learning
rlworks/BookMDP-v0 --steps 10000 --set gamma=0.9 --set alpha0=0.05 --set decay=0.005
--set exploration=epsilon --set epsilon_end=0.05 --set epsilon_decay_steps=5000``.

Run: ``python examples/chapter18/06_exploration.py``
"""

from __future__ import annotations

from typing import Any

import numpy as np

import rlworks as rw
from rlworks.agents import QLearning, TabularConfig
from rlworks.mdp import book_mdp, solve
from rlworks.training.driver import Driver
from rlworks.types import Transition

STEPS = 10_000
CHECKPOINTS = (2_500, 5_000, 10_000)  # steps at which Q(s0, a0) is read
SEEDS = (0, 1)
CHAPTER = {"gamma": 0.90, "learning_rate": "power", "alpha0": 0.05, "decay": 0.005}
STRATEGIES = {
    "random": TabularConfig(**CHAPTER, exploration="random"),
    "epsilon": TabularConfig(
        **CHAPTER, exploration="epsilon", epsilon_end=0.05, epsilon_decay_steps=5_000
    ),
    "bonus": TabularConfig(**CHAPTER, exploration="bonus", bonus_k=10.0),
}


class RewardPerStep:
    """An observer: the mean reward the exploring agent collects per step while it learns."""

    def __init__(self) -> None:
        self.total = 0.0
        self.steps = 0

    def __call__(self, transition: Transition) -> None:
        self.total += float(transition.reward.sum())
        self.steps += transition.batch_size

    @property
    def mean(self) -> float:
        return self.total / max(self.steps, 1)


def learn(config: TabularConfig, seed: int, q_star: np.ndarray) -> dict[str, Any]:
    """Train one Q-learning agent; returns what it learned and how it behaved."""
    env = rw.make_env("rlworks/BookMDP-v0", n_envs=8, seed=seed)
    agent = QLearning(env, config, seed=seed)
    reward = RewardPerStep()
    driver = Driver(env, agent.collect_policy, [*agent.observers, reward])
    q00 = []
    for checkpoint in CHECKPOINTS:
        driver.run(num_steps=checkpoint - driver.total_steps)
        q00.append(agent.q_values[0, 0])
    env.close()
    possible = np.isfinite(q_star)
    visits = agent.visits.sum(axis=1)  # [S]: steps spent in each state
    return {
        "policy": agent.greedy_policy().tolist(),
        "q00": np.array(q00),
        "error": float(np.abs(agent.q_values[possible] - q_star[possible]).max()),
        "reward": reward.mean,
        "time_in": visits / visits.sum(),
    }


def main() -> None:
    """Compare the three exploration strategies and print a table of the seed averages."""
    q_star = solve(book_mdp(), 0.90, method="q-value").Q  # [S, A], the true Q-values
    print(f"true Q(s0, a0) = {q_star[0, 0]:.2f}, optimal policy = {[0, 0, 1]}\n")
    header = "  ".join(f"{f'Q(s0,a0)@{n // 1000}k':>12}" for n in CHECKPOINTS)
    print(f"{'strategy':<8}  {header}  max|Q-Q*|  reward/step  time in s0/s1/s2  policies")
    results = {}
    for name, config in STRATEGIES.items():
        runs = [learn(config, seed, q_star) for seed in SEEDS]
        results[name] = runs
        q00 = np.mean([run["q00"] for run in runs], axis=0)
        error = np.mean([run["error"] for run in runs])
        reward = np.mean([run["reward"] for run in runs])
        time_in = np.mean([run["time_in"] for run in runs], axis=0)
        policies = {str(run["policy"]) for run in runs}
        shares = "/".join(f"{t:.2f}" for t in time_in)
        print(
            f"{name:<8}  " + "  ".join(f"{q:>12.2f}" for q in q00),
            f"{error:>9.2f}  {reward:>+11.2f}  {shares:>16}  {', '.join(policies)}",
            sep="  ",
        )

    def mean(name: str, key: str) -> float:
        return float(np.mean([run[key] for run in results[name]]))

    assert all(run["policy"] == [0, 0, 1] for runs in results.values() for run in runs)
    assert mean("epsilon", "reward") > mean("random", "reward") + 0.3  # measured: +0.31 vs -0.36
    assert mean("bonus", "reward") > mean("random", "reward") + 0.3  # measured: +0.26
    assert mean("random", "error") < min(mean("epsilon", "error"), mean("bonus", "error"))
    print("\nall strategies find the optimal policy; the greedy ones earn more while learning,")
    print("the random one learns the most accurate Q-values (it keeps exploring everything)")


if __name__ == "__main__":
    main()
