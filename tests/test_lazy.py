"""The lazy packages (rlworks.agents, rlworks.nets, rlworks.curiosity): every public name and
submodule as before, without importing torch for their torch-free modules."""

from __future__ import annotations

import importlib
import json
import subprocess
import sys

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


def test_submodules_and_checkpoint_helpers_are_attributes_as_before() -> None:
    # In a fresh interpreter: here other tests have imported the submodules already, which
    # sets the package attributes whatever the package does.
    code = (
        "import json, types\n"
        "import rlworks.agents, rlworks.nets, rlworks.curiosity\n"
        "from rlworks.agents import find_checkpoint, load_checkpoint\n"
        "mods = [rlworks.agents.ppo, rlworks.agents.base,\n"
        "        rlworks.nets.cnn, rlworks.curiosity.rnd]\n"
        "print(json.dumps([m.__name__ for m in mods if isinstance(m, types.ModuleType)]))\n"
        "print(json.dumps([callable(find_checkpoint), callable(load_checkpoint),\n"
        "                  hasattr(rlworks.agents, 'x.y')]))\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          check=True, timeout=60)  # fmt: skip
    names, checks = (json.loads(line) for line in done.stdout.splitlines())
    assert names == ["rlworks.agents.ppo", "rlworks.agents.base", "rlworks.nets.cnn",
                     "rlworks.curiosity.rnd"]  # fmt: skip
    assert checks == [True, True, False]


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
    ALGORITHMS["other"] = SAC
    ALGORITHMS.clear()  # the added ones only
    assert "other" not in ALGORITHMS and "ppo" in ALGORITHMS


def test_a_registered_ppo_replaces_both_engines() -> None:
    from rlworks.agents import ALGORITHMS, PPO, PPOConfig, get_agent_class

    class MyPPO(PPO):
        pass

    ALGORITHMS["ppo"] = MyPPO
    try:
        assert get_agent_class("ppo", PPOConfig(), "cpu") is MyPPO
    finally:
        del ALGORITHMS["ppo"]
    assert get_agent_class("ppo", PPOConfig(), "cpu").__name__ == "NumpyPPO"
