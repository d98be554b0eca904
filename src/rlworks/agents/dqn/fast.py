"""The TD-loss gradient of a plain MLP Q-network, computed by hand in NumPy.

For the small fully connected Q-networks of classic-control tasks a gradient step is a few
64×256×256 matrix products; in PyTorch the autograd graph, the dispatcher and the per-tensor
optimizer loop cost more than the products themselves. This learner runs the forward pass, the
TD loss of :func:`~rlworks.agents.dqn.losses.td_loss` (Huber or squared, with importance
weights) and the backward pass as preallocated NumPy calls, writing the gradient into the flat
gradient buffer of :class:`~rlworks.nets.flat.FlatParameters`; the optimizer step itself stays a
torch optimizer on the flat parameter. ``tests/agents/test_dqn.py`` checks that it produces the
gradients autograd does.

Used only where it applies: a CPU float32 :class:`~rlworks.nets.QNetwork` without dueling, noisy
or distributional parts, with relu or tanh hidden layers; everything else takes the autograd path.
"""

from __future__ import annotations

from typing import Literal

import numpy as np
import torch
from torch import nn

from rlworks.nets import QNetwork

__all__ = ["NumpyTDLearner"]

_ACTIVATIONS = (nn.ReLU, nn.Tanh)


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
        self._biases = [m.bias.detach().numpy() for m in linears]
        grads = [(m.weight.grad, m.bias.grad) for m in linears]
        if any(w is None or b is None for w, b in grads):
            raise ValueError("the network's parameters need .grad views (FlatParameters)")
        self._weight_grads_t: list[torch.Tensor] = [w for w, _ in grads]  # type: ignore[misc]
        self._bias_grads = [b.numpy() for _, b in grads]  # type: ignore[union-attr]
        self._allocate(batch_size)

    def _allocate(self, batch_size: int) -> None:
        self._rows = np.arange(batch_size)
        self._activations = [np.empty((batch_size, w.shape[0]), np.float32) for w in self._weights]
        self._upstream = [np.empty((batch_size, w.shape[1]), np.float32) for w in self._weights]
        self._dq = np.zeros((batch_size, self._weights[-1].shape[0]), np.float32)

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
            obs: ``[B, D]`` float32 observations.
            actions: ``[B]`` actions taken.
            targets: ``[B]`` TD targets (constants).
            weights: ``[B]`` importance weights or None.
            kind: ``huber`` or ``mse``, as :func:`td_loss`.
            delta: Huber threshold.

        Returns:
            ``(loss, td_errors [B] = target - Q, mean Q of the actions taken)``.
        """
        n = len(actions)
        if n > len(self._rows):  # a larger batch than configured (update(batch) by hand)
            self._allocate(n)
        rows = self._rows[:n]
        acts = [a[:n] for a in self._activations]
        x = obs
        for i, (w, b) in enumerate(zip(self._weights, self._biases, strict=True)):
            out = acts[i]
            np.matmul(x, w.T, out=out)  # [B, out]
            np.add(out, b, out=out)
            if i < len(self._weights) - 1:
                if self._relu:
                    np.maximum(out, 0.0, out=out)
                else:
                    np.tanh(out, out=out)
            x = out
        q_taken = x[rows, actions]  # [B]
        diff = q_taken - targets  # [B] = Q - target
        scale = np.ones(n, np.float32) / n if weights is None else weights.astype(np.float32) / n
        if kind == "huber":
            small = np.abs(diff) <= delta
            per_sample = np.where(small, 0.5 * diff * diff, delta * (np.abs(diff) - 0.5 * delta))
            dloss = np.clip(diff, -delta, delta) * scale  # [B]
        else:
            per_sample = diff * diff
            dloss = 2.0 * diff * scale
        loss = float(np.dot(per_sample, scale))
        dq = self._dq[:n]
        dq.fill(0.0)
        dq[rows, actions] = dloss  # [B, A]
        grad = dq
        for i in range(len(self._weights) - 1, -1, -1):
            below = acts[i - 1] if i > 0 else obs
            # dW = grad.T @ below: MKL (torch) runs this transposed product about twice as fast
            # as OpenBLAS here; both read and write the same memory.
            torch.mm(torch.from_numpy(grad).T, torch.from_numpy(below), out=self._weight_grads_t[i])
            np.sum(grad, axis=0, out=self._bias_grads[i])
            if i == 0:
                break
            upstream = np.matmul(grad, self._weights[i], out=self._upstream[i][:n])  # [B, in]
            if self._relu:
                upstream *= below > 0
            else:
                upstream *= 1.0 - below * below
            grad = upstream
        return loss, -diff, float(q_taken.mean())
