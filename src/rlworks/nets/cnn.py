"""Convolutional torsos for image observations: the Nature-DQN CNN and its configurable kin.

The layers are described the way TF-Agents' ``QNetwork`` (the chapter's) describes them:
``conv_layer_params`` is a list of ``(filters, kernel_size, stride)`` triples, one per square
convolution with no padding, and ``fc_layer_params`` the widths of the dense layers after them.
The defaults are the network of Mnih et al. 2015 (https://doi.org/10.1038/nature14236):
three convolutions ``(32, 8, 4), (64, 4, 2), (64, 3, 1)`` and a dense layer of 512 units, every
layer followed by a ReLU.

Frames arrive as they are stored, ``uint8`` in ``[B, C, H, W]`` (channels first: stacked frames
are the channels); the torso converts them to float and divides by 255 itself, so that replay
buffers and transfers to the device carry bytes, not 4× as many float bytes.

This module owns the encoders only; Q-value, dueling and distributional heads are put on them by
:class:`~rlworks.nets.qnet.QNetwork`.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
from torch import nn

from rlworks.errors import ConfigError
from rlworks.nets.mlp import ACTIVATIONS, Init, init_linear

__all__ = [
    "NATURE_CONV_LAYER_PARAMS",
    "NATURE_FC_LAYER_PARAMS",
    "NatureCNN",
    "check_conv_layer_params",
    "conv_output_shape",
    "is_image_space",
]

NATURE_CONV_LAYER_PARAMS: tuple[tuple[int, int, int], ...] = ((32, 8, 4), (64, 4, 2), (64, 3, 1))
"""``(filters, kernel_size, stride)`` of the Nature-DQN convolutions (the chapter's values)."""

NATURE_FC_LAYER_PARAMS: tuple[int, ...] = (512,)
"""Widths of the Nature-DQN dense layers after the convolutions."""


def is_image_space(space: object) -> bool:
    """Whether ``space`` holds images a CNN should see: a 3-D ``uint8`` Box (``[C, H, W]``)."""
    shape = getattr(space, "shape", None)
    dtype = getattr(space, "dtype", None)
    return shape is not None and len(shape) == 3 and dtype is not None and str(dtype) == "uint8"


def check_conv_layer_params(
    conv_layer_params: Sequence[Sequence[int]], key: str = "conv_layer_params"
) -> list[tuple[int, int, int]]:
    """``conv_layer_params`` as ``(filters, kernel_size, stride)`` triples of positive ints.

    Raises:
        ConfigError: An entry that is not three integers >= 1 (the message names it).
    """
    triples: list[tuple[int, int, int]] = []
    for i, entry in enumerate(conv_layer_params):
        values = tuple(entry)
        if len(values) != 3 or not all(isinstance(v, int) and v >= 1 for v in values):
            raise ConfigError(
                f"{key}[{i}] must be [filters, kernel_size, stride], three integers >= 1, "
                f"got {list(values)}"
            )
        triples.append((values[0], values[1], values[2]))
    return triples


def conv_output_shape(
    obs_shape: Sequence[int], conv_layer_params: Sequence[Sequence[int]]
) -> tuple[int, int, int]:
    """Shape ``(channels, height, width)`` after the convolutions, for one observation.

    Each unpadded convolution maps a side of ``n`` pixels to ``(n - kernel) // stride + 1``:
    on the Nature network 84 → 20 → 9 → 7, so 7·7·64 = 3136 features reach the dense layers.

    Args:
        obs_shape: ``(channels, height, width)`` of an observation.
        conv_layer_params: ``(filters, kernel_size, stride)`` per convolution.

    Raises:
        ConfigError: A malformed shape or layer, or a layer whose kernel is larger than the
            image it receives (the message names the layer, its input size and the observation).
    """
    if len(obs_shape) != 3 or any(int(n) < 1 for n in obs_shape):
        raise ConfigError(
            f"a convolutional network needs observations of shape (channels, height, width), "
            f"got {tuple(obs_shape)}"
        )
    channels, height, width = (int(n) for n in obs_shape)
    hint = "use smaller kernels or strides, or fewer layers"
    if width <= 4 < channels:  # e.g. (210, 160, 3): raw RGB frames, channels last
        hint = (
            "the shape looks channels-last (height, width, channels), but the network takes "
            "channels-first frames, e.g. 4 stacked 84x84 grayscale frames (4, 84, 84) from the "
            "Atari preprocessing"
        )
    for i, (filters, kernel, stride) in enumerate(check_conv_layer_params(conv_layer_params)):
        if height < kernel or width < kernel:
            raise ConfigError(
                f"conv_layer_params[{i}] = {[filters, kernel, stride]} has a {kernel}x{kernel} "
                f"kernel but its input is only {height}x{width} pixels (observation shape "
                f"{tuple(obs_shape)}, channels first): the image would shrink below 1 pixel; "
                f"{hint}"
            )
        channels = filters
        height = (height - kernel) // stride + 1
        width = (width - kernel) // stride + 1
    return channels, height, width


def init_conv(layer: nn.Conv2d, init: Init, gain: float = math.sqrt(2.0)) -> None:
    """Initialize one convolution in place, as :func:`~rlworks.nets.mlp.init_linear` does a
    linear layer: torch's default, Glorot-uniform or orthogonal (``gain``), the last two with
    zero biases."""
    if init == "torch":
        layer.reset_parameters()
        return
    if init == "glorot":
        nn.init.xavier_uniform_(layer.weight)
    else:
        nn.init.orthogonal_(layer.weight, gain=gain)
    assert layer.bias is not None
    nn.init.zeros_(layer.bias)


class NatureCNN(nn.Module):
    """Image encoder ``[B, C, H, W]`` (uint8) → features ``[B, out_features]`` (float).

    ``x / input_scale`` → (Conv2d → activation) per entry of ``conv_layer_params`` → flatten →
    (Linear → activation) per entry of ``fc_layer_params``. With the defaults this is the Nature
    DQN's encoder (3136 conv features, 512 outputs). Initialization is PyTorch's default
    (``init="torch"``, Kaiming-uniform) unless ``init`` says ``glorot`` or ``orthogonal``
    (gain ``sqrt(2)``, zero biases).

    Example:
        >>> cnn = NatureCNN((4, 84, 84))
        >>> cnn(torch.zeros(2, 4, 84, 84, dtype=torch.uint8)).shape
        torch.Size([2, 512])
    """

    def __init__(
        self,
        obs_shape: Sequence[int],
        conv_layer_params: Sequence[Sequence[int]] = NATURE_CONV_LAYER_PARAMS,
        fc_layer_params: Sequence[int] = NATURE_FC_LAYER_PARAMS,
        *,
        activation: str = "relu",
        init: Init = "torch",
        input_scale: float = 255.0,
        channels_last: bool = True,
    ) -> None:
        """Build the encoder.

        Args:
            obs_shape: ``(channels, height, width)`` of one observation (channels first).
            conv_layer_params: ``(filters, kernel_size, stride)`` per unpadded convolution
                (may be empty).
            fc_layer_params: Widths of the dense layers after the convolutions (may be empty:
                the flattened convolution output is then the feature vector).
            activation: Name in :data:`~rlworks.nets.mlp.ACTIVATIONS`, after every layer.
            init: Weight initialization (see :data:`~rlworks.nets.mlp.Init`).
            input_scale: Inputs are divided by this (255 maps uint8 pixels to ``[0, 1]``).
            channels_last: On the CPU, lay frames out channels-last (NHWC) before the
                convolutions, which oneDNN runs faster: a Nature-CNN train step at batch 32 on
                one thread took 33-35 ms against 36-40 ms in NCHW. The weights keep their
                layout; results are the same up to float rounding.

        Raises:
            ConfigError: A bad shape, layer, width, activation or scale (the message names it).
        """
        super().__init__()
        if activation not in ACTIVATIONS:
            raise ConfigError(
                f"activation must be one of {', '.join(ACTIVATIONS)}, got {activation!r}"
            )
        if init not in ("torch", "glorot", "orthogonal"):
            raise ConfigError(f"init must be torch, glorot or orthogonal, got {init!r}")
        if not (input_scale > 0 and math.isfinite(input_scale)):
            raise ConfigError(f"input_scale must be a positive number, got {input_scale}")
        if any(w < 1 for w in fc_layer_params):
            raise ConfigError(f"fc_layer_params must hold widths >= 1, got {list(fc_layer_params)}")
        self.obs_shape = tuple(int(n) for n in obs_shape)
        self.conv_output_shape = conv_output_shape(self.obs_shape, conv_layer_params)
        self.input_scale = float(input_scale)
        self.channels_last = channels_last
        layers: list[nn.Module] = []
        channels = self.obs_shape[0]
        for filters, kernel, stride in check_conv_layer_params(conv_layer_params):
            conv = nn.Conv2d(channels, filters, kernel, stride)
            init_conv(conv, init)
            layers += [conv, ACTIVATIONS[activation]()]
            channels = filters
        self.convs = nn.Sequential(*layers)
        width = math.prod(self.conv_output_shape)
        fc: list[nn.Module] = []
        for n_out in fc_layer_params:
            linear = nn.Linear(width, n_out)
            init_linear(linear, init, math.sqrt(2.0))
            fc += [linear, ACTIVATIONS[activation]()]
            width = n_out
        self.fc = nn.Sequential(*fc)
        self.out_features = width

    def scale(self, obs: torch.Tensor) -> torch.Tensor:
        """``obs`` as float32 divided by ``input_scale``: one new tensor, made on obs' device
        (the caller's tensor is never modified), channels-last on the CPU if so configured."""
        if self.channels_last and obs.device.type == "cpu":
            obs = obs.contiguous(memory_format=torch.channels_last)  # permuted while still bytes
        if obs.dtype == torch.float32:
            return obs / self.input_scale  # [B, C, H, W]
        return obs.to(torch.float32).div_(self.input_scale)  # [B, C, H, W], converted once

    def forward(self, obs: torch.Tensor) -> torch.Tensor:
        """Features ``[B, out_features]`` of a batch of frames ``[B, C, H, W]`` (any dtype;
        uint8 is the intended one)."""
        if obs.dim() != 4 or tuple(obs.shape[1:]) != self.obs_shape:
            raise ValueError(
                f"expected observations of shape [B, {', '.join(map(str, self.obs_shape))}], "
                f"got {list(obs.shape)}"
            )
        x = self.convs(self.scale(obs))  # [B, C', H', W']
        out: torch.Tensor = self.fc(x.flatten(1))  # [B, out_features]
        return out

    def extra_repr(self) -> str:
        """Input shape, scale and feature width, for ``print(net)``."""
        return (
            f"obs_shape={self.obs_shape}, input_scale={self.input_scale}, "
            f"conv_output={self.conv_output_shape}, out_features={self.out_features}"
        )
