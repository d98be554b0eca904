"""The lazy packages (rlworks.agents, rlworks.nets, rlworks.curiosity): every public name and
submodule as before, without importing torch for their torch-free modules."""

from __future__ import annotations

import importlib
import json
import subprocess
import sys
import types

import pytest

from rlworks.nets.mlp import mlp as mlp_function

PACKAGES = ["rlworks.agents", "rlworks.nets", "rlworks.curiosity"]


@pytest.mark.parametrize("name", PACKAGES)
def test_every_public_name_resolves(name: str) -> None:
    package = importlib.import_module(name)
    for public in package.__all__:
        assert getattr(package, public) is not None, f"{name}.{public}"
        assert public in dir(package)
    with pytest.raises(AttributeError, match=f"module '{name}' has no attribute 'nope'"):
        package.nope  # noqa: B018


@pytest.mark.parametrize(
    ("name", "submodule"),
    [("rlworks.agents", "ppo"), ("rlworks.agents", "base"), ("rlworks.nets", "cnn"),
     ("rlworks.curiosity", "rnd")],
)  # fmt: skip
def test_submodules_are_attributes_as_before(name: str, submodule: str) -> None:
    value = getattr(importlib.import_module(name), submodule)
    assert isinstance(value, types.ModuleType) and value.__name__ == f"{name}.{submodule}"


def test_nets_mlp_stays_the_function_after_its_module_is_imported() -> None:
    import rlworks.nets
    import rlworks.nets.mlp

    assert rlworks.nets.mlp is mlp_function
    from rlworks.nets import mlp

    assert mlp is mlp_function


def test_the_torch_free_modules_import_without_torch() -> None:
    code = (
        "import json, sys\n"
        "import rlworks.agents.ppo_numpy, rlworks.agents.ppo_config, rlworks.nets.numpy_mlp\n"
        "import rlworks.curiosity.settings, rlworks.training.trainer, rlworks.training.checkpoint\n"
        "from rlworks.agents import get_config_class, NumpyPPO, PPOConfig\n"
        "get_config_class('ppo')\n"
        "print(json.dumps('torch' in sys.modules))\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          check=True, timeout=60)  # fmt: skip
    assert json.loads(done.stdout) is False


def test_algorithms_can_be_registered() -> None:
    from rlworks.agents import ALGORITHMS, SAC, get_algorithm, get_config_class

    ALGORITHMS["my-sac"] = SAC
    try:
        assert get_algorithm("my-sac") is SAC and "my-sac" in ALGORITHMS
        assert get_config_class("my-sac") is SAC.config_cls
    finally:
        del ALGORITHMS["my-sac"]
    assert "my-sac" not in ALGORITHMS
    with pytest.raises(KeyError, match="built-in"):
        del ALGORITHMS["ppo"]
