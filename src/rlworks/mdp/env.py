"""Any tabular MDP as a Gymnasium environment, for learning from samples instead of planning.

This module owns :class:`TabularMDPEnv`, which steps a :class:`~rlworks.mdp.model.TabularMDP`
(the chapter's book MDP by default; registered as ``rlworks/BookMDP-v0``), and
:class:`PossibleActionSpace`, its ``Discrete`` action space whose ``sample()`` only draws actions
that are possible in the current state.
"""

from __future__ import annotations

from typing import Any, cast

import gymnasium
import numpy as np
import numpy.typing as npt
from gymnasium import spaces
from gymnasium.spaces.space import MaskNDArray

from rlworks.errors import EnvError
from rlworks.mdp.model import TabularMDP

__all__ = ["PossibleActionSpace", "TabularMDPEnv"]


class PossibleActionSpace(spaces.Discrete):
    """``Discrete(A)`` whose ``sample()`` draws among the actions possible in the current state.

    Random exploration (the chapter's ``np.random.choice(possible_actions[state])``), and
    Gymnasium's environment checker, call ``action_space.sample()``; this space knows the
    environment's current state (set by the environment on ``reset``/``step``) and masks the
    impossible actions. An explicit ``mask`` or ``probability`` argument wins. Batched into a
    vector env it becomes a plain ``MultiDiscrete``; vectorized learners read
    ``valid_actions`` instead.
    """

    def __init__(self, valid: npt.NDArray[np.bool_], seed: int | None = None) -> None:
        """Create the space.

        Args:
            valid: ``[S, A]`` action mask of the MDP.
            seed: Seed of the space's own RNG.
        """
        super().__init__(int(valid.shape[1]), seed=seed)
        self.valid = valid
        self.state: int | None = None
        """The environment's current state, or None before the first reset."""

    def action_mask(self) -> npt.NDArray[np.int8]:
        """``[A]`` int8 mask of the actions possible in :attr:`state` (all ones before reset)."""
        if self.state is None:
            return np.ones(int(self.n), dtype=np.int8)
        return np.asarray(self.valid[self.state], dtype=np.int8)

    def sample(
        self,
        mask: MaskNDArray | None = None,
        probability: MaskNDArray | None = None,
    ) -> np.int64:
        """A random action, among the possible ones unless ``mask``/``probability`` is given."""
        if mask is None and probability is None and self.state is not None:
            possible = self.action_mask()
            if possible.any():
                mask = possible
        return super().sample(mask=mask, probability=probability)


class TabularMDPEnv(gymnasium.Env[int, np.int64]):
    """A :class:`~rlworks.mdp.model.TabularMDP` as a Gymnasium environment.

    ## Description

    The agent does not know ``T`` or ``R``: it only sees the state it lands in and the reward it
    gets, as in the chapter's Q-learning section. By default the MDP is the chapter's 3-state
    ``book`` MDP.

    ## Action Space

    ``Discrete(A)`` (a :class:`PossibleActionSpace`). Not every action is possible in every
    state: ``valid_actions[s]`` says which are, ``info["action_mask"]`` gives the mask of the
    new state, and stepping an impossible action raises an error. ``action_space.sample()``
    draws a possible action.

    ## Observation Space

    ``Discrete(S)``: the state index, a Python ``int``.

    ## Rewards

    ``R[s, a, s']`` of the transition taken.

    ## Starting State

    Drawn from the MDP's start distribution ``initial`` (state 0 for the book MDP), or
    ``options={"start_state": s}``.

    ## Episode End

    * Termination: a transition with ``ends[s, a, s']`` (entering a terminal state). The book
      MDP never terminates.
    * Truncation: none in the environment itself; ``rlworks/BookMDP-v0`` adds a 100-step limit.

    ## Arguments

    * ``mdp``: a ``TabularMDP``, or a string for :func:`~rlworks.mdp.examples.load_mdp` (an
      example name, a YAML/JSON file, or a toy-text Gymnasium id).
    * ``render_mode``: ``None`` or ``"ansi"``.

    ## Example

    >>> env = TabularMDPEnv("book")
    >>> obs, info = env.reset(seed=42)
    >>> obs, info["action_mask"].tolist()
    (0, [1, 1, 1])
    >>> env.valid_actions[1].tolist()  # action a1 is impossible in s1
    [True, False, True]
    """

    metadata = {"render_modes": ["ansi"], "render_fps": 4}  # noqa: RUF012

    def __init__(self, mdp: TabularMDP | str = "book", render_mode: str | None = None) -> None:
        """Create the environment.

        Raises:
            ConfigError: ``mdp`` is a string that :func:`~rlworks.mdp.examples.load_mdp` cannot
                load.
            EnvError: ``mdp`` is neither a TabularMDP nor a string, or ``render_mode`` is not
                supported.
        """
        if isinstance(mdp, str):
            from rlworks.mdp.examples import load_mdp

            mdp = load_mdp(mdp)
        if not isinstance(mdp, TabularMDP):
            raise EnvError(
                f"TabularMDPEnv mdp={mdp!r}, expected a TabularMDP or a name for load_mdp"
            )
        if render_mode is not None and render_mode not in self.metadata["render_modes"]:
            raise EnvError(f"TabularMDPEnv render_mode={render_mode!r}, expected None or 'ansi'")
        self.mdp = mdp
        self.render_mode = render_mode
        self.valid_actions: npt.NDArray[np.bool_] = mdp.valid
        """``[S, A]`` mask of the possible actions (read by tabular learners)."""
        # Observations are plain ints, which Discrete contains too.
        self.observation_space = cast(spaces.Space[int], spaces.Discrete(mdp.n_states))
        self.action_space: PossibleActionSpace = PossibleActionSpace(mdp.valid)
        self._state: int | None = None
        self._last: tuple[int, int, float] | None = None  # (state, action, reward)

    @property
    def state(self) -> int | None:
        """The current state, or None before the first reset."""
        return self._state

    def _info(self) -> dict[str, Any]:
        return {"action_mask": self.action_space.action_mask()}

    def _move_to(self, state: int) -> None:
        self._state = state
        self.action_space.state = state

    def reset(
        self, *, seed: int | None = None, options: dict[str, Any] | None = None
    ) -> tuple[int, dict[str, Any]]:
        """Start an episode in a state drawn from the MDP's start distribution.

        Args:
            seed: Seeds the environment's RNG.
            options: ``{"start_state": s}`` starts in ``s`` instead.

        Returns:
            The start state and ``{"action_mask": [A] int8}``.
        """
        super().reset(seed=seed)
        start = (options or {}).get("start_state")
        if start is None:
            start = self.mdp.sample_initial(self.np_random)
        elif not 0 <= int(start) < self.mdp.n_states:
            raise EnvError(f"start_state {start} is out of range [0, {self.mdp.n_states})")
        self._move_to(int(start))
        self._last = None
        return int(start), self._info()

    def step(self, action: int | np.integer[Any]) -> tuple[int, float, bool, bool, dict[str, Any]]:
        """Take ``action``: draw the next state from ``T[s, a]`` with the environment's RNG.

        Returns:
            ``(next_state, reward, terminated, False, {"action_mask": [A] int8})``; a terminal
            state is absorbing (reward 0, terminated).

        Raises:
            EnvError: Called before ``reset()``, or ``action`` is out of range or impossible in
                the current state (a ``ValueError``; the message names the possible actions).
        """
        if self._state is None:
            raise EnvError("TabularMDPEnv: call reset() before step()")
        try:
            index = int(action)
        except (TypeError, ValueError):
            raise EnvError(f"TabularMDPEnv action {action!r}, expected an integer") from None
        state = self._state
        next_state, reward, terminated = self.mdp.step(state, index, self.np_random)
        self._move_to(next_state)
        self._last = (state, index, reward)
        return next_state, reward, terminated, False, self._info()

    def render(self) -> str | None:
        """For ``render_mode="ansi"``: the last transition and the current state, as text."""
        if self.render_mode != "ansi" or self._state is None:
            return None
        names = self.mdp.state_names
        possible = ", ".join(
            self.mdp.action_names[a] for a in self.mdp.possible_actions(self._state)
        )
        line = f"state {names[self._state]} (possible actions: {possible or 'none'})"
        if self._last is not None:
            state, action, reward = self._last
            line = f"{names[state]} --{self.mdp.action_names[action]}--> {line}, reward {reward:g}"
        return line + "\n"
