"""``plainpdp validate [DIR]``: check policies against the schema and the scope rules.

Runs Cedar's strict validation (:func:`plainpdp.check.validate.diagnose`)
when a schema is given or found, and plainpdp's partner-scope and ceiling
checks (:func:`plainpdp.check.scopes.check_scopes`) always. Prints every
diagnostic with its source line, then a summary. Exit codes follow the CLI's
rule: 0 when there is no error (warnings allowed), 1 when the policies do
not validate (the check failed), 2 when the input cannot be read at all
(a syntax error, a bad schema or entities, a missing path).
"""

from __future__ import annotations

import argparse
from dataclasses import replace
from pathlib import Path

from ..check.scopes import check_scopes
from ..check.validate import diagnose
from ..errors import Diagnostic, PlainPDPError, finish_diagnostics
from ..partners import DEFAULT_PARTNER_TYPE
from ..project import find_schema, load_project
from .render import add_source_root, render_diagnostic


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "validate",
        help="validate policies against the schema and the partner-scope rules (exit 1 if invalid)",
        description="Validate the policies under DIR (or one .cedar file) against the schema "
        "(Cedar's strict validation) and plainpdp's partner-scope and ceiling rules. "
        "Exit 0 when valid (warnings allowed), 1 when a policy does not validate, "
        "2 when the policies, schema or entities cannot be read or parsed.",
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


def _print(diags: list[Diagnostic], path: str) -> None:
    """Each diagnostic with its source line; one file's text is named by its path."""
    single = Path(path).is_file()
    for d in diags:
        if single and d.span is not None and d.span.source is None:
            d = replace(d, span=d.span.with_source(path))
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
        _print(diags, args.dir)
        print(f"invalid input: {_summary(len(diags), 0)}")
        return 2
    entries = [*project.policies, *project.policies.templates]
    diags = list(check_scopes(entries, project.entities, args.partner_type))
    if project.schema is not None:
        diags.extend(diagnose(project.policies, project.schema, max_level=args.level))
    diags = finish_diagnostics(diags)
    _print(diags, args.dir)
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
        return 1
    print(f"valid: {_summary(errors, warnings)}")
    return 0


def _found_schema(root: str) -> str | None:
    try:
        found = find_schema(Path(root))
    except PlainPDPError:
        return None
    return str(found) if found is not None else None
