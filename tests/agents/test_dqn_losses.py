"""Exact values of the DQN family's targets and losses, with the arithmetic in comments."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from rlworks.agents.dqn import categorical_loss, categorical_projection, q_targets, td_loss
from rlworks.buffers import ReplayBuffer


def t(values: object) -> torch.Tensor:
    return torch.tensor(values, dtype=torch.float32)


def test_fixed_q_target_takes_the_target_networks_max() -> None:
    rewards, discounts = t([1.0, 0.5]), t([0.99, 0.0])
    next_q_target = t([[1.0, 3.0], [2.0, 5.0]])
    # row 0: 1 + 0.99 · max(1, 3) = 3.97; row 1 terminated (discount 0): 0.5
    assert q_targets(rewards, discounts, next_q_target).tolist() == pytest.approx([3.97, 0.5])


def test_double_dqn_target_lets_the_online_network_pick_the_action() -> None:
    rewards, discounts = t([1.0, 0.5]), t([0.99, 0.9])
    next_q_target = t([[1.0, 3.0], [2.0, 5.0]])
    next_q_online = t([[4.0, 1.0], [0.0, 9.0]])
    # row 0: online argmax is action 0, valued by the target at 1 → 1 + 0.99 · 1 = 1.99
    #        (the plain target would take max 3 → 3.97: the overestimate Double DQN avoids)
    # row 1: online argmax is action 1, valued 5 → 0.5 + 0.9 · 5 = 5.0
    targets = q_targets(rewards, discounts, next_q_target, next_q_online)
    assert targets.tolist() == pytest.approx([1.99, 5.0])


def test_n_step_targets_stop_at_termination_and_bootstrap_through_truncation() -> None:
    gamma = 0.9
    buffer = ReplayBuffer(100, (1,), np.float32, n_step=3, gamma=gamma)
    # Episode A: rewards 1, 2, 3, 4 then TERMINATED; episode B: rewards 10, 20 then TRUNCATED.
    rewards = [1.0, 2.0, 3.0, 4.0, 10.0, 20.0]
    terminated = [False, False, False, True, False, False]
    truncated = [False, False, False, False, False, True]
    obs = [0.0, 1.0, 2.0, 3.0, 10.0, 11.0]
    next_obs = [1.0, 2.0, 3.0, 4.0, 11.0, 12.0]
    for i in range(6):
        buffer.add(
            [[obs[i]]], [0], [rewards[i]], [[next_obs[i]]], [terminated[i]], [truncated[i]], [0]
        )
    batch = buffer.gather(np.arange(len(buffer)))
    order = np.argsort(batch.obs[:, 0])  # rows by the observation they start from
    v = 100.0  # the target network values every state and action at 100
    next_q = torch.full((len(order), 2), v)
    targets = q_targets(
        torch.as_tensor(batch.rewards[order]), torch.as_tensor(batch.discounts[order]), next_q
    ).numpy()
    expected = [
        1 + 0.9 * 2 + 0.81 * 3 + 0.729 * v,  # s0: three rewards, bootstrap from s3 → 77.13
        2 + 0.9 * 3 + 0.81 * 4,  # s1: 2, 3, 4, then terminated: no bootstrap → 7.94
        3 + 0.9 * 4,  # s2: cut by the termination after two rewards → 6.6
        4.0,  # s3: the terminal step itself
        10 + 0.9 * 20 + 0.81 * v,  # s10: truncated after two rewards: bootstrap from s12 → 109
        20 + 0.9 * v,  # s11: truncated after one reward: bootstrap → 110
    ]
    np.testing.assert_allclose(targets, expected, rtol=1e-6)
    np.testing.assert_array_equal(batch.obs[order, 0], [0, 1, 2, 3, 10, 11])
    # the bootstrap observations: s3 for s0's window, s12 for both truncated windows
    assert batch.next_obs[order[0], 0] == 3.0 and batch.next_obs[order[4], 0] == 12.0


def test_huber_and_squared_td_losses() -> None:
    q_taken = t([0.0, 0.0]).requires_grad_()
    targets = t([0.5, 3.0])
    # huber(0.5) = 0.5 · 0.5² = 0.125 (inside delta 1); huber(3) = 1 · (3 - 0.5) = 2.5
    loss, info = td_loss(q_taken, targets, kind="huber")
    assert float(loss.detach()) == pytest.approx((0.125 + 2.5) / 2)  # 1.3125
    assert info["td_errors"].tolist() == [0.5, 3.0]  # target - Q
    # squared: (0.25 + 9) / 2 = 4.625
    assert float(td_loss(q_taken, targets, kind="mse")[0].detach()) == pytest.approx(4.625)
    # importance weights 1 and 0.5: (1 · 0.125 + 0.5 · 2.5) / 2 = 0.6875
    weighted, _ = td_loss(q_taken, targets, t([1.0, 0.5]), kind="huber")
    assert float(weighted.detach()) == pytest.approx(0.6875)
    weighted.backward()
    # d/dq of 0.5·huber: row 0 (q - y)/2 = -0.25, row 1 0.5 · (-1) / 2 = -0.25
    assert q_taken.grad is not None and q_taken.grad.tolist() == pytest.approx([-0.25, -0.25])
    assert not targets.requires_grad


def test_categorical_projection_splits_mass_between_neighbouring_atoms() -> None:
    support = t([-1.0, 0.0, 1.0])  # Δz = 1
    next_probs = t([[0.2, 0.5, 0.3], [0.2, 0.5, 0.3], [0.2, 0.5, 0.3]])
    rewards = t([0.5, -0.3, 5.0])
    discounts = t([0.5, 0.0, 0.9])
    projected = categorical_projection(next_probs, rewards, discounts, support)
    # row 0: atoms move to 0.5 + 0.5·[-1, 0, 1] = [0, 0.5, 1]:
    #   0.2 lands on 0 exactly; 0.5 lands half-way between 0 and 1 (0.25 each); 0.3 on 1
    #   → [0, 0.2 + 0.25, 0.25 + 0.3] = [0, 0.45, 0.55]
    # row 1: terminal (discount 0): all mass at -0.3, 0.7 of the way from -1 to 0 → [0.3, 0.7, 0]
    # row 2: 5 + 0.9·z > 1 for every atom: clipped to v_max → [0, 0, 1]
    expected = [[0.0, 0.45, 0.55], [0.3, 0.7, 0.0], [0.0, 0.0, 1.0]]
    np.testing.assert_allclose(projected.numpy(), expected, atol=1e-6)
    np.testing.assert_allclose(projected.sum(dim=1).numpy(), 1.0, atol=1e-6)


def test_categorical_loss_is_the_cross_entropy_to_the_target() -> None:
    log_probs = torch.log(t([[0.25, 0.25, 0.5]]))
    target = t([[0.0, 0.45, 0.55]])
    loss, info = categorical_loss(log_probs, target)
    # -(0.45 · ln 0.25 + 0.55 · ln 0.5) = 0.45 · 1.386294 + 0.55 · 0.693147 = 1.005063
    expected = -(0.45 * math.log(0.25) + 0.55 * math.log(0.5))
    assert float(loss) == pytest.approx(expected, rel=1e-6)
    assert info["td_errors"].tolist() == pytest.approx([expected], rel=1e-6)
