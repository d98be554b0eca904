"""The SAC agent: losses on hand numbers, acting, bad input, checkpoints, CLI, learning."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np
import pytest
import torch

import rlworks as rw
from rlworks.agents import SAC, SACConfig
from rlworks.agents.sac import sac_actor_loss, sac_alpha_loss, sac_critic_loss, sac_critic_targets
from rlworks.buffers import ReplayBuffer
from rlworks.config import config_from_dict, find_preset, load_yaml
from rlworks.errors import ConfigError, NonFiniteError, SpaceMismatchError

TINY = {"hidden_sizes": [16, 16], "buffer_size": 1000, "batch_size": 16, "learning_starts": 50}


def make(seed: int = 0, n_envs: int = 1, **settings: Any) -> SAC:
    env = rw.make_env("Pendulum-v1", n_envs=n_envs, seed=seed)
    return SAC(env, config_from_dict(SACConfig, {**TINY, **settings}), seed=seed, device="cpu")


# ----------------------------------------------------------------------------- losses
def test_critic_targets_bootstrap_through_truncation_but_not_termination() -> None:
    # Three transitions through the replay buffer (γ = 0.9): a plain step, a truncated one and a
    # terminated one; the buffer's discounts are γ (1 - terminated) = [0.9, 0.9, 0].
    buffer = ReplayBuffer(10, (1,), np.float32, (1,), np.float32, gamma=0.9)
    for term, trunc in ((False, False), (False, True), (True, False)):
        buffer.add([[0.0]], [[0.0]], [0.0], [[1.0]], [term], [trunc])
    discounts = torch.from_numpy(buffer.gather([0, 1, 2]).discounts)
    torch.testing.assert_close(discounts, torch.tensor([0.9, 0.9, 0.0]))
    rewards = torch.tensor([1.0, -0.5, 2.0])
    next_q = torch.tensor([[3.0, 1.0, 5.0], [2.0, 4.0, 6.0]])  # min over critics: [2, 1, 5]
    next_log_prob = torch.tensor([-1.0, 0.5, 2.0])
    # soft values min Q' - α log π with α = 0.2: [2 + 0.2, 1 - 0.1, 5 - 0.4] = [2.2, 0.9, 4.6]
    # y = r + discount · soft value: [1 + 0.9·2.2, -0.5 + 0.9·0.9, 2 + 0] = [2.98, 0.31, 2.0]
    targets = sac_critic_targets(rewards, discounts, next_q, next_log_prob, 0.2)
    torch.testing.assert_close(targets, torch.tensor([2.98, 0.31, 2.0]))


def test_critic_loss_sums_half_mean_squared_errors_over_critics() -> None:
    # critic 1 errors [2-1, 2-2] = [1, 0]: mean square 0.5; critic 2 [1-1, 4-2] = [0, 2]: 2
    # loss = ½ (0.5 + 2) = 1.25
    q = torch.tensor([[2.0, 2.0], [1.0, 4.0]], requires_grad=True)
    loss, info = sac_critic_loss(q, torch.tensor([1.0, 2.0]))
    assert float(loss.detach()) == pytest.approx(1.25)
    assert float(info["q_mean"]) == pytest.approx(2.25)
    torch.testing.assert_close(info["td_errors"], torch.tensor([[1.0, 0.0], [0.0, 2.0]]))
    loss.backward()  # type: ignore[no-untyped-call]
    # d loss / d q_ib = (q_ib - y_b) / B: [[0.5, 0], [0, 1]]
    torch.testing.assert_close(q.grad, torch.tensor([[0.5, 0.0], [0.0, 1.0]]))


def test_actor_loss_uses_the_smaller_critic() -> None:
    # min Q = [2, 1]; α log π = 0.5 · [-1, 0.5] = [-0.5, 0.25]
    # loss = mean([-0.5 - 2, 0.25 - 1]) = mean([-2.5, -0.75]) = -1.625; entropy = -mean(logp)
    log_prob = torch.tensor([-1.0, 0.5])
    loss, info = sac_actor_loss(log_prob, torch.tensor([[3.0, 1.0], [2.0, 4.0]]), 0.5)
    assert float(loss) == pytest.approx(-1.625)
    assert float(info["entropy"]) == pytest.approx(0.25)


def test_alpha_loss_lowers_alpha_when_the_entropy_is_above_target() -> None:
    # log α = log 2; log π + H̄ = [-0.5 - 1, -1.5 - 1] = [-1.5, -2.5], mean -2
    # loss = -log 2 · (-2) = 2 log 2 ≈ 1.3863; d loss / d log α = 2 > 0: descent lowers α,
    # as it should while the entropy -mean log π = 1 is above the target -1.
    log_alpha = torch.tensor([math.log(2.0)], requires_grad=True)
    loss, info = sac_alpha_loss(log_alpha, torch.tensor([-0.5, -1.5]), -1.0)
    assert float(loss.detach()) == pytest.approx(2 * math.log(2.0))
    assert float(info["alpha"]) == pytest.approx(2.0)
    loss.backward()  # type: ignore[no-untyped-call]
    assert log_alpha.grad is not None and float(log_alpha.grad) == pytest.approx(2.0)


# ----------------------------------------------------------------------------- acting
def test_random_actions_before_learning_starts_then_the_policy() -> None:
    agent = make(learning_starts=100)
    obs = np.zeros((5000, 3), np.float32)
    uniform = agent.act(obs)  # Pendulum's torque bounds: [-2, 2]
    assert uniform.shape == (5000, 1) and uniform.dtype == np.float32
    assert uniform.min() >= -2 and uniform.max() <= 2 and uniform.std() == pytest.approx(
        4 / math.sqrt(12), rel=0.05
    )  # fmt: skip
    agent.progress.steps = 100
    greedy = agent.act(obs[:3], explore=False)
    np.testing.assert_array_equal(greedy, agent.act(obs[:3], explore=False))
    mean, _ = agent.actor(torch.zeros(1, 3))
    np.testing.assert_allclose(greedy[0], 2 * torch.tanh(mean).detach().numpy()[0], rtol=1e-5)
    assert not np.array_equal(agent.act(obs[:3]), agent.act(obs[:3]))  # sampled


def test_update_moves_every_network_and_alpha() -> None:
    agent = make(learning_starts=0)
    driver = rw.training.Driver(agent.env, agent.collect_policy, agent.observers)
    driver.run(num_steps=64)
    before = [p.detach().clone() for p in (agent.actor_flat.param, agent.critic_flat.param,
                                           agent.target_flat.param, agent.log_alpha)]  # fmt: skip
    info = agent.update(3)
    after = (agent.actor_flat.param, agent.critic_flat.param, agent.target_flat.param,
             agent.log_alpha)  # fmt: skip
    assert all(not torch.equal(a, b) for a, b in zip(before, after, strict=True))
    # the entropy of the initial policy (std ≈ 1) is above the target -1: α falls from 1
    assert agent.gradient_steps == 3 and agent.alpha < info["alpha"] < 1.0
    # target critics: 3 Polyak steps of τ = 0.005 from the same start stay close to the online
    assert torch.allclose(agent.target_flat.param, agent.critic_flat.param, atol=0.05)


def test_fixed_entropy_coefficient_stays_fixed() -> None:
    agent = make(ent_coef=0.1, learning_starts=0)
    rw.training.Driver(agent.env, agent.collect_policy, agent.observers).run(num_steps=40)
    agent.update(2)
    assert agent.alpha == pytest.approx(0.1)


# ----------------------------------------------------------------------------- runs
def test_smoke_same_seed_same_run_and_checkpoint_round_trip(tmp_path: Path) -> None:
    def run() -> SAC:
        agent = make(seed=3, n_envs=2)
        result = agent.learn(300, eval_every=0, eval_episodes=1, progress=False)
        assert result.steps >= 300 and math.isfinite(result.eval_mean)
        return agent

    a, b = run(), run()
    assert a.gradient_steps > 0
    assert torch.equal(a.actor_flat.param, b.actor_flat.param)
    assert torch.equal(a.critic_flat.param, b.critic_flat.param)
    a.save(tmp_path / "a.pt")
    loaded = rw.load(tmp_path / "a.pt")
    assert isinstance(loaded, SAC) and loaded.gradient_steps == a.gradient_steps
    obs = np.random.default_rng(0).normal(size=(16, 3)).astype(np.float32)
    np.testing.assert_array_equal(loaded.act(obs, explore=False), a.act(obs, explore=False))
    assert loaded.alpha == a.alpha and loaded.progress.steps == a.progress.steps
    # optimizer state and RNG came back: the same next update gives the same weights
    for agent in (a, loaded):
        agent.buffer = b.buffer
    a.update(2)
    loaded.update(2)
    assert torch.equal(a.actor_flat.param, loaded.actor_flat.param)
    assert torch.equal(a.critic_flat.param, loaded.critic_flat.param)


def test_nan_loss_stops_the_run(tmp_path: Path) -> None:
    agent = make(learning_starts=0, batch_size=8)
    for _ in range(20):  # a poisoned buffer: every reward is NaN
        agent.buffer.add(np.zeros((1, 3)), [[0.0]], [math.nan], np.zeros((1, 3)), [False], [False])
    with pytest.raises(NonFiniteError, match="non-finite SAC losses"):
        agent.learn(50, eval_every=0, run_dir=tmp_path / "run", progress=False)
    assert not list((tmp_path / "run").glob("checkpoints/*.pt"))


# ----------------------------------------------------------------------------- bad input
def test_discrete_actions_are_refused_with_a_suggestion() -> None:
    with pytest.raises(SpaceMismatchError) as info:
        SAC(rw.make_env("CartPole-v1", n_envs=1))
    message = str(info.value)
    assert "Discrete(2)" in message and "dqn or ppo" in message


class _UnboundedActions(gym.Env[np.ndarray, np.ndarray]):
    observation_space = gym.spaces.Box(-1.0, 1.0, (2,), np.float32)
    action_space = gym.spaces.Box(-np.inf, np.inf, (1,), np.float32)

    def reset(
        self, *, seed: int | None = None, options: dict[str, Any] | None = None
    ) -> tuple[np.ndarray, dict[str, Any]]:
        super().reset(seed=seed)
        return np.zeros(2, np.float32), {}

    def step(self, action: np.ndarray) -> tuple[np.ndarray, float, bool, bool, dict[str, Any]]:
        return np.zeros(2, np.float32), 0.0, False, False, {}


def test_unbounded_actions_are_refused_naming_the_bounds() -> None:
    env = gym.vector.SyncVectorEnv([_UnboundedActions])
    with pytest.raises(SpaceMismatchError, match=r"infinite bounds \(low=\[-inf\], high=\[inf\]\)"):
        SAC(env)


@pytest.mark.parametrize(
    ("settings", "message"),
    [({"batch_size": 64, "buffer_size": 32}, r"batch_size \(64\) must be <= buffer_size \(32\)"),
     ({"tau": 0.0}, r"tau must be in \(0, 1\]"),
     ({"gamma": 1.5}, r"gamma must be in \[0, 1\]"),
     ({"learning_rate": 0.0}, "learning_rate must be a positive number"),
     ({"ent_coef": "sometimes"}, "ent_coef must be 'auto' or a number > 0"),
     ({"ent_coef": -0.1}, "ent_coef must be 'auto' or a number > 0"),
     ({"target_entropy": "high"}, "target_entropy must be 'auto' or a number"),
     ({"learning_starts": -1}, "learning_starts must be >= 0"),
     ({"train_freq": 0}, "train_freq must be >= 1"),
     ({"target_update_interval": 0}, "target_update_interval must be >= 1"),
     ({"hidden_sizes": []}, "hidden_sizes must hold widths >= 1")],
)  # fmt: skip
def test_config_errors_name_the_key(settings: dict[str, Any], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        config_from_dict(SACConfig, settings)


# ----------------------------------------------------------------------------- presets, CLI
@pytest.mark.parametrize(
    ("env", "stem"),
    [("Pendulum-v1", "sac-pendulum"), ("LunarLanderContinuous-v3", "sac-lunarlander-continuous")],
)
def test_presets_are_found_and_valid(env: str, stem: str) -> None:
    path = find_preset(None, "sac", env)
    assert path is not None and path.stem == stem
    config_from_dict(SACConfig, load_yaml(path)["agent"])


def test_train_from_the_command_line(cli: Any, tmp_path: Path) -> None:
    result = cli("train", "sac", "Pendulum-v1", "--steps", "300", "--run-dir", str(tmp_path / "r"),
                 "--set", "hidden_sizes=[16, 16]", "--set", "batch_size=32",
                 "--eval-episodes", "1", "--quiet", "--json")  # fmt: skip
    assert result.code == 0, result.err
    assert result.json["algo"] == "sac" and result.json["steps"] >= 300


# ----------------------------------------------------------------------------- learning
@pytest.mark.slow
def test_pendulum_is_solved_within_20k_steps() -> None:
    data = load_yaml(find_preset(None, "sac", "Pendulum-v1"))  # type: ignore[arg-type]
    env = rw.make_env("Pendulum-v1", n_envs=1, seed=0)
    agent = SAC(env, config_from_dict(SACConfig, data["agent"]), seed=0, device="cpu")
    result = agent.learn(20_000, eval_every=1000, eval_episodes=10, target_return=-200,
                         progress=False)  # fmt: skip
    assert result.solved_at_step is not None, result
