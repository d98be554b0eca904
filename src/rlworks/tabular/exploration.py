"""Exploration policies over Q-tables: random, greedy, ε-greedy and the exploration function.

All functions act on a batch of table rows ``q [N, A]`` in which impossible actions (the chapter's
missing ``possible_actions``) hold ``-inf``, so they are never chosen; ``valid [N, A]`` masks them
for the random choices. Exploring policies break ties between equal Q-values at random (a
zero-initialized table would otherwise always pick action 0); the evaluation policy
:func:`greedy_actions` picks the lowest index, like ``argmax``, so that it is deterministic.
The functions draw all their random numbers in one call: they run once per environment step.

Reference: Géron, *Hands-On Machine Learning*, ch. 18, "Exploration Policies".
"""

from __future__ import annotations

import numpy as np

__all__ = [
    "epsilon_greedy_actions",
    "epsilon_greedy_probabilities",
    "exploration_bonus",
    "greedy_actions",
    "random_actions",
]


def greedy_actions(q: np.ndarray) -> np.ndarray:
    """``argmax_a Q(s, a)``, ties to the lowest index: ``[N, A]`` → ``[N]``."""
    actions: np.ndarray = q.argmax(axis=1)
    return actions


def random_actions(valid: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """A uniformly random possible action for each row: ``[N, A]`` bool → ``[N]``."""
    actions: np.ndarray = (valid * rng.random(valid.shape)).argmax(axis=1)
    return actions


def epsilon_greedy_actions(
    q: np.ndarray, valid: np.ndarray, epsilon: float, rng: np.random.Generator
) -> np.ndarray:
    """With probability ``epsilon`` a random possible action, otherwise a greedy one: ``[N]``.

    Greedy ties are broken uniformly at random; ``epsilon = 0`` is the random-tie greedy policy.
    """
    u = rng.random((q.shape[0], q.shape[1] + 1))  # [N, 1 + A]: explore draw, then choice draws
    best = q == q.max(axis=1, keepdims=True)  # [N, A]
    candidates = np.where(u[:, :1] < epsilon, valid, best)  # [N, A]
    actions: np.ndarray = (candidates * u[:, 1:]).argmax(axis=1)
    return actions


def epsilon_greedy_probabilities(q: np.ndarray, valid: np.ndarray, epsilon: float) -> np.ndarray:
    """The ε-greedy policy's action probabilities ``π(a | s)``: ``[N, A]``, rows sum to 1 (rows of
    states without a possible action are 0).

    Each possible action gets ``epsilon / n_possible``; the greedy actions share the remaining
    ``1 - epsilon`` equally (as random tie-breaking does).
    """
    best = (q == q.max(axis=1, keepdims=True)) & valid  # [N, A]
    n_valid = valid.sum(axis=1, keepdims=True)  # [N, 1]
    n_best = best.sum(axis=1, keepdims=True)  # [N, 1]
    # A state without possible actions (terminal) gets an all-zero row instead of 0 / 0.
    explore = np.divide(epsilon, n_valid, out=np.zeros(n_valid.shape), where=n_valid > 0)
    exploit = np.divide(1.0 - epsilon, n_best, out=np.zeros(n_best.shape), where=n_best > 0)
    probs: np.ndarray = valid * explore + best * exploit
    return probs


def exploration_bonus(q: np.ndarray, counts: np.ndarray, k: float) -> np.ndarray:
    """The chapter's exploration function ``f(Q, N) = Q + k / (1 + N)``.

    Args:
        q: Q-value estimates, any shape.
        counts: ``N``, how many times each action was tried in each state, same shape.
        k: Curiosity: how much the agent is attracted to actions it has rarely tried.
    """
    bonus: np.ndarray = q + k / (1.0 + counts)
    return bonus
