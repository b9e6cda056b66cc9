"""``plainpdp fmt [--check] [--diff] [PATH ...]``: the canonical layout for policy files.

Rewrites each file in place (a directory means every ``*.cedar`` under it).
With ``--check`` nothing is written: the files that would change are listed
and the exit code is 1 if there is any, so CI can require formatted
policies; ``--diff`` also prints what would change. A file that does not
parse is reported with its diagnostics and left alone; the exit code is
then 2, as for any bad input.
"""

from __future__ import annotations

import argparse
import difflib
import sys
from pathlib import Path

from ..errors import Diagnostic, PlainPDPError
from ..format import format_text
from .render import render_diagnostic


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "fmt",
        help="format policy files in the canonical layout (--check: exit 1 if any would change)",
        description="Format Cedar policy files in place, in one canonical layout that keeps "
        "every comment. A directory means every *.cedar file under it. Exit 0 when done "
        "(or, with --check, when every file is already formatted), 1 when --check finds "
        "files that would change, 2 when a path cannot be read or a file does not parse.",
    )
    p.add_argument("paths", nargs="*", default=["policies"], metavar="PATH",
                   help="policy files or directories (default: policies)")
    p.add_argument("--check", action="store_true",
                   help="write nothing; list the files that would change and exit 1 if any")
    p.add_argument("--diff", action="store_true",
                   help="write nothing; print a unified diff of each change (implies --check)")
    p.set_defaults(run=run)


def _files(paths: list[str]) -> tuple[list[Path], list[Diagnostic]]:
    """The policy files named by ``paths``, each once, and the paths that are not there."""
    files: dict[Path, None] = {}
    missing: list[Diagnostic] = []
    for name in paths:
        path = Path(name)
        if path.is_dir():
            files.update(dict.fromkeys(sorted(path.rglob("*.cedar"))))
        elif path.is_file():
            files[path] = None
        else:
            missing.append(Diagnostic("invalid-input", f"{name}: no such file or directory"))
    return list(files), missing


def run(args: argparse.Namespace) -> int:
    check = args.check or args.diff
    files, problems = _files(args.paths)
    changed = unreadable = 0
    for path in files:
        try:
            text = path.read_text(encoding="utf-8")
            formatted = format_text(text, str(path))
        except (OSError, UnicodeDecodeError) as err:
            problems.append(Diagnostic("invalid-input", f"cannot read {path}: {err}"))
            unreadable += 1
            continue
        except PlainPDPError as err:
            problems.extend(err.diagnostics or [Diagnostic("syntax", err.message)])
            unreadable += 1
            continue
        if formatted == text:
            continue
        changed += 1
        if args.diff:
            print(_diff(path, text, formatted), end="")
        if check:
            print(f"would reformat {path}")
        else:
            path.write_text(formatted, encoding="utf-8")
            print(f"reformatted {path}")
    for d in problems:
        print(render_diagnostic(d), file=sys.stderr)
    print(_summary(len(files), changed, unreadable, check))
    if problems:
        return 2
    return 1 if check and changed else 0


def _diff(path: Path, before: str, after: str) -> str:
    lines = difflib.unified_diff(
        before.splitlines(keepends=True), after.splitlines(keepends=True),
        str(path), f"{path} (formatted)",
    )
    return "".join(x if x.endswith("\n") else x + "\n\\ No newline at end of file\n" for x in lines)


def _summary(total: int, changed: int, unreadable: int, check: bool) -> str:
    def files(n: int) -> str:
        return f"{n} file{'' if n == 1 else 's'}"

    verb = "would be reformatted" if check else "reformatted"
    parts = [f"{files(changed)} {verb}", f"{files(total - changed - unreadable)} already formatted"]
    if unreadable:
        parts.append(f"{files(unreadable)} not formatted (errors above)")
    return ", ".join(parts)
