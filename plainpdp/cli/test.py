"""``plainpdp test [DIR]``: run the policy test suites beside the policies."""

from __future__ import annotations

import argparse
from pathlib import Path

from ..engine import Engine
from ..project import load_project
from ..suites import coverage, junit_xml, load_suites, run_suite
from .render import add_source_root


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "test",
        help="run policy test suites (exit 1 on a failing case)",
        description="Run the YAML suites under DIR/tests against DIR's policies. "
        "Exit 0 when all pass, 1 on a failure or too little coverage, 2 on bad input.",
    )
    p.add_argument("dir", nargs="?", default="policies", help="policy directory (default: policies)")
    p.add_argument("--suites", metavar="PATH", help="suite file or directory (default: DIR/tests)")
    p.add_argument("--entities", metavar="FILE", help="entities (default: DIR/entities.json)")
    p.add_argument("--schema", metavar="FILE", help="schema (default: the *.cedarschema in DIR)")
    p.add_argument("--junit", metavar="FILE", help="write JUnit XML results to FILE")
    p.add_argument("--min-coverage", type=float, metavar="PCT",
                   help="fail when fewer than PCT%% of policies determined some decision")
    p.add_argument("-v", "--verbose", action="store_true", help="list every case")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    add_source_root(args.dir)
    project = load_project(args.dir, schema=args.schema, entities=args.entities)
    engine = Engine(project.policies, entities=project.entities, schema=project.schema)
    suites = load_suites(args.suites or args.dir)
    results = []
    for suite in suites:
        results.extend(run_suite(engine, suite))
    failed = [r for r in results if not r.passed]
    for r in results:
        if args.verbose or not r.passed:
            mark = "ok  " if r.passed else "FAIL"
            print(f"{mark} {r.suite} :: {r.case.name}")
        if not r.passed:
            c = r.case
            print(f"     request:  {c.principal} {c.action} {c.resource} context={c.context}")
            print(f"     {r.message}")
            for line in r.explanation.splitlines():
                print(f"     | {line}")
    share, never = coverage(project.policies, results)
    print(f"{len(results) - len(failed)} passed, {len(failed)} failed "
          f"({len(suites)} suites)")
    print(f"coverage: {share:.0%} of {len(project.policies)} policies determined a decision")
    for pid in never:
        print(f"  never a reason: {pid}")
    if args.junit:
        Path(args.junit).write_text(junit_xml(results), encoding="utf-8")
    if failed:
        return 1
    if args.min_coverage is not None and share * 100 < args.min_coverage:
        print(f"coverage {share:.0%} is below the required {args.min_coverage:g}%")
        return 1
    return 0
