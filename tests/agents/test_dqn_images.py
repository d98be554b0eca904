"""DQN on image observations: a CNN, frames kept uint8 up to it, gradient steps through autograd."""

from __future__ import annotations

from typing import Any

import gymnasium as gym
import numpy as np
import pytest
import torch

import rlworks as rw
from rlworks.agents import DQN, DQNConfig
from rlworks.config import config_from_dict
from rlworks.errors import ConfigError
from rlworks.nets import NoisyLinear
from rlworks.training.driver import Driver

SMALL = (4, 36, 36)
# 36 → (36 - 4) // 2 + 1 = 17 → (17 - 3) // 2 + 1 = 8; 8 · 8 · 16 = 1024 conv features.
SMALL_CONV = [[8, 4, 2], [16, 3, 2]]
TINY = {"buffer_size": 300, "batch_size": 8, "learning_starts": 20, "train_freq": 4}


class RandomFrames(gym.Env[np.ndarray, np.int64]):
    """Stacked uint8 frames of noise; action 1 pays 1; episodes last 15 steps."""

    def __init__(self, shape: tuple[int, ...] = SMALL) -> None:
        self.observation_space = gym.spaces.Box(0, 255, shape, np.uint8)
        self.action_space = gym.spaces.Discrete(4)
        self._t = 0

    def _frame(self) -> np.ndarray:
        return self.np_random.integers(0, 256, self.observation_space.shape, dtype=np.uint8)

    def reset(
        self, *, seed: int | None = None, options: dict[str, Any] | None = None
    ) -> tuple[np.ndarray, dict[str, Any]]:
        super().reset(seed=seed)
        self._t = 0
        return self._frame(), {}

    def step(self, action: np.int64) -> tuple[np.ndarray, float, bool, bool, dict[str, Any]]:
        self._t += 1
        return self._frame(), float(action == 1), self._t >= 15, False, {}


def make(shape: tuple[int, ...] = SMALL, n_envs: int = 2, **settings: Any) -> DQN:
    env = gym.vector.SyncVectorEnv([lambda: RandomFrames(shape) for _ in range(n_envs)])
    env.reset(seed=0)
    config = config_from_dict(DQNConfig, {**TINY, **settings})
    return DQN(env, config, seed=0, device="cpu")


@pytest.mark.parametrize(
    "settings",
    [{}, {"double": True, "dueling": "max", "n_step": 3},
     {"dueling": "mean", "noisy": True, "distributional": True, "atoms": 11, "prioritized": True,
      "exploration_initial_eps": 0.0, "exploration_final_eps": 0.0}],
)  # fmt: skip
def test_dqn_acts_and_learns_on_frames_through_torch(settings: dict[str, Any]) -> None:
    agent = make(conv_layer_params=SMALL_CONV, fc_layer_params=[32], **settings)
    assert agent.q_net.is_conv and agent._numpy_learner is None  # the autograd path
    seen: list[torch.dtype] = []
    assert agent.q_net.torso is not None
    agent.q_net.torso.register_forward_pre_hook(lambda _m, args: seen.append(args[0].dtype))
    driver = Driver(agent.env, agent.collect_policy, agent.observers)
    infos = [agent.train_iteration(driver) for _ in range(12)]  # 12 · 4 = 48 steps
    assert agent.gradient_steps > 0
    assert agent.buffer.gather(np.arange(1)).obs.dtype == np.uint8  # frames stored as bytes
    assert all(np.isfinite(info["loss"]) for info in infos if "loss" in info)
    # Every batch reached the network as uint8: no float32 copy of the frames on the way.
    assert seen and set(seen) == {torch.uint8}
    frames = np.zeros((3, *SMALL), np.uint8)
    for explore in (True, False):
        actions = agent.act(frames, explore=explore)
        assert actions.shape == (3,) and ((actions >= 0) & (actions < 4)).all()
    assert agent.act(frames[:1]).shape == (1,)


def test_image_observations_get_the_nature_cnn_by_default() -> None:
    agent = make((4, 84, 84), n_envs=1, dueling="mean", noisy=True)
    net = agent.q_net
    assert net.torso is not None and net.torso.conv_output_shape == (64, 7, 7)  # 84 → 20 → 9 → 7
    assert isinstance(net.body[0], NoisyLinear) and net.body[0].out_features == 512
    assert agent._numpy_learner is None
    loss_info = agent.update(rw.buffers.ReplayBatch(*_batch(agent, 4)))
    assert np.isfinite(loss_info["loss"])


def _batch(agent: DQN, n: int) -> tuple[Any, ...]:
    """A hand-made uint8 replay batch of ``n`` transitions."""
    rng = np.random.default_rng(0)
    shape = agent.observation_space.shape
    assert shape is not None
    for _ in range(n):
        frame = rng.integers(0, 256, (1, *shape), dtype=np.uint8)
        agent.buffer.add(frame, [1], [1.0], frame, [False], [False], [0])
    return tuple(agent.buffer.gather(np.arange(n)))


def test_empty_conv_params_flatten_images_into_an_mlp_that_divides_by_255() -> None:
    agent = make(conv_layer_params=[], hidden_sizes=[8])
    net = agent.q_net
    assert not net.is_conv and net.input_scale == 255.0
    assert agent._numpy_learner is None and net.numpy_q(np.zeros((1, *SMALL))) is None
    frames = np.full((2, *SMALL), 255, np.uint8)
    with torch.no_grad():  # 255 in the frames is 1.0 to the first layer
        scaled = net(torch.as_tensor(frames))
        net.input_scale = 1.0
        ones = net(torch.ones(2, *SMALL))
    torch.testing.assert_close(scaled, ones)


def test_nature_layers_on_frames_too_small_name_the_fix() -> None:
    # 32 → 7 → 2: the Nature stack's 3x3 kernel no longer fits.
    with pytest.raises(ConfigError, match=r"conv_layer_params\[2\].*conv_layer_params is null"):
        make((4, 32, 32), n_envs=1)


def test_conv_params_on_vector_observations_are_refused() -> None:
    env = rw.make_env("CartPole-v1", n_envs=1, seed=0)
    config = config_from_dict(DQNConfig, {"conv_layer_params": [[8, 2, 1]]})
    with pytest.raises(ConfigError, match=r"shape \(4,\): set conv_layer_params to null or \[\]"):
        DQN(env, config, device="cpu")


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        ({"conv_layer_params": [[32, 8]]}, r"conv_layer_params\[0\] must be .* got \[32, 8\]"),
        ({"conv_layer_params": [[32, 8, 0]]}, r"conv_layer_params\[0\].*got \[32, 8, 0\]"),
        ({"fc_layer_params": [0]}, r"fc_layer_params must hold widths >= 1, got \[0\]"),
        ({"conv_layer_params": "nature"}, r"conv_layer_params must be"),
    ],
)
def test_bad_conv_settings_name_the_key(settings: dict[str, Any], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        config_from_dict(DQNConfig, settings)


def test_stacked_atari_frames_go_to_the_frame_buffer_and_train() -> None:
    pytest.importorskip("ale_py")
    from rlworks.buffers import FrameReplayBuffer, PrioritizedFrameReplayBuffer

    env = rw.make_env("ALE/Breakout-v5", n_envs=2, seed=0, atari=True)
    for prioritized, cls in ((False, FrameReplayBuffer), (True, PrioritizedFrameReplayBuffer)):
        config = config_from_dict(DQNConfig, {**TINY, "prioritized": prioritized})
        agent = DQN(env, config, seed=0, device="cpu")
        assert type(agent.buffer) is cls
        driver = Driver(agent.env, agent.collect_policy, agent.observers)
        infos = [agent.train_iteration(driver) for _ in range(8)]  # 8 · 4 = 32 steps
        assert agent.gradient_steps > 0
        assert all(np.isfinite(info["loss"]) for info in infos if "loss" in info)
        batch = agent.buffer.gather(np.arange(4))
        assert batch.obs.shape == (4, 4, 84, 84) and batch.obs.dtype == np.uint8
    env.close()


def test_a_conv_agent_saves_and_loads_its_network(tmp_path: Any) -> None:
    agent = make(conv_layer_params=SMALL_CONV, fc_layer_params=[32])
    driver = Driver(agent.env, agent.collect_policy, agent.observers)
    for _ in range(8):
        agent.train_iteration(driver)
    path = tmp_path / "dqn.pt"
    agent.save(path)
    loaded = DQN.load(path, agent.env)  # the frames env has no registered id to rebuild
    assert loaded.q_net.is_conv
    frames = np.random.default_rng(0).integers(0, 256, (5, *SMALL), dtype=np.uint8)
    np.testing.assert_array_equal(agent.act(frames), loaded.act(frames))
    with torch.no_grad():
        torch.testing.assert_close(
            agent.q_net(torch.as_tensor(frames)), loaded.q_net(torch.as_tensor(frames))
        )


@pytest.mark.parametrize(("mode", "frames"), [("auto", False), ("on", True), ("off", False)])
def test_frame_replay_is_for_frame_stacks(mode: str, frames: bool) -> None:
    # The fake env's observations are images but not Atari frame stacks (no preprocessing
    # options): auto keeps the plain buffer, which stores each observation whole.
    from rlworks.buffers import FrameReplayBuffer

    agent = make(conv_layer_params=SMALL_CONV, fc_layer_params=[32], frame_replay=mode)
    assert isinstance(agent.buffer, FrameReplayBuffer) == frames


def test_frame_replay_must_be_a_known_mode() -> None:
    with pytest.raises(ConfigError, match="frame_replay must be one of 'auto', 'on', 'off'"):
        config_from_dict(DQNConfig, {"frame_replay": "yes"})


def test_conv_networks_train_on_every_core_unless_a_collector_needs_one() -> None:
    assert make(conv_layer_params=SMALL_CONV, fc_layer_params=[32]).torch_threads() is None
    asynchronous = make(conv_layer_params=SMALL_CONV, fc_layer_params=[32], async_collection=True)
    assert asynchronous.torch_threads() == 1
    assert make(conv_layer_params=[], hidden_sizes=[8]).torch_threads() == 1  # an MLP
