"""A2C: the exact loss, bad input refused, discrete and continuous runs, checkpoints and the
command line."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pytest
import torch

import rlworks as rw
from rlworks.agents import A2C, A2CConfig
from rlworks.agents.a2c import a2c_loss
from rlworks.config import config_from_dict
from rlworks.errors import ConfigError


def test_loss_exact_values_and_constant_targets() -> None:
    log_probs = torch.tensor([-0.5, -1.0], requires_grad=True)
    advantages = torch.tensor([2.0, -1.0], requires_grad=True)
    values = torch.tensor([1.0, 3.0], requires_grad=True)
    returns = torch.tensor([3.0, 2.0], requires_grad=True)
    entropy = torch.tensor([0.6, 0.4])
    loss, info = a2c_loss(log_probs, advantages, values, returns, entropy, vf_coef=0.5,
                          ent_coef=0.1)  # fmt: skip
    # policy: -mean(2 * -0.5, -1 * -1.0) = -mean(-1, 1) = 0
    # value: mean((3 - 1)², (2 - 3)²) = mean(4, 1) = 2.5
    # entropy: mean(0.6, 0.4) = 0.5
    # total: 0 + 0.5 * 2.5 - 0.1 * 0.5 = 1.2
    assert float(info["policy_loss"]) == 0.0
    assert float(info["value_loss"]) == 2.5
    assert math.isclose(float(loss.detach()), 1.2, rel_tol=1e-6)
    loss.backward()
    assert advantages.grad is None and returns.grad is None
    # d/d log π = -A / 2 = [-1, 0.5];  d/dV = 0.5 * 2 (V - G) / 2 = [-1, 0.5]
    assert log_probs.grad is not None and values.grad is not None
    np.testing.assert_allclose(log_probs.grad.numpy(), [-1.0, 0.5])
    np.testing.assert_allclose(values.grad.numpy(), [-1.0, 0.5])


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        ({"n_steps": 0}, "n_steps must be >= 1, got 0"),
        ({"gamma": -0.1}, r"gamma must be in \[0, 1\], got -0.1"),
        ({"learning_rate": 0}, "learning_rate must be a positive number, got 0"),
        ({"vf_coef": -1}, "vf_coef must be >= 0, got -1"),
        ({"optimizer": "sgd"}, "optimizer must be one of 'rmsprop', 'adam'"),
    ],
)
def test_config_errors_name_the_key(settings: dict[str, Any], message: str) -> None:
    with pytest.raises(ConfigError, match=f"^a2c.yaml: {message}"):
        config_from_dict(A2CConfig, settings, source="a2c.yaml")


@pytest.mark.parametrize(
    ("env_id", "optimizer"), [("CartPole-v1", "rmsprop"), ("Pendulum-v1", "adam")]
)
def test_runs_on_discrete_and_continuous_actions_and_round_trips(
    env_id: str, optimizer: str, tmp_path: Any
) -> None:
    config = A2CConfig(n_steps=8, gae_lambda=0.9, ent_coef=0.01, normalize_advantages=True,
                       optimizer=optimizer, anneal_lr=True, anneal_steps=1000,
                       actor_hidden_sizes=[16], critic_hidden_sizes=[16])  # type: ignore[arg-type]  # fmt: skip

    def run() -> A2C:
        agent = A2C(rw.make_env(env_id, n_envs=4, seed=2), config, seed=2, device="cpu")
        result = agent.learn(300, eval_every=0, eval_episodes=1, progress=False)
        assert result.steps >= 300 and math.isfinite(result.eval_mean)
        return agent

    a, b = run(), run()
    for pa, pb in zip(a.net.parameters(), b.net.parameters(), strict=True):
        assert torch.equal(pa, pb)
    a.save(tmp_path / "a2c.pt")
    loaded = rw.load(tmp_path / "a2c.pt")
    assert isinstance(loaded, A2C) and loaded.updates == a.updates >= 9
    obs = np.random.default_rng(0).normal(size=(8, *a.observation_space.shape)).astype(np.float32)
    np.testing.assert_array_equal(loaded.act(obs, explore=False), a.act(obs, explore=False))


def test_train_from_the_command_line_with_the_default_preset(cli: Any, tmp_path: Any) -> None:
    result = cli("train", "a2c", "CartPole-v1", "--steps", "400", "--eval-episodes", "2",
                 "--run-dir", str(tmp_path / "run"), "--quiet", "--json")  # fmt: skip
    assert result.code == 0, result.err
    assert result.json["algo"] == "a2c" and result.json["steps"] >= 400
    assert "optimizer: rmsprop" in (tmp_path / "run" / "config.yaml").read_text()
