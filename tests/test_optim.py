"""Optimizers by name, and FlatAdam against torch's Adam."""

from __future__ import annotations

import contextlib

import numpy as np
import pytest
import torch

from rlworks.errors import ConfigError
from rlworks.nets.flat import FlatParameters
from rlworks.optim import FlatAdam, flush_denormals, make_optimizer


def test_flat_adam_takes_torch_adams_steps() -> None:
    torch.manual_seed(0)
    flat = torch.nn.Parameter(torch.randn(1000))
    reference = torch.nn.Parameter(flat.detach().clone())
    ours = FlatAdam(flat, lr=0.01, eps=1e-7)
    theirs = torch.optim.Adam([reference], lr=0.01, eps=1e-7)
    for _ in range(20):
        grad = torch.randn(1000)
        flat.grad, reference.grad = grad.clone(), grad.clone()
        ours.step()
        theirs.step()
    torch.testing.assert_close(flat.detach(), reference.detach(), rtol=1e-6, atol=1e-7)
    state = ours.state_dict()
    again = FlatAdam(torch.nn.Parameter(flat.detach().clone()), lr=0.5)
    again.load_state_dict(state)
    assert again.steps == 20 and again.lr == 0.01
    torch.testing.assert_close(again.exp_avg_sq, ours.exp_avg_sq)


def test_flat_parameters_share_storage_and_clip_like_torch() -> None:
    torch.manual_seed(0)
    net = torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.ReLU(), torch.nn.Linear(4, 2))
    reference = torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.ReLU(), torch.nn.Linear(4, 2))
    reference.load_state_dict(net.state_dict())
    flat = FlatParameters(net)
    assert flat.param.numel() == 3 * 4 + 4 + 4 * 2 + 2  # 26
    x = torch.randn(5, 3)
    net(x).square().sum().backward()  # autograd accumulates into the flat gradient's views
    reference(x).square().sum().backward()
    expected = torch.nn.utils.clip_grad_norm_(reference.parameters(), 0.1)
    norm = flat.clip_grad_norm(0.1)
    assert norm == pytest.approx(float(expected), rel=1e-5)
    for p, q in zip(net.parameters(), reference.parameters(), strict=True):
        assert p.grad is not None and q.grad is not None
        torch.testing.assert_close(p.grad, q.grad)
    with torch.no_grad():
        flat.param.add_(1.0)  # the module sees the flat buffer
    torch.testing.assert_close(net[0].bias, reference[0].bias + 1.0)


def test_make_optimizer_refuses_bad_input() -> None:
    params = [torch.nn.Parameter(torch.zeros(2))]
    with pytest.raises(ConfigError, match="learning_rate must be > 0"):
        make_optimizer("adam", params, 0.0)
    with pytest.raises(ConfigError, match="optimizer must be one of"):
        make_optimizer("adagrad", params, 0.1)
    with pytest.raises(ConfigError, match="learning_rate must be > 0"):
        FlatAdam(params[0], lr=-1.0)


def test_flush_denormals_zeroes_subnormals_inside_the_block_only() -> None:
    tiny = torch.tensor([1e-38])  # a normal float32 (the smallest normal is 1.18e-38)
    assert (tiny / 100).item() > 0  # 1e-40: subnormal, kept by default
    with flush_denormals() as supported:
        if not supported:
            pytest.skip("this CPU cannot flush subnormals")
        assert (tiny / 100).item() == 0.0  # flushed to zero
        # NumPy in the same thread too: the mode is the CPU's, not torch's.
        assert float(np.float32(1e-38) / np.float32(100)) == 0.0
    assert (tiny / 100).item() > 0  # restored on exit


def test_flush_denormals_nests_and_zeroes_adams_decayed_moments() -> None:
    # After one nonzero gradient the first moment decays by 0.9 a step: subnormal after ~800.
    def decayed_moments(flush: bool) -> torch.Tensor:
        param = torch.zeros(10)
        param.grad = torch.ones(10)
        adam = FlatAdam(param, 1e-3)
        adam.step()
        param.grad.zero_()
        with flush_denormals() if flush else contextlib.nullcontext():
            for _ in range(850):
                adam.step()
        return adam.exp_avg

    kept = decayed_moments(flush=False)
    assert 0 < kept.abs().max().item() < 1.2e-38  # subnormal: the slow case
    with flush_denormals() as supported:
        if not supported:
            pytest.skip("this CPU cannot flush subnormals")
        assert decayed_moments(flush=True).abs().max().item() == 0.0
        # The inner block left the outer one's mode on.
        assert (torch.tensor([1e-38]) / 100).item() == 0.0
    assert (torch.tensor([1e-38]) / 100).item() > 0
