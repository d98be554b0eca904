"""Chapter 18, "Markov Decision Processes": Q-value iteration on the MDP of Figure 18-8.

"For example, in state s0, if action a0 is chosen then with proba 0.7 we will go to state s0 with
reward +10, with probability 0.3 we will go to state s1 with no reward, and with never go to state
s2". After 50 iterations of Q-value iteration with ``gamma = 0.90`` the chapter prints::

    array([[18.91891892, 17.02702702, 13.62162162],
           [ 0.        ,        -inf, -4.87971488],
           [       -inf, 50.13365013,        -inf]])
    array([0, 0, 1])        # Q_values.argmax(axis=1)

and with ``gamma = 0.95``::

    array([[21.73304188, 20.63807938, 16.70138772],
           [ 0.95462106,        -inf,  1.01361207],
           [       -inf, 53.70728682,        -inf]])
    array([0, 2, 1])

"Now the policy has changed! In state s1, we now prefer to go through the fire (choose action
a2)". Impossible actions are ``-inf``, as in the chapter. Value iteration and policy iteration,
run to convergence, find the same policies and state values. (With ``gamma = 0.95`` the 50
iterations are not quite converged yet: V(s0) is 21.73 after 50 and 21.90 in the limit.)

The same from the command line: ``rlworks mdp solve book --gamma 0.9 --iterations 50 --json``
(without ``--iterations`` it iterates until the values stop changing).

Run: ``python examples/chapter18/04_mdp_q_value_iteration.py``
"""

from __future__ import annotations

import numpy as np

from rlworks.mdp import book_mdp, solve

BOOK_Q = {
    0.90: [
        [18.91891892, 17.02702702, 13.62162162],
        [0.0, -np.inf, -4.87971488],
        [-np.inf, 50.13365013, -np.inf],
    ],
    0.95: [
        [21.73304188, 20.63807938, 16.70138772],
        [0.95462106, -np.inf, 1.01361207],
        [-np.inf, 53.70728682, -np.inf],
    ],
}
BOOK_POLICY = {0.90: [0, 0, 1], 0.95: [0, 2, 1]}


def main() -> None:
    """Run the chapter's 50 Q-value iterations at two discount factors; cross-check the policy."""
    mdp = book_mdp()
    print(mdp)
    print("possible actions:", [mdp.possible_actions(s) for s in range(mdp.n_states)])

    for gamma in (0.90, 0.95):
        result = solve(mdp, gamma, method="q-value", iterations=50)
        print(f"\ngamma = {gamma:.2f}, Q-values after 50 Q-value iterations:")
        print(repr(result.Q))
        print("optimal action per state (argmax):", result.policy)
        np.testing.assert_allclose(result.Q, BOOK_Q[gamma], rtol=0, atol=1e-6)
        assert result.policy.tolist() == BOOK_POLICY[gamma]

        # The two other Bellman algorithms, run until they converge, agree on the policy and V.
        converged = solve(mdp, gamma, method="q-value")
        gap = np.abs(result.V - converged.V).max()
        print(
            f"Q-value iteration converges after {converged.iterations} iterations; "
            f"after 50 its V is off by {gap:.2g}"
        )
        for method in ("value", "policy"):
            other = solve(mdp, gamma, method=method)
            values = other.V.round(4) + 0.0  # + 0.0 turns -0.0 into 0.0 for printing
            print(f"{method:>6} iteration: policy {other.policy}, V {values}")
            assert other.policy.tolist() == BOOK_POLICY[gamma]
            np.testing.assert_allclose(other.V, converged.V, rtol=0, atol=1e-6)
    print("\nmatches the chapter's Q-values and policies (gamma 0.90: a0 in s1; 0.95: a2)")


if __name__ == "__main__":
    main()
