"""A natively vectorized tabular MDP: all copies stepped at once with a few NumPy calls.

This module owns :class:`TabularVectorEnv`, a Gymnasium ``VectorEnv`` that steps ``num_envs``
copies of a :class:`~rlworks.mdp.model.TabularMDP` together. Toy-text environments (FrozenLake,
Taxi, CliffWalking) step in pure Python, so Gymnasium's ``SyncVectorEnv`` adds its per-copy
overhead to each of them; here one step of the batch is one uniform draw per copy compared with
precomputed cumulative transition rows. :func:`~rlworks.envs.make.make_env` builds it for
``vectorization="native"`` on any registered environment with a transition table ``P``.
"""

from __future__ import annotations

from typing import Any

import gymnasium
import numpy as np
import numpy.typing as npt
from gymnasium import spaces
from gymnasium.utils import seeding
from gymnasium.vector import AutoresetMode
from gymnasium.vector.utils import batch_space

from rlworks.errors import EnvError
from rlworks.mdp.model import TabularMDP

__all__ = ["TabularVectorEnv"]

IntArray = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]
FloatArray = npt.NDArray[np.float64]


class TabularVectorEnv(gymnasium.vector.VectorEnv[IntArray, IntArray, npt.NDArray[Any]]):
    """``num_envs`` copies of a :class:`~rlworks.mdp.model.TabularMDP`, stepped together.

    The dynamics are those of :class:`~rlworks.mdp.env.TabularMDPEnv`: the next state is drawn
    from ``T[s, a]``, the reward is ``R[s, a, s']``, the episode terminates when
    ``ends[s, a, s']``, and start states are drawn from ``initial``. A terminal state, should an
    episode start in one, is absorbing (reward 0, terminated).

    * Observations: ``[N]`` int64 state indices (``Discrete(S)`` per copy).
    * Actions: ``[N]`` integers (``Discrete(A)`` per copy); an impossible action
      (``valid_actions[s, a]`` False) or one out of range raises :class:`~rlworks.errors.EnvError`
      (a ``ValueError``) naming the copy, the state and the action.
    * Truncation: when an episode reaches ``max_episode_steps`` steps without terminating.
    * Autoreset: next step (Gymnasium's default). The step after a copy's episode ends ignores
      its action and returns a new start state, reward 0, ``terminated = truncated = False``.
    * Randomness: one ``np.random.Generator`` for the whole batch, seeded by ``reset(seed=...)``;
      each step makes one ``random(N)`` call for the next states.

    Example:
        >>> from rlworks.mdp import load_mdp
        >>> env = TabularVectorEnv(load_mdp("FrozenLake-v1"), num_envs=4, max_episode_steps=100)
        >>> obs, info = env.reset(seed=0)
        >>> obs.tolist()
        [0, 0, 0, 0]
        >>> obs, reward, terminated, truncated, info = env.step(np.array([1, 1, 2, 2]))
        >>> obs.shape, reward.dtype, terminated.dtype
        ((4,), dtype('float64'), dtype('bool'))
    """

    metadata: dict[str, Any] = {  # noqa: RUF012
        "render_modes": [],
        "autoreset_mode": AutoresetMode.NEXT_STEP,
    }

    def __init__(
        self, mdp: TabularMDP, num_envs: int, max_episode_steps: int | None = None
    ) -> None:
        """Create the vector env.

        Args:
            mdp: The MDP every copy follows.
            num_envs: Number of copies (>= 1).
            max_episode_steps: Truncate episodes after this many steps (>= 1); None for no limit.

        Raises:
            EnvError: ``mdp`` is not a TabularMDP, or ``num_envs`` or ``max_episode_steps`` is
                not a positive integer.
        """
        if not isinstance(mdp, TabularMDP):
            raise EnvError(f"TabularVectorEnv mdp={mdp!r}, expected a TabularMDP")
        if isinstance(num_envs, bool) or not isinstance(num_envs, int) or num_envs < 1:
            raise EnvError(f"TabularVectorEnv num_envs must be an integer >= 1, got {num_envs!r}")
        if max_episode_steps is not None and (
            isinstance(max_episode_steps, bool)
            or not isinstance(max_episode_steps, int)
            or max_episode_steps < 1
        ):
            raise EnvError(
                "TabularVectorEnv max_episode_steps must be an integer >= 1 or None, "
                f"got {max_episode_steps!r}"
            )
        self.mdp = mdp
        self.num_envs = num_envs
        self.max_episode_steps = max_episode_steps
        self.render_mode = None
        n_states, n_actions = mdp.n_states, mdp.n_actions
        self._n_states, self._n_actions = n_states, n_actions
        self.single_observation_space = spaces.Discrete(n_states)
        self.single_action_space = spaces.Discrete(n_actions)
        self.observation_space = batch_space(self.single_observation_space, num_envs)
        self.action_space = batch_space(self.single_action_space, num_envs)
        self.valid_actions: BoolArray = mdp.valid
        """``[S, A]`` mask of the possible actions (read by tabular learners via ``get_attr``)."""

        # Terminal states are absorbing: a self-loop with reward 0 that ends the episode.
        terminal = np.flatnonzero(mdp.terminal)
        transitions = np.array(mdp.transitions)  # [S, A, S]
        rewards = np.array(mdp.rewards)  # [S, A, S]
        ends = np.array(mdp.ends)  # [S, A, S]
        transitions[terminal] = 0.0
        transitions[terminal, :, terminal] = 1.0
        rewards[terminal] = 0.0
        ends[terminal, :, terminal] = True
        cdf = transitions.cumsum(axis=2)  # [S, A, S]
        totals = cdf[:, :, -1:]
        cdf = np.divide(cdf, totals, out=np.ones_like(cdf), where=totals > 0)
        # Flat tables indexed by sa = s * A + a and sas = sa * S + s': one gather each per step.
        self._cdf: FloatArray = cdf.reshape(n_states * n_actions, n_states)  # [S * A, S]
        self._rewards: FloatArray = rewards.reshape(-1)  # [S * A * S]
        self._ends: BoolArray = ends.reshape(-1)  # [S * A * S]
        self._possible: BoolArray = (mdp.valid | mdp.terminal[:, None]).reshape(-1)  # [S * A]
        self._initial_cdf: FloatArray = np.cumsum(mdp.initial) / np.sum(mdp.initial)  # [S]

        self._states: IntArray = np.zeros(num_envs, dtype=np.int64)  # [N]
        self._lengths: IntArray = np.zeros(num_envs, dtype=np.int64)  # [N] steps this episode
        self._done: BoolArray = np.zeros(num_envs, dtype=bool)  # [N] ended on the last step
        self._env_ids = np.arange(num_envs)
        self._started = False

    def reset(
        self,
        *,
        seed: int | list[int | None] | None = None,
        options: dict[str, Any] | None = None,
    ) -> tuple[IntArray, dict[str, Any]]:
        """Start an episode in every copy, from states drawn from the MDP's start distribution.

        Args:
            seed: Seeds the batch's generator. A list (Gymnasium's per-copy seeds) seeds it with
                its first entry.
            options: Unused.

        Returns:
            ``[N]`` int64 start states and ``{}``.
        """
        if isinstance(seed, list | tuple):
            seed = seed[0] if seed else None
        if seed is not None:
            self._np_random, self._np_random_seed = seeding.np_random(int(seed))
        self._states = self._draw_starts(self.num_envs)
        self._lengths[:] = 0
        self._done[:] = False
        self._started = True
        return self._states.copy(), {}

    def step(
        self, actions: npt.ArrayLike
    ) -> tuple[IntArray, FloatArray, BoolArray, BoolArray, dict[str, Any]]:
        """Step every copy; copies whose episode ended on the previous step start a new one.

        Args:
            actions: ``[N]`` action indices (ignored for the copies being reset).

        Returns:
            ``(obs [N] int64, rewards [N] float64, terminated [N] bool, truncated [N] bool, {})``.

        Raises:
            EnvError: Called before ``reset()``, ``actions`` has the wrong shape, or an action
                is out of range or impossible in its copy's state.
        """
        if not self._started:
            raise EnvError("TabularVectorEnv: call reset() before step()")
        actions = np.asarray(actions)
        if actions.shape != (self.num_envs,):
            raise EnvError(
                f"TabularVectorEnv actions have shape {actions.shape}, expected ({self.num_envs},)"
            )
        states = self._states
        done = self._done
        in_range = (actions >= 0) & (actions < self._n_actions)  # [N]
        safe = actions if in_range.all() else np.where(in_range, actions, 0)
        sa = states * self._n_actions + safe  # [N]
        ok = (in_range & self._possible[sa]) | done  # [N]
        if not ok.all():
            self._raise_impossible(actions, ~ok)

        u = self.np_random.random(self.num_envs)  # [N]
        rows = self._cdf[sa]  # [N, S]
        next_states = (rows < u[:, None]).sum(axis=1)  # [N]
        np.minimum(next_states, self._n_states - 1, out=next_states)
        sas = sa * self._n_states + next_states  # [N]
        rewards = self._rewards[sas]  # [N]
        terminated = self._ends[sas]  # [N]
        self._lengths += 1

        if done.any():
            # Next-step autoreset: these copies start over, their action ignored.
            n_reset = int(done.sum())
            next_states[done] = self._draw_starts(n_reset)
            rewards[done] = 0.0
            terminated[done] = False
            self._lengths[done] = 0
        if self.max_episode_steps is None:
            truncated = np.zeros(self.num_envs, dtype=bool)
        else:
            truncated = (self._lengths >= self.max_episode_steps) & ~terminated
        self._states = next_states.astype(np.int64, copy=False)
        self._done = terminated | truncated
        return self._states.copy(), rewards, terminated, truncated, {}

    def get_attr(self, name: str) -> tuple[Any, ...]:
        """``getattr(copy, name)`` of every copy (all copies share this env's attributes)."""
        return (getattr(self, name),) * self.num_envs

    def render(self) -> tuple[Any, ...] | None:
        """Rendering is not supported: returns None."""
        return None

    def _draw_starts(self, n: int) -> IntArray:
        """``[n]`` start states drawn from the MDP's start distribution."""
        u = self.np_random.random(n)
        starts = np.searchsorted(self._initial_cdf, u, side="right")
        return np.minimum(starts, self.mdp.n_states - 1).astype(np.int64)

    def _raise_impossible(self, actions: IntArray, bad: BoolArray) -> None:
        index = int(np.flatnonzero(bad)[0])
        state, action = int(self._states[index]), int(actions[index])
        if not 0 <= action < self.mdp.n_actions:
            raise EnvError(
                f"TabularVectorEnv ({self.mdp.name}): env {index} in state "
                f"{self.mdp.state_names[state]} got action {action}, out of range "
                f"[0, {self.mdp.n_actions})"
            )
        possible = ", ".join(map(str, self.mdp.possible_actions(state)))
        raise EnvError(
            f"TabularVectorEnv ({self.mdp.name}): env {index} in state "
            f"{self.mdp.state_names[state]} got action {action}, which is not possible there "
            f"(possible: {possible})"
        )
