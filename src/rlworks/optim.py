"""Optimizers by the name configs use, with the chapter's choices (Adam, Nadam, RMSprop)."""

from __future__ import annotations

from collections.abc import Iterable

import torch

from rlworks.errors import ConfigError

__all__ = ["OPTIMIZERS", "make_optimizer"]

OPTIMIZERS = ("adam", "nadam", "rmsprop", "sgd")
"""Optimizer names accepted by :func:`make_optimizer`."""


def make_optimizer(
    name: str,
    params: Iterable[torch.nn.Parameter],
    learning_rate: float,
    *,
    eps: float | None = None,
    rho: float = 0.9,
    centered: bool = False,
    fused: bool = False,
) -> torch.optim.Optimizer:
    """Create an optimizer.

    Args:
        name: ``adam``, ``nadam``, ``rmsprop`` or ``sgd``.
        params: Parameters to optimize.
        learning_rate: Step size.
        eps: Numerical-stability term; ``None`` keeps Keras' defaults the chapter ran with
            (1e-7 for Adam, Nadam and RMSprop), which differ from PyTorch's (1e-8).
        rho: RMSprop's decay of the squared-gradient average (Keras' ``rho``, torch's
            ``alpha``).
        centered: RMSprop divides by the gradient's variance estimate rather than its raw second
            moment (the 2015 DQN paper's variant).

    Raises:
        ConfigError: Unknown name or a non-positive learning rate.
    """
    if not learning_rate > 0:
        raise ConfigError(f"learning_rate must be > 0, got {learning_rate}")
    eps = 1e-7 if eps is None else eps
    if name == "adam":
        return torch.optim.Adam(params, lr=learning_rate, eps=eps, fused=fused or None)
    if name == "nadam":
        return torch.optim.NAdam(params, lr=learning_rate, eps=eps)
    if name == "rmsprop":
        return torch.optim.RMSprop(params, lr=learning_rate, alpha=rho, eps=eps, centered=centered)
    if name == "sgd":
        return torch.optim.SGD(params, lr=learning_rate)
    raise ConfigError(f"optimizer must be one of {', '.join(OPTIMIZERS)}, got {name!r}")
