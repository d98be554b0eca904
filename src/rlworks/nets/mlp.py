"""Multilayer perceptrons: the dense stacks every vector-observation network is built from."""

from __future__ import annotations

import contextlib
import functools
import itertools
import math
from collections.abc import Callable, Iterator, Sequence

import numpy as np
import torch
from torch import nn

from rlworks.errors import ConfigError
from rlworks.nets.names import ACTIVATION_NAMES, Init

__all__ = [
    "ACTIVATIONS",
    "Init",
    "NumpyForward",
    "as_float_batch",
    "flat_size",
    "init_linear",
    "mlp",
    "seeded",
]

ACTIVATIONS: dict[str, type[nn.Module]] = dict(
    zip(ACTIVATION_NAMES, (nn.ReLU, nn.ELU, nn.Tanh, nn.GELU, nn.SiLU, nn.LeakyReLU), strict=True)
)
"""Hidden-layer activations by the name configs use (the names of
:data:`~rlworks.nets.names.ACTIVATION_NAMES`)."""


def init_linear(layer: nn.Linear, init: Init, gain: float = 1.0) -> None:
    """Initialize one linear layer in place (``gain`` scales orthogonal weights only)."""
    if init == "torch":
        layer.reset_parameters()
        return
    if init == "glorot":
        nn.init.xavier_uniform_(layer.weight)
    else:
        nn.init.orthogonal_(layer.weight, gain=gain)
    nn.init.zeros_(layer.bias)


def mlp(
    in_features: int,
    hidden_sizes: Sequence[int],
    out_features: int,
    *,
    activation: str = "relu",
    init: Init = "torch",
    output_gain: float = 1.0,
) -> nn.Sequential:
    """A stack ``Linear → activation → … → Linear`` with no activation after the last layer.

    Args:
        in_features: Input width.
        hidden_sizes: Widths of the hidden layers (empty: one linear layer).
        out_features: Output width.
        activation: Name in :data:`ACTIVATIONS`.
        init: Weight initialization (see :data:`Init`).
        output_gain: Orthogonal gain of the last layer (e.g. 0.01 for near-uniform initial
            policies); hidden layers get ``sqrt(2)``.

    Raises:
        ConfigError: Unknown activation or initialization, or a non-positive width.
    """
    if activation not in ACTIVATIONS:
        raise ConfigError(f"activation must be one of {', '.join(ACTIVATIONS)}, got {activation!r}")
    if init not in ("torch", "glorot", "orthogonal"):
        raise ConfigError(f"init must be torch, glorot or orthogonal, got {init!r}")
    widths = [in_features, *hidden_sizes, out_features]
    if any(w < 1 for w in widths):
        raise ConfigError(f"layer widths must be >= 1, got {widths}")
    layers: list[nn.Module] = []
    for i, (n_in, n_out) in enumerate(itertools.pairwise(widths)):
        linear = nn.Linear(n_in, n_out)
        last = i == len(widths) - 2
        init_linear(linear, init, output_gain if last else math.sqrt(2.0))
        layers.append(linear)
        if not last:
            layers.append(ACTIVATIONS[activation]())
    return nn.Sequential(*layers)


def flat_size(shape: Sequence[int] | None) -> int:
    """Number of features of an observation of this shape once flattened."""
    return int(math.prod(shape or ()))


def as_float_batch(obs: object, device: torch.device) -> torch.Tensor:
    """A batch of observations ``[N, ...]`` as a flat float32 tensor ``[N, D]`` on ``device``."""
    tensor = torch.as_tensor(obs, dtype=torch.float32, device=device)
    return tensor.reshape(tensor.shape[0], -1)


@contextlib.contextmanager
def seeded(seed: int) -> Iterator[None]:
    """Build networks under ``seed`` without touching the caller's global torch RNG.

    Module constructors draw their initial weights from torch's global generator; inside this
    context that generator is seeded with ``seed`` and restored afterwards, so an agent's networks
    depend on its seed alone.
    """
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        yield


def _affine(x: np.ndarray, weight_t: np.ndarray, bias: np.ndarray) -> np.ndarray:
    out: np.ndarray = x @ weight_t + bias
    return out


def _elu(x: np.ndarray, alpha: float) -> np.ndarray:
    return np.where(x > 0, x, alpha * np.expm1(np.minimum(x, 0)))


def _numpy_activation(layer: nn.Module) -> Callable[[np.ndarray], np.ndarray] | None:
    """The NumPy form of an activation layer, or None when there is none here."""
    if isinstance(layer, nn.ReLU):
        return lambda x: np.maximum(x, 0)
    if isinstance(layer, nn.Tanh):
        return np.tanh
    if isinstance(layer, nn.ELU):
        alpha = float(layer.alpha)
        return lambda x: _elu(x, alpha)
    if isinstance(layer, nn.LeakyReLU):
        slope = float(layer.negative_slope)
        return lambda x: np.where(x > 0, x, slope * x)
    if isinstance(layer, nn.SiLU):
        return lambda x: 0.5 * x * (1 + np.tanh(0.5 * x))  # x·σ(x) without exp overflow
    return None


class NumpyForward:
    """Runs a CPU ``nn.Sequential`` of linear layers and activations in NumPy.

    Acting in a vector env calls a small network on a few observations thousands of times per
    second; there torch's per-call overhead (tens of microseconds per layer) is most of the cost.
    This reads the parameters in place (NumPy views of the CPU tensors, so optimizer steps and
    ``load_state_dict`` are seen at once) and rebuilds its views, and re-checks that it can run
    the stack, only when a parameter is replaced or its storage moves (``.to()``, ``.double()``).
    Only CPU float32 stacks of Linear, ReLU, Tanh, ELU, LeakyReLU and SiLU layers qualify (GELU
    needs erf, which NumPy lacks); :meth:`__call__` returns None for the others.
    """

    def __init__(self, body: nn.Sequential) -> None:
        """Wrap ``body``."""
        self.body = body
        self._key: list[tuple[int, int]] | None = None
        self._ops: list[Callable[[np.ndarray], np.ndarray]] | None = None

    @staticmethod
    def supports(body: nn.Sequential) -> bool:
        """Whether ``body`` can run in NumPy."""
        for layer in body:
            if isinstance(layer, nn.Linear):
                if layer.weight.device.type != "cpu" or layer.weight.dtype != torch.float32:
                    return False
            elif _numpy_activation(layer) is None:
                return False
        return True

    def _build(self) -> None:
        self._key = self._current_key()
        if not self.supports(self.body):
            self._ops = None
            return
        ops: list[Callable[[np.ndarray], np.ndarray]] = []
        for layer in self.body:
            if isinstance(layer, nn.Linear):
                weight_t = layer.weight.detach().numpy().T  # [in, out], a view
                bias = layer.bias.detach().numpy()  # [out], a view
                ops.append(functools.partial(_affine, weight_t=weight_t, bias=bias))
            else:
                activation = _numpy_activation(layer)
                assert activation is not None
                ops.append(activation)
        self._ops = ops

    def _current_key(self) -> list[tuple[int, int]]:
        """Which parameter objects the layers hold now, and where their storage is."""
        return [(id(p), p.data_ptr()) for p in self.body.parameters()]

    def __call__(self, x: np.ndarray) -> np.ndarray | None:
        """``body(x)`` for a float32 batch ``[N, in]`` → ``[N, out]``, or None when the stack
        cannot run in NumPy (the caller then uses torch)."""
        if self._key != self._current_key():  # a parameter was replaced or moved: new views
            self._build()
        if self._ops is None:
            return None
        for op in self._ops:
            x = op(x)
        return x
