"""NumPy Adam: torch's Adam step for step, FlatAdam's state dict, subnormal moments flushed."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from rlworks.errors import CheckpointError
from rlworks.optim import FlatAdam
from rlworks.optim_numpy import NumpyAdam, clip_grad_norm


def test_steps_match_torch_adam() -> None:
    rng = np.random.default_rng(0)
    start = rng.standard_normal(50).astype(np.float32)
    param, grad = start.copy(), np.zeros(50, np.float32)
    ours = NumpyAdam(param, grad, 1e-2, eps=1e-5)
    reference = torch.nn.Parameter(torch.from_numpy(start.copy()))
    adam = torch.optim.Adam([reference], lr=1e-2, eps=1e-5)
    for _ in range(100):
        g = rng.standard_normal(50).astype(np.float32)
        grad[...] = g
        reference.grad = torch.from_numpy(g.copy())
        ours.step()
        adam.step()
    np.testing.assert_allclose(param, reference.detach().numpy(), rtol=1e-5, atol=1e-6)


def test_state_dict_loads_into_flat_adam_and_back() -> None:
    param, grad = np.ones(4, np.float32), np.full(4, 0.5, np.float32)
    ours = NumpyAdam(param, grad, 1e-3)
    ours.step()
    flat = FlatAdam(torch.nn.Parameter(torch.ones(4)), 1e-3)
    state = ours.state_dict()
    flat.load_state_dict({k: torch.from_numpy(v) if isinstance(v, np.ndarray) else v
                          for k, v in state.items()})  # fmt: skip
    assert flat.steps == 1 and flat.eps == ours.eps == 1e-7  # the same default epsilon
    np.testing.assert_array_equal(flat.exp_avg.numpy(), state["exp_avg"])
    back = NumpyAdam(np.ones(4, np.float32), np.zeros(4, np.float32), 1.0)
    back.load_state_dict(flat.state_dict())
    np.testing.assert_array_equal(back.exp_avg_sq, ours.exp_avg_sq)
    with pytest.raises(CheckpointError, match="moments of 4 and 4 values, this network has 3"):
        NumpyAdam(np.ones(3, np.float32), np.zeros(3, np.float32), 1.0).load_state_dict(state)


@pytest.mark.parametrize("flush_every", [32, 0])
def test_moments_of_zero_gradients_are_flushed_before_going_subnormal(flush_every: int) -> None:
    param, grad = np.zeros(3, np.float32), np.zeros(3, np.float32)
    adam = NumpyAdam(param, grad, 1e-3, flush_every=flush_every)
    adam.exp_avg[...] = [1e-37, 1e-3, 0.0]  # 1e-37 * 0.9^32 = 3.4e-39 < 1.2e-38: subnormal
    for _ in range(32):
        adam.step()
    if flush_every:
        assert adam.exp_avg[0] == 0.0 and adam.exp_avg[1] == pytest.approx(1e-3 * 0.9**32)
    else:
        assert 0.0 < adam.exp_avg[0] < np.finfo(np.float32).tiny


def test_clip_grad_norm_scales_as_torch() -> None:
    grad = np.array([3.0, 4.0], np.float32)
    assert clip_grad_norm(grad, 1.0) == 5.0
    np.testing.assert_allclose(grad, [3.0 / (5.0 + 1e-6), 4.0 / (5.0 + 1e-6)], rtol=1e-6)
    assert clip_grad_norm(grad, None) == pytest.approx(1.0, rel=1e-5)
