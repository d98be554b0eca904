"""The NumPy MLP: torch's initializations, autograd's gradient, torch's state-dict names."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from rlworks.errors import ConfigError
from rlworks.nets.mlp import mlp
from rlworks.nets.numpy_mlp import NumpyMLP, init_weights, mlp_sizes


@pytest.mark.parametrize("shape", [(64, 4), (4, 64), (32, 32)])
def test_orthogonal_weights_are_orthogonal_with_the_gain(shape: tuple[int, int]) -> None:
    weight, bias = np.empty(shape), np.ones(shape[0])
    init_weights(weight, bias, "orthogonal", 0.5, np.random.default_rng(0))
    small = min(shape)
    gram = weight.T @ weight if shape[0] >= shape[1] else weight @ weight.T  # [small, small]
    np.testing.assert_allclose(gram, 0.25 * np.eye(small), atol=1e-12)  # (W/0.5) orthonormal
    assert not bias.any()


@pytest.mark.parametrize(
    ("init", "weight_bound", "bias_bound"),
    [("glorot", math.sqrt(6 / (64 + 16)), 0.0), ("torch", 1 / math.sqrt(64), 1 / math.sqrt(64))],
)
def test_uniform_initializations_use_torchs_bounds(
    init: str, weight_bound: float, bias_bound: float
) -> None:
    weight, bias = np.empty((16, 64)), np.full(16, 7.0)  # (a bias left alone stays 7)
    init_weights(weight, bias, init, 1.0, np.random.default_rng(0))  # type: ignore[arg-type]
    assert 0.9 * weight_bound < np.abs(weight).max() <= weight_bound
    assert np.abs(bias).max() <= bias_bound and (bias_bound == 0) == (not bias.any())


@pytest.mark.parametrize(("activation", "hidden"), [("tanh", [64, 64]), ("relu", [8, 16, 8]),
                                                    ("tanh", [])])  # fmt: skip
def test_forward_and_backward_match_torch(activation: str, hidden: list[int]) -> None:
    torch.manual_seed(0)
    body = mlp(5, hidden, 3, activation=activation)
    size = sum(mlp_sizes(5, hidden, 3))
    params, grads = np.zeros(size, np.float32), np.zeros(size, np.float32)
    net = NumpyMLP(5, hidden, 3, activation, params, grads)
    state = body.state_dict()
    for name, view in net.named_parameters(""):
        view[...] = state[name].numpy()  # torch's names: "0.weight", "0.bias", "2.weight", ...
    assert [name for name, _ in net.named_parameters("")] == list(state)
    x = np.random.default_rng(1).standard_normal((7, 5)).astype(np.float32)
    upstream = np.random.default_rng(2).standard_normal((7, 3)).astype(np.float32)
    net.allocate(7)
    out = net.forward_array(x)
    net.backward_array(upstream, x)
    expected = body(torch.as_tensor(x))
    (expected * torch.as_tensor(upstream)).sum().backward()  # type: ignore[no-untyped-call]
    np.testing.assert_allclose(out, expected.detach().numpy(), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(net.predict(x), out, rtol=1e-6)
    # The flat gradient holds the parameters' gradients in the same order as the parameters.
    torch_grads = [p.grad.numpy().ravel() for p in body.parameters() if p.grad is not None]
    np.testing.assert_allclose(grads, np.concatenate(torch_grads), rtol=1e-5, atol=1e-6)


def test_bad_settings_are_refused() -> None:
    with pytest.raises(ConfigError, match="implement tanh and relu, not 'elu'"):
        NumpyMLP(4, [8], 2, "elu", np.zeros(58, np.float32), np.zeros(58, np.float32))
    with pytest.raises(ConfigError, match=r"needs grads of shape \(58,\), got \(57,\)"):
        NumpyMLP(4, [8], 2, "tanh", np.zeros(58, np.float32), np.zeros(57, np.float32))
