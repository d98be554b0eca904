"""Tests for rlworks.policies: the chapter's basic policy and the seeded random policy."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest
from gymnasium import spaces

import rlworks
from rlworks.errors import SpaceMismatchError
from rlworks.policies import basic_policy, make_named_policy, random_policy


def test_basic_policy_pushes_toward_the_lean() -> None:
    # Only the pole angle (column 2) matters: < 0 → left (0), >= 0 → right (1).
    obs = np.array(
        [
            [0.0, 0.0, -0.1, 0.0],
            [0.0, 0.0, 0.1, 0.0],
            [0.0, 0.0, 0.0, 0.0],
            [2.0, -3.0, -1e-6, 5.0],
            [-2.0, 3.0, 1e-6, -5.0],
        ],
        dtype=np.float32,
    )
    actions = basic_policy(obs)
    np.testing.assert_array_equal(actions, [0, 1, 1, 0, 1])
    assert actions.dtype == np.int64


@pytest.mark.parametrize(
    "space",
    [
        spaces.Discrete(3, start=-1),
        spaces.Box(-2.0, 2.0, (2,), np.float32),
        spaces.MultiDiscrete([2, 5]),
    ],
    ids=["discrete", "box", "multidiscrete"],
)
def test_random_policy_is_reproducible_and_within_the_space(space: gym.Space) -> None:
    obs = np.zeros((50, 4), np.float32)
    a = random_policy(space, seed=3)
    b = random_policy(space, seed=3)
    first = a(obs)
    # Interleaved calls: each policy has its own generator.
    np.testing.assert_array_equal(first, b(obs))
    np.testing.assert_array_equal(a(obs), b(obs))
    assert len(first) == 50
    assert all(space.contains(np.asarray(x, dtype=space.dtype)) for x in first)
    assert len({np.asarray(x).tobytes() for x in first}) > 1  # not a constant
    # Another seed, other actions.
    assert not np.array_equal(first, random_policy(space, seed=4)(obs))


def test_random_policy_leaves_the_callers_space_alone() -> None:
    space = spaces.Box(-1.0, 1.0, (3,), np.float32)
    space.seed(0)
    expected = spaces.Box(-1.0, 1.0, (3,), np.float32)
    expected.seed(0)
    policy = random_policy(space, seed=123)
    policy(np.zeros((4, 1)))
    np.testing.assert_array_equal(space.sample(), expected.sample())


def test_random_discrete_policy_covers_every_action() -> None:
    actions = random_policy(spaces.Discrete(3, start=-1), seed=0)(np.zeros((300, 1)))
    assert set(actions.tolist()) == {-1, 0, 1}


def test_named_basic_policy_checks_the_spaces() -> None:
    env = rlworks.make_env("CartPole-v1", 2, seed=0)
    assert make_named_policy("basic", "CartPole-v1", env) is basic_policy
    acrobot = rlworks.make_env("Acrobot-v1", 2, seed=0)
    with pytest.raises(SpaceMismatchError, match=r"the basic policy is for CartPole.*Acrobot-v1"):
        make_named_policy("basic", "Acrobot-v1", acrobot)


def test_named_random_policy_uses_the_single_action_space() -> None:
    env = rlworks.make_env("Pendulum-v1", 2, seed=0)
    policy = make_named_policy("random", "Pendulum-v1", env, seed=1)
    actions = policy(np.zeros((5, 3), np.float32))
    assert actions.shape == (5, 1)
    assert np.all(np.abs(actions) <= 2.0)
