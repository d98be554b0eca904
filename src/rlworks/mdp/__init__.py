"""Markov chains, tabular MDPs and planning: the chapter's road to Bellman's equation.

* :mod:`rlworks.mdp.model` — :class:`TabularMDP` (arrays, validation, sampling, loading);
* :mod:`rlworks.mdp.chain` — :class:`MarkovChain` and :class:`ChainRun`;
* :mod:`rlworks.mdp.planning` — value / Q-value / policy iteration, :func:`solve`;
* :mod:`rlworks.mdp.examples` — the chapter's MDP and chain, :func:`load_mdp`;
* :mod:`rlworks.mdp.env` — :class:`TabularMDPEnv`, any MDP as a Gymnasium environment.

Example:
    >>> from rlworks.mdp import book_mdp, solve
    >>> solve(book_mdp(), gamma=0.95, method="q-value").policy.tolist()
    [0, 2, 1]
"""

from __future__ import annotations

from rlworks.mdp.chain import ChainRun, MarkovChain
from rlworks.mdp.env import TabularMDPEnv
from rlworks.mdp.examples import EXAMPLES, book_chain, book_mdp, get_example, load_mdp
from rlworks.mdp.model import TabularMDP
from rlworks.mdp.planning import (
    PlanningResult,
    bellman_backup,
    greedy_policy,
    policy_evaluation,
    policy_iteration,
    q_value_iteration,
    solve,
    uniform_policy,
    value_iteration,
)

__all__ = [
    "EXAMPLES",
    "ChainRun",
    "MarkovChain",
    "PlanningResult",
    "TabularMDP",
    "TabularMDPEnv",
    "bellman_backup",
    "book_chain",
    "book_mdp",
    "get_example",
    "greedy_policy",
    "load_mdp",
    "policy_evaluation",
    "policy_iteration",
    "q_value_iteration",
    "solve",
    "uniform_policy",
    "value_iteration",
]
