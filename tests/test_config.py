"""Tests for rlworks.config: dataclasses from YAML and overrides, with errors naming the source,
the key and what is allowed."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from rlworks.agents import ALGORITHMS, RandomSearchConfig
from rlworks.config import (
    PRESETS_DIR,
    RunConfig,
    config_from_dict,
    config_to_dict,
    field_docs,
    find_preset,
    load_yaml,
    parse_overrides,
)
from rlworks.errors import ConfigError
from rlworks.training import TrainConfig

TRAIN_KEYS = (
    "steps, seed, n_envs, vectorization, max_episode_steps, max_iterations, eval_every, "
    "eval_episodes, eval_seed, target_return, checkpoint_every, log_every, device, torch_threads, "
    "flush_denormals, plot"
)

# ---------------------------------------------------------------------------------------------
# config_from_dict


def test_defaults_when_empty() -> None:
    assert config_from_dict(TrainConfig, {}) == TrainConfig()


def test_unknown_key_with_suggestion() -> None:
    with pytest.raises(ConfigError) as info:
        config_from_dict(TrainConfig, {"step": 3}, source="run.yaml")
    assert str(info.value) == (
        "run.yaml: unknown key 'step' for train settings; did you mean 'steps'? "
        f"allowed: {TRAIN_KEYS}"
    )


def test_unknown_key_without_close_match() -> None:
    with pytest.raises(ConfigError) as info:
        config_from_dict(RandomSearchConfig, {"zzz": 1}, source="--set")
    assert str(info.value) == (
        "--set: unknown key 'zzz' for random-search settings; "
        "allowed: episodes_per_candidate, param_scale, distribution, bias"
    )


def test_not_a_mapping() -> None:
    with pytest.raises(ConfigError, match=r"x\.yaml: expected a mapping of settings, got list"):
        config_from_dict(TrainConfig, [1, 2], source="x.yaml")  # type: ignore[arg-type]


def test_yaml_typed_values_are_converted_without_loss() -> None:
    config = config_from_dict(
        TrainConfig,
        {"steps": 3000.0, "target_return": 475, "eval_seed": None, "device": "cpu"},
    )
    # A whole float for an int field becomes an int; an int for a float field becomes a float.
    assert config.steps == 3000
    assert type(config.steps) is int
    assert config.target_return == 475.0
    assert type(config.target_return) is float
    assert config.eval_seed is None
    # int | None takes an int too.
    assert config_from_dict(TrainConfig, {"eval_seed": 5}).eval_seed == 5


@pytest.mark.parametrize(
    ("key", "value", "expected"),
    [("steps", "1e5", 100_000), ("steps", "100_000", 100_000), ("target_return", "4.75e2", 475.0)],
)
def test_float_notation_strings_are_numbers(key: str, value: str, expected: float) -> None:
    # YAML 1.1 (PyYAML) reads `1e5` as a string; `--set train.steps=1e5` must still work.
    config = config_from_dict(TrainConfig, {key: value})
    assert getattr(config, key) == expected
    assert type(getattr(config, key)) is type(expected)


@pytest.mark.parametrize(
    ("key", "value", "message"),
    [
        # Only float-notation strings are parsed (YAML 1.1 reads 1e5 as a string).
        ("steps", "many", "steps must be an integer, got 'many' (str)"),
        ("steps", "1.5e3x", "steps must be an integer, got '1.5e3x' (str)"),
        ("steps", "2.5", "steps must be an integer, got '2.5' (str)"),
        ("steps", 3.5, "steps must be an integer, got 3.5 (float)"),
        ("steps", True, "steps must be an integer, got True (bool)"),
        ("target_return", "high", "target_return must be a number, got 'high' (str)"),
        ("target_return", False, "target_return must be a number, got False (bool)"),
        ("eval_seed", "a", "eval_seed must be an integer, got 'a' (str)"),
        ("device", 0, "device must be a string, got 0 (int)"),
    ],
)
def test_wrong_types_name_the_key(key: str, value: object, message: str) -> None:
    with pytest.raises(ConfigError) as info:
        config_from_dict(TrainConfig, {key: value}, source="s")
    assert str(info.value) == f"s: {message}"


def test_literal_error_lists_the_allowed_values() -> None:
    with pytest.raises(ConfigError) as info:
        config_from_dict(TrainConfig, {"vectorization": "fast"}, source="s")
    assert str(info.value) == (
        "s: vectorization must be one of 'auto', 'native', 'sync', 'async', got 'fast'"
    )


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        ({"steps": 0}, "steps must be >= 1, got 0"),
        ({"n_envs": -1}, "n_envs must be >= 1, got -1"),
        ({"eval_episodes": 0}, "eval_episodes must be >= 1, got 0"),
        ({"log_every": 0}, "log_every must be >= 1, got 0"),
        ({"eval_every": -1}, "eval_every must be >= 0, got -1"),
        ({"checkpoint_every": -5}, "checkpoint_every must be >= 0, got -5"),
        ({"target_return": float("inf")}, "target_return must be a finite number, got inf"),
    ],
)
def test_range_errors_name_the_source_and_key(settings: dict[str, object], message: str) -> None:
    with pytest.raises(ConfigError) as info:
        config_from_dict(TrainConfig, settings, source="preset.yaml")
    assert str(info.value) == f"preset.yaml: {message}"


def test_config_to_dict_round_trip() -> None:
    config = RandomSearchConfig(episodes_per_candidate=3, distribution="normal", bias=True)
    assert config_from_dict(RandomSearchConfig, config_to_dict(config)) == config
    assert config_to_dict(TrainConfig(steps=7))["steps"] == 7


# ---------------------------------------------------------------------------------------------
# field_docs: every field of every config has its docstring

CONFIG_CLASSES = [TrainConfig, RunConfig, *(algo.config_cls for algo in ALGORITHMS.values())]


@pytest.mark.parametrize("cls", CONFIG_CLASSES, ids=lambda c: c.__name__)
def test_every_field_has_a_docstring(cls: type) -> None:
    docs = field_docs(cls)
    names = [f.name for f in dataclasses.fields(cls)]
    assert list(docs) == names
    for name in names:
        assert docs[name].strip(), f"{cls.__name__}.{name} has an empty docstring"


def test_field_docs_are_the_literals_below_the_fields() -> None:
    assert field_docs(TrainConfig)["seed"] == "Seed for environments, NumPy generators and torch."
    # Multi-line docstrings are joined into one line.
    assert field_docs(RandomSearchConfig)["bias"].startswith(
        "Give the linear policy a bias term as well as one weight per observation feature. Off"
    )
    assert "\n" not in field_docs(RandomSearchConfig)["bias"]


def test_field_docs_of_a_subclass_include_the_base_fields() -> None:
    @dataclasses.dataclass
    class Extended(RandomSearchConfig):
        extra: int = 1
        """An extra field."""

    docs = field_docs(Extended)
    assert docs["extra"] == "An extra field."
    assert (
        docs["episodes_per_candidate"] == field_docs(RandomSearchConfig)["episodes_per_candidate"]
    )


# ---------------------------------------------------------------------------------------------
# load_yaml


def test_load_yaml(tmp_path: Path) -> None:
    path = tmp_path / "c.yaml"
    path.write_text("algo: random-search\ntrain:\n  steps: 1000\n")
    assert load_yaml(path) == {"algo": "random-search", "train": {"steps": 1000}}
    path.write_text("# only a comment\n")
    assert load_yaml(path) == {}


def test_malformed_yaml_names_file_and_line(tmp_path: Path) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text("algo: random-search\ntrain:\n  steps: [1, 2\n  seed: 3\n")
    with pytest.raises(ConfigError) as info:
        load_yaml(path)
    message = str(info.value)
    assert message.startswith(f"{path}: malformed YAML at line 4, column ")
    assert "\n" not in message


def test_yaml_that_is_not_a_mapping(tmp_path: Path) -> None:
    path = tmp_path / "list.yaml"
    path.write_text("- 1\n- 2\n")
    with pytest.raises(ConfigError, match=r"list\.yaml: expected a mapping of settings, got list"):
        load_yaml(path)


def test_missing_yaml(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"config file '.*nope.yaml' does not exist"):
        load_yaml(tmp_path / "nope.yaml")


# ---------------------------------------------------------------------------------------------
# parse_overrides


def test_parse_overrides_reads_yaml_scalars() -> None:
    assert parse_overrides(
        [
            "agent.episodes_per_candidate=5",
            "agent.param_scale=0.5",
            "agent.bias=true",
            "agent.distribution=normal",
            "train.eval_seed=null",
            "train.target_return=",
            "name=a=b",  # only the first '=' separates key and value
            " spaced = 3",
        ]
    ) == {
        "agent.episodes_per_candidate": 5,
        "agent.param_scale": 0.5,
        "agent.bias": True,
        "agent.distribution": "normal",
        "train.eval_seed": None,
        "train.target_return": "",
        "name": "a=b",
        "spaced": 3,
    }


def test_parse_overrides_keeps_unparsable_values_as_strings() -> None:
    assert parse_overrides(["x=[1, 2", "y=: z"]) == {"x": "[1, 2", "y": ": z"}


@pytest.mark.parametrize("item", ["steps", "=3", " =3"])
def test_parse_overrides_needs_key_equals_value(item: str) -> None:
    with pytest.raises(ConfigError, match=f"--set expects KEY=VALUE, got {item!r}"):
        parse_overrides([item])


def test_overrides_feed_config_from_dict() -> None:
    values = parse_overrides(["episodes_per_candidate=3", "param_scale=2"])
    config = config_from_dict(RandomSearchConfig, values, source="--set")
    assert config == RandomSearchConfig(episodes_per_candidate=3, param_scale=2.0)


# ---------------------------------------------------------------------------------------------
# find_preset


def test_bundled_default_preset() -> None:
    path = find_preset(None, "random-search", "CartPole-v1")
    assert path == PRESETS_DIR / "random-search-cartpole.yaml"
    data = load_yaml(path)
    assert data["algo"] == "random-search"
    assert data["env"] == "CartPole-v1"
    # The preset's settings are valid for their dataclasses.
    config_from_dict(TrainConfig, data["train"], source=str(path))
    config_from_dict(RandomSearchConfig, data["agent"], source=str(path))


def test_no_default_preset_for_other_pairs() -> None:
    assert find_preset(None, "random-search", "Acrobot-v1") is None


def test_preset_by_name_and_by_path(tmp_path: Path) -> None:
    bundled = PRESETS_DIR / "random-search-cartpole.yaml"
    assert find_preset("random-search-cartpole", "random-search", "CartPole-v1") == bundled
    mine = tmp_path / "mine.yaml"
    mine.write_text("algo: random-search\n")
    assert find_preset(str(mine), "random-search", "CartPole-v1") == mine


def test_short_preset_names_and_defaults() -> None:
    from rlworks.config import env_slug

    assert env_slug("ALE/Breakout-v5") == "breakout" and env_slug("CartPole-v1") == "cartpole"
    # ALGO-NAME, for its own environment only
    assert find_preset("book", "reinforce", "CartPole-v1") == PRESETS_DIR / "reinforce-book.yaml"
    with pytest.raises(ConfigError, match=r"no preset 'book' for reinforce on LunarLander-v3 "
                       r"\(reinforce-book is for CartPole-v1\)"):  # fmt: skip
        find_preset("book", "reinforce", "LunarLander-v3")
    # ALGO-ENV is the pair's default even when another preset for the pair sorts first
    assert find_preset(None, "reinforce", "CartPole-v1") == PRESETS_DIR / "reinforce-cartpole.yaml"
    default = find_preset(None, "reinforce", "LunarLander-v3")
    assert default == PRESETS_DIR / "reinforce-lunarlander.yaml"


@pytest.mark.parametrize("path", sorted(PRESETS_DIR.glob("*.yaml")), ids=lambda p: p.stem)
def test_every_bundled_preset_is_valid(path: Path) -> None:
    from rlworks.agents import get_algorithm
    from rlworks.config import preset_algos

    data = load_yaml(path)
    config_from_dict(TrainConfig, data.get("train") or {}, source=str(path))
    for algo in preset_algos(data):
        cls = get_algorithm(algo)
        config_from_dict(cls.config_cls, data.get("agent") or {}, source=str(path))


def test_unknown_preset_name() -> None:
    with pytest.raises(ConfigError) as info:
        find_preset("random-search-cartpol", "random-search", "CartPole-v1")
    message = str(info.value)
    assert message.startswith(
        "unknown preset 'random-search-cartpol'; did you mean 'random-search-cartpole'? "
        "bundled presets: "
    )
    bundled = message.split("bundled presets: ")[1].split(", ")
    assert bundled == sorted(p.stem for p in PRESETS_DIR.glob("*.yaml"))
    with pytest.raises(ConfigError, match="unknown preset 'zzz'; bundled presets: "):
        find_preset("zzz", "random-search", "CartPole-v1")


def test_missing_preset_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"preset file '.*missing.yaml' does not exist"):
        find_preset(str(tmp_path / "missing.yaml"), "random-search", "CartPole-v1")
