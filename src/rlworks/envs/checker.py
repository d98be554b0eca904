"""Checking that an environment follows Gymnasium's API, with one clear message per fault.

This module owns ``rlworks check-env``: :func:`load_env_target` turns ``ID``, ``module:Class`` or
``path/to/file.py:Class`` into an environment, and :func:`check_env` checks it.

:func:`check_env` first runs rlworks' own checks, which name each fault plainly
(``step() returned 4 values; ...``, ``reset() observation dtype float64, expected float32 from
observation_space``) and report every fault they find, then, when those pass, Gymnasium's
:func:`gymnasium.utils.env_checker.check_env` (seed determinism, data reuse, rendering, closing).
Faults are raised together as one :class:`EnvCheckError`.
"""

from __future__ import annotations

import contextlib
import difflib
import importlib
import importlib.util
import numbers
import sys
import warnings
from collections.abc import Callable, Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import gymnasium
import numpy as np
from gymnasium import spaces
from gymnasium.utils.env_checker import check_env as gymnasium_check_env

from rlworks.envs.registry import missing_extra_hint, resolve_env_id
from rlworks.errors import EnvError

__all__ = ["EnvCheckError", "check_env", "find_faults", "load_env_target"]

#: Steps taken by rlworks' own checks (resetting at each episode end).
CHECK_STEPS = 20
_RESET_SEED = 0
_MAX_VALUES_SHOWN = 3
_MAX_MESSAGE_CHARS = 300
_STEP_API = "Gymnasium's API returns 5: (obs, reward, terminated, truncated, info)"
_TARGET_FORMS = "expected a registered id, module:Class or path/to/file.py:Class"


class EnvCheckError(EnvError):
    """An environment breaks Gymnasium's API; :attr:`faults` lists every fault found.

    The message's first line is a summary; each fault follows on its own line.
    """

    def __init__(self, summary: str, faults: list[str]) -> None:
        """Build the error.

        Args:
            summary: The first line of the message.
            faults: One line per fault.
        """
        self.faults: list[str] = list(faults)
        super().__init__("\n".join([summary, *(f"  - {fault}" for fault in self.faults)]))


# ---------------------------------------------------------------------------------------------
# check_env


def check_env(env: gymnasium.Env[Any, Any], *, skip_render: bool = True) -> None:
    """Check that ``env`` follows Gymnasium's API; raise with every fault found.

    rlworks' own checks run first (spaces, ``reset``/``step`` return values, observation shape,
    dtype and bounds, reward, ``terminated``/``truncated`` and ``info`` types, over
    :data:`CHECK_STEPS` random steps); when they pass, Gymnasium's ``check_env`` runs and any
    assertion or error it raises becomes a fault too. The environment is reset and stepped, so
    its state changes; it is not closed.

    Args:
        env: The environment to check, wrapped or not.
        skip_render: Skip Gymnasium's render checks (they make a new environment per render mode).

    Raises:
        EnvCheckError: One or more faults were found (an :class:`~rlworks.errors.EnvError` whose
            ``faults`` attribute lists them, one line each).
    """
    faults = find_faults(env)
    if not faults:
        faults = _gymnasium_faults(env, skip_render=skip_render)
    if faults:
        noun = "fault" if len(faults) == 1 else "faults"
        raise EnvCheckError(
            f"environment {_describe_env(env)} breaks Gymnasium's API ({len(faults)} {noun}):",
            faults,
        )


def find_faults(env: object) -> list[str]:
    """Run rlworks' own API checks on ``env`` and return one message per fault (empty if none).

    Args:
        env: The object to check; anything that is not a ``gymnasium.Env`` is one fault.

    Returns:
        The fault messages, first occurrence of each kind of fault only, in the order found.
    """
    if not isinstance(env, gymnasium.Env):
        bases = ", ".join(f"{b.__module__}.{b.__qualname__}" for b in type(env).__bases__)
        return [
            f"{type(env).__qualname__} is not a gymnasium.Env (its bases: {bases}); "
            "subclass gymnasium.Env (classes built on the old gym.Env are not compatible)"
        ]
    faults = _Faults()
    _check_spaces(env, faults)
    if faults:
        return faults.messages()
    if _check_reset(env, faults, seed=_RESET_SEED):
        env.action_space.seed(_RESET_SEED)
        for _ in range(CHECK_STEPS):
            outcome = _check_step(env, faults)
            if outcome is None:
                break
            if outcome and not _check_reset(env, faults, seed=None):
                break
    return faults.messages()


class _Faults:
    """Fault messages keyed by kind, so that a fault repeated at every step is reported once."""

    def __init__(self) -> None:
        self._by_kind: dict[str, str] = {}

    def add(self, kind: str, message: str) -> None:
        self._by_kind.setdefault(kind, message)

    def __bool__(self) -> bool:
        return bool(self._by_kind)

    def messages(self) -> list[str]:
        return list(self._by_kind.values())


def _check_spaces(env: gymnasium.Env[Any, Any], faults: _Faults) -> None:
    for name in ("action_space", "observation_space"):
        space = getattr(env, name, None)
        if space is None:
            faults.add(
                name,
                f"{name} is missing; set self.{name} to a gymnasium.spaces.Space in __init__",
            )
        elif not isinstance(space, spaces.Space):
            faults.add(
                name,
                f"{name} is {_typed(space)}, expected a gymnasium.spaces.Space",
            )


def _check_reset(env: gymnasium.Env[Any, Any], faults: _Faults, *, seed: int | None) -> bool:
    """Reset ``env`` and record its faults; return False when checking cannot go on."""
    call = f"reset(seed={seed})" if seed is not None else "reset()"
    try:
        result: object = env.reset(seed=seed)
    except Exception as exc:
        hint = ""
        if isinstance(exc, TypeError) and "seed" in str(exc):
            hint = (
                "; define reset(self, *, seed=None, options=None) and call super().reset(seed=seed)"
            )
        faults.add("reset-raised", f"{call} raised {_one_line(exc)}{hint}")
        return False
    if not (isinstance(result, tuple) and len(result) == 2):
        faults.add(
            "reset-return",
            f"reset() returned {_describe_value(result)}; "
            "Gymnasium's API returns a tuple (obs, info)",
        )
        return False
    obs, info = result
    if not isinstance(info, dict):
        faults.add("reset-info", f"reset() info is {_typed(info)}, expected a dict")
    _check_observation(obs, env.observation_space, "reset() observation", "obs", faults)
    return True


def _check_step(env: gymnasium.Env[Any, Any], faults: _Faults) -> bool | None:
    """Take one random step and record its faults.

    Returns:
        True when the episode ended, False when it goes on, None when checking cannot go on.
    """
    action = env.action_space.sample()
    try:
        result: object = env.step(action)
    except Exception as exc:
        faults.add("step-raised", f"step({_short(action)}) raised {_one_line(exc)}")
        return None
    if not isinstance(result, tuple) or len(result) != 5:
        count = f"{len(result)} values" if isinstance(result, tuple) else _describe_value(result)
        faults.add("step-return", f"step() returned {count}; {_STEP_API}")
        return None
    obs, reward, terminated, truncated, info = result
    _check_observation(obs, env.observation_space, "step() observation", "obs", faults)
    if isinstance(reward, bool | np.bool_) or not isinstance(reward, numbers.Real):
        faults.add(
            "reward-type",
            f"step() reward is {_typed(reward)}, expected a float",
        )
    elif not np.isfinite(float(reward)):
        faults.add("reward-finite", f"step() reward is {float(reward)}, expected a finite number")
    if not isinstance(info, dict):
        faults.add("step-info", f"step() info is {_typed(info)}, expected a dict")
    flags_ok = True
    for name, flag in (("terminated", terminated), ("truncated", truncated)):
        if not isinstance(flag, bool | np.bool_):
            flags_ok = False
            faults.add(
                f"{name}-type",
                f"step() {name} is {_typed(flag)}, expected a bool",
            )
    if not flags_ok:
        return None  # cannot tell whether the episode ended
    return bool(terminated) or bool(truncated)


def _check_observation(
    obs: Any, space: spaces.Space[Any], label: str, kind: str, faults: _Faults
) -> None:
    """Record the faults of ``obs`` against ``space``; ``kind`` names the position in the obs."""
    if isinstance(space, spaces.Box):
        _check_box_observation(obs, space, label, kind, faults)
    elif isinstance(space, spaces.Discrete):
        _check_discrete_observation(obs, space, label, kind, faults)
    elif isinstance(space, spaces.Dict):
        if not isinstance(obs, dict):
            faults.add(f"{kind}:type", f"{label} is {_typed(obs)}, expected a dict")
            return
        if set(obs) != set(space.spaces):
            faults.add(
                f"{kind}:keys",
                f"{label} has keys {sorted(map(str, obs))}, "
                f"expected {sorted(map(str, space.spaces))} from observation_space",
            )
            return
        for key, subspace in space.spaces.items():
            _check_observation(obs[key], subspace, f"{label}[{key!r}]", f"{kind}[{key!r}]", faults)
    elif isinstance(space, spaces.Tuple):
        if not isinstance(obs, tuple) or len(obs) != len(space.spaces):
            faults.add(
                f"{kind}:type",
                f"{label} is {_describe_value(obs)}, "
                f"expected a tuple of {len(space.spaces)} values from observation_space",
            )
            return
        for index, (item, subspace) in enumerate(zip(obs, space.spaces, strict=True)):
            _check_observation(item, subspace, f"{label}[{index}]", f"{kind}[{index}]", faults)
    else:
        try:
            inside = space.contains(obs)
        except Exception:
            inside = False
        if not inside:
            faults.add(f"{kind}:contains", f"{label} {_short(obs)} is not in {space}")


def _check_box_observation(
    obs: Any, space: spaces.Box, label: str, kind: str, faults: _Faults
) -> None:
    if not isinstance(obs, np.ndarray):
        faults.add(
            f"{kind}:type",
            f"{label} is {_typed(obs)}, expected a numpy array of shape {space.shape} "
            f"and dtype {space.dtype}",
        )
        return
    if obs.shape != space.shape:
        faults.add(f"{kind}:shape", f"{label} shape {obs.shape}, expected {space.shape}")
        return
    if obs.dtype != space.dtype:
        faults.add(
            f"{kind}:dtype",
            f"{label} dtype {obs.dtype}, expected {space.dtype} from observation_space",
        )
    if obs.dtype.kind not in "biuf":
        return
    low = np.broadcast_to(space.low, obs.shape)
    high = np.broadcast_to(space.high, obs.shape)
    outside = (obs < low) | (obs > high)
    if obs.dtype.kind == "f":
        outside |= np.isnan(obs)
    bad = np.argwhere(outside)
    if not len(bad):
        return
    shown = [
        f"[{', '.join(map(str, index))}]={_number(obs[tuple(index)])} not in "
        f"[{_number(low[tuple(index)])}, {_number(high[tuple(index)])}]"
        for index in bad[:_MAX_VALUES_SHOWN]
    ]
    more = f" (and {len(bad) - len(shown)} more)" if len(bad) > len(shown) else ""
    faults.add(
        f"{kind}:bounds", f"{label} is outside observation_space at {', '.join(shown)}{more}"
    )


def _check_discrete_observation(
    obs: Any, space: spaces.Discrete, label: str, kind: str, faults: _Faults
) -> None:
    start, n = int(space.start), int(space.n)
    expected = f"an integer in [{start}, {start + n - 1}] for {space}"
    if isinstance(obs, np.ndarray) and obs.shape == () and obs.dtype.kind in "iu":
        obs = obs.item()
    if isinstance(obs, bool | np.bool_) or not isinstance(obs, int | np.integer):
        faults.add(
            f"{kind}:type",
            f"{label} is {_typed(obs)}, expected {expected}",
        )
    elif not start <= int(obs) < start + n:
        faults.add(
            f"{kind}:bounds",
            f"{label} {int(obs)} is outside observation_space, expected {expected}",
        )


def _gymnasium_faults(env: gymnasium.Env[Any, Any], *, skip_render: bool) -> list[str]:
    """Run Gymnasium's checker and turn what it raises into one fault."""
    with warnings.catch_warnings():
        # rlworks checks environments as they will be used, wrappers included.
        warnings.filterwarnings("ignore", message=r".*is different from the unwrapped version")
        try:
            gymnasium_check_env(env, skip_render_check=skip_render)
        except Exception as exc:
            return [f"Gymnasium's check_env: {_one_line(exc)}"]
    return []


# ---------------------------------------------------------------------------------------------
# load_env_target


def load_env_target(target: str) -> gymnasium.Env[Any, Any]:
    """Make the environment named by ``target``, as ``rlworks check-env`` accepts it.

    Args:
        target: A registered id (``"CartPole-v1"``, ``"rlworks/GridWorld-v0"``), ``"module:Class"``
            (``"my_pkg.envs:MyEnv"``) or ``"path/to/file.py:Class"``. Classes (or factory functions)
            are called without arguments. Registered ids are made with ``gymnasium.make`` without
            Gymnasium's passive checker (``check_env`` does that work).

    Returns:
        The environment.

    Raises:
        EnvError: The id is unknown or needs a missing extra, the module or file cannot be
            imported, it has no such attribute, or the attribute does not make a
            ``gymnasium.Env``.
    """
    if not isinstance(target, str) or not target.strip():
        raise EnvError(f"environment target {target!r} is empty or not a string; {_TARGET_FORMS}")
    location, colon, attribute = target.rpartition(":")
    if colon and location and all(part.isidentifier() for part in attribute.split(".")):
        module = _import_target_module(location, target)
        return _instantiate(_get_attribute(module, attribute, target), target)
    spec = resolve_env_id(target)
    try:
        env: gymnasium.Env[Any, Any] = gymnasium.make(spec, disable_env_checker=True)
    except Exception as exc:
        hint = missing_extra_hint(spec.id, exc)
        raise EnvError(hint or f"making {target!r} failed: {_one_line(exc)}") from exc
    return env


def _import_target_module(location: str, target: str) -> ModuleType:
    if location.endswith(".py") or "/" in location or "\\" in location:
        return _import_file(Path(location), target)
    if not all(part.isidentifier() for part in location.split(".")):
        raise EnvError(
            f"{location!r} in {target!r} is not a module name or a .py file; {_TARGET_FORMS}"
        )
    try:
        with _on_sys_path(Path.cwd()):  # `rlworks check-env my_env:MyEnv` run where my_env.py is
            return importlib.import_module(location)
    except ModuleNotFoundError as exc:
        if exc.name is not None and (location == exc.name or location.startswith(exc.name + ".")):
            raise EnvError(
                f"module {location!r} not found (from {target!r}); {_TARGET_FORMS}"
            ) from exc
        raise EnvError(f"importing module {location!r} failed: {_one_line(exc)}") from exc
    except Exception as exc:
        raise EnvError(f"importing module {location!r} failed: {_one_line(exc)}") from exc


def _import_file(path: Path, target: str) -> ModuleType:
    if not path.is_file():
        raise EnvError(
            f"environment file {str(path)!r} not found (from {target!r}); {_TARGET_FORMS}"
        )
    name = f"_rlworks_env_target_{path.stem}_{abs(hash(str(path.resolve())))}"
    spec = importlib.util.spec_from_file_location(name, path)
    if spec is None or spec.loader is None:
        raise EnvError(f"cannot import {str(path)!r} (from {target!r}); expected a Python file")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    try:
        with _on_sys_path(path.resolve().parent):  # so that the file can import its neighbours
            spec.loader.exec_module(module)
    except Exception as exc:
        del sys.modules[name]
        raise EnvError(f"importing {str(path)!r} failed: {_one_line(exc)}") from exc
    return module


@contextlib.contextmanager
def _on_sys_path(directory: Path) -> Iterator[None]:
    """Put ``directory`` first on ``sys.path`` for the duration of an import, if it is missing."""
    entry = str(directory)
    if entry in sys.path or (directory == Path.cwd() and "" in sys.path):
        yield
        return
    sys.path.insert(0, entry)
    try:
        yield
    finally:
        with contextlib.suppress(ValueError):
            sys.path.remove(entry)


def _get_attribute(module: ModuleType, attribute: str, target: str) -> object:
    obj: object = module
    for part in attribute.split("."):
        if not hasattr(obj, part):
            public = [name for name in dir(module) if not name.startswith("_")]
            close = difflib.get_close_matches(attribute, public, n=1)
            hint = f"; did you mean {close[0]!r}?" if close else ""
            raise EnvError(
                f"{module.__name__!r} has no attribute {attribute!r} (from {target!r}){hint}"
            )
        obj = getattr(obj, part)
    return obj


def _instantiate(obj: object, target: str) -> gymnasium.Env[Any, Any]:
    if isinstance(obj, gymnasium.Env):
        return obj
    if isinstance(obj, type) and not issubclass(obj, gymnasium.Env):
        bases = ", ".join(f"{b.__module__}.{b.__qualname__}" for b in obj.__bases__)
        raise EnvError(
            f"{target!r} is not a gymnasium.Env subclass (its bases: {bases}); "
            "subclass gymnasium.Env"
        )
    if not callable(obj):
        raise EnvError(f"{target!r} is a {type(obj).__name__}, expected a gymnasium.Env subclass")
    factory: Callable[[], object] = obj
    try:
        env = factory()
    except Exception as exc:
        raise EnvError(
            f"{target!r}() raised {_one_line(exc)}; check-env calls it without arguments"
        ) from exc
    if not isinstance(env, gymnasium.Env):
        raise EnvError(f"{target!r}() returned a {type(env).__name__}, expected a gymnasium.Env")
    return env


# ---------------------------------------------------------------------------------------------
# message helpers


def _describe_env(env: object) -> str:
    spec = getattr(env, "spec", None)
    if spec is not None and getattr(spec, "id", None):
        return repr(spec.id)
    unwrapped = getattr(env, "unwrapped", env)
    return type(unwrapped).__qualname__


def _describe_value(value: object) -> str:
    if isinstance(value, tuple):
        return f"a tuple of {len(value)} values"
    if isinstance(value, np.ndarray):
        return f"an ndarray of shape {value.shape}"
    return f"a {type(value).__name__}"


def _number(value: Any) -> str:
    item = value.item() if isinstance(value, np.generic) else value
    return f"{item:.6g}" if isinstance(item, float) else str(item)


def _typed(value: object) -> str:
    """``0 (int)``: a short repr of ``value`` and its type's name."""
    return f"{_short(value)} ({type(value).__name__})"


def _short(value: object) -> str:
    text = " ".join(repr(value).split())
    return text if len(text) <= 60 else text[:57] + "..."


def _one_line(exc: BaseException) -> str:
    text = " ".join(str(exc).split())
    text = f"{type(exc).__name__}: {text}" if text else type(exc).__name__
    return text if len(text) <= _MAX_MESSAGE_CHARS else text[: _MAX_MESSAGE_CHARS - 3] + "..."
