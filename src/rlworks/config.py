"""Configuration: dataclasses with a docstring per field, YAML presets and ``KEY=VALUE`` overrides.

Every algorithm has a config dataclass; the trainer has :class:`~rlworks.training.TrainConfig`.
This module turns YAML files and command-line overrides into those dataclasses, with errors that
name the file, the key and the allowed values. A field's docstring is the string literal written
right below it (as Sphinx reads it); :func:`field_docs` recovers them for ``--help`` output.
"""

from __future__ import annotations

import ast
import dataclasses
import difflib
import inspect
import itertools
import re
import textwrap
import types
import typing
from collections.abc import Iterable, Mapping
from functools import cache
from pathlib import Path
from typing import Any, TypeVar

import yaml

from rlworks.errors import ConfigError

__all__ = [
    "PRESETS_DIR",
    "RunConfig",
    "config_from_dict",
    "config_to_dict",
    "field_docs",
    "find_preset",
    "load_yaml",
    "parse_overrides",
]

C = TypeVar("C")
PRESETS_DIR = Path(__file__).parent / "presets"


@cache
def field_docs(cls: type) -> dict[str, str]:
    """The docstring written below each field of a dataclass, by field name.

    Example:
        >>> from rlworks.training import TrainConfig
        >>> field_docs(TrainConfig)["seed"]
        'Seed for environments, NumPy generators and torch.'
    """
    docs: dict[str, str] = {}
    for klass in reversed(cls.__mro__):
        if not dataclasses.is_dataclass(klass):
            continue
        try:
            tree = ast.parse(textwrap.dedent(inspect.getsource(klass)))
        except (OSError, TypeError):
            continue
        body = tree.body[0].body if tree.body and isinstance(tree.body[0], ast.ClassDef) else []
        for node, following in itertools.pairwise(body):
            if (
                isinstance(node, ast.AnnAssign)
                and isinstance(node.target, ast.Name)
                and isinstance(following, ast.Expr)
                and isinstance(following.value, ast.Constant)
                and isinstance(following.value.value, str)
            ):
                docs[node.target.id] = " ".join(following.value.value.split())
    return docs


def config_to_dict(config: Any) -> dict[str, Any]:
    """A dataclass as a plain dict of YAML-friendly values (tuples become lists)."""
    out: dict[str, Any] = {}
    for f in dataclasses.fields(config):
        value = getattr(config, f.name)
        out[f.name] = list(value) if isinstance(value, tuple) else value
    return out


def config_from_dict(cls: type[C], data: Mapping[str, Any], *, source: str = "config") -> C:
    """Build and validate a config dataclass from a mapping.

    Values are expected already typed, as YAML and :func:`parse_overrides` read them; they are
    only converted where no information is lost (``3.0`` → 3 for an int field, ``1`` → 1.0 for a
    float, a list → a tuple). Number fields also take strings in float notation, because YAML 1.1
    reads ``1e5`` and ``5.0e-4`` as strings: ``"1e5"`` → 100000. Other strings are errors.
    The config's ``validate()`` method, when it has one, then checks ranges.

    Args:
        cls: The dataclass type, e.g. ``RandomSearchConfig``.
        data: Field names to values; missing fields keep their defaults.
        source: Where the values came from, for error messages (a file name or ``--set``).

    Raises:
        ConfigError: Unknown key (with close matches), a value of the wrong type, or a value out
            of range — naming the source, key and what is allowed.
    """
    if not isinstance(data, Mapping):
        raise ConfigError(f"{source}: expected a mapping of settings, got {type(data).__name__}")
    hints = typing.get_type_hints(cls)
    names = [f.name for f in dataclasses.fields(cls)]  # type: ignore[arg-type]
    values: dict[str, Any] = {}
    for key, value in data.items():
        if key not in names:
            close = difflib.get_close_matches(str(key), names, n=1)
            hint = f"did you mean {close[0]!r}? " if close else ""
            allowed = ", ".join(names)
            raise ConfigError(
                f"{source}: unknown key {key!r} for {_label(cls)}; {hint}allowed: {allowed}"
            )
        values[key] = coerce(hints[key], value, key=key, source=source)
    config = cls(**values)
    validate = getattr(config, "validate", None)
    if callable(validate):
        try:
            validate()
        except ConfigError as exc:
            raise ConfigError(f"{source}: {exc}") from None
    return config


def coerce(hint: Any, value: Any, *, key: str, source: str) -> Any:
    """Convert ``value`` to the type ``hint`` or raise a :class:`ConfigError` naming ``key``."""
    origin = typing.get_origin(hint)
    args = typing.get_args(hint)
    if origin in (typing.Union, types.UnionType):
        if value is None and type(None) in args:
            return None
        errors = []
        for arg in (a for a in args if a is not type(None)):
            try:
                return coerce(arg, value, key=key, source=source)
            except ConfigError as exc:
                errors.append(str(exc))
        raise ConfigError(
            errors[0] if len(errors) == 1 else _bad(key, value, _hint_name(hint), source)
        )
    if origin is typing.Literal:
        if value in args:
            return value
        allowed = ", ".join(repr(a) for a in args)
        raise ConfigError(f"{source}: {key} must be one of {allowed}, got {value!r}")
    if origin in (tuple, list):
        if not isinstance(value, list | tuple):
            raise ConfigError(_bad(key, value, _hint_name(hint), source))
        item = args[0] if args else Any
        items = [coerce(item, v, key=key, source=source) for v in value]
        return tuple(items) if origin is tuple else items
    if hint is bool:
        if isinstance(value, bool):
            return value
        raise ConfigError(_bad(key, value, "true or false", source))
    if hint is int:
        number = _number(value)
        if isinstance(number, int):
            return number
        if isinstance(number, float) and number.is_integer():
            return int(number)
        raise ConfigError(_bad(key, value, "an integer", source))
    if hint is float:
        number = _number(value)
        if number is not None:
            return float(number)
        raise ConfigError(_bad(key, value, "a number", source))
    if hint is str:
        if isinstance(value, str):
            return value
        raise ConfigError(_bad(key, value, "a string", source))
    return value


def _number(value: Any) -> int | float | None:
    """An int or float for numbers and float-notation strings (``"1e5"``); None otherwise."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return value
    if isinstance(value, str) and any(c.isdigit() for c in value):
        try:
            return float(value.replace("_", ""))
        except ValueError:
            return None
    return None


def _bad(key: str, value: Any, expected: str, source: str) -> str:
    return f"{source}: {key} must be {expected}, got {value!r} ({type(value).__name__})"


def _hint_name(hint: Any) -> str:
    return str(hint).replace("typing.", "")


def _label(cls: type) -> str:
    return str(getattr(cls, "label", cls.__name__))


def load_yaml(path: str | Path) -> dict[str, Any]:
    """Read a YAML mapping, with one-line errors naming the file and the line.

    Raises:
        ConfigError: The file is missing, is not valid YAML, or is not a mapping at top level.
    """
    path = Path(path)
    try:
        text = path.read_text()
    except FileNotFoundError:
        raise ConfigError(f"config file {str(path)!r} does not exist") from None
    except OSError as exc:
        raise ConfigError(f"cannot read config file {str(path)!r}: {exc.strerror}") from None
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = getattr(exc, "problem", None) or "not valid YAML"
        raise ConfigError(f"{path}: malformed YAML{where}: {problem}") from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: expected a mapping of settings, got {type(data).__name__}")
    return data


def parse_overrides(items: Iterable[str]) -> dict[str, Any]:
    """Parse ``KEY=VALUE`` strings; values are read as YAML scalars (``3``, ``0.5``, ``true``).

    Example:
        >>> parse_overrides(["agent.episodes_per_candidate=5", "train.eval_episodes=20"])
        {'agent.episodes_per_candidate': 5, 'train.eval_episodes': 20}

    Raises:
        ConfigError: An item without ``=`` or with an empty key.
    """
    out: dict[str, Any] = {}
    for item in items:
        key, sep, raw = item.partition("=")
        key = key.strip()
        if not sep or not key:
            raise ConfigError(f"--set expects KEY=VALUE, got {item!r}")
        try:
            out[key] = yaml.safe_load(raw) if raw.strip() else ""
        except yaml.YAMLError:
            out[key] = raw
    return out


@dataclasses.dataclass
class RunConfig:
    """Everything a training run needs: algorithm, environment, trainer and agent settings.

    ``train`` and ``agent`` are plain dicts here; the trainer and the algorithm turn them into
    their dataclasses (and reject unknown keys) when the run starts.
    """

    algo: str
    """Algorithm name, as listed by ``rlworks train --help``."""
    env: str
    """Gymnasium environment id."""
    train: dict[str, Any] = dataclasses.field(default_factory=dict)
    """Trainer settings (fields of ``TrainConfig``)."""
    agent: dict[str, Any] = dataclasses.field(default_factory=dict)
    """Algorithm settings (fields of the algorithm's config dataclass)."""
    preset: str | None = None
    """The preset these settings started from, if any."""
    atari: bool | dict[str, Any] | None = None
    """Atari preprocessing of the run's environments (fields of
    ``rlworks.envs.atari.AtariOptions``: frame_stack, noop_max, clip_rewards...). null:
    automatic, the chapter's preprocessing with clipped rewards for ALE ids, nothing for other
    environments; false: the raw ALE game; true: the defaults; a mapping: those options.
    Evaluation plays the same preprocessing without reward clipping (game scores)."""


def preset_algos(data: Mapping[str, Any]) -> list[str]:
    """The algorithms a preset is for: its ``algo`` key, one name or a list (tabular learners
    share their settings)."""
    algo = data.get("algo")
    if algo is None:
        return []
    return [str(a) for a in algo] if isinstance(algo, list) else [str(algo)]


def env_slug(env: str) -> str:
    """The short name presets use for an environment id: ``"ALE/Breakout-v5"`` → ``"breakout"``,
    ``"CartPole-v1"`` → ``"cartpole"``."""
    base = env.rsplit("/", 1)[-1]
    return re.sub(r"-v\d+$", "", base).lower()


def find_preset(name: str | None, algo: str, env: str) -> Path | None:
    """Locate a preset: a file path, a bundled preset name, or the bundled default for the pair.

    A short name is tried as a file stem in ``rlworks/presets``, then as ``ALGO-ENV-NAME`` (the env
    slug of :func:`env_slug`) and ``ALGO-NAME``: ``rlworks train reinforce CartPole-v1 --preset
    book`` finds ``reinforce-book.yaml``, ``rlworks train dqn ALE/Breakout-v5 --preset book``
    finds ``dqn-breakout-book.yaml``. Without a name, ``ALGO-ENV.yaml`` is the pair's default,
    else ``ALGO-ENV-fast.yaml`` (settings for a small machine, where the pair's presets are too
    big to be a default: Atari), else the first preset made for the pair.

    Args:
        name: ``None`` for the bundled default of ``(algo, env)``, a bundled preset name (file
            stem in ``rlworks/presets``, or its short form) or a path to a YAML file.
        algo: Algorithm name.
        env: Environment id.

    Raises:
        ConfigError: ``name`` is neither an existing file nor a bundled preset.
    """
    bundled = {p.stem: p for p in sorted(PRESETS_DIR.glob("*.yaml"), key=lambda p: p.stem)}
    if name is None:
        # ALGO-ENV.yaml (or ALGO-ENV-fast.yaml) is the pair's default; else the first that fits.
        slug = env_slug(env)
        preferred = bundled.get(f"{algo}-{slug}") or bundled.get(f"{algo}-{slug}-fast")
        paths = [preferred, *bundled.values()] if preferred else list(bundled.values())
        for path in paths:
            data = load_yaml(path)
            if algo in preset_algos(data) and data.get("env") == env:
                return path
        return None
    if name in bundled:
        return bundled[name]
    elsewhere = []
    for stem in (f"{algo}-{env_slug(env)}-{name}", f"{algo}-{name}"):
        # A short name only finds a preset made for this environment (or for any).
        if stem in bundled:
            preset_env = load_yaml(bundled[stem]).get("env")
            if preset_env in (None, env):
                return bundled[stem]
            elsewhere.append(f"{stem} is for {preset_env}")
    path = Path(name)
    if path.suffix in (".yaml", ".yml") or path.exists():
        if not path.is_file():
            raise ConfigError(f"preset file {name!r} does not exist")
        return path
    if elsewhere:
        raise ConfigError(
            f"no preset {name!r} for {algo} on {env} ({'; '.join(elsewhere)}); name the file "
            "itself (--preset STEM) to use it anyway"
        )
    close = difflib.get_close_matches(name, list(bundled), n=1)
    hint = f"did you mean {close[0]!r}? " if close else ""
    raise ConfigError(
        f"unknown preset {name!r}; {hint}bundled presets: {', '.join(bundled) or 'none'}"
    )
