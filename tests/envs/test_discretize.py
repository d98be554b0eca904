"""Discretizer: bin edges, clipping, flat index order and configuration errors."""

from __future__ import annotations

from typing import Any

import gymnasium as gym
import numpy as np
import pytest

from rlworks.envs.discretize import DiscretizeObservation, Discretizer
from rlworks.errors import ConfigError


def _cartpole_space() -> gym.spaces.Box:
    space = gym.make("CartPole-v1").observation_space
    assert isinstance(space, gym.spaces.Box)
    return space


@pytest.fixture
def disc() -> Discretizer:
    # dim 0: [-1, 1] into 4 bins of width 0.5, edges -1, -0.5, 0, 0.5, 1
    # dim 1: [0, 10] into 5 bins of width 2, edges 0, 2, 4, 6, 8, 10
    space = gym.spaces.Box(low=np.array([-1.0, 0.0]), high=np.array([1.0, 10.0]), dtype=np.float64)
    return Discretizer(space, bins=[4, 5])


def test_number_of_states_is_the_product_of_bins(disc: Discretizer) -> None:
    assert disc.n_states == 4 * 5 == 20


def test_values_on_an_edge_go_to_the_bin_above(disc: Discretizer) -> None:
    # Bin of x in dim 0: floor((x - (-1)) * 4 / 2) = floor((x + 1) * 2).
    # -1 → 0, -0.75 → floor(0.5) = 0, -0.5 → floor(1) = 1, 0 → 2, 0.25 → floor(2.5) = 2,
    # 0.5 → 3, 0.999 → floor(3.998) = 3.
    xs = [-1.0, -0.75, -0.5, 0.0, 0.25, 0.5, 0.999]
    obs = np.array([[x, 0.0] for x in xs])
    # dim 1 is 0 → its bin is 0, so the flat index is bin0 * 5 + 0
    assert (disc(obs) // 5).tolist() == [0, 0, 1, 2, 2, 3, 3]


def test_high_edge_and_outside_values_clip_to_the_end_bins(disc: Discretizer) -> None:
    # x = high = 1: floor(2 * 2) = 4 → clipped to the last bin 3; above high → 3 as well;
    # below low: (x + 1) * 2 < 0 → clipped to bin 0. Huge values must not overflow int64.
    xs = [1.0, 3.0, 1e30, -1.0001, -7.0, -1e30]
    obs = np.array([[x, 0.0] for x in xs])
    assert (disc(obs) // 5).tolist() == [3, 3, 3, 0, 0, 0]
    # dim 1: 10 (high) → floor(10 / 2) = 5 → 4; 11 → 4; -3 → 0; 9.99 → floor(4.995) = 4
    obs = np.array([[-1.0, y] for y in (10.0, 11.0, -3.0, 9.99, 2.0, 3.99)])
    assert disc(obs).tolist() == [4, 4, 0, 4, 1, 1]


def test_flat_index_is_row_major(disc: Discretizer) -> None:
    # index = bin0 * 5 + bin1 (the last binned dimension varies fastest)
    # [0.6, 4.5]: bin0 = floor(1.6 * 2) = 3, bin1 = floor(4.5 / 2) = 2 → 3 * 5 + 2 = 17
    # [-0.6, 8.0]: bin0 = floor(0.4 * 2) = 0, bin1 = 4 → 0 * 5 + 4 = 4
    # [0.1, 0.5]: bin0 = floor(1.1 * 2) = 2, bin1 = 0 → 10
    obs = np.array([[0.6, 4.5], [-0.6, 8.0], [0.1, 0.5]])
    out = disc(obs)
    assert out.tolist() == [17, 4, 10]
    assert out.dtype == np.int64
    # Every (bin0, bin1) pair maps to a distinct index in [0, 20).
    centres0 = -1 + 0.5 * (np.arange(4) + 0.5)
    centres1 = 2 * (np.arange(5) + 0.5)
    grid = np.array([[a, b] for a in centres0 for b in centres1])
    assert disc(grid).tolist() == list(range(20))


def test_chosen_dims_ignore_the_others() -> None:
    # The chapter's CartPole: angle (dim 2) into 6 bins, angular velocity (dim 3) into 12.
    space = _cartpole_space()
    disc = Discretizer(space, [6, 12], dims=[2, 3], low=[-0.2, -0.9], high=[0.2, 0.9])
    assert disc.n_states == 72
    # angle 0.1: floor((0.1 + 0.2) * 6 / 0.4) = floor(4.5) = 4;
    # velocity -0.5: floor((-0.5 + 0.9) * 12 / 1.8) = floor(2.667) = 2 → 4 * 12 + 2 = 50
    obs = np.array([[4.0, -3.0, 0.1, -0.5], [-4.0, 99.0, 0.1, -0.5]])
    assert disc(obs).tolist() == [50, 50]
    assert disc.describe() == "dims [2, 3] into [6, 12] bins"


def test_multidimensional_observations_are_flattened() -> None:
    # Box of shape (2, 2): flat dims 0..3; bin flat dim 3 (the [1, 1] entry) into 2 bins on [0, 1]
    space = gym.spaces.Box(low=0.0, high=1.0, shape=(2, 2))
    disc = Discretizer(space, [2], dims=[3])
    obs = np.array([[[0.9, 0.9], [0.9, 0.2]], [[0.1, 0.1], [0.1, 0.7]]])
    assert disc(obs).tolist() == [0, 1]


def test_default_bounds_come_from_the_space() -> None:
    space = gym.spaces.Box(low=-2.0, high=2.0, shape=(1,))
    disc = Discretizer(space, [2])
    assert disc(np.array([[-0.1], [0.0]])).tolist() == [0, 1]


def test_unbounded_dimension_needs_explicit_bounds() -> None:
    space = _cartpole_space()  # dims 1 and 3 are unbounded (inf)
    with pytest.raises(ConfigError, match="discretize_low") as info:
        Discretizer(space, [6, 12], dims=[2, 3])
    assert "dimension 3" in str(info.value)
    assert "discretize_high" in str(info.value)
    # Bounded dims alone are fine.
    assert Discretizer(space, [3, 3], dims=[0, 2]).n_states == 9


@pytest.mark.parametrize(
    ("kwargs", "key"),
    [
        ({"bins": [6, 12], "dims": [2]}, "discretize_bins"),
        ({"bins": [6, 0], "dims": [2, 0]}, "discretize_bins"),
        ({"bins": [6], "dims": [4]}, "discretize_dims"),
        ({"bins": [6], "dims": [-1]}, "discretize_dims"),
        ({"bins": [6], "dims": [2], "low": [-0.2, 0.0], "high": [0.2]}, "discretize_low"),
        ({"bins": [6], "dims": [2], "low": [-0.2], "high": []}, "discretize_high"),
        ({"bins": [6], "dims": [2], "low": [0.2], "high": [0.2]}, "discretize_low"),
        ({"bins": [6], "dims": [2], "low": [0.3], "high": [-0.3]}, "discretize_high"),
    ],
)
def test_errors_name_the_key(kwargs: dict[str, Any], key: str) -> None:
    space = _cartpole_space()
    with pytest.raises(ConfigError, match=key):
        Discretizer(space, **kwargs)


def test_wrapper_gives_a_discrete_observation() -> None:
    env = DiscretizeObservation(
        gym.make("CartPole-v1"), bins=[6, 12], dims=[2, 3], low=[-0.2, -0.9], high=[0.2, 0.9]
    )
    assert env.observation_space == gym.spaces.Discrete(72)
    obs, _ = env.reset(seed=0)
    assert isinstance(obs, np.int64)
    assert env.observation_space.contains(obs)
    # Same index as the discretizer on the raw observation.
    raw, _ = env.unwrapped.reset(seed=0)
    assert obs == env.discretizer(np.asarray(raw)[None])[0]


def test_wrapper_needs_a_box_space() -> None:
    with pytest.raises(ConfigError, match="Box"):
        DiscretizeObservation(gym.make("FrozenLake-v1"), bins=[4])


@pytest.mark.parametrize(
    ("kwargs", "expected"),
    [
        ({"low": [-np.inf, -1.0], "high": [1.0, 1.0]}, "discretize_low of dimension 0"),
        ({"low": [-1.0, -1.0], "high": [1.0, np.inf]}, "discretize_high of dimension 1"),
        ({"bins": [4.7, 4]}, "integers >= 1"),
    ],
)
def test_given_bounds_must_be_finite_and_bins_whole(kwargs: dict[str, Any], expected: str) -> None:
    space = gym.spaces.Box(-np.inf, np.inf, (2,))
    settings: dict[str, Any] = {"bins": [4, 4], "low": [-1.0, -1.0], "high": [1.0, 1.0]}
    settings.update(kwargs)
    with pytest.raises(ConfigError, match=expected):
        Discretizer(space, **settings)
