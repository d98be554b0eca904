"""The DQN family's targets and losses, as pure functions of tensors.

Nothing here touches a network, a buffer or an optimizer, and nothing mutates its inputs: the
agent computes Q-values, calls these, and steps. Each loss returns ``(loss, info)`` where
``info["td_errors"]`` holds one error per sample, which prioritized replay turns into priorities.

* :func:`q_targets`: ``r + γ^k · max_a' Q_target(s', a')`` (fixed Q-targets, Mnih et al. 2015),
  or with ``next_q_online`` the Double-DQN target ``r + γ^k · Q_target(s', argmax_a'
  Q_online(s', a'))`` (van Hasselt et al. 2016, https://arxiv.org/abs/1509.06461). The buffer's
  ``discounts`` are ``γ^k`` after ``k`` summed rewards, 0 after a termination.
* :func:`td_loss`: Huber or squared TD error, weighted by importance-sampling weights.
* :func:`categorical_projection` and :func:`categorical_loss`: C51 (Bellemare et al. 2017,
  https://arxiv.org/abs/1707.06887): the target distribution ``r + γ^k · Z(s', a*)`` projected
  back onto the fixed support, and the cross-entropy to it.
"""

from __future__ import annotations

from typing import Literal

import torch
import torch.nn.functional as F

__all__ = ["categorical_loss", "categorical_projection", "q_targets", "td_loss"]


def q_targets(
    rewards: torch.Tensor,
    discounts: torch.Tensor,
    next_q_target: torch.Tensor,
    next_q_online: torch.Tensor | None = None,
) -> torch.Tensor:
    """One-step (or n-step) Q-learning targets, ``[B]``.

    Args:
        rewards: ``[B]`` (n-step discounted) reward sums.
        discounts: ``[B]`` ``γ^k``, or 0 where the episode terminated.
        next_q_target: ``[B, A]`` target-network Q-values of the next observations.
        next_q_online: ``[B, A]`` online-network Q-values of the next observations: given, the
            online network picks the next action (Double DQN); None, the target's max is used.
    """
    if next_q_online is None:
        next_values = next_q_target.max(dim=1).values  # [B]
    else:
        best = next_q_online.argmax(dim=1, keepdim=True)  # [B, 1]
        next_values = next_q_target.gather(1, best).squeeze(1)  # [B]
    return rewards + discounts * next_values


def td_loss(
    q_taken: torch.Tensor,
    targets: torch.Tensor,
    weights: torch.Tensor | None = None,
    kind: Literal["huber", "mse"] = "huber",
    delta: float = 1.0,
) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
    """Mean (weighted) TD loss between ``Q(s, a)`` and fixed targets.

    Args:
        q_taken: ``[B]`` online Q-values of the actions taken, with gradient.
        targets: ``[B]`` targets, treated as constants.
        weights: ``[B]`` importance-sampling weights, or None for all ones.
        kind: ``huber`` (``δ²/2`` inside ``|δ| <= delta``, linear outside) or ``mse`` (``δ²``,
            the chapter's ``mean_squared_error``).
        delta: Huber threshold.

    Returns:
        The loss and ``info`` with ``td_errors`` ``[B]`` (target - Q, detached) and ``q_mean``.
    """
    targets = targets.detach()
    if kind == "huber":
        per_sample = F.huber_loss(q_taken, targets, reduction="none", delta=delta)  # [B]
    else:
        per_sample = (q_taken - targets).square()  # [B]
    loss = per_sample.mean() if weights is None else (weights * per_sample).mean()
    info = {"td_errors": (targets - q_taken).detach(), "q_mean": q_taken.detach().mean()}
    return loss, info


def categorical_projection(
    next_probs: torch.Tensor,
    rewards: torch.Tensor,
    discounts: torch.Tensor,
    support: torch.Tensor,
) -> torch.Tensor:
    """Project the distribution of ``r + γ^k · Z`` onto ``support``, ``[B, Z]``.

    Each atom ``z_j`` of the next distribution moves to ``r + γ^k · z_j``, clipped to
    ``[v_min, v_max]``, and its probability is split between the two support points around it in
    proportion to how close it lands (all of it when it lands exactly on one).

    Args:
        next_probs: ``[B, Z]`` probabilities of the next state's chosen action.
        rewards: ``[B]``.
        discounts: ``[B]`` (0 after termination: all mass lands on ``r``).
        support: ``[Z]`` evenly spaced ``v_min .. v_max``.
    """
    n_atoms = support.shape[0]
    v_min, v_max = support[0], support[-1]
    delta_z = (v_max - v_min) / (n_atoms - 1)
    shifted = (rewards[:, None] + discounts[:, None] * support[None, :]).clamp(v_min, v_max)
    position = ((shifted - v_min) / delta_z).clamp(0, n_atoms - 1)  # [B, Z]
    lower, upper = position.floor(), position.ceil()
    exact = lower == upper  # landed on a support point: all the mass goes there
    lower_mass = next_probs * torch.where(exact, torch.ones_like(position), upper - position)
    upper_mass = next_probs * (position - lower)  # 0 where exact
    projected = torch.zeros_like(next_probs)
    projected.scatter_add_(1, lower.long(), lower_mass)
    projected.scatter_add_(1, upper.long(), upper_mass)
    return projected


def categorical_loss(
    log_probs_taken: torch.Tensor,
    target_probs: torch.Tensor,
    weights: torch.Tensor | None = None,
) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
    """Cross-entropy from the projected target distribution to the predicted one.

    Args:
        log_probs_taken: ``[B, Z]`` log-probabilities of the actions taken, with gradient.
        target_probs: ``[B, Z]`` projected targets (:func:`categorical_projection`), constants.
        weights: ``[B]`` importance-sampling weights, or None.

    Returns:
        The loss and ``info`` with ``td_errors`` ``[B]`` (the per-sample cross-entropy, which
        Rainbow uses as the priority) and ``q_mean`` (unused by callers, 0-dim).
    """
    cross_entropy = -(target_probs.detach() * log_probs_taken).sum(dim=1)  # [B]
    loss = cross_entropy.mean() if weights is None else (weights * cross_entropy).mean()
    info = {"td_errors": cross_entropy.detach(), "q_mean": torch.zeros(())}
    return loss, info
