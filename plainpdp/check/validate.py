"""Schema validation: Cedar's strict validator, reported as diagnostics.

``diagnose(policies, schema)`` runs, for every policy and template:

1. the name checks, once per policy: entity types the schema does not
   declare, actions it does not declare, enumerated entities with an id
   outside their enumeration;
2. the scope check: some action in the policy's action scope must apply to
   a principal type and a resource type its principal and resource scopes
   allow (Cedar: "unable to find an applicable action");
3. the typechecker (:mod:`plainpdp.check.typecheck`) in every request
   environment: type errors, unknown and unguarded optional attributes,
   unguarded tags, incompatible types, extension literals. A problem met in
   several environments is one diagnostic naming all their types.

All problems are collected (sorted, de-duplicated, capped by
:func:`~plainpdp.errors.finish_diagnostics`). A policy that cannot be true
in any environment gets an ``impossible-policy`` *warning*, as in Cedar;
warnings do not make a policy set invalid. :func:`validate` is the public
entry point (``plainpdp.validate``): it raises one
:class:`~plainpdp.errors.ValidationError` holding every diagnostic.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Sequence

from ..errors import Diagnostic, PlainPDPError, Span, ValidationError, finish_diagnostics
from ..policyset import PolicyEntry, PolicySet
from ..schema import Schema
from ..schema.model import is_action_type
from ..syntax import ast
from ..syntax.walk import iter_nodes
from ..values import EntityUid, escape_string
from .levels import check_levels
from .typecheck import Issue, SchemaView, path_text, typecheck_policy

__all__ = ["validate", "diagnose", "diagnose_entries", "has_errors", "SchemaView"]


def validate(policies: PolicySet, schema: Schema, *,
             max_level: int | None = None) -> list[Diagnostic]:
    """Validate a policy set against a schema (Cedar's strict mode).

    Raises :class:`~plainpdp.errors.ValidationError` holding every
    diagnostic (errors and warnings) when any policy does not validate, so
    a caller cannot miss it; returns the warnings otherwise. With
    ``max_level``, policies are also checked to read the entity graph at
    most that many steps deep (Cedar's level validation).
    """
    if not isinstance(policies, PolicySet):
        raise PlainPDPError(
            f"validate needs a PolicySet, got {type(policies).__name__}; "
            "build one with PolicySet.from_text(...) or PolicySet.from_directory(...)"
        )
    if not isinstance(schema, Schema):
        raise PlainPDPError(
            f"validate needs a Schema, got {type(schema).__name__}; "
            "build one with Schema.from_text(...) or Schema.from_json(...)"
        )
    diags = diagnose(policies, schema, max_level=max_level)
    errors = [d for d in diags if d.severity == "error"]
    if not errors:
        return diags
    first = errors[0]
    where = f"{first.span.source or '<input>'}:{first.span.line}:{first.span.column}: " \
        if first.span is not None else ""
    more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
    raise ValidationError(f"{where}{first.message}{more}", diags)


def diagnose(policies: PolicySet, schema: Schema, *, max_level: int | None = None,
             view: SchemaView | None = None) -> list[Diagnostic]:
    """Every diagnostic for every policy and template of a set, without raising."""
    entries = [*policies, *policies.templates]
    return diagnose_entries(entries, schema, max_level=max_level, view=view)


def diagnose_entries(entries: Iterable[PolicyEntry], schema: Schema, *,
                     max_level: int | None = None,
                     view: SchemaView | None = None) -> list[Diagnostic]:
    """Like :func:`diagnose`, for any policy entries."""
    if max_level is not None and max_level < 0:
        raise PlainPDPError(f"the validation level must be 0 or more, got {max_level}")
    view = view or SchemaView(schema)
    diags: list[Diagnostic] = []
    for entry in entries:
        diags.extend(_PolicyValidator(view, entry, max_level).run())
    return finish_diagnostics(diags)


def has_errors(diags: Iterable[Diagnostic]) -> bool:
    """Whether any diagnostic is an error (warnings do not fail validation)."""
    return any(d.severity == "error" for d in diags)


def _suggest(name: str, choices: Iterable[str]) -> str | None:
    close = difflib.get_close_matches(name, list(choices), n=1)
    return f"did you mean `{close[0]}`?" if close else None


def _names(items: Sequence[str], limit: int = 4) -> str:
    shown = [f"`{x}`" for x in items[:limit]]
    if len(items) > limit:
        shown.append(f"{len(items) - limit} more")
    if len(shown) == 1:
        return shown[0]
    return ", ".join(shown[:-1]) + " and " + shown[-1]


class _PolicyValidator:
    """All checks for one policy; spans narrowed to the offending text."""

    def __init__(self, view: SchemaView, entry: PolicyEntry, max_level: int | None = None):
        self.view = view
        self.max_level = max_level
        self.schema = view.schema
        self.entry = entry
        self.policy = entry.policy
        self.text = entry.text or ""
        self.diags: list[Diagnostic] = []

    # -- helpers

    def _diag(self, code: str, message: str, span: Span | None, help: str | None = None,
              severity: str = "error") -> None:
        self.diags.append(Diagnostic(code, message, span, help, severity,
                                     source_text=self.entry.text or None))

    def _offset_pos(self, offset: int) -> tuple[int, int]:
        line = self.text.count("\n", 0, offset) + 1
        return line, offset - self.text.rfind("\n", 0, offset)

    def _sub_span(self, span: Span, start: int, end: int) -> Span:
        line, col = self._offset_pos(start)
        end_line, end_col = self._offset_pos(end)
        return Span(start, end, line, col, end_line, end_col, span.source)

    def _narrow(self, span: Span, needle: str, after: str | None = None) -> Span:
        """The part of ``span`` where ``needle`` is written, if it is found there."""
        if not self.text or span.end > len(self.text) or not needle:
            return span
        start = span.start
        if after is not None:
            found = self.text.find(after, start, span.end)
            if found >= 0:
                start = found + len(after)
        i = self.text.find(needle, start, span.end)
        if i < 0:
            return span
        return self._sub_span(span, i, i + len(needle))

    def _uid_span(self, span: Span, uid: EntityUid) -> Span:
        return self._narrow(span, str(uid))

    def _type_span(self, span: Span, uid_or_type: EntityUid | str) -> Span:
        name = uid_or_type.type if isinstance(uid_or_type, EntityUid) else uid_or_type
        if isinstance(uid_or_type, EntityUid):
            whole = self._uid_span(span, uid_or_type)
            if whole is not span:
                return self._sub_span(span, whole.start, whole.start + len(name))
            return span
        return self._narrow(span, name, after=" is ")

    def _snippet(self, e: ast.Expr) -> str:
        s = e.span
        if self.text and 0 <= s.start < s.end <= len(self.text):
            src = self.text[s.start:s.end]
            if "\n" not in src and len(src) <= 40:
                return src
        return path_text(e) or "..."

    # -- the checks

    def run(self) -> list[Diagnostic]:
        names_ok = self._check_names()
        self._check_scope(names_ok)
        issues, impossible = typecheck_policy(self.view, self.policy, self._snippet)
        self._report(issues)
        if self.max_level is not None and not has_errors(self.diags):
            for issue in check_levels(self.view, self.policy, self.max_level):
                self._diag(issue.code, issue.message, issue.span, issue.help)
        if impossible and not self.diags:
            self._impossible()
        return self.diags

    def _uids(self) -> list[tuple[EntityUid, Span]]:
        p = self.policy
        out: list[tuple[EntityUid, Span]] = []
        for c in (p.principal, p.resource):
            if isinstance(c.entity, EntityUid):
                out.append((c.entity, self._uid_span(c.span, c.entity)))
        for uid in p.action.entities:
            out.append((uid, self._uid_span(p.action.span, uid)))
        for cond in p.conditions:
            for n in iter_nodes(cond.expr):
                if n.__class__ is ast.Literal and n.value.__class__ is EntityUid:
                    out.append((n.value, n.span))
        return out

    def _type_names(self) -> list[tuple[str, Span]]:
        p = self.policy
        out: list[tuple[str, Span]] = []
        for c in (p.principal, p.resource):
            if isinstance(c.entity, EntityUid):
                out.append((c.entity.type, self._type_span(c.span, c.entity)))
            if c.entity_type is not None:
                out.append((c.entity_type, self._type_span(c.span, c.entity_type)))
        for uid in p.action.entities:
            out.append((uid.type, self._type_span(p.action.span, uid)))
        for cond in p.conditions:
            for n in iter_nodes(cond.expr):
                if n.__class__ is ast.Literal and n.value.__class__ is EntityUid:
                    out.append((n.value.type, self._type_span(n.span, n.value)))
                elif n.__class__ is ast.Is:
                    out.append((n.entity_type, self._type_span(n.span, n.entity_type)))
        return out

    def _check_names(self) -> bool:
        """Unknown entity types, unknown actions, ids outside an enumeration."""
        schema = self.schema
        before = len(self.diags)
        for name, span in self._type_names():
            if not self.view.known_entity_type(name):
                self._diag(
                    "unknown-entity-type", f"unknown entity type `{name}`", span,
                    _suggest(name, schema.entity_types) or _declared_types_help(schema),
                )
        actions_by_text = {str(u): u for u in schema.actions}
        for uid, span in self._uids():
            if is_action_type(uid.type):
                if uid not in schema.actions:
                    same_type = [f'{u.type}::"{escape_string(u.id)}"' for u in schema.actions
                                 if u.type == uid.type]
                    self._diag(
                        "unknown-action", f"unknown action `{uid}`", span,
                        _suggest(str(uid), same_type or actions_by_text)
                        or (f"the schema declares {_names(sorted(actions_by_text))}"
                            if actions_by_text else "the schema declares no actions"),
                    )
                continue
            d = schema.entity_types.get(uid.type)
            if d is not None and d.enum is not None and uid.id not in d.enum:
                self._diag(
                    "invalid-enum-entity",
                    f"`{uid}` is not a value of the enumerated type `{uid.type}`",
                    span,
                    _suggest(uid.id, d.enum)
                    or f"the values of `{uid.type}` are {_names(list(d.enum), 8)}",
                )
        return len(self.diags) == before

    def _scope_types(self, c: ast.ScopeConstraint) -> set[str]:
        view = self.view
        all_types = set(self.schema.entity_types)
        if c.kind == "any":
            return all_types
        if isinstance(c.entity, ast.Slot) and c.kind in ("eq", "in"):
            return all_types
        if c.kind == "is" or (c.kind == "is_in" and isinstance(c.entity, ast.Slot)):
            t = c.entity_type or ""
            return {t} if view.known_entity_type(t) else set()
        uid: EntityUid = c.entity  # type: ignore[assignment]
        if c.kind == "eq":
            return {uid.type}
        inside = set(view.types_in(uid.type))
        if c.kind == "in":
            return inside
        return inside & {c.entity_type or ""}

    def _scope_actions(self) -> list[EntityUid]:
        a = self.policy.action
        actions = self.schema.actions
        if a.kind == "any":
            return list(actions)
        if a.kind == "eq":
            return [u for u in a.entities if u in actions]
        within = self.view.actions_in(a.entities)
        return sorted(within) if within is not None else []

    def _check_scope(self, names_ok: bool) -> None:
        """Some action in scope must apply to the scope's principal and resource types."""
        p = self.policy
        actions = [self.schema.actions[u] for u in self._scope_actions()]
        principals = self._scope_types(p.principal)
        resources = self._scope_types(p.resource)
        if any(principals & set(a.principal_types) and resources & set(a.resource_types)
               for a in actions):
            return
        if not names_ok:
            return  # an unknown name already explains it
        p_ok = any(principals & set(a.principal_types) for a in actions)
        r_ok = any(resources & set(a.resource_types) for a in actions)
        if not actions:
            span, msg = p.action.span, "no action in this policy's scope applies to any request"
        elif not p_ok and r_ok:
            span = p.principal.span
            msg = "no action in this policy's scope applies to this principal"
        elif p_ok and not r_ok:
            span = p.resource.span
            msg = "no action in this policy's scope applies to this resource"
        else:
            span = p.action.span
            msg = "no action in this policy's scope applies to both this principal and this resource"
        self._diag("action-not-applicable", msg, span, self._applies_help(actions))

    def _applies_help(self, actions: list) -> str:
        if not actions:
            return "the actions in scope apply to no principal and resource types"
        parts = []
        for a in actions[:3]:
            if not a.principal_types or not a.resource_types:
                parts.append(f"`{a.uid}` applies to no request (it is an action group: "
                             f"use `action in {a.uid}`)")
            else:
                parts.append(
                    f"`{a.uid}` applies to principals {_names(list(a.principal_types))} "
                    f"and resources {_names(list(a.resource_types))}"
                )
        more = f"; and {len(actions) - 3} more actions" if len(actions) > 3 else ""
        hint = ""
        pc, rc = self.policy.principal, self.policy.resource
        if any(c.kind == "eq" and isinstance(c.entity, EntityUid) for c in (pc, rc)):
            hint = "; if the scope names a group, use `in` rather than `==`"
        return "; ".join(parts) + more + hint

    def _report(self, issues: list[Issue]) -> None:
        """Issues from every environment: one diagnostic per place and problem,
        naming every entity type (or context) where it occurs."""
        groups: dict[tuple, list[Issue]] = {}
        for i in issues:
            groups.setdefault((i.code, i.span.start, i.span.end, i.message), []).append(i)
        for same in groups.values():
            first = same[0]
            subjects: list[tuple[str, str]] = []
            for i in same:
                if i.subject is not None and i.subject not in subjects:
                    subjects.append(i.subject)
            message = first.message
            if "{of}" in message or "{on}" in message:
                message = message.replace("{of}", _subject_text(subjects, False)).replace(
                    "{on}", _subject_text(subjects, True))
            self._diag(first.code, message, self._trim_parens(first.span), _merged_help(same))

    def _trim_parens(self, span: Span) -> Span:
        """The span without parentheses around the whole of it: the caret
        underlines the expression, as in ``(if a then b else c) == d``."""
        text = self.text
        if not text or span.end > len(text):
            return span
        start, end = span.start, span.end
        while end - start >= 2 and text[start] == "(" and _closing_paren(text, start) == end - 1:
            start += 1
            end -= 1
            while start < end and text[start].isspace():
                start += 1
            while end > start and text[end - 1].isspace():
                end -= 1
        if start == span.start:
            return span
        return self._sub_span(span, start, end)

    def _impossible(self) -> None:
        p = self.policy
        s = p.span
        span = self._narrow(s, p.effect)
        self._diag(
            "impossible-policy",
            f"this {p.effect} policy can never apply: it is false for every request the schema allows",
            span,
            "check the scope's types and actions against the schema's `appliesTo`, "
            "and conditions that are always false",
            severity="warning",
        )


def _closing_paren(text: str, at: int) -> int:
    """The offset of the ``)`` matching the ``(`` at ``at`` (strings and
    comments skipped), or -1."""
    depth = 0
    i, n = at, len(text)
    while i < n:
        ch = text[i]
        if ch == '"':
            i += 1
            while i < n and text[i] != '"':
                i += 2 if text[i] == "\\" else 1
        elif ch == "/" and text.startswith("//", i):
            nl = text.find("\n", i)
            i = n if nl < 0 else nl
        elif ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
            if depth == 0:
                return i
        i += 1
    return -1


def _merged_help(same: list[Issue]) -> str | None:
    """One help line for the same problem met in several environments."""
    helps: list[str] = []
    for i in same:
        if i.help is not None and i.help not in helps:
            helps.append(i.help)
    if len(helps) <= 1:
        return helps[0] if helps else None
    wanted = same[0].wanted
    if wanted is not None:  # an unknown attribute: suggest from, or list, every subject's
        known = sorted({k for i in same for k in i.known})
        near = _suggest(wanted, known)
        if near is not None:
            return near
        parts: set[str] = set()
        for i in same:
            if i.subject is not None:
                has = _names(i.known, 8) if i.known else "no attributes"
                parts.add(f"{_subject_name(i.subject)} has {has}")
        return "; ".join(sorted(parts)) if parts else None
    return "; ".join(helps)


def _declared_types_help(schema: Schema) -> str:
    names = sorted(schema.entity_types)
    if not names:
        return "the schema declares no entity types"
    return f"the schema declares {_names(names, 6)}"


def _subject_name(subject: tuple[str, str]) -> str:
    kind, name = subject
    if kind == "entity":
        return f"`{name}`"
    if kind == "context":
        return f"the context of `{name}`"
    return f"record `{name}`" if name else "the record"


def _subject_text(subjects: list[tuple[str, str]], with_preposition: bool) -> str:
    by_kind: dict[str, list[str]] = {}
    for kind, name in sorted(subjects):
        by_kind.setdefault(kind, []).append(name)
    parts = []
    for kind, names in by_kind.items():
        if kind == "entity":
            noun = ("entity type " if len(names) == 1 else "entity types ") + _names(names)
            parts.append(("on " if with_preposition else "") + noun)
        elif kind == "context":
            noun = "the context of " + _names(names)
            parts.append(("in " if with_preposition else "") + noun)
        else:
            named = [n for n in names if n]
            noun = f"record {_names(named)}" if named else "this record"
            parts.append(("in " if with_preposition else "") + noun)
    return "; ".join(parts) if parts else "this value"
