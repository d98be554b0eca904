"""Command-line options shared by ``rlworks`` and ``rlworks mdp`` sub-commands."""

from __future__ import annotations

import argparse

__all__ = ["add_json", "add_overrides"]


def add_json(parser: argparse.ArgumentParser) -> None:
    """``--json``: print one JSON object as the last line of standard output."""
    parser.add_argument(
        "--json", action="store_true", help="print one JSON object as the last line of stdout"
    )


def add_overrides(parser: argparse.ArgumentParser, help: str) -> None:
    """``--set KEY=VALUE`` (repeatable), collected in ``args.overrides``."""
    parser.add_argument(
        "--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE", help=help
    )
