"""The DQN agent: variants, schedules, the NumPy learner, bad input, checkpoints, learning."""

from __future__ import annotations

import copy
import math
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch

import rlworks as rw
from rlworks.agents import DQN, DQNConfig
from rlworks.agents.dqn.fast import BatchQ
from rlworks.config import config_from_dict, find_preset, load_yaml
from rlworks.errors import ConfigError, NonFiniteError, SpaceMismatchError
from rlworks.training.driver import Driver

TINY = {"hidden_sizes": [16, 16], "buffer_size": 500, "batch_size": 8, "learning_starts": 50}


def make(seed: int = 0, n_envs: int = 1, **settings: Any) -> DQN:
    env = rw.make_env("CartPole-v1", n_envs=n_envs, seed=seed)
    return DQN(env, config_from_dict(DQNConfig, {**TINY, **settings}), seed=seed, device="cpu")


def fill(agent: DQN, n: int, seed: int = 1) -> None:
    """Random CartPole-shaped transitions, about 5% of them terminal."""
    rng = np.random.default_rng(seed)
    obs = rng.standard_normal((n, 4)).astype(np.float32)
    for i in range(n):
        agent.buffer.add(obs[i : i + 1], [rng.integers(2)], [1.0], obs[i : i + 1] + 0.1,
                         [rng.random() < 0.05], [False], [0])  # fmt: skip


# ----------------------------------------------------------------------------- the NumPy learner
@pytest.mark.parametrize(
    "settings",
    [{}, {"double": True}, {"loss": "mse", "max_grad_norm": 0.01}, {"activation": "tanh"},
     {"prioritized": True}, {"max_grad_norm": None, "optimizer": "rmsprop"}],
)  # fmt: skip
def test_numpy_learner_takes_the_steps_autograd_takes(settings: dict[str, Any]) -> None:
    fast, reference = make(**settings), make(**settings)
    assert fast._numpy_learner is not None
    reference._numpy_learner = None  # the generic autograd path
    for agent in (fast, reference):
        fill(agent, 300)
    info_fast, info_ref = fast.update(6), reference.update(6)
    assert info_fast["loss"] == pytest.approx(info_ref["loss"], rel=1e-5)
    assert info_fast["grad_norm"] == pytest.approx(info_ref["grad_norm"], rel=1e-5)
    for a, b in zip(fast.q_net.parameters(), reference.q_net.parameters(), strict=True):
        torch.testing.assert_close(a, b, rtol=1e-5, atol=1e-6)


def test_numpy_learner_is_used_only_where_it_applies() -> None:
    assert make()._numpy_learner is not None
    for settings in ({"dueling": "mean"}, {"noisy": True}, {"distributional": True},
                     {"activation": "elu"}):  # fmt: skip
        assert make(**settings)._numpy_learner is None, settings


@pytest.mark.parametrize("activation", ["relu", "tanh"])
def test_batch_q_is_the_network_forward(activation: str) -> None:
    agent = make(activation=activation)
    forward = BatchQ(agent.target_net)
    obs = np.random.default_rng(0).standard_normal((300, 4)).astype(np.float32)
    with torch.no_grad():
        expected = agent.target_net(torch.from_numpy(obs)).numpy()
    np.testing.assert_allclose(forward(obs), expected, rtol=1e-5, atol=1e-6)
    # Weights copied into the network later are seen; another batch size reallocates.
    agent.target_net.load_state_dict(make(seed=5, activation=activation).q_net.state_dict())
    with torch.no_grad():
        expected = agent.target_net(torch.from_numpy(obs[:7])).numpy()
    np.testing.assert_allclose(forward(obs[:7]), expected, rtol=1e-5, atol=1e-6)
    with pytest.raises(ValueError, match="plain relu/tanh MLP"):
        BatchQ(make(dueling="mean").q_net)


def test_targets_follow_a_replaced_target_network() -> None:
    # _numpy_targets keeps a BatchQ per role; a new target_net object must get its own.
    fast, reference = make(double=True), make(double=True)
    reference._numpy_learner = None  # the generic autograd path
    for agent in (fast, reference):
        fill(agent, 300)
        agent.update(3)  # BatchQ made for the old target network
        agent.target_net = copy.deepcopy(agent.q_net).requires_grad_(False)
    info_fast, info_ref = fast.update(3), reference.update(3)
    assert info_fast["loss"] == pytest.approx(info_ref["loss"], rel=1e-5)
    for a, b in zip(fast.q_net.parameters(), reference.q_net.parameters(), strict=True):
        torch.testing.assert_close(a, b, rtol=1e-5, atol=1e-6)


# ----------------------------------------------------------------------------- variants run
@pytest.mark.parametrize(
    "settings",
    [{}, {"double": True}, {"dueling": "mean"}, {"dueling": "max"}, {"prioritized": True},
     {"n_step": 3}, {"distributional": True, "v_min": 0.0, "v_max": 50.0},
     {"noisy": True, "exploration_initial_eps": 0.0, "exploration_final_eps": 0.0},
     {"tau": 0.05, "target_update_period": 1}, {"loss": "mse", "optimizer": "nadam"},
     {"unit": "episodes", "learning_starts": 3, "train_freq": 1, "target_update_period": 5,
      "exploration_duration": 10, "keep_best": True},
     {"double": True, "prioritized": True, "dueling": "mean", "n_step": 3, "distributional": True,
      "noisy": True, "v_min": 0.0, "v_max": 50.0}],
)  # fmt: skip
def test_every_variant_trains_end_to_end(settings: dict[str, Any]) -> None:
    agent = make(n_envs=2, **settings)
    result = agent.learn(800, eval_every=0, eval_episodes=2, progress=False)
    assert result.steps >= 800 and math.isfinite(result.eval_mean)
    assert agent.gradient_steps > 0


def test_same_seed_same_run_and_checkpoint_round_trip(tmp_path: Path) -> None:
    def run() -> DQN:
        agent = make(seed=3, n_envs=2, train_freq=8, gradient_steps=2)
        agent.learn(1200, eval_every=0, eval_episodes=2, progress=False)
        return agent

    a, b = run(), run()
    for pa, pb in zip(a.q_net.parameters(), b.q_net.parameters(), strict=True):
        assert torch.equal(pa, pb)
    a.save(tmp_path / "a.pt")
    loaded = rw.load(tmp_path / "a.pt")
    assert isinstance(loaded, DQN) and loaded.gradient_steps == a.gradient_steps
    assert loaded.progress.steps == a.progress.steps
    obs = np.random.default_rng(0).normal(size=(64, 4)).astype(np.float32)
    np.testing.assert_array_equal(loaded.act(obs, explore=False), a.act(obs, explore=False))
    # the optimizer state came back too: one more step from the same batch is the same step
    fill(a, 100)
    fill(loaded, 100)
    batch = a.buffer.gather(np.arange(8))
    a.update(batch)
    loaded.update(batch)
    for pa, pb in zip(a.q_net.parameters(), loaded.q_net.parameters(), strict=True):
        assert torch.equal(pa, pb)


# ----------------------------------------------------------------------------- schedules
def test_target_network_is_copied_each_time_the_count_passes_a_period() -> None:
    agent = make(train_freq=10, target_update_period=25, learning_starts=0, gradient_steps=1)
    driver = Driver(agent.env, agent.collect_policy, agent.observers)
    agent.train_iteration(driver)  # steps 0 → 10: no multiple of 25 passed, then a gradient step
    online, target = agent.q_net.head.weight, agent.target_net.head.weight
    assert not torch.equal(online, target)
    agent.train_iteration(driver)  # 10 → 20
    assert not torch.equal(online, target)
    before = online.detach().clone()
    agent.train_iteration(driver)  # 20 → 30 passes 25: copied before this iteration's step
    assert torch.equal(target, before) and not torch.equal(online, target)


def test_soft_updates_move_the_target_tau_of_the_way_per_period() -> None:
    agent = make(tau=0.25, target_update_period=5, train_freq=10, learning_starts=10**6)
    driver = Driver(agent.env, agent.collect_policy, agent.observers)
    with torch.no_grad():
        agent.q_net.head.bias.fill_(1.0)
        agent.target_net.head.bias.fill_(0.0)
    agent.train_iteration(driver)  # 10 steps pass 2 periods: 0 → 0.25 → 0.25 + 0.75 · 0.25
    expected = 0.25 + 0.75 * 0.25  # 0.4375
    torch.testing.assert_close(agent.target_net.head.bias, torch.full((2,), expected))


@pytest.mark.parametrize("schedule", ["linear", "polynomial", "exponential"])
def test_exploration_schedules(schedule: str) -> None:
    # from 1 to 0.01 over 100 units; at 50: linear 1 - 0.99/2 = 0.505; polynomial (power 2)
    # 0.99 · 0.5² + 0.01 = 0.2575; exponential 1 · 0.01^(50/100) = 0.1
    agent = make(exploration_schedule=schedule, exploration_final_eps=0.01,
                 exploration_duration=100)  # fmt: skip
    agent.progress.steps = 50
    expected = {"linear": 0.505, "polynomial": 0.2575, "exponential": 0.1}[schedule]
    assert agent.epsilon == pytest.approx(expected)
    agent.progress.steps = 10_000
    assert agent.epsilon == pytest.approx(0.01)


def test_epsilon_greedy_explores_at_the_scheduled_rate() -> None:
    agent = make(exploration_initial_eps=0.5, exploration_final_eps=0.5)
    obs = np.zeros((20_000, 4), np.float32)
    greedy = agent.act(obs[:1], explore=False)[0]
    share = float(np.mean(agent.act(obs, explore=True) != greedy))
    assert share == pytest.approx(0.25, abs=0.02)  # half the rows random, half of those differ


def test_eval_epsilon_explores_from_a_generator_of_its_own() -> None:
    agent = make(eval_epsilon=0.5)
    obs = np.zeros((20_000, 4), np.float32)
    greedy = make().act(obs[:1], explore=False)[0]  # the same weights, eval_epsilon 0
    training_draws = agent.actor_rng.bit_generator.state
    share = float(np.mean(agent.act(obs, explore=False) != greedy))
    assert share == pytest.approx(0.25, abs=0.02)  # half the rows random, half of those differ
    assert agent.actor_rng.bit_generator.state == training_draws  # training's stream untouched


# ----------------------------------------------------------------------------- bad input
def test_continuous_actions_are_refused_with_a_suggestion() -> None:
    with pytest.raises(SpaceMismatchError) as info:
        DQN(rw.make_env("Pendulum-v1", n_envs=1))
    message = str(info.value)
    assert "Box(shape=(1,)" in message and "sac or ppo" in message and "discretize" in message


@pytest.mark.parametrize(
    ("settings", "message"),
    [({"batch_size": 64, "buffer_size": 32}, "batch_size (64) must be <= buffer_size (32)"),
     ({"n_step": 0}, "n_step must be an integer in [1, 255], got 0"),
     ({"tau": 0.0}, "tau must be in (0, 1]"),
     ({"distributional": True, "v_min": 1.0, "v_max": 1.0}, "v_min (1.0) must be < v_max"),
     ({"gamma": 1.5}, "gamma must be in [0, 1]")],
)  # fmt: skip
def test_config_errors_name_the_key(settings: dict[str, Any], message: str) -> None:
    with pytest.raises(ConfigError, match=message.replace("(", r"\(").replace(")", r"\)")
                       .replace("[", r"\[").replace("]", r"\]")):  # fmt: skip
        config_from_dict(DQNConfig, settings)


def test_a_buffer_larger_than_free_memory_is_refused_before_allocating() -> None:
    with pytest.raises(ConfigError, match=r"needs \d+ bytes .* but only \d+ bytes"):
        make(buffer_size=10**13)


def test_nan_loss_stops_the_run_and_writes_no_checkpoint(tmp_path: Path) -> None:
    agent = make(learning_starts=0, train_freq=20)
    rng = np.random.default_rng(0)
    for _ in range(20):  # a poisoned buffer: every reward is NaN
        obs = rng.standard_normal((1, 4)).astype(np.float32)
        agent.buffer.add(obs, [0], [math.nan], obs, [False], [False], [0])
    with pytest.raises(NonFiniteError, match="non-finite DQN loss at gradient step"):
        agent.learn(200, eval_every=0, run_dir=tmp_path / "run", progress=False)
    assert not list((tmp_path / "run").glob("checkpoints/*.pt"))


# ----------------------------------------------------------------------------- command line
def test_train_eval_and_resume_from_the_command_line(cli: Any, tmp_path: Path) -> None:
    run_dir = tmp_path / "run"
    settings = ["--set", "hidden_sizes=[16, 16]", "--set", "learning_starts=100",
                "--eval-episodes", "2", "--quiet"]  # fmt: skip
    result = cli("train", "dqn", "CartPole-v1", "--steps", "1500", "--run-dir", str(run_dir),
                 "--set", "train.target_return=null", *settings, "--json")  # fmt: skip
    assert result.code == 0, result.err
    assert result.json["algo"] == "dqn" and result.json["steps"] >= 1500
    assert cli("train", "--resume", str(run_dir), "--steps", "3000", "--quiet").code == 0
    evaluation = cli("eval", str(run_dir), "--episodes", "3", "--json")
    assert evaluation.code == 0 and evaluation.json["episodes"] == 3


def test_bad_input_from_the_command_line(cli: Any) -> None:
    result = cli("train", "dqn", "Pendulum-v1")
    assert result.code == 2 and "sac or ppo" in result.err
    result = cli("train", "dqn", "CartPole-v1", "--set", "batch_size=100", "--set",
                 "buffer_size=50")  # fmt: skip
    assert result.code == 2 and "batch_size (100) must be <= buffer_size (50)" in result.err


# ----------------------------------------------------------------------------- learning
@pytest.mark.slow
@pytest.mark.parametrize("preset", ["dqn-cartpole", "double", "dueling", "prioritized", "rainbow"])
def test_presets_solve_cartpole_within_50k_steps(cli: Any, tmp_path: Path, preset: str) -> None:
    # Acceptance: eval mean >= 475 (20 greedy episodes) within 50k steps for >= 4 of 5 seeds.
    solved = []
    for seed in range(5):
        result = cli("train", "dqn", "CartPole-v1", "--preset", preset, "--seed", str(seed),
                     "--run-dir", str(tmp_path / f"s{seed}"), "--json", "--quiet")  # fmt: skip
        assert result.code == 0, result.err
        solved.append(result.json["solved_at_step"])
    assert sum(s is not None and s <= 50_000 for s in solved) >= 4, solved


@pytest.mark.slow
def test_book_preset_reaches_200_within_600_episodes() -> None:
    # The chapter's curve: nothing for a few hundred episodes, then episodes of 200 steps.
    reached = []
    for seed in range(3):
        env = rw.make_env("CartPole-v1", n_envs=1, seed=seed, max_episode_steps=200)
        path = find_preset("book", "dqn", "CartPole-v1")
        assert path is not None
        preset = load_yaml(path)
        agent = DQN(env, config_from_dict(DQNConfig, preset["agent"]), seed=seed, device="cpu")
        driver = Driver(env, agent.collect_policy, agent.observers)
        for _ in range(600):
            agent.train_iteration(driver)
        reached.append(max(agent.progress.episode_returns) >= 200)
    assert sum(reached) >= 2, reached


def test_greedy_noisy_network_acts_with_its_mean_weights_and_keeps_its_noise() -> None:
    # gelu has no NumPy form, so the torch path (_mean_network_q) is the one exercised
    agent = make(noisy=True, activation="gelu", exploration_initial_eps=0.0,
                 exploration_final_eps=0.0)  # fmt: skip
    noise = [b.clone() for n, b in agent.q_net.named_buffers() if "epsilon" in n]
    assert any(bool(b.abs().sum() > 0) for b in noise)  # noise drawn at construction
    obs = np.random.default_rng(0).normal(size=(256, 4)).astype(np.float32)
    greedy = agent.act(obs, explore=False)
    after = [b for n, b in agent.q_net.named_buffers() if "epsilon" in n]
    for before, now in zip(noise, after, strict=True):
        assert torch.equal(before, now)  # the collect policy's noise is untouched
    mean_net = agent.target_net  # a copy of the online weights
    mean_net.load_state_dict(agent.q_net.state_dict())
    mean_net.remove_noise()
    with torch.no_grad():
        expected = mean_net(torch.as_tensor(obs)).argmax(dim=1).numpy()
    np.testing.assert_array_equal(greedy, expected)


def test_a_resumed_agent_refills_its_buffer_before_learning_again(tmp_path: Path) -> None:
    agent = make(learning_starts=200, train_freq=50)
    agent.learn(600, eval_every=0, eval_episodes=1, progress=False)
    agent.save(tmp_path / "a.pt")
    resumed = rw.load(tmp_path / "a.pt")
    assert isinstance(resumed, DQN) and resumed.units > 200 and len(resumed.buffer) == 0
    driver = Driver(resumed.env, resumed.collect_policy, resumed.observers)
    infos = [resumed.train_iteration(driver) for _ in range(5)]  # 50 steps each
    # the replay buffer is not in the checkpoint: no gradient step until it holds 200 again
    assert ["loss" in info for info in infos] == [False, False, False, True, True]
