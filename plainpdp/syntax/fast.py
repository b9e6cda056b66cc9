"""The common case without lark: a recursive-descent parser for valid Cedar.

lark's LALR loop costs most of a parse (about 130 µs a policy). This parser
reads the same grammar (``cedar.lark``) by hand over one ``findall`` of the
text and builds the very AST the lark builder builds, spans included. It
only ever *accepts*: any token it does not expect, and anything the builder
would report (reserved words, unknown functions, bad escapes, integers out
of range, slots in conditions, ...), raises :class:`Fallback`, and
:mod:`plainpdp.syntax.parser` parses the text again with lark, which finds
and explains every problem. ``tests/syntax/test_fast.py`` checks that both
give identical trees and spans.
"""

from __future__ import annotations

import re
from dataclasses import fields, replace
from itertools import accumulate, chain
from operator import itemgetter

from ..errors import LineTable, Span
from ..values import EntityUid
from . import ast
from .strings import unescape, unescape_pattern


class Fallback(Exception):  # noqa: N818 - a signal, not an error
    """The fast parser gives up; lark parses the text instead."""


# Whitespace and comments (kept whole: possessive, never giving back part of a
# comment; whitespace first, as most gaps are one space), then one token:
# identifier or keyword, string, integer, slot, a two-character operator, any
# other single character, or the end.
_TOKEN = re.compile(
    r"(\s*+(?://[^\n\r]*+\s*+)*+)"
    r'([_a-zA-Z][_a-zA-Z0-9]*|"[^"\\]*(?:\\.[^"\\]*)*"|[0-9]+|\?[_a-zA-Z][_a-zA-Z0-9]*'
    r"|==|!=|<=|>=|&&|\|\||::|\S|\Z)"
)
_COMMENT = re.compile(r"//[^\n\r]*")
_SECOND = itemgetter(1)

MAX_LONG = 2**63 - 1
KEYWORDS = frozenset({"true", "false", "if", "then", "else", "in", "has", "like", "is"})
_NOT_A_NAME = KEYWORDS | {"__cedar"}
VARIABLES = frozenset({"principal", "action", "resource", "context"})
FUNCTIONS = frozenset({"ip", "decimal", "datetime", "duration"})
BUILTIN_ARITY = {
    "contains": 1, "containsAll": 1, "containsAny": 1, "isEmpty": 0, "getTag": 1, "hasTag": 1,
}
METHODS = frozenset(BUILTIN_ARITY) | {
    "lessThan", "lessThanOrEqual", "greaterThan", "greaterThanOrEqual",
    "isIpv4", "isIpv6", "isLoopback", "isMulticast", "isInRange",
    "offset", "durationSince", "toDate", "toTime",
    "toMilliseconds", "toSeconds", "toMinutes", "toHours", "toDays",
}
SLOTS = frozenset({"?principal", "?resource"})
_RELATIONS = {"==": "==", "!=": "!=", "<": "<", "<=": "<=", ">": ">", ">=": ">=", "in": "in"}
_START = frozenset("_abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ")

# Uids, names, action lists and large offsets are shared between policies
# (``Action::"view"`` is one object however many policies name it): less
# memory, faster equality. Each table is bounded: cleared when full.
_INTERN_LIMIT = 100_000
_uids: dict[str, dict[str, EntityUid]] = {}  # type name -> id -> uid
_names: dict[str, str] = {}
_ints: dict[int, int] = {}
_lists: dict[tuple, tuple] = {}


def _maker(cls):
    """A constructor for a frozen slotted dataclass that skips its per-field
    ``object.__setattr__`` (twice as fast; the object is the same)."""
    names = [f.name for f in fields(cls)]
    env = {"new": object.__new__, "cls": cls}
    body = []
    for n, name in enumerate(names):
        env[f"s{n}"] = getattr(cls, name).__set__
        body.append(f"    s{n}(o, {name})")
    source = (f"def make({', '.join(names)}):\n    o = new(cls)\n" + "\n".join(body)
              + "\n    return o\n")
    exec(source, env)  # noqa: S102 - field names of our own classes only
    return env["make"]


_Span = Span.in_text
_Literal = _maker(ast.Literal)
_Var = _maker(ast.Var)
_Slot = _maker(ast.Slot)
_If = _maker(ast.If)
_And = _maker(ast.And)
_Or = _maker(ast.Or)
_Not = _maker(ast.Not)
_Neg = _maker(ast.Neg)
_BinOp = _maker(ast.BinOp)
_Has = _maker(ast.Has)
_Like = _maker(ast.Like)
_Is = _maker(ast.Is)
_GetAttr = _maker(ast.GetAttr)
_MethodCall = _maker(ast.MethodCall)
_ExtCall = _maker(ast.ExtCall)
_SetLit = _maker(ast.SetLit)
_RecordLit = _maker(ast.RecordLit)
_Annotation = _maker(ast.Annotation)
_Scope = _maker(ast.ScopeConstraint)
_Action = _maker(ast.ActionConstraint)
_Condition = _maker(ast.Condition)
_Policy = _maker(ast.Policy)
_Comment = _maker(ast.Comment)


def _name(value: str) -> str:
    found = _names.get(value)
    if found is None:
        if len(_names) >= _INTERN_LIMIT:
            _names.clear()
        found = _names[value] = value
    return found


def _uid(type_name: str, id_: str) -> EntityUid:
    of_type = _uids.get(type_name)  # keyed by strings: compared in C, and the
    if of_type is None:  # id string kept as a key is the uid's own
        if len(_uids) >= 1_000:
            _uids.clear()
        of_type = _uids[_name(type_name)] = {}
    found = of_type.get(id_)
    if found is None:
        if len(of_type) >= _INTERN_LIMIT:
            of_type.clear()
        found = of_type[id_] = EntityUid(_name(type_name), id_)
    return found


def _string(token: str) -> str:
    if len(token) < 2:  # a lone `"`: an unterminated string
        raise Fallback
    body = token[1:-1]
    if "\\" not in body and "\r" not in body:
        return body
    value, bad = unescape(body)
    if bad:
        raise Fallback
    return value


class _Parser:
    """One parse: the tokens, their offsets, and a cursor."""

    __slots__ = ("text", "source", "toks", "starts", "ends", "i", "lines", "comments",
                 "in_condition", "big")

    def __init__(self, text: str, source: str | None):
        pairs = _TOKEN.findall(text)
        offsets = list(accumulate(map(len, chain.from_iterable(pairs))))
        self.text = text
        self.source = source
        self.toks = list(map(_SECOND, pairs))
        self.starts = offsets[0::2]
        self.ends = offsets[1::2]
        self.i = 0
        self.lines = LineTable(text, source)
        self.comments: list = []
        self.in_condition = False
        self.big = 0  # 9223372036854775808s not yet negated (valid only as -9223372036854775808)
        if "//" in text:
            for n, (ws, _) in enumerate(pairs):
                if "//" in ws:
                    base = self.starts[n] - len(ws)
                    for m in _COMMENT.finditer(ws):
                        start, end = base + m.start(), base + m.end()
                        self.comments.append(_Comment(m.group()[2:], self.span(start, end)))

    # ------------------------------------------------------------ helpers

    def span(self, start: int, end: int) -> Span:
        # Lines and columns are worked out when asked, from self.lines. Offsets
        # past 256 are int objects of their own (32 bytes each); the many small
        # files of partners share them (the table stays < 64k).
        if 256 < end < 65_536:
            end = _ints.setdefault(end, end)
            if start > 256:
                start = _ints.setdefault(start, start)
        return _Span(start, end, self.lines)

    def token_span(self, i: int) -> Span:
        return self.span(self.starts[i], self.ends[i])

    def expect(self, tok: str) -> int:
        i = self.i
        if self.toks[i] != tok:
            raise Fallback
        self.i = i + 1
        return i

    def ident(self) -> int:
        """An identifier that is neither a keyword nor ``__cedar``."""
        i = self.i
        t = self.toks[i]
        if t[:1] not in _START or t in _NOT_A_NAME:
            raise Fallback
        self.i = i + 1
        return i

    def string(self) -> int:
        i = self.i
        if self.toks[i][:1] != '"':
            raise Fallback
        self.i = i + 1
        return i

    def path(self) -> tuple[str, int]:
        """``A::B::C`` (not followed by a string): the name and its last token."""
        last = self.ident()
        name = self.toks[last]
        toks = self.toks
        while toks[self.i] == "::" and toks[self.i + 1][:1] in _START:
            self.i += 1
            last = self.ident()
            name += "::" + toks[last]
        return name, last

    def uid_value(self) -> EntityUid:
        """``Type::"id"``, the cursor left after the string."""
        name, _ = self.path()
        i = self.i
        toks = self.toks
        if toks[i] != "::" or toks[i + 1][:1] != '"':
            raise Fallback
        self.i = i + 2
        return _uid(name, _string(toks[i + 1]))

    def uid(self) -> ast.Literal:
        """``Type::"id"`` as a literal."""
        first = self.i
        value = self.uid_value()
        return _Literal(value, self.span(self.starts[first], self.ends[self.i - 1]))

    # ------------------------------------------------------------ policies

    def policies(self) -> tuple[ast.Policy, ...]:
        out = []
        toks = self.toks
        while toks[self.i]:
            out.append(self.policy())
        return tuple(out)

    def policy(self) -> ast.Policy:
        toks = self.toks
        annotations = []
        first = self.i
        while toks[self.i] == "@":
            annotations.append(self.annotation())
        if len(annotations) > 1 and len({a.key for a in annotations}) < len(annotations):
            raise Fallback
        i = self.i
        effect = toks[i]
        if effect != "permit" and effect != "forbid":
            raise Fallback
        self.i = i + 1
        self.expect("(")
        principal = self.entity_scope("principal", "?principal")
        self.expect(",")
        action = self.action_scope()
        self.expect(",")
        resource = self.entity_scope("resource", "?resource")
        if toks[self.i] == ",":
            self.i += 1
        self.expect(")")
        conditions = []
        while toks[self.i] != ";":
            conditions.append(self.condition())
        semi = self.i
        self.i += 1
        if self.big:
            raise Fallback
        return _Policy(
            "permit" if effect == "permit" else "forbid", principal, action, resource,
            tuple(conditions), tuple(annotations),
            self.span(self.starts[first], self.ends[semi]),
        )

    def annotation(self) -> ast.Annotation:
        at = self.i
        toks = self.toks
        key = at + 1
        if toks[key][:1] not in _START:
            raise Fallback
        if toks[key + 1] != "(":
            self.i = key + 1
            return _Annotation(_name(toks[key]), None, self.span(self.starts[at], self.ends[key]))
        self.i = key + 2
        s = self.string()
        close = self.expect(")")
        return _Annotation(_name(toks[key]), _string(toks[s]),
                           self.span(self.starts[at], self.ends[close]))

    def scope_var(self, var: str) -> tuple[int, str | None, int]:
        """``var [is T]``: the variable's token, the type name, the last token."""
        i = self.i
        if self.toks[i] != var:
            raise Fallback
        self.i = i + 1
        if self.toks[i + 1] != "is":
            return i, None, i
        self.i = i + 2
        name, last = self.path()
        return i, _name(name), last

    def entity_scope(self, var: str, slot: str) -> ast.ScopeConstraint:
        first, type_name, last = self.scope_var(var)
        toks = self.toks
        op = toks[self.i]
        if op == "," or op == ")":
            kind = "any" if type_name is None else "is"
            return _Scope(kind, None, type_name, self.span(self.starts[first], self.ends[last]))
        if op != "in" and (op != "==" or type_name is not None):
            raise Fallback
        self.i += 1
        t = toks[self.i]
        if t[:1] == "?":
            if t != slot:
                raise Fallback
            last = self.i
            self.i += 1
            entity = _Slot(slot, self.token_span(last))
        elif t[:1] in _START:
            entity = self.uid_value()
            last = self.i - 1
        else:
            raise Fallback
        kind = ("eq" if op == "==" else "in") if type_name is None else "is_in"
        return _Scope(kind, entity, type_name, self.span(self.starts[first], self.ends[last]))

    def action_scope(self) -> ast.ActionConstraint:
        first, type_name, _ = self.scope_var("action")
        if type_name is not None:
            raise Fallback
        toks = self.toks
        op = toks[self.i]
        if op == "," or op == ")":
            return _Action("any", (), False, self.token_span(first))
        if op != "==" and op != "in":
            raise Fallback
        self.i += 1
        if toks[self.i] == "[":
            if op == "==":
                raise Fallback
            self.i += 1
            uids = []
            while toks[self.i] != "]":
                uids.append(self.action_uid())
                if toks[self.i] == ",":
                    self.i += 1
                elif toks[self.i] != "]":
                    raise Fallback
            last = self.i
            self.i += 1
            is_list = True
        else:
            uids = [self.action_uid()]
            last = self.i - 1
            is_list = False
        entities = tuple(uids)
        shared = _lists.get(entities)
        if shared is None:
            if len(_lists) >= _INTERN_LIMIT:
                _lists.clear()
            shared = _lists[entities] = entities
        return _Action("eq" if op == "==" else "in", shared, is_list,
                       self.span(self.starts[first], self.ends[last]))

    def action_uid(self) -> EntityUid:
        uid = self.uid_value()
        t = uid.type
        if t != "Action" and not t.endswith("::Action"):
            raise Fallback
        return uid

    def condition(self) -> ast.Condition:
        kw = self.i
        kind = self.toks[kw]
        if kind != "when" and kind != "unless":
            raise Fallback
        self.i = kw + 1
        self.expect("{")
        if self.toks[self.i] == "}":
            raise Fallback  # empty: lark reports it
        self.in_condition = True
        e = self.expr()
        self.in_condition = False
        close = self.expect("}")
        return _Condition("when" if kind == "when" else "unless", e,
                          self.span(self.starts[kw], self.ends[close]))

    # ------------------------------------------------------------ expressions

    def expr(self):
        if self.toks[self.i] == "if":
            start = self.starts[self.i]
            self.i += 1
            cond = self.expr()
            self.expect("then")
            then = self.expr()
            self.expect("else")
            else_ = self.expr()
            return _If(cond, then, else_, self.span(start, else_.span.end))
        e = self.and_()
        while self.toks[self.i] == "||":
            self.i += 1
            right = self.and_()
            e = _Or(e, right, self.span(e.span.start, right.span.end))
        return e

    def and_(self):
        e = self.relation()
        while self.toks[self.i] == "&&":
            self.i += 1
            right = self.relation()
            e = _And(e, right, self.span(e.span.start, right.span.end))
        return e

    def relation(self):
        e = self.sum()
        t = self.toks[self.i]
        op = _RELATIONS.get(t)
        if op is not None:
            self.i += 1
            right = self.sum()
            return _BinOp(op, e, right, self.span(e.span.start, right.span.end))
        if t == "has":
            self.i += 1
            toks = self.toks
            if toks[self.i][:1] == '"':
                last = self.string()
                attrs = (_string(toks[last]),)
            else:
                last = self.ident()
                names = [_name(toks[last])]
                while toks[self.i] == ".":
                    self.i += 1
                    last = self.ident()
                    names.append(_name(toks[last]))
                attrs = tuple(names)
            return _Has(e, attrs, self.span(e.span.start, self.ends[last]))
        if t == "like":
            self.i += 1
            s = self.string()
            body = self.toks[s][1:-1]
            pattern, bad = unescape_pattern(body)
            if bad:
                raise Fallback
            return _Like(e, pattern, self.span(e.span.start, self.ends[s]))
        if t == "is":
            self.i += 1
            name, last = self.path()
            if self.toks[self.i] != "in":
                return _Is(e, _name(name), None, self.span(e.span.start, self.ends[last]))
            self.i += 1
            other = self.sum()
            return _Is(e, _name(name), other, self.span(e.span.start, other.span.end))
        return e

    def sum(self):
        e = self.product()
        toks = self.toks
        while True:
            t = toks[self.i]
            if t != "+" and t != "-":
                return e
            self.i += 1
            right = self.product()
            e = _BinOp("+" if t == "+" else "-", e, right, self.span(e.span.start, right.span.end))

    def product(self):
        e = self.unary()
        while self.toks[self.i] == "*":
            self.i += 1
            right = self.unary()
            e = _BinOp("*", e, right, self.span(e.span.start, right.span.end))
        return e

    def unary(self):
        toks = self.toks
        t = toks[self.i]
        if t != "!" and t != "-":
            return self.member()
        ops = []
        while toks[self.i] == t:
            ops.append(self.i)
            self.i += 1
        if len(ops) > 4:
            raise Fallback
        e = self.member()
        end = e.span.end
        if t == "-":
            if (e.__class__ is ast.Literal and e.value.__class__ is int
                    and self.text[e.span.start] != "("):
                if e.value > MAX_LONG:
                    self.big -= 1
                e = _Literal(-e.value, self.span(self.starts[ops.pop()], end))
            for i in reversed(ops):
                e = _Neg(e, self.span(self.starts[i], end))
        else:
            for i in reversed(ops):
                e = _Not(e, self.span(self.starts[i], end))
        return e

    def member(self):
        e = self.primary()
        toks = self.toks
        while True:
            t = toks[self.i]
            if t == ".":
                self.i += 1
                name_at = self.i
                name = toks[name_at]
                if name[:1] not in _START or name in _NOT_A_NAME:
                    raise Fallback
                self.i += 1
                if toks[self.i] != "(":
                    e = _GetAttr(e, _name(name), self.span(e.span.start, self.ends[name_at]))
                    continue
                self.i += 1
                args = self.args(")")
                close = self.expect(")")
                if name not in METHODS:
                    raise Fallback
                arity = BUILTIN_ARITY.get(name)
                if arity is not None and len(args) != arity:
                    raise Fallback
                e = _MethodCall(e, _name(name), args, self.span(e.span.start, self.ends[close]))
            elif t == "[":
                self.i += 1
                s = self.string()
                close = self.expect("]")
                e = _GetAttr(e, _string(toks[s]), self.span(e.span.start, self.ends[close]))
            else:
                return e

    def args(self, close: str) -> tuple:
        """``expr, expr, ...`` (a trailing comma allowed) up to ``close``."""
        toks = self.toks
        out = []
        while toks[self.i] != close:
            out.append(self.expr())
            if toks[self.i] == ",":
                self.i += 1
            elif toks[self.i] != close:
                raise Fallback
        return tuple(out)

    def primary(self):
        toks = self.toks
        i = self.i
        t = toks[i]
        c = t[:1]
        if c in _START:
            if t in KEYWORDS:
                if t == "true" or t == "false":
                    self.i = i + 1
                    return _Literal(t == "true", self.token_span(i))
                raise Fallback
            nxt = toks[i + 1]
            if nxt == "::":
                return self.uid()
            if nxt == "(":
                name, _ = self.path()
                if name not in FUNCTIONS:
                    raise Fallback
                self.i += 1
                args = self.args(")")
                close = self.expect(")")
                return _ExtCall(_name(name), args, self.span(self.starts[i], self.ends[close]))
            if t not in VARIABLES:
                raise Fallback
            self.i = i + 1
            return _Var(_name(t), self.token_span(i))
        if c == '"':
            self.i = i + 1
            return _Literal(_string(t), self.token_span(i))
        if "0" <= c <= "9":
            value = int(t)
            if value > MAX_LONG:
                if value > MAX_LONG + 1:
                    raise Fallback
                self.big += 1  # valid only right after a `-`
            self.i = i + 1
            return _Literal(value, self.token_span(i))
        if t == "(":
            self.i = i + 1
            e = self.expr()
            close = self.expect(")")
            return replace(e, span=self.span(self.starts[i], self.ends[close]))
        if t == "[":
            self.i = i + 1
            elems = self.args("]")
            close = self.expect("]")
            return _SetLit(elems, self.span(self.starts[i], self.ends[close]))
        if t == "{":
            self.i = i + 1
            items = self.entries()
            close = self.expect("}")
            return _RecordLit(items, self.span(self.starts[i], self.ends[close]))
        if c == "?":
            if self.in_condition or t not in SLOTS:
                raise Fallback
            self.i = i + 1
            return _Slot(t, self.token_span(i))
        raise Fallback

    def entries(self) -> tuple:
        toks = self.toks
        items = []
        seen = set()
        while toks[self.i] != "}":
            k = self.i
            key = toks[k]
            if key[:1] == '"':
                name = _string(key)
            elif key[:1] in _START and key not in _NOT_A_NAME:
                name = _name(key)
            else:
                raise Fallback
            if name in seen:
                raise Fallback
            seen.add(name)
            self.i = k + 1
            self.expect(":")
            items.append((name, self.expr()))
            if toks[self.i] == ",":
                self.i += 1
            elif toks[self.i] != "}":
                raise Fallback
        return tuple(items)


def parse_file(text: str, source: str | None) -> tuple[tuple[ast.Policy, ...], list]:
    """(policies, comments) of a valid policy file; Fallback otherwise."""
    p = _Parser(text, source)
    return p.policies(), p.comments


def parse_expression(text: str, source: str | None):
    """The expression ``text`` when it is valid; Fallback otherwise."""
    p = _Parser(text, source)
    e = p.expr()
    if p.toks[p.i] or p.big:
        raise Fallback
    return e
