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
from pathlib import Path

from rlworks.cli import main as rlworks

ROOT = Path(__file__).resolve().parent.parent


def main(argv: list[str]) -> int:
    """``rlworks bench dqn-cartpole ARGV``, writing under this checkout whatever the working
    directory (the options, ``--help`` and protocol are the command's)."""
    paths = ["--out", str(ROOT / "benchmarks" / "results")]
    if "--no-docs" not in argv:
        paths += ["--docs", str(ROOT / "docs" / "benchmarks.md")]
    return rlworks(["bench", "dqn-cartpole", *paths, *argv])


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
