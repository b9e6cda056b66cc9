"""``plainpdp explain``: why one request is allowed or denied.

Exit 0 whatever the decision (the explanation is the result; ``authorize``
is the command whose exit status is the decision), 2 on bad input.
"""

from __future__ import annotations

import argparse
import json

from ..engine import Engine
from ..project import load_project
from .render import add_source_root


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "explain",
        help="explain one decision: determining policies, ceilings, closest permit",
        description="Decide one request and explain it: the determining policies, the "
        "ceilings that admitted a partner grant, the policies that errored and, for a "
        "denied request, the closest permit (the applicable permit whose scope matched with "
        "the fewest failing conditions) and the conditions that failed in it. Exit 0 "
        "whatever the decision, 2 on bad input.",
    )
    p.add_argument("--policies", default="policies", metavar="PATH",
                   help="policy directory or .cedar file (default: policies)")
    p.add_argument("--entities", metavar="FILE",
                   help="Cedar JSON entities (default: PATH/entities.json if present)")
    p.add_argument("--schema", metavar="FILE",
                   help="Cedar schema (default: the *.cedarschema in PATH)")
    p.add_argument("--principal", required=True, metavar="UID", help='e.g. User::"alice"')
    p.add_argument("--action", required=True, metavar="UID", help='e.g. Action::"view"')
    p.add_argument("--resource", required=True, metavar="UID", help='e.g. Document::"d1"')
    p.add_argument("--context", metavar="JSON", help='a JSON object, e.g. {"mfa": true}')
    p.add_argument("--json", action="store_true",
                   help="print the decision and its explanation as JSON")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    add_source_root(args.policies)
    project = load_project(args.policies, schema=args.schema, entities=args.entities)
    engine = Engine(project.policies, entities=project.entities, schema=project.schema)
    decision = engine.is_authorized(args.principal, args.action, args.resource, args.context)
    if args.json:
        print(json.dumps({**decision.to_dict(), "explanation": decision.explanation()}, indent=2))
    else:
        print(decision.explain())
    return 0
