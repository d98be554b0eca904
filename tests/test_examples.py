"""The chapter scripts in examples/chapter18 run and reproduce the printed results they assert."""

from __future__ import annotations

import runpy
from pathlib import Path

import pytest

EXAMPLES = sorted((Path(__file__).parent.parent / "examples" / "chapter18").glob("[0-9]*.py"))


def test_examples_are_found() -> None:
    assert len(EXAMPLES) >= 2


@pytest.mark.parametrize("script", EXAMPLES, ids=[p.name for p in EXAMPLES])
def test_example_runs(script: Path, capsys: pytest.CaptureFixture[str]) -> None:
    runpy.run_path(str(script), run_name="__main__")  # each script asserts the chapter's numbers
    assert capsys.readouterr().out
