"""Planning on a known MDP: Bellman backups, value / Q-value / policy iteration, evaluation.

This module owns the chapter's dynamic-programming algorithms, vectorized over states and actions
(each backup is one BLAS matrix-vector product on the ``[S * A, S]`` transition matrix):

* :func:`bellman_backup` — ``Q(s, a) = E[R] + gamma * sum_s' T_continue(s, a, s') V(s')``;
* :func:`value_iteration` — Bellman's optimality equation on ``V`` (equation 18-2);
* :func:`q_value_iteration` — the same on ``Q`` (equation 18-3), exactly as the chapter codes it;
* :func:`policy_iteration` — exact evaluation by a linear solve, then greedy improvement;
* :func:`policy_evaluation` — ``V^pi`` of a deterministic or stochastic policy;
* :func:`solve` — one entry point returning a :class:`PlanningResult`.

Conventions: ``Q`` is ``-inf`` at impossible actions and 0 in terminal states; transitions that
end the episode contribute their reward but no next-state value.
"""

from __future__ import annotations

import dataclasses
import warnings
from collections.abc import Callable
from typing import Any, Literal

import numpy as np
import numpy.typing as npt

from rlworks.errors import ConfigError
from rlworks.mdp.model import TabularMDP

__all__ = [
    "PLANNING_METHODS",
    "PlanningResult",
    "bellman_backup",
    "greedy_policy",
    "policy_evaluation",
    "policy_iteration",
    "q_value_iteration",
    "solve",
    "value_iteration",
]

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]
Method = Literal["value", "q-value", "policy"]

#: The ``method`` names :func:`solve` accepts.
PLANNING_METHODS: tuple[str, ...] = ("value", "q-value", "policy")

#: Keys of :meth:`PlanningResult.to_json`, in order.
RESULT_KEYS: tuple[str, ...] = (
    "V",
    "Q",
    "policy",
    "iterations",
    "converged",
    "gamma",
    "method",
    "valid",
)


@dataclasses.dataclass(frozen=True, eq=False)
class PlanningResult:
    """What a planning algorithm found."""

    V: FloatArray
    """``[S]`` state values (0 in terminal states)."""
    Q: FloatArray
    """``[S, A]`` action values: ``-inf`` at impossible actions, 0 in terminal states."""
    policy: IntArray
    """``[S]`` greedy action per state (ties go to the lowest action index)."""
    iterations: int
    """Iterations run: backups for value / Q-value iteration, evaluate-and-improve rounds for
    policy iteration."""
    converged: bool
    """Whether the last change was below ``tol`` (for policy iteration: the policy was stable
    and its evaluation converged)."""
    gamma: float
    """The discount factor used."""
    method: str
    """``"value"``, ``"q-value"`` or ``"policy"``."""
    valid: BoolArray
    """``[S, A]`` action mask of the MDP."""
    history: FloatArray | None = None
    """None unless asked for. Q-value iteration: ``[K + 1, S, A]`` with ``history[k]`` the Q after
    ``k`` iterations (``history[0]`` the initial Q); value iteration: ``[K + 1, S]`` of V; policy
    iteration: ``[K, S]``, the value of the policy evaluated in each round."""

    def to_json(self) -> dict[str, Any]:
        """The result as JSON-ready values, with keys :data:`RESULT_KEYS`.

        ``V``: list of floats; ``Q``: ``[S][A]`` lists with ``None`` (JSON ``null``) at impossible
        actions; ``policy``: list of ints; ``iterations``, ``converged``, ``gamma``, ``method``;
        ``valid``: ``[S][A]`` lists of bools.
        """
        q_rows = [[None if np.isneginf(q) else float(q) for q in row] for row in self.Q]
        return {
            "V": [float(v) for v in self.V],
            "Q": q_rows,
            "policy": [int(a) for a in self.policy],
            "iterations": int(self.iterations),
            "converged": bool(self.converged),
            "gamma": float(self.gamma),
            "method": self.method,
            "valid": self.valid.tolist(),
        }


# ---------------------------------------------------------------------------------------------
# building blocks


def bellman_backup(mdp: TabularMDP, V: npt.ArrayLike, gamma: float) -> FloatArray:
    """One Bellman backup: the action values of acting once, then getting ``V``.

    ``Q(s, a) = sum_s' T(s, a, s') [R(s, a, s') + gamma * (1 - ends(s, a, s')) V(s')]``.

    Args:
        mdp: The MDP.
        V: ``[S]`` state values.
        gamma: Discount factor.

    Returns:
        ``[S, A]`` action values, ``-inf`` at impossible actions and 0 in terminal states.
    """
    values = np.asarray(V, dtype=np.float64)
    if values.shape != (mdp.n_states,):
        raise ConfigError(f"V shape {values.shape}, expected ({mdp.n_states},), one per state")
    future = (mdp.continue_matrix @ values).reshape(mdp.n_states, mdp.n_actions)  # [S, A]
    q = mdp.expected_reward + gamma * future
    q = np.where(mdp.valid, q, -np.inf)
    q[mdp.terminal] = 0.0
    return q


def greedy_policy(Q: npt.ArrayLike, valid: npt.ArrayLike) -> IntArray:
    """The greedy action in each state among the possible ones (``[S]``, ties → lowest index).

    Args:
        Q: ``[S, A]`` action values.
        valid: ``[S, A]`` action mask; a state with no possible action gets action 0.
    """
    masked = np.where(np.asarray(valid, dtype=bool), np.asarray(Q, dtype=np.float64), -np.inf)
    return np.asarray(masked.argmax(axis=1), dtype=np.int64)


def _state_values(mdp: TabularMDP, Q: FloatArray) -> FloatArray:
    """``V(s) = max_a Q(s, a)``, 0 in terminal states (``[S]``)."""
    values = np.where(mdp.valid, Q, -np.inf).max(axis=1)
    values[mdp.terminal] = 0.0
    return np.asarray(values, dtype=np.float64)


def _check_settings(gamma: float, tol: float, max_iterations: int, iterations: int | None) -> None:
    if isinstance(gamma, bool) or not isinstance(gamma, int | float | np.floating):
        raise ConfigError(f"gamma must be a number in [0, 1], got {gamma!r}")
    if not 0.0 <= float(gamma) <= 1.0:
        raise ConfigError(f"gamma must be in [0, 1], got {gamma}")
    if not float(tol) > 0.0:
        raise ConfigError(f"tol must be > 0, got {tol}")
    for key, value in (("max_iterations", max_iterations), ("iterations", iterations)):
        if value is None and key == "iterations":
            continue
        if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < 1:
            raise ConfigError(f"{key} must be an integer >= 1, got {value!r}")


@dataclasses.dataclass
class _Run:
    """The outcome of :func:`_iterate`."""

    value: FloatArray
    iterations: int
    converged: bool
    history: FloatArray | None


def _iterate(
    update: Callable[[FloatArray], FloatArray],
    start: FloatArray,
    *,
    tol: float,
    max_iterations: int,
    iterations: int | None,
    record_history: bool,
) -> _Run:
    """Apply ``update`` until the largest change is below ``tol`` (or exactly ``iterations`` times).

    Changes are measured on finite entries only (``-inf`` marks impossible actions). Should an
    update produce a NaN or an infinity where the previous one was finite, iteration stops
    before it with ``converged=False`` and a :class:`RuntimeWarning`.
    """
    finite = np.isfinite(start)
    current, history = start, [start] if record_history else None
    limit = iterations if iterations is not None else max_iterations
    converged, done = False, 0
    for step in range(1, limit + 1):
        with np.errstate(over="ignore", invalid="ignore"):  # overflow is reported below
            new = update(current)
        if not np.isfinite(new[finite]).all():
            warnings.warn(
                f"planning stopped at iteration {step}: values overflowed (gamma = 1 on an MDP "
                "whose episodes need not end?)",
                RuntimeWarning,
                stacklevel=3,
            )
            converged = False
            break
        change = float(np.abs(new[finite] - current[finite]).max(initial=0.0))
        current, done, converged = new, step, change < tol
        if history is not None:
            history.append(new)
        if converged and iterations is None:
            break
    stacked = np.stack(history) if history is not None else None
    return _Run(current, done, converged, stacked)


# ---------------------------------------------------------------------------------------------
# value and Q-value iteration


def value_iteration(
    mdp: TabularMDP,
    gamma: float,
    *,
    tol: float = 1e-10,
    max_iterations: int = 10_000,
    iterations: int | None = None,
    record_history: bool = False,
) -> PlanningResult:
    """Value iteration: ``V_{k+1}(s) = max_a sum_s' T (R + gamma V_k(s'))`` from ``V_0 = 0``.

    Args:
        mdp: The MDP.
        gamma: Discount factor in ``[0, 1]``.
        tol: Stop when the largest change of ``V`` is below this.
        max_iterations: Stop here otherwise, with ``converged=False`` (e.g. ``gamma = 1`` on an
            MDP whose episodes never end: the values grow without bound).
        iterations: Run exactly this many iterations instead.
        record_history: Keep ``V`` after each iteration (``[K + 1, S]``).

    Returns:
        The values, the Q-values of one more backup, the greedy policy and the stopping details.

    Raises:
        ConfigError: ``gamma`` outside ``[0, 1]``, ``tol <= 0`` or an iteration count < 1.
    """
    _check_settings(gamma, tol, max_iterations, iterations)
    run = _iterate(
        lambda v: _state_values(mdp, bellman_backup(mdp, v, gamma)),
        np.zeros(mdp.n_states),
        tol=tol,
        max_iterations=max_iterations,
        iterations=iterations,
        record_history=record_history,
    )
    with np.errstate(over="ignore"):  # only after an overflow, already reported
        q = bellman_backup(mdp, run.value, gamma)
    return _result(mdp, run.value, q, run, gamma, "value")


def q_value_iteration(
    mdp: TabularMDP,
    gamma: float,
    *,
    tol: float = 1e-10,
    max_iterations: int = 10_000,
    iterations: int | None = None,
    record_history: bool = False,
) -> PlanningResult:
    """Q-value iteration: ``Q_{k+1}(s, a) = sum_s' T (R + gamma max_a' Q_k(s', a'))``.

    As the chapter codes it: ``Q_0`` is 0 at possible actions and ``-inf`` at impossible ones.
    Arguments as in :func:`value_iteration`; ``record_history`` keeps ``[K + 1, S, A]`` with
    ``history[k]`` the Q after ``k`` iterations.

    Example:
        >>> from rlworks.mdp import book_mdp
        >>> result = q_value_iteration(book_mdp(), gamma=0.90)
        >>> result.policy.tolist()
        [0, 0, 1]
    """
    _check_settings(gamma, tol, max_iterations, iterations)
    start = np.where(mdp.valid, 0.0, -np.inf)
    start[mdp.terminal] = 0.0
    run = _iterate(
        lambda q: bellman_backup(mdp, _state_values(mdp, q), gamma),
        start,
        tol=tol,
        max_iterations=max_iterations,
        iterations=iterations,
        record_history=record_history,
    )
    return _result(mdp, _state_values(mdp, run.value), run.value, run, gamma, "q-value")


def _result(
    mdp: TabularMDP, V: FloatArray, Q: FloatArray, run: _Run, gamma: float, method: str
) -> PlanningResult:
    return PlanningResult(
        V=V,
        Q=Q,
        policy=greedy_policy(Q, mdp.valid),
        iterations=run.iterations,
        converged=run.converged,
        gamma=float(gamma),
        method=method,
        valid=np.array(mdp.valid),
        history=run.history,
    )


# ---------------------------------------------------------------------------------------------
# policy evaluation and policy iteration


def uniform_policy(mdp: TabularMDP) -> FloatArray:
    """The uniformly random policy over possible actions, ``[S, A]`` (all-zero rows for states
    without a possible action): the chapter's exploration policy, as policy evaluation takes it."""
    counts = mdp.valid.sum(axis=1, keepdims=True)  # [S, 1]
    policy: FloatArray = np.divide(
        mdp.valid, counts, out=np.zeros(mdp.valid.shape), where=counts > 0
    )
    return policy


def policy_evaluation(
    mdp: TabularMDP,
    policy: npt.ArrayLike,
    gamma: float,
    *,
    tol: float = 1e-10,
    max_iterations: int = 10_000,
    method: Literal["iterate", "solve"] = "iterate",
) -> FloatArray:
    """The value ``V^pi`` of a policy.

    Args:
        mdp: The MDP.
        policy: A deterministic policy (``[S]`` action indices, possible in every non-terminal
            state) or a stochastic one (``[S, A]`` probabilities, 0 at impossible actions, rows of
            non-terminal states summing to 1).
        gamma: Discount factor in ``[0, 1]``.
        tol: For ``"iterate"``: stop when the largest change is below this.
        max_iterations: For ``"iterate"``: the cap; reaching it warns (``RuntimeWarning``).
        method: ``"iterate"`` (repeated expected backups from ``V = 0``) or ``"solve"`` (one
            linear solve of ``(I - gamma P_pi) V = r_pi``; needs ``gamma < 1`` or a policy whose
            episodes end).

    Returns:
        ``[S]`` state values, 0 in terminal states.

    Raises:
        ConfigError: A malformed policy (naming the state and action), bad settings, an unknown
            method, or a singular system for ``"solve"``.
    """
    _check_settings(gamma, tol, max_iterations, None)
    values, converged = _evaluate(
        mdp, _policy_matrix(mdp, policy), gamma, tol, max_iterations, method
    )
    if not converged:
        warnings.warn(
            f"policy evaluation did not converge within {max_iterations} iterations "
            f"(gamma = {gamma}); the values may grow without bound",
            RuntimeWarning,
            stacklevel=2,
        )
    return values


def _evaluate(
    mdp: TabularMDP,
    pi: FloatArray,
    gamma: float,
    tol: float,
    max_iterations: int,
    method: str,
) -> tuple[FloatArray, bool]:
    """``(V^pi, converged)`` for a ``[S, A]`` policy matrix ``pi``."""
    p_pi = np.einsum("sa,sat->st", pi, mdp.continue_transitions)  # [S, S]
    r_pi = np.einsum("sa,sa->s", pi, mdp.expected_reward)  # [S]
    p_pi[mdp.terminal] = 0.0
    r_pi[mdp.terminal] = 0.0
    if method == "solve":
        return _solve_linear(p_pi, r_pi, gamma), True
    if method != "iterate":
        raise ConfigError(f"policy evaluation method must be 'iterate' or 'solve', got {method!r}")
    run = _iterate(
        lambda v: r_pi + gamma * (p_pi @ v),
        np.zeros(mdp.n_states),
        tol=tol,
        max_iterations=max_iterations,
        iterations=None,
        record_history=False,
    )
    return run.value, run.converged


def _solve_linear(p_pi: FloatArray, r_pi: FloatArray, gamma: float) -> FloatArray:
    """Solve ``(I - gamma P_pi) V = r_pi``.

    The system is checked for singularity cheaply when it can be: if every row of
    ``gamma P_pi`` (non-negative) sums to ``rho < 1``, then ``I - gamma P_pi`` is strictly
    diagonally dominant, hence invertible, with ``cond_inf <= (1 + rho) / (1 - rho)`` and
    ``cond_2 <= S * cond_inf``; only when that bound exceeds the threshold is the 2-norm
    condition number computed (an SVD, the slow part for large ``S``).
    """
    n = len(r_pi)
    system = np.eye(n) - gamma * p_pi
    try:
        values = np.linalg.solve(system, r_pi)
    except np.linalg.LinAlgError:
        values = np.full(n, np.nan)
    rho = float(gamma * p_pi.sum(axis=1).max(initial=0.0))
    well_conditioned = rho < 1.0 and n * (1.0 + rho) / (1.0 - rho) <= 1e12
    if not np.isfinite(values).all() or (not well_conditioned and np.linalg.cond(system) > 1e12):
        raise ConfigError(
            f"policy evaluation by linear solve failed: (I - gamma P_pi) is singular with "
            f"gamma = {gamma}, so the policy's episodes need not end; use gamma < 1 or "
            "method='iterate'"
        )
    return np.asarray(values, dtype=np.float64)


def _policy_matrix(mdp: TabularMDP, policy: npt.ArrayLike) -> FloatArray:
    """A deterministic ``[S]`` or stochastic ``[S, A]`` policy as ``[S, A]`` probabilities."""
    array = np.asarray(policy)
    shape = (mdp.n_states, mdp.n_actions)
    deciding = ~mdp.terminal
    if array.shape == (mdp.n_states,):
        if array.dtype.kind not in "iu":
            raise ConfigError(
                f"a deterministic policy holds action indices, got dtype {array.dtype}"
            )
        outside = np.flatnonzero((array < 0) | (array >= mdp.n_actions))
        if len(outside):
            s = int(outside[0])
            raise ConfigError(
                f"policy picks action {array[s]} in state {s}, outside [0, {shape[1]})"
            )
        pi = np.zeros(shape)
        pi[np.arange(mdp.n_states), array] = 1.0
    elif array.shape == shape:
        pi = np.array(array, dtype=np.float64)
        bad_rows = np.flatnonzero(deciding & (np.abs(pi.sum(axis=1) - 1.0) > 1e-8))
        if len(bad_rows):
            s = int(bad_rows[0])
            raise ConfigError(
                f"policy probabilities of state {s} sum to {pi[s].sum():.10g}, expected 1"
            )
        if (pi < 0).any():
            s, a = (int(i) for i in np.argwhere(pi < 0)[0])
            raise ConfigError(f"policy probability of state {s}, action {a} is {pi[s, a]} < 0")
    else:
        raise ConfigError(
            f"policy shape {array.shape}, expected ({shape[0]},) action indices or {shape} "
            "probabilities"
        )
    wrong = np.argwhere((pi > 0) & ~mdp.valid & deciding[:, None])
    if len(wrong):
        s, a = (int(i) for i in wrong[0])
        possible = ", ".join(map(str, mdp.possible_actions(s)))
        raise ConfigError(
            f"policy uses action {a} in state {s}, where it is not possible (possible: {possible})"
        )
    pi[mdp.terminal] = 0.0
    return pi


def policy_iteration(
    mdp: TabularMDP,
    gamma: float,
    *,
    tol: float = 1e-10,
    max_iterations: int = 10_000,
    iterations: int | None = None,
    record_history: bool = False,
) -> PlanningResult:
    """Policy iteration: evaluate the policy exactly, make it greedy, until it is stable.

    Starts from the lowest possible action in each state. Evaluation is a linear solve when
    ``gamma < 1``, and iterative (capped at ``max_iterations``) when ``gamma == 1``. Improvement
    keeps the current action when it ties with the best, so the loop ends. Arguments as in
    :func:`value_iteration`; ``iterations`` counts evaluate-and-improve rounds, and
    ``record_history`` keeps the value of each evaluated policy (``[K, S]``).
    """
    _check_settings(gamma, tol, max_iterations, iterations)
    method = "solve" if gamma < 1.0 else "iterate"
    policy = greedy_policy(np.zeros(mdp.valid.shape), mdp.valid)
    history: list[FloatArray] = []
    limit = iterations if iterations is not None else max_iterations
    values, stable, evaluated = np.zeros(mdp.n_states), False, True
    rounds = 0
    for rounds in range(1, limit + 1):  # noqa: B007 (rounds is read after the loop)
        pi = _policy_matrix(mdp, policy)
        values, evaluated = _evaluate(mdp, pi, gamma, tol, max_iterations, method)
        history.append(values)
        q = bellman_backup(mdp, values, gamma)
        improved = _improve(q, policy, mdp.valid)
        stable = bool(np.array_equal(improved, policy))
        policy = improved
        if (stable or not evaluated) and iterations is None:
            break
    run = _Run(values, rounds, stable and evaluated, np.stack(history) if record_history else None)
    return _result(mdp, values, bellman_backup(mdp, values, gamma), run, gamma, "policy")


def _improve(Q: FloatArray, policy: IntArray, valid: BoolArray) -> IntArray:
    """Greedy w.r.t. ``Q``, keeping the current action where it ties with the best."""
    best = greedy_policy(Q, valid)
    rows = np.arange(len(policy))
    current = Q[rows, policy]
    top = Q[rows, best]
    keep = current >= top - 1e-12 * np.maximum(1.0, np.abs(top))
    return np.where(keep, policy, best)


# ---------------------------------------------------------------------------------------------
# entry point

_SOLVERS: dict[str, Callable[..., PlanningResult]] = {
    "value": value_iteration,
    "q-value": q_value_iteration,
    "policy": policy_iteration,
}


def solve(
    mdp: TabularMDP,
    gamma: float,
    method: Method = "value",
    tol: float = 1e-10,
    max_iterations: int = 10_000,
    iterations: int | None = None,
    record_history: bool = False,
) -> PlanningResult:
    """Plan on ``mdp`` with value (``"value"``), Q-value (``"q-value"``) or policy iteration.

    Args:
        mdp: The MDP.
        gamma: Discount factor in ``[0, 1]``.
        method: One of :data:`PLANNING_METHODS`.
        tol: Convergence threshold on the largest change.
        max_iterations: Cap; reaching it gives ``converged=False``.
        iterations: Run exactly this many iterations instead.
        record_history: Keep the per-iteration values (see :attr:`PlanningResult.history`).

    Raises:
        ConfigError: Unknown method, or bad settings (see :func:`value_iteration`).
    """
    solver = _SOLVERS.get(method)
    if solver is None:
        raise ConfigError(
            f"unknown planning method {method!r}; expected one of {', '.join(PLANNING_METHODS)}"
        )
    return solver(
        mdp,
        gamma,
        tol=tol,
        max_iterations=max_iterations,
        iterations=iterations,
        record_history=record_history,
    )
