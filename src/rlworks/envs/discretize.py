"""Observation discretizers: continuous observations to table indices for tabular learners.

The chapter's extra material runs Q-learning on CartPole by cutting the pole angle into 6 bins and
the pole's angular velocity into 12, ignoring the cart (scikit-learn's ``KBinsDiscretizer`` with
uniform bins). :class:`Discretizer` does the same in NumPy for a batch of observations: each chosen
dimension is cut into equal-width bins between ``low`` and ``high`` (values outside fall in the end
bins), and the bin coordinates are flattened into one state index.
:class:`DiscretizeObservation` is the same as a Gymnasium wrapper (``Box`` → ``Discrete``).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import gymnasium as gym
import numpy as np

from rlworks.errors import ConfigError

__all__ = ["DiscretizeObservation", "Discretizer"]


class Discretizer:
    """Maps ``Box`` observations to integers in ``[0, n_states)`` with uniform bins.

    Example:
        >>> space = gym.make("CartPole-v1").observation_space
        >>> disc = Discretizer(space, bins=[6, 12], dims=[2, 3], low=[-0.2095, -0.8727],
        ...                    high=[0.2095, 0.8727])
        >>> disc.n_states
        72
        >>> disc(np.array([[0.0, 0.0, 0.0, 0.0]]))  # angle bin 3, velocity bin 6: 3 * 12 + 6
        array([42])

    Attributes:
        n_states: Number of distinct indices, the product of the bin counts.
        dims: Flat observation dimensions that are binned; the others are ignored.
    """

    def __init__(
        self,
        space: gym.spaces.Box,
        bins: Sequence[int],
        dims: Sequence[int] | None = None,
        low: Sequence[float] | None = None,
        high: Sequence[float] | None = None,
    ) -> None:
        """Create a discretizer.

        Args:
            space: The observation space (any shape; it is flattened).
            bins: Number of bins for each dimension in ``dims``; 1 ignores a dimension.
            dims: Flat indices of the observation dimensions to bin; default all of them.
            low: Lower edge of each binned dimension; default the space's bound.
            high: Upper edge of each binned dimension; default the space's bound.

        Raises:
            ConfigError: Lengths disagree, a bin count is < 1, a dimension is out of range,
                ``low >= high``, or a bound is needed but the space is unbounded there.
        """
        size = int(np.prod(space.shape or ()))
        dims = list(range(size)) if dims is None else [int(d) for d in dims]
        if len(bins) != len(dims):
            raise ConfigError(
                f"discretize_bins has {len(bins)} entries but {len(dims)} dimensions are binned "
                f"(dims {dims}); give one bin count per dimension"
            )
        for d in dims:
            if not 0 <= d < size:
                raise ConfigError(
                    f"discretize_dims: {d} is not an observation dimension (0-{size - 1})"
                )
        for b in bins:
            if isinstance(b, bool) or int(b) != b or int(b) < 1:
                raise ConfigError(f"discretize_bins must all be integers >= 1, got {list(bins)}")
        self.dims = np.asarray(dims, dtype=np.int64)
        self.bins = np.asarray(bins, dtype=np.int64)
        self.low = self._bounds(low, space.low.reshape(-1)[self.dims], "low")
        self.high = self._bounds(high, space.high.reshape(-1)[self.dims], "high")
        for i, d in enumerate(dims):
            if not self.low[i] < self.high[i]:
                raise ConfigError(
                    f"discretize_low must be < discretize_high, but dimension {d} has low "
                    f"{self.low[i]} and high {self.high[i]}"
                )
        self.n_states = int(np.prod(self.bins))
        self._scale = self.bins / (self.high - self.low)  # bins per unit, [K]
        self._strides = np.array(
            [int(np.prod(self.bins[i + 1 :])) for i in range(len(self.bins))], dtype=np.int64
        )

    def _bounds(self, given: Sequence[float] | None, default: np.ndarray, name: str) -> np.ndarray:
        if given is not None:
            if len(given) != len(self.dims):
                raise ConfigError(
                    f"discretize_{name} has {len(given)} entries, expected {len(self.dims)} "
                    f"(one per binned dimension)"
                )
            values = np.asarray(given, dtype=np.float64)
            for d, value in zip(self.dims, values, strict=True):
                if not math.isfinite(float(value)):
                    raise ConfigError(
                        f"discretize_{name} of dimension {int(d)} must be finite, got {value}"
                    )
            return values
        for d, value in zip(self.dims, default, strict=True):
            if not math.isfinite(float(value)):
                raise ConfigError(
                    f"observation dimension {int(d)} is unbounded ({float(value)}); give "
                    f"discretize_low and discretize_high for the binned dimensions"
                )
        return default.astype(np.float64)

    def __call__(self, obs: np.ndarray) -> np.ndarray:
        """State indices for a batch of observations: ``[N, *obs_shape]`` → ``[N]`` int64."""
        flat = np.asarray(obs).reshape(len(obs), -1)[:, self.dims]  # [N, K]
        # Clip before the cast: a huge value would overflow int64 and land in the wrong end bin.
        scaled = np.clip((flat - self.low) * self._scale, 0, self.bins - 1)  # [N, K]
        coords = scaled.astype(np.int64)  # [N, K], floor since >= 0
        index: np.ndarray = coords @ self._strides  # [N]
        return index

    def describe(self) -> str:
        """One line such as ``dims [2, 3] into [6, 12] bins``."""
        return f"dims {self.dims.tolist()} into {self.bins.tolist()} bins"


class DiscretizeObservation(gym.ObservationWrapper[np.int64, Any, np.ndarray]):
    """Replaces a ``Box`` observation by its :class:`Discretizer` index (``Discrete(n)``).

    Example:
        >>> env = DiscretizeObservation(gym.make("CartPole-v1"), bins=[6, 12], dims=[2, 3],
        ...                             low=[-0.21, -0.87], high=[0.21, 0.87])
        >>> env.observation_space
        Discrete(72)
    """

    def __init__(
        self,
        env: gym.Env[np.ndarray, Any],
        bins: Sequence[int],
        dims: Sequence[int] | None = None,
        low: Sequence[float] | None = None,
        high: Sequence[float] | None = None,
    ) -> None:
        """Wrap ``env``; the arguments are those of :class:`Discretizer`."""
        super().__init__(env)
        if not isinstance(env.observation_space, gym.spaces.Box):
            raise ConfigError(
                f"DiscretizeObservation needs a Box observation space, got {env.observation_space}"
            )
        self.discretizer = Discretizer(env.observation_space, bins, dims, low, high)
        self.observation_space = gym.spaces.Discrete(self.discretizer.n_states)

    def observation(self, observation: np.ndarray) -> np.int64:
        """The state index of one observation."""
        return np.int64(self.discretizer(observation[None])[0])
