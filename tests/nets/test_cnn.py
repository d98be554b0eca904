"""Convolutional torsos: conv size arithmetic, scaling inside the net, heads on images, errors."""

from __future__ import annotations

import copy
import pickle
from typing import Any

import gymnasium as gym
import numpy as np
import pytest
import torch
from torch import nn

from rlworks.errors import ConfigError
from rlworks.nets import (
    NATURE_CONV_LAYER_PARAMS,
    NatureCNN,
    NoisyLinear,
    QNetwork,
    conv_output_shape,
    is_image_space,
    seeded,
)

FRAMES = (4, 84, 84)


def _frames(n: int = 2, shape: tuple[int, ...] = FRAMES, seed: int = 0) -> torch.Tensor:
    generator = torch.Generator().manual_seed(seed)
    return torch.randint(0, 256, (n, *shape), dtype=torch.uint8, generator=generator)


def _nature_q(**kwargs: Any) -> QNetwork:
    with seeded(0):
        return QNetwork(FRAMES, 4, [512], conv_layer_params=NATURE_CONV_LAYER_PARAMS, **kwargs)


# ----------------------------------------------------------------------------- size arithmetic
def test_nature_conv_output_is_7x7x64() -> None:
    # An unpadded convolution maps n pixels to (n - kernel) // stride + 1:
    #   84 → (84 - 8) // 4 + 1 = 20 → (20 - 4) // 2 + 1 = 9 → (9 - 3) // 1 + 1 = 7,
    # with 64 filters last: 7 · 7 · 64 = 3136 features into the 512-unit dense layer.
    assert conv_output_shape(FRAMES, NATURE_CONV_LAYER_PARAMS) == (64, 7, 7)
    cnn = NatureCNN(FRAMES)
    assert cnn.conv_output_shape == (64, 7, 7)
    assert cnn.out_features == 512
    assert cnn.convs(torch.zeros(1, *FRAMES)).shape == (1, 64, 7, 7)
    net = _nature_q()
    assert net.torso is not None and net.torso.out_features == 3136  # no dense layer in the torso
    first = net.body[0]
    assert isinstance(first, nn.Linear) and (first.in_features, first.out_features) == (3136, 512)


def test_custom_conv_and_fc_params() -> None:
    # 36 → (36 - 4) // 2 + 1 = 17 → (17 - 3) // 2 + 1 = 8; 8 · 8 · 32 = 2048 conv features.
    layers = [(16, 4, 2), (32, 3, 2)]
    assert conv_output_shape((3, 36, 36), layers) == (32, 8, 8)
    cnn = NatureCNN((3, 36, 36), layers, [64, 16])
    widths = [m.out_features for m in cnn.fc if isinstance(m, nn.Linear)]
    assert cnn.fc[0].in_features == 2048 and widths == [64, 16]
    assert cnn(_frames(5, (3, 36, 36))).shape == (5, 16)
    # Non-square frames: each side follows its own arithmetic, 36x20 → 17x9 → 8x4.
    assert conv_output_shape((1, 36, 20), layers) == (32, 8, 4)
    # No dense layers at all: the head sits on the 2048 flattened conv features.
    net = QNetwork((3, 36, 36), 6, [], conv_layer_params=layers, dueling="max")
    assert len(net.body) == 0 and isinstance(net.head, nn.Linear)
    assert net.head.in_features == 2048
    assert net(_frames(2, (3, 36, 36))).shape == (2, 6)


# ----------------------------------------------------------------------------- scaling inside
def test_uint8_frames_are_divided_by_255_inside() -> None:
    net = _nature_q()
    assert net.torso is not None
    x = _frames()
    features = net.torso.convs(x.float() / 255.0).flatten(1)  # [2, 3136], scaled by hand
    torch.testing.assert_close(net.torso(x), features)
    torch.testing.assert_close(net(x), net.head(net.body(features)))
    # The same weights fed already-scaled floats with input_scale=1 give the same Q-values.
    unscaled = QNetwork(FRAMES, 4, [512], conv_layer_params=NATURE_CONV_LAYER_PARAMS, input_scale=1)
    unscaled.load_state_dict(net.state_dict())
    torch.testing.assert_close(unscaled(x.float() / 255.0), net(x))


def test_float_input_is_not_modified_in_place() -> None:
    cnn = NatureCNN((1, 36, 36), [(4, 4, 2)], [])
    x = _frames(2, (1, 36, 36)).float()
    before = x.clone()
    cnn(x)
    assert torch.equal(x, before)


def test_wrong_frame_shape_names_the_expected_one() -> None:
    with pytest.raises(ValueError, match=r"expected observations of shape \[B, 4, 84, 84\]"):
        NatureCNN(FRAMES)(torch.zeros(2, 84, 84, 4, dtype=torch.uint8))  # channels last


# ----------------------------------------------------------------------------- heads on images
@pytest.mark.parametrize(
    "heads",
    [{}, {"dueling": "mean"}, {"dueling": "max"}, {"noisy": True},
     {"atoms": 51, "v_min": -10.0, "v_max": 10.0},
     {"dueling": "mean", "noisy": True, "atoms": 11}],
)  # fmt: skip
def test_every_head_plugs_onto_the_cnn(heads: dict[str, Any]) -> None:
    net = _nature_q(**heads)
    x = _frames()  # [2, 4, 84, 84] uint8
    net.reset_noise(torch.Generator().manual_seed(0))
    q = net(x)
    assert q.shape == (2, 4) and q.dtype == torch.float32
    assert torch.isfinite(q).all()
    if net.atoms > 1:
        assert net.logits(x).shape == (2, 4, net.atoms)
        assert net.log_probs(x).exp().sum(-1).detach().numpy() == pytest.approx(np.ones((2, 4)))
    q.sum().backward()
    assert net.torso is not None
    conv = net.torso.convs[0]
    assert isinstance(conv, nn.Conv2d) and conv.weight.grad is not None
    assert conv.weight.grad.abs().sum() > 0


def test_noisy_cnn_makes_every_dense_layer_noisy() -> None:
    # On images the convolutions are Rainbow's noise-free encoder: the 512 layer is noisy too.
    net = _nature_q(noisy=True, dueling="mean")
    assert isinstance(net.body[0], NoisyLinear)
    assert isinstance(net.head, NoisyLinear) and isinstance(net.value, NoisyLinear)
    assert not any(isinstance(m, NoisyLinear) for m in net.torso.modules())  # type: ignore[union-attr]


def test_cnn_never_takes_the_numpy_paths() -> None:
    net = _nature_q()
    assert net.is_conv and not net.is_plain_mlp
    assert net.numpy_q(_frames().numpy()) is None
    assert not QNetwork(4, 2, [8]).is_conv


def test_cnn_deep_copies_and_pickles() -> None:
    net = _nature_q(dueling="mean")
    x = _frames()
    for clone in (copy.deepcopy(net), pickle.loads(pickle.dumps(net))):
        torch.testing.assert_close(clone(x), net(x))


@pytest.mark.parametrize("init", ["torch", "glorot", "orthogonal"])
def test_init_choices(init: Any) -> None:
    # torch: PyTorch's default (Kaiming-uniform weights, uniform biases); the others zero biases.
    cnn = NatureCNN(FRAMES, init=init)
    convs = [m for m in cnn.convs if isinstance(m, nn.Conv2d)]
    biases = torch.cat([m.bias for m in convs if m.bias is not None])
    assert (biases.abs().sum() > 0) == (init == "torch")
    if init == "orthogonal":  # rows of the flattened kernel are orthogonal, scaled by sqrt(2)
        w = convs[0].weight.reshape(32, -1)  # [32, 4·8·8]
        torch.testing.assert_close(w @ w.T, 2.0 * torch.eye(32), atol=1e-4, rtol=1e-4)


def test_image_spaces() -> None:
    assert is_image_space(gym.spaces.Box(0, 255, FRAMES, np.uint8))
    assert not is_image_space(gym.spaces.Box(0.0, 1.0, FRAMES, np.float32))
    assert not is_image_space(gym.spaces.Box(0, 255, (84, 84), np.uint8))
    assert not is_image_space(gym.spaces.Discrete(3))


# ----------------------------------------------------------------------------- bad configs
def test_conv_params_that_shrink_the_image_below_one_pixel() -> None:
    # 32 → (32 - 8) // 4 + 1 = 7 → (7 - 4) // 2 + 1 = 2: the third layer's 3x3 kernel does not fit.
    message = r"conv_layer_params\[2\] = \[64, 3, 1\] has a 3x3 kernel but its input is only 2x2"
    with pytest.raises(ConfigError, match=message):
        NatureCNN((4, 32, 32))
    with pytest.raises(ConfigError, match=r"observation shape \(4, 32, 32\)"):
        QNetwork((4, 32, 32), 4, [512], conv_layer_params=NATURE_CONV_LAYER_PARAMS)
    # Raw channels-last Atari frames (210, 160, 3): the message says which layout is expected.
    with pytest.raises(ConfigError, match=r"only 160x3 pixels.*looks channels-last"):
        NatureCNN((210, 160, 3))


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"conv_layer_params": [(32, 8)]}, r"conv_layer_params\[0\] must be .* got \[32, 8\]"),
        ({"conv_layer_params": [(32, 8, 4), (64, 0, 1)]}, r"conv_layer_params\[1\].*\[64, 0, 1\]"),
        ({"fc_layer_params": [512, 0]}, r"fc_layer_params must hold widths >= 1, got \[512, 0\]"),
        ({"activation": "swish"}, r"activation must be one of .* got 'swish'"),
        ({"input_scale": 0.0}, r"input_scale must be a positive number, got 0.0"),
    ],
)
def test_bad_torso_arguments_are_named(kwargs: dict[str, Any], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        NatureCNN(FRAMES, **kwargs)


def test_conv_torso_needs_an_image_shape() -> None:
    with pytest.raises(ConfigError, match=r"\(channels, height, width\), got \(4,\)"):
        QNetwork(4, 2, [8], conv_layer_params=[(8, 2, 1)])
    with pytest.raises(ConfigError, match="hidden_sizes must be non-empty"):
        QNetwork(4, 2, [])  # an MLP needs a hidden layer; only a conv torso may go without
