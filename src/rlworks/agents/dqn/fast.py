"""The TD-loss gradient of a plain MLP Q-network, computed by hand.

For the small fully connected Q-networks of classic-control tasks a gradient step is a few
64×256×256 matrix products; in PyTorch the autograd graph, the dispatcher and the per-tensor
optimizer loop cost more than the products themselves. This learner runs the forward pass, the
TD loss of :func:`~rlworks.agents.dqn.losses.td_loss` (Huber or squared, with importance
weights) and the backward pass as single kernels on preallocated memory (torch's for the
matrix products and the activations, NumPy's for the per-sample loss), writing the gradient into
the flat gradient buffer of :class:`~rlworks.nets.flat.FlatParameters`; the optimizer step
itself stays with the agent. At these sizes a step costs its three large matrix products plus
roughly as much again in per-call overhead, so the code counts calls: a bias add fused into the
product (``addmm``), in-place activations and their derivatives, the Huber loss and its
derivative from one ``min(|d|, delta)``. ``tests/agents/test_dqn.py`` checks that it produces
the gradients autograd does.

Used only where it applies: a CPU float32 :class:`~rlworks.nets.QNetwork` without dueling, noisy
or distributional parts, with relu or tanh hidden layers; everything else takes the autograd path.
:class:`BatchQ` runs such a network forward on a whole phase's next observations (the TD
targets), on preallocated memory.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

import numpy as np
import torch
from torch import nn

from rlworks.nets import QNetwork

__all__ = ["BatchQ", "NumpyTDLearner"]

_ACTIVATIONS = (nn.ReLU, nn.Tanh)
_TORCH_MM_MIN = 32  # weight gradients with both sides at least this wide go through torch.mm
# In-place activation derivatives (one kernel each, writing over the upstream gradient).
_relu_backward = torch.ops.aten.threshold_backward.grad_input
_tanh_backward = torch.ops.aten.tanh_backward.grad_input


class NumpyTDLearner:
    """Loss, TD errors and gradient of ``td_loss`` for a plain relu/tanh MLP, in NumPy."""

    @staticmethod
    def supports(net: QNetwork) -> bool:
        """Whether ``net`` is a CPU float32 plain MLP with relu or tanh hidden layers."""
        params = list(net.parameters())
        return (
            net.is_plain_mlp
            and all(p.device.type == "cpu" and p.dtype == torch.float32 for p in params)
            and all(isinstance(m, (nn.Linear, *_ACTIVATIONS)) for m in net.body)
        )

    def __init__(self, net: QNetwork, batch_size: int) -> None:
        """Prepare buffers for batches of ``batch_size`` rows.

        ``net``'s parameters must already live in a :class:`FlatParameters` buffer: their
        ``.grad`` tensors are the views the gradient is written to.
        """
        if not self.supports(net):
            raise ValueError("NumpyTDLearner needs a CPU float32 plain relu/tanh MLP QNetwork")
        linears = [m for m in net.body if isinstance(m, nn.Linear)]
        linears.append(net.head)  # type: ignore[arg-type]
        self._relu = isinstance(net.body[1], nn.ReLU)
        self._weights = [m.weight.detach().numpy() for m in linears]  # [out, in] views
        self._weights_t = [m.weight.detach() for m in linears]  # the same memory, as tensors
        self._biases_t = [m.bias.detach() for m in linears]
        grads = [(m.weight.grad, m.bias.grad) for m in linears]
        if any(w is None or b is None for w, b in grads):
            raise ValueError("the network's parameters need .grad views (FlatParameters)")
        self._weight_grads_t: list[torch.Tensor] = [w for w, _ in grads]  # type: ignore[misc]
        self._weight_grads = [w.numpy() for w in self._weight_grads_t]
        self._bias_grads: list[torch.Tensor] = [b for _, b in grads]  # type: ignore[misc]
        self._biases = [m.bias.detach().numpy() for m in linears]
        self._row = [np.empty((1, w.shape[0]), np.float32) for w in self._weights]
        self._allocate(batch_size)

    def greedy_action(self, obs: np.ndarray) -> np.ndarray:
        """The greedy action ``[1]`` for one observation ``[1, D]`` (acting in a single env),
        through preallocated rows: the three small products and nothing else."""
        x = np.asarray(obs, np.float32).reshape(1, -1)
        last = len(self._weights) - 1
        for i, (w, b) in enumerate(zip(self._weights, self._biases, strict=True)):
            out = self._row[i]
            np.matmul(x, w.T, out=out)  # [1, out]
            np.add(out, b, out=out)
            if i < last:
                if self._relu:
                    np.maximum(out, 0.0, out=out)
                else:
                    np.tanh(out, out=out)
            x = out
        greedy: np.ndarray = x.argmax(axis=1)
        return greedy

    def _allocate(self, batch_size: int) -> None:
        self._batch = batch_size
        self._rows = np.arange(batch_size)
        self._uniform = np.full(batch_size, 1.0 / batch_size, np.float32)  # scale of a plain mean
        self._activations = [torch.empty(batch_size, w.shape[0]) for w in self._weights]
        self._upstream = [torch.empty(batch_size, w.shape[1]) for w in self._weights]
        self._dq = torch.zeros(batch_size, self._weights[-1].shape[0])

    def loss_and_grad(
        self,
        obs: np.ndarray,
        actions: np.ndarray,
        targets: np.ndarray,
        weights: np.ndarray | None,
        kind: Literal["huber", "mse"],
        delta: float,
    ) -> tuple[float, np.ndarray, float]:
        """Write ``d td_loss / d params`` into the gradient views.

        Args:
            obs: ``[B, D]`` float32 observations (C-contiguous).
            actions: ``[B]`` actions taken.
            targets: ``[B]`` TD targets (constants).
            weights: ``[B]`` importance weights or None.
            kind: ``huber`` or ``mse``, as :func:`td_loss`.
            delta: Huber threshold.

        Returns:
            ``(loss, td_errors [B] = target - Q, mean Q of the actions taken)``.
        """
        n = len(actions)
        if n != self._batch:  # another batch size than configured (update(batch) by hand)
            self._allocate(n)
        rows, acts, last = self._rows, self._activations, len(self._weights) - 1
        # Each call below is one kernel on preallocated memory: at these sizes the number of
        # Python-level operations, not the arithmetic, is what a step costs beyond its 3 GEMMs.
        x = _forward(obs, self._weights_t, self._biases_t, acts, self._relu)  # [B, A]
        q_taken = x.numpy()[rows, actions]  # [B]
        diff = q_taken - targets  # [B] = Q - target
        scale = weights / np.float32(n) if weights is not None else self._uniform
        if kind == "huber":
            magnitude = np.abs(diff)
            c = np.minimum(magnitude, delta)  # |d| up to delta, then delta
            # 0.5 d² where |d| <= delta and delta (|d| - delta/2) above: both are c (|d| - c/2);
            # the derivative is d clipped to [-delta, delta]: c with the sign of d.
            loss = float(np.dot(c * (magnitude - 0.5 * c), scale))
            dloss = np.copysign(c, diff) * scale  # [B]
        else:
            loss = float(np.dot(diff * diff, scale))
            dloss = 2.0 * diff * scale
        dq = self._dq.numpy()
        dq.fill(0.0)
        dq[rows, actions] = dloss  # [B, A]
        grad = self._dq
        for i in range(last, -1, -1):
            below = acts[i - 1] if i > 0 else torch.from_numpy(obs)
            self._weight_grad(i, grad, below)  # dW = grad^T below
            torch.sum(grad, 0, out=self._bias_grads[i])  # db
            if i == 0:
                break
            upstream = torch.mm(grad, self._weights_t[i], out=self._upstream[i])  # [B, in]
            if self._relu:  # zero where the unit was off (its output is exactly 0)
                _relu_backward(upstream, below, 0.0, grad_input=upstream)
            else:  # tanh' = 1 - tanh²
                _tanh_backward(upstream, below, grad_input=upstream)
            grad = upstream
        return loss, -diff, float(q_taken.sum()) / n

    def _weight_grad(self, i: int, grad: torch.Tensor, below: torch.Tensor) -> None:
        out = self._weight_grads_t[i]
        if min(out.shape) >= _TORCH_MM_MIN:  # MKL is faster on the large transposed product
            torch.mm(grad.T, below, out=out)
        else:  # and OpenBLAS on the thin ones (torch.mm took 34 µs for 256x64 @ 64x4, NumPy 9)
            np.matmul(grad.numpy().T, below.numpy(), out=self._weight_grads[i])


class BatchQ:
    """Q-values ``[N, A]`` of a plain relu/tanh MLP :class:`QNetwork` for a large batch.

    The TD targets of a training phase value every next state of its batches at once (128 × 64
    rows for rl-zoo's CartPole settings); at that size the products dominate, and NumPy's
    ``x @ W + b`` allocates two fresh ``[N, 256]`` arrays per layer on top of them. Here each
    layer is one ``addmm`` into a buffer kept between calls (grown to the largest batch seen; a
    smaller batch uses its first rows) and an in-place activation: 8.2 ms against 12.8 ms for
    8,192 rows through ``[4] → 256 → 256 → [2]`` on one thread.
    The parameters are read at every call, so weight copies and optimizer steps are seen.

    The returned array is a view of the last layer's buffer: the next call overwrites it.
    """

    def __init__(self, net: QNetwork) -> None:
        """Wrap ``net`` (see :meth:`NumpyTDLearner.supports`)."""
        if not NumpyTDLearner.supports(net):
            raise ValueError("BatchQ needs a CPU float32 plain relu/tanh MLP QNetwork")
        self.net = net
        self._linears: list[nn.Linear] = [m for m in net.body if isinstance(m, nn.Linear)]
        self._linears.append(net.head)  # type: ignore[arg-type]
        self._relu = isinstance(net.body[1], nn.ReLU)
        self._outs: list[torch.Tensor] = []

    def __call__(self, obs: np.ndarray) -> np.ndarray:
        """``net(obs)`` for float32 observations ``[N, D]`` (C-contiguous)."""
        n = len(obs)
        if not self._outs or len(self._outs[0]) < n:
            self._outs = [torch.empty(n, m.out_features) for m in self._linears]
        weights = [layer.weight.detach() for layer in self._linears]
        biases = [layer.bias.detach() for layer in self._linears]
        outs = [out[:n] for out in self._outs]  # the first n rows: contiguous
        q: np.ndarray = _forward(obs, weights, biases, outs, self._relu).numpy()
        return q


def _forward(
    obs: np.ndarray,
    weights: Sequence[torch.Tensor],
    biases: Sequence[torch.Tensor],
    outs: Sequence[torch.Tensor],
    relu: bool,
) -> torch.Tensor:
    """Run a relu/tanh MLP on ``obs`` ``[B, D]``, layer i's output into ``outs[i]`` ``[B, out]``
    (one ``addmm`` and one in-place activation each); returns the last output."""
    x = torch.from_numpy(obs)
    last = len(weights) - 1
    for i, (w, b, out) in enumerate(zip(weights, biases, outs, strict=True)):
        torch.addmm(b, x, w.T, out=out)  # x W^T + b
        if i < last:
            if relu:
                torch.relu_(out)
            else:  # NumPy's tanh: torch 2.13's CPU tanh_ is ~5x slower at these sizes
                np.tanh(out.numpy(), out=out.numpy())
        x = out
    return x
