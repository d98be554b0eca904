"""DQN with ``async_collection``: collection in a background thread overlapped with learning.

Nothing here is timed: the tests check the schedule (gradient steps per env step), the hand-over
(no thread outlives an iteration, errors of either side surface), and the trainer around it
(evaluation, checkpoints, resume). Speed lives in ``rlworks bench dqn-breakout``.
"""

from __future__ import annotations

import threading
import traceback
from typing import Any

import gymnasium as gym
import numpy as np
import pytest
import torch

import rlworks as rw
from rlworks.agents import DQN, DQNConfig
from rlworks.config import config_from_dict
from rlworks.errors import ConfigError
from rlworks.training.async_collect import COLLECTOR_THREAD_NAME
from rlworks.training.driver import Driver

SMALL = (4, 36, 36)
SMALL_CONV = [[8, 4, 2], [16, 3, 2]]  # 36 → 17 → 8: 8 · 8 · 16 = 1024 conv features
TINY = {
    "buffer_size": 500,
    "batch_size": 8,
    "learning_starts": 20,
    "train_freq": 4,
    "conv_layer_params": SMALL_CONV,
    "fc_layer_params": [32],
    "async_collection": True,
}
ENV_ID = "rlworks-test/AsyncFrames-v0"


class Frames(gym.Env[np.ndarray, np.int64]):
    """Stacked uint8 noise frames; action 1 pays 1; episodes last 15 steps. With ``fail_at``
    the ``fail_at``-th step of the process raises (an env that breaks mid-run)."""

    steps_taken = 0  # over every copy, for fail_at

    def __init__(self, fail_at: int | None = None) -> None:
        self.observation_space = gym.spaces.Box(0, 255, SMALL, np.uint8)
        self.action_space = gym.spaces.Discrete(4)
        self.fail_at = fail_at
        self._t = 0

    def _frame(self) -> np.ndarray:
        return self.np_random.integers(0, 256, SMALL, dtype=np.uint8)

    def reset(
        self, *, seed: int | None = None, options: dict[str, Any] | None = None
    ) -> tuple[np.ndarray, dict[str, Any]]:
        super().reset(seed=seed)
        self._t = 0
        return self._frame(), {}

    def step(self, action: np.int64) -> tuple[np.ndarray, float, bool, bool, dict[str, Any]]:
        Frames.steps_taken += 1
        if self.fail_at is not None and Frames.steps_taken >= self.fail_at:
            raise RuntimeError(f"the frame grabber broke at step {Frames.steps_taken}")
        self._t += 1
        return self._frame(), float(action == 1), self._t >= 15, False, {}


if ENV_ID not in gym.registry:
    gym.register(ENV_ID, entry_point=Frames, max_episode_steps=15)


def collector_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name == COLLECTOR_THREAD_NAME]


def make(n_envs: int = 2, env_kwargs: dict[str, Any] | None = None, **settings: Any) -> DQN:
    env = rw.make_env(ENV_ID, n_envs=n_envs, seed=0, env_kwargs=env_kwargs or {})
    config = config_from_dict(DQNConfig, {**TINY, **settings})
    return DQN(env, config, seed=0, device="cpu")


@pytest.fixture(autouse=True)
def _one_torch_thread() -> Any:
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    Frames.steps_taken = 0
    yield
    torch.set_num_threads(threads)
    assert not collector_threads(), "a collector thread outlived its test"


@pytest.mark.parametrize(
    ("n_envs", "settings"),
    [(2, {}), (1, {"gradient_steps": 2}), (3, {"train_freq": 2}),
     (2, {"prioritized": True, "noisy": True, "n_step": 3, "double": True, "dueling": "mean",
          "exploration_initial_eps": 0.0, "exploration_final_eps": 0.0}),
     (2, {"unit": "episodes", "train_freq": 1, "learning_starts": 2, "target_update_period": 2})],
)  # fmt: skip
def test_async_keeps_the_serial_ratio_of_gradient_steps(
    n_envs: int, settings: dict[str, Any]
) -> None:
    agent = make(n_envs, **settings)
    cfg = agent.config
    assert agent.actor_net is not agent.q_net  # the collector acts with its own copy
    driver = Driver(agent.env, agent.collect_policy, agent.observers)
    owed = 0  # gradient steps the serial loop would have taken by now
    slack = cfg.gradient_steps * max(1, -(-n_envs // cfg.train_freq))  # one iteration's worth
    async_iterations = 0
    for _ in range(60):
        before, ready = agent.units, agent._ready_to_learn()
        info = agent.train_iteration(driver)
        async_iterations += ready
        if agent._ready_to_learn():
            phases = agent.units // cfg.train_freq - before // cfg.train_freq
            owed += cfg.gradient_steps * max(phases, 1)
        # Never behind the serial schedule, never more than one iteration ahead of it.
        assert 0 <= agent.gradient_steps - owed <= slack, (agent.gradient_steps, owed)
        assert not collector_threads()  # joined at the end of every iteration
        assert all(np.isfinite(v) for v in info.values())
    assert async_iterations > 30 and agent.gradient_steps > 30
    # The actor follows the online network: at most actor_sync_period gradient steps behind.
    assert agent.gradient_steps - agent._actor_synced_at < cfg.actor_sync_period
    assert driver.observers == [*agent.observers]  # the driver got its own observers back


def test_async_trains_through_the_trainer_and_resumes(tmp_path: Any) -> None:
    agent = make()
    result = agent.learn(
        300,
        eval_every=100,
        eval_episodes=2,
        checkpoint_every=100,
        run_dir=tmp_path / "run",
        progress=False,
    )
    assert result.steps >= 300 and np.isfinite(result.eval_mean)
    assert agent.gradient_steps >= (300 - 20) // 4 - 1
    checkpoints = sorted((tmp_path / "run" / "checkpoints").glob("*.pt"))
    assert len(checkpoints) >= 3
    # Resume: the online network, its optimizer, the actor's generator and the counts come back,
    # and the actor starts from the online weights.
    agent.actor_rng.random()  # move the saved agent's generator away from the checkpoint's
    saved = agent.save(tmp_path / "last.pt")
    loaded = DQN.load(saved, make().env, device="cpu")
    assert loaded.gradient_steps == agent.gradient_steps
    assert loaded.progress.steps == agent.progress.steps
    assert loaded.actor_rng.random() == agent.actor_rng.random()
    for online, actor in zip(
        loaded.q_net.state_dict().values(), loaded.actor_net.state_dict().values(), strict=True
    ):
        assert torch.equal(online, actor)
    before = loaded.gradient_steps
    loaded.learn(120, eval_episodes=1, progress=False)  # refills the buffer, then learns again
    assert loaded.gradient_steps > before


def test_a_collector_error_surfaces_with_its_traceback() -> None:
    agent = make(env_kwargs={"fail_at": 120})  # after learning started: in the collector thread
    with pytest.raises(RuntimeError, match="frame grabber broke") as caught:
        agent.learn(1_000, eval_every=0, progress=False)
    notes = getattr(caught.value, "__notes__", [])
    assert any("collector thread" in note for note in notes), notes
    frames = [frame.name for frame in traceback.extract_tb(caught.value.__traceback__)]
    assert "step" in frames and "_run" in frames  # the env's frame, in the collector thread
    assert not collector_threads()


def test_a_learner_error_stops_the_collector() -> None:
    # Episodes of 15 steps collected in the background while the learner fails at once: the
    # collector is told to stop at its next transition and is joined before the error surfaces.
    agent = make(unit="episodes", train_freq=50, learning_starts=1)
    driver = Driver(agent.env, agent.collect_policy, agent.observers)
    while not agent._ready_to_learn():
        agent.train_iteration(driver)
    steps = driver.total_steps

    def broken(batch: Any = None) -> dict[str, float]:
        raise FloatingPointError("the learner broke")

    agent.update = broken  # type: ignore[method-assign]
    with pytest.raises(FloatingPointError, match="learner broke"):
        agent.train_iteration(driver)
    assert not collector_threads()
    assert driver.total_steps - steps < 50 * 15  # stopped well before its 50 episodes
    assert driver.observers == [*agent.observers]


def test_sync_mode_is_untouched_and_settings_are_checked() -> None:
    agent = make(async_collection=False)
    assert agent.actor_net is agent.q_net and agent.actor_rng is agent.rng
    assert "actor_rng" not in agent._state()
    with pytest.raises(ConfigError, match="actor_sync_period"):
        make(actor_sync_period=0)


def test_ctrl_c_while_waiting_for_the_collector_stops_it(monkeypatch: pytest.MonkeyPatch) -> None:
    # Ctrl-C reaches the learner while it waits for the collector (simulated: the wait raises
    # KeyboardInterrupt; a real SIGINT's delivery depends on which thread the OS picks). The
    # collector must be stopped and joined too, and the driver get its observers back, before
    # the interrupt propagates.
    import threading
    import time

    from rlworks.training.async_collect import (
        COLLECTOR_THREAD_NAME,
        BackgroundCollection,
        collect_in_background,
    )

    class SlowDriver:
        num_envs, total_steps = 1, 0

        def __init__(self) -> None:
            self.buffer = lambda transition: None
            self.observers: list[Any] = [self.buffer]

        def run(self, num_steps: int) -> None:
            for _ in range(num_steps):
                time.sleep(0.02)
                for observer in self.observers:
                    observer(None)
                self.total_steps += 1

    real_join = BackgroundCollection.join
    interrupted: list[bool] = []

    def join(self: BackgroundCollection, *, stop: bool = False) -> None:
        if not stop and not interrupted:
            interrupted.append(True)
            time.sleep(0.1)  # a few transitions in
            raise KeyboardInterrupt
        real_join(self, stop=stop)

    monkeypatch.setattr(BackgroundCollection, "join", join)
    driver = SlowDriver()
    observers = list(driver.observers)
    collecting = collect_in_background(driver, threading.Lock(), [driver.buffer], num_steps=500)
    with pytest.raises(KeyboardInterrupt), collecting:
        pass  # the learner is done at once and waits for the collector
    steps = driver.total_steps
    assert interrupted and 0 < steps < 500
    assert not [t for t in threading.enumerate() if t.name == COLLECTOR_THREAD_NAME]
    assert driver.observers == observers
    time.sleep(0.1)
    assert driver.total_steps == steps  # nothing steps any more
