"""DQN on CartPole-v1, rlworks against Stable-Baselines3 with rl-zoo's hyperparameters.

A thin wrapper around the harness's ``dqn-cartpole`` case (the same as ``rlworks bench
dqn-cartpole``): per seed, ``rlworks train dqn CartPole-v1 --preset zoo`` and SB3's ``DQN`` with
the same hyperparameters, each in its own process, alternating which goes first; a throughput run
(50,000 steps, evaluation only at the end) on the throughput seeds and a time-to-solve run
(evaluation every 5,000 steps on 20 deterministic episodes, stop at a mean of 475) on every seed.
Writes ``benchmarks/results/dqn-cartpole.json`` and the case's section of ``docs/benchmarks.md``.

Run: ``python benchmarks/dqn_cartpole.py [--seeds 0 1 2 3 4] [--throughput-seeds 0] [--no-sb3]``
"""

from __future__ import annotations

import sys

from common import run_bench_case  # benchmarks/common.py, beside this script

if __name__ == "__main__":
    sys.exit(run_bench_case("dqn-cartpole", sys.argv[1:]))
