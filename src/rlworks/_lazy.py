"""Packages whose public names load on first use (PEP 562).

``rlworks.agents``, ``rlworks.nets`` and ``rlworks.curiosity`` re-export names from modules that
import torch. Loaded eagerly, importing any one module of such a package (say the torch-free
NumPy PPO engine, or a config dataclass) would run every sibling module and torch's import, a
second or more. With :func:`lazy_exports`, a package's ``__init__`` lists where each public
name lives and the module is imported only when the name is first used.
"""

from __future__ import annotations

import importlib
import importlib.util
import sys
import types
from collections.abc import Callable, Mapping
from typing import Any

__all__ = ["lazy_exports", "prefer_exports_over_submodules"]


def lazy_exports(
    package: str, exports: Mapping[str, str], namespace: dict[str, Any]
) -> tuple[Callable[[str], Any], Callable[[], list[str]]]:
    """``__getattr__`` and ``__dir__`` for ``package``.

    A name that is not an export but a submodule of the package imports that submodule, as
    the eager ``__init__`` had made every submodule an attribute of the package.

    Args:
        package: The package's ``__name__`` (for error messages).
        exports: Public name → the module that defines it.
        namespace: The package's ``globals()``: each name is cached there once loaded.

    Returns:
        The module-level ``__getattr__`` and ``__dir__`` functions.
    """

    def __getattr__(name: str) -> Any:
        module = exports.get(name)
        if module is not None:
            value = getattr(importlib.import_module(module), name)
        elif "." not in name and importlib.util.find_spec(f"{package}.{name}") is not None:
            value = importlib.import_module(f"{package}.{name}")  # a submodule, as before
        else:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        namespace[name] = value
        return value

    def __dir__() -> list[str]:
        return sorted(set(namespace) | set(exports))

    return __getattr__, __dir__


def prefer_exports_over_submodules(package: str, names: tuple[str, ...]) -> None:
    """Keep each of ``names`` bound to the same-named object its submodule defines.

    ``rlworks.nets.mlp`` is both a submodule and the function it defines. Importing a submodule
    sets the package attribute of that name to the module; an eager ``__init__`` rebound it to
    the function right after (``from rlworks.nets.mlp import mlp``). A lazy package does the
    same here: whenever the import system sets one of ``names`` to its submodule, the package
    keeps the submodule's object of that name instead.
    """
    module = sys.modules[package]

    class _Package(types.ModuleType):
        def __setattr__(self, name: str, value: Any) -> None:
            if name in names and isinstance(value, types.ModuleType):
                value = getattr(value, name)
            super().__setattr__(name, value)

    module.__class__ = _Package
