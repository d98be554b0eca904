"""Tests for rlworks.agents.imitation: config checks, teachers that do not fit, the loss by hand,
acting, checkpoints, determinism, the agreement measure, learning the basic policy, and the CLI."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch

import rlworks
from rlworks.agents import ALGORITHMS, BehaviorCloning, ImitationConfig
from rlworks.agents.imitation import imitation_agreement, imitation_loss
from rlworks.cli import main
from rlworks.config import config_from_dict, find_preset, load_yaml
from rlworks.errors import ConfigError, SpaceMismatchError
from rlworks.nets import PolicyNetwork
from rlworks.policies import basic_policy

# Observations in which only the pole angle θ (column 2) matters to the basic policy.
ANGLES = np.array([-0.2, -0.01, 0.0, 0.03, 0.15])
OBS = np.column_stack([np.zeros(5), np.zeros(5), ANGLES, np.zeros(5)]).astype(np.float32)


def cartpole_agent(seed: int = 0, n_envs: int = 8, **settings: Any) -> BehaviorCloning:
    env = rlworks.make_env("CartPole-v1", n_envs, seed=seed)
    return BehaviorCloning(env, ImitationConfig(**settings), seed=seed, device="cpu")


def linear_layer(net: PolicyNetwork) -> torch.nn.Linear:
    """The only layer of a student built with ``hidden_sizes=()``."""
    layer = net.body[0]
    assert isinstance(layer, torch.nn.Linear) and len(net.body) == 1
    return layer


def parameters(agent: BehaviorCloning) -> list[torch.Tensor]:
    return [p.detach().clone() for p in agent.network.parameters()]


# ---------------------------------------------------------------------------------------------
# Config


def test_unknown_teacher_lists_the_known_ones() -> None:
    with pytest.raises(ConfigError) as info:
        config_from_dict(ImitationConfig, {"teacher": "expert"}, source="--set")
    assert str(info.value) == "--set: teacher must be one of basic, random, got 'expert'"


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        ({"hidden_sizes": [5, 0]}, "hidden_sizes must be widths >= 1, got [5, 0]"),
        ({"activation": "sigmoid"}, "activation must be one of relu, elu, tanh, gelu"),
        ({"learning_rate": 0.0}, "learning_rate must be a positive number, got 0.0"),
        ({"learning_rate": -1e-3}, "learning_rate must be a positive number, got -0.001"),
        ({"learning_rate": math.inf}, "learning_rate must be a positive number, got inf"),
        ({"learning_rate": math.nan}, "learning_rate must be a positive number, got nan"),
        ({"steps_per_iteration": 0}, "steps_per_iteration must be >= 1, got 0"),
        ({"optimizer": "adagrad"}, "optimizer must be one of 'rmsprop', 'adam', 'nadam', 'sgd'"),
        ({"act_with": "expert"}, "act_with must be one of 'student', 'teacher', got 'expert'"),
        ({"head": "beta"}, "head must be one of 'auto', 'bernoulli', 'categorical', 'gaussian'"),
        ({"init": "he"}, "init must be one of 'torch', 'glorot', 'orthogonal', got 'he'"),
        ({"explore": "yes"}, "explore must be true or false"),
    ],
)
def test_config_errors_name_the_key_and_the_allowed_values(
    settings: dict[str, Any], message: str
) -> None:
    with pytest.raises(ConfigError) as info:
        config_from_dict(ImitationConfig, settings, source="bc.yaml")
    assert str(info.value).startswith(f"bc.yaml: {message}")


def test_hand_built_config_is_validated_too() -> None:
    with pytest.raises(ConfigError, match="teacher must be one of basic, random, got 'oracle'"):
        BehaviorCloning("CartPole-v1", ImitationConfig(teacher="oracle"))


def test_defaults_are_the_chapters() -> None:
    config = ImitationConfig()
    assert config.teacher == "basic" and config.hidden_sizes == (5,)
    assert (config.activation, config.init) == ("relu", "glorot")
    assert (config.optimizer, config.learning_rate) == ("rmsprop", 0.001)
    assert (config.act_with, config.explore) == ("student", True)
    agent = BehaviorCloning("CartPole-v1", seed=0, device="cpu")
    optimizer = agent.optimizer
    assert isinstance(optimizer, torch.optim.RMSprop)
    group = optimizer.param_groups[0]
    assert (group["alpha"], group["eps"]) == (0.9, 1e-7)  # Keras' rho and epsilon


# ---------------------------------------------------------------------------------------------
# Teachers and heads that do not fit the environment


@pytest.mark.parametrize(
    ("env_id", "spaces"),
    [
        ("Acrobot-v1", "Acrobot-v1 has observations Box("),
        ("Pendulum-v1", "Pendulum-v1 has observations Box("),
    ],
)
def test_basic_teacher_on_another_env_fails_at_construction(
    env_id: str, spaces: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    built: list[object] = []
    monkeypatch.setattr("rlworks.agents.imitation.PolicyNetwork", lambda *a, **k: built.append(a))
    with pytest.raises(SpaceMismatchError) as info:
        BehaviorCloning(env_id, ImitationConfig(teacher="basic"))
    message = str(info.value)
    assert message.startswith("the basic policy is for CartPole (4 observations, 2 actions)")
    assert spaces in message
    assert built == []  # refused before the student was built


def test_head_that_does_not_fit_is_refused() -> None:
    with pytest.raises(SpaceMismatchError, match="gaussian policy head needs a bounded or"):
        BehaviorCloning("CartPole-v1", ImitationConfig(head="gaussian"))


def test_random_teacher_fits_any_env_and_continuous_students_get_a_gaussian_head() -> None:
    agent = BehaviorCloning("Pendulum-v1", ImitationConfig(teacher="random"), seed=0, device="cpu")
    assert agent.network.head == "gaussian"
    obs = np.zeros((3, 3), dtype=np.float32)
    assert agent.act(obs).shape == (3, 1)
    info = agent.update(obs)
    assert math.isfinite(info["loss"])


# ---------------------------------------------------------------------------------------------
# The loss


def test_loss_is_keras_binary_cross_entropy() -> None:
    env = rlworks.make_env("CartPole-v1", 1, seed=0)
    net = PolicyNetwork(env.single_observation_space, env.single_action_space, ())
    # A linear student whose logit is the pole angle: P(action 1) = sigmoid(θ).
    with torch.no_grad():
        linear_layer(net).weight.copy_(torch.tensor([[0.0, 0.0, 1.0, 0.0]]))
        linear_layer(net).bias.zero_()
    log3 = math.log(3.0)
    obs = torch.tensor([[0.0, 0.0, log3, 0.0], [0.0, 0.0, -log3, 0.0], [0.0, 0.0, 0.0, 0.0]])
    # p = sigmoid(ln 3) = 3/4, sigmoid(-ln 3) = 1/4, sigmoid(0) = 1/2.
    teacher_actions = torch.tensor([1, 1, 0])
    # Keras: -mean(y ln p + (1 - y) ln(1 - p))
    #   = -(ln 3/4 + ln 1/4 + ln 1/2) / 3 = (0.287682 + 1.386294 + 0.693147) / 3 = 0.789041
    loss, info = imitation_loss(net, obs, teacher_actions)
    assert loss.item() == pytest.approx(0.789041, abs=1e-6)
    assert info["loss"].item() == loss.item()
    assert not info["loss"].requires_grad
    p = torch.sigmoid(obs[:, 2])
    keras = torch.nn.functional.binary_cross_entropy(p, teacher_actions.float())
    assert loss.item() == pytest.approx(keras.item(), abs=1e-6)


def test_loss_of_a_gaussian_student_is_the_negative_log_likelihood() -> None:
    env = rlworks.make_env("Pendulum-v1", 1, seed=0)
    net = PolicyNetwork(env.single_observation_space, env.single_action_space, ())
    with torch.no_grad():
        linear_layer(net).weight.zero_()
        linear_layer(net).bias.zero_()  # mean 0, log σ = 0
    obs = torch.zeros((2, 3))
    # -ln N(a; 0, 1) = a²/2 + ln(2π)/2: a = 1 → 0.5 + 0.918939 = 1.418939, a = 0 → 0.918939;
    # mean = 1.168939.
    loss, _ = imitation_loss(net, obs, torch.tensor([[1.0], [0.0]]))
    assert loss.item() == pytest.approx(1.168939, abs=1e-6)


def test_loss_does_not_touch_its_inputs() -> None:
    env = rlworks.make_env("CartPole-v1", 1, seed=0)
    net = PolicyNetwork(env.single_observation_space, env.single_action_space, (5,))
    obs = torch.from_numpy(OBS.copy())
    actions = torch.from_numpy(basic_policy(OBS))
    imitation_loss(net, obs, actions)[0].backward()  # type: ignore[no-untyped-call]
    np.testing.assert_array_equal(obs.numpy(), OBS)
    np.testing.assert_array_equal(actions.numpy(), basic_policy(OBS))


# ---------------------------------------------------------------------------------------------
# Acting and learning steps


def test_greedy_actions_are_the_students_mode_and_collection_follows_act_with() -> None:
    student = cartpole_agent(hidden_sizes=[])
    layer = linear_layer(student.network)
    with torch.no_grad():  # logit = -1000 θ: the opposite of the basic policy
        layer.weight.copy_(torch.tensor([[0.0, 0.0, -1000.0, 0.0]]))
        layer.bias.zero_()
    # Logits 200, 10, 0, -30, -150; the mode is action 1 where the logit is > 0.
    assert student.act(OBS, explore=False).tolist() == [1, 1, 0, 0, 0]
    with torch.no_grad():  # logit 0 everywhere: P(action 1) = 1/2
        layer.weight.zero_()
    draws = np.stack([student.act(OBS, explore=True) for _ in range(200)])  # [200, 5]
    assert 0.4 < draws.mean() < 0.6
    student.config.explore = False  # the student collects with its mode
    assert student.act(OBS, explore=True).tolist() == [0, 0, 0, 0, 0]
    student.config.act_with = "teacher"  # the teacher collects; greedy is still the student
    assert student.act(OBS, explore=True).tolist() == basic_policy(OBS).tolist()
    assert student.act(OBS, explore=False).tolist() == [0, 0, 0, 0, 0]


def test_train_iteration_takes_one_gradient_step_per_vector_step() -> None:
    agent = cartpole_agent(steps_per_iteration=7)
    driver = rlworks.training.Driver(agent.env, agent.collect_policy, agent.observers)
    before = parameters(agent)
    info = agent.train_iteration(driver)
    assert set(info) == {"loss", "agreement", "updates"}
    assert info["updates"] == 7 == agent.updates
    assert 0.0 <= info["agreement"] <= 1.0 and info["loss"] > 0
    assert agent.policy_version == 1
    # 7 vector steps of 8 envs (rows of envs that were only resetting are not counted).
    assert 7 * 8 - 8 <= driver.total_steps <= 7 * 8
    assert any(not torch.equal(a, b) for a, b in zip(before, parameters(agent), strict=True))


def test_update_labels_a_batch_with_the_teacher_and_lowers_the_loss() -> None:
    agent = cartpole_agent(learning_rate=0.01, optimizer="adam")
    obs = OBS[[0, 4]].repeat(4, axis=0)  # θ = -0.2 (teacher: 0) and 0.15 (teacher: 1)
    first = agent.update(obs)
    for _ in range(300):
        last = agent.update(obs)
    assert last["loss"] < first["loss"] / 4
    assert last["agreement"] == 1.0
    assert agent.act(obs, explore=False).tolist() == basic_policy(obs).tolist()


# ---------------------------------------------------------------------------------------------
# Checkpoints and determinism


def test_checkpoint_round_trip_gives_identical_greedy_actions_and_updates(tmp_path: Path) -> None:
    agent = cartpole_agent(seed=3, steps_per_iteration=20)
    agent.learn(400, eval_every=0, eval_episodes=1, progress=False)
    path = agent.save(tmp_path / "bc.pt")
    loaded = rlworks.load(path, device="cpu")
    assert isinstance(loaded, BehaviorCloning)
    assert (loaded.updates, loaded.policy_version) == (agent.updates, agent.policy_version)
    states = np.random.default_rng(0).normal(0.0, 0.2, size=(1000, 4)).astype(np.float32)
    np.testing.assert_array_equal(loaded.act(states, False), agent.act(states, False))
    # The optimizer state came back too: the next gradient step is the same.
    agent.update(states[:50])
    loaded.update(states[:50])
    for a, b in zip(parameters(agent), parameters(loaded), strict=True):
        torch.testing.assert_close(a, b, rtol=0, atol=0)


def test_same_seed_same_parameters_and_the_global_torch_rng_is_untouched() -> None:
    global_state = torch.get_rng_state()
    runs = []
    for seed in (5, 5, 6):
        agent = cartpole_agent(seed=seed, steps_per_iteration=25)
        agent.learn(600, eval_every=0, eval_episodes=1, progress=False)
        runs.append(parameters(agent))
    assert torch.equal(torch.get_rng_state(), global_state)
    for a, b in zip(runs[0], runs[1], strict=True):
        torch.testing.assert_close(a, b, rtol=0, atol=0)
    assert any(not torch.equal(a, b) for a, b in zip(runs[0], runs[2], strict=True))


# ---------------------------------------------------------------------------------------------
# Measuring agreement


def test_agreement_of_the_teacher_with_itself_and_with_its_opposite() -> None:
    itself = imitation_agreement(basic_policy, "basic", "CartPole-v1", n_states=500, n_envs=8)
    assert (itself.agreement, itself.n_states) == (1.0, 500)
    assert itself.disagreements.shape == (0, 4)

    def opposite(obs: np.ndarray) -> np.ndarray:
        return 1 - basic_policy(obs)

    result = imitation_agreement(opposite, basic_policy, "CartPole-v1", n_states=300, seed=7)
    assert result.agreement == 0.0 and result.seed == 7
    assert result.disagreements.shape == (10, 4)
    np.testing.assert_array_equal(result.teacher_actions, basic_policy(result.disagreements))
    np.testing.assert_array_equal(result.student_actions, 1 - result.teacher_actions)
    assert json.dumps(result.to_dict())


def test_agreement_counts_disagreements_on_the_teachers_states() -> None:
    def right_only(obs: np.ndarray) -> np.ndarray:
        return np.ones(len(obs), dtype=np.int64)

    result = imitation_agreement(right_only, "basic", "CartPole-v1", n_states=2000, seed=3)
    # Agrees exactly where the teacher pushes right (θ >= 0): roughly half of its states.
    assert 0.3 < result.agreement < 0.7
    assert np.all(result.disagreements[:, 2] < 0)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"n_states": 0}, "n_states and n_envs must be >= 1, got 0 and 50"),
        ({"teacher": "oracle"}, "teacher must be one of basic, random, got 'oracle'"),
        ({"play_with": "nobody"}, "play_with must be teacher or student, got 'nobody'"),
    ],
)
def test_agreement_refuses_bad_arguments(kwargs: dict[str, Any], message: str) -> None:
    args: dict[str, Any] = {"teacher": "basic", **kwargs}
    teacher = args.pop("teacher")
    with pytest.raises(ConfigError, match=f"^{message}"):
        imitation_agreement(basic_policy, teacher, "CartPole-v1", **args)


def test_agreement_with_a_teacher_that_does_not_fit() -> None:
    with pytest.raises(SpaceMismatchError, match="the basic policy is for CartPole"):
        imitation_agreement(basic_policy, "basic", "Acrobot-v1", n_states=10)


# ---------------------------------------------------------------------------------------------
# Learning


def test_learns_the_basic_policy_quickly() -> None:
    agent = cartpole_agent(seed=0, n_envs=50, learning_rate=0.01)
    agent.learn(25_000, eval_every=0, eval_episodes=5, progress=False)
    result = imitation_agreement(agent, "basic", "CartPole-v1", n_states=5000)
    assert result.agreement > 0.9  # chance: about 0.5


def test_plain_behaviour_cloning_learns_too() -> None:
    agent = cartpole_agent(seed=1, n_envs=50, learning_rate=0.01, act_with="teacher")
    agent.learn(25_000, eval_every=0, eval_episodes=5, progress=False)
    assert imitation_agreement(agent, "basic", "CartPole-v1", n_states=5000).agreement > 0.9


@pytest.mark.slow
@pytest.mark.parametrize("seed", range(5))
def test_bundled_preset_meets_the_acceptance(seed: int) -> None:
    """Agreement >= 98% on held-out states and a greedy return within 5% of the teacher's over
    500 episodes (the chapter's basic policy: 41.7)."""
    preset = load_yaml(find_preset(None, "bc", "CartPole-v1"))  # type: ignore[arg-type]
    env = rlworks.make_env("CartPole-v1", preset["train"]["n_envs"], seed=seed)
    config = config_from_dict(ImitationConfig, preset["agent"])
    agent = BehaviorCloning(env, config, seed=seed, device="cpu")
    agent.learn(preset["train"]["steps"], eval_every=0, eval_episodes=1, progress=False)
    assert imitation_agreement(agent, "basic", "CartPole-v1").agreement >= 0.98
    student = rlworks.evaluate(agent, "CartPole-v1", episodes=500, seed=seed).mean
    teacher = rlworks.evaluate(basic_policy, "CartPole-v1", episodes=500, seed=seed).mean
    assert abs(student - teacher) <= 0.05 * teacher


# ---------------------------------------------------------------------------------------------
# Command line


def test_registered_under_bc() -> None:
    assert ALGORITHMS["bc"] is BehaviorCloning


def test_cli_train_eval_and_record(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    run_dir = tmp_path / "run"
    code = main(
        ["train", "bc", "CartPole-v1", "--steps", "3000", "--n-envs", "8", "--eval-every",
         "1000", "--eval-episodes", "3", "--set", "teacher=basic", "--set",
         "steps_per_iteration=25", "--run-dir", str(run_dir), "--quiet", "--json"]
    )  # fmt: skip
    out, _ = capsys.readouterr()
    assert code == 0, out
    data = json.loads(out.strip().splitlines()[-1])
    assert (data["algo"], data["env"]) == ("bc", "CartPole-v1")
    assert data["steps"] >= 3000 and math.isfinite(data["eval_mean"])
    for name in ("config.yaml", "metrics.csv", "eval.json", "curve.png", "checkpoints/final.pt"):
        assert (run_dir / name).is_file(), name
    config = (run_dir / "config.yaml").read_text()
    assert "preset: bc-cartpole" in config and "teacher: basic" in config
    assert main(["eval", str(run_dir), "--episodes", "3", "--json"]) == 0
    capsys.readouterr()
    gif = tmp_path / "bc.gif"
    assert main(["record", str(run_dir), "--out", str(gif), "--max-steps", "20"]) == 0
    assert gif.stat().st_size > 0


def test_cli_unknown_teacher_is_one_clear_line(capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["train", "bc", "CartPole-v1", "--set", "teacher=expert", "--steps", "100"])
    _, err = capsys.readouterr()
    assert code != 0
    assert "teacher must be one of basic, random, got 'expert'" in err
