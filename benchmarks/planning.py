"""How fast rlworks plans on a large dense MDP: value, Q-value and policy iteration.

Builds a random dense MDP of ``--states`` x ``--actions`` (1,000 x 10 by default): each
transition row ``T[s, a, :]`` is uniform draws normalized to sum to 1 (``numpy.random
.default_rng(seed)``), rewards ``R[s, a, s']`` uniform in ``[0, 1)``, no terminal states. Then,
in one process and one run, with the paths interleaved (one of each per round, so the machine's
drift hits all of them alike), times:

* ``solve(mdp, gamma, method=...)`` for ``"value"``, ``"q-value"`` and ``"policy"`` on an MDP
  whose derived arrays are already cached — the convergence time;
* a pure-NumPy value iteration written here (one ``[S * A, S] @ [S]`` matvec, a max and a
  max-abs change per iteration) on the same arrays, as the sanity baseline the library should
  match;
* separately, building the model: ``TabularMDP(T, R)`` (copies and validation) and the first
  access to its cached ``expected_reward`` and ``continue_matrix``.

``tol`` is the convergence threshold on the largest change between successive iterates:
value iteration stops when ``max_s |V_{k+1}(s) - V_k(s)| < tol`` (Q-value iteration: the same on
``Q``; policy iteration stops when the greedy policy is stable). Reports the median time of
``--repeats`` runs, the iterations, the converged flag and the time per iteration. Exits with
status 1, printing FAIL, when value iteration at gamma = 0.9 takes 1 s or more (the acceptance
bound). Writes ``benchmarks/results/planning.json``.

Run: ``python benchmarks/planning.py [--states 1000] [--actions 10] [--repeats 5]``
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
from common import machine_info, write_report  # benchmarks/common.py, beside this script

from rlworks.mdp import TabularMDP, solve

GAMMAS = (0.9, 0.99)
METHODS = ("value", "q-value", "policy")
REFERENCE = "numpy reference VI"
LIMIT_S = 1.0  # acceptance: value iteration at gamma = 0.9 converges in under 1 s


def random_dense_mdp_arrays(
    n_states: int, n_actions: int, seed: int
) -> tuple[np.ndarray, np.ndarray]:
    """``T [S, A, S]`` (rows: uniform draws normalized to 1) and ``R [S, A, S]`` uniform."""
    rng = np.random.default_rng(seed)
    transitions = rng.random((n_states, n_actions, n_states))
    transitions /= transitions.sum(axis=2, keepdims=True)
    rewards = rng.random((n_states, n_actions, n_states))
    return transitions, rewards


def numpy_value_iteration(
    matrix: np.ndarray, reward: np.ndarray, gamma: float, tol: float, max_iterations: int
) -> tuple[np.ndarray, int, bool]:
    """Plain value iteration: ``V <- max_a (r + gamma P V)`` until ``max |dV| < tol``.

    Args:
        matrix: ``[S * A, S]`` C-contiguous transition matrix.
        reward: ``[S, A]`` expected immediate reward.
    """
    n_states, n_actions = reward.shape
    values = np.zeros(n_states)
    for k in range(1, max_iterations + 1):
        new = (reward + gamma * (matrix @ values).reshape(n_states, n_actions)).max(axis=1)
        change = float(np.abs(new - values).max())
        values = new
        if change < tol:
            return values, k, True
    return values, max_iterations, False


def time_construction(
    transitions: np.ndarray, rewards: np.ndarray, repeats: int
) -> tuple[dict[str, list[float]], TabularMDP]:
    """Seconds to build (validate, copy) and to fill the caches, ``repeats`` times."""
    times: dict[str, list[float]] = {"TabularMDP(T, R)": [], "cached arrays": []}
    mdp = None
    for _ in range(repeats):
        mdp = None  # free the previous model's arrays first
        start = time.perf_counter()
        mdp = TabularMDP(transitions, rewards, name="random-dense")
        built = time.perf_counter()
        _ = mdp.expected_reward, mdp.continue_matrix
        cached = time.perf_counter()
        times["TabularMDP(T, R)"].append(built - start)
        times["cached arrays"].append(cached - built)
    assert mdp is not None
    return times, mdp


def main() -> None:
    """Run the benchmark, print Markdown tables, write the JSON results."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--states", type=int, default=1000)
    parser.add_argument("--actions", type=int, default=10)
    parser.add_argument("--gammas", type=float, nargs="+", default=list(GAMMAS))
    parser.add_argument("--tol", type=float, default=1e-8)
    parser.add_argument("--max-iterations", type=int, default=10_000)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", default=str(Path(__file__).parent / "results" / "planning.json"))
    args = parser.parse_args()
    tol, cap = args.tol, args.max_iterations

    transitions, rewards = random_dense_mdp_arrays(args.states, args.actions, args.seed)
    build_times, mdp = time_construction(transitions, rewards, args.repeats)
    # The reference works on its own arrays (no terminal states: continue matrix = T).
    ref_matrix = np.ascontiguousarray(transitions.reshape(args.states * args.actions, args.states))
    ref_reward = np.einsum("ijk,ijk->ij", transitions, rewards)
    del transitions, rewards

    def library(method: str, gamma: float) -> Callable[[], tuple[np.ndarray, int, bool]]:
        def run() -> tuple[np.ndarray, int, bool]:
            result = solve(mdp, gamma, method=method, tol=tol, max_iterations=cap)  # type: ignore[arg-type]
            return result.V, result.iterations, result.converged

        return run

    paths: dict[tuple[float, str], Callable[[], tuple[np.ndarray, int, bool]]] = {}
    for gamma in args.gammas:
        for method in METHODS:
            paths[gamma, method] = library(method, gamma)
        paths[gamma, REFERENCE] = lambda g=gamma: numpy_value_iteration(  # type: ignore[misc]
            ref_matrix, ref_reward, g, tol, cap
        )

    times: dict[tuple[float, str], list[float]] = {key: [] for key in paths}
    outcome: dict[tuple[float, str], tuple[np.ndarray, int, bool]] = {}
    for _ in range(args.repeats):
        for key, fn in paths.items():
            start = time.perf_counter()
            outcome[key] = fn()
            times[key].append(time.perf_counter() - start)

    print(
        f"Random dense MDP, {args.states:,} states x {args.actions} actions, tol {tol:g} "
        f"(max |V_k+1 - V_k|), median of {args.repeats}"
    )
    print()
    print("| model construction | median s | min–max s |")
    print("|---|---:|---:|")
    construction = []
    for name, values in build_times.items():
        median = statistics.median(values)
        construction.append({"step": name, "times_s": values, "median_s": median})
        print(f"| {name} | {median:.3f} | {min(values):.3f}–{max(values):.3f} |")
    print()
    print(
        "| gamma | method | median s | iterations | converged | ms / iteration "
        "| max abs dV vs ref |"
    )
    print("|---:|---|---:|---:|---|---:|---:|")
    rows = []
    for (gamma, method), values in times.items():
        median = statistics.median(values)
        v, iterations, converged = outcome[gamma, method]
        gap = float(np.abs(v - outcome[gamma, REFERENCE][0]).max())
        rows.append(
            {
                "gamma": gamma,
                "method": method,
                "times_s": values,
                "median_s": median,
                "iterations": iterations,
                "converged": converged,
                "ms_per_iteration": 1e3 * median / iterations,
                "max_abs_diff_V_vs_reference": gap,
            }
        )
        print(
            f"| {gamma} | {method} | {median:.3f} | {iterations:,} | {converged} | "
            f"{1e3 * median / iterations:.2f} | {gap:.1e} |"
        )

    checked = (0.9, "value") in times
    vi = statistics.median(times[0.9, "value"]) if checked else float("nan")
    passed = not checked or (vi < LIMIT_S and outcome[0.9, "value"][2])
    verdict = "PASS" if passed else "FAIL"
    print()
    if checked:
        print(
            f"{verdict}: value iteration at gamma = 0.9 took {vi:.3f} s (median; limit {LIMIT_S} s)"
        )
    else:
        print("gamma = 0.9 not run: the 1 s acceptance bound was not checked")
    report = {
        "benchmark": "planning",
        "states": args.states,
        "actions": args.actions,
        "seed": args.seed,
        "tol": tol,
        "tol_meaning": "max_s |V_{k+1}(s) - V_k(s)| (max |Q_{k+1} - Q_k| for q-value)",
        "max_iterations": cap,
        "repeats": args.repeats,
        **machine_info(OPENBLAS_NUM_THREADS=str(os.environ.get("OPENBLAS_NUM_THREADS"))),
        "construction": construction,
        "rows": rows,
        "limit_s": LIMIT_S,
        "value_iteration_gamma_0.9_median_s": vi if checked else None,
        "verdict": verdict,
    }
    write_report(report, args.out)
    if not passed:
        sys.exit(1)


if __name__ == "__main__":
    main()
