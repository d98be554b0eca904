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

import argparse
import sys
from pathlib import Path

from rlworks.bench import harness

ROOT = Path(__file__).resolve().parent.parent
CASE = "dqn-cartpole"


def main() -> None:
    """Run the case, write the JSON results and the docs section, print the table."""
    parser = argparse.ArgumentParser(
        description=__doc__.splitlines()[0],
        epilog="The protocol is described in `rlworks bench --help`.",
    )
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2, 3, 4], metavar="SEED")
    parser.add_argument(
        "--throughput-seeds",
        type=int,
        nargs="*",
        metavar="SEED",
        help="seeds that also get a throughput run (default: the first seed)",
    )
    parser.add_argument("--no-sb3", action="store_true", help="run rlworks alone")
    parser.add_argument("--out", default=str(ROOT / "benchmarks" / "results"), help="JSON folder")
    parser.add_argument("--docs", default=str(ROOT / "docs" / "benchmarks.md"), help="docs file")
    parser.add_argument("--no-docs", action="store_true", help="leave the docs file alone")
    args = parser.parse_args()
    report = harness.run_case(
        harness.get_case(CASE),
        seeds=args.seeds,
        throughput_seeds=args.throughput_seeds,
        use_sb3=not args.no_sb3,
        progress=lambda line: print(line, file=sys.stderr, flush=True),
    )
    results = harness.write_results(report, args.out)
    print(harness.summary_table(report))
    print(f"wrote {results}")
    if not args.no_docs:
        shown = results.relative_to(ROOT) if results.is_relative_to(ROOT) else results
        print(f"updated {harness.update_docs(args.docs, report, shown)}")


if __name__ == "__main__":
    main()
