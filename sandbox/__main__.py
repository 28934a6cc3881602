"""Command line: `lms-sandbox <sandbox> [options]` (or `python -m sandbox ...`) serves one local LMS
sandbox in the foreground; `lms-sandbox <sandbox> --help` lists that sandbox's options."""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Callable
from typing import NamedTuple


class Sandbox(NamedTuple):
    module: str  # holds `main(argv, prog) -> int`
    summary: str


# One line per sandbox: the command name, the module whose `main` serves it, and a summary for --help.
SANDBOXES: dict[str, Sandbox] = {
    "canvas": Sandbox("sandbox.canvas.__main__", "Canvas LMS REST API (admin token)"),
    "brightspace": Sandbox("sandbox.brightspace.__main__", "Brightspace (D2L) Valence API (OAuth2 refresh)"),
    "canvas-data2": Sandbox(
        "sandbox.canvas_data2.__main__", "Canvas Data 2 (DAP Query API, client credentials)"
    ),
}


def parser(prog: str) -> argparse.ArgumentParser:
    """The top-level parser: one sub-command per sandbox; the sandbox's own parser reads the rest."""
    top = argparse.ArgumentParser(prog=prog, description="Serve a local LMS sandbox until Ctrl-C.")
    commands = top.add_subparsers(dest="sandbox", metavar="SANDBOX", required=True)
    for name, sandbox in SANDBOXES.items():
        # add_help=False: `lms-sandbox canvas --help` reaches the sandbox's own parser
        commands.add_parser(name, help=sandbox.summary, add_help=False)
    return top


def main(argv: list[str] | None = None, prog: str | None = None) -> int:
    """Pick the sandbox named by the first argument and hand it the remaining arguments.

    Returns:
        The sandbox command's exit code.
    """
    prog = prog or ("python -m sandbox" if __name__ == "__main__" else "lms-sandbox")
    args, rest = parser(prog).parse_known_args(argv)
    serve: Callable[..., int] = importlib.import_module(SANDBOXES[args.sandbox].module).main
    return serve(rest, prog=f"{prog} {args.sandbox}")


if __name__ == "__main__":
    sys.exit(main())
