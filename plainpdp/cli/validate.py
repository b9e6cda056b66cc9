"""``plainpdp validate [DIR]``: check policies against the schema and the scope rules.

Runs Cedar's strict validation (:func:`plainpdp.check.validate.validate`)
when a schema is given or found, and plainpdp's partner-scope and ceiling
checks (:func:`plainpdp.check.scopes.check_scopes`) always. Prints every
diagnostic with its source line, then a summary. Exit 0 when there is no
error (warnings allowed), 2 when the policies, schema or entities are
invalid.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from ..check.scopes import check_scopes
from ..check.validate import validate
from ..errors import Diagnostic, PlainPDPError, finish_diagnostics
from ..partners import DEFAULT_PARTNER_TYPE
from ..project import find_schema, load_project
from .render import add_source_root, render_diagnostic


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "validate",
        help="validate policies against the schema and the partner-scope rules",
        description="Validate the policies under DIR (or one .cedar file) against the schema "
        "(Cedar's strict validation) and plainpdp's partner-scope and ceiling rules. "
        "Exit 0 when valid, 2 when the input is invalid.",
    )
    p.add_argument("dir", nargs="?", default="policies",
                   help="policy directory or .cedar file (default: policies)")
    p.add_argument("--schema", metavar="FILE",
                   help="Cedar schema, .cedarschema or .cedarschema.json "
                   "(default: the one in DIR)")
    p.add_argument("--entities", metavar="FILE",
                   help="Cedar JSON entities, for the partner-scope checks "
                   "(default: DIR/entities.json if present)")
    p.add_argument("--level", type=_level, metavar="N",
                   help="also require policies to read entities at most N steps from the "
                   "request (Cedar's level validation)")
    p.add_argument("--partner-type", default=DEFAULT_PARTNER_TYPE, metavar="NAME",
                   help=f"entity type of partners (default: {DEFAULT_PARTNER_TYPE})")
    p.set_defaults(run=run)


def _level(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = -1
    if value < 0:
        raise argparse.ArgumentTypeError(f"expected a level of 0 or more, got {text!r}")
    return value


def _print(diags: list[Diagnostic]) -> None:
    for d in diags:
        print(render_diagnostic(d))
        print()


def _summary(errors: int, warnings: int) -> str:
    def n(count: int, word: str) -> str:
        return f"{count} {word}{'' if count == 1 else 's'}"

    return f"{n(errors, 'error')}, {n(warnings, 'warning')}"


def run(args: argparse.Namespace) -> int:
    add_source_root(args.dir)
    try:
        project = load_project(args.dir, schema=args.schema, entities=args.entities)
    except PlainPDPError as err:
        diags = err.diagnostics or [Diagnostic("invalid-input", err.message)]
        _print(diags)
        print(f"invalid input: {_summary(len(diags), 0)}")
        return 2
    entries = [*project.policies, *project.policies.templates]
    diags = list(check_scopes(entries, project.entities, args.partner_type))
    if project.schema is not None:
        diags.extend(validate(project.policies, project.schema, max_level=args.level))
    diags = finish_diagnostics(diags)
    _print(diags)
    errors = sum(1 for d in diags if d.severity == "error")
    warnings = len(diags) - errors
    schema_name = args.schema or _found_schema(args.dir)
    checked = f"{len(entries)} polic{'y' if len(entries) == 1 else 'ies'}"
    if schema_name is None:
        print(f"note: no schema given or found: {checked} checked for partner scopes only; "
              "pass --schema FILE for type checking")
    else:
        level = f" at level {args.level}" if args.level is not None else ""
        print(f"{checked} validated against {schema_name}{level}")
    if errors:
        print(f"invalid: {_summary(errors, warnings)}")
        return 2
    print(f"valid: {_summary(errors, warnings)}")
    return 0


def _found_schema(root: str) -> str | None:
    try:
        found = find_schema(Path(root))
    except PlainPDPError:
        return None
    return str(found) if found is not None else None
