"""The exceptions rlworks raises for bad input.

Every error carries a one-line message that names the offending thing (an environment id, a config
key, a file) and says what was expected. The command line prints that line and exits non-zero;
Python callers can catch :class:`RLWorksError` or one of its subclasses.
"""

from __future__ import annotations

__all__ = [
    "CheckpointError",
    "ConfigError",
    "EnvError",
    "NonFiniteError",
    "RLWorksError",
    "SpaceMismatchError",
]


class RLWorksError(Exception):
    """Base class of every error rlworks raises on purpose."""

    exit_code: int = 2


class ConfigError(RLWorksError, ValueError):
    """A configuration file, key or value is unknown, malformed or out of range."""


class EnvError(RLWorksError, ValueError):
    """An environment id cannot be made, or an environment breaks the Gymnasium API."""


class SpaceMismatchError(RLWorksError, ValueError):
    """An algorithm or checkpoint does not fit the environment's observation or action space."""


class CheckpointError(RLWorksError):
    """A checkpoint is missing, truncated, of another format version or for other spaces."""


class NonFiniteError(RLWorksError, FloatingPointError):
    """A NaN or infinity appeared in rewards, observations or losses during training."""

    exit_code = 3
