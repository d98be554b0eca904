"""Tests for rlworks.mdp.model and rlworks.mdp.examples: building, validating, loading MDPs."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np
import pytest
import yaml

from rlworks.errors import ConfigError, EnvError
from rlworks.mdp import (
    EXAMPLES,
    MarkovChain,
    TabularMDP,
    book_chain,
    book_mdp,
    get_example,
    load_mdp,
)


def _two_state_lists() -> dict[str, Any]:
    return {
        "transition_probabilities": [[[0.5, 0.5], [1.0, 0.0]], [[0.0, 1.0], None]],
        "rewards": [[[1, 0], [0, 0]], [[0, 2], None]],
    }


# ---------------------------------------------------------------------------------------------
# the book MDP


def test_book_mdp_arrays() -> None:
    mdp = book_mdp()
    assert (mdp.n_states, mdp.n_actions, mdp.name) == (3, 3, "book")
    assert mdp.valid.tolist() == [[True, True, True], [True, False, True], [False, True, False]]
    assert not mdp.terminal.any() and not mdp.ends.any()
    np.testing.assert_array_equal(mdp.initial, [1, 0, 0])
    np.testing.assert_array_equal(mdp.transitions[1, 1], [0, 0, 0])  # the None row
    assert mdp.state_names == ["s0", "s1", "s2"] and mdp.action_names == ["a0", "a1", "a2"]


def test_expected_reward_and_continue_transitions() -> None:
    mdp = book_mdp()
    # E[R](s0, a0) = 0.7 * 10 + 0.3 * 0 = 7; E[R](s1, a2) = 1.0 * -50; E[R](s2, a1) = 0.8 * 40
    assert mdp.expected_reward[0, 0] == pytest.approx(7.0)
    assert mdp.expected_reward[1, 2] == pytest.approx(-50.0)
    assert mdp.expected_reward[2, 1] == pytest.approx(32.0)
    np.testing.assert_array_equal(mdp.continue_transitions, mdp.transitions)  # nothing ends
    assert mdp.continue_matrix.shape == (9, 3) and mdp.continue_matrix.flags.c_contiguous


def test_arrays_are_read_only() -> None:
    mdp = book_mdp()
    with pytest.raises(ValueError, match=r"read-only"):
        mdp.transitions[0, 0, 0] = 1.0
    with pytest.raises(ValueError, match=r"read-only"):
        mdp.expected_reward[0, 0] = 1.0


def test_ends_default_to_entering_a_terminal_state() -> None:
    # s0 --a0--> s1 (terminal) with reward 5
    mdp = TabularMDP([[[0.0, 1.0]], [[0.0, 0.0]]], [[[0, 5]], [[0, 0]]], terminal=[False, True])
    assert mdp.ends[0, 0].tolist() == [False, True]
    np.testing.assert_array_equal(mdp.continue_transitions[0, 0], [0.0, 0.0])


# ---------------------------------------------------------------------------------------------
# sampling and stepping


def test_sample_next_reproduces_legacy_np_random_choice() -> None:
    mdp = book_mdp()
    pairs = [(0, 0), (0, 2), (2, 1), (1, 0), (0, 1)] * 40
    np.random.seed(42)  # noqa: NPY002 (the chapter's legacy global generator)
    expected = [int(np.random.choice(3, p=mdp.transitions[s, a])) for s, a in pairs]  # noqa: NPY002
    rng = np.random.RandomState(42)
    assert [mdp.sample_next(s, a, rng) for s, a in pairs] == expected


def test_step_returns_next_state_reward_and_terminated() -> None:
    mdp = book_mdp()
    rng = np.random.default_rng(0)
    next_state, reward, terminated = mdp.step(1, 2, rng)  # through the fire
    assert (next_state, reward, terminated) == (2, -50.0, False)


def test_step_frequencies_follow_the_transition_probabilities() -> None:
    mdp = book_mdp()
    rng = np.random.default_rng(0)
    draws = np.array([mdp.step(2, 1, rng)[0] for _ in range(20_000)])
    np.testing.assert_allclose(
        np.bincount(draws, minlength=3) / len(draws), [0.8, 0.1, 0.1], atol=0.01
    )


def test_step_rejects_an_impossible_action_naming_the_possible_ones() -> None:
    with pytest.raises(EnvError, match=r"action 1 is not possible in state s1 \(possible: 0, 2\)"):
        book_mdp().step(1, 1, np.random.default_rng(0))
    with pytest.raises(ValueError, match=r"action 5 is out of range"):
        book_mdp().step(0, 5, np.random.default_rng(0))


def test_terminal_states_are_absorbing() -> None:
    mdp = TabularMDP([[[0.0, 1.0]], [[0.0, 0.0]]], [[[0, 5]], [[0, 0]]], terminal=[False, True])
    assert mdp.step(1, 0, np.random.default_rng(0)) == (1, 0.0, True)
    assert mdp.step(0, 0, np.random.default_rng(0)) == (1, 5.0, True)


# ---------------------------------------------------------------------------------------------
# validation


def test_row_not_summing_to_one_names_state_and_action() -> None:
    lists = _two_state_lists()
    lists["transition_probabilities"][1][0] = [0.0, 0.9]
    with pytest.raises(
        ConfigError, match=r"transition probabilities of state 1, action 0 sum to 0.9, expected 1"
    ):
        TabularMDP.from_lists(**lists)


def test_negative_probability_names_state_action_and_next_state() -> None:
    lists = _two_state_lists()
    lists["transition_probabilities"][0][1] = [1.1, -0.1]
    with pytest.raises(ConfigError, match=r"of state 0, action 1 to state 1 is -0.1"):
        TabularMDP.from_lists(**lists)


def test_transition_and_reward_shape_mismatch_gives_both_shapes() -> None:
    with pytest.raises(ConfigError, match=r"rewards shape \(3, 3, 2\) .* shape \(3, 3, 3\)"):
        TabularMDP(book_mdp().transitions, np.zeros((3, 3, 2)))
    with pytest.raises(ConfigError, match=r"transitions shape \(2, 1, 3\)"):
        TabularMDP(np.ones((2, 1, 3)) / 3, np.zeros((2, 1, 3)))


def test_non_finite_reward_is_rejected() -> None:
    rewards = np.array(book_mdp().rewards)
    rewards[2, 1, 0] = np.inf
    with pytest.raises(ConfigError, match=r"reward of state 2, action 1 to state 0 is inf"):
        TabularMDP(book_mdp().transitions, rewards, valid=book_mdp().valid)


def test_state_without_possible_action_must_be_terminal() -> None:
    with pytest.raises(ConfigError, match=r"state 1 is not terminal but has no possible action"):
        TabularMDP.from_lists([[[0.0, 1.0]], [None]], [[[0, 1]], [None]])
    mdp = TabularMDP.from_lists([[[0.0, 1.0]], [None]], [[[0, 1]], [None]], terminal_states=[1])
    assert mdp.terminal.tolist() == [False, True]


def test_initial_distribution_is_checked() -> None:
    with pytest.raises(ConfigError, match=r"initial state distribution sums to 0.9"):
        TabularMDP.from_lists(**_two_state_lists(), initial_state=[0.5, 0.4])
    with pytest.raises(ConfigError, match=r"initial_state 2 is out of range"):
        TabularMDP.from_lists(**_two_state_lists(), initial_state=2)
    mdp = TabularMDP.from_lists(**_two_state_lists(), initial_state=[0.25, 0.75])
    np.testing.assert_array_equal(mdp.initial, [0.25, 0.75])


def test_possible_actions_must_agree_with_none_rows() -> None:
    lists = _two_state_lists()
    with pytest.raises(ConfigError, match=r"lists action 1 for state 1, but its transition"):
        TabularMDP.from_lists(**lists, possible_actions=[[0, 1], [0, 1]])
    with pytest.raises(ConfigError, match=r"leaves out action 1 of state 0"):
        TabularMDP.from_lists(**lists, possible_actions=[[0], [0]])


def test_possible_actions_define_validity_without_none_rows() -> None:
    mdp = TabularMDP.from_lists(
        [[[1.0, 0.0], [0.0, 1.0]], [[0.0, 1.0], [0.3, 0.3]]],  # (s1, a1) is not a distribution
        [[[0, 0], [0, 0]], [[0, 0], [0, 0]]],
        possible_actions=[[0, 1], [0]],
    )
    assert mdp.valid.tolist() == [[True, True], [True, False]]


def test_ragged_lists_name_the_entry() -> None:
    with pytest.raises(
        ConfigError, match=r"transition_probabilities\[1\] has 1 actions, expected 2"
    ):
        TabularMDP.from_lists([[[1.0, 0.0], [1.0, 0.0]], [[1.0, 0.0]]], [[[0, 0]] * 2] * 2)
    with pytest.raises(ConfigError, match=r"transition_probabilities\[0\]\[1\] has shape \(3,\)"):
        TabularMDP.from_lists([[[1.0, 0.0], [1.0, 0.0, 0.0]]], [[[0, 0], [0, 0]]])


# ---------------------------------------------------------------------------------------------
# dicts and files


def test_to_dict_round_trips_through_from_dict() -> None:
    original = TabularMDP.from_lists(
        **_two_state_lists(),
        terminal_states=[],
        initial_state=[0.5, 0.5],
        name="tiny",
        state_names=["left", "right"],
        action_names=["stay", "go"],
        default_gamma=0.9,
    )
    copy = TabularMDP.from_dict(json.loads(json.dumps(original.to_dict())))
    _assert_same_mdp(copy, original)
    assert copy.default_gamma == 0.9 and copy.state_names == ["left", "right"]


def test_round_trip_keeps_per_transition_episode_ends() -> None:
    original = TabularMDP.from_env("Taxi-v4")
    assert not np.array_equal(
        original.ends, np.broadcast_to(original.terminal, original.ends.shape)
    )
    _assert_same_mdp(TabularMDP.from_dict(original.to_dict()), original)


def _assert_same_mdp(a: TabularMDP, b: TabularMDP) -> None:
    for field in ("transitions", "rewards", "valid", "terminal", "ends", "initial"):
        np.testing.assert_array_equal(getattr(a, field), getattr(b, field), err_msg=field)
    assert (a.name, a.state_names, a.action_names) == (b.name, b.state_names, b.action_names)


def test_from_dict_rejects_unknown_and_missing_keys() -> None:
    data = {**_two_state_lists(), "gama": 0.9}
    with pytest.raises(
        ConfigError, match=r"my.yaml: unknown key 'gama' \(did you mean 'gamma'\?\)"
    ):
        TabularMDP.from_dict(data, source="my.yaml")
    with pytest.raises(ConfigError, match=r"missing required key\(s\) 'rewards'"):
        TabularMDP.from_dict({"transition_probabilities": [[[1.0]]]})


def test_from_dict_errors_start_with_the_source() -> None:
    data = _two_state_lists()
    data["transition_probabilities"][0][0] = [0.5, 0.6]
    with pytest.raises(ConfigError, match=r"^bad.yaml: .*state 0, action 0 sum to 1.1"):
        TabularMDP.from_dict(data, source="bad.yaml")


def test_from_dict_takes_state_names_for_terminal_and_initial_states() -> None:
    data = {
        **_two_state_lists(),
        "states": ["home", "away"],
        "terminal_states": ["away"],
        "initial_state": "home",
        "gamma": 0.5,
    }
    mdp = TabularMDP.from_dict(data)
    assert mdp.terminal.tolist() == [False, True] and mdp.default_gamma == 0.5
    with pytest.raises(ConfigError, match=r"unknown state name 'moon'"):
        TabularMDP.from_dict({**data, "terminal_states": ["moon"]})
    with pytest.raises(ConfigError, match=r"gamma must be in \[0, 1\], got 2"):
        TabularMDP.from_dict({**data, "gamma": 2})


def test_from_file_reads_yaml_and_json(tmp_path: Path) -> None:
    data = book_mdp().to_dict()
    (tmp_path / "book.yaml").write_text(yaml.safe_dump(data))
    (tmp_path / "book.json").write_text(json.dumps(data))
    for name in ("book.yaml", "book.json"):
        mdp = TabularMDP.from_file(tmp_path / name)
        _assert_same_mdp(mdp, book_mdp())


def test_from_file_reports_missing_and_malformed_files(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"does not exist"):
        TabularMDP.from_file(tmp_path / "none.json")
    (tmp_path / "bad.json").write_text("{")
    with pytest.raises(ConfigError, match=r"malformed JSON at line 1"):
        TabularMDP.from_file(tmp_path / "bad.json")


# ---------------------------------------------------------------------------------------------
# Gymnasium toy-text environments


def test_from_env_frozen_lake_merges_duplicates_and_finds_terminal_states() -> None:
    mdp = TabularMDP.from_env("FrozenLake-v1")
    assert (mdp.n_states, mdp.n_actions, mdp.name) == (16, 4, "FrozenLake-v1")
    # Going left from the top-left corner: slipping up or left both stay in state 0.
    assert mdp.transitions[0, 0, 0] == pytest.approx(2 / 3)
    assert np.flatnonzero(mdp.terminal).tolist() == [5, 7, 11, 12, 15]  # holes and goal
    # Reaching the goal from state 14 going right (probability 1/3) ends with reward 1.
    assert mdp.ends[14, 2, 15] and mdp.rewards[14, 2, 15] == 1.0
    assert mdp.expected_reward[14, 2] == pytest.approx(1 / 3)
    np.testing.assert_array_equal(mdp.initial, np.eye(16)[0])


def test_from_env_taxi_keeps_ends_per_transition() -> None:
    env = gym.make("Taxi-v4")
    mdp = TabularMDP.from_env(env)
    assert not mdp.terminal.any()
    # A drop-off at the destination ends the episode with +20 ...
    ending = np.argwhere(mdp.ends)
    assert len(ending) > 0
    s, a, s2 = ending[0]
    assert mdp.rewards[s, a, s2] == 20.0
    # ... and the same next state is also reached by transitions that do not end it.
    assert (mdp.transitions[:, :, s2] > 0)[~mdp.ends[:, :, s2]].any()
    np.testing.assert_allclose(mdp.initial, env.unwrapped.initial_state_distrib)


def test_from_env_cliff_walking_start_and_rewards() -> None:
    mdp = TabularMDP.from_env("CliffWalking-v1")
    assert mdp.initial.argmax() == 36
    # Actions: 0 up, 1 right, 2 down, 3 left.
    assert mdp.rewards[36, 2, 36] == -1.0  # down from the start bumps into the edge
    assert mdp.rewards[36, 1, 36] == -100.0  # right falls off the cliff, back to the start


def test_from_env_without_transition_table_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match=r"'CartPole-v1' exposes no transition table"):
        TabularMDP.from_env("CartPole-v1")


def test_from_env_unknown_id_suggests_a_close_one() -> None:
    with pytest.raises(EnvError, match=r"did you mean 'FrozenLake-v1'"):
        TabularMDP.from_env("FrozenLak-v1")


# ---------------------------------------------------------------------------------------------
# examples and load_mdp


def test_examples_registry() -> None:
    assert set(EXAMPLES) == {"book", "book-chain"}
    assert isinstance(get_example("book"), TabularMDP)
    assert isinstance(get_example("book-chain"), MarkovChain)
    assert isinstance(book_chain(), MarkovChain)


def test_unknown_example_suggests_and_lists() -> None:
    with pytest.raises(
        ConfigError,
        match=r"unknown example 'bok'; did you mean 'book'\? examples: book, book-chain",
    ):
        get_example("bok")


def test_load_mdp_from_example_file_and_env_id(tmp_path: Path) -> None:
    assert load_mdp("book").name == "book"
    path = tmp_path / "mine.yml"
    path.write_text(yaml.safe_dump(book_mdp().to_dict()))
    assert load_mdp(str(path)).n_states == 3
    assert load_mdp("FrozenLake-v1").n_states == 16
    assert load_mdp("rlworks/BookMDP-v0").name == "book"  # the env's own MDP


def test_load_mdp_rejects_chains_missing_files_and_unknown_specs(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"'book-chain' is a Markov chain, not an MDP"):
        load_mdp("book-chain")
    with pytest.raises(ConfigError, match=r"MDP file .*missing.yaml.* does not exist"):
        load_mdp(str(tmp_path / "missing.yaml"))
    with pytest.raises(ConfigError, match=r"not an example name .*file.*Gymnasium environment id"):
        load_mdp("no-such-thing")
    with pytest.raises(ConfigError, match=r"exposes no transition table"):
        load_mdp("CartPole-v1")
