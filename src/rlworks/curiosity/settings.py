"""The curiosity settings an agent config carries, without importing torch.

:class:`CuriosityConfig` and :func:`check_curiosity` validate an algorithm config's curiosity
fields (``curiosity``, ``intrinsic_coef``, ``curiosity_settings``); the modules that build and
train the curiosity networks import them from here.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

from rlworks.config import config_from_dict
from rlworks.errors import ConfigError
from rlworks.nets.names import ACTIVATION_NAMES

__all__ = ["CURIOSITY", "CuriosityConfig", "check_curiosity"]


# ----------------------------------------------------------------------------- settings
@dataclass
class CuriosityConfig:
    """Hyperparameters of the curiosity modules (RND and ICM); an agent config carries them as
    a mapping (``curiosity_settings``)."""

    label = "curiosity settings"

    learning_rate: float = 1e-3
    """Adam step size of the curiosity networks."""
    hidden_sizes: list[int] = field(default_factory=lambda: [64, 64])
    """Hidden widths of the RND predictor / target and of the ICM feature encoder and models."""
    feature_size: int = 64
    """Width of the RND embedding and of the ICM feature space."""
    activation: str = "leaky_relu"
    """Hidden activation of the curiosity networks."""
    normalize_obs: bool = True
    """Whiten the observations the curiosity networks read with running mean and std (clipped
    to ±obs_clip)."""
    obs_clip: float = 5.0
    """Clip of the whitened observations."""
    normalize_reward: bool = True
    """Divide intrinsic rewards by a running std of their discounted returns."""
    reward_gamma: float = 0.99
    """Discount of the intrinsic returns whose std normalizes the rewards."""
    reward_norm_horizon: int | None = 10_000
    """Samples the running std of intrinsic returns remembers at full weight (older ones fade
    geometrically), so that the scale follows rewards that shrink as the predictor learns;
    None: all samples alike, as in the RND paper."""
    center_reward: bool = False
    """Also subtract a running mean of the raw intrinsic rewards (same horizon) before
    dividing: only the novelty *above the usual* is rewarded, so that with episodic intrinsic
    returns a positive mean bonus does not make ending an episode (reaching a goal) look bad.
    (With ``reward_gamma`` 0 the divisor is the running std of the rewards themselves.)"""
    forward_weight: float = 0.2
    """ICM's β: loss = β · forward loss + (1 − β) · inverse loss."""
    max_grad_norm: float | None = 1.0
    """Clip the curiosity networks' gradient norm (None: no clipping)."""

    def validate(self) -> None:
        """Check ranges; raise :class:`ConfigError` naming the key."""
        for key in ("learning_rate", "obs_clip"):
            value = getattr(self, key)
            if not (value > 0 and math.isfinite(value)):
                raise ConfigError(f"{key} must be a positive number, got {value}")
        if self.reward_norm_horizon is not None and self.reward_norm_horizon < 1:
            raise ConfigError(
                f"reward_norm_horizon must be >= 1 or null, got {self.reward_norm_horizon}"
            )
        if self.feature_size < 1:
            raise ConfigError(f"feature_size must be >= 1, got {self.feature_size}")
        if any(w < 1 for w in self.hidden_sizes):
            raise ConfigError(f"hidden_sizes must hold widths >= 1, got {self.hidden_sizes}")
        for key in ("reward_gamma", "forward_weight"):
            if not 0.0 <= getattr(self, key) <= 1.0:
                raise ConfigError(f"{key} must be in [0, 1], got {getattr(self, key)}")
        if self.max_grad_norm is not None and not self.max_grad_norm > 0:
            raise ConfigError(f"max_grad_norm must be > 0 or null, got {self.max_grad_norm}")
        if self.activation not in ACTIVATION_NAMES:
            raise ConfigError(
                f"activation must be one of {', '.join(ACTIVATION_NAMES)}, got {self.activation!r}"
            )


CURIOSITY: tuple[str, ...] = ("none", "rnd", "icm")


def check_curiosity(name: str, intrinsic_coef: float, settings: dict[str, Any]) -> CuriosityConfig:
    """Validate an agent config's curiosity fields; returns the parsed settings.

    Raises:
        ConfigError: Unknown module name, a negative coefficient, or bad settings (naming the
            key).
    """
    if name not in CURIOSITY:
        raise ConfigError(f"curiosity must be one of {', '.join(CURIOSITY)}, got {name!r}")
    if not (intrinsic_coef >= 0 and math.isfinite(intrinsic_coef)):
        raise ConfigError(f"intrinsic_coef must be >= 0, got {intrinsic_coef}")
    return config_from_dict(CuriosityConfig, settings, source="curiosity_settings")
