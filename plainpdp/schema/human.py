"""The human ``.cedarschema`` format: text -> declarations (with spans).

The lark grammar lives in ``cedarschema.lark``. The builder below runs as
lark's LALR callbacks, so declarations are made while parsing and no lark
tree exists at all; spans come from the tokens. Checks that need only one
declaration (reserved words, duplicate annotations, a well-formed
``appliesTo``) are made here, where the positions are; the rest is
:mod:`plainpdp.schema.resolve`'s job.
"""

from __future__ import annotations

import re
from contextvars import ContextVar
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

from lark import Lark, Token, Transformer
from lark.exceptions import UnexpectedCharacters, UnexpectedInput, UnexpectedToken

from ..errors import Diagnostic, SchemaError, Span, finish_diagnostics
from .decls import (
    COMMON,
    ENTITY,
    ActionDecl,
    ActionRefDecl,
    AttrDecl,
    CommonDecl,
    EntityDecl,
    NamespaceDecl,
    RecordDecl,
    SetDecl,
    TypeDecl,
    TypeRef,
)

# Cedar identifiers that can never name anything (``Id::from_str`` rejects them).
RESERVED_IDENTS = frozenset({"true", "false", "if", "then", "else", "in", "is", "like", "has"})
# Basenames a common type may not take (they are JSON schema type keywords).
RESERVED_COMMON_NAMES = frozenset(
    {"Bool", "Boolean", "Entity", "Extension", "Long", "Record", "Set", "String"}
)

_WORD = re.compile(r"[_a-zA-Z][_a-zA-Z0-9]*\Z")  # keywords are identifiers too
_TERMINAL_NAMES = {"IDENT": "identifier", "STR": "string literal", "$END": "end of input"}


@dataclass
class _Parse:
    """What the callbacks of one parse share: the text, its name, the problems found."""

    text: str
    source: str | None
    diags: list[Diagnostic] = field(default_factory=list)


_CURRENT: ContextVar[_Parse] = ContextVar("cedarschema_parse")


@lru_cache(maxsize=1)
def _parser() -> Lark:
    grammar = (Path(__file__).parent / "cedarschema.lark").read_text(encoding="utf-8")
    return Lark(grammar, parser="lalr", transformer=_Builder(), maybe_placeholders=False)


def parse_human(text: str, source: str | None = None) -> tuple[NamespaceDecl, ...]:
    """Parse schema text into namespace declarations; raises ``SchemaError``."""
    state = _Parse(text, source)
    token = _CURRENT.set(state)
    try:
        namespaces = _parser().parse(text)
    except UnexpectedInput as err:
        diag = _syntax_diagnostic(err, text, source)
        raise SchemaError(f"schema syntax error: {diag.message}", [diag]) from None
    finally:
        _CURRENT.reset(token)
    if state.diags:
        diags = finish_diagnostics(state.diags)
        raise SchemaError(diags[0].message, diags)
    return namespaces


# ---------------------------------------------------------------- syntax errors


def _syntax_diagnostic(err: UnexpectedInput, text: str, source: str | None) -> Diagnostic:
    if isinstance(err, UnexpectedToken) and err.token.type != "$END":
        span = _token_span(err.token, source)
        message = f"unexpected token `{err.token.value}`"
    elif isinstance(err, UnexpectedCharacters):
        pos = err.pos_in_stream
        span = Span(pos, pos + 1, err.line, err.column, err.line, err.column + 1, source)
        message = f"invalid token `{text[pos]}`"
    else:  # end of input, however lark reports it
        lines = text.splitlines() or [""]
        line, column = len(lines), len(lines[-1]) + 1
        span = Span(len(text), len(text), line, column, line, column, source)
        message = "unexpected end of input"
    expected = _describe_expected(_acceptable(err))
    help_text = f"expected {expected}" if expected else None
    return Diagnostic("schema-syntax", message, span, help_text, source_text=text)


def _acceptable(err: UnexpectedInput) -> set[str]:
    """Terminals the parser could really take next (lark's ``expected`` over-approximates)."""
    interactive = getattr(err, "interactive_parser", None)
    if interactive is not None:
        return set(interactive.accepts())
    return set(getattr(err, "allowed", None) or getattr(err, "expected", None) or ())


def _describe_expected(names: set[str]) -> str:
    shown = []
    for name in sorted(names):
        if name in _TERMINAL_NAMES:
            shown.append(_TERMINAL_NAMES[name])
            continue
        try:
            pattern = _parser().get_terminal(name).pattern
        except KeyError:
            continue
        if pattern.type == "str" and not ("IDENT" in names and _WORD.match(pattern.value)):
            shown.append(f"`{pattern.value}`")
    shown = sorted(set(shown))
    if not shown:
        return ""
    if len(shown) > 8:
        return ", ".join(shown[:8]) + ", ..."
    return shown[0] if len(shown) == 1 else "one of " + ", ".join(shown)


# ---------------------------------------------------------------- strings

_ESCAPE = re.compile(r"\\(u\{([0-9a-fA-F]{1,6})\}|x([0-7][0-9a-fA-F])|.)", re.DOTALL)
_SIMPLE = {"n": "\n", "r": "\r", "t": "\t", "\\": "\\", "0": "\0", "'": "'", '"': '"'}


def unescape(body: str) -> str | None:
    """Cedar's string escapes (``\\n``, ``\\u{1F600}``, ...); None if one is invalid."""
    out: list[str] = []
    pos = 0
    for m in _ESCAPE.finditer(body):
        out.append(body[pos : m.start()])
        pos = m.end()
        if m.group(2) is not None:
            code = int(m.group(2), 16)
            if code > 0x10FFFF or 0xD800 <= code <= 0xDFFF:
                return None
            out.append(chr(code))
        elif m.group(3) is not None:
            out.append(chr(int(m.group(3), 16)))
        elif m.group(1) in _SIMPLE:
            out.append(_SIMPLE[m.group(1)])
        else:
            return None
    out.append(body[pos:])
    return "".join(out)


# ---------------------------------------------------------------- spans


def _token_span(tok: Token, source: str | None) -> Span:
    return Span(
        tok.start_pos, tok.end_pos, tok.line, tok.column, tok.end_line, tok.end_column, source
    )


def _join(first: Span | None, last: Span | None) -> Span | None:
    if first is None or last is None:
        return first or last
    return Span(
        first.start,
        last.end,
        first.line,
        first.column,
        last.end_line,
        last.end_column,
        first.source,
    )


# ---------------------------------------------------------------- building


class _Name:
    """A word or string as written, with where it was written."""

    __slots__ = ("text", "span", "is_ident")

    def __init__(self, text: str, span: Span | None, is_ident: bool):
        self.text = text
        self.span = span
        self.is_ident = is_ident


class _Annotation:
    """``@name("value")``: accepted and ignored, except that names must be unique."""

    __slots__ = ("name",)

    def __init__(self, name: _Name):
        self.name = name


class _Shape:
    """The attribute block of an entity declaration (as opposed to its tags type)."""

    __slots__ = ("record",)

    def __init__(self, record: RecordDecl):
        self.record = record


class _EntTypes:
    """``A`` or ``[A, B]`` as written, and where."""

    __slots__ = ("names", "span")

    def __init__(self, names: list[_Name], span: Span | None):
        self.names = names
        self.span = span


class _Record:
    """A record type and the span of its braces."""

    __slots__ = ("decl", "span")

    def __init__(self, decl: RecordDecl, span: Span | None):
        self.decl = decl
        self.span = span


def _error(code: str, message: str, span: Span | None, help: str | None = None) -> None:
    state = _CURRENT.get()
    state.diags.append(Diagnostic(code, message, span, help, source_text=state.text))


def _span(tok: Token) -> Span:
    return _token_span(tok, _CURRENT.get().source)


def _check_ident(name: _Name) -> None:
    if name.is_ident and name.text in RESERVED_IDENTS:
        _error("reserved-identifier", f"`{name.text}` is a reserved identifier", name.span)


def _check_unreserved(name: _Name) -> None:
    if name.text == "__cedar":
        _error(
            "reserved-name",
            "use of the reserved `__cedar` namespace",
            name.span,
            "`__cedar` names Cedar's builtin types; choose another name",
        )


def _check_annotations(children: list) -> None:
    seen: set[str] = set()
    for a in children:
        if not isinstance(a, _Annotation):
            continue
        if a.name.text in seen:
            _error("duplicate-annotation", f"duplicate annotations: `{a.name.text}`", a.name.span)
        seen.add(a.name.text)


def _string(tok: Token) -> _Name:
    value = unescape(tok.value[1:-1])
    span = _span(tok)
    if value is None:
        _error("invalid-escape", "invalid escape sequence in string", span)
        value = tok.value[1:-1]
    return _Name(value, span, is_ident=False)


def _type(item: object, kind: str = "either") -> TypeDecl:
    if isinstance(item, _Name):
        return TypeRef(item.text, kind, item.span)
    if isinstance(item, _Record):
        return item.decl
    return item  # type: ignore[return-value]


def _namespace(name: str, decls: list, span: Span | None) -> NamespaceDecl:
    return NamespaceDecl(
        name,
        tuple(d for d in decls if isinstance(d, EntityDecl)),
        tuple(d for d in decls if isinstance(d, ActionDecl)),
        tuple(d for d in decls if isinstance(d, CommonDecl)),
        span,
    )


class _Builder(Transformer):
    """lark callbacks, one per grammar rule, each building a declaration part."""

    # -- words

    def ident(self, children: list[Token]) -> _Name:
        tok = children[0]
        return _Name(str(tok.value), _span(tok), is_ident=True)

    def path(self, children: list[_Name]) -> _Name:
        _check_ident(children[-1])
        text = "::".join(p.text for p in children)
        return _Name(text, _join(children[0].span, children[-1].span), is_ident=False)

    def name(self, children: list) -> _Name:
        item = children[0]
        if isinstance(item, Token):
            return _string(item)
        _check_ident(item)
        return item

    def idents(self, children: list[_Name]) -> list[_Name]:
        for n in children:
            _check_ident(n)
            _check_unreserved(n)
        return children

    def names(self, children: list[_Name]) -> list[_Name]:
        return children

    def strings(self, children: list[Token]) -> list[str]:
        return [_string(t).text for t in children]

    def annotation(self, children: list) -> _Annotation:
        return _Annotation(children[0])

    # -- types

    def set_type(self, children: list) -> SetDecl:
        return SetDecl(_type(children[-1]))

    def record_type(self, children: list) -> _Record:
        attrs = next((c for c in children if isinstance(c, dict)), {})
        return _Record(RecordDecl(attrs), _join(_span(children[0]), _span(children[-1])))

    def attr_decls(self, children: list) -> dict[str, AttrDecl]:
        return dict(children)  # Cedar keeps the last of two same-named attributes

    def attr_decl(self, children: list) -> tuple[str, AttrDecl]:
        _check_annotations(children)
        name, typ = [c for c in children if not isinstance(c, (_Annotation, Token))]
        required = not any(isinstance(c, Token) and c.type == "QUESTION" for c in children)
        return name.text, AttrDecl(_type(typ), required)

    def ent_types(self, children: list) -> _EntTypes:
        names = [c for c in children if isinstance(c, _Name)]
        first = children[0].span if isinstance(children[0], _Name) else _span(children[0])
        last = children[-1].span if isinstance(children[-1], _Name) else _span(children[-1])
        return _EntTypes(names, _join(first, last))

    # -- declarations

    def shape(self, children: list) -> _Shape:
        return _Shape(RecordDecl(children[0] if children else {}))

    def entity(self, children: list) -> list[EntityDecl]:
        names, rest = children[0], children[1:]
        member_of: list[_Name] = []
        shape: TypeDecl = RecordDecl()
        tags: TypeDecl | None = None
        for item in rest:
            if isinstance(item, _EntTypes):
                member_of = item.names
            elif isinstance(item, _Shape):
                shape = item.record
            else:
                tags = _type(item)
        parents = tuple(TypeRef(p.text, ENTITY, p.span) for p in member_of)
        return [EntityDecl(n.text, parents, shape, tags, None, n.span) for n in names]

    def enum_entity(self, children: list) -> list[EntityDecl]:
        names, choices = children
        unique = tuple(dict.fromkeys(choices))
        return [EntityDecl(n.text, enum=unique, span=n.span) for n in names]

    def common_type(self, children: list) -> CommonDecl:
        name, typ = children
        _check_ident(name)
        _check_unreserved(name)
        if name.text in RESERVED_COMMON_NAMES:
            _error(
                "reserved-name",
                f"`{name.text}` is a reserved schema keyword and cannot name a common type",
                name.span,
                "choose another name for the type",
            )
        return CommonDecl(name.text, _type(typ), name.span)

    def qualified_action(self, children: list) -> ActionRefDecl:
        path, tok = children
        return ActionRefDecl(_string(tok).text, path.text, _join(path.span, _span(tok)))

    def plain_action(self, children: list) -> ActionRefDecl:
        name = children[0]
        return ActionRefDecl(name.text, None, name.span)

    def action_parents(self, children: list) -> list[ActionRefDecl]:
        return children

    def principal_decl(self, children: list) -> tuple[str, _EntTypes, Span | None]:
        keyword, types = children
        return "principal", types, _join(_span(keyword), types.span)

    def resource_decl(self, children: list) -> tuple[str, _EntTypes, Span | None]:
        keyword, types = children
        return "resource", types, _join(_span(keyword), types.span)

    def context_ref(self, children: list) -> tuple[str, TypeDecl, Span | None]:
        path = children[0]
        return "context", TypeRef(path.text, COMMON, path.span), path.span

    def context_record(self, children: list) -> tuple[str, TypeDecl, Span | None]:
        record = children[0]
        return "context", record.decl, record.span

    def applies_to(self, children: list) -> list:
        return children

    def action(self, children: list) -> list[ActionDecl]:
        names: list[_Name] = children[0]
        parents: list[ActionRefDecl] = []
        applies: list | None = None
        for item in children[1:]:
            if isinstance(item[0], ActionRefDecl):
                parents = item
            else:
                applies = item
        principals: tuple[TypeRef, ...] = ()
        resources: tuple[TypeRef, ...] = ()
        context: TypeDecl = RecordDecl()
        if applies is not None:
            principals, resources, context = _applies_to(names[0], applies)
        return [
            ActionDecl(n.text, tuple(parents), principals, resources, context, n.span)
            for n in names
        ]

    def decl(self, children: list) -> list:
        _check_annotations(children)
        body = children[-1]
        return body if isinstance(body, list) else [body]

    def namespace(self, children: list) -> NamespaceDecl:
        _check_annotations(children)
        rest = [c for c in children if not isinstance(c, _Annotation)]
        path, groups = rest[0], rest[1:]
        if "__cedar" in path.text.split("::"):
            _check_unreserved(_Name("__cedar", path.span, True))
        decls = [d for group in groups for d in group]
        return _namespace(path.text, decls, path.span)

    def start(self, children: list) -> tuple[NamespaceDecl, ...]:
        named: list[NamespaceDecl] = []
        loose: list = []
        for item in children:
            if isinstance(item, NamespaceDecl):
                named.append(item)
            else:
                loose.extend(item)
        seen: dict[str, NamespaceDecl] = {}
        for ns in named:
            if ns.name in seen:
                _error(
                    "duplicate-namespace",
                    f"duplicate namespace id: `{ns.name}`",
                    ns.span,
                    "put all declarations of a namespace in one `namespace` block",
                )
            seen[ns.name] = ns
        out = list(seen.values())
        if loose:
            out.append(_namespace("", loose, None))
        return tuple(out)


def _applies_to(
    action: _Name, decls: list
) -> tuple[tuple[TypeRef, ...], tuple[TypeRef, ...], TypeDecl]:
    """Cedar's rules: principal and resource both given, once each, never ``[]``."""
    found: dict[str, object] = {}
    for kind, value, span in decls:
        if kind in found:
            _error(
                "duplicate-applies-to",
                f"duplicate `{kind}` declaration in action `{action.text}`",
                span,
            )
            continue
        if kind != "context" and not value.names:
            _error(
                "empty-applies-to",
                f"for action `{action.text}`, `{kind}` is `[]`, which is invalid",
                span,
                f"list at least one {kind} entity type, or leave out `appliesTo` "
                "so the action applies to nothing",
            )
        found[kind] = value
    for kind in ("principal", "resource"):
        if kind not in found:
            _error(
                "missing-applies-to",
                f"missing `{kind}` declaration for `{action.text}`",
                action.span,
                f"add `{kind}: [SomeType]` to the `appliesTo` block",
            )

    def refs(kind: str) -> tuple[TypeRef, ...]:
        types = found.get(kind)
        names = types.names if isinstance(types, _EntTypes) else ()
        return tuple(TypeRef(n.text, ENTITY, n.span) for n in names)

    context = found.get("context", RecordDecl())
    return refs("principal"), refs("resource"), context  # type: ignore[return-value]
