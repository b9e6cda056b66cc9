"""``plainpdp parse FILE...``: report syntax errors in policy files."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from ..errors import ParseError
from ..syntax import parse_file
from .render import print_error


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("parse", help="check that policy files parse")
    p.add_argument("files", nargs="+", metavar="FILE", help="Cedar policy files")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    failed = False
    for name in args.files:
        path = Path(name)
        try:
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as err:
            print(f"{name}: error[unreadable]: cannot read file: {err}", file=sys.stderr)
            failed = True
            continue
        try:
            parsed = parse_file(text, source=name)
        except ParseError as err:
            print_error(err)
            failed = True
            continue
        print(f"{name}: {len(parsed.policies)} policies, ok")
    return 2 if failed else 0
