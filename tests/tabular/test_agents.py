"""The tabular agents: construction errors, impossible actions, determinism, checkpoints, SARSA's
on-policy action, TD(0) against exact policy evaluation, and a short ``learn`` on every env."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest

import rlworks as rw
from rlworks.errors import ConfigError, SpaceMismatchError
from rlworks.mdp import book_mdp, policy_evaluation, uniform_policy
from rlworks.tabular import SARSA, TD0, ExpectedSARSA, QLearning, TabularAgent, TabularConfig
from rlworks.tabular.exploration import greedy_actions
from rlworks.training.driver import Driver
from rlworks.types import Transition

ALGOS: list[type[TabularAgent]] = [QLearning, SARSA, ExpectedSARSA, TD0]
BOOK = "rlworks/BookMDP-v0"
CARTPOLE_BINS: dict[str, Any] = {
    "discretize_bins": [6, 12],
    "discretize_dims": [2, 3],
    "discretize_low": [-0.2095, -0.8727],
    "discretize_high": [0.2095, 0.8727],
}


def _run(agent: TabularAgent, steps: int) -> None:
    Driver(agent.env, agent.collect_policy, agent.observers).run(num_steps=steps)


def _one(obs: int, action: int, reward: float, next_obs: int, *, term: bool, trunc: bool) -> Any:
    return Transition(
        np.array([obs]),
        np.array([action]),
        np.array([reward]),
        np.array([next_obs]),
        np.array([term]),
        np.array([trunc]),
        np.array([0]),
    )


# ----------------------------------------------------------------------------- construction
def test_box_observations_need_discretize_bins() -> None:
    env = rw.make_env("CartPole-v1", 1, seed=0)
    with pytest.raises(SpaceMismatchError, match="discretize_bins") as info:
        QLearning(env)
    assert "CartPole-v1" in str(info.value)


def test_box_actions_are_refused() -> None:
    env = rw.make_env("Pendulum-v1", 1, seed=0)
    config = TabularConfig(discretize_bins=[3, 3, 3])
    with pytest.raises(SpaceMismatchError, match="action"):
        QLearning(env, config)


@pytest.mark.parametrize(
    ("settings", "key"),
    [
        ({"gamma": 1.5}, "gamma"),
        ({"alpha0": 0.0}, "alpha0"),
        ({"epsilon_end": 2.0}, "epsilon_end"),
        ({"visit_exponent": 0.0}, "visit_exponent"),
        ({"discretize_dims": [2, 3]}, "discretize_dims"),
        ({"epsilon_decay_steps": 0}, "epsilon_decay_steps"),
        ({"decay": -1.0}, "decay"),
    ],
)
def test_bad_config_values_name_the_key(settings: dict[str, Any], key: str) -> None:
    env = rw.make_env("FrozenLake-v1", 1, seed=0)
    with pytest.raises(ConfigError, match=key):
        QLearning(env, TabularConfig(**settings))
    with pytest.raises(ConfigError, match=key):
        TabularConfig(**settings).validate()


def test_cartpole_with_bins_has_72_states() -> None:
    agent = QLearning(rw.make_env("CartPole-v1", 2, seed=0), TabularConfig(**CARTPOLE_BINS))
    assert agent.q_values.shape == (72, 2)
    # Upright and still: angle bin 3, velocity bin 6 → 3 * 12 + 6 = 42
    assert agent.states(np.zeros((1, 4))).tolist() == [42]


# ----------------------------------------------------------------------------- impossible actions
@pytest.mark.parametrize(
    ("algo", "exploration"),
    [
        (QLearning, "epsilon"),
        (QLearning, "random"),
        (QLearning, "bonus"),
        (SARSA, "epsilon"),
        (ExpectedSARSA, "epsilon"),
        (ExpectedSARSA, "bonus"),
        (TD0, "epsilon"),
    ],
)
def test_impossible_actions_are_never_taken(algo: type[TabularAgent], exploration: str) -> None:
    # The env itself raises on an impossible action, so finishing the run already shows it;
    # the visit counts and the -inf entries show it too.
    agent = algo(rw.make_env(BOOK, 4, seed=0), TabularConfig(exploration=exploration), seed=0)  # type: ignore[arg-type]
    valid = agent.valid
    assert valid.tolist() == book_mdp().valid.tolist()
    _run(agent, 3000)
    assert not agent.visits[~valid].any()
    if exploration == "random":
        assert agent.visits[valid].all()  # and every possible one is
    if agent.table_kind == "q":
        assert np.isneginf(agent.table[~valid]).all()
        assert np.isfinite(agent.table[valid]).all()
        greedy = greedy_actions(agent.table)
        assert valid[np.arange(3), greedy].all()
        # Greedy acting never picks them either, even after training.
        assert agent.act(np.array([0, 1, 2]), explore=False).tolist() == greedy.tolist()
    else:
        assert np.isfinite(agent.table).all()


# ----------------------------------------------------------------------------- single updates
def test_truncation_bootstraps_and_termination_does_not() -> None:
    config = TabularConfig(gamma=0.9, learning_rate="constant", alpha0=0.5)
    # Q(s0, .) = [5, 0, 0]; transition s0 --a0--> s0 with r = 10.
    # truncated:  target = 10 + 0.9 * max(5, 0, 0) = 14.5 → Q = 5 + 0.5 * (14.5 - 5) = 9.75
    # terminated: target = 10                            → Q = 5 + 0.5 * (10 - 5)   = 7.5
    for term, trunc, expected in [(False, True, 9.75), (True, False, 7.5), (True, True, 7.5)]:
        agent = QLearning(rw.make_env(BOOK, 1, seed=0), config)
        agent.table[0] = [5.0, 0.0, 0.0]
        agent.update(_one(0, 0, 10.0, 0, term=term, trunc=trunc))
        assert agent.q_values[0, 0] == pytest.approx(expected)
        assert agent.episodes == 1  # an episode both terminated and truncated ends once
        assert agent.steps == 1


def test_visits_learning_rate_is_a_sample_average() -> None:
    # α = 1 / N(s, a); terminated transitions so the target is the reward alone:
    # r = 10: N = 1, Q = 0 + 1 * (10 - 0) = 10; r = 20: N = 2, Q = 10 + (20 - 10) / 2 = 15;
    # r = 0: N = 3, Q = 15 + (0 - 15) / 3 = 10 = mean(10, 20, 0)
    agent = QLearning(rw.make_env(BOOK, 1, seed=0), TabularConfig(learning_rate="visits"))
    for reward, expected in [(10.0, 10.0), (20.0, 15.0), (0.0, 10.0)]:
        agent.update(_one(1, 2, reward, 2, term=True, trunc=False))
        assert agent.q_values[1, 2] == pytest.approx(expected)
    assert agent.visits[1, 2] == 3


def test_visits_learning_rate_is_a_sample_average_within_one_batch() -> None:
    # Three envs hit (1, 2) in one batch with rewards 10, 20, 0 (terminated): the rows get
    # N = 1, 2, 3 and are applied in order, 10 → 15 → 10, the mean of the three rewards.
    # A fourth row hits (0, 0) once: Q = 0 + 1 * (6 - 0) = 6.
    agent = QLearning(rw.make_env(BOOK, 4, seed=0), TabularConfig(learning_rate="visits"))
    batch = Transition(
        obs=np.array([1, 1, 1, 0]),
        action=np.array([2, 2, 2, 0]),
        reward=np.array([10.0, 20.0, 0.0, 6.0]),
        next_obs=np.array([2, 2, 2, 0]),
        terminated=np.array([True, True, True, True]),
        truncated=np.zeros(4, dtype=bool),
        env_ids=np.arange(4),
    )
    agent.update(batch)
    assert agent.q_values[1, 2] == pytest.approx(10.0)
    assert agent.q_values[0, 0] == pytest.approx(6.0)
    assert agent.visits[1, 2] == 3 and agent.visits[0, 0] == 1


def test_power_learning_rate_uses_the_step_count() -> None:
    # α = 0.05 / (1 + t * 0.005): the first update uses t = 0 (α = 0.05), the 201st t = 200
    # (α = 0.025). Book MDP, s0 --a0--> s0, r = 10, γ = 0.9, starting from Q = 0:
    # 1st: target 10 + 0.9 * 0 = 10, Q = 0.05 * 10 = 0.5
    config = TabularConfig(gamma=0.9, alpha0=0.05, decay=0.005, learning_rate="power")
    agent = QLearning(rw.make_env(BOOK, 1, seed=0), config)
    agent.update(_one(0, 0, 10.0, 0, term=False, trunc=False))
    assert agent.q_values[0, 0] == pytest.approx(0.5)
    # 2nd (t = 1, α = 0.05 / 1.005): target 10 + 0.9 * 0.5 = 10.45,
    # Q = 0.5 + (0.05 / 1.005) * (10.45 - 0.5) = 0.5 + 0.495025 ≈ 0.995025
    agent.update(_one(0, 0, 10.0, 0, term=False, trunc=False))
    assert agent.q_values[0, 0] == pytest.approx(0.5 + 0.05 / 1.005 * 9.95)


# ----------------------------------------------------------------------------- determinism, files
@pytest.mark.parametrize("algo", ALGOS)
def test_same_seed_gives_identical_tables(algo: type[TabularAgent]) -> None:
    tables = []
    for seed in (3, 3, 4):
        agent = algo(rw.make_env("FrozenLake-v1", 4, seed=seed), seed=seed)
        _run(agent, 3000)
        tables.append(agent.table.copy())
    np.testing.assert_array_equal(tables[0], tables[1])
    assert not np.array_equal(tables[0], tables[2])


@pytest.mark.parametrize("algo", ALGOS)
def test_save_load_round_trip(algo: type[TabularAgent], tmp_path: Path) -> None:
    agent = algo(rw.make_env(BOOK, 2, seed=0), TabularConfig(gamma=0.9), seed=0)
    _run(agent, 2000)
    path = agent.save(tmp_path / "agent.pt")
    loaded = rw.load(path)
    assert type(loaded) is algo
    assert isinstance(loaded, TabularAgent)
    np.testing.assert_array_equal(loaded.table, agent.table)
    np.testing.assert_array_equal(loaded.visits, agent.visits)
    assert (loaded.steps, loaded.episodes) == (agent.steps, agent.episodes)
    assert loaded.config == agent.config
    if isinstance(agent, (QLearning, SARSA, ExpectedSARSA)):
        assert isinstance(loaded, type(agent))
        assert loaded.greedy_policy().tolist() == agent.greedy_policy().tolist()
        assert loaded.policy_version == agent.policy_version
        obs = np.array([0, 1, 2])
        assert loaded.act(obs, explore=False).tolist() == agent.act(obs, explore=False).tolist()


def test_save_load_round_trip_with_discretized_cartpole(tmp_path: Path) -> None:
    agent = QLearning(rw.make_env("CartPole-v1", 2, seed=0), TabularConfig(**CARTPOLE_BINS))
    _run(agent, 1000)
    loaded = rw.load(agent.save(tmp_path / "q.pt"))
    assert isinstance(loaded, QLearning)
    np.testing.assert_array_equal(loaded.q_values, agent.q_values)
    obs = np.random.default_rng(0).uniform(-0.3, 0.3, size=(50, 4))
    assert loaded.act(obs, explore=False).tolist() == agent.act(obs, explore=False).tolist()


def test_policy_version_changes_iff_the_greedy_policy_changes() -> None:
    agent = QLearning(rw.make_env(BOOK, 1, seed=0))
    start = agent.policy_version
    assert agent.greedy_policy().tolist() == [0, 0, 1]  # all-zero table: ties to the lowest
    agent.table[0, 2] = 0.5  # s0 now prefers a2
    changed = agent.policy_version
    assert changed != start
    agent.table[0, 1] = 0.2  # below 0.5: same greedy policy
    agent.table[1, 2] = -3.0  # s1 still prefers a0
    assert agent.policy_version == changed
    agent.table[0, 2] = 0.0  # back to a1 (0.2) being the best in s0
    assert agent.greedy_policy().tolist() == [1, 0, 1]
    assert agent.policy_version not in (start, changed)
    # Over a training run: equal versions exactly when the policies are equal.
    agent = QLearning(rw.make_env("FrozenLake-v1", 4, seed=0), seed=0)
    seen: list[tuple[tuple[int, ...], int]] = []
    driver = Driver(agent.env, agent.collect_policy, agent.observers)
    for _ in range(30):
        driver.run(num_steps=400)
        seen.append((tuple(agent.greedy_policy().tolist()), agent.policy_version))
    assert len({p for p, _ in seen}) > 1
    for p1, v1 in seen:
        for p2, v2 in seen:
            assert (p1 == p2) == (v1 == v2)


# ----------------------------------------------------------------------------- SARSA on-policy
def test_sarsa_plays_the_action_its_update_planned() -> None:
    env = rw.make_env("FrozenLake-v1", 4, seed=0)
    config = TabularConfig(gamma=0.9, epsilon_schedule="constant", epsilon_start=0.5)
    agent = SARSA(env, config, seed=0)
    original_targets, original_behaviour = agent.targets, agent._behaviour
    drawn: list[np.ndarray] = []
    planned: dict[int, tuple[int, int]] = {}  # env id → (s', a') from its last update
    checks = {"targets": 0, "actions": 0}

    def behaviour(s: np.ndarray) -> np.ndarray:
        actions = original_behaviour(s)
        drawn.append(actions.copy())
        return actions

    def targets(batch: Transition, next_states: np.ndarray) -> np.ndarray:
        before = agent.table.copy()
        drawn.clear()
        out = original_targets(batch, next_states)
        (next_actions,) = drawn  # the one draw of a' for this batch
        # The target is r + γ Q(s', a') with the a' just drawn (r alone when terminated).
        bootstrap = np.where(batch.terminated, 0.0, before[next_states, next_actions])
        np.testing.assert_allclose(out, batch.reward + 0.9 * bootstrap)
        checks["targets"] += len(out)
        planned.clear()
        for row, env_id in enumerate(batch.env_ids):
            if not batch.done[row]:
                planned[int(env_id)] = (int(next_states[row]), int(next_actions[row]))
        return out

    def policy(obs: np.ndarray) -> np.ndarray:
        actions = agent.act(obs, explore=True)
        states = agent.states(obs)
        for env_id, (state, action) in planned.items():
            assert states[env_id] == state
            assert actions[env_id] == action  # the action its update used is the one played
            checks["actions"] += 1
        return actions

    agent.targets = targets  # type: ignore[method-assign]
    agent._behaviour = behaviour  # type: ignore[method-assign]
    Driver(env, policy, agent.observers).run(num_steps=3000)
    assert checks["targets"] >= 3000
    assert checks["actions"] > 2000  # most steps continue an episode


# ----------------------------------------------------------------------------- TD(0) prediction
def test_td0_approaches_exact_policy_evaluation() -> None:
    mdp = book_mdp()
    uniform = uniform_policy(mdp)  # random over possible actions
    exact = policy_evaluation(mdp, uniform, gamma=0.9)
    # V^π ≈ [-2.70, -20.05, 31.05]
    np.testing.assert_allclose(exact, [-2.698, -20.053, 31.047], atol=1e-3)
    config = TabularConfig(gamma=0.9, learning_rate="visits", visit_exponent=0.7)
    agent = TD0(rw.make_env(BOOK, 8, seed=0), config, seed=0)
    _run(agent, TD0_STEPS)
    # Measured max |V - V^π| over seeds 0-9 at TD0_STEPS: see TD0_TOLERANCE.
    assert np.abs(agent.values - exact).max() < TD0_TOLERANCE


TD0_STEPS = 100_000
TD0_TOLERANCE = 1.5


# ----------------------------------------------------------------------------- learn() smoke
ENVS: list[tuple[str, dict[str, Any]]] = [
    ("FrozenLake-v1", {}),
    (BOOK, {"gamma": 0.9}),
    ("CartPole-v1", CARTPOLE_BINS),
]


@pytest.mark.parametrize("algo", ALGOS, ids=lambda a: a.algo)
@pytest.mark.parametrize(("env_id", "settings"), ENVS, ids=[e for e, _ in ENVS])
def test_learn_runs_on_every_env(
    algo: type[TabularAgent], env_id: str, settings: dict[str, Any]
) -> None:
    agent = algo(rw.make_env(env_id, 4, seed=0), TabularConfig(**settings), seed=0)
    result = agent.learn(2_000, progress=False)
    assert result.steps >= 2_000
    assert result.algo == algo.algo
    assert np.isfinite(result.eval_mean)
    learned = agent.table[agent.valid] if agent.table.ndim == 2 else agent.table
    assert np.isfinite(learned).all()
    assert agent.visits.sum() == agent.steps
