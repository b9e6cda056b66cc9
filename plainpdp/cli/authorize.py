"""``plainpdp authorize``: decide one request against a policy project or a sidecar."""

from __future__ import annotations

import argparse
import json

from ..engine import Engine
from ..evaluate.decision import Decision
from ..project import load_project
from .render import add_source_root


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "authorize",
        help="decide one request (exit 0 allow, 1 deny)",
        description="Decide one request. Exit 0 on allow, 1 on deny, 2 on bad input.",
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
    p.add_argument("--sidecar", metavar="HOST:PORT",
                   help="ask a running plainpdp sidecar instead of loading PATH "
                        "(e.g. 127.0.0.1:50051)")
    p.add_argument("--json", action="store_true", help="print the decision as JSON")
    p.add_argument("--explain", action="store_true", help="print the explanation")
    p.set_defaults(run=run)


def _decide(args: argparse.Namespace) -> Decision:
    if args.sidecar:
        from ..client import Client  # gRPC only when asked for

        with Client(args.sidecar, explain=args.explain) as client:
            return client.is_authorized(args.principal, args.action, args.resource,
                                        args.context)
    add_source_root(args.policies)
    project = load_project(args.policies, schema=args.schema, entities=args.entities)
    engine = Engine(project.policies, entities=project.entities, schema=project.schema)
    return engine.is_authorized(args.principal, args.action, args.resource, args.context)


def run(args: argparse.Namespace) -> int:
    decision = _decide(args)
    if args.json:
        print(json.dumps(decision.to_dict(), indent=2))
    else:
        print(decision.decision.upper())
        for pid in sorted(decision.reasons):
            print(f"  reason:  {pid}")
        for pid in sorted(decision.ceilings):
            print(f"  ceiling: {pid}")
        for err in decision.errors:
            print(f"  error:   {err.policy_id}: {err.message}")
        if args.explain:
            print()
            print(decision.explain())
    return 0 if decision.allowed else 1
