"""Markov chains: the chapter's first stochastic process, with no actions and no rewards.

This module owns :class:`MarkovChain` (a validated ``[S, S]`` transition matrix with terminal
states), :meth:`MarkovChain.simulate`, which reproduces the chapter's ``run_chain`` draw for draw
when given ``np.random.RandomState(42)``, and :meth:`MarkovChain.stationary_distribution`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple

import numpy as np
import numpy.typing as npt

from rlworks.errors import ConfigError
from rlworks.mdp.model import PROBABILITY_TOLERANCE, RandomSource, check_names, sample_index

__all__ = ["ChainRun", "MarkovChain"]

FloatArray = npt.NDArray[np.float64]


class ChainRun(NamedTuple):
    """One simulated run of a Markov chain."""

    states: list[int]
    """The visited states, starting with the start state (and ending with a terminal state when
    ``ended``)."""
    ended: bool
    """True when the run reached a terminal state; False when it stopped at ``max_steps``."""


class MarkovChain:
    """A finite Markov chain: ``P[s, s']`` is the probability of moving from ``s`` to ``s'``.

    Example:
        >>> chain = MarkovChain([[0.5, 0.5], [0.0, 1.0]], terminal_states=[1])
        >>> run = chain.simulate(0, np.random.RandomState(42))
        >>> run.states, run.ended
        ([0, 0, 1], True)
    """

    def __init__(
        self,
        transition_probabilities: npt.ArrayLike,
        terminal_states: Sequence[int] = (),
        state_names: Sequence[str] | None = None,
        name: str = "",
    ) -> None:
        """Build and validate the chain.

        Args:
            transition_probabilities: ``[S, S]`` probabilities; each row sums to 1.
            terminal_states: Indices of the states where a run stops.
            state_names: ``S`` names; default ``"s0"``, ``"s1"``, ...
            name: A short name for messages.

        Raises:
            ConfigError: The matrix is not square, has a negative or non-finite entry or a row
                that does not sum to 1, or a terminal state or name list does not fit — naming
                the state.
        """
        self.name = name or "chain"
        try:
            matrix = np.array(transition_probabilities, dtype=np.float64)
        except (TypeError, ValueError) as exc:
            raise ConfigError(f"{self.name}: transition_probabilities: {exc}") from None
        if matrix.ndim != 2 or matrix.shape[0] != matrix.shape[1] or matrix.shape[0] == 0:
            raise ConfigError(
                f"{self.name}: transition_probabilities shape {matrix.shape}, "
                "expected a square [S, S] matrix"
            )
        self.transition_probabilities: FloatArray = matrix
        n_states = matrix.shape[0]
        self.state_names = check_names(state_names, n_states, "s", f"{self.name}: state_names")
        self.terminal = np.zeros(n_states, dtype=bool)
        for state in terminal_states:
            if isinstance(state, bool) or not 0 <= int(state) < n_states:
                raise ConfigError(
                    f"{self.name}: terminal state {state!r} is not a state index in [0, {n_states})"
                )
            self.terminal[int(state)] = True
        self._check_rows()
        matrix.setflags(write=False)
        self.terminal.setflags(write=False)

    def _check_rows(self) -> None:
        matrix = self.transition_probabilities
        bad = np.argwhere(~np.isfinite(matrix) | (matrix < 0))
        if len(bad):
            s, s2 = (int(i) for i in bad[0])
            raise ConfigError(
                f"{self.name}: transition probability from state {s} to state {s2} is "
                f"{matrix[s, s2]}, expected a number >= 0"
            )
        sums = matrix.sum(axis=1)
        wrong = np.flatnonzero(np.abs(sums - 1.0) > PROBABILITY_TOLERANCE)
        if len(wrong):
            s = int(wrong[0])
            raise ConfigError(
                f"{self.name}: transition probabilities of state {s} sum to {sums[s]:.10g}, "
                "expected 1"
            )

    @property
    def n_states(self) -> int:
        """Number of states ``S``."""
        return int(self.transition_probabilities.shape[0])

    def simulate(self, start_state: int, rng: RandomSource, max_steps: int = 1000) -> ChainRun:
        """Run the chain from ``start_state`` as the chapter's ``run_chain`` does.

        The run records the current state, stops when it is terminal, else draws the next state
        with ``np.random.choice``'s recipe (see :func:`~rlworks.mdp.model.sample_index`); at most
        ``max_steps`` states are recorded.

        Args:
            start_state: Index of the first state.
            rng: ``np.random.RandomState(42)`` reproduces the chapter's seeded runs.
            max_steps: Most states recorded (the chapter's ``n_max_steps``), at least 1.

        Returns:
            The visited states and whether a terminal state was reached.

        Raises:
            ConfigError: ``start_state`` is out of range or ``max_steps`` < 1.
        """
        if not 0 <= start_state < self.n_states:
            raise ConfigError(
                f"{self.name}: start_state {start_state} is out of range [0, {self.n_states})"
            )
        if max_steps < 1:
            raise ConfigError(f"{self.name}: max_steps must be >= 1, got {max_steps}")
        state = int(start_state)
        states: list[int] = []
        for _ in range(max_steps):
            states.append(state)
            if self.terminal[state]:
                return ChainRun(states, True)
            state = sample_index(self.transition_probabilities[state], rng)
        return ChainRun(states, False)

    def stationary_distribution(self) -> FloatArray:
        """A distribution ``pi`` with ``pi @ P = pi`` (``[S]``).

        Solved as the least-squares solution of ``(P^T - I) pi = 0`` with ``sum(pi) = 1``.
        Chains with terminal (absorbing) states have their mass there; when several stationary
        distributions exist this returns the minimum-norm one among them.
        """
        n_states = self.n_states
        system = np.vstack([self.transition_probabilities.T - np.eye(n_states), np.ones(n_states)])
        target = np.zeros(n_states + 1)
        target[-1] = 1.0
        pi = np.linalg.lstsq(system, target, rcond=None)[0]
        pi = np.clip(pi, 0.0, None)
        return np.asarray(pi / pi.sum(), dtype=np.float64)

    def __repr__(self) -> str:
        terminal = [int(s) for s in np.flatnonzero(self.terminal)]
        return f"MarkovChain(name={self.name!r}, n_states={self.n_states}, terminal={terminal})"
