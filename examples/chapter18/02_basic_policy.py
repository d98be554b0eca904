"""Chapter 18, "A simple hard-coded policy": push the cart toward the side the pole leans to.

The chapter plays 500 episodes, episode ``k`` reset with ``seed=k``, and prints::

    (41.698, 8.389445512070509, 24.0, 63.0)

``rw.evaluate`` resets episode ``k`` with ``seed + k``, so ``seed=0`` plays the same episodes.
The same numbers from the command line: ``rlworks eval --policy basic CartPole-v1 --episodes 500
--seed 0``.

Run: ``python examples/chapter18/02_basic_policy.py``
"""

from __future__ import annotations

import rlworks as rw
from rlworks.policies import basic_policy

BOOK = (41.698, 8.389445512070509, 24.0, 63.0)


def main() -> None:
    """Evaluate the basic policy on the chapter's 500 episodes and compare."""
    result = rw.evaluate(basic_policy, "CartPole-v1", episodes=500, seed=0)
    stats = (result.mean, result.std, result.min, result.max)
    print("mean, std, min, max:", stats)
    print("the chapter prints: ", BOOK)
    assert abs(result.mean - BOOK[0]) < 1e-9 and abs(result.std - BOOK[1]) < 1e-9
    assert (result.min, result.max) == BOOK[2:]
    print("the best episode kept the pole up for only", int(result.max), "steps: too basic")


if __name__ == "__main__":
    main()
