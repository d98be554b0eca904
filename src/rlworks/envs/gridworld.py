"""The chapter's custom environment: a small grid the agent must cross from corner to corner.

This module owns :class:`GridWorldEnv`, the Gymnasium version of the 4x4 grid that the chapter
builds as a custom TF-Agents ``PyEnvironment`` ("MyEnvironment"). It is registered as
``rlworks/GridWorld-v0`` by :mod:`rlworks.envs.registry`.
"""

from __future__ import annotations

from typing import Any

import gymnasium
import numpy as np
import numpy.typing as npt
from gymnasium import spaces

from rlworks.errors import EnvError

__all__ = ["ACTION_NAMES", "GridWorldEnv"]

#: What each action does, in action order.
ACTION_NAMES: tuple[str, ...] = ("up", "down", "left", "right")
# (row, column) offset of each action: up, down, left, right.
_MOVES: tuple[tuple[int, int], ...] = ((-1, 0), (1, 0), (0, -1), (0, 1))

_CELL_PX = 32
_BACKGROUND = (255, 255, 255)
_GRID_LINE = (200, 200, 200)
_GOAL_COLOR = (60, 180, 75)
_AGENT_COLOR = (0, 90, 200)


class GridWorldEnv(gymnasium.Env[npt.NDArray[np.int32], np.int64]):
    """A square grid where the agent walks from the top-left corner to the bottom-right corner.

    ## Description

    The chapter's custom environment ("MyEnvironment" in the TF-Agents section): a ``size`` x
    ``size`` grid (4x4 by default). The agent starts in the top-left cell ``(0, 0)`` and must reach
    the goal in the opposite corner ``(size - 1, size - 1)``. Walking off the grid ends the
    episode with a penalty. The environment is deterministic.

    ## Action Space

    ``Discrete(4)``:

    | Num | Action | Effect                  |
    |-----|--------|-------------------------|
    | 0   | up     | row - 1                 |
    | 1   | down   | row + 1                 |
    | 2   | left   | column - 1              |
    | 3   | right  | column + 1              |

    ## Observation Space

    ``Box(0, 1, (size, size), int32)``: a one-hot grid with a 1 in the agent's cell, or all zeros
    once the agent has left the grid.

    ## Rewards

    * +10 for reaching the goal cell;
    * -1 for leaving the grid;
    * 0 for every other step.

    ## Starting State

    The agent is in cell ``(0, 0)``; there is no randomness.

    ## Episode End

    * Termination: the agent reaches the goal, or it leaves the grid.
    * Truncation: none in the environment itself; ``rlworks/GridWorld-v0`` adds a 100-step time
      limit.

    ## Arguments

    ```python
    import gymnasium as gym
    import rlworks.envs.registry  # registers rlworks/GridWorld-v0

    env = gym.make("rlworks/GridWorld-v0", size=4, render_mode="ansi")
    ```

    * ``size``: the number of rows and columns (at least 2); the goal is ``(size - 1, size - 1)``.
    * ``render_mode``: ``"rgb_array"`` (a ``[size * 32, size * 32, 3]`` uint8 image with the goal in
      green and the agent in blue) or ``"ansi"`` (a text grid: ``A`` agent, ``G`` goal, ``.``
      empty).

    ## Example

    >>> env = GridWorldEnv()
    >>> obs, info = env.reset(seed=0)
    >>> int(obs[0, 0])
    1
    >>> obs, reward, terminated, truncated, info = env.step(1)  # down
    >>> int(obs[1, 0]), reward, terminated
    (1, 0.0, False)
    """

    # A plain class attribute, as gymnasium.Env declares it (gymnasium.make reads it off the class).
    metadata = {"render_modes": ["ansi", "rgb_array"], "render_fps": 4}  # noqa: RUF012

    def __init__(self, size: int = 4, render_mode: str | None = None) -> None:
        """Create the grid.

        Args:
            size: Number of rows and columns, at least 2.
            render_mode: ``None``, ``"rgb_array"`` or ``"ansi"``.

        Raises:
            EnvError: ``size`` is not an integer >= 2, or ``render_mode`` is not supported.
        """
        if isinstance(size, bool) or not isinstance(size, int | np.integer) or size < 2:
            raise EnvError(f"GridWorldEnv size={size!r}, expected an integer >= 2")
        if render_mode is not None and render_mode not in self.metadata["render_modes"]:
            raise EnvError(
                f"GridWorldEnv render_mode={render_mode!r}, expected None, 'ansi' or 'rgb_array'"
            )
        self.size = int(size)
        self.render_mode = render_mode
        self.goal = (self.size - 1, self.size - 1)
        self.action_space = spaces.Discrete(len(_MOVES))
        self.observation_space = spaces.Box(0, 1, shape=(self.size, self.size), dtype=np.int32)
        self._row = 0
        self._col = 0

    @property
    def position(self) -> tuple[int, int]:
        """The agent's ``(row, column)``; outside ``[0, size)`` once it has left the grid."""
        return self._row, self._col

    def _on_grid(self) -> bool:
        return 0 <= self._row < self.size and 0 <= self._col < self.size

    def _observation(self) -> npt.NDArray[np.int32]:
        obs = np.zeros((self.size, self.size), dtype=np.int32)
        if self._on_grid():
            obs[self._row, self._col] = 1
        return obs

    def reset(
        self, *, seed: int | None = None, options: dict[str, Any] | None = None
    ) -> tuple[npt.NDArray[np.int32], dict[str, Any]]:
        """Put the agent back in the top-left cell.

        Args:
            seed: Seeds the environment's RNG (unused: the grid is deterministic).
            options: Unused.

        Returns:
            The one-hot observation with a 1 at ``[0, 0]`` and an info dict with ``position``.
        """
        super().reset(seed=seed)
        self._row, self._col = 0, 0
        return self._observation(), {"position": self.position}

    def step(
        self, action: int | np.int64
    ) -> tuple[npt.NDArray[np.int32], float, bool, bool, dict[str, Any]]:
        """Move the agent one cell.

        Args:
            action: 0 up, 1 down, 2 left, 3 right.

        Returns:
            ``(obs, reward, terminated, truncated, info)``: reward +10 and terminated at the goal,
            -1 and terminated off the grid, 0 otherwise; ``truncated`` is always False.

        Raises:
            EnvError: ``action`` is not one of 0, 1, 2, 3.
        """
        try:
            index = int(action)
        except (TypeError, ValueError):
            index = -1
        if not 0 <= index < len(_MOVES):
            raise EnvError(
                f"GridWorldEnv action {action!r}, expected 0 (up), 1 (down), 2 (left) or 3 (right)"
            )
        d_row, d_col = _MOVES[index]
        self._row += d_row
        self._col += d_col
        if not self._on_grid():
            reward, terminated = -1.0, True
        elif self.position == self.goal:
            reward, terminated = 10.0, True
        else:
            reward, terminated = 0.0, False
        return self._observation(), reward, terminated, False, {"position": self.position}

    def render(self) -> Any:
        """Draw the grid in the ``render_mode`` given at construction.

        Returns:
            For ``"rgb_array"`` a ``[size * 32, size * 32, 3]`` uint8 image; for ``"ansi"`` a string
            with one line per row (``A`` agent, ``G`` goal, ``.`` empty, plus a note when the agent
            is off the grid); None when ``render_mode`` is None.
        """
        if self.render_mode == "rgb_array":
            return self._render_rgb()
        if self.render_mode == "ansi":
            return self._render_ansi()
        return None

    def _render_ansi(self) -> str:
        rows = []
        for row in range(self.size):
            cells = []
            for col in range(self.size):
                if (row, col) == self.position:
                    cells.append("A")
                elif (row, col) == self.goal:
                    cells.append("G")
                else:
                    cells.append(".")
            rows.append(" ".join(cells))
        if not self._on_grid():
            rows.append(f"(agent off the grid at {self.position})")
        return "\n".join(rows) + "\n"

    def _render_rgb(self) -> npt.NDArray[np.uint8]:
        side = self.size * _CELL_PX
        image = np.empty((side, side, 3), dtype=np.uint8)
        image[:] = _BACKGROUND
        self._fill_cell(image, self.goal, _GOAL_COLOR)
        if self._on_grid():
            self._fill_cell(image, self.position, _AGENT_COLOR)
        image[::_CELL_PX, :] = _GRID_LINE  # top line of every row
        image[:, ::_CELL_PX] = _GRID_LINE  # left line of every column
        image[-1, :] = _GRID_LINE
        image[:, -1] = _GRID_LINE
        return image

    @staticmethod
    def _fill_cell(
        image: npt.NDArray[np.uint8], cell: tuple[int, int], color: tuple[int, int, int]
    ) -> None:
        margin = _CELL_PX // 8
        top = cell[0] * _CELL_PX + margin
        left = cell[1] * _CELL_PX + margin
        image[top : top + _CELL_PX - 2 * margin, left : left + _CELL_PX - 2 * margin] = color
