"""``plainpdp access-report``: a partner's users x sections and actions, for review."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from ..engine import Engine
from ..errors import PlainPDPError, RequestError
from ..project import load_project
from ..query.report import access_report
from .render import add_source_root


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "access-report",
        help="a partner's access matrix (users x sections and actions) as JSON or CSV",
        description=(
            "For one partner: every user it owns, every section and every action users "
            "may take on sections, with the decision, the policies responsible and the "
            "ceilings that admitted partner grants. Exit 0, or 2 on bad input."
        ),
    )
    p.add_argument("--partner", required=True, metavar="ID", help="the partner id, e.g. acme-supply")
    p.add_argument("--policies", default="policies", metavar="PATH",
                   help="policy directory or .cedar file (default: policies)")
    p.add_argument("--entities", metavar="FILE",
                   help="Cedar JSON entities (default: PATH/entities.json if present)")
    p.add_argument("--schema", metavar="FILE",
                   help="Cedar schema (default: the *.cedarschema in PATH)")
    p.add_argument("--context", metavar="JSON",
                   help='the request context the review assumes, e.g. {"mfa": true}')
    p.add_argument("--format", choices=("json", "csv"), default="json",
                   help="output format (default: json)")
    p.add_argument("--output", metavar="FILE", help="write here instead of standard output")
    p.add_argument("--user-type", default="User", metavar="TYPE",
                   help="entity type of the partner's users (default: User)")
    p.add_argument("--section-type", default="Section", metavar="TYPE",
                   help="entity type of the portal sections (default: Section)")
    p.set_defaults(run=run)


def _context(text: str | None) -> dict | None:
    if text is None:
        return None
    try:
        value = json.loads(text)
    except json.JSONDecodeError as err:
        raise RequestError(
            f"--context is not valid JSON ({err.msg} at column {err.colno}); "
            'pass an object such as {"mfa": true}'
        ) from None
    if not isinstance(value, dict):
        raise RequestError('--context must be a JSON object such as {"mfa": true}')
    return value


def run(args: argparse.Namespace) -> int:
    add_source_root(args.policies)
    context = _context(args.context)
    project = load_project(args.policies, schema=args.schema, entities=args.entities)
    engine = Engine(project.policies, entities=project.entities, schema=project.schema)
    try:
        report = access_report(engine, args.partner, context=context,
                               user_type=args.user_type, section_type=args.section_type)
    except RequestError as err:
        if context is None and "context" in err.message:
            raise RequestError(
                f"{err.message}; pass the context the review assumes with --context, "
                'e.g. --context \'{"mfa": true}\''
            ) from None
        raise
    text = (json.dumps(report.to_json(), indent=2) + "\n" if args.format == "json"
            else report.to_csv())
    if args.output is None:
        sys.stdout.write(text)
        return 0
    try:
        Path(args.output).write_text(text, encoding="utf-8")
    except OSError as err:
        raise PlainPDPError(f"cannot write {args.output}: {err.strerror}") from None
    return 0
