"""The ``plainpdp`` command line: thin commands over the library.

Exit codes: 0 success, 1 the command's check failed (a deny from
``authorize``, a failing policy test, ``fmt --check``, an unacknowledged
flip), 2 bad input or usage. Errors print as ``path:line:col: error[code]``
with the source line and a caret, never as a traceback.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from importlib import import_module

from ..errors import PlainPDPError
from .render import print_error

# One module per command, each with ``register(subparsers)``; order is --help order.
COMMANDS = (
    "authorize",
    "parse",
    "validate",
    "fmt",
    "test",
    "diff",
    "explain",
    "access_report",
    "serve",
    "admin",
    "console",
    "compile",
    "bench",
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="plainpdp",
        description="Cedar-compatible authorization for partner portals.",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True
    for name in COMMANDS:
        import_module(f"{__name__}.{name}").register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.run(args) or 0)
    except PlainPDPError as err:
        print_error(err)
        return 2
    except KeyboardInterrupt:
        print("plainpdp: interrupted", file=sys.stderr)
        return 2
    except BrokenPipeError:
        # the reader went away (`plainpdp ... | head`): not a bug, and not a
        # success either, since the output was not all delivered. Point
        # stdout at /dev/null so the interpreter's final flush stays quiet.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 1
    except Exception as err:  # noqa: BLE001 - the last line of defence: no tracebacks
        print(
            f"plainpdp: internal error ({type(err).__name__}): {err}\n"
            "  = help: this is a bug in plainpdp; please report it with the command you ran",
            file=sys.stderr,
        )
        return 2


def run() -> None:
    sys.exit(main())
