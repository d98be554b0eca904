"""Exact values of rlworks.returns, with the arithmetic in comments."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

from rlworks.returns import (
    ZeroSpreadWarning,
    discount_and_normalize_rewards,
    discount_rewards,
    discounted_returns,
    gae,
    normalize,
    reward_to_go,
)


def test_discount_rewards_is_the_chapters_example() -> None:
    # -50; 0 + 0.8 * -50 = -40; 10 + 0.8 * -40 = -22
    np.testing.assert_allclose(discount_rewards([10, 0, -50], 0.8), [-22, -40, -50])


def test_discount_rewards_does_not_truncate_integer_rewards() -> None:
    # The chapter's np.array(rewards) keeps an int dtype and would store 1 + 0.5 * 1 as 1.
    np.testing.assert_allclose(discount_rewards([1, 1], 0.5), [1.5, 1.0])


def test_discount_and_normalize_rewards_is_the_chapters_example() -> None:
    # Discounted: [-22, -40, -50] and [10 + 0.8 * 20, 20] = [26, 20]; mean -13.2,
    # std = sqrt(mean squared deviation) = sqrt(954.56) = 30.896; (-22 + 13.2) / 30.896 = -0.2848
    result = discount_and_normalize_rewards([[10, 0, -50], [10, 20]], 0.8)
    np.testing.assert_allclose(result[0], [-0.28435071, -0.86597718, -1.18910299], atol=1e-6)
    np.testing.assert_allclose(result[1], [1.26665318, 1.0727777], atol=1e-6)


def test_zero_spread_is_centred_with_a_warning() -> None:
    # Two 1-step episodes with reward 3: every return is 3, std 0 → centred to 0, not divided.
    with pytest.warns(ZeroSpreadWarning, match="centred to 0 and not scaled"):
        result = discount_and_normalize_rewards([[3], [3]], 0.9)
    assert [a.tolist() for a in result] == [[0.0], [0.0]]
    with pytest.warns(ZeroSpreadWarning):
        out = normalize([2.0, 2.0, 2.0])
    assert out.zero_spread and out.values.tolist() == [0.0, 0.0, 0.0] and out.mean == 2.0


def test_normalize_without_warning_when_asked() -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        out = normalize([5.0], warn=False)
    assert out.zero_spread and out.values.tolist() == [0.0]
    out = normalize([1.0, 3.0])  # mean 2, std 1
    assert out.values.tolist() == [-1.0, 1.0] and not out.zero_spread


def test_empty_batch() -> None:
    assert discount_and_normalize_rewards([], 0.9) == []
    assert discount_rewards([], 0.9).shape == (0,)


def test_reward_to_go_is_undiscounted_by_default() -> None:
    np.testing.assert_allclose(reward_to_go([1, 2, 3]), [6, 5, 3])
    np.testing.assert_allclose(reward_to_go([1, 2, 3], 0.5), [1 + 0.5 * 3.5, 2 + 0.5 * 3, 3])


def test_discounted_returns_terminated_truncated_and_cut() -> None:
    # One stream, γ = 0.5, rewards all 1; steps 0-1 are an episode that terminated at step 1,
    # steps 2-3 one truncated at step 3 (next value 8), step 4 one the batch cut (next value 6).
    rewards = [1, 1, 1, 1, 1]
    terminated = [0, 1, 0, 0, 0]
    truncated = [0, 0, 0, 1, 0]
    next_values = [100, 100, 100, 8, 6]  # only rows 3 (truncated) and 4 (last) are read
    returns = discounted_returns(
        rewards, 0.5, terminated=terminated, truncated=truncated, next_values=next_values
    )
    # t4: 1 + 0.5 * 6 = 4;  t3: 1 + 0.5 * 8 = 5;  t2: 1 + 0.5 * 5 = 3.5
    # t1: terminated → 1;  t0: 1 + 0.5 * 1 = 1.5
    np.testing.assert_allclose(returns, [1.5, 1.0, 3.5, 5.0, 4.0])


def test_discounted_returns_without_values_treat_truncation_as_an_end() -> None:
    # The chapter's convention: t1 truncated → 1 (nothing after it); t0: 1 + 0.9 * 1 = 1.9.
    returns = discounted_returns([1, 1, 1], 0.9, truncated=[0, 1, 0])
    np.testing.assert_allclose(returns, [1.9, 1.0, 1.0])


def test_discounted_returns_is_per_column_and_pure() -> None:
    # [T=2, N=2]: column 0 terminates at t0, column 1 runs on; γ = 0.5.
    rewards = np.array([[1.0, 2.0], [4.0, 4.0]])
    terminated = np.array([[True, False], [False, False]])
    before = rewards.copy()
    returns = discounted_returns(rewards, 0.5, terminated=terminated)
    # col 0: t1 = 4, t0 = 1 (terminated); col 1: t1 = 4, t0 = 2 + 0.5 * 4 = 4
    np.testing.assert_allclose(returns, [[1.0, 4.0], [4.0, 4.0]])
    np.testing.assert_array_equal(rewards, before)


def test_discounted_returns_checks_shapes() -> None:
    with pytest.raises(
        ValueError, match=r"terminated has shape \(2,\), expected the rewards' \(3,\)"
    ):
        discounted_returns([1, 2, 3], 0.9, terminated=[0, 1])


def test_matches_the_chapter_per_episode() -> None:
    rng = np.random.default_rng(0)
    rewards = rng.normal(size=7)
    ends = np.zeros(7, dtype=bool)
    ends[-1] = True
    np.testing.assert_allclose(
        discounted_returns(rewards, 0.95, terminated=ends), discount_rewards(rewards, 0.95)
    )


def test_terminated_wins_over_truncated_and_columns_bootstrap_apart() -> None:
    # [T=2, N=2], γ = 0.5. Column 0: t1 both terminated and truncated → no bootstrap: 1.
    # Column 1: t1 truncated with next value 6 → 1 + 0.5 * 6 = 4; t0: 1 + 0.5 * 4 = 3.
    rewards = np.ones((2, 2))
    terminated = np.array([[False, False], [True, False]])
    truncated = np.array([[False, False], [True, True]])
    next_values = np.array([[0.0, 0.0], [6.0, 6.0]])
    returns = discounted_returns(
        rewards, 0.5, terminated=terminated, truncated=truncated, next_values=next_values
    )
    np.testing.assert_allclose(returns, [[1.5, 3.0], [1.0, 4.0]])


def test_non_finite_and_scalar_inputs_are_refused() -> None:
    with pytest.raises(ValueError, match="cannot normalize non-finite values"):
        normalize([1.0, np.nan])
    with pytest.raises(ValueError, match="got a scalar"):
        discounted_returns(1.0, 0.9)
    assert discounted_returns(np.zeros((0, 3)), 0.9).shape == (0, 3)


# ---------------------------------------------------------------------------------------------
# Generalized advantage estimation


def test_gae_termination_truncation_and_batch_cut() -> None:
    # One stream of 4 steps, γ = 0.5, λ = 0.5 (γλ = 0.25):
    #   t0: episode A goes on                 t1: episode A terminates
    #   t2: episode B is truncated (V(final observation) = 8)
    #   t3: episode C is cut by the batch end (V(next observation) = 6)
    rewards = [1.0, 2.0, 3.0, 4.0]
    values = [10.0, 20.0, 30.0, 40.0]
    next_values = [99.0, 99.0, 8.0, 6.0]  # 99: never read (t0 goes on, t1 terminated)
    terminated = [False, True, False, False]
    truncated = [False, False, True, False]
    out = gae(rewards, values, next_values, terminated, truncated, gamma=0.5, lam=0.5)
    # t3: δ = 4 + 0.5 * 6 - 40 = -33;            A3 = -33 (nothing after the batch)
    # t2: δ = 3 + 0.5 * 8 - 30 = -23;            A2 = -23 (truncation cuts the chain)
    # t1: δ = 2 + 0.5 * 0 - 20 = -18;            A1 = -18 (termination: no value after it)
    # t0: δ = 1 + 0.5 * V(s1) - 10 = 1 + 10 - 10 = 1;  A0 = 1 + 0.25 * -18 = -3.5
    np.testing.assert_allclose(out.advantages, [-3.5, -18.0, -23.0, -33.0])
    # returns = advantages + values
    np.testing.assert_allclose(out.returns, [6.5, 2.0, 7.0, 7.0])


def test_gae_lambda_one_is_the_discounted_return_minus_the_value() -> None:
    rng = np.random.default_rng(0)
    shape = (7, 3)
    rewards, values, next_values = (rng.normal(size=shape) for _ in range(3))
    terminated = rng.random(shape) < 0.2
    truncated = rng.random(shape) < 0.2
    out = gae(rewards, values, next_values, terminated, truncated, gamma=0.9, lam=1.0)
    expected = discounted_returns(
        rewards, 0.9, terminated=terminated, truncated=truncated, next_values=next_values
    )
    np.testing.assert_allclose(out.returns, expected)
    np.testing.assert_allclose(out.advantages, expected - values)


def test_gae_lambda_zero_is_the_td_error_and_columns_are_apart() -> None:
    # Two streams, γ = 0.9, λ = 0: A_t = r_t + γ V(s_{t+1}) - V(s_t), per column.
    rewards = np.array([[1.0, 0.0], [0.0, 1.0]])
    values = np.array([[1.0, 2.0], [3.0, 4.0]])
    next_values = np.array([[0.0, 0.0], [5.0, 6.0]])
    no = np.zeros((2, 2), bool)
    out = gae(rewards, values, next_values, no, no, gamma=0.9, lam=0.0)
    # col 0: 1 + 0.9 * 3 - 1 = 2.7, 0 + 0.9 * 5 - 3 = 1.5
    # col 1: 0 + 0.9 * 4 - 2 = 1.6, 1 + 0.9 * 6 - 4 = 2.4
    np.testing.assert_allclose(out.advantages, [[2.7, 1.6], [1.5, 2.4]])


def test_gae_checks_shapes() -> None:
    with pytest.raises(ValueError, match=r"values has shape \(2,\), expected the rewards' \(3,\)"):
        gae([1, 2, 3], [1, 2], [0, 0, 0], [False] * 3, [False] * 3, 0.9, 0.9)
