"""Networks: MLP bodies, convolutional torsos for images, and the heads algorithms put on them
(policy distributions, values, Q-values).

Building blocks only: nothing here imports an algorithm.
"""

from __future__ import annotations

from rlworks.nets.actor_critic import ActorCritic
from rlworks.nets.cnn import (
    NATURE_CONV_LAYER_PARAMS,
    NATURE_FC_LAYER_PARAMS,
    NatureCNN,
    conv_output_shape,
    is_image_space,
)
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
    "NATURE_CONV_LAYER_PARAMS",
    "NATURE_FC_LAYER_PARAMS",
    "ActorCritic",
    "NatureCNN",
    "NoisyLinear",
    "PolicyNetwork",
    "QEnsemble",
    "QNetwork",
    "SquashedGaussianPolicy",
    "as_float_batch",
    "check_head",
    "conv_output_shape",
    "flat_size",
    "init_linear",
    "is_image_space",
    "mlp",
    "resolve_head",
    "scale_actions",
    "seeded",
    "tanh_gaussian_log_prob",
    "unscale_actions",
]
