"""One contiguous buffer for a module's parameters and one for their gradients.

Every optimizer the library uses (Adam, Nadam, RMSprop, SGD) is elementwise, so stepping one flat
vector is the same update as stepping each parameter, at a fraction of the per-tensor overhead
(one fused kernel instead of a loop over tensors); gradient clipping needs one norm instead of one
per tensor. The module keeps working as before: its parameters become views into the flat buffer,
and their ``.grad`` views into the flat gradient, so autograd, ``state_dict`` and
``load_state_dict`` (which copy in place) all read and write the shared storage. On the CPU the
same memory is visible to NumPy, which is what the DQN agent's NumPy learner writes gradients into.
"""

from __future__ import annotations

import torch
from torch import nn

from rlworks.optim_numpy import clip_grad_norm

__all__ = ["FlatParameters"]


class FlatParameters:
    """Re-homes ``module``'s parameters into one flat tensor (values kept).

    Attributes:
        param: The flat parameter ``[P]`` to hand to an optimizer; its ``.grad`` is the flat
            gradient.
        grad: The flat gradient ``[P]``; each module parameter's ``.grad`` is a view of it.
        params: The module's parameters, in ``module.parameters()`` order.

    Example:
        >>> net = nn.Linear(3, 2)
        >>> flat = FlatParameters(net)
        >>> flat.param.shape, net.weight.data_ptr() == flat.param.data_ptr()
        (torch.Size([8]), True)
    """

    def __init__(self, module: nn.Module) -> None:
        """Move the values of ``module``'s parameters into one buffer and point them at it."""
        self.params = list(module.parameters())
        if not self.params:
            raise ValueError("the module has no parameters to flatten")
        first = self.params[0]
        total = sum(p.numel() for p in self.params)
        self.param = nn.Parameter(torch.empty(total, dtype=first.dtype, device=first.device))
        self.grad = torch.zeros_like(self.param.data)
        self.param.grad = self.grad
        offset = 0
        with torch.no_grad():
            for p in self.params:
                n = p.numel()
                view = self.param.data[offset : offset + n].view_as(p)
                view.copy_(p.data)
                p.data = view
                p.grad = self.grad[offset : offset + n].view_as(p)
                offset += n

    def zero_grad(self) -> None:
        """Zero the flat gradient in place (the parameters' ``.grad`` views with it)."""
        self.grad.zero_()

    def clip_grad_norm(self, max_norm: float | None) -> float:
        """Scale the gradient to at most ``max_norm`` (as ``clip_grad_norm_``, which multiplies
        by ``max_norm / (norm + 1e-6)`` when that is below 1); returns the norm before clipping.
        On the CPU the norm is one BLAS dot product in NumPy (a fraction of torch's cost)."""
        if self.grad.device.type == "cpu":
            return clip_grad_norm(self.grad.numpy(), max_norm)
        total = torch.linalg.vector_norm(self.grad)
        if max_norm is not None:
            self.grad.mul_(torch.clamp(max_norm / (total + 1e-6), max=1.0))
        return float(total)
