"""Benchmarks of rlworks against Stable-Baselines3: same hyperparameters, same machine, same run.

:mod:`rlworks.bench.harness` holds the cases, runs them, aggregates and writes the results and
the docs section; :mod:`rlworks.bench.sb3_runner` is the SB3 side, run in its own process. This
package imports without Stable-Baselines3 installed (rlworks then runs alone).
"""

from __future__ import annotations

from rlworks.bench.harness import (
    CASES,
    BenchCase,
    BenchError,
    aggregate,
    get_case,
    run_case,
    update_docs,
    write_results,
)

__all__ = [
    "CASES",
    "BenchCase",
    "BenchError",
    "aggregate",
    "get_case",
    "run_case",
    "update_docs",
    "write_results",
]
