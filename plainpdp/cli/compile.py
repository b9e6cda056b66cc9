"""``plainpdp compile``: compile policies; print what the compiler made, or save a snapshot.

``--show`` prints the passes and their times, the decision trees, each
policy's condition shape and the generated module (see
:func:`plainpdp.compile.show_compiled`); ``--snapshot FILE`` saves the
compiled set for a fast start (signed with ``$PLAINPDP_SNAPSHOT_KEY`` when
set, else owner-only).
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from ..compile import compile_policies, save_snapshot, show_compiled
from ..errors import PlainPDPError
from ..policyset import PolicySet


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "compile",
        help="compile policies: show the generated code, or save a snapshot",
        description="Compile a .cedar file (platform scope) or a policy directory "
        "(platform/ and partners/<id>/). With --show, print the decision trees and the "
        "generated condition code; with --snapshot, save the compiled set to FILE.",
    )
    p.add_argument("path", metavar="FILE|DIR", help="a .cedar file or a policy directory")
    p.add_argument("--show", action="store_true",
                   help="print the passes, trees, condition shapes and generated module")
    p.add_argument("--snapshot", metavar="FILE", help="save the compiled set to FILE")
    p.set_defaults(run=run)


def _load(path: Path) -> PolicySet:
    if path.is_dir():
        return PolicySet.from_directory(path)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as err:
        raise PlainPDPError(f"cannot read `{path}`: {err}") from None
    return PolicySet.from_text(text, source=path.name)


def run(args: argparse.Namespace) -> int:
    path = Path(args.path)
    if args.show:
        print(show_compiled(path), end="")
    if args.snapshot or not args.show:
        start = time.perf_counter()
        policies = _load(path)
        compiled = compile_policies(policies)
        seconds = time.perf_counter() - start
        print(f"{path}: {len(policies)} policies compiled in {seconds * 1000:.1f} ms "
              f"({len(compiled.leaves)} indexed, {len(compiled.dropped)} never applicable)")
        if args.snapshot:
            save_snapshot(compiled, args.snapshot)
            print(f"snapshot saved to {args.snapshot}")
    return 0
