"""Tabular Markov decision processes: the model that planning and tabular learning work on.

This module owns :class:`TabularMDP`, a finite MDP held as NumPy arrays — transition probabilities
``T[s, a, s']``, rewards ``R[s, a, s']``, which actions are possible in each state, which states
end the episode — validated when it is built, with errors that name the offending state, action
or key. It can be built from the chapter's nested lists (:meth:`TabularMDP.from_lists`, where an
impossible action's row is ``None``), from a YAML or JSON file (:meth:`TabularMDP.from_file`) and
from any Gymnasium toy-text environment that exposes its transition table ``P``
(:meth:`TabularMDP.from_env`: FrozenLake, Taxi, CliffWalking). It samples transitions the way the
chapter's ``np.random.choice(..., p=...)`` does, so seeded runs reproduce the book's numbers.
"""

from __future__ import annotations

import difflib
import json
from collections.abc import Mapping, Sequence
from functools import cached_property
from pathlib import Path
from typing import Any, Protocol

import numpy as np
import numpy.typing as npt

from rlworks.config import load_yaml
from rlworks.errors import ConfigError, EnvError

__all__ = ["MDP_KEYS", "RandomSource", "TabularMDP", "sample_index"]

FloatArray = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]

#: Tolerance on probability sums (transition rows, start distribution).
PROBABILITY_TOLERANCE = 1e-8

#: Keys a YAML/JSON MDP file may hold (see :meth:`TabularMDP.from_dict`).
MDP_KEYS: tuple[str, ...] = (
    "name",
    "states",
    "actions",
    "transition_probabilities",
    "rewards",
    "possible_actions",
    "terminal_states",
    "initial_state",
    "episode_ends",
    "gamma",
)
_REQUIRED_KEYS = ("transition_probabilities", "rewards")


class RandomSource(Protocol):
    """What sampling needs from a random generator: ``random()`` in ``[0, 1)``.

    Both :class:`numpy.random.Generator` and the legacy :class:`numpy.random.RandomState` fit.
    """

    def random(self) -> float:
        """One uniform draw in ``[0, 1)``."""
        ...


def sample_index(probabilities: FloatArray, rng: RandomSource) -> int:
    """Draw an index with the given probabilities, exactly as legacy ``RandomState.choice`` does.

    ``np.random.seed(42); np.random.choice(n, p=p)`` draws ``cdf.searchsorted(random(),
    side="right")`` on the normalized cumulative sum, so passing ``np.random.RandomState(42)``
    here reproduces the chapter's seeded draws one for one.

    Args:
        probabilities: ``[N]`` non-negative weights with a positive sum.
        rng: A NumPy ``Generator`` or ``RandomState``.

    Returns:
        The drawn index in ``[0, N)``.
    """
    cdf = probabilities.cumsum()
    cdf /= cdf[-1]
    return int(cdf.searchsorted(rng.random(), side="right"))


class TabularMDP:
    """A finite Markov decision process held as NumPy arrays.

    Shapes use ``S`` states and ``A`` actions. A state is *terminal* when the episode ends on
    entering it: it has no decisions and its value is 0. ``ends[s, a, s']`` says whether the
    transition ``s --a--> s'`` ends the episode; by default it is ``terminal[s']``, but
    environments such as Taxi-v4 reach some next states both by ending and by non-ending
    transitions, so the flag is kept per transition. Impossible actions (the chapter's ``None``
    rows) are False in ``valid``; their rows, and the rows of terminal states, are ignored
    (they may be all-zero).

    The arrays are read-only: derived arrays (:attr:`expected_reward`,
    :attr:`continue_transitions`) are computed once and cached.

    Example:
        >>> mdp = TabularMDP.from_lists(
        ...     [[[0.7, 0.3], None], [[0.0, 1.0], [1.0, 0.0]]],
        ...     [[[10, 0], None], [[0, 0], [0, 0]]],
        ... )
        >>> mdp.n_states, mdp.n_actions, mdp.valid.tolist()
        (2, 2, [[True, False], [True, True]])
        >>> mdp.expected_reward[0, 0]  # 0.7 * 10
        np.float64(7.0)
    """

    def __init__(
        self,
        transitions: npt.ArrayLike,
        rewards: npt.ArrayLike,
        *,
        valid: npt.ArrayLike | None = None,
        terminal: npt.ArrayLike | None = None,
        ends: npt.ArrayLike | None = None,
        initial: npt.ArrayLike | None = None,
        state_names: Sequence[str] | None = None,
        action_names: Sequence[str] | None = None,
        name: str = "mdp",
        default_gamma: float | None = None,
    ) -> None:
        """Build and validate an MDP.

        Args:
            transitions: ``[S, A, S]`` probabilities ``T[s, a, s']``.
            rewards: ``[S, A, S]`` rewards ``R[s, a, s']``.
            valid: ``[S, A]`` action mask; default: the actions whose row has a positive sum.
            terminal: ``[S]`` terminal-state flags; default: none.
            ends: ``[S, A, S]`` "this transition ends the episode"; default ``terminal[s']``.
            initial: ``[S]`` start distribution; default: always state 0.
            state_names: ``S`` names; default ``"s0"``, ``"s1"``, ...
            action_names: ``A`` names; default ``"a0"``, ``"a1"``, ...
            name: A short name, used in messages and outputs.
            default_gamma: A suggested discount factor in ``[0, 1]``, or None.

        Raises:
            ConfigError: Any array has the wrong shape, a probability is negative or not finite,
                a possible action's row does not sum to 1, a reward is not finite, a non-terminal
                state has no possible action, ``initial`` is not a distribution, or the names do
                not fit — naming the state, action or argument.
        """
        self.name = str(name)
        self.transitions: FloatArray = _float_array(transitions, "transitions", ndim=3)
        n_states, n_actions, n_next = self.transitions.shape
        if n_states != n_next or n_states == 0 or n_actions == 0:
            raise ConfigError(
                f"{self.name}: transitions shape {self.transitions.shape}, "
                "expected [S, A, S] with S >= 1 states and A >= 1 actions"
            )
        self.rewards: FloatArray = _float_array(rewards, "rewards", ndim=None)
        if self.rewards.shape != self.transitions.shape:
            raise ConfigError(
                f"{self.name}: rewards shape {self.rewards.shape} does not match transitions "
                f"shape {self.transitions.shape}; both must be [S, A, S]"
            )
        self.state_names = check_names(state_names, n_states, "s", "state_names")
        self.action_names = check_names(action_names, n_actions, "a", "action_names")
        self.terminal: BoolArray = _bool_array(terminal, (n_states,), "terminal", fill=False)
        if valid is None:
            valid = self.transitions.sum(axis=2) > 0
        self.valid: BoolArray = _bool_array(valid, (n_states, n_actions), "valid", fill=True)
        if ends is None:
            ends = np.broadcast_to(self.terminal, self.transitions.shape)
        self.ends: BoolArray = _bool_array(ends, self.transitions.shape, "ends", fill=False)
        if initial is None:
            initial = np.eye(n_states)[0]
        self.initial: FloatArray = _float_array(initial, "initial", ndim=1)
        self.default_gamma = _check_default_gamma(default_gamma, self.name)
        self._validate()
        for array in (self.transitions, self.rewards, self.terminal, self.valid, self.ends):
            array.setflags(write=False)
        self.initial.setflags(write=False)

    # -----------------------------------------------------------------------------------------
    # validation

    def _validate(self) -> None:
        """Check probabilities, rewards, action masks and the start distribution."""
        self._check_probabilities()
        bad = np.argwhere(~np.isfinite(self.rewards))
        if len(bad):
            s, a, s2 = (int(i) for i in bad[0])
            raise ConfigError(
                f"{self.name}: reward of {self._where(s, a)} to {self._state(s2)} is "
                f"{self.rewards[s, a, s2]}, expected a finite number"
            )
        stuck = np.flatnonzero(~self.terminal & ~self.valid.any(axis=1))
        if len(stuck):
            raise ConfigError(
                f"{self.name}: {self._state(int(stuck[0]))} is not terminal but has no possible "
                "action; make an action possible or mark the state terminal"
            )
        self._check_initial()

    def _check_probabilities(self) -> None:
        """Probabilities are finite and >= 0; rows of possible actions sum to 1."""
        bad = np.argwhere(~np.isfinite(self.transitions) | (self.transitions < 0))
        if len(bad):
            s, a, s2 = (int(i) for i in bad[0])
            raise ConfigError(
                f"{self.name}: transition probability of {self._where(s, a)} to "
                f"{self._state(s2)} is {self.transitions[s, a, s2]}, expected a number >= 0"
            )
        sums = self.transitions.sum(axis=2)  # [S, A]
        checked = self.valid & ~self.terminal[:, None]
        wrong = np.argwhere(checked & (np.abs(sums - 1.0) > PROBABILITY_TOLERANCE))
        if len(wrong):
            s, a = (int(i) for i in wrong[0])
            raise ConfigError(
                f"{self.name}: transition probabilities of {self._where(s, a)} sum to "
                f"{sums[s, a]:.10g}, expected 1"
            )

    def _check_initial(self) -> None:
        """``initial`` is a probability distribution over the ``S`` states."""
        n_states = self.n_states
        if self.initial.shape != (n_states,):
            raise ConfigError(
                f"{self.name}: initial state distribution shape {self.initial.shape}, "
                f"expected ({n_states},), one probability per state"
            )
        bad = np.flatnonzero(~np.isfinite(self.initial) | (self.initial < 0))
        if len(bad):
            raise ConfigError(
                f"{self.name}: initial probability of {self._state(int(bad[0]))} is "
                f"{self.initial[bad[0]]}, expected a number >= 0"
            )
        total = float(self.initial.sum())
        if abs(total - 1.0) > PROBABILITY_TOLERANCE:
            raise ConfigError(
                f"{self.name}: initial state distribution sums to {total:.10g}, expected 1"
            )

    def _state(self, s: int) -> str:
        """``"state 1"``, plus its name when it is not the default ``"s1"``."""
        name = self.state_names[s]
        return f"state {s}" if name == f"s{s}" else f"state {s} ({name!r})"

    def _action(self, a: int) -> str:
        name = self.action_names[a]
        return f"action {a}" if name == f"a{a}" else f"action {a} ({name!r})"

    def _where(self, s: int, a: int) -> str:
        return f"{self._state(s)}, {self._action(a)}"

    # -----------------------------------------------------------------------------------------
    # derived arrays

    @property
    def n_states(self) -> int:
        """Number of states ``S``."""
        return int(self.transitions.shape[0])

    @property
    def n_actions(self) -> int:
        """Number of actions ``A``."""
        return int(self.transitions.shape[1])

    @cached_property
    def expected_reward(self) -> FloatArray:
        """``[S, A]`` expected immediate reward ``sum_s' T[s, a, s'] * R[s, a, s']``."""
        out = np.asarray(np.einsum("ijk,ijk->ij", self.transitions, self.rewards), dtype=np.float64)
        out.setflags(write=False)
        return out

    @cached_property
    def continue_transitions(self) -> FloatArray:
        """``[S, A, S]`` probabilities of the transitions that do *not* end the episode.

        ``T * (1 - ends)``: what the next state's value is weighted by in Bellman backups.
        """
        out = np.where(self.ends, 0.0, self.transitions)
        out.setflags(write=False)
        return out

    @cached_property
    def continue_matrix(self) -> FloatArray:
        """``[S * A, S]`` C-contiguous view of :attr:`continue_transitions`, for BLAS matvecs."""
        out = np.ascontiguousarray(
            self.continue_transitions.reshape(self.n_states * self.n_actions, self.n_states)
        )
        out.setflags(write=False)
        return out

    def possible_actions(self, state: int) -> list[int]:
        """The actions possible in ``state``, in increasing order."""
        return [int(a) for a in np.flatnonzero(self.valid[state])]

    # -----------------------------------------------------------------------------------------
    # sampling

    def sample_initial(self, rng: RandomSource) -> int:
        """Draw a start state from :attr:`initial`."""
        return sample_index(np.asarray(self.initial, dtype=np.float64), rng)

    def sample_next(self, state: int, action: int, rng: RandomSource) -> int:
        """Draw the next state of ``state --action-->`` as ``np.random.choice(S, p=T[s, a])``.

        Uses ``cdf = T[s, a].cumsum(); cdf /= cdf[-1]; cdf.searchsorted(rng.random(),
        side="right")``, the recipe of legacy ``RandomState.choice``: with
        ``np.random.RandomState(42)`` the draws are those of the chapter's seeded code.
        """
        return sample_index(np.asarray(self.transitions[state, action]), rng)

    def step(self, state: int, action: int, rng: RandomSource) -> tuple[int, float, bool]:
        """Take ``action`` in ``state``: ``(next_state, reward, terminated)``.

        A terminal state is absorbing: stepping from it returns ``(state, 0.0, True)``.

        Raises:
            EnvError: ``state`` or ``action`` is out of range, or ``action`` is not possible in
                ``state`` (the message lists the possible ones).
        """
        self.check_action(state, action)
        if self.terminal[state]:
            return int(state), 0.0, True
        next_state = self.sample_next(state, action, rng)
        reward = float(self.rewards[state, action, next_state])
        return next_state, reward, bool(self.ends[state, action, next_state])

    def check_action(self, state: int, action: int) -> None:
        """Raise :class:`~rlworks.errors.EnvError` unless ``action`` is possible in ``state``.

        Actions are not checked in terminal states (the episode is over there).
        """
        if not 0 <= state < self.n_states:
            raise EnvError(f"{self.name}: state {state} is out of range [0, {self.n_states})")
        if not 0 <= action < self.n_actions:
            raise EnvError(
                f"{self.name}: action {action} is out of range [0, {self.n_actions}) "
                f"in state {self.state_names[state]}"
            )
        if not self.valid[state, action] and not self.terminal[state]:
            possible = ", ".join(map(str, self.possible_actions(state)))
            raise EnvError(
                f"{self.name}: action {action} is not possible in state "
                f"{self.state_names[state]} (possible: {possible})"
            )

    # -----------------------------------------------------------------------------------------
    # constructors

    @classmethod
    def from_lists(
        cls,
        transition_probabilities: Sequence[Any],
        rewards: Sequence[Any],
        possible_actions: Sequence[Sequence[int]] | None = None,
        terminal_states: Sequence[int] = (),
        initial_state: int | Sequence[float] = 0,
        *,
        name: str = "mdp",
        state_names: Sequence[str] | None = None,
        action_names: Sequence[str] | None = None,
        default_gamma: float | None = None,
    ) -> TabularMDP:
        """Build an MDP from the chapter's nested lists.

        Args:
            transition_probabilities: ``[S][A][S]`` lists; an impossible action's row is ``None``.
            rewards: ``[S][A][S]`` lists; ``None`` rows are read as zeros.
            possible_actions: ``[S]`` lists of the possible actions. When the transitions have
                ``None`` rows it must agree with them; otherwise it defines which actions are
                possible. Default: the actions whose row is not ``None``.
            terminal_states: Indices of the terminal states.
            initial_state: The start state, or ``[S]`` start probabilities.
            name: A short name.
            state_names: ``S`` state names.
            action_names: ``A`` action names.
            default_gamma: A suggested discount factor.

        Raises:
            ConfigError: Ragged or malformed lists, ``possible_actions`` disagreeing with the
                ``None`` rows, or any check of the constructor.
        """
        transitions, present = _nested_rows(transition_probabilities, "transition_probabilities")
        reward_array, _ = _nested_rows(rewards, "rewards")
        n_states, n_actions = present.shape
        valid = present
        if possible_actions is not None:
            listed = _possible_mask(possible_actions, n_states, n_actions)
            if not present.all():
                _check_agreement(listed, present)
            valid = listed
        terminal = np.zeros(n_states, dtype=bool)
        terminal[_indices(terminal_states, n_states, "terminal_states")] = True
        return cls(
            transitions,
            reward_array,
            valid=valid,
            terminal=terminal,
            initial=_initial(initial_state, n_states),
            state_names=state_names,
            action_names=action_names,
            name=name,
            default_gamma=default_gamma,
        )

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], *, source: str = "mdp") -> TabularMDP:
        """Build an MDP from a mapping with the keys of :data:`MDP_KEYS`.

        Keys: ``transition_probabilities`` and ``rewards`` (required, as in :meth:`from_lists`),
        ``possible_actions``, ``terminal_states`` (indices or state names), ``initial_state``
        (an index, a state name or ``[S]`` probabilities), ``states`` and ``actions`` (names),
        ``episode_ends`` (``[s, a, s']`` triples of the transitions that end the episode, when
        they are not simply the transitions into terminal states), ``name`` and ``gamma`` (a
        suggested discount factor, stored as :attr:`default_gamma`).

        Args:
            data: The mapping, e.g. read from YAML or JSON.
            source: Where it came from (a file name), for error messages.

        Raises:
            ConfigError: Unknown keys (with close matches), missing required keys, or any
                problem in the values — each message starts with ``source``.
        """
        if not isinstance(data, Mapping):
            raise ConfigError(
                f"{source}: expected a mapping of MDP keys, got {type(data).__name__}"
            )
        _check_keys(data, source)
        states = data.get("states")
        try:
            terminal = [_state_index(t, states) for t in data.get("terminal_states") or ()]
            initial = data.get("initial_state", 0)
            if isinstance(initial, str):
                initial = _state_index(initial, states)
            mdp = cls.from_lists(
                data["transition_probabilities"],
                data["rewards"],
                data.get("possible_actions"),
                terminal,
                initial,
                name=str(data.get("name", Path(source).stem or "mdp")),
                state_names=states,
                action_names=data.get("actions"),
                default_gamma=data.get("gamma"),
            )
            if data.get("episode_ends") is not None:
                mdp = mdp._with_ends(data["episode_ends"])
        except ConfigError as exc:
            if str(exc).startswith(source):
                raise
            raise ConfigError(f"{source}: {exc}") from None
        return mdp

    @classmethod
    def from_file(cls, path: str | Path) -> TabularMDP:
        """Read an MDP from a ``.yaml``/``.yml`` or ``.json`` file (keys as in :meth:`from_dict`).

        Raises:
            ConfigError: The file is missing, malformed, or describes an invalid MDP.
        """
        path = Path(path)
        if path.suffix.lower() == ".json":
            try:
                data = json.loads(path.read_text())
            except FileNotFoundError:
                raise ConfigError(f"MDP file {str(path)!r} does not exist") from None
            except OSError as exc:
                raise ConfigError(f"cannot read MDP file {str(path)!r}: {exc.strerror}") from None
            except json.JSONDecodeError as exc:
                raise ConfigError(
                    f"{path}: malformed JSON at line {exc.lineno}, column {exc.colno}: {exc.msg}"
                ) from None
        else:
            data = load_yaml(path)
        return cls.from_dict(data, source=str(path))

    @classmethod
    def from_env(cls, env_or_id: Any) -> TabularMDP:
        """Read the MDP of a Gymnasium toy-text environment from its transition table.

        Works for any environment whose ``unwrapped.P[s][a]`` is a list of ``(probability,
        next_state, reward, terminated)`` tuples (FrozenLake-v1, FrozenLake8x8-v1, Taxi-v4,
        CliffWalking-v1), and for :class:`~rlworks.mdp.env.TabularMDPEnv` (its own MDP).
        Duplicate next states are merged (probabilities summed, rewards probability-weighted);
        ``ends`` comes from the ``terminated`` flags; a state is terminal when every transition
        into it ends the episode and all its own transitions are self-loops or end the episode
        (FrozenLake's holes and goal); the start distribution is ``initial_state_distrib`` when
        the environment has one.

        Args:
            env_or_id: A Gymnasium environment (wrapped or not) or a registered id.

        Raises:
            ConfigError: The environment exposes no transition table, its spaces are not
                ``Discrete``, or the table is malformed.
            EnvError: The id is unknown.
        """
        env, label, owned = _open_env(env_or_id)
        try:
            own_mdp = getattr(env.unwrapped, "mdp", None)
            if isinstance(own_mdp, TabularMDP):
                return own_mdp
            return cls(**_toy_text_arrays(env, label))
        finally:
            if owned:
                env.close()

    # -----------------------------------------------------------------------------------------
    # output

    def to_dict(self) -> dict[str, Any]:
        """The MDP as plain lists and numbers, for YAML/JSON; :meth:`from_dict` reads it back."""
        data: dict[str, Any] = {
            "name": self.name,
            "states": list(self.state_names),
            "actions": list(self.action_names),
            "transition_probabilities": self.transitions.tolist(),
            "rewards": self.rewards.tolist(),
            "possible_actions": [self.possible_actions(s) for s in range(self.n_states)],
            "terminal_states": [int(s) for s in np.flatnonzero(self.terminal)],
        }
        one_hot = np.flatnonzero(self.initial == 1.0)
        if len(one_hot) == 1 and np.count_nonzero(self.initial) == 1:
            data["initial_state"] = int(one_hot[0])
        else:
            data["initial_state"] = self.initial.tolist()
        if not np.array_equal(self.ends, np.broadcast_to(self.terminal, self.ends.shape)):
            data["episode_ends"] = np.argwhere(self.ends).tolist()
        if self.default_gamma is not None:
            data["gamma"] = self.default_gamma
        return data

    def _with_ends(self, triples: Any) -> TabularMDP:
        """A copy whose ``ends`` holds exactly the ``[s, a, s']`` triples given."""
        ends = np.zeros(self.transitions.shape, dtype=bool)
        try:
            index = np.asarray(triples, dtype=np.int64).reshape(-1, 3)
        except (TypeError, ValueError):
            raise ConfigError("episode_ends must be a list of [s, a, s'] index triples") from None
        if len(index) and (index.min() < 0 or (index >= ends.shape).any()):
            raise ConfigError(f"episode_ends has a triple outside the shape {ends.shape}")
        ends[tuple(index.T)] = True
        return TabularMDP(
            self.transitions,
            self.rewards,
            valid=self.valid,
            terminal=self.terminal,
            ends=ends,
            initial=self.initial,
            state_names=self.state_names,
            action_names=self.action_names,
            name=self.name,
            default_gamma=self.default_gamma,
        )

    def __repr__(self) -> str:
        terminal = int(self.terminal.sum())
        return (
            f"TabularMDP(name={self.name!r}, n_states={self.n_states}, "
            f"n_actions={self.n_actions}, terminal_states={terminal})"
        )


# ---------------------------------------------------------------------------------------------
# helpers


def _float_array(value: npt.ArrayLike, what: str, *, ndim: int | None) -> FloatArray:
    try:
        array = np.array(value, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"{what} must be an array of numbers: {exc}") from None
    if ndim is not None and array.ndim != ndim:
        raise ConfigError(
            f"{what} has {array.ndim} dimensions (shape {array.shape}), expected {ndim}"
        )
    return array


def _bool_array(
    value: npt.ArrayLike | None, shape: tuple[int, ...], what: str, *, fill: bool
) -> BoolArray:
    if value is None:
        return np.full(shape, fill, dtype=bool)
    array = np.array(value)
    if array.shape != shape:
        raise ConfigError(f"{what} shape {array.shape}, expected {shape}")
    if array.dtype != np.bool_ and not np.isin(array, (0, 1)).all():
        raise ConfigError(f"{what} must hold booleans, got dtype {array.dtype}")
    return array.astype(bool)


def check_names(names: Sequence[str] | None, count: int, prefix: str, what: str) -> list[str]:
    """``count`` unique names, defaulting to ``prefix0, prefix1, ...``; ``what`` names the key."""
    if names is None:
        return [f"{prefix}{i}" for i in range(count)]
    if isinstance(names, str) or len(names) != count:
        got = 1 if isinstance(names, str) else len(names)
        raise ConfigError(f"{what} has {got} names, expected {count}")
    out = [str(n) for n in names]
    if len(set(out)) != len(out):
        duplicate = next(n for n in out if out.count(n) > 1)
        raise ConfigError(f"{what} has the name {duplicate!r} twice; names must be unique")
    return out


def _check_default_gamma(gamma: Any, name: str) -> float | None:
    if gamma is None:
        return None
    if isinstance(gamma, bool) or not isinstance(gamma, int | float | np.floating):
        raise ConfigError(f"{name}: gamma must be a number in [0, 1], got {gamma!r}")
    if not 0.0 <= float(gamma) <= 1.0:
        raise ConfigError(f"{name}: gamma must be in [0, 1], got {gamma}")
    return float(gamma)


def _nested_rows(data: Any, what: str) -> tuple[FloatArray, BoolArray]:
    """``[S][A][N]`` nested lists with ``None`` rows -> ``([S, A, N] array, [S, A] present)``."""
    if not isinstance(data, Sequence) or isinstance(data, str) or not data:
        raise ConfigError(f"{what} must be a non-empty list (one entry per state)")
    for s, actions in enumerate(data):
        if not isinstance(actions, Sequence) or isinstance(actions, str):
            raise ConfigError(f"{what}[{s}] must be a list of per-action rows, got {actions!r}")
        if len(actions) != len(data[0]) or not actions:
            raise ConfigError(
                f"{what}[{s}] has {len(actions)} actions, expected {len(data[0])} like state 0"
            )
    first = next((row for actions in data for row in actions if row is not None), None)
    width = len(first) if isinstance(first, Sequence) else len(data)
    out = np.zeros((len(data), len(data[0]), width))
    present = np.zeros((len(data), len(data[0])), dtype=bool)
    for s, actions in enumerate(data):
        for a, row in enumerate(actions):
            if row is None:
                continue
            try:
                values = np.asarray(row, dtype=np.float64)
            except (TypeError, ValueError):
                raise ConfigError(f"{what}[{s}][{a}] must be a list of numbers or null") from None
            if values.shape != (width,):
                raise ConfigError(
                    f"{what}[{s}][{a}] has shape {values.shape}, expected ({width},): "
                    "one entry per next state"
                )
            out[s, a] = values
            present[s, a] = True
    return out, present


def _possible_mask(possible: Any, n_states: int, n_actions: int) -> BoolArray:
    if not isinstance(possible, Sequence) or len(possible) != n_states:
        got = len(possible) if isinstance(possible, Sequence) else type(possible).__name__
        raise ConfigError(
            f"possible_actions has {got} entries, expected {n_states} (one per state)"
        )
    mask = np.zeros((n_states, n_actions), dtype=bool)
    for s, actions in enumerate(possible):
        mask[s, _indices(actions, n_actions, f"possible_actions[{s}]")] = True
    return mask


def _check_agreement(listed: BoolArray, present: BoolArray) -> None:
    for s, a in np.argwhere(listed != present):
        if listed[s, a]:
            raise ConfigError(
                f"possible_actions lists action {a} for state {s}, "
                "but its transition probabilities are null"
            )
        raise ConfigError(
            f"possible_actions leaves out action {a} of state {s}, "
            "but its transition probabilities are given; make them null or list the action"
        )


def _indices(values: Any, count: int, what: str) -> list[int]:
    if isinstance(values, str) or not isinstance(values, Sequence | np.ndarray):
        raise ConfigError(f"{what} must be a list of indices, got {values!r}")
    out = []
    for value in values:
        if isinstance(value, bool) or not isinstance(value, int | np.integer):
            raise ConfigError(f"{what} holds {value!r}, expected an integer index")
        if not 0 <= int(value) < count:
            raise ConfigError(f"{what} holds {value}, expected an index in [0, {count})")
        out.append(int(value))
    return out


def _initial(initial_state: Any, n_states: int) -> FloatArray:
    if isinstance(initial_state, int | np.integer) and not isinstance(initial_state, bool):
        if not 0 <= int(initial_state) < n_states:
            raise ConfigError(
                f"initial_state {initial_state} is out of range, expected a state in "
                f"[0, {n_states}) or a list of {n_states} probabilities"
            )
        return np.asarray(np.eye(n_states)[int(initial_state)], dtype=np.float64)
    return _float_array(initial_state, "initial_state", ndim=1)


def _state_index(value: Any, states: Sequence[str] | None) -> Any:
    """A state name -> its index in ``states``; other values pass through unchanged."""
    if not isinstance(value, str):
        return value
    if states is not None and value in states:
        return list(states).index(value)
    known = ", ".join(map(repr, states)) if states else "none: give 'states' to use names"
    raise ConfigError(f"unknown state name {value!r} (states: {known})")


def _check_keys(data: Mapping[str, Any], source: str) -> None:
    unknown = [str(key) for key in data if key not in MDP_KEYS]
    if unknown:
        hints = []
        for key in unknown:
            close = difflib.get_close_matches(key, MDP_KEYS, n=1)
            hints.append(f"{key!r} (did you mean {close[0]!r}?)" if close else repr(key))
        raise ConfigError(
            f"{source}: unknown key{'s' if len(unknown) > 1 else ''} {', '.join(hints)}; "
            f"allowed keys: {', '.join(MDP_KEYS)}"
        )
    missing = [key for key in _REQUIRED_KEYS if key not in data]
    if missing:
        raise ConfigError(f"{source}: missing required key(s) {', '.join(map(repr, missing))}")


# ---------------------------------------------------------------------------------------------
# Gymnasium toy-text transition tables


def _open_env(env_or_id: Any) -> tuple[Any, str, bool]:
    """``(env, label, owned)``: make the env when given an id (``owned``: close it after)."""
    if not isinstance(env_or_id, str):
        spec = getattr(env_or_id, "spec", None)
        return env_or_id, getattr(spec, "id", None) or type(env_or_id).__name__, False
    import gymnasium  # imported here: building MDPs from lists needs no Gymnasium

    from rlworks.envs.registry import resolve_env_id

    resolve_env_id(env_or_id)  # EnvError with suggestions for unknown ids
    return gymnasium.make(env_or_id), env_or_id, True


def _toy_text_arrays(env: Any, label: str) -> dict[str, Any]:
    """The constructor arguments of :class:`TabularMDP` read from ``env.unwrapped.P``."""
    unwrapped = env.unwrapped
    table = getattr(unwrapped, "P", None)
    if not isinstance(table, Mapping | Sequence):
        raise ConfigError(
            f"environment {label!r} exposes no transition table (env.unwrapped.P), so it cannot "
            "be read as a TabularMDP; toy-text environments such as FrozenLake-v1, Taxi-v4 and "
            "CliffWalking-v1 can"
        )
    n_states = getattr(env.observation_space, "n", None)
    n_actions = getattr(env.action_space, "n", None)
    if n_states is None or n_actions is None:
        raise ConfigError(f"environment {label!r} needs Discrete observation and action spaces")
    entries = _table_entries(table, int(n_states), int(n_actions), label)
    transitions, rewards, ends = _merge_entries(entries, (int(n_states), int(n_actions)), label)
    initial = getattr(unwrapped, "initial_state_distrib", None)
    return {
        "transitions": transitions,
        "rewards": rewards,
        "ends": ends,
        "terminal": _terminal_states(transitions, rewards, ends),
        "initial": None if initial is None else np.asarray(initial, dtype=np.float64),
        "name": label,
    }


def _table_entries(table: Any, n_states: int, n_actions: int, label: str) -> FloatArray:
    """``P[s][a] = [(p, s', r, done), ...]`` -> ``[N, 6]`` rows ``(s, a, s', p, r, done)``."""
    rows: list[tuple[float, ...]] = []
    try:
        for s in range(n_states):
            for a in range(n_actions):
                for prob, next_state, reward, done, *_ in table[s][a]:
                    rows.append((s, a, int(next_state), prob, reward, bool(done)))
    except (KeyError, IndexError, TypeError, ValueError) as exc:
        raise ConfigError(
            f"environment {label!r}: malformed transition table P at state {s}, action {a}; "
            f"expected P[s][a] = [(probability, next_state, reward, terminated), ...] ({exc})"
        ) from None
    entries = np.array(rows, dtype=np.float64).reshape(-1, 6)
    bad = (entries[:, 2] < 0) | (entries[:, 2] >= n_states)
    if bad.any():
        s, a, s2 = (int(v) for v in entries[bad][0, :3])
        raise ConfigError(
            f"environment {label!r}: P[{s}][{a}] leads to state {s2}, outside [0, {n_states})"
        )
    return entries


def _merge_entries(
    entries: FloatArray, shape: tuple[int, int], label: str
) -> tuple[FloatArray, FloatArray, BoolArray]:
    """Sum duplicate next states: ``T``, probability-weighted ``R`` and ``ends``, ``[S, A, S]``."""
    n_states, n_actions = shape
    full = (n_states, n_actions, n_states)
    index = tuple(entries[:, :3].astype(np.int64).T)
    prob, reward, done = entries[:, 3], entries[:, 4], entries[:, 5] > 0
    transitions = np.zeros(full)
    np.add.at(transitions, index, prob)
    weighted = np.zeros(full)
    np.add.at(weighted, index, prob * reward)
    rewards = np.divide(weighted, transitions, out=np.zeros(full), where=transitions > 0)
    ending = np.zeros(full, dtype=np.int64)
    np.add.at(ending, index, (prob > 0) & done)
    going_on = np.zeros(full, dtype=np.int64)
    np.add.at(going_on, index, (prob > 0) & ~done)
    mixed = np.argwhere((ending > 0) & (going_on > 0))
    if len(mixed):
        s, a, s2 = (int(v) for v in mixed[0])
        raise ConfigError(
            f"environment {label!r}: P[{s}][{a}] reaches state {s2} both with and without "
            "ending the episode; a TabularMDP keeps one flag per (s, a, s')"
        )
    return transitions, rewards, ending > 0


def _terminal_states(transitions: FloatArray, rewards: FloatArray, ends: BoolArray) -> BoolArray:
    """Absorbing end states (``[S]``): entered only by ending transitions, and every transition
    out of them loops back, ends the episode and pays 0 (FrozenLake's holes and goal). A state
    whose actions end the episode elsewhere or pay something (a one-step bandit's start) is not
    terminal: its actions still matter."""
    n_states = transitions.shape[0]
    possible = transitions > 0  # [S, A, S]
    entered_going_on = (possible & ~ends).any(axis=(0, 1))  # [S]
    stays = np.eye(n_states, dtype=bool)[:, None, :]  # [S, 1, S]: s' == s
    absorbing = stays & ends & (rewards == 0)  # [S, A, S]
    leaves = (possible & ~absorbing).any(axis=(1, 2))  # [S]
    return np.asarray(~entered_going_on & ~leaves, dtype=bool)
