"""The chapter's example processes, by name, and :func:`load_mdp` for any MDP source.

This module owns the built-in examples — :func:`book_mdp` (the 3-state MDP of Figure 18-8) and
:func:`book_chain` (the 4-state Markov chain of Figure 18-7) — the :data:`EXAMPLES` registry with
:func:`get_example`, and :func:`load_mdp`, which turns an example name, a YAML/JSON file or a
Gymnasium toy-text id into a :class:`~rlworks.mdp.model.TabularMDP`.
"""

from __future__ import annotations

import difflib
from collections.abc import Callable
from pathlib import Path

from rlworks.errors import ConfigError, EnvError
from rlworks.mdp.chain import MarkovChain
from rlworks.mdp.model import TabularMDP

__all__ = ["EXAMPLES", "MDP_FILE_SUFFIXES", "book_chain", "book_mdp", "get_example", "load_mdp"]

#: File name endings :func:`load_mdp` reads as MDP files.
MDP_FILE_SUFFIXES: tuple[str, ...] = (".yaml", ".yml", ".json")


def book_mdp() -> TabularMDP:
    """The chapter's 3-state MDP (Figure 18-8).

    In ``s0``, action ``a0`` stays with probability 0.7 (reward +10) or moves to ``s1``; in
    ``s1``, ``a2`` goes "through the fire" to ``s2`` (reward -50) and ``a1`` is impossible; in
    ``s2`` only ``a1`` is possible and leads back to ``s0`` with probability 0.8 (reward +40).
    No state is terminal.
    """
    transition_probabilities = [  # shape=[s, a, s']
        [[0.7, 0.3, 0.0], [1.0, 0.0, 0.0], [0.8, 0.2, 0.0]],
        [[0.0, 1.0, 0.0], None, [0.0, 0.0, 1.0]],
        [None, [0.8, 0.1, 0.1], None],
    ]
    rewards = [  # shape=[s, a, s']
        [[+10, 0, 0], [0, 0, 0], [0, 0, 0]],
        [[0, 0, 0], [0, 0, 0], [0, 0, -50]],
        [[0, 0, 0], [+40, 0, 0], [0, 0, 0]],
    ]
    possible_actions = [[0, 1, 2], [0, 2], [1]]
    return TabularMDP.from_lists(transition_probabilities, rewards, possible_actions, name="book")


def book_chain() -> MarkovChain:
    """The chapter's 4-state Markov chain (Figure 18-7); state ``s3`` is terminal."""
    transition_probabilities = [  # shape=[s, s']
        [0.7, 0.2, 0.0, 0.1],  # from s0 to s0, s1, s2, s3
        [0.0, 0.0, 0.9, 0.1],  # from s1 to s0, s1, s2, s3
        [0.0, 1.0, 0.0, 0.0],  # from s2 to s0, s1, s2, s3
        [0.0, 0.0, 0.0, 1.0],  # from s3 to s0, s1, s2, s3
    ]
    return MarkovChain(transition_probabilities, terminal_states=[3], name="book-chain")


#: Built-in examples by name: each builds a fresh object.
EXAMPLES: dict[str, Callable[[], TabularMDP | MarkovChain]] = {
    "book": book_mdp,
    "book-chain": book_chain,
}


def get_example(name: str) -> TabularMDP | MarkovChain:
    """Build the example called ``name`` (see :data:`EXAMPLES`).

    Raises:
        ConfigError: Unknown name, with the closest name and the list of examples.
    """
    factory = EXAMPLES.get(name)
    if factory is None:
        raise ConfigError(_unknown_example(name))
    return factory()


def _unknown_example(name: str) -> str:
    close = difflib.get_close_matches(str(name), list(EXAMPLES), n=1)
    hint = f"did you mean {close[0]!r}? " if close else ""
    return f"unknown example {name!r}; {hint}examples: {', '.join(EXAMPLES)}"


def load_mdp(spec: str) -> TabularMDP:
    """An MDP from an example name, a ``.yaml``/``.yml``/``.json`` file or a Gymnasium id.

    Tried in that order: ``"book"``; ``"my_mdp.yaml"`` (see
    :meth:`~rlworks.mdp.model.TabularMDP.from_file`); ``"FrozenLake-v1"`` or any registered id
    whose environment exposes a toy-text transition table (see
    :meth:`~rlworks.mdp.model.TabularMDP.from_env`).

    Raises:
        ConfigError: ``spec`` names a Markov chain example, a missing or invalid file, an
            environment without a transition table, or none of the three forms.
    """
    if spec in EXAMPLES:
        example = EXAMPLES[spec]()
        if isinstance(example, MarkovChain):
            raise ConfigError(
                f"example {spec!r} is a Markov chain, not an MDP (it has no actions); "
                f"MDP examples: {', '.join(_mdp_examples())}"
            )
        return example
    path = Path(spec)
    if path.suffix.lower() in MDP_FILE_SUFFIXES:
        if not path.is_file():
            raise ConfigError(f"MDP file {spec!r} does not exist")
        return TabularMDP.from_file(path)
    from rlworks.envs.registry import resolve_env_id

    try:
        resolve_env_id(spec)
    except EnvError:
        close = difflib.get_close_matches(spec, list(EXAMPLES), n=1)
        hint = f"; did you mean {close[0]!r}?" if close else ""
        raise ConfigError(
            f"cannot load an MDP from {spec!r}: it is not an example name "
            f"({', '.join(_mdp_examples())}), not an existing {'/'.join(MDP_FILE_SUFFIXES)} "
            f"file, and not a registered Gymnasium environment id (such as FrozenLake-v1){hint}"
        ) from None
    return TabularMDP.from_env(spec)


def _mdp_examples() -> list[str]:
    return [name for name in EXAMPLES if name != "book-chain"]
