"""Tests for rlworks.agents.evolution: config checks, the flat-parameter policy's exact outputs, the
static assignment of (candidate, episode) jobs to sub-environments, the genetic algorithm's
survivors and offspring, the cross-entropy refit, checkpoints, determinism, and learning on
CartPole."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from gymnasium.vector import AutoresetMode

import rlworks
from rlworks.agents import CEMConfig, CrossEntropyMethod, GeneticAlgorithm, GeneticConfig
from rlworks.agents.evolution import FlatPolicy, GenerationEvaluator
from rlworks.cli import main
from rlworks.config import config_from_dict
from rlworks.errors import ConfigError
from rlworks.training import Driver
from rlworks.training.driver import episode_quota as job_quota
from rlworks.types import Transition

# ---------------------------------------------------------------------------------------------
# Config


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        ({"population": 1}, "population must be >= 2, got 1"),
        ({"n_survivors": 0}, r"n_survivors must be in \[1, population - 1\] = \[1, 99\], got 0"),
        (
            {"n_survivors": 100},
            r"n_survivors must be in \[1, population - 1\] = \[1, 99\], got 100",
        ),
        (
            {"n_survivors": 30},
            r"n_survivors must divide population - n_survivors \(every survivor has as many "
            r"offspring\), got n_survivors=30 for population=100",
        ),
        ({"mutation_scale": 0.0}, "mutation_scale must be a positive number, got 0.0"),
        ({"mutation_scale": math.nan}, "mutation_scale must be a positive number, got nan"),
        ({"param_scale": -1}, "param_scale must be a positive number, got -1.0"),
        ({"episodes_per_candidate": 0}, "episodes_per_candidate must be >= 1, got 0"),
        ({"hidden_sizes": [8, 0]}, r"hidden_sizes must be widths >= 1, got \[8, 0\]"),
        ({"hidden_sizes": 8}, "hidden_sizes must be tuple"),
        ({"distribution": "gaussian"}, "distribution must be one of 'uniform', 'normal'"),
        ({"reevaluate_survivors": "yes"}, "reevaluate_survivors must be true or false"),
    ],
)
def test_genetic_config_errors_name_the_key(settings: dict[str, Any], message: str) -> None:
    with pytest.raises(ConfigError, match=f"^preset.yaml: {message}"):
        config_from_dict(GeneticConfig, settings, source="preset.yaml")


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        ({"population": 0}, "population must be >= 2, got 0"),
        ({"elite_fraction": 0.0}, r"elite_fraction must be in \(0, 1\], got 0.0"),
        ({"elite_fraction": 1.5}, r"elite_fraction must be in \(0, 1\], got 1.5"),
        (
            {"elite_fraction": 0.005},
            "elite_fraction must leave at least one elite: 0.005 of population=50 rounds to 0",
        ),
        ({"init_std": 0}, "init_std must be a positive number, got 0.0"),
        ({"extra_noise": -0.1}, "extra_noise must be a number >= 0, got -0.1"),
        ({"extra_noise": math.inf}, "extra_noise must be a number >= 0, got inf"),
        ({"extra_noise_generations": 0}, "extra_noise_generations must be >= 1, got 0"),
        ({"episodes_per_candidate": -1}, "episodes_per_candidate must be >= 1, got -1"),
    ],
)
def test_cem_config_errors_name_the_key(settings: dict[str, Any], message: str) -> None:
    with pytest.raises(ConfigError, match=f"^preset.yaml: {message}"):
        config_from_dict(CEMConfig, settings, source="preset.yaml")


def test_hand_built_configs_are_validated_too() -> None:
    with pytest.raises(ConfigError, match="n_survivors must divide"):
        GeneticAlgorithm("CartPole-v1", GeneticConfig(population=10, n_survivors=3))
    with pytest.raises(ConfigError, match="expects a CEMConfig, got GeneticConfig"):
        CrossEntropyMethod("CartPole-v1", GeneticConfig())  # type: ignore[arg-type]


def test_the_chapter_numbers_are_the_defaults() -> None:
    config = GeneticConfig()
    # 100 policies, 20 survivors, 4 offspring each: 20 + 20 * 4 = 100.
    assert (config.population, config.n_survivors) == (100, 20)
    agent = GeneticAlgorithm("CartPole-v1", seed=0)
    assert agent.population.shape == (100, 8)  # linear policy: 2 actions x 4 features
    assert np.all(np.abs(agent.population) <= config.param_scale)


# ---------------------------------------------------------------------------------------------
# The flat-parameter policy


def test_flat_policy_layout() -> None:
    # Linear: 2 x 4 weights; with bias 2 x (4 + 1); MLP 4 → 3 → 2: 3*4 + 2*3 = 18 weights,
    # plus 3 + 2 biases = 23.
    assert FlatPolicy(4, 2, (), bias=False).size == 8
    assert FlatPolicy(4, 2, (), bias=True).size == 10
    assert FlatPolicy(4, 2, (3,), bias=False).size == 18
    assert FlatPolicy(4, 2, (3,), bias=True).size == 23
    net = FlatPolicy(2, 1, (2,), bias=True)  # W1 [2, 2], b1 [2], W2 [1, 2], b2 [1]
    params = np.arange(9.0)[None]  # [1, 9]
    (w1, b1), (w2, b2) = net.layers(params)
    np.testing.assert_array_equal(w1[0], [[0, 1], [2, 3]])
    np.testing.assert_array_equal(b1, [[4, 5]])
    np.testing.assert_array_equal(w2[0], [[6, 7]])
    np.testing.assert_array_equal(b2, [[8]])


def test_each_row_uses_its_own_parameters() -> None:
    net = FlatPolicy(2, 2, (), bias=False)
    params = np.array(
        [
            [1.0, 0.0, 0.0, 1.0],  # identity: scores = obs
            [0.0, 1.0, 1.0, 0.0],  # swap: scores = (obs[1], obs[0])
            [2.0, 0.0, 0.0, -1.0],  # scores = (2 obs[0], -obs[1])
        ]
    )
    obs = np.array([[1.0, 2.0], [1.0, 2.0], [1.0, 2.0]], dtype=np.float32)
    np.testing.assert_array_equal(net.scores(params, obs), [[1, 2], [2, 1], [2, -2]])
    # One parameter vector for every row broadcasts.
    np.testing.assert_array_equal(net.scores(params[1:2], obs), [[2, 1]] * 3)


def test_mlp_forward_is_tanh_hidden_then_linear() -> None:
    net = FlatPolicy(2, 1, (2,), bias=True)
    # W1 = [[1, 0], [0, 1]], b1 = [0, 1], W2 = [[1, -1]], b2 = [0.5]
    params = np.array([[1.0, 0.0, 0.0, 1.0, 0.0, 1.0, 1.0, -1.0, 0.5]])
    obs = np.array([[0.5, -1.0]])
    # hidden = tanh([0.5, -1 + 1]) = [tanh 0.5, 0]; output = tanh 0.5 - 0 + 0.5 = 0.9621172
    np.testing.assert_allclose(net.scores(params, obs), [[np.tanh(0.5) + 0.5]])


def test_box_actions_stay_within_the_bounds() -> None:
    agent = CrossEntropyMethod("Pendulum-v1", CEMConfig(init_std=50.0, hidden_sizes=(4,)), seed=0)
    obs = np.random.default_rng(0).uniform(-8, 8, size=(64, 3)).astype(np.float32)
    agent.mean = agent.rng.normal(0.0, 50.0, size=agent.net.size)
    actions = agent.act(obs, explore=False)
    assert actions.shape == (64, 1)
    assert actions.dtype == np.float32
    assert np.all((actions >= -2.0) & (actions <= 2.0))


# ---------------------------------------------------------------------------------------------
# Parallel evaluation: every (candidate, episode) job exactly once, by its own candidate


def test_job_quota_is_the_drivers_rule() -> None:
    # 10 jobs on 4 envs: 10 // 4 = 2 each, the first 10 % 4 = 2 get one more.
    np.testing.assert_array_equal(job_quota(10, 4), [3, 3, 2, 2])
    np.testing.assert_array_equal(job_quota(3, 5), [1, 1, 1, 0, 0])
    np.testing.assert_array_equal(job_quota(8, 8), [1] * 8)


class JobSpy:
    """An observer placed before the evaluator: checks each row's action against the candidate
    of its sub-environment's current job, and records each finished job and its return."""

    def __init__(self, evaluator: GenerationEvaluator, net: FlatPolicy, params: np.ndarray):
        self.evaluator, self.net, self.params = evaluator, net, params
        self.jobs: list[int] = []
        self.returns: dict[int, float] = {}
        self._running: dict[int, float] = {}
        self.rows = 0

    def __call__(self, transition: Transition, /) -> None:
        jobs = self.evaluator.current_jobs[transition.env_ids]
        candidates = jobs // self.evaluator.episodes
        expected = self.net.scores(self.params[candidates], transition.obs).argmax(axis=1)
        np.testing.assert_array_equal(transition.action, expected)
        self.rows += transition.batch_size
        for env, job, reward, done in zip(
            transition.env_ids, jobs, transition.reward, transition.done, strict=True
        ):
            self._running[int(env)] = self._running.get(int(env), 0.0) + float(reward)
            if done:
                self.jobs.append(int(job))
                self.returns[int(job)] = self._running.pop(int(env))


@pytest.mark.parametrize("n_envs", [1, 3, 7, 12, 25])
@pytest.mark.parametrize(
    "autoreset", [None, AutoresetMode.SAME_STEP, AutoresetMode.DISABLED], ids=str
)
def test_every_job_is_played_once_by_its_candidate(
    n_envs: int, autoreset: AutoresetMode | None
) -> None:
    # 6 candidates x 2 episodes = 12 jobs: n_envs 7 does not divide them, 25 > 12 leaves envs
    # with no job at all (they keep stepping with some candidate; the driver drops their rows).
    if autoreset is None:
        env = rlworks.make_env("CartPole-v1", n_envs, seed=0)  # native, next-step autoreset
    else:
        env = rlworks.make_env(
            "CartPole-v1", n_envs, seed=0, vectorization="sync", autoreset_mode=autoreset
        )
    net = FlatPolicy(4, 2, (), bias=False)
    params = np.random.default_rng(1).normal(size=(6, net.size))  # [6, 8]
    evaluator = GenerationEvaluator()
    spy = JobSpy(evaluator, net, params)

    def policy(obs: np.ndarray) -> np.ndarray:
        assert obs.shape[0] == n_envs  # the driver acts on every row
        out: np.ndarray = net.scores(evaluator.env_params(obs.shape[0]), obs).argmax(axis=1)
        return out

    driver = Driver(env, policy, [spy, evaluator])
    scores = evaluator.run(driver, params, episodes=2, seed=5)
    assert sorted(spy.jobs) == list(range(12))
    assert driver.total_episodes == 12
    assert spy.rows == driver.total_steps
    # A candidate's score is the mean return of its two jobs.
    expected = [(spy.returns[2 * c] + spy.returns[2 * c + 1]) / 2 for c in range(6)]
    np.testing.assert_allclose(scores, expected)
    assert not evaluator.active


def test_explore_outside_a_generation_acts_greedily() -> None:
    agent = GeneticAlgorithm("CartPole-v1", seed=0)
    obs = np.random.default_rng(0).normal(size=(5, 4)).astype(np.float32)
    np.testing.assert_array_equal(agent.act(obs, explore=True), agent.act(obs, explore=False))


def test_a_batch_of_the_wrong_size_during_a_generation_is_an_error() -> None:
    evaluator = GenerationEvaluator()
    env = rlworks.make_env("CartPole-v1", 4, seed=0)
    params = np.zeros((2, 8))
    driver = Driver(env, lambda obs: evaluator.env_params(3).argmax(axis=1), [evaluator])
    with pytest.raises(ValueError, match="a generation runs on 4 sub-environments, got a batch"):
        evaluator.run(driver, params, episodes=1, seed=0)
    assert not evaluator.active


# ---------------------------------------------------------------------------------------------
# Genetic algorithm: survivors and offspring


def test_survivors_and_their_offspring_make_the_next_generation() -> None:
    config = GeneticConfig(population=10, n_survivors=2, mutation_scale=0.01)
    agent = GeneticAlgorithm("CartPole-v1", config, seed=0)
    agent.population = np.repeat(np.arange(10.0)[:, None], 8, axis=1)  # candidate c: all c
    scores = np.array([3.0, 9.0, 1.0, 7.0, 9.0, 0.0, 2.0, 5.0, 4.0, 6.0])
    info = agent.update(scores)
    # The two best are 1 and 4 (both 9; ties go to the lower index), in that order, each with
    # (10 - 2) / 2 = 4 offspring: rows 2-5 are copies of candidate 1, rows 6-9 of candidate 4,
    # plus N(0, 0.01²) noise.
    np.testing.assert_array_equal(agent.population[:2], [[1.0] * 8, [4.0] * 8])
    np.testing.assert_allclose(agent.population[2:6], 1.0, atol=0.06)
    np.testing.assert_allclose(agent.population[6:], 4.0, atol=0.06)
    assert np.all(agent.population[2:] != np.round(agent.population[2:]))  # all mutated
    np.testing.assert_array_equal(agent.survivor_scores, [9.0, 9.0])
    np.testing.assert_array_equal(agent.best_params, [1.0] * 8)
    assert info == {
        "best_return": 9.0,
        "mean_return": 4.6,  # 46 / 10
        "elite_return": 9.0,
        "generation": 1.0,
        "episodes_used": 0.0,
        "mutation_scale": 0.01,
    }
    assert agent.policy_version == 1
    # The same best parameters again: the greedy policy has not changed.
    agent.update(np.array([9.0] + [0.0] * 9))
    assert agent.policy_version == 1
    agent.update(np.array([0.0, 9.0] + [0.0] * 8))  # a mutated child of 1 wins now
    assert agent.policy_version == 2


@pytest.mark.parametrize("reevaluate", [True, False])
def test_survivors_are_replayed_only_when_asked(reevaluate: bool) -> None:
    config = GeneticConfig(
        population=8, n_survivors=2, episodes_per_candidate=2, reevaluate_survivors=reevaluate
    )
    env = rlworks.make_env("CartPole-v1", 4, seed=0)
    agent = GeneticAlgorithm(env, config, seed=0)
    driver = Driver(env, agent.collect_policy, agent.observers)
    agent.train_iteration(driver)
    assert driver.total_episodes == agent.episodes_used == 16  # 8 candidates x 2 episodes
    kept = agent.survivor_scores.copy()
    info = agent.train_iteration(driver)
    # Re-evaluating plays all 8 again; otherwise only the 6 offspring, and the survivors keep
    # their scores (so the elite can only get better).
    assert agent.episodes_used == (32 if reevaluate else 16 + 12)
    assert info["episodes_used"] == agent.episodes_used
    if not reevaluate:
        assert info["elite_return"] >= kept.mean()


# ---------------------------------------------------------------------------------------------
# Cross-entropy method: the refit


def test_cem_refits_mean_and_std_to_the_elite() -> None:
    config = CEMConfig(population=5, elite_fraction=0.4, extra_noise=0.1, extra_noise_generations=2)
    agent = CrossEntropyMethod("CartPole-v1", config, seed=0)
    assert config.n_elite == 2  # round(0.4 * 5)
    agent.population = np.array([[0.0] * 8, [2.0] * 8, [9.0] * 8, [4.0] * 8, [1.0] * 8])
    agent.population[3, 0] = 6.0
    info = agent.update(np.array([1.0, 5.0, 3.0, 4.0, 2.0]))
    # Elite: candidates 1 (5) and 3 (4). Mean = (2 + 4) / 2 = 3, but (2 + 6) / 2 = 4 in
    # parameter 0. Variance = ((4 - 2) / 2)² = 1 (parameter 0: ((6 - 2) / 2)² = 4), plus the
    # extra noise of generation 0, 0.1 x max(1 - 0/2, 0) = 0.1.
    np.testing.assert_allclose(agent.mean, [4.0] + [3.0] * 7)
    np.testing.assert_allclose(agent.std, np.sqrt([4.1] + [1.1] * 7))
    assert info["best_return"] == 5.0
    assert info["elite_return"] == 4.5  # (5 + 4) / 2
    assert info["mean_return"] == 3.0  # 15 / 5
    assert info["extra_noise"] == 0.1
    assert agent.policy_version == 1
    # Generation 1: noise 0.1 x (1 - 1/2) = 0.05; generation 2 and later: 0.
    agent.update(np.array([1.0, 5.0, 3.0, 4.0, 2.0]))
    np.testing.assert_allclose(agent.std, np.sqrt([4.05] + [1.05] * 7))
    agent.update(np.array([1.0, 5.0, 3.0, 4.0, 2.0]))
    np.testing.assert_allclose(agent.std, np.sqrt([4.0] + [1.0] * 7))
    assert agent.generation == 3


def test_cem_greedy_policy_is_the_mean() -> None:
    agent = CrossEntropyMethod("CartPole-v1", seed=0)
    # Action 0 scores the cart position x, action 1 the pole angle θ.
    agent.mean = np.array([1.0, 0.0, 0.0, 0.0, 0.0, 0.0, 1.0, 0.0])
    obs = np.array([[0.5, 0.0, 0.1, 0.0], [0.1, 0.0, 0.5, 0.0]], dtype=np.float32)
    assert agent.act(obs, explore=False).tolist() == [0, 1]


# ---------------------------------------------------------------------------------------------
# Checkpoints and determinism


def small(algo: str) -> tuple[type[Any], Any]:
    if algo == "genetic":
        return GeneticAlgorithm, GeneticConfig(population=10, n_survivors=2, hidden_sizes=(3,))
    return CrossEntropyMethod, CEMConfig(population=10, hidden_sizes=(3,))


def generations(algo: str, seed: int, n: int) -> tuple[Any, list[dict[str, float]]]:
    cls, config = small(algo)
    env = rlworks.make_env("CartPole-v1", 4, seed=seed)
    agent = cls(env, config, seed=seed)
    driver = Driver(env, agent.collect_policy, agent.observers)
    return agent, [agent.train_iteration(driver) for _ in range(n)]


@pytest.mark.parametrize("algo", ["genetic", "cem"])
def test_same_seed_same_search(algo: str) -> None:
    a, infos_a = generations(algo, 3, 3)
    b, infos_b = generations(algo, 3, 3)
    assert infos_a == infos_b
    _, infos_c = generations(algo, 4, 3)
    assert infos_c != infos_a
    obs = np.random.default_rng(0).normal(size=(16, 4)).astype(np.float32)
    np.testing.assert_array_equal(a.act(obs, explore=False), b.act(obs, explore=False))


@pytest.mark.parametrize("algo", ["genetic", "cem"])
def test_checkpoint_round_trip_continues_the_same_search(algo: str, tmp_path: Path) -> None:
    agent, _ = generations(algo, 0, 2)
    path = agent.save(tmp_path / "agent.pt")
    env = rlworks.make_env("CartPole-v1", 4, seed=0)
    loaded: Any = rlworks.agents.load(path, env)
    assert type(loaded) is type(agent)
    assert loaded.generation == agent.generation == 2
    assert loaded.episodes_used == agent.episodes_used
    assert loaded.policy_version == agent.policy_version
    obs = np.random.default_rng(0).normal(size=(16, 4)).astype(np.float32)
    np.testing.assert_array_equal(loaded.act(obs, explore=False), agent.act(obs, explore=False))
    # The next generation is the same for both: same RNG state, same reset seed.
    info = agent.train_iteration(Driver(agent.env, agent.collect_policy, agent.observers))
    again = loaded.train_iteration(Driver(env, loaded.collect_policy, loaded.observers))
    assert info == again


@pytest.mark.parametrize("algo", ["genetic", "cem"])
def test_checkpoint_of_another_shape_is_refused(algo: str, tmp_path: Path) -> None:
    agent, _ = generations(algo, 0, 1)
    state = agent.state_dict()
    cls, config = small(algo)
    config.hidden_sizes = (4,)
    other = cls("CartPole-v1", config, seed=0)
    with pytest.raises(ValueError, match="has shape"):
        other.load_state_dict(state)


# ---------------------------------------------------------------------------------------------
# End to end: smoke runs, the command line, resume


@pytest.mark.parametrize("algo", ["genetic", "cem"])
def test_smoke_a_few_generations_improve_on_cartpole(algo: str) -> None:
    _, infos = generations(algo, 0, 4)
    assert [info["generation"] for info in infos] == [1.0, 2.0, 3.0, 4.0]
    # Selection works: the elite of the last generation beats the first generation's average.
    assert infos[-1]["elite_return"] > infos[0]["mean_return"]


@pytest.mark.parametrize("algo", ["genetic", "cem"])
def test_train_command_picks_the_preset(
    algo: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    run_dir = tmp_path / "run"
    argv = ["train", algo, "CartPole-v1", "--steps", "3000", "--run-dir", str(run_dir)]
    assert main([*argv, "--eval-episodes", "2", "--quiet", "--json"]) == 0
    out = capsys.readouterr().out
    assert '"algo": "' + algo + '"' in out.splitlines()[-1]
    config = (run_dir / "config.yaml").read_text()
    assert f"preset: {algo}-cartpole" in config
    assert f"n_envs: {100 if algo == 'genetic' else 50}" in config


@pytest.mark.parametrize("algo", ["genetic", "cem"])
def test_resume_replays_the_uninterrupted_run(algo: str, tmp_path: Path) -> None:
    tiny = ["--set", "population=10", "--set", "episodes_per_candidate=1", "--n-envs", "4"]
    if algo == "genetic":
        tiny += ["--set", "n_survivors=2"]
    settings = [*tiny, "--set", "train.target_return=null", "--seed", "3", "--quiet"]
    settings += ["--eval-every", "2000", "--eval-episodes", "2", "--checkpoint-every", "2000"]
    full, part = tmp_path / "full", tmp_path / "part"
    assert main(["train", algo, "CartPole-v1", "--steps", "8000",
                 "--run-dir", str(full), *settings]) == 0  # fmt: skip
    assert main(["train", algo, "CartPole-v1", "--steps", "4000",
                 "--run-dir", str(part), *settings]) == 0  # fmt: skip
    assert main(["train", "--resume", str(part), "--steps", "8000", "--quiet"]) == 0

    def rows(run_dir: Path) -> list[list[str]]:  # every column but wall_s
        lines = (run_dir / "metrics.csv").read_text().splitlines()
        return [line.split(",")[:1] + line.split(",")[2:] for line in lines]

    assert len(rows(full)) > 3
    assert rows(part) == rows(full)


# ---------------------------------------------------------------------------------------------
# Learning: each solves CartPole-v1 for seeds 0-4 with its bundled preset, from the command line


@pytest.mark.slow
@pytest.mark.parametrize("seed", [0, 1, 2, 3, 4])
@pytest.mark.parametrize(("algo", "budget"), [("genetic", 1_000_000), ("cem", 500_000)])
def test_solves_cartpole(
    algo: str, budget: int, seed: int, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # The preset sets the budget, target_return 475 and 20 evaluation episodes.
    run_dir = tmp_path / "run"
    argv = ["train", algo, "CartPole-v1", "--seed", str(seed), "--run-dir", str(run_dir)]
    assert main([*argv, "--quiet", "--json"]) == 0
    result = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert result["eval_mean"] >= 475
    assert result["solved_at_step"] is not None
    assert result["solved_at_step"] <= budget
    assert result["stop_reason"] == "target return 475 reached"
    # The saved greedy policy is judged on fresh evaluation episodes, not its training score.
    check = rlworks.evaluate(rlworks.agents.load(run_dir), episodes=20, seed=seed + 10_000)
    assert check.mean == result["eval_mean"]
