"""Hand-written forward and backward passes of small MLPs in preallocated memory.

The NumPy learners (:mod:`rlworks.agents.ppo_fast`, :mod:`rlworks.agents.sac_fast`) compute
their gradients without autograd: for ``[64, 64]`` or ``[256, 256]`` networks on a CPU, the
products themselves are cheap and what a step costs beyond them is the number of kernel calls
and allocations. :class:`MLPStack` runs one ``Linear → act → … → Linear`` stack with one kernel
per operation on buffers allocated once, and writes its parameter gradients straight into the
``.grad`` views of the parameters (:class:`~rlworks.nets.flat.FlatParameters`).
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

__all__ = ["TORCH_MM_MIN", "MLPStack", "activate_", "activation_backward_", "parameter_grads"]

TORCH_MM_MIN = 32
"""Weight gradients of layers with at least this many inputs go through ``torch.mm``; those of
narrower ones (``[H, B] @ [B, D]`` with a few columns) through NumPy's BLAS call, which costs a
fraction of ``torch.mm``'s there (16 against 50 µs for ``D = 4`` here)."""

# In-place activation derivatives (one kernel each, writing over the upstream gradient).
_relu_backward = torch.ops.aten.threshold_backward.grad_input
_tanh_backward = torch.ops.aten.tanh_backward.grad_input


def activate_(x: torch.Tensor, relu: bool) -> None:
    """relu or tanh of a CPU float32 tensor in place. NumPy's tanh: torch 2.13's CPU ``tanh_``
    took 66 µs on a ``[256, 64]`` block here, NumPy's 12 µs."""
    if relu:
        torch.relu_(x)
    else:
        array = x.numpy()
        np.tanh(array, out=array)


def activation_backward_(grad: torch.Tensor, output: torch.Tensor, relu: bool) -> None:
    """``grad *= act'`` in place, from the activation's ``output``."""
    if relu:  # zero where the unit was off (its output is exactly 0)
        _relu_backward(grad, output, 0.0, grad_input=grad)
    else:  # tanh' = 1 - tanh²
        _tanh_backward(grad, output, grad_input=grad)


def parameter_grads(params: list[torch.Tensor]) -> list[torch.Tensor]:
    """The ``.grad`` tensors of ``params``, which must exist (views into a flat gradient).

    Raises:
        ValueError: A parameter without ``.grad``.
    """
    grads = [p.grad for p in params]
    if any(g is None for g in grads):
        raise ValueError("the network's parameters need .grad views (FlatParameters)")
    return grads  # type: ignore[return-value]


class MLPStack:
    """Forward and backward of one ``Linear → act → … → Linear`` stack (one kind of
    activation, relu or tanh, between the layers) in preallocated memory.

    The forward pass may run on more rows than the backward (SAC's actor acts on ``s`` and
    ``s'`` at once and learns from ``s``): :meth:`backward` uses the first ``len(grad)`` rows.
    """

    def __init__(self, body: nn.Sequential) -> None:
        """Read the live parameters of ``body`` (a :meth:`supports` stack) and their gradients."""
        linears = [m for m in body if isinstance(m, nn.Linear)]
        self.relu = any(isinstance(m, nn.ReLU) for m in body)
        self.weights = [m.weight.detach() for m in linears]  # [out, in], the live parameters
        self.biases = [m.bias.detach() for m in linears]  # [out]
        self.weight_grads = parameter_grads([m.weight for m in linears])
        self.weight_grads_np = [w.numpy() for w in self.weight_grads]
        self.bias_grads = parameter_grads([m.bias for m in linears])
        self.out_features = int(self.weights[-1].shape[0])
        self.in_features = int(self.weights[0].shape[1])
        self.acts: list[torch.Tensor] = []
        self.upstream: list[torch.Tensor] = []

    @staticmethod
    def supports(body: nn.Sequential) -> bool:
        """Linear layers with biases and one kind of activation (tanh or relu) between them."""
        kinds = {type(m) for m in body if not isinstance(m, nn.Linear)}
        return (
            all(isinstance(m, (nn.Linear, nn.Tanh, nn.ReLU)) for m in body)
            and all(m.bias is not None for m in body if isinstance(m, nn.Linear))
            and len(kinds) <= 1
        )

    def allocate(self, batch: int, forward_rows: int | None = None) -> None:
        """Buffers for backward passes of ``batch`` rows and forward passes of
        ``forward_rows`` (default ``batch``)."""
        rows = batch if forward_rows is None else forward_rows
        self.acts = [torch.empty(rows, w.shape[0]) for w in self.weights]  # [R, out_i]
        self.upstream = [torch.empty(batch, w.shape[1]) for w in self.weights]  # [B, in_i]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``body(x)`` ``[R, out]``, keeping every layer's output for :meth:`backward`."""
        last = len(self.weights) - 1
        for i, (w, b) in enumerate(zip(self.weights, self.biases, strict=True)):
            torch.addmm(b, x, w.T, out=self.acts[i])  # [R, out_i] = x W^T + b
            if i < last:
                activate_(self.acts[i], self.relu)
            x = self.acts[i]
        return x

    def forward_array(self, x: np.ndarray) -> np.ndarray:
        """:meth:`forward` for a float32 NumPy input; the output as a NumPy view of its buffer
        (the :class:`~rlworks.agents.ppo_fast.ArrayStack` interface)."""
        out: np.ndarray = self.forward(torch.from_numpy(x)).numpy()
        return out

    def backward_array(self, grad: np.ndarray, x: np.ndarray) -> None:
        """:meth:`backward` for float32 NumPy arrays."""
        self.backward(torch.from_numpy(grad), torch.from_numpy(x))

    def backward(self, grad: torch.Tensor, x: torch.Tensor) -> None:
        """Write ``d loss / d params`` given ``grad = d loss / d output`` ``[B, out]`` of the
        first ``B`` rows of the last forward pass, whose inputs were ``x`` ``[B, in]``."""
        batch = len(grad)
        for i in range(len(self.weights) - 1, -1, -1):
            below = self.acts[i - 1][:batch] if i > 0 else x  # [B, in_i]
            if below.shape[1] >= TORCH_MM_MIN:
                torch.mm(grad.T, below, out=self.weight_grads[i])  # dW = grad^T below
            else:
                np.matmul(grad.numpy().T, below.numpy(), out=self.weight_grads_np[i])
            torch.sum(grad, 0, out=self.bias_grads[i])  # db [out_i]
            if i == 0:
                break
            upstream = torch.mm(grad, self.weights[i], out=self.upstream[i])  # [B, in_i]
            activation_backward_(upstream, below, self.relu)
            grad = upstream
