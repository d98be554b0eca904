"""Chapter 18, "Temporal Difference Learning" and "Q-Learning" on the MDP of Figure 18-8.

"Q-Learning works by watching an agent play (e.g., randomly) and gradually improving its
estimates of the Q-Values." Each step is the running average ``Q(s, a) <-α r + γ max_a' Q(s', a')``
with the power-scheduled learning rate ``α = 0.05 / (1 + 0.005 t)``, ``γ = 0.90``, a purely random
exploration policy and ``np.random.seed(42)``. After 10,000 steps the chapter prints::

    array([[18.77621289, 17.2238872 , 13.74543343],
           [ 0.        ,        -inf, -8.00485647],
           [       -inf, 49.40208921,        -inf]])
    array([0, 0, 1])        # np.argmax(Q_values, axis=1)

The loop below is the chapter's, written with the library's pieces: ``mdp.step`` draws the next
state as ``np.random.choice([0, 1, 2], p=probas)`` does, the random action is
``possible[rng.randint(len(possible))]`` (what ``np.random.choice(possible_actions[state])`` draws),
and the update is :func:`~rlworks.tabular.updates.td_update` of
:func:`~rlworks.tabular.updates.q_learning_targets` on one-row batches. One ``RandomState(42)``
feeds both draws in the chapter's order, so the result is the chapter's to within 1e-12 (not
bit-exact: ``td_update`` computes ``Q + α (target - Q)``, the chapter ``Q (1 - α) + α target``).

Then Figure 18-9, "the Q-value iteration algorithm (left) converges very quickly, in fewer than
20 iterations, while Q-learning algorithm (right) takes about 8,000 iterations to converge",
and TD(0) prediction of the random policy's state values, ``V(s) <-α r + γ V(s')``, against
their exact value from :func:`~rlworks.mdp.policy_evaluation`.

The figure goes to ``--out`` (default ``<temp dir>/rlworks-examples/q_value_plot.png``, so that
running the examples in the test suite leaves nothing in the repository).

The same from the command line: ``rlworks mdp learn book --algo q-learning --steps 10000
--alpha0 0.05 --decay 0.005 --exploration random --gamma 0.9``, then ``rlworks mdp plot``.

Run: ``python examples/chapter18/05_q_learning.py [--out q_value_plot.png]``
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

import numpy as np

import rlworks as rw
from rlworks.mdp import (
    TabularMDP,
    book_mdp,
    greedy_policy,
    policy_evaluation,
    solve,
    uniform_policy,
)
from rlworks.schedules import power
from rlworks.tabular.updates import q_learning_targets, td0_targets, td_update

BOOK_Q = [
    [18.77621289, 17.2238872, 13.74543343],
    [0.0, -np.inf, -8.00485647],
    [-np.inf, 49.40208921, -np.inf],
]
BOOK_POLICY = [0, 0, 1]
DEFAULT_OUT = Path(tempfile.gettempdir()) / "rlworks-examples" / "q_value_plot.png"


def random_action(mdp: TabularMDP, state: int, rng: np.random.RandomState) -> int:
    """The chapter's ``np.random.choice(possible_actions[state])``: one ``randint`` draw."""
    possible = mdp.possible_actions(state)
    return possible[rng.randint(len(possible))]


def q_learning(mdp: TabularMDP, steps: int, gamma: float, seed: int) -> np.ndarray:
    """The chapter's Q-learning loop; returns the Q-tables before each step and after the last."""
    rng = np.random.RandomState(seed)
    alpha = power(0.05, 0.005)  # alpha0 / (1 + iteration * decay)
    q = np.where(mdp.valid, 0.0, -np.inf)  # [S, A], -inf for impossible actions
    history = []
    state = 0
    for iteration in range(steps):
        history.append(q.copy())
        action = random_action(mdp, state, rng)
        next_state, reward, terminated = mdp.step(state, action, rng)
        target = q_learning_targets(
            np.array([reward]), q[[next_state]], np.array([terminated]), gamma
        )  # [1]: r + gamma * max_a' Q(s', a')
        td_update(q, (np.array([state]), np.array([action])), target, alpha(iteration))
        state = next_state
    history.append(q.copy())
    return np.stack(history)


def td0_prediction(mdp: TabularMDP, steps: int, gamma: float, seed: int) -> np.ndarray:
    """TD(0) estimates of the random policy's state values, ``[S]``, same schedule and policy."""
    rng = np.random.RandomState(seed)
    alpha = power(0.05, 0.005)
    v = np.zeros(mdp.n_states)  # [S]
    state = 0
    for iteration in range(steps):
        action = random_action(mdp, state, rng)
        next_state, reward, terminated = mdp.step(state, action, rng)
        target = td0_targets(np.array([reward]), v[[next_state]], np.array([terminated]), gamma)
        td_update(v, (np.array([state]),), target, alpha(iteration))
        state = next_state
    return v


def first_close(trace: np.ndarray, true_value: float, tolerance: float) -> int:
    """The first index from which ``trace`` stays within ``tolerance`` of ``true_value``."""
    far = np.flatnonzero(np.abs(trace - true_value) > tolerance)
    return int(far[-1]) + 1 if len(far) else 0


def main(argv: list[str] | None = None) -> None:
    """Run Q-learning as the chapter does, draw Figure 18-9, then TD(0) on the random policy."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0], allow_abbrev=False)
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="where to save the PNG")
    args, _ = parser.parse_known_args(argv)  # known only: the test suite runs under pytest's argv

    mdp, gamma = book_mdp(), 0.90
    history = q_learning(mdp, steps=10_000, gamma=gamma, seed=42)  # [10001, 3, 3]
    q = history[-1]
    policy = greedy_policy(q, mdp.valid)
    print("Q-values after 10,000 Q-learning steps:")
    print(repr(q))
    print("greedy policy:", policy)
    np.testing.assert_allclose(q, BOOK_Q, rtol=0, atol=1e-8)
    assert policy.tolist() == BOOK_POLICY
    print("matches the chapter's Q-values (to 1e-8; they are printed with 8 decimals)")

    # Figure 18-9: Q(s0, a0) along Q-value iteration (50 iterations) and along Q-learning.
    planning = solve(mdp, gamma, method="q-value", iterations=50, record_history=True)
    assert planning.history is not None
    true_q = float(planning.Q[0, 0])
    fig = rw.viz.plot_q_convergence(planning.history, history, true_q, args.out)
    print(f"Figure 18-9 saved to {args.out} ({len(fig.axes)} panels)")
    for name, trace in (("Q-value iteration", planning.history), ("Q-learning", history)):
        n = first_close(trace[:, 0, 0], true_q, 0.02 * true_q)
        print(f"{name}: Q(s0, a0) stays within 2% of {true_q:.4f} from step {n} on")

    # TD(0) prediction: the values of the random exploration policy itself (not the optimal ones).
    v_td = td0_prediction(mdp, steps=10_000, gamma=gamma, seed=42)
    random_policy = uniform_policy(mdp)  # [S, A], uniform over possible actions
    v_true = policy_evaluation(mdp, random_policy, gamma)
    print("random policy V, TD(0) after 10,000 steps:", v_td.round(3))
    print("random policy V, exact (policy evaluation):", v_true.round(3))
    assert np.abs(v_td - v_true).max() < 1.5  # measured: 0.89 (state s1)


if __name__ == "__main__":
    main()
