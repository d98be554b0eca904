"""Small MLPs in NumPy alone: initialization, forward and backward in preallocated memory.

The torch-free engine of PPO (:class:`~rlworks.agents.ppo_numpy.NumpyPPO`) keeps its networks
here. A :class:`NumpyMLP` is the NumPy twin of :func:`rlworks.nets.mlp.mlp`: ``Linear → act →
… → Linear`` with tanh or relu, weights ``[out, in]`` and biases in torch's layout and order
(the names of an ``nn.Sequential``'s state dict, ``"0.weight"``, ``"0.bias"``, ``"2.weight"``,
...), living as views in a flat parameter vector that the caller owns, with the gradient written
into the matching views of a flat gradient vector. Checkpoints of either engine load into the
other.

Initializations follow :func:`rlworks.nets.mlp.init_linear` (``orthogonal`` with gains,
``glorot``, ``torch``'s default), drawn from a NumPy generator: the same distributions, other
numbers than torch's generator would draw.

:func:`sample_actions` and :func:`mode_actions` are the actor-critic's policy heads on NumPy
outputs (categorical logits, diagonal-Gaussian means), shared by both PPO engines' acting.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence

import gymnasium as gym
import numpy as np

from rlworks.errors import ConfigError, SpaceMismatchError
from rlworks.nets.names import Init

__all__ = [
    "HALF_LOG_2PI",
    "NUMPY_ACTIVATIONS",
    "NumpyMLP",
    "box_scaling",
    "init_weights",
    "mlp_sizes",
    "mode_actions",
    "sample_actions",
    "scale_inputs",
]

HALF_LOG_2PI = 0.5 * math.log(2.0 * math.pi)
"""``log sqrt(2π)``, the normal density's constant."""

NUMPY_ACTIVATIONS = ("tanh", "relu")
"""Hidden activations the NumPy networks implement."""


def mlp_sizes(in_features: int, hidden_sizes: Sequence[int], out_features: int) -> list[int]:
    """Parameter counts of the stack, layer by layer: ``[W0, b0, W1, b1, ...]``."""
    widths = [in_features, *hidden_sizes, out_features]
    return [n for a, b in itertools.pairwise(widths) for n in (a * b, b)]


def sample_actions(
    out: np.ndarray,
    head: str,
    rng: np.random.Generator,
    *,
    log_std: np.ndarray | None = None,
    action_start: int = 0,
    action_shape: tuple[int, ...] = (),
) -> tuple[np.ndarray, np.ndarray]:
    """One action per row of the actor's output ``out [N, out]``, drawn with ``rng``.

    Categorical (logits): Gumbel-max, ``argmax(logits + Gumbel noise)``, is a draw from
    ``softmax(logits)``. Gaussian (means, with the state-independent ``log_std [A]``):
    ``mean + exp(log_std) · N(0, 1)``.

    Returns:
        ``(actions, log π(a | s))``: actions ``[N]`` int64 offset by ``action_start`` or
        ``[N, *action_shape]`` float32 (unclipped), log-probabilities ``[N]`` float32.
    """
    out = out.astype(np.float64)
    n = out.shape[0]
    if head == "categorical":
        gumbel = -np.log(-np.log(rng.random(out.shape)))  # [N, A]
        index = (out + gumbel).argmax(axis=1)  # [N]
        top = out.max(axis=1)  # [N]
        log_norm = top + np.log(np.exp(out - top[:, None]).sum(axis=1))  # [N] logsumexp
        log_probs = out[np.arange(n), index] - log_norm
        actions: np.ndarray = index + action_start
    else:
        assert log_std is not None
        std_log = log_std.astype(np.float64)  # [A]
        noise = rng.standard_normal(out.shape)  # [N, A]
        actions = (out + np.exp(std_log) * noise).astype(np.float32).reshape(n, *action_shape)
        log_probs = -0.5 * (noise * noise).sum(axis=1) - (std_log + HALF_LOG_2PI).sum()
    return actions, log_probs.astype(np.float32)


def mode_actions(
    out: np.ndarray, head: str, *, action_start: int = 0, action_shape: tuple[int, ...] = ()
) -> np.ndarray:
    """The most likely action per row of ``out [N, out]``: the top logit (int64, offset by
    ``action_start``) or the Gaussian mean (float32, ``[N, *action_shape]``, unclipped)."""
    if head == "gaussian":
        return out.astype(np.float32).reshape(out.shape[0], *action_shape)
    actions: np.ndarray = out.argmax(axis=1).astype(np.int64) + action_start
    return actions


def box_scaling(
    space: gym.spaces.Box, scale: bool, env_name: str
) -> tuple[np.ndarray | None, np.ndarray | None]:
    """With ``scale``, the center ``[D]`` and inverse half-width ``[D]`` (float32) of the affine
    map ``x' = (x - center) · inv_half`` from the Box bounds onto ``[-1, 1]``; else None, None.

    Raises:
        SpaceMismatchError: Infinite bounds, or ``high <= low``.
    """
    if not scale:
        return None, None
    low = np.asarray(space.low, dtype=np.float64).reshape(-1)  # [D]
    high = np.asarray(space.high, dtype=np.float64).reshape(-1)  # [D]
    if not (np.isfinite(low).all() and np.isfinite(high).all() and (high > low).all()):
        raise SpaceMismatchError(
            f"scale_obs maps observations from their bounds onto [-1, 1], but {env_name} has "
            f"observation bounds low={low.tolist()}, high={high.tolist()}; "
            "it needs finite bounds with high > low (or scale_obs: false)"
        )
    return ((high + low) / 2).astype(np.float32), (2 / (high - low)).astype(np.float32)


def scale_inputs(
    flat: np.ndarray, center: np.ndarray | None, inv_half: np.ndarray | None
) -> np.ndarray:
    """``(flat - center) · inv_half`` (a new array) with :func:`box_scaling`'s pair, or ``flat``
    itself when there is no scaling (None)."""
    if center is None or inv_half is None:
        return flat
    scaled: np.ndarray = (flat - center) * inv_half
    return scaled


def init_weights(
    weight: np.ndarray, bias: np.ndarray, init: Init, gain: float, rng: np.random.Generator
) -> None:
    """Initialize one layer's ``weight [out, in]`` and ``bias [out]`` in place.

    * ``orthogonal``: torch's ``orthogonal_`` (QR of a Gaussian matrix, signs fixed by ``R``'s
      diagonal) times ``gain``, zero bias;
    * ``glorot``: uniform on ``±sqrt(6 / (in + out))``, zero bias;
    * ``torch``: ``nn.Linear``'s default, weight and bias uniform on ``±1 / sqrt(in)``.
    """
    n_out, n_in = weight.shape
    if init == "orthogonal":
        rows, cols = (n_out, n_in) if n_out >= n_in else (n_in, n_out)
        q, r = np.linalg.qr(rng.standard_normal((rows, cols)))
        q *= np.sign(np.diag(r))
        weight[...] = gain * (q if n_out >= n_in else q.T)
        bias[...] = 0.0
    elif init == "glorot":
        limit = math.sqrt(6.0 / (n_in + n_out))
        weight[...] = rng.uniform(-limit, limit, weight.shape)
        bias[...] = 0.0
    elif init == "torch":
        bound = 1.0 / math.sqrt(n_in)
        weight[...] = rng.uniform(-bound, bound, weight.shape)
        bias[...] = rng.uniform(-bound, bound, bias.shape)
    else:
        raise ConfigError(f"init must be torch, glorot or orthogonal, got {init!r}")


class NumpyMLP:
    """``Linear → act → … → Linear`` over views of caller-owned flat parameter and gradient
    vectors.

    Example:
        >>> sizes = mlp_sizes(4, [64, 64], 2)
        >>> params, grads = np.zeros(sum(sizes), np.float32), np.zeros(sum(sizes), np.float32)
        >>> actor = NumpyMLP(4, [64, 64], 2, "tanh", params, grads)
        >>> actor.initialize("orthogonal", 0.01, np.random.default_rng(0))
        >>> actor.predict(obs)  # [N, 2], allocating, for acting
    """

    def __init__(
        self,
        in_features: int,
        hidden_sizes: Sequence[int],
        out_features: int,
        activation: str,
        params: np.ndarray,
        grads: np.ndarray,
    ) -> None:
        """Point the layers at ``params`` and ``grads`` (float32, ``sum(mlp_sizes(...))`` long).

        Raises:
            ConfigError: An activation other than tanh or relu, or vectors of the wrong size.
        """
        if activation not in NUMPY_ACTIVATIONS:
            raise ConfigError(
                f"the NumPy networks implement {' and '.join(NUMPY_ACTIVATIONS)}, not "
                f"{activation!r}"
            )
        sizes = mlp_sizes(in_features, hidden_sizes, out_features)
        for name, vector in (("params", params), ("grads", grads)):
            if vector.shape != (sum(sizes),):
                raise ConfigError(
                    f"the MLP needs {name} of shape ({sum(sizes)},), got {vector.shape}"
                )
        self.relu = activation == "relu"
        widths = [in_features, *hidden_sizes, out_features]
        self.weights: list[np.ndarray] = []
        self.biases: list[np.ndarray] = []
        self.weight_grads: list[np.ndarray] = []
        self.bias_grads: list[np.ndarray] = []
        offset = 0
        for n_in, n_out in itertools.pairwise(widths):
            for values, store, shape in (
                (params, self.weights, (n_out, n_in)),
                (grads, self.weight_grads, (n_out, n_in)),
            ):
                store.append(values[offset : offset + n_in * n_out].reshape(shape))
            offset += n_in * n_out
            self.biases.append(params[offset : offset + n_out])
            self.bias_grads.append(grads[offset : offset + n_out])
            offset += n_out
        self.in_features, self.out_features = in_features, out_features
        self.acts: list[np.ndarray] = []
        self.upstream: list[np.ndarray] = []
        self._scratch: list[np.ndarray] = []
        self._ones = np.ones(0, np.float32)

    def named_parameters(self, prefix: str) -> list[tuple[str, np.ndarray]]:
        """``(name, view)`` pairs named as an ``nn.Sequential``'s state dict under ``prefix``."""
        named = []
        for i, (w, b) in enumerate(zip(self.weights, self.biases, strict=True)):
            named += [(f"{prefix}{2 * i}.weight", w), (f"{prefix}{2 * i}.bias", b)]
        return named

    def initialize(self, init: Init, output_gain: float, rng: np.random.Generator) -> None:
        """Draw every layer's weights (hidden gain ``sqrt(2)``, ``output_gain`` on the last)."""
        last = len(self.weights) - 1
        for i, (w, b) in enumerate(zip(self.weights, self.biases, strict=True)):
            init_weights(w, b, init, output_gain if i == last else math.sqrt(2.0), rng)

    def _activate(self, x: np.ndarray) -> None:
        if self.relu:
            np.maximum(x, 0.0, out=x)
        else:
            np.tanh(x, out=x)

    def predict(self, x: np.ndarray) -> np.ndarray:
        """The output ``[N, out]`` for float32 inputs ``[N, in]`` (new arrays; for acting)."""
        last = len(self.weights) - 1
        for i, (w, b) in enumerate(zip(self.weights, self.biases, strict=True)):
            x = x @ w.T
            x += b
            if i < last:
                self._activate(x)
        return x

    def allocate(self, batch: int) -> None:
        """Buffers for :meth:`forward_array` and :meth:`backward_array` on ``batch`` rows."""
        self.acts = [np.empty((batch, w.shape[0]), np.float32) for w in self.weights]
        self.upstream = [np.empty((batch, w.shape[1]), np.float32) for w in self.weights]
        self._scratch = [np.empty((batch, w.shape[1]), np.float32) for w in self.weights]
        self._ones = np.ones(batch, np.float32)  # column sums as one product (2 µs, not 5)

    def forward_array(self, x: np.ndarray) -> np.ndarray:
        """The output ``[B, out]`` of ``x [B, in]``, keeping every layer's output for
        :meth:`backward_array` (in the buffers of :meth:`allocate`)."""
        last = len(self.weights) - 1
        for i, (w, b) in enumerate(zip(self.weights, self.biases, strict=True)):
            out = self.acts[i]
            np.matmul(x, w.T, out=out)  # [B, out_i]
            out += b
            if i < last:
                self._activate(out)
            x = out
        return x

    def backward_array(self, grad: np.ndarray, x: np.ndarray) -> None:
        """Write ``d loss / d params`` into the gradient views, given ``grad = d loss / d
        output`` ``[B, out]`` of the last :meth:`forward_array`, whose input was ``x``
        ``[B, in]``."""
        for i in range(len(self.weights) - 1, -1, -1):
            below = self.acts[i - 1] if i > 0 else x  # [B, in_i]
            np.matmul(grad.T, below, out=self.weight_grads[i])  # dW = grad^T below
            np.matmul(self._ones[: len(grad)], grad, out=self.bias_grads[i])  # db = 1^T grad
            if i == 0:
                break
            upstream = self.upstream[i]
            np.matmul(grad, self.weights[i], out=upstream)  # [B, in_i]
            if self.relu:  # zero where the unit was off
                np.copyto(upstream, 0.0, where=below <= 0.0)
            else:  # tanh' = 1 - tanh²
                scratch = self._scratch[i]
                np.multiply(below, below, out=scratch)
                np.subtract(1.0, scratch, out=scratch)
                upstream *= scratch
            grad = upstream
