"""`trendflow <command>`: one CLI whose commands come from every package.

Each package declares a `register(subparsers)` function under the `trendflow.commands` entry-point
group (pyproject.toml), so this core module never imports the packages built on top of it.
"""

from __future__ import annotations

import argparse
import os
import sys
from importlib.metadata import entry_points

from trendflow import __version__
from trendflow.artifacts import ArtifactError
from trendflow.config import ConfigError
from trendflow.dataset.errors import DatasetError
from trendflow.ids import UnsafeIdError

USER_ERRORS = (ArtifactError, ConfigError, DatasetError, UnsafeIdError, FileNotFoundError)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="trendflow",
        description="TrendFlow: forecast video growth (views/likes at 7/14/21 days) from content on Ray. "
                    "Run `trendflow <command> --help` for each command.")
    parser.add_argument("--version", action="version", version=f"trendflow {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="<command>")
    for ep in sorted(entry_points(group="trendflow.commands"), key=lambda e: e.name):
        try:
            register = ep.load()
        except ImportError as e:
            # One broken package must not take every other command down with it; the test suite
            # checks that all declared command groups load.
            print(f"warning: commands of {ep.value} unavailable: {e}", file=sys.stderr)
            continue
        register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    os.environ.setdefault("RAY_AUTH_MODE", "disabled")  # local clusters need no token (Ray ≥ 2.59)
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    try:
        return int(args.func(args) or 0)
    except USER_ERRORS as e:  # bad input the user can fix: a clear message, no traceback
        print(f"error: {e}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
