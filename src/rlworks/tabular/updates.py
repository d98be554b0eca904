"""Temporal-difference targets and the running-average update of TD(0), Q-learning and SARSA.

The chapter writes every one of these as ``a ←α b``, i.e. ``a ← (1 - α) a + α b``: a running
average of a *TD target* ``b``. The target functions here are pure and batched (rows from several
environments, ``[B]``); :func:`td_update` applies ``table[index] += α (target - table[index])`` and
returns the TD errors. Bootstrapping stops only at ``terminated``: a time-limit truncation still
bootstraps from the next state's value.

References: Sutton & Barto, *Reinforcement Learning: An Introduction* (2nd ed.), §6.1 (TD(0)),
§6.4 (SARSA), §6.5 (Q-learning), §6.6 (expected SARSA); Géron, ch. 18, "Temporal Difference
Learning" and "Q-Learning".
"""

from __future__ import annotations

import functools

import numpy as np

from rlworks.tabular.exploration import exploration_bonus

__all__ = [
    "earlier_repeats",
    "expected_sarsa_targets",
    "q_learning_targets",
    "sarsa_targets",
    "td0_targets",
    "td_update",
]


def td0_targets(
    reward: np.ndarray, next_v: np.ndarray, terminated: np.ndarray, gamma: float
) -> np.ndarray:
    """TD(0) targets ``r + γ V(s')``, or ``r`` alone when the episode terminated: all ``[B]``."""
    targets: np.ndarray = reward + gamma * np.where(terminated, 0.0, next_v)
    return targets


def q_learning_targets(
    reward: np.ndarray,
    next_q: np.ndarray,
    terminated: np.ndarray,
    gamma: float,
    *,
    next_counts: np.ndarray | None = None,
    bonus_k: float = 0.0,
) -> np.ndarray:
    """Q-learning targets ``r + γ max_a' Q(s', a')``: ``[B]``.

    ``next_q [B, A]`` holds ``-inf`` for impossible actions. With ``next_counts`` (``N(s', a')``,
    ``[B, A]``) the maximum is taken over the chapter's exploration function
    ``f(Q, N) = Q + k / (1 + N)`` instead, so that rarely tried actions look attractive from the
    states that lead to them.
    """
    if next_counts is not None:
        next_q = exploration_bonus(next_q, next_counts, bonus_k)
    return td0_targets(reward, next_q.max(axis=1), terminated, gamma)


def sarsa_targets(
    reward: np.ndarray, next_q_taken: np.ndarray, terminated: np.ndarray, gamma: float
) -> np.ndarray:
    """SARSA targets ``r + γ Q(s', a')`` for the action ``a'`` actually taken next: ``[B]``."""
    return td0_targets(reward, next_q_taken, terminated, gamma)


def expected_sarsa_targets(
    reward: np.ndarray,
    next_q: np.ndarray,
    next_probs: np.ndarray,
    terminated: np.ndarray,
    gamma: float,
) -> np.ndarray:
    """Expected-SARSA targets ``r + γ Σ_a' π(a'|s') Q(s', a')``: ``[B]``.

    Impossible actions have probability 0 (their ``-inf`` Q-values are ignored).
    """
    finite_q = np.where(next_probs > 0, next_q, 0.0)  # [B, A]
    expected = (next_probs * finite_q).sum(axis=1)  # [B]
    return td0_targets(reward, expected, terminated, gamma)


_DENSE_COUNT_LIMIT = 1 << 16
"""Tables up to this many entries find repeated entries with a bincount over the whole table."""


def td_update(
    table: np.ndarray,
    index: tuple[np.ndarray, ...],
    targets: np.ndarray,
    alpha: np.ndarray | float,
) -> np.ndarray:
    """``table[index] ←α targets`` in place; returns the TD errors ``targets - table[index]``.

    A batch holds one row per environment, as if the environments had stepped one after another:
    targets come from the table as it was before the batch, and rows that hit the same entry are
    applied in order, each moving the entry from where the previous one left it (with α = 1/N
    this is the exact running average). Summing their increments instead would multiply the
    learning rate by the number of repeats: with 8 environments starting in the same state and
    α = 0.5, the table diverges.

    Args:
        table: ``V [S]`` or ``Q [S, A]``; modified in place.
        index: ``(states,)`` or ``(states, actions)``, each ``[B]`` int.
        targets: TD targets, ``[B]``.
        alpha: Learning rate, a scalar or one per row ``[B]``.

    Returns:
        The TD errors against the table before the batch, ``[B]``.
    """
    errors: np.ndarray = targets - table[index]  # [B]
    if len(errors) == 1 or not _has_repeats(index, table.shape, table.size):
        table[index] += alpha * errors
        return errors
    # Applied in order, k rows on one entry give Q_k - Q_0 = sum_j α_j (t_j - Q_0) * keep_j with
    # keep_j = prod over later rows m on the same entry of (1 - α_m): sum those increments.
    alphas = np.broadcast_to(np.asarray(alpha, dtype=np.float64), errors.shape)  # [B]
    flat = _flat(index, table.shape)  # [B]
    later_same = (flat[:, None] == flat[None, :]) & _later(len(flat))  # [B, B]: m > j, same entry
    keep = np.where(later_same, 1.0 - alphas[None, :], 1.0).prod(axis=1)  # [B]
    np.add.at(table, index, alphas * keep * errors)
    return errors


def earlier_repeats(index: tuple[np.ndarray, ...], shape: tuple[int, ...]) -> np.ndarray:
    """For each row of a batch, how many earlier rows name the same table entry: ``[B]``."""
    flat = _flat(index, shape)  # [B]
    counts: np.ndarray = ((flat[:, None] == flat[None, :]) & _later(len(flat)).T).sum(axis=1)
    return counts


def _flat(index: tuple[np.ndarray, ...], shape: tuple[int, ...]) -> np.ndarray:
    flat: np.ndarray = index[0] * shape[1] + index[1] if len(index) == 2 else index[0]  # [B]
    return flat


@functools.cache
def _later(n: int) -> np.ndarray:
    """``[n, n]`` bool, True where column > row (np.triu is slow for a per-step call)."""
    later: np.ndarray = np.arange(n)[None, :] > np.arange(n)[:, None]
    return later


def _has_repeats(index: tuple[np.ndarray, ...], shape: tuple[int, ...], size: int) -> bool:
    """Whether two rows of ``index`` name the same table entry."""
    flat = _flat(index, shape)  # [B]
    if size <= _DENSE_COUNT_LIMIT:  # counting over the whole table is cheapest
        return bool(np.bincount(flat, minlength=size).max() > 1)
    ordered = np.sort(flat)
    return bool((ordered[1:] == ordered[:-1]).any())
