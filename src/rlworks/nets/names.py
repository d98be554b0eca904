"""Names configs use for network choices, without importing torch.

Config dataclasses (``PPOConfig``, ``CuriosityConfig``) validate these names; the modules that
build the networks (:mod:`rlworks.nets.mlp`) map them onto torch modules.
"""

from __future__ import annotations

from typing import Literal

__all__ = ["ACTIVATION_NAMES", "Init"]

ACTIVATION_NAMES: tuple[str, ...] = ("relu", "elu", "tanh", "gelu", "silu", "leaky_relu")
"""Hidden-layer activations by the name configs use (the keys of
:data:`rlworks.nets.mlp.ACTIVATIONS`)."""

Init = Literal["torch", "glorot", "orthogonal"]
"""Weight initialization: PyTorch's default (Kaiming-uniform), Glorot-uniform with zero biases
(Keras' default, which the chapter's networks use) or orthogonal with zero biases (the usual
choice for policy-gradient networks)."""
