"""Networks: MLP bodies and the heads algorithms put on them (policy distributions, values).

Building blocks only: nothing here imports an algorithm.
"""

from __future__ import annotations

from rlworks.nets.mlp import ACTIVATIONS, as_float_batch, flat_size, init_linear, mlp, seeded
from rlworks.nets.policy import HEADS, PolicyNetwork, check_head, resolve_head
from rlworks.nets.qnet import DUELING, NoisyLinear, QNetwork

__all__ = [
    "ACTIVATIONS",
    "DUELING",
    "HEADS",
    "NoisyLinear",
    "PolicyNetwork",
    "QNetwork",
    "as_float_batch",
    "check_head",
    "flat_size",
    "init_linear",
    "mlp",
    "resolve_head",
    "seeded",
]
