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
from pathlib import Path

from rlworks.cli import main as rlworks

ROOT = Path(__file__).resolve().parent.parent


def main(argv: list[str]) -> int:
    """``rlworks bench dqn-breakout ARGV``, writing under this checkout whatever the working
    directory (the options, ``--help`` and protocol are the command's)."""
    paths = ["--out", str(ROOT / "benchmarks" / "results")]
    if "--no-docs" not in argv:
        paths += ["--docs", str(ROOT / "docs" / "benchmarks.md")]
    return rlworks(["bench", "dqn-breakout", *paths, *argv])


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
