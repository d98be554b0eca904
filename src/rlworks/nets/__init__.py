"""Networks: MLP bodies, convolutional torsos for images, and the heads algorithms put on them
(policy distributions, values, Q-values).

Building blocks only: nothing here imports an algorithm. Names load on first use
(:mod:`rlworks._lazy`), so the torch-free modules (:mod:`~rlworks.nets.names`,
:mod:`~rlworks.nets.numpy_mlp`) do not import torch.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from rlworks._lazy import lazy_exports, prefer_exports_over_submodules

if TYPE_CHECKING:
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

_EXPORTS = {
    "ActorCritic": "rlworks.nets.actor_critic",
    **dict.fromkeys(
        (
            "NATURE_CONV_LAYER_PARAMS",
            "NATURE_FC_LAYER_PARAMS",
            "NatureCNN",
            "conv_output_shape",
            "is_image_space",
        ),
        "rlworks.nets.cnn",
    ),
    **dict.fromkeys(
        ("ACTIVATIONS", "as_float_batch", "flat_size", "init_linear", "mlp", "seeded"),
        "rlworks.nets.mlp",
    ),
    **dict.fromkeys(
        ("HEADS", "PolicyNetwork", "check_head", "resolve_head"), "rlworks.nets.policy"
    ),
    **dict.fromkeys(("DUELING", "NoisyLinear", "QNetwork"), "rlworks.nets.qnet"),
    **dict.fromkeys(
        (
            "QEnsemble",
            "SquashedGaussianPolicy",
            "scale_actions",
            "tanh_gaussian_log_prob",
            "unscale_actions",
        ),
        "rlworks.nets.squashed",
    ),
}
__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS, globals())
prefer_exports_over_submodules(__name__, ("mlp",))  # rlworks.nets.mlp: the function

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
