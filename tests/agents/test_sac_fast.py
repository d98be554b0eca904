"""SAC's hand-written gradients (sac_fast.NumpySACLearner) against the autograd path."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
import torch
from torch import nn

import rlworks as rw
from rlworks.agents import SAC, SACConfig
from rlworks.agents.sac_fast import NumpySACLearner
from rlworks.buffers import ReplayBatch
from rlworks.config import config_from_dict
from rlworks.nets.squashed import LOG_STD_MAX
from rlworks.optim import FlatAdam

SMALL = {"hidden_sizes": [64, 64], "batch_size": 64, "buffer_size": 2000, "learning_starts": 0}

CASES = [
    # Pendulum: 1-D actions; LunarLanderContinuous: 2-D actions.
    ("Pendulum-v1", {}),
    ("Pendulum-v1", {"ent_coef": 0.2}),
    ("LunarLanderContinuous-v3", {}),
    (
        "LunarLanderContinuous-v3",
        {"ent_coef": 0.05, "activation": "tanh", "n_critics": 3, "hidden_sizes": [32, 48, 24]},
    ),
]
IDS = ["pendulum-auto", "pendulum-fixed", "lunar-2d-auto", "lunar-2d-fixed-tanh-3-critics"]


def _pair(env_id: str, settings: dict[str, Any], seed: int = 0) -> tuple[SAC, SAC]:
    """Two identical agents: the first uses the fast learner, the second autograd."""

    def make() -> SAC:
        env = rw.make_env(env_id, n_envs=1, seed=seed)
        config = config_from_dict(SACConfig, {**SMALL, **settings})
        return SAC(env, config, seed=seed, device="cpu")

    fast, reference = make(), make()
    assert fast.fast_learner is not None
    reference.fast_learner = None
    return fast, reference


def _batch(agent: SAC, size: int, *, push_log_std: bool = False) -> ReplayBatch:
    """``size`` transitions collected with ``agent``'s exploring policy (a third of them
    terminated, so some targets do not bootstrap)."""
    rw.training.Driver(agent.env, agent.collect_policy, agent.observers).run(num_steps=size)
    batch = agent.buffer.gather(np.arange(size))
    discounts = np.where(np.arange(size) % 3 == 0, 0.0, batch.discounts).astype(np.float32)
    return batch._replace(discounts=discounts)


def _record_steps(agent: SAC) -> dict[str, list[torch.Tensor]]:
    """Record each optimizer's gradient when it steps."""
    seen: dict[str, list[torch.Tensor]] = {"alpha": [], "critic": [], "actor": []}

    def wrap(name: str, optimizer: FlatAdam) -> None:
        inner = optimizer.step

        def step() -> None:
            assert optimizer.param.grad is not None
            seen[name].append(optimizer.param.grad.detach().clone())
            inner()

        optimizer.step = step  # type: ignore[method-assign]

    wrap("alpha", agent.alpha_optimizer)
    wrap("critic", agent.critic_optimizer)
    wrap("actor", agent.actor_optimizer)
    return seen


def _params(agent: SAC) -> dict[str, torch.Tensor]:
    return {
        "actor": agent.actor_flat.param.detach().clone(),
        "critic": agent.critic_flat.param.detach().clone(),
        "target": agent.target_flat.param.detach().clone(),
        "log_alpha": agent.log_alpha.detach().clone(),
    }


def _push_log_std(agent: SAC) -> None:
    """Move the log-std outputs' biases up so that some rows pass the clamp at LOG_STD_MAX."""
    head = agent.actor.body[-1]
    assert isinstance(head, nn.Linear)
    with torch.no_grad():
        head.bias[agent.action_dim :] += LOG_STD_MAX


@pytest.mark.parametrize(("env_id", "settings"), CASES, ids=IDS)
@pytest.mark.parametrize("clamped", [False, True], ids=["", "clamped"])
def test_one_update_matches_autograd(env_id: str, settings: dict[str, Any], clamped: bool) -> None:
    fast, reference = _pair(env_id, settings)
    if clamped:
        _push_log_std(fast)
        _push_log_std(reference)
    batch = _batch(fast, 64)
    seen_fast, seen_ref = _record_steps(fast), _record_steps(reference)
    info_fast, info_ref = fast.update(batch), reference.update(batch)
    # losses and diagnostics
    assert info_fast.keys() == info_ref.keys()
    for key, value in info_ref.items():
        assert info_fast[key] == pytest.approx(value, rel=1e-5, abs=1e-5), key
    # gradients, as each optimizer saw them (no α step with a fixed coefficient)
    auto = settings.get("ent_coef", "auto") == "auto"
    assert len(seen_fast["alpha"]) == len(seen_ref["alpha"]) == int(auto)
    for name in ("alpha", "critic", "actor"):
        for got, want in zip(seen_fast[name], seen_ref[name], strict=True):
            scale = float(want.abs().max())
            torch.testing.assert_close(got, want, rtol=1e-5, atol=1e-5 * max(scale, 1.0))
    if clamped:  # the clamp cut some log-std gradients: both paths agree on which
        out = fast.actor(torch.from_numpy(np.asarray(batch.obs, np.float32)))[1]
        assert bool((out == LOG_STD_MAX).any())
    # the parameters after the whole update, and the noise stream both consumed
    after_fast, after_ref = _params(fast), _params(reference)
    for name, want in after_ref.items():
        torch.testing.assert_close(after_fast[name], want, rtol=1e-5, atol=1e-6, msg=name)
    assert torch.equal(fast.noise_rng.get_state(), reference.noise_rng.get_state())


@pytest.mark.parametrize(("env_id", "settings"), CASES[::2], ids=IDS[::2])
def test_updates_from_the_buffer_take_the_steps_autograd_takes(
    env_id: str, settings: dict[str, Any]
) -> None:
    fast, reference = _pair(env_id, settings)
    for agent in (fast, reference):
        _batch(agent, 200)  # the same transitions: the same seeds and the same random actions
    for _ in range(2):
        info_fast, info_ref = fast.update(4), reference.update(4)
        for key, value in info_ref.items():
            assert info_fast[key] == pytest.approx(value, rel=1e-4, abs=1e-5), key
    assert fast.gradient_steps == reference.gradient_steps == 8
    after_fast, after_ref = _params(fast), _params(reference)
    for name, want in after_ref.items():
        torch.testing.assert_close(after_fast[name], want, rtol=1e-4, atol=1e-5, msg=name)


def test_the_fast_learner_is_used_only_where_it_applies() -> None:
    env = rw.make_env("Pendulum-v1", n_envs=1, seed=0)
    agent = SAC(env, config_from_dict(SACConfig, SMALL), device="cpu")
    assert agent.fast_learner is not None
    assert NumpySACLearner.supports(agent.actor, agent.critic, agent.critic_target)
    elu = nn.Sequential(nn.Linear(3, 8), nn.ELU(), nn.Linear(8, 2))
    with torch.no_grad():
        actor = type(agent.actor)(3, 1, [8])
    actor.body = elu
    assert not NumpySACLearner.supports(actor, agent.critic, agent.critic_target)
    doubled: Callable[[nn.Module], nn.Module] = lambda m: m.double()  # noqa: E731
    assert not NumpySACLearner.supports(
        doubled(type(agent.actor)(3, 1, [8])),  # type: ignore[arg-type]
        agent.critic,
        agent.critic_target,
    )


def test_other_batch_sizes_reallocate() -> None:
    fast, reference = _pair("Pendulum-v1", {})
    for size in (64, 40):
        batch = _batch(fast, size)
        info_fast, info_ref = fast.update(batch), reference.update(batch)
        assert info_fast["critic_loss"] == pytest.approx(info_ref["critic_loss"], rel=1e-4)


@pytest.mark.parametrize("env_id", ["Pendulum-v1", "LunarLanderContinuous-v3"])
def test_acting_on_one_observation_matches_the_numpy_policy(env_id: str) -> None:
    fast, _ = _pair(env_id, {})
    assert fast.fast_learner is not None
    dims = fast.fast_learner.obs_dim
    obs = np.random.default_rng(0).normal(size=(1, dims)).astype(np.float32)
    np.testing.assert_array_equal(
        fast.fast_learner.act_one(obs, None), fast.actor.numpy_act(obs, None)
    )
    sampled = fast.fast_learner.act_one(obs, np.random.default_rng(5))
    np.testing.assert_array_equal(sampled, fast.actor.numpy_act(obs, np.random.default_rng(5)))
