"""REINFORCE: the batched loss has the chapter's per-step gradient, episodes are collected whole,
bad input is refused, and the chapter's CartPole settings learn."""

from __future__ import annotations

import math
import warnings
from typing import Any

import gymnasium as gym
import numpy as np
import pytest
import torch

import rlworks as rw
from rlworks.agents import Reinforce, ReinforceConfig
from rlworks.agents.reinforce import EpisodeBatch, EpisodeCollector, reinforce_loss
from rlworks.config import config_from_dict
from rlworks.errors import ConfigError, SpaceMismatchError
from rlworks.nets import PolicyNetwork, seeded
from rlworks.returns import ZeroSpreadWarning, discount_and_normalize_rewards
from rlworks.types import Transition

# ---------------------------------------------------------------------------------------------
# The loss: one batched backward pass == the chapter's mean of advantage-weighted step gradients


def _chapter_mean_grads(
    net: PolicyNetwork, obs: torch.Tensor, actions: torch.Tensor, advantages: np.ndarray
) -> list[torch.Tensor]:
    """The chapter's formulation: one gradient per step of the cross-entropy between the action
    taken (as the target) and the network's output, then the advantage-weighted mean."""
    per_step = []
    for t in range(len(obs)):
        net.zero_grad()
        out = net(obs[t : t + 1])
        if net.head == "bernoulli":
            # Keras' binary_crossentropy(y_target, left_proba), y_target = 1 - action.
            left_proba = 1.0 - torch.sigmoid(out[0, 0])
            y_target = 1.0 - actions[t].to(out.dtype)
            loss = -(y_target * torch.log(left_proba) + (1 - y_target) * torch.log(1 - left_proba))
        else:
            # sparse_categorical_crossentropy(action, softmax probabilities), as for LunarLander.
            loss = -torch.log(torch.softmax(out[0], dim=0)[actions[t]])
        loss.backward()
        per_step.append([p.grad.detach().clone() for p in net.parameters() if p.requires_grad])
    return [
        torch.stack([advantages[t] * grads[i] for t, grads in enumerate(per_step)]).mean(dim=0)
        for i in range(len(per_step[0]))
    ]


@pytest.mark.parametrize(("n_actions", "hidden"), [(2, [5]), (4, [6, 3])])
def test_batched_loss_gradient_equals_the_chapters_per_step_gradients(
    n_actions: int, hidden: list[int]
) -> None:
    obs_space = gym.spaces.Box(-np.inf, np.inf, (4,), np.float64)
    with seeded(0):
        net = PolicyNetwork(obs_space, gym.spaces.Discrete(n_actions), hidden, init="glorot")
    net = net.double()
    rng = np.random.default_rng(0)
    episodes = [[1.0, 1.0, 1.0], [1.0, 1.0, 1.0, 1.0, 1.0], [0.5, -2.0]]
    advantages = np.concatenate(discount_and_normalize_rewards(episodes, 0.95))  # [10]
    obs = torch.as_tensor(rng.normal(size=(len(advantages), 4)))
    actions = torch.as_tensor(rng.integers(0, n_actions, size=len(advantages)))

    expected = _chapter_mean_grads(net, obs, actions, advantages)

    net.zero_grad()
    loss, _ = reinforce_loss(net.log_prob(obs, actions), torch.as_tensor(advantages))
    loss.backward()
    for got, want in zip(
        (p.grad for p in net.parameters() if p.requires_grad), expected, strict=True
    ):
        assert got is not None
        torch.testing.assert_close(got, want, atol=1e-6, rtol=0)


def test_entropy_bonus_lowers_the_loss_and_the_advantages_are_constants() -> None:
    log_probs = torch.tensor([-0.5, -1.0], requires_grad=True)
    advantages = torch.tensor([1.0, -1.0], requires_grad=True)
    entropy = torch.tensor([0.6, 0.4])
    loss, info = reinforce_loss(log_probs, advantages, entropy, entropy_coef=0.1)
    # policy loss = -mean(1 * -0.5, -1 * -1.0) = -mean(-0.5, 1.0) = -0.25; bonus 0.1 * 0.5 = 0.05
    assert math.isclose(float(info["policy_loss"]), -0.25, rel_tol=1e-6)
    assert math.isclose(float(loss.detach()), -0.30, rel_tol=1e-6)
    loss.backward()
    assert advantages.grad is None


# ---------------------------------------------------------------------------------------------
# Collecting whole episodes


def _rows(env_ids: list[int], rewards: list[float], done: list[bool]) -> Transition:
    n = len(env_ids)
    obs = np.array(rewards, dtype=np.float32).reshape(n, 1)
    return Transition(
        obs,
        np.zeros(n, np.int64),
        np.array(rewards),
        obs,
        np.array(done),
        np.zeros(n, bool),
        np.array(env_ids),
    )


def test_collector_groups_rows_into_episodes_and_drops_unfinished_ones() -> None:
    collector = EpisodeCollector()
    # env 0 plays [1, 2 | 3], env 1 plays [10 | 20, 30 ... unfinished]
    collector(_rows([0, 1], [1, 10], [False, True]))
    collector(_rows([0, 1], [2, 20], [True, False]))
    collector(_rows([0, 1], [3, 30], [True, False]))
    batch = collector.episodes()
    assert batch.rewards.tolist() == [1, 2, 3, 10]
    assert batch.episode.tolist() == [0, 0, 1, 2]
    assert batch.step.tolist() == [0, 1, 0, 0]
    np.testing.assert_allclose(batch.episode_returns(), [3, 3, 10])
    # time-major [max length 2, 3 episodes], padded with 0
    assert batch.time_major(batch.rewards).tolist() == [[1, 3, 10], [2, 0, 0]]


def test_returns_are_the_chapters_normalized_discounted_rewards() -> None:
    agent = Reinforce("CartPole-v1", ReinforceConfig(gamma=0.8), seed=0)
    n = 5
    batch = EpisodeBatch(
        obs=np.zeros((n, 4), np.float32),
        actions=np.zeros(n, np.int64),
        rewards=np.array([10.0, 0.0, -50.0, 10.0, 20.0]),
        next_obs=np.zeros((n, 4), np.float32),
        terminated=np.array([False, False, True, False, True]),
        truncated=np.zeros(n, bool),
        episode=np.array([0, 0, 0, 1, 1]),
        step=np.array([0, 1, 2, 0, 1]),
    )
    returns, advantages, zero_spread = agent.advantages(batch)
    np.testing.assert_allclose(returns, [-22, -40, -50, 26, 20])
    expected = np.concatenate(discount_and_normalize_rewards([[10, 0, -50], [10, 20]], 0.8))
    np.testing.assert_allclose(advantages, expected)
    assert not zero_spread


def test_an_iteration_plays_exactly_the_requested_whole_episodes() -> None:
    env = rw.make_env("CartPole-v1", n_envs=3, seed=0)
    agent = Reinforce(env, ReinforceConfig(n_episodes_per_update=7), seed=0)
    driver = rw.training.Driver(env, agent.collect_policy, agent.observers)
    info = agent.train_iteration(driver)
    assert driver.total_episodes == 7
    assert info["episode_length_mean"] == driver.total_steps / 7
    assert agent.iterations == 1


def _equal_returns_batch() -> EpisodeBatch:
    return EpisodeBatch(
        np.ones((2, 4), np.float32),
        np.array([0, 1]),
        np.array([1.0, 1.0]),
        np.ones((2, 4), np.float32),
        np.array([True, True]),
        np.zeros(2, bool),
        np.array([0, 1]),
        np.array([0, 0]),
    )


def test_zero_spread_batch_warns_and_leaves_the_policy_unchanged() -> None:
    # Nadam keeps momentum: after one real update, a zero-gradient step would still move the
    # parameters, so the agent must skip the step altogether.
    env = rw.make_env("CartPole-v1", n_envs=2, seed=0)
    agent = Reinforce(env, ReinforceConfig(n_episodes_per_update=2), seed=0)
    agent.train_iteration(rw.training.Driver(env, agent.collect_policy, agent.observers))
    before = [p.detach().clone() for p in agent.policy_net.parameters()]
    version = agent.policy_version
    with pytest.warns(ZeroSpreadWarning, match="not scaled; the policy was not updated"):
        info = agent.update(_equal_returns_batch())
    assert info["zero_spread"] == 1.0 and agent.policy_version == version
    for b, p in zip(before, agent.policy_net.parameters(), strict=True):
        assert torch.equal(b, p)


def test_zero_spread_with_entropy_bonus_still_steps() -> None:
    agent = Reinforce("CartPole-v1", ReinforceConfig(entropy_coef=0.1), seed=0)
    before = [p.detach().clone() for p in agent.policy_net.parameters()]
    with pytest.warns(ZeroSpreadWarning) as record:
        agent.update(_equal_returns_batch())
    assert "not updated" not in str(record[0].message)
    params = agent.policy_net.parameters()
    assert any(not torch.equal(b, p) for b, p in zip(before, params, strict=True))


def test_a_batch_without_episodes_is_refused() -> None:
    agent = Reinforce("CartPole-v1", seed=0)
    empty = EpisodeBatch(*(np.zeros((0, 4)) for _ in range(2)), *(np.zeros(0) for _ in range(6)))
    with pytest.raises(ValueError, match="at least one complete episode"):
        agent.update(empty)


def test_value_baseline_bootstraps_truncated_episodes() -> None:
    config = ReinforceConfig(gamma=0.5, baseline="value", normalize_advantages=False)
    agent = Reinforce("CartPole-v1", config, seed=0)
    with torch.no_grad():  # V(s) = 10 * s[0]: tells observations apart
        for p in agent.value_net.parameters():  # type: ignore[union-attr]
            p.zero_()
        agent.value_net[0].weight[0, 0] = 1.0  # type: ignore[index]
        agent.value_net[2].weight[0, 0] = 1.0  # type: ignore[index]
        agent.value_net[-1].weight[0, 0] = 10.0  # type: ignore[index]
    assert agent.config.activation == "relu"  # positive inputs pass the relus unchanged

    def obs(*xs: float) -> np.ndarray:
        out = np.zeros((len(xs), 4), np.float32)
        out[:, 0] = xs
        return out

    # Episode 0: two steps, obs 0.1 → 0.2 → 0.3, cut by the time limit after its second step.
    # Episode 1: one step, obs 0.4 → 0.5, terminated.
    batch = EpisodeBatch(
        obs(0.1, 0.2, 0.4),
        np.array([0, 1, 0]),
        np.array([1.0, 1.0, 1.0]),
        obs(0.2, 0.3, 0.5),
        np.array([False, False, True]),
        np.array([False, True, False]),
        np.array([0, 0, 1]),
        np.array([0, 1, 0]),
    )
    returns, advantages, _ = agent.advantages(batch)
    # e0 t1: 1 + 0.5 * V(0.3) = 1 + 0.5 * 3 = 2.5;  e0 t0: 1 + 0.5 * 2.5 = 2.25
    # e1 t0: terminated → 1 (V(0.5) = 5 is not used)
    np.testing.assert_allclose(returns, [2.25, 2.5, 1.0], rtol=1e-6)
    # advantages subtract V(obs) = 1, 2, 4
    np.testing.assert_allclose(advantages, [1.25, 0.5, -3.0], rtol=1e-6)


# ---------------------------------------------------------------------------------------------
# Bad input


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        ({"n_episodes_per_update": 0}, "n_episodes_per_update must be >= 1, got 0"),
        ({"gamma": 1.5}, r"gamma must be in \[0, 1\], got 1.5"),
        ({"learning_rate": 0}, "learning_rate must be a positive number, got 0"),
        ({"entropy_coef": -0.1}, "entropy_coef must be >= 0, got -0.1"),
        ({"max_grad_norm": 0}, "max_grad_norm must be > 0 or null, got 0"),
        ({"hidden_sizes": [0]}, r"hidden_sizes must hold widths >= 1, got \[0\]"),
        ({"baseline": "critic"}, "baseline must be one of 'none', 'value'"),
        ({"optimizer": "adagrad"}, "optimizer must be one of"),
    ],
)
def test_config_errors_name_the_key(settings: dict[str, Any], message: str) -> None:
    with pytest.raises(ConfigError, match=f"^preset.yaml: {message}"):
        config_from_dict(ReinforceConfig, settings, source="preset.yaml")


def test_discrete_head_on_continuous_actions_names_both_spaces() -> None:
    with pytest.raises(
        SpaceMismatchError,
        match=r"bernoulli policy head needs Discrete\(2\).*"
        r"Pendulum-v1 has actions Box\(shape=\(1,\)",
    ):
        Reinforce("Pendulum-v1", ReinforceConfig(head="bernoulli"))


def test_gaussian_head_on_discrete_actions_names_both_spaces() -> None:
    with pytest.raises(
        SpaceMismatchError,
        match=r"gaussian policy head needs .*Box.*"
        r"CartPole-v1 has actions Discrete\(2\)",
    ):
        Reinforce("CartPole-v1", ReinforceConfig(head="gaussian"))


# ---------------------------------------------------------------------------------------------
# Whole runs


def test_same_seed_same_run_and_checkpoint_round_trip(tmp_path: Any) -> None:
    def run() -> Reinforce:
        env = rw.make_env("CartPole-v1", n_envs=4, seed=3)
        agent = Reinforce(env, ReinforceConfig(n_episodes_per_update=4), seed=3)
        agent.learn(3000, eval_every=0, eval_episodes=2, progress=False)
        return agent

    a, b = run(), run()
    for pa, pb in zip(a.policy_net.parameters(), b.policy_net.parameters(), strict=True):
        assert torch.equal(pa, pb)
    a.save(tmp_path / "a.pt")
    loaded = rw.load(tmp_path / "a.pt")
    assert isinstance(loaded, Reinforce) and loaded.iterations == a.iterations
    obs = np.random.default_rng(0).normal(size=(64, 4)).astype(np.float32)
    np.testing.assert_array_equal(loaded.act(obs, explore=False), a.act(obs, explore=False))


@pytest.mark.parametrize("env_id", ["Acrobot-v1", "Pendulum-v1"])
def test_runs_on_categorical_and_gaussian_actions(env_id: str) -> None:
    env = rw.make_env(env_id, n_envs=2, seed=0, max_episode_steps=50)
    config = ReinforceConfig(
        n_episodes_per_update=2, baseline="value", entropy_coef=0.01, max_grad_norm=0.5
    )
    agent = Reinforce(env, config, seed=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ZeroSpreadWarning)
        result = agent.learn(
            400, eval_every=0, eval_episodes=2, progress=False, max_episode_steps=50
        )
    assert result.steps >= 400 and math.isfinite(result.eval_mean)


def test_max_iterations_stops_the_run() -> None:
    env = rw.make_env("CartPole-v1", n_envs=2, seed=0)
    agent = Reinforce(env, ReinforceConfig(n_episodes_per_update=2), seed=0)
    result = agent.learn(1_000_000, max_iterations=3, eval_every=0, eval_episodes=1, progress=False)
    assert agent.iterations == 3 and result.stop_reason == "3 iterations"


def test_book_settings_learn_quickly() -> None:
    # The chapter's settings on CartPole with 200-step episodes: 40 iterations (~20k steps)
    # lift the training mean well above the random policy's ~22 and the basic policy's 42.
    env = rw.make_env("CartPole-v1", n_envs=10, seed=0, max_episode_steps=200)
    agent = Reinforce(env, ReinforceConfig(), seed=0)
    agent.learn(
        300_000,
        max_iterations=40,
        eval_every=0,
        eval_episodes=1,
        progress=False,
        max_episode_steps=200,
    )
    result = rw.evaluate(agent, "CartPole-v1", episodes=10, seed=100, max_episode_steps=200)
    assert result.mean >= 100


def test_train_eval_record_and_resume_from_the_command_line(cli: Any, tmp_path: Any) -> None:
    settings = ["--preset", "book", "--seed", "2", "--eval-every", "2000", "--eval-episodes", "2",
                "--checkpoint-every", "2000", "--quiet"]  # fmt: skip
    full, part = tmp_path / "full", tmp_path / "part"
    result = cli("train", "reinforce", "CartPole-v1", "--steps", "8000", "--run-dir", str(full),
                 *settings, "--json")  # fmt: skip
    assert result.code == 0, result.err
    assert result.json["algo"] == "reinforce" and result.json["steps"] >= 8000
    assert cli("train", "reinforce", "CartPole-v1", "--steps", "4000", "--run-dir", str(part),
               *settings).code == 0  # fmt: skip
    assert cli("train", "--resume", str(part), "--steps", "8000", "--quiet").code == 0

    def rows(run_dir: Any) -> list[list[str]]:  # every column but wall_s
        lines = (run_dir / "metrics.csv").read_text().splitlines()
        return [line.split(",")[:1] + line.split(",")[2:] for line in lines]

    assert rows(part) == rows(full)  # the resumed run replays the uninterrupted one
    evaluation = cli("eval", str(full), "--episodes", "3", "--json")
    assert evaluation.code == 0 and evaluation.json["episodes"] == 3
    assert cli("record", str(full), "--out", str(tmp_path / "a.gif")).code == 0
    assert (tmp_path / "a.gif").stat().st_size > 0


def test_bad_input_from_the_command_line(cli: Any) -> None:
    result = cli("train", "reinforce", "CartPole-v1", "--set", "n_episodes_per_update=0")
    assert result.code == 2 and "n_episodes_per_update must be >= 1, got 0" in result.err
    result = cli("train", "reinforce", "Pendulum-v1", "--set", "head=categorical")
    assert result.code == 2
    assert "categorical policy head needs Discrete(n) actions" in result.err
    assert "Box(shape=(1,), dtype=float32)" in result.err


@pytest.mark.slow
@pytest.mark.parametrize("seed", range(5))
def test_tuned_preset_solves_cartpole_v1(cli: Any, tmp_path: Any, seed: int) -> None:
    # Acceptance: eval mean >= 475 (20 greedy episodes) within 300k steps, at least 4 of 5 seeds;
    # measured: all five seeds solve within 41k steps, so each seed is asserted on its own.
    result = cli("train", "reinforce", "CartPole-v1", "--seed", str(seed), "--json", "--quiet",
                 "--run-dir", str(tmp_path / "run"))  # fmt: skip
    assert result.code == 0, result.err
    assert result.json["solved_at_step"] is not None and result.json["solved_at_step"] <= 300_000
    assert result.json["eval_mean"] >= 475


@pytest.mark.slow
def test_book_preset_reaches_175_within_150_iterations() -> None:
    # The book prints a mean of 175.6-177.8 at iteration 150; at least 4 of 5 seeds must reach
    # a training-batch mean >= 175 at some iteration <= 150.
    reached = []
    for seed in range(5):
        env = rw.make_env("CartPole-v1", n_envs=10, seed=seed, max_episode_steps=200)
        agent = Reinforce(env, ReinforceConfig(), seed=seed)
        driver = rw.training.Driver(env, agent.collect_policy, agent.observers)
        means = [agent.train_iteration(driver)["return_mean"] for _ in range(150)]
        reached.append(max(means) >= 175)
    assert sum(reached) >= 4, reached


def test_more_envs_than_episodes_per_update_warns() -> None:
    env = rw.make_env("CartPole-v1", n_envs=4, seed=0)
    with pytest.warns(UserWarning, match="4 environments but n_episodes_per_update is 2"):
        Reinforce(env, ReinforceConfig(n_episodes_per_update=2))


def test_resuming_a_run_that_used_its_iterations_is_refused(cli: Any, tmp_path: Any) -> None:
    run_dir = str(tmp_path / "run")
    assert cli("train", "reinforce", "CartPole-v1", "--preset", "book", "--set",
               "max_iterations=2", "--run-dir", run_dir, "--quiet").code == 0  # fmt: skip
    result = cli("train", "--resume", run_dir, "--quiet")
    assert result.code == 2
    assert "the run already took its 2 iterations (max_iterations)" in result.err


def test_an_env_without_time_limit_is_refused() -> None:
    gym.register(
        "rlworks-test/EndlessCartPole-v0",
        entry_point="gymnasium.envs.classic_control.cartpole:CartPoleEnv",
        max_episode_steps=None,
    )
    try:
        with pytest.raises(ConfigError, match="has no time limit: an episode might never end"):
            Reinforce(rw.make_env("rlworks-test/EndlessCartPole-v0", n_envs=1))
        limited = rw.make_env("rlworks-test/EndlessCartPole-v0", n_envs=1, max_episode_steps=50)
        Reinforce(limited)  # a time limit given to make_env is enough
    finally:
        gym.registry.pop("rlworks-test/EndlessCartPole-v0")
