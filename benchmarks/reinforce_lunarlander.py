"""REINFORCE on LunarLander-v3, the chapter's exercise: does the tuned preset land within 2M steps?

A thin wrapper: ``python benchmarks/reinforce_lunarlander.py [options]`` is
``python benchmarks/lunarlander.py reinforce [options]``: 2,000,000 steps and target 100 by
default, runs in ``benchmarks/results/reinforce-lunarlander/``, the report in
``benchmarks/results/reinforce-lunarlander.json``, the figure in
``docs/reinforce-lunarlander.png``.

Acceptance (issue 4): eval mean >= 100 within 2M steps for at least 2 of 3 seeds.
"""

from __future__ import annotations

import sys

from lunarlander import main  # benchmarks/lunarlander.py, beside this script

if __name__ == "__main__":
    main(["reinforce", *sys.argv[1:]])
