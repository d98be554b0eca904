"""Fixtures shared by the test modules."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest


@dataclass
class CLIResult:
    """What one in-process ``rlworks`` command produced."""

    code: int
    out: str
    err: str

    @property
    def json(self) -> Any:
        """The JSON object ``--json`` prints as the last line of standard output."""
        return json.loads(self.out.strip().splitlines()[-1])


@pytest.fixture
def cli(capsys: pytest.CaptureFixture[str]) -> Callable[..., CLIResult]:
    """Run ``rlworks ARGV...`` in-process (same code path as the console script)."""
    from rlworks.cli import main

    def run(*argv: str) -> CLIResult:
        capsys.readouterr()
        code = main(list(argv))
        out, err = capsys.readouterr()
        return CLIResult(code, out, err)

    return run
