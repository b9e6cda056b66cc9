"""``plainpdp diff OLD NEW``: the decisions a policy change flips.

Exit 0 when every deny→allow flip is acknowledged in the allow-list (or
there is none), 1 when one is not, 2 on bad input (a version that cannot be
read or loaded, a bad allow-list, log or option).
"""

from __future__ import annotations

import argparse
import json
import sys
from contextlib import ExitStack
from pathlib import Path
from typing import TextIO

from ..errors import PlainPDPError
from ..impact import (
    RENDERERS,
    AllowList,
    Side,
    Version,
    acknowledge,
    compare,
    load_allowlist,
    open_version,
)
from ..impact.report import SHOW_PER_GROUP
from ..project import load_project
from .render import add_source_root, print_error

DEFAULT_LIMIT = 200_000
PROGRESS_FROM = 50_000  # requests; smaller runs finish before a bar helps


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "diff",
        help="decisions that flip between two policy versions (exit 1 on an "
        "unacknowledged deny→allow)",
        description="Decide every principal × action × resource the schema and entities "
        "allow (sampled beyond --max-requests), the test suites' requests and any decision "
        "logs on both versions, and report each decision that flips, grouped by partner, "
        "direction and responsible policy. OLD and NEW are policy directories or git "
        "revisions: REV (the --path directory at REV) or REV:PATH. Exit 0 when every "
        "deny→allow flip is acknowledged in --allow-list, 1 when one is not, 2 on bad input.",
    )
    p.add_argument("old", metavar="OLD", help="policy directory, REV or REV:PATH")
    p.add_argument("new", metavar="NEW", help="policy directory, REV or REV:PATH")
    p.add_argument("--repo", default=".", metavar="DIR",
                   help="git repository for revisions (default: the current directory)")
    p.add_argument("--path", default="policies", metavar="PATH",
                   help="policy directory inside the repository for a bare REV "
                   "(default: policies)")
    p.add_argument("--entities", metavar="FILE",
                   help="entities for both versions (default: each version's entities.json)")
    p.add_argument("--schema", metavar="FILE",
                   help="schema for both versions (default: each version's *.cedarschema)")
    p.add_argument("--decision-log", action="append", default=[], metavar="FILE",
                   help="also decide the requests of a sidecar decision log (repeatable)")
    p.add_argument("--no-suites", action="store_true",
                   help="leave out the requests of the test suites under DIR/tests")
    p.add_argument("--context", action="append", metavar="JSON",
                   help="use this context for the enumerated space instead of the variants "
                   "derived from the schema (repeatable)")
    p.add_argument("--max-requests", type=int, default=DEFAULT_LIMIT, metavar="N",
                   help=f"sample the enumerated space beyond N requests (default: {DEFAULT_LIMIT:,})")
    p.add_argument("--seed", type=int, default=0, help="seed of the sample (default: 0)")
    p.add_argument("--allow-list", metavar="FILE",
                   help="YAML file of acknowledged flips (see docs/ci.md)")
    p.add_argument("--format", choices=sorted(RENDERERS), default="text",
                   help="report format (default: text)")
    p.add_argument("-o", "--output", metavar="FILE",
                   help="write the report to FILE (a one-line summary goes to stdout)")
    p.add_argument("--show", type=int, default=SHOW_PER_GROUP, metavar="N",
                   help=f"requests listed per group in text and Markdown (default: {SHOW_PER_GROUP})")
    p.set_defaults(run=run)


class ProgressBar:
    """A one-line bar on a terminal; silent unless sampling or the run is long."""

    def __init__(self, out: TextIO):
        self.out = out
        self.shown = False

    def __call__(self, done: int, total: int, sampled: bool) -> None:
        if not (sampled or total >= PROGRESS_FROM):
            return
        width = 30
        filled = width * done // max(total, 1)
        self.out.write(f"\rplainpdp diff: [{'#' * filled}{'.' * (width - filled)}] "
                       f"{done:,}/{total:,} requests")
        self.out.flush()
        self.shown = True

    def close(self) -> None:
        if self.shown:
            self.out.write("\n")
            self.out.flush()


def _contexts(given: list[str] | None) -> list[dict] | None:
    if given is None:
        return None
    out = []
    for text in given:
        try:
            value = json.loads(text)
        except json.JSONDecodeError as err:
            raise PlainPDPError(f"--context {text!r} is not valid JSON ({err.msg})") from None
        if not isinstance(value, dict):
            raise PlainPDPError(f"--context {text!r} must be a JSON object, e.g. "
                                '{"mfa": true}')
        out.append(value)
    return out


def _side(name: str, version: Version, args: argparse.Namespace) -> Side | None:
    """Load one version; on failure print why (sources still on disk) and return None."""
    try:
        project = load_project(version.root, schema=args.schema, entities=args.entities)
        return Side(version.label, project)
    except PlainPDPError as err:
        print(f"plainpdp diff: cannot load {name} ({version.label})", file=sys.stderr)
        add_source_root(version.root)
        print_error(err)
        return None


def run(args: argparse.Namespace) -> int:
    if args.max_requests < 1:
        raise PlainPDPError("--max-requests must be at least 1")
    contexts = _contexts(args.context)
    allowlist = load_allowlist(args.allow_list) if args.allow_list else AllowList()
    with ExitStack() as stack:
        versions = [
            open_version(spec, stack, repo=args.repo, default_path=args.path)
            for spec in (args.old, args.new)
        ]
        old = _side("OLD", versions[0], args)
        new = _side("NEW", versions[1], args) if old is not None else None
        if old is None or new is None:
            return 2
        bar = ProgressBar(sys.stderr) if sys.stderr.isatty() else None
        try:
            result = compare(
                old, new, suites=not args.no_suites, decision_logs=args.decision_log,
                contexts=contexts, limit=args.max_requests, seed=args.seed, progress=bar,
            )
        finally:
            if bar is not None:
                bar.close()
    result = acknowledge(result, allowlist)
    render = RENDERERS[args.format]
    report = render(result) if args.format == "json" else render(result, args.show)
    counts = result.counts()
    summary = (f"{len(result.flips):,} decision flips ({counts['deny-to-allow']:,} deny→allow, "
               f"{counts['allow-to-deny']:,} allow→deny), {counts['unacknowledged']:,} "
               f"deny→allow not acknowledged")
    if args.output:
        try:
            Path(args.output).write_text(report, encoding="utf-8")
        except OSError as err:
            raise PlainPDPError(f"cannot write {args.output}: {err.strerror}") from None
        print(f"{summary}; report written to {args.output}")
    else:
        sys.stdout.write(report if report.endswith("\n") else report + "\n")
    if result.sampled and (args.format != "text" or args.output):
        print(f"plainpdp diff: sampled {result.space_evaluated:,} of {result.space_total:,} "
              f"requests ({result.sampled_fraction:.2%})", file=sys.stderr)
    return 1 if counts["unacknowledged"] else 0
