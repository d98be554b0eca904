"""Curiosity modules (RND, ICM), their statistics and their wiring into PPO and A2C."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

import gymnasium as gym
import numpy as np
import pytest
import torch

import rlworks as rw
from rlworks.agents.a2c import A2C, A2CConfig
from rlworks.agents.ppo import PPO, PPOConfig
from rlworks.config import config_from_dict
from rlworks.curiosity import (
    ICM,
    RND,
    CuriosityBatch,
    CuriosityConfig,
    RewardNormalizer,
    RolloutRecorder,
    RunningMeanStd,
    make_curiosity,
)
from rlworks.errors import ConfigError
from rlworks.types import Transition


def _batch(m: int = 32, obs_dim: int = 2, n_actions: int = 3, seed: int = 0) -> CuriosityBatch:
    gen = torch.Generator().manual_seed(seed)
    obs = torch.randn(m, obs_dim, generator=gen)
    next_obs = obs + 0.1 * torch.randn(m, obs_dim, generator=gen)
    actions = torch.randint(0, n_actions, (m,), generator=gen)
    return CuriosityBatch(obs, next_obs, actions)


# ----------------------------------------------------------------------------- statistics
def test_running_mean_std_matches_numpy_over_batches() -> None:
    data = np.random.default_rng(0).normal(3.0, 2.0, size=(100, 2))
    rms = RunningMeanStd((2,))
    for chunk in np.array_split(data, 7):
        rms.update(chunk)
    np.testing.assert_allclose(rms.mean, data.mean(axis=0))
    np.testing.assert_allclose(rms.var, data.var(axis=0))
    assert rms.count == 100


def test_running_mean_std_known_values_and_cap() -> None:
    rms = RunningMeanStd()
    rms.update(np.array([0.0, 2.0]))  # mean 1, var 1
    rms.update(np.array([4.0, 6.0]))  # all four: mean 3, var (9 + 1 + 1 + 9) / 4 = 5
    assert rms.mean == pytest.approx(3.0) and rms.var == pytest.approx(5.0)
    capped = RunningMeanStd(max_count=2)
    capped.update(np.zeros(10))
    capped.update(np.full(2, 4.0))  # the old 10 weigh as 2: mean (0·2 + 4·2) / 4 = 2
    assert capped.mean == pytest.approx(2.0)


def test_reward_normalizer_divides_by_std_of_discounted_returns() -> None:
    norm = RewardNormalizer(n_envs=1, gamma=0.5)
    rewards = np.array([[1.0], [1.0], [1.0]])
    valid = np.ones((3, 1), dtype=bool)
    out = norm(rewards, valid)
    # returns R: 1, 0.5·1 + 1 = 1.5, 0.5·1.5 + 1 = 1.75; var of (1, 1.5, 1.75) = 0.0972...
    returns = np.array([1.0, 1.5, 1.75])
    np.testing.assert_allclose(out[:, 0], 1.0 / np.sqrt(returns.var() + 1e-8))
    assert norm.returns[0] == pytest.approx(1.75)  # carried into the next rollout


def test_reward_normalizer_centers_with_gamma_zero() -> None:
    norm = RewardNormalizer(n_envs=2, gamma=0.0, center=True)
    rewards = np.array([[1.0, 3.0], [2.0, 6.0]])
    valid = np.array([[True, True], [True, False]])
    out = norm(rewards, valid)
    seen = np.array([1.0, 3.0, 2.0])  # γ = 0: the returns are the rewards themselves
    expected = (rewards - seen.mean()) / np.sqrt(seen.var() + 1e-8)
    np.testing.assert_allclose(out[valid], expected[valid])
    restored = RewardNormalizer(n_envs=2, gamma=0.0, center=True)
    restored.load_state_dict(norm.state_dict())
    assert restored.reward_rms.mean == pytest.approx(2.0)


def test_recorder_keeps_rows_per_env_and_terminal_next_obs() -> None:
    rec = RolloutRecorder(2, 3, (2,), (), np.int64)
    obs = np.arange(6, dtype=np.float32).reshape(3, 2)
    rec(Transition(obs, np.array([0, 1, 2]), np.zeros(3), obs + 10, np.array([False, True, False]),
                   np.zeros(3, bool), np.arange(3)))  # fmt: skip
    rec(Transition(obs[[0, 2]], np.array([1, 1]), np.zeros(2), obs[[0, 2]] + 20,
                   np.zeros(2, bool), np.zeros(2, bool), np.array([0, 2])))  # fmt: skip
    batch = rec.batch(torch.device("cpu"))
    assert batch.obs.shape == (5, 2)  # env 1 was only resetting on the second row
    assert batch.next_obs[1].tolist() == [12.0, 13.0]  # the terminal observation is kept
    assert batch.actions.tolist() == [0, 1, 2, 1, 1]


# ----------------------------------------------------------------------------- RND
def test_rnd_shapes_and_frozen_target() -> None:
    config = CuriosityConfig(hidden_sizes=[16, 16], feature_size=8)
    rnd = RND(obs_dim=2, config=config)
    x = torch.randn(5, 2)
    assert rnd.target(x).shape == (5, 8) and rnd.predictor(x).shape == (5, 8)
    assert not any(p.requires_grad for p in rnd.target.parameters())
    rewards = rnd.intrinsic_reward(_batch(5))
    assert rewards.shape == (5,) and (rewards >= 0).all()


def test_rnd_observation_statistics() -> None:
    rnd = RND(obs_dim=2, config=CuriosityConfig())
    batch = _batch(64)
    rnd.intrinsic_reward(batch)
    np.testing.assert_allclose(rnd.whiten.rms.mean, batch.next_obs.double().mean(0).numpy())
    whitened = rnd.whiten(batch.next_obs)
    assert whitened.mean(0).abs().max() < 1e-4
    assert whitened.abs().max() <= 5.0


def test_rnd_reward_falls_on_a_repeated_observation() -> None:
    torch.manual_seed(0)
    im = make_curiosity("rnd", 1.0, {"learning_rate": 1e-3}, _box(2), gym.spaces.Discrete(3),
                        n_steps=1, n_envs=8, seed=0, device=torch.device("cpu"))  # fmt: skip
    assert im is not None
    seen = _batch(8)
    before = im.module.intrinsic_reward(seen).mean().item()
    im._batch = seen
    for _ in range(100):
        im.train_step()
    after = im.module.intrinsic_reward(seen).mean().item()
    assert after < 0.1 * before


# ----------------------------------------------------------------------------- ICM
def test_icm_losses_and_shapes_discrete() -> None:
    icm = ICM(2, gym.spaces.Discrete(3), CuriosityConfig(hidden_sizes=[16], feature_size=8))
    batch = _batch(10)
    forward, inverse = icm.losses(batch)
    assert forward.shape == (10,) and inverse.shape == ()
    # the untrained inverse model is near uniform over the 3 actions: cross-entropy ≈ ln 3
    assert inverse.item() == pytest.approx(np.log(3), abs=0.5)
    loss, info = icm.loss(batch)
    assert loss.item() == pytest.approx(0.2 * info["forward_loss"] + 0.8 * info["inverse_loss"])
    assert icm.intrinsic_reward(batch).shape == (10,)


def test_icm_forward_loss_does_not_train_target_features() -> None:
    icm = ICM(2, gym.spaces.Discrete(3), CuriosityConfig(forward_weight=1.0))
    batch = _batch(10)
    icm.zero_grad()
    loss, _ = icm.loss(batch)  # β = 1: the forward loss only
    loss.backward()  # type: ignore[no-untyped-call]
    assert all(p.grad is None or p.grad.abs().sum() == 0 for p in icm.inverse_model.parameters())
    assert any(
        p.grad is not None and p.grad.abs().sum() > 0 for p in icm.forward_model.parameters()
    )


def test_icm_box_actions_and_learning() -> None:
    space = gym.spaces.Box(-1.0, 1.0, (2,), dtype=np.float32)
    im = make_curiosity("icm", 1.0, {}, _box(3), space, n_steps=1, n_envs=4, seed=0,
                        device=torch.device("cpu"))  # fmt: skip
    assert im is not None
    gen = torch.Generator().manual_seed(1)
    obs = torch.randn(16, 3, generator=gen)
    actions = torch.rand(16, 2, generator=gen) * 2 - 1
    im._batch = CuriosityBatch(obs, obs + 0.1 * actions.sum(1, keepdim=True), actions)
    first = im.train_step()
    for _ in range(100):
        last = im.train_step()
    assert last["icm_loss"] < first["icm_loss"]


# ----------------------------------------------------------------------------- wiring
def _box(dim: int) -> gym.spaces.Box:
    return gym.spaces.Box(-np.inf, np.inf, (dim,), dtype=np.float32)


def test_bad_curiosity_settings_name_the_key() -> None:
    with pytest.raises(ConfigError, match="curiosity"):
        config_from_dict(PPOConfig, {"curiosity": "novelty"})
    with pytest.raises(ConfigError, match="feature_size"):
        config_from_dict(PPOConfig, {"curiosity": "rnd", "curiosity_settings": {"feature_size": 0}})
    with pytest.raises(ConfigError, match="learning_rte"):
        config_from_dict(PPOConfig, {"curiosity_settings": {"learning_rte": 1e-3}})
    with pytest.raises(ConfigError, match="intrinsic_coef"):
        config_from_dict(A2CConfig, {"curiosity": "icm", "intrinsic_coef": -1.0})


@pytest.mark.parametrize("name", ["rnd", "icm"])
def test_ppo_with_curiosity_runs_logs_and_round_trips(
    name: Literal["rnd", "icm"], tmp_path: Path
) -> None:
    env = rw.make_env("MountainCar-v0", n_envs=4, seed=0)
    config = PPOConfig(n_steps=32, batch_size=64, n_epochs=2, curiosity=name)
    agent = PPO(env, config, seed=0, device="cpu")
    result = agent.learn(384, eval_every=0, eval_episodes=1, progress=False, run_dir=tmp_path)
    assert result.steps >= 384
    header = (tmp_path / "metrics.csv").read_text().splitlines()[0].split(",")
    assert "intrinsic_reward" in header
    path = agent.save(tmp_path / "agent.pt")
    loaded = PPO.load(path, rw.make_env("MountainCar-v0", n_envs=4, seed=0), device="cpu")
    assert loaded.curiosity is not None and agent.curiosity is not None
    for key, value in agent.curiosity.module.state_dict().items():
        torch.testing.assert_close(loaded.curiosity.module.state_dict()[key], value)
    assert loaded.curiosity.normalizer.rms.count == agent.curiosity.normalizer.rms.count
    whiten, loaded_whiten = agent.curiosity.module.whiten, loaded.curiosity.module.whiten
    assert whiten.rms.count > 0 and loaded_whiten.rms.count == whiten.rms.count
    np.testing.assert_array_equal(loaded_whiten.rms.var, whiten.rms.var)
    assert loaded.curiosity.optimizer.state_dict()["state"].keys() == (
        agent.curiosity.optimizer.state_dict()["state"].keys()
    )


def test_ppo_with_curiosity_is_deterministic_and_keeps_the_policy_init() -> None:
    def run(curiosity: Literal["none", "rnd"]) -> PPO:
        env = rw.make_env("MountainCar-v0", n_envs=2, seed=3)
        agent = PPO(env, PPOConfig(n_steps=16, batch_size=32, curiosity=curiosity), seed=3,
                    device="cpu")  # fmt: skip
        return agent

    plain, curious = run("none"), run("rnd")
    for a, b in zip(plain.net.parameters(), curious.net.parameters(), strict=True):
        torch.testing.assert_close(a, b)  # curiosity draws its weights from a seed of its own
    first, second = run("rnd"), run("rnd")
    first.learn(64, eval_every=0, eval_episodes=1, progress=False)
    second.learn(64, eval_every=0, eval_episodes=1, progress=False)
    for a, b in zip(first.net.parameters(), second.net.parameters(), strict=True):
        torch.testing.assert_close(a, b, rtol=0, atol=0)


def test_a2c_with_curiosity_runs_and_round_trips(tmp_path: Path) -> None:
    env = rw.make_env("MountainCar-v0", n_envs=4, seed=0)
    agent = A2C(env, A2CConfig(n_steps=8, curiosity="rnd"), seed=0, device="cpu")
    agent.learn(320, eval_every=0, eval_episodes=1, progress=False)
    assert agent.curiosity is not None
    path = agent.save(tmp_path / "a2c.pt")
    loaded = A2C.load(path, rw.make_env("MountainCar-v0", n_envs=4, seed=0), device="cpu")
    assert loaded.curiosity is not None
    assert loaded.curiosity.normalizer.rms.count == agent.curiosity.normalizer.rms.count
