"""DQN on Atari Breakout: the training loop's speed, rlworks against Stable-Baselines3.

A thin wrapper around the harness's ``dqn-breakout`` case (the same as ``rlworks bench
dqn-breakout``): per seed, rlworks' DQN (``async_collection``: collection in a background thread
overlapped with learning) and SB3's ``DQN("CnnPolicy")`` with the same hyperparameters, each in
its own process, alternating which goes first; each run trains to env step 6,000 and is timed
from step 2,000 (learning started at 1,000), reporting agent steps/s and frames/s (4 per step).
Writes ``benchmarks/results/dqn-breakout.json`` and the case's section of
``docs/benchmarks.md``.

Run: ``python benchmarks/dqn_breakout.py [--seeds 0 1 2] [--no-sb3]``
"""

from __future__ import annotations

import sys

from common import run_bench_case  # benchmarks/common.py, beside this script

if __name__ == "__main__":
    sys.exit(run_bench_case("dqn-breakout", sys.argv[1:]))
