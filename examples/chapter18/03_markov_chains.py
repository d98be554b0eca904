"""Chapter 18, "Markov Chains": run the 4-state chain of Figure 18-7 ten times from ``s0``.

"Let's run this stochastic process a few times to see what it looks like". With
``np.random.seed(42)`` the chapter prints::

    Run #1: 0 0 3
    Run #2: 0 1 2 1 2 1 2 1 2 1 3
    Run #3: 0 1 2 1 2 1 2 1 2 1 2 1 2 1 2 1 2 1 3
    Run #4: 0 3
    Run #5: 0 1 2 1 2 1 2 1 2 1 2 1 2 1 3
    Run #6: 0 1 3
    Run #7: 0 1 2 1 2 ... 1 2 1 3
    Run #8: 0 0 0 1 2 1 2 1 3
    Run #9: 0 1 2 1 2 1 2 1 2 1 2 1 2 1 2 1 2 1 3
    Run #10: 0 0 0 1 2 1 3

``MarkovChain.simulate`` draws the next state as ``np.random.choice(4, p=...)`` does, so the same
``RandomState(42)`` gives the same runs. Runs 1, 2, 4, 6, 8 and 10 match the chapter exactly and
are asserted. The long runs 3, 5, 7 and 9 come out *longer* here by whole "1 2" pairs (10, 7, 25
and 10 pairs against the text's 8, 6, 18 and 8): those lines of our copy of the chapter lost some
repeats in text extraction. Every step of a run uses one draw, so had the runs really been that
short, the runs after them (4, 6, 8, 10) would start elsewhere in the stream and not match.

The same runs from the command line: ``rlworks mdp simulate book-chain --runs 10 --seed 42``.

Run: ``python examples/chapter18/03_markov_chains.py``
"""

from __future__ import annotations

import numpy as np

from rlworks.mdp import book_chain

BOOK_RUNS = {  # run number -> states, as printed in the chapter
    1: [0, 0, 3],
    2: [0, 1, 2, 1, 2, 1, 2, 1, 2, 1, 3],
    4: [0, 3],
    6: [0, 1, 3],
    8: [0, 0, 0, 1, 2, 1, 2, 1, 3],
    10: [0, 0, 0, 1, 2, 1, 3],
}


def main() -> None:
    """Simulate ten runs with the chapter's seed and compare with the printed ones."""
    chain = book_chain()
    print(chain)
    print("transition probabilities [s, s']:")
    print(chain.transition_probabilities)

    rng = np.random.RandomState(42)  # the chapter's np.random.seed(42)
    runs = [chain.simulate(start_state=0, rng=rng, max_steps=1000) for _ in range(10)]
    for k, run in enumerate(runs, start=1):
        line = " ".join(map(str, run.states))
        print(f"Run #{k}: {line}" + ("" if run.ended else " ..."))

    for k, states in BOOK_RUNS.items():
        assert runs[k - 1].states == states, f"run #{k}: {runs[k - 1].states} != {states}"
    assert all(run.ended for run in runs)  # every run reaches the terminal state s3
    print("runs", ", ".join(map(str, BOOK_RUNS)), "match the chapter's printed runs")

    # Where the chain ends up in the long run: all the mass in the terminal (absorbing) state.
    print("stationary distribution:", chain.stationary_distribution().round(6))


if __name__ == "__main__":
    main()
