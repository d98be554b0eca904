"""Networks: MLP bodies and the heads algorithms put on them (policy distributions, values).

Building blocks only: nothing here imports an algorithm.
"""

from __future__ import annotations

from rlworks.nets.actor_critic import ActorCritic
from rlworks.nets.mlp import ACTIVATIONS, as_float_batch, flat_size, init_linear, mlp, seeded
from rlworks.nets.policy import HEADS, PolicyNetwork, check_head, resolve_head
from rlworks.nets.qnet import DUELING, NoisyLinear, QNetwork
from rlworks.nets.squashed import (
    QEnsemble,
    SquashedGaussianPolicy,
    scale_actions,
    tanh_gaussian_log_prob,
    unscale_actions,
)

__all__ = [
    "ACTIVATIONS",
    "DUELING",
    "HEADS",
    "ActorCritic",
    "NoisyLinear",
    "PolicyNetwork",
    "QEnsemble",
    "QNetwork",
    "SquashedGaussianPolicy",
    "as_float_batch",
    "check_head",
    "flat_size",
    "init_linear",
    "mlp",
    "resolve_head",
    "scale_actions",
    "seeded",
    "tanh_gaussian_log_prob",
    "unscale_actions",
]
