"""The NumPy PPO engine: the torch engine's numbers on the same weights, checkpoints read by
either engine, no torch imported, the engine choice, and CartPole solved within 100k steps."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch

import rlworks as rw
from rlworks.agents import PPO, NumpyPPO, PPOConfig, get_agent_class
from rlworks.buffers import RolloutBatch
from rlworks.errors import ConfigError, SpaceMismatchError
from rlworks.training.checkpoint import load_checkpoint

# The cases of test_ppo's hand-written gradient: heads, activations, value clipping, entropy,
# unnormalized advantages, uneven widths, observation scaling.
CASES = [
    ("CartPole-v1", {}),
    ("CartPole-v1", {"ent_coef": 0.01, "clip_range_vf": 0.1, "activation": "relu"}),
    ("CartPole-v1", {"normalize_advantages": False, "critic_hidden_sizes": [8, 16, 8]}),
    ("MountainCar-v0", {"scale_obs": True}),
    ("Pendulum-v1", {}),
    ("Pendulum-v1", {"ent_coef": 0.01, "clip_range_vf": 0.1, "log_std_init": -0.5}),
]


def _twins(env_id: str, settings: dict[str, Any], **config: Any) -> tuple[PPO, NumpyPPO]:
    """A torch PPO and a NumPy PPO holding the same weights and optimizer state."""
    cfg = PPOConfig(**{"batch_size": 64, **config, **settings})
    ours = PPO(rw.make_env(env_id, n_envs=2, seed=0), cfg, seed=0, device="cpu")
    twin = NumpyPPO(rw.make_env(env_id, n_envs=2, seed=0), cfg, seed=0)
    twin._load_state(ours._state())  # tensors in, arrays kept
    return ours, twin


def _batch(agent: PPO, m: int, seed: int = 1) -> RolloutBatch:
    """A rollout of ``m`` rows with log-probabilities moved off the policy's (as test_ppo's)."""
    rng = np.random.default_rng(seed)
    obs = rng.standard_normal((m, *agent.observation_space.shape)).astype(np.float32)
    actions, log_probs, values = agent.net.act(obs, rng)
    log_probs = (log_probs + 0.2 * rng.standard_normal(m)).astype(np.float32)
    advantages = rng.standard_normal(m).astype(np.float32)
    return RolloutBatch(obs, actions, log_probs, values, advantages, values + advantages)


@pytest.mark.parametrize(("env_id", "settings"), CASES)
def test_same_weights_give_the_torch_engines_actions_values_and_gradient(
    env_id: str, settings: dict[str, Any]
) -> None:
    ours, twin = _twins(env_id, settings)
    # One flat vector in the same order: torch's FlatParameters (log_std, actor, critic).
    np.testing.assert_array_equal(twin.params, ours.flat.param.detach().numpy())
    obs = np.random.default_rng(0).standard_normal((7, *twin.observation_space.shape))
    np.testing.assert_allclose(twin.act(obs, explore=False), ours.act(obs, explore=False),
                               rtol=1e-5, atol=1e-6)  # fmt: skip
    np.testing.assert_allclose(twin._predict_values(obs), ours.net.predict_values(obs),
                               rtol=1e-5, atol=1e-6)  # fmt: skip
    batch = _batch(ours, 128)
    idx = np.random.default_rng(3).permutation(128)[:64]
    rows = ours.net.prepare_obs(batch.obs.reshape(128, -1))
    args = (rows, batch.actions, batch.log_probs, batch.values, batch.advantages, batch.returns)
    assert ours.fast_learner is not None and twin.fast_learner is not None
    info_torch = ours.fast_learner.loss_and_grad(*args, idx, clip_range=0.1)
    info_numpy = twin.fast_learner.loss_and_grad(*args, idx, clip_range=0.1)
    for a, b in zip(info_numpy, info_torch, strict=True):
        assert a == pytest.approx(b, rel=1e-5, abs=1e-6)
    np.testing.assert_allclose(twin.grads, ours.flat.grad.numpy(), rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize(("env_id", "settings"), [CASES[0], CASES[3], CASES[4]])
def test_exploring_draws_the_torch_engines_actions_from_the_same_generator(
    env_id: str, settings: dict[str, Any]
) -> None:
    ours, twin = _twins(env_id, settings)
    twin.rng.bit_generator.state = ours.rng.bit_generator.state
    obs = np.random.default_rng(0).standard_normal((6, *twin.observation_space.shape))
    np.testing.assert_allclose(twin.act(obs), ours.act(obs), rtol=1e-5, atol=1e-6)
    for staged_numpy, staged_torch in zip(twin.buffer._staged, ours.buffer._staged, strict=True):
        np.testing.assert_allclose(staged_numpy, staged_torch, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize(("env_id", "settings"), [CASES[1], CASES[5]])
def test_an_update_takes_the_steps_of_the_torch_engine(
    env_id: str, settings: dict[str, Any]
) -> None:
    ours, twin = _twins(env_id, settings, n_steps=64, batch_size=32, n_epochs=3)
    orders = [np.random.default_rng(k).permutation(128) for k in range(3)]
    for agent in (ours, twin):  # the same minibatches in both engines
        given = iter(orders)
        agent._permutation = lambda m, given=given: next(given)  # type: ignore[method-assign]
    batch = _batch(ours, 128)
    info_torch, info_numpy = ours.update(batch), twin.update(batch)
    assert info_numpy.keys() == info_torch.keys()
    for key in ("loss", "policy_loss", "value_loss", "entropy", "grad_norm", "clip_range"):
        assert info_numpy[key] == pytest.approx(info_torch[key], rel=1e-4, abs=1e-6), key
    assert info_numpy["gradient_steps"] == info_torch["gradient_steps"] == 12
    np.testing.assert_allclose(twin.params, ours.flat.param.detach().numpy(), rtol=1e-4,
                               atol=1e-5)  # fmt: skip
    state = twin.optimizer.state_dict()
    assert state["steps"] == ours.optimizer.steps == 12
    np.testing.assert_allclose(state["exp_avg_sq"], ours.optimizer.exp_avg_sq.numpy(),
                               rtol=1e-3, atol=1e-9)  # fmt: skip


def test_checkpoints_load_into_either_engine(tmp_path: Path) -> None:
    env = rw.make_env("Pendulum-v1", n_envs=2, seed=0)
    twin = NumpyPPO(env, PPOConfig(n_steps=32, batch_size=32), seed=3)
    twin.learn(128, progress=False)
    obs = np.random.default_rng(0).standard_normal((5, 3)).astype(np.float32)
    twin.save(tmp_path / "numpy.pt")
    loaded = rw.load(tmp_path / "numpy.pt", device="cpu")  # engine auto: the torch engine
    assert type(loaded) is PPO
    np.testing.assert_allclose(loaded.act(obs, explore=False), twin.act(obs, explore=False),
                               rtol=1e-6)  # fmt: skip
    # 2 rollouts of 32 * 2 rows, 10 epochs of 2 minibatches each: 40 Adam steps.
    assert loaded.num_timesteps == twin.num_timesteps and loaded.optimizer.steps == 40
    loaded.save(tmp_path / "torch.pt")
    back = NumpyPPO.load(tmp_path / "torch.pt")
    np.testing.assert_array_equal(back.params, twin.params)
    np.testing.assert_array_equal(back.optimizer.exp_avg, twin.optimizer.exp_avg)
    assert back.rng.bit_generator.state == twin.rng.bit_generator.state


def test_load_gives_the_numpy_engine_to_a_config_that_names_it(tmp_path: Path) -> None:
    NumpyPPO("CartPole-v1", PPOConfig(engine="numpy")).save(tmp_path / "a.pt")
    assert isinstance(rw.load(tmp_path / "a.pt", device="cpu"), NumpyPPO)
    assert isinstance(rw.load(tmp_path / "a.pt", device="auto"), NumpyPPO)  # runs on the CPU
    # On a GPU device that engine does not run: the torch engine loads it.
    if torch.cuda.is_available():
        assert isinstance(rw.load(tmp_path / "a.pt", device="cuda"), PPO)
    else:  # the torch engine's own refusal, not the NumPy engine's "runs on the CPU"
        with pytest.raises(ConfigError, match="CUDA is not available"):
            rw.load(tmp_path / "a.pt", device="cuda")


def test_a_checkpoint_of_another_network_is_refused() -> None:
    wide = NumpyPPO("CartPole-v1", PPOConfig(actor_hidden_sizes=[32]))
    narrow = NumpyPPO("CartPole-v1", PPOConfig())
    with pytest.raises(rw.RLWorksError, match=r"missing \['actor.4.bias', 'actor.4.weight'\]"):
        narrow._load_state(wide._state())
    other = NumpyPPO("CartPole-v1", PPOConfig(actor_hidden_sizes=[64, 32]))
    with pytest.raises(rw.RLWorksError, match=r"'actor.2.weight' has shape \[32, 64\]"):
        narrow._load_state(other._state())


_NO_TORCH_RUN = """
import json, sys
from rlworks.cli import main
code = main(sys.argv[1:])
print(json.dumps({"code": code, "torch": "torch" in sys.modules}))
"""


def test_a_cpu_run_from_the_command_line_never_imports_torch_and_resumes(
    tmp_path: Path, cli: Any
) -> None:
    run = tmp_path / "run"
    args = ["train", "ppo", "CartPole-v1", "--device", "cpu", "--steps", "2048",
            "--eval-every", "1024", "--eval-episodes", "2", "--set", "train.plot=false",
            "--run-dir", str(run), "--quiet"]  # fmt: skip
    done = subprocess.run([sys.executable, "-c", _NO_TORCH_RUN, *args], capture_output=True,
                          text=True, check=True, timeout=120)  # fmt: skip
    assert json.loads(done.stdout.strip().splitlines()[-1]) == {"code": 0, "torch": False}
    assert list(run.glob("events.out.tfevents.*")) and not (run / "curve.png").exists()
    # Resumed in this process (torch loaded): the same engine, from the torch-free checkpoint.
    resumed = cli("train", "--resume", str(run), "--steps", "3072", "--quiet", "--json")
    assert resumed.code == 0, resumed.err
    assert resumed.json["steps"] >= 3072
    # The NumPy engine wrote it: no torch generator in its state (the torch engine's has one).
    assert "torch_rng" not in load_checkpoint(run / "checkpoints" / "final.pt")["agent"]


_NO_TORCH_SAVE = """
import json, sys
import numpy as np
import rlworks as rw
from rlworks.agents.ppo_numpy import NumpyPPO
from rlworks.agents.ppo_config import PPOConfig
out = sys.argv[1]
env = rw.make_env("Pendulum-v1", n_envs=2, seed=0)
agent = NumpyPPO(env, PPOConfig(n_steps=32, batch_size=32), seed=5)
agent.learn(128, progress=False)
agent.save(out + "/agent.pt")
np.save(out + "/params.npy", agent.params)
np.save(out + "/exp_avg_sq.npy", agent.optimizer.exp_avg_sq)
print(json.dumps({"rng": agent.rng.bit_generator.state, "steps": agent.optimizer.steps,
                  "torch": "torch" in sys.modules}))
"""


def test_a_checkpoint_written_without_torch_holds_the_whole_state(tmp_path: Path) -> None:
    done = subprocess.run([sys.executable, "-c", _NO_TORCH_SAVE, str(tmp_path)],
                          capture_output=True, text=True, check=True, timeout=120)  # fmt: skip
    written = json.loads(done.stdout.strip().splitlines()[-1])
    assert written["torch"] is False
    back = NumpyPPO.load(tmp_path / "agent.pt")
    np.testing.assert_array_equal(back.params, np.load(tmp_path / "params.npy"))
    np.testing.assert_array_equal(back.optimizer.exp_avg_sq, np.load(tmp_path / "exp_avg_sq.npy"))
    assert back.optimizer.steps == written["steps"] == 40
    assert back.rng.bit_generator.state == written["rng"]
    torch_engine = rw.load(tmp_path / "agent.pt")
    assert isinstance(torch_engine, PPO)
    np.testing.assert_array_equal(torch_engine.flat.param.detach().numpy(), back.params)


def test_the_engine_choice() -> None:
    auto, numpy, torch_ = (PPOConfig(engine=e) for e in ("auto", "numpy", "torch"))  # type: ignore[arg-type]
    assert get_agent_class("ppo", auto, "cpu") is NumpyPPO
    assert get_agent_class("ppo", auto, "auto") is PPO  # CUDA may be there: torch decides
    assert get_agent_class("ppo", PPOConfig(activation="elu"), "cpu") is PPO
    assert get_agent_class("ppo", PPOConfig(curiosity="rnd"), "cpu") is PPO
    assert get_agent_class("ppo", numpy, "auto") is NumpyPPO
    assert get_agent_class("ppo", torch_, "cpu") is PPO
    with pytest.raises(ConfigError, match="engine must be auto, torch or numpy"):
        PPOConfig(engine="jax").validate()  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("config", "device", "match"),
    [
        (PPOConfig(activation="elu"), "cpu", "implements tanh and relu, not 'elu'"),
        (PPOConfig(curiosity="rnd"), "cpu", r"curiosity \(rnd\) needs the torch engine"),
        (PPOConfig(), "cuda", "runs on the CPU, not 'cuda'"),
    ],
)
def test_what_the_engine_cannot_run_is_refused_naming_why(
    config: PPOConfig, device: str, match: str
) -> None:
    with pytest.raises(ConfigError, match=match):
        NumpyPPO("CartPole-v1", config, device=device)


def test_bad_spaces_are_refused_as_by_the_torch_engine() -> None:
    with pytest.raises(SpaceMismatchError, match="scale_obs maps observations"):
        NumpyPPO("CartPole-v1", PPOConfig(scale_obs=True))  # CartPole's velocities are unbounded
    with pytest.raises(SpaceMismatchError, match=r"space is Discrete\(16\), expected Box"):
        NumpyPPO("FrozenLake-v1")


def test_zoo_settings_solve_cartpole_within_100k_steps() -> None:
    # Acceptance (issue 6, item 2, for this engine): eval mean >= 475 within 100k steps for at
    # least 4 of 5 seeds. Measured (rlworks bench ppo-cartpole, NumPy engine): seeds 0-4 solved
    # at 20k, 10k, 15k, 40k and 20k steps, about a second each.
    from rlworks.config import config_from_dict, find_preset, load_yaml

    path = find_preset("ppo-cartpole", "ppo", "CartPole-v1")
    assert path is not None
    config = config_from_dict(PPOConfig, load_yaml(path)["agent"], source=str(path))
    solved = []
    for seed in range(5):
        agent = NumpyPPO(rw.make_env("CartPole-v1", n_envs=8, seed=seed), config, seed=seed)
        result = agent.learn(100_000, eval_every=5_000, eval_episodes=20, target_return=475,
                             progress=False)  # fmt: skip
        solved.append(result.solved_at_step is not None and result.eval_mean >= 475)
    assert sum(solved) >= 4, solved
