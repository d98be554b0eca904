"""Chapter 18, "Evaluating Actions: The Credit Assignment Problem": returns and advantages.

Each action is credited with the discounted sum of the rewards that followed it, its *return*.
The chapter's example: rewards +10, 0, -50 after three actions, discount factor γ = 0.8::

    discount_rewards([10, 0, -50], discount_factor=0.8)
    array([-22, -40, -50])

(the last action gets -50, the second 0 + 0.8 × -50 = -40, the first 10 + 0.8 × -40 = -22).
Normalizing all the returns of several episodes together (subtract the mean, divide by the
standard deviation) turns them into *action advantages*; the chapter prints::

    discount_and_normalize_rewards([[10, 0, -50], [10, 20]], discount_factor=0.8)
    [array([-0.28435071, -0.86597718, -1.18910299]),
     array([1.26665318, 1.0727777 ])]

"With a discount factor of 0.95, rewards 13 steps into the future count roughly for half as
much as immediate rewards (since 0.95^13 ≈ 0.5), while with a discount factor of 0.99, rewards
69 steps into the future count for half as much". Both facts are checked below.

The chapter's episodes end two ways, and its code treats both as the end of the returns:
CartPole *terminates* when the pole falls (nothing comes after), and its episodes are
*truncated* at ``n_max_steps = 200`` (the cart would have gone on balancing).
``rlworks.returns.discounted_returns`` keeps the two apart: a terminated step gets nothing after
it; a truncated step gets the value estimate of the state it was cut in when one is given
(``next_values``), or nothing otherwise (the chapter's convention).

Run: ``python examples/chapter18/09_credit_assignment.py``
"""

from __future__ import annotations

import math

import numpy as np

from rlworks.returns import discount_and_normalize_rewards, discount_rewards, discounted_returns

BOOK_DISCOUNTED = [-22, -40, -50]
BOOK_ADVANTAGES = [[-0.28435071, -0.86597718, -1.18910299], [1.26665318, 1.0727777]]


def half_life(gamma: float) -> float:
    """Steps after which a reward counts for half: ``γ^n = 0.5``."""
    return math.log(0.5) / math.log(gamma)


def main() -> None:
    """Print and check the chapter's returns, advantages and discount remarks."""
    # One episode's returns: G_t = r_t + γ G_{t+1}, computed backwards.
    returns = discount_rewards([10, 0, -50], 0.8)
    print("discount_rewards([10, 0, -50], 0.8) =", returns)
    np.testing.assert_array_equal(returns, BOOK_DISCOUNTED)

    # Advantages: the returns of all episodes normalized together.
    advantages = discount_and_normalize_rewards([[10, 0, -50], [10, 20]], 0.8)
    print("discount_and_normalize_rewards([[10, 0, -50], [10, 20]], 0.8) =")
    for episode in advantages:
        print("   ", episode)
    for got, want in zip(advantages, BOOK_ADVANTAGES, strict=True):
        np.testing.assert_allclose(got, want, rtol=0, atol=1e-6)
    print("the worse first episode's actions all get negative advantages, the second's positive")
    assert (advantages[0] < 0).all() and (advantages[1] > 0).all()

    # How far the credit reaches.
    print("\nγ     γ^n at the chapter's n   steps until a reward counts for half")
    for gamma, n in [(0.95, 13), (0.99, 69)]:
        print(f"{gamma:<5} {gamma}^{n} = {gamma**n:.3f}        {half_life(gamma):.1f}")
        assert abs(gamma**n - 0.5) < 0.02
    print(f"a reward of 100 two steps later at γ = 0.9 counts as 0.9^2 × 100 = {0.9**2 * 100:g}")

    # Terminated vs truncated: five steps of reward 1, as in CartPole, γ = 0.95.
    gamma, rewards = 0.95, np.ones(5)
    ends = np.array([False, False, False, False, True])
    fell = discounted_returns(rewards, gamma, terminated=ends)
    cut = discounted_returns(rewards, gamma, truncated=ends)
    # A policy that balances forever is worth 1 + γ + γ² + ... = 1 / (1 - γ) = 20 in any state.
    v_cut = np.where(ends, 1 / (1 - gamma), 0.0)
    bootstrapped = discounted_returns(rewards, gamma, truncated=ends, next_values=v_cut)
    print("\nfive steps of reward 1, γ = 0.95, returns of each step:")
    print("  terminated (the pole fell):            ", fell.round(4))
    print("  truncated, nothing after (the chapter):", cut.round(4))
    print("  truncated, bootstrapped with V = 20:   ", bootstrapped.round(4))
    np.testing.assert_allclose(fell, [4.52438125, 3.709875, 2.8525, 1.95, 1.0])
    np.testing.assert_array_equal(cut, fell)  # without a value estimate a cut is an end
    np.testing.assert_allclose(bootstrapped, 20.0)  # 1 + 0.95 * 20 = 20 at every step
    print("counting the time limit as an end blames the last actions of a perfect episode")

    # Time-major batches [T, N] from vector environments: each column is one sub-environment.
    batch_rewards = np.ones((4, 2))  # [T=4, N=2]
    terminated = np.array([[False, False], [True, False], [False, False], [False, False]])
    batch = discounted_returns(batch_rewards, 0.5, terminated=terminated)
    print("\n[T, N] batch, γ = 0.5, env 0 terminates at t = 1 and starts a new episode:")
    print(batch)
    # env 0: 1 + 0.5 * 1 = 1.5, 1, then a new episode 1.5, 1; env 1: 1.875, 1.75, 1.5, 1.
    np.testing.assert_allclose(batch, [[1.5, 1.875], [1.0, 1.75], [1.5, 1.5], [1.0, 1.0]])


if __name__ == "__main__":
    main()
