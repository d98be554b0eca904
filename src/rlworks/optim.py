"""Optimizers by the name configs use, with the chapter's choices (Adam, Nadam, RMSprop)."""

from __future__ import annotations

import contextlib
from collections.abc import Iterable, Iterator
from typing import Any

import numpy as np
import torch

from rlworks.errors import ConfigError

__all__ = ["DEFAULT_EPS", "OPTIMIZERS", "FlatAdam", "flush_denormals", "make_optimizer"]

_FUSED_ADAM = getattr(torch, "_fused_adam_", None)
"""torch's fused Adam kernel (what ``torch.optim.Adam(fused=True)`` calls); private, so used only
where present, with the unfused update as the fallback."""

DEFAULT_EPS = 1e-7
"""Keras' epsilon for Adam, Nadam and RMSprop, which the chapter ran with (torch's is 1e-8)."""

OPTIMIZERS = ("adam", "nadam", "rmsprop", "sgd")
"""Optimizer names accepted by :func:`make_optimizer`."""


@contextlib.contextmanager
def flush_denormals() -> Iterator[bool]:
    """Treat subnormal floats as zero in this thread while the block runs (CPU only).

    Adam's moment estimates of a weight whose gradient stays zero (a dead relu unit, an input
    feature that never varies) decay geometrically until they are subnormal (below about
    1.2e-38 in float32) — the first moment, at β1 = 0.9, some 800 steps after its last nonzero
    gradient — and x86 arithmetic on subnormal numbers is microcoded: measured here, a fused
    Adam step over 67,586 parameters took 48 µs on normal numbers and 860-1,200 µs once the
    zero-gradient weights' moments had become subnormal, and DQN CartPole with rl-zoo's
    [256, 256] relu network spent 7.7 s of an 18 s run there. Flushing subnormals to zero
    changes values below 1.2e-38 only; Stable-Baselines3 and torch leave it off.

    Yields whether the CPU supports it (``torch.set_flush_denormal``: x86 with SSE3, AArch64).
    The mode is the CPU's, per thread: it covers torch's and NumPy's arithmetic in the calling
    thread and in threads started inside the block (on Linux a new thread inherits it), not
    torch's already running intra-op pool, so with several torch threads part of a large
    kernel still meets subnormals. On exit the mode is put back as it was (read by dividing
    a NumPy float32 1e-38 by 100), so blocks nest.

    Example:
        >>> with flush_denormals():
        ...     for _ in range(steps):
        ...         optimizer.step()
    """
    was_on = _flushing()
    supported = torch.set_flush_denormal(True)
    try:
        yield supported
    finally:
        if supported and not was_on:
            torch.set_flush_denormal(False)


def _flushing() -> bool:
    """Whether this thread treats subnormal floats as zero now."""
    return float(np.float32(1e-38) / np.float32(100)) == 0.0  # 1e-40 is subnormal


def make_optimizer(
    name: str,
    params: Iterable[torch.nn.Parameter],
    learning_rate: float,
    *,
    eps: float | None = None,
    rho: float = 0.9,
    centered: bool = False,
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
    eps = DEFAULT_EPS if eps is None else eps
    if name == "adam":
        return torch.optim.Adam(params, lr=learning_rate, eps=eps)
    if name == "nadam":
        return torch.optim.NAdam(params, lr=learning_rate, eps=eps)
    if name == "rmsprop":
        return torch.optim.RMSprop(params, lr=learning_rate, alpha=rho, eps=eps, centered=centered)
    if name == "sgd":
        return torch.optim.SGD(params, lr=learning_rate)
    raise ConfigError(f"optimizer must be one of {', '.join(OPTIMIZERS)}, got {name!r}")


class FlatAdam:
    """Adam for one flat parameter vector, without ``torch.optim``'s per-step bookkeeping.

    The update is torch's (single-tensor) Adam line for line — ``m ← β1·m + (1-β1)·g``,
    ``v ← β2·v + (1-β2)·g²``, ``p ← p - lr/(1-β1^t) · m / (sqrt(v)/sqrt(1-β2^t) + eps)`` — so it
    takes the same steps as ``torch.optim.Adam`` (``tests/test_optim.py`` checks it), but one
    step is one call of torch's fused Adam kernel (seven in-place operations where that kernel is
    missing): for a small network trained with thousands of steps per second,
    ``torch.optim.Adam.step``'s hooks and dispatch cost several times its arithmetic (here about
    250 µs against 50 µs for 67k parameters). Use it with
    :class:`~rlworks.nets.flat.FlatParameters`.

    Args:
        param: The flat parameter; its ``.grad`` holds the gradient when :meth:`step` is called.
        lr: Step size.
        betas: Decay rates of the first and second moment estimates.
        eps: Added to the denominator; None is :data:`DEFAULT_EPS`, as for :func:`make_optimizer`.
    """

    def __init__(
        self,
        param: torch.Tensor,
        lr: float,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float | None = None,
    ) -> None:
        if not lr > 0:
            raise ConfigError(f"learning_rate must be > 0, got {lr}")
        self.param = param
        self.lr, self.betas = lr, betas
        self.eps = DEFAULT_EPS if eps is None else eps
        self.steps = 0
        self.exp_avg = torch.zeros_like(param.data)
        self.exp_avg_sq = torch.zeros_like(param.data)
        self._step = torch.zeros((), dtype=torch.float32, device=param.device)

    def step(self) -> None:
        """One Adam step along ``param.grad``.

        No ``torch.no_grad()`` around the fused kernel (1.6 µs a call): it writes ``param.data``
        and the moment buffers, none of which autograd tracks.
        """
        grad = self.param.grad
        if grad is None:
            raise ValueError("FlatAdam.step needs param.grad")
        beta1, beta2 = self.betas
        self.steps += 1
        if _FUSED_ADAM is not None:  # torch's fused kernel: the same update in one pass
            self._step.fill_(self.steps)
            _FUSED_ADAM(
                [self.param.data], [grad], [self.exp_avg], [self.exp_avg_sq], [], [self._step],
                lr=self.lr, beta1=beta1, beta2=beta2, weight_decay=0.0, eps=self.eps,
                amsgrad=False, maximize=False,
            )  # fmt: skip
            return
        with torch.no_grad():
            self.exp_avg.lerp_(grad, 1 - beta1)
            self.exp_avg_sq.mul_(beta2).addcmul_(grad, grad, value=1 - beta2)
            step_size = self.lr / (1 - beta1**self.steps)
            denom = self.exp_avg_sq.sqrt().div_((1 - beta2**self.steps) ** 0.5).add_(self.eps)
            self.param.data.addcdiv_(self.exp_avg, denom, value=-step_size)

    def state_dict(self) -> dict[str, Any]:
        """Hyperparameters, step count and moment estimates."""
        return {
            "lr": self.lr,
            "betas": self.betas,
            "eps": self.eps,
            "steps": self.steps,
            "exp_avg": self.exp_avg.clone(),
            "exp_avg_sq": self.exp_avg_sq.clone(),
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Restore what :meth:`state_dict` returned."""
        self.lr, self.eps = float(state["lr"]), float(state["eps"])
        self.betas = (float(state["betas"][0]), float(state["betas"][1]))
        self.steps = int(state["steps"])
        self.exp_avg.copy_(state["exp_avg"])
        self.exp_avg_sq.copy_(state["exp_avg_sq"])
