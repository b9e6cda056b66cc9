"""Text -> AST: the lark LALR parser and the builder at its border.

Valid text is read by the hand-written parser of :mod:`.fast`, which builds
the same tree; anything it does not accept is parsed again here, by lark.

The grammar (``cedar.lark``) is compiled once, at import. The builder runs
*inside* the LALR parser (lark's ``transformer=`` option), so no parse tree
is ever built: each reduced rule directly becomes a frozen AST node with its
:class:`Span`, computed from token positions. The checks Cedar makes after
parsing (scope shape, slots, reserved words, duplicate keys and annotations,
unknown functions and methods, escapes, integer range) run in the same pass
and are recorded as diagnostics, so one pass finds all of them.

A syntax error does not end the parse of a policy file: parsing resumes
after the next ``;`` that is followed by the start of a policy, with the
text before it blanked (kept as whitespace, so every position stays put).
Only the public functions raise: one :class:`ParseError` holding every
diagnostic, sorted, de-duplicated and capped.
"""

from __future__ import annotations

import difflib
import re
import threading
from dataclasses import replace
from importlib import resources

from lark import Lark
from lark.exceptions import UnexpectedCharacters, UnexpectedInput, UnexpectedToken

from ..errors import MAX_DIAGNOSTICS, Diagnostic, ParseError, Span, finish_diagnostics
from ..values import EntityUid
from . import fast
from .ast import (
    ActionConstraint,
    And,
    Annotation,
    BinOp,
    Comment,
    Condition,
    Expr,
    ExtCall,
    GetAttr,
    Has,
    If,
    Is,
    Like,
    Literal,
    MethodCall,
    Neg,
    Not,
    Or,
    Policy,
    RecordLit,
    ScopeConstraint,
    SetLit,
    Slot,
    SourceFile,
    Var,
)
from .lexer import CedarLexer, Token
from .strings import escape_diagnostics, unescape, unescape_pattern

# ---------------------------------------------------------------- Cedar facts

MIN_LONG = -(2**63)
MAX_LONG = 2**63 - 1

# Identifiers Cedar refuses as names, attributes and record keys (annotation
# keys may use them); `__cedar` is reserved as a name part as well.
RESERVED = frozenset({"true", "false", "if", "then", "else", "in", "is", "like", "has"})
RESERVED_NAME = "__cedar"
_NOT_A_NAME = RESERVED | {RESERVED_NAME}

VARIABLES = ("principal", "action", "resource", "context")
FUNCTIONS = ("ip", "decimal", "datetime", "duration")
# Built-in methods, whose arity Cedar checks while parsing; the extension
# methods' arity is checked when they are called.
BUILTIN_METHODS = {
    "contains": 1, "containsAll": 1, "containsAny": 1, "isEmpty": 0, "getTag": 1, "hasTag": 1,
}
EXTENSION_METHODS = frozenset({
    "lessThan", "lessThanOrEqual", "greaterThan", "greaterThanOrEqual",
    "isIpv4", "isIpv6", "isLoopback", "isMulticast", "isInRange",
    "offset", "durationSince", "toDate", "toTime",
    "toMilliseconds", "toSeconds", "toMinutes", "toHours", "toDays",
})
METHODS = frozenset(BUILTIN_METHODS) | EXTENSION_METHODS
SLOTS = ("?principal", "?resource")
SCOPE_VARS = ("principal", "action", "resource")
MAX_UNARY = 4  # Cedar accepts at most four `!` or `-` in a row

_SCOPE_HELP = "a scope is `(principal ..., action ..., resource ...)`, in this order"
_INT_HELP = f"Cedar integers range from {MIN_LONG} to {MAX_LONG}"


def _suggest(name: str, choices) -> str | None:
    close = difflib.get_close_matches(name, list(choices), n=1)
    return f"did you mean `{close[0]}`?" if close else None


def _one_of(words: list[str]) -> str:
    return words[0] if len(words) == 1 else ", ".join(words[:-1]) + " or " + words[-1]


class _ScopeVar:
    """One ``principal ...`` / ``action ...`` / ``resource ...`` of a scope."""

    __slots__ = ("var", "type_name", "op", "target", "span")

    def __init__(self, var: Token, type_name, op: Token | None, target, span: Span):
        self.var = var  # the variable's token
        self.type_name = type_name  # (name, span) after `is`, or None
        self.op = op  # the `==` / `in` token, or None
        self.target = target  # Literal uid, SLOT token, _UidList, or None
        self.span = span


class _UidList:
    """``[A::"a", B::"b"]`` in a scope (the uids are Literal nodes)."""

    __slots__ = ("uids", "span")

    def __init__(self, uids: tuple, span: Span):
        self.uids = uids
        self.span = span


# ---------------------------------------------------------------- the builder


class _Builder:
    """Turns each reduced grammar rule into an AST node (called by lark).

    One instance serves every parse; :func:`_parse` holds ``_LOCK`` while
    it runs, and ``begin`` resets the per-parse state.
    """

    def __init__(self):
        self.begin(None)

    def begin(self, source: str | None) -> None:
        self.source = source
        self.text = ""  # the text lark is reading (with any blanked prefix)
        self.diags: list[Diagnostic] = []
        self.comments: list[Comment] = []
        self.big: list[Literal] = []  # 9223372036854775808s waiting for a `-`
        self.slots: list[Slot] = []  # slots seen since the last condition

    # -- helpers

    def _tspan(self, t: Token) -> Span:
        return Span(t.start_pos, t.end_pos, t.line, t.column, t.end_line, t.end_column, self.source)

    def _join(self, a: Span, b: Span) -> Span:
        return Span(a.start, b.end, a.line, a.column, b.end_line, b.end_column, self.source)

    def _tokens(self, a: Token, b: Token) -> Span:
        """The span from token ``a`` through token ``b``."""
        return Span(a.start_pos, b.end_pos, a.line, a.column, b.end_line, b.end_column, self.source)

    def _err(self, code: str, message: str, span: Span, help: str | None = None) -> None:
        self.diags.append(Diagnostic(code, message, span, help))

    def _name(self, t: Token) -> str:
        """An identifier used as a name part, attribute or key: not a reserved one."""
        v = t.value
        if v not in _NOT_A_NAME:
            return v
        if v in RESERVED:
            self._err(
                "reserved-identifier",
                f"`{v}` is a reserved word and cannot be used here",
                self._tspan(t),
                f'where a string is allowed, quote it: `has "{v}"`, `["{v}"]`, `{{"{v}": ...}}`',
            )
        elif v == RESERVED_NAME:
            self._err("reserved-identifier", "`__cedar` is reserved for Cedar", self._tspan(t))
        return v

    def _string(self, t: Token) -> str:
        body = t.value[1:-1]
        value, bad = unescape(body)
        if bad:
            self.diags.extend(escape_diagnostics(body, self._tspan(t), bad))
        return value

    def _flush_big(self) -> None:
        for lit in self.big:
            self._err(
                "int-overflow", f"integer literal `{lit.value}` is too large", lit.span, _INT_HELP
            )
        self.big.clear()

    def comment(self, t: Token) -> None:
        """Lexer callback: keep ``// ...`` comments for the formatter."""
        self.comments.append(Comment(t.value[2:], self._tspan(t)))

    # -- policies

    def policies(self, c):
        return tuple(c)

    def annotations(self, c):
        return c

    def annotation(self, c):
        at, key, value, close = c
        if value is None:
            return Annotation(key.value, None, self._tokens(at, key))
        span = self._tokens(at, close)
        return Annotation(key.value, self._string(value), span)

    def scope(self, c):
        return c

    def scope_var(self, c):
        var, _is, path, op, target = c
        type_name = None
        end = self._tspan(var)
        if path is not None:
            type_name = (self._path_name(path), self._tokens(path[0], path[-1]))
            end = type_name[1]
        if target is not None:
            end = self._tspan(target) if target.__class__ is Token else target.span
        return _ScopeVar(var, type_name, op, target, self._join(self._tspan(var), end))

    def uid_list(self, c):
        return _UidList(tuple(c[1:-1]), self._tokens(c[0], c[-1]))

    def conditions(self, c):
        return c

    def condition(self, c):
        kw, expr, close = c
        span = self._tokens(kw, close)
        kind = kw.value
        if kind not in ("when", "unless"):
            self._err(
                "invalid-condition",
                f"unknown condition `{kind}`, expected `when` or `unless`",
                self._tspan(kw),
                _suggest(kind, ("when", "unless")),
            )
        if expr is None:
            self._err("empty-condition", f"the `{kind}` condition is empty", span,
                      f"write `{kind} {{ true }}` or leave the clause out")
            expr = Literal(True, span)
        for slot in self.slots:
            self._err(
                "invalid-slot",
                f"template slot `{slot.name}` in a `{kind}` condition",
                slot.span,
                "template slots may appear only in the policy scope",
            )
        self.slots.clear()
        return Condition(kind, expr, span)

    def policy(self, c):
        annotations, effect, scope, close, conditions, semi = c
        seen = set()
        kept = []
        for a in annotations:
            if a.key in seen:
                self._err("duplicate-annotation", f"duplicate annotation `@{a.key}`", a.span,
                          "each annotation may appear once per policy")
            else:
                seen.add(a.key)
                kept.append(a)
        if effect.value not in ("permit", "forbid"):
            self._err(
                "invalid-effect",
                f"unknown effect `{effect.value}`, expected `permit` or `forbid`",
                self._tspan(effect),
                _suggest(effect.value, ("permit", "forbid")),
            )
        principal, action, resource = self._scope(scope, close)
        start = annotations[0].span if annotations else self._tspan(effect)
        self._flush_big()
        return Policy(
            effect.value, principal, action, resource, tuple(conditions), tuple(kept),
            self._join(start, self._tspan(semi)),
        )

    def _scope(self, items: list[_ScopeVar], close: Token):
        for want, item in zip(SCOPE_VARS, items, strict=False):
            if item.var.value != want:
                self._err("invalid-scope", f"expected `{want}`, found `{item.var.value}`",
                          self._tspan(item.var), _SCOPE_HELP)
                return ScopeConstraint("any"), ActionConstraint("any"), ScopeConstraint("any")
        if len(items) < 3:
            self._err("invalid-scope", f"the scope is missing `{SCOPE_VARS[len(items)]}`",
                      self._tspan(close), _SCOPE_HELP)
            return ScopeConstraint("any"), ActionConstraint("any"), ScopeConstraint("any")
        for extra in items[3:]:
            self._err("invalid-scope", f"unexpected `{extra.var.value}` in the scope",
                      extra.span, _SCOPE_HELP)
        return (
            self._entity_scope(items[0], "?principal"),
            self._action_scope(items[1]),
            self._entity_scope(items[2], "?resource"),
        )

    def _scope_op(self, item: _ScopeVar) -> str | None:
        """The operator (``==`` / ``in``) of a scope item, after checking it."""
        op = item.op
        if op is None:
            return None
        if op.value not in ("==", "in"):
            self._err(
                "invalid-scope",
                f"`{op.value}` cannot appear in the policy scope",
                self._tspan(op),
                "the scope uses `==` or `in`" + (" (`=` is not an operator)" if op.value == "=" else ""),
            )
            return None
        return op.value

    def _entity_scope(self, item: _ScopeVar, slot: str) -> ScopeConstraint:
        var = item.var.value
        op = self._scope_op(item)
        type_name = item.type_name[0] if item.type_name else None
        if type_name is not None and op == "==":
            self._err("invalid-scope", "`is` cannot be combined with `==`", self._tspan(item.op),
                      f"use `{var} is {type_name} in ...` or `{var} == ...`")
            op = None
        if op is None:
            kind = "is" if type_name is not None else "any"
            return ScopeConstraint(kind, None, type_name, item.span)
        kind = {"==": "eq", "in": "in"}[op] if type_name is None else "is_in"
        target = item.target
        entity: EntityUid | Slot | None = None
        if target.__class__ is Literal:
            entity = target.value
        elif target.__class__ is Token:  # a slot
            span = self._tspan(target)
            if target.value == slot:
                entity = Slot(slot, span)
            elif target.value in SLOTS:
                self._err("invalid-slot", f"`{target.value}` cannot appear in the {var} scope",
                          span, f"use `{slot}` here")
            else:
                self._err("invalid-slot", f"unknown template slot `{target.value}`", span,
                          "the slots are `?principal` and `?resource`")
        else:
            self._err(
                "invalid-scope",
                f"a list of entities cannot appear in the {var} scope",
                target.span,
                f"only the action scope takes a list; move `{var} in [...]` to a `when` condition",
            )
        return ScopeConstraint(kind, entity, type_name, item.span)

    def _action_scope(self, item: _ScopeVar) -> ActionConstraint:
        if item.type_name is not None:
            self._err("invalid-scope", "`is` cannot appear in the action scope", item.span,
                      'use `action == Action::"name"` or `action in [...]`')
            return ActionConstraint("any", span=item.span)
        op = self._scope_op(item)
        if op is None:
            return ActionConstraint("any", span=item.span)
        target = item.target
        if target.__class__ is Token:
            self._err("invalid-slot", "template slots cannot appear in the action scope",
                      self._tspan(target))
            return ActionConstraint("any", span=item.span)
        is_list = target.__class__ is _UidList
        if is_list and op == "==":
            self._err("invalid-scope", "`action ==` takes one action, not a list", target.span,
                      "use `action in [...]` for a list of actions")
        lits = target.uids if is_list else (target,)
        for lit in lits:
            t = lit.value.type
            if t != "Action" and not t.endswith("::Action"):
                self._err(
                    "invalid-scope",
                    f"expected an action, found `{lit.value}`",
                    lit.span,
                    'actions have the type `Action` (or `Namespace::Action`), e.g. `Action::"view"`',
                )
        kind = "eq" if op == "==" else "in"
        return ActionConstraint(kind, tuple(lit.value for lit in lits), is_list, item.span)

    # -- names and literals

    def path(self, c):
        if len(c) == 1:
            return (c[0],)
        return c[0] + (c[1],)

    def _path_name(self, path: tuple) -> str:
        """A ``::`` path as a name, its reserved parts reported."""
        if len(path) == 1:
            return self._name(path[0])
        return "::".join([self._name(t) for t in path])

    def uid(self, c):
        path, s = c
        name = self._path_name(path)
        return Literal(EntityUid(name, self._string(s)), self._tokens(path[0], s))

    def name(self, c):
        path = c[0]
        name = self._path_name(path)
        span = self._tokens(path[0], path[-1])
        if name in VARIABLES:
            return Var(name, span)
        if "::" in name:
            self._err("invalid-expression", f"`{name}` is a type name, not a value", span,
                      f'an entity is written `{name}::"id"`')
        else:
            self._err(
                "unknown-variable",
                f"unknown variable `{name}`",
                span,
                _suggest(name, VARIABLES)
                or "the variables are `principal`, `action`, `resource` and `context`",
            )
        return Var(name, span)

    def true_(self, c):
        return Literal(True, self._tspan(c[0]))

    def false_(self, c):
        return Literal(False, self._tspan(c[0]))

    def int_(self, c):
        t = c[0]
        value = int(t.value)
        lit = Literal(value, self._tspan(t))
        if value > MAX_LONG:
            if value == MAX_LONG + 1:
                self.big.append(lit)  # valid only right after a `-`
            else:
                self._err("int-overflow", f"integer literal `{t.value}` is too large", lit.span,
                          _INT_HELP)
        return lit

    def string(self, c):
        t = c[0]
        return Literal(self._string(t), self._tspan(t))

    def slot(self, c):
        t = c[0]
        s = Slot(t.value, self._tspan(t))
        if t.value not in SLOTS:
            self._err("invalid-slot", f"unknown template slot `{t.value}`", s.span,
                      "the slots are `?principal` and `?resource`")
        self.slots.append(s)
        return s

    # -- compound expressions

    def paren(self, c):
        # The span takes in the parentheses; that also tells `-(5)` from `-5`.
        return replace(c[1], span=self._tokens(c[0], c[2]))

    def args(self, c):
        return tuple(c)

    def set_(self, c):
        return SetLit(c[1] or (), self._tokens(c[0], c[2]))

    def entries(self, c):
        return c

    def entry(self, c):
        key, value = c
        name = self._string(key) if key.type == "STRING" else self._name(key)
        return name, value, self._tspan(key)

    def record(self, c):
        items = []
        seen = set()
        for key, value, span in c[1] or ():
            if key in seen:
                self._err("duplicate-key", f"duplicate key `{key}` in record literal", span,
                          "each key may appear once in a record")
                continue
            seen.add(key)
            items.append((key, value))
        return RecordLit(tuple(items), self._tokens(c[0], c[2]))

    def call(self, c):
        path, args, close = c
        name = self._path_name(path)
        span = self._tokens(path[0], path[-1])
        if name not in FUNCTIONS:
            self._err(
                "unknown-function",
                f"unknown function `{name}`",
                span,
                _suggest(name, FUNCTIONS)
                or "the functions are `ip`, `decimal`, `datetime` and `duration`",
            )
        return ExtCall(name, args or (), self._tokens(path[0], close))

    def attr(self, c):
        m, t = c
        return GetAttr(m, self._name(t), self._join(m.span, self._tspan(t)))

    def index(self, c):
        m, s, close = c
        return GetAttr(m, self._string(s), self._join(m.span, self._tspan(close)))

    def method(self, c):
        m, t, args, close = c
        args = args or ()
        span = self._join(m.span, self._tspan(close))
        name = t.value
        if name in _NOT_A_NAME:
            self._name(t)  # reports it
        elif name not in METHODS:
            self._err("unknown-method", f"unknown method `{name}`", self._tspan(t),
                      _suggest(name, METHODS))
        else:
            arity = BUILTIN_METHODS.get(name)
            if arity is not None and len(args) != arity:
                want = "no arguments" if arity == 0 else "one argument"
                self._err("wrong-arity", f"`{name}` takes {want}, but was given {len(args)}",
                          span)
        return MethodCall(m, name, args, span)

    def not_(self, c):
        return self._unary(c, Not, "!")

    def neg(self, c):
        m = c[-1]
        if m.__class__ is Literal and m.value.__class__ is int and self.text[m.span.start] != "(":
            # `-5` is the literal -5: Cedar folds the `-` next to a number.
            if m.value == MAX_LONG + 1:
                self.big = [b for b in self.big if b is not m]
            t = c[-2]
            folded = Literal(-m.value, self._join(self._tspan(t), m.span))
            return self._unary(c[:-2] + [folded], Neg, "-", len(c) - 1)
        return self._unary(c, Neg, "-")

    def _unary(self, c, cls, op: str, count: int | None = None):
        e = c[-1]
        n = len(c) - 1 if count is None else count
        if n > MAX_UNARY:
            self._err("too-many-operators", f"too many `{op}` in a row ({n})",
                      self._join(self._tspan(c[0]), e.span),
                      f"Cedar allows at most {MAX_UNARY}; use parentheses")
        end = e.span
        for t in reversed(c[:-1]):
            e = cls(e, self._join(self._tspan(t), end))
        return e

    def _binop(self, op: str, c) -> BinOp:
        left, right = c[0], c[-1]
        return BinOp(op, left, right, self._join(left.span, right.span))

    def eq(self, c):
        return self._binop("==", c)

    def ne(self, c):
        return self._binop("!=", c)

    def lt(self, c):
        return self._binop("<", c)

    def le(self, c):
        return self._binop("<=", c)

    def gt(self, c):
        return self._binop(">", c)

    def ge(self, c):
        return self._binop(">=", c)

    def in_(self, c):
        return self._binop("in", c)

    def add(self, c):
        return self._binop("+", c)

    def sub(self, c):
        return self._binop("-", c)

    def mul(self, c):
        return self._binop("*", c)

    def single_eq(self, c):
        left, right = c
        span = self._join(left.span, right.span)
        self._err("invalid-operator", "`=` is not a Cedar operator", span, "use `==` to compare")
        return BinOp("==", left, right, span)  # a stand-in: the parse fails anyway

    def div(self, c):
        return self._no_such_op(c, "Cedar has no division operator")

    def mod(self, c):
        return self._no_such_op(c, "Cedar has no remainder operator")

    def _no_such_op(self, c, message: str):
        left, op, right = c
        self._err("invalid-operator", f"{message} `{op.value}`", self._tspan(op))
        return BinOp("*", left, right, self._join(left.span, right.span))  # a stand-in

    def and_(self, c):
        left, right = c
        return And(left, right, self._join(left.span, right.span))

    def or_(self, c):
        left, right = c
        return Or(left, right, self._join(left.span, right.span))

    def if_(self, c):
        t, cond, then, else_ = c
        return If(cond, then, else_, self._join(self._tspan(t), else_.span))

    def has_path(self, c):
        if c[0].type == "STRING":
            return (self._string(c[0]),), c[0]
        return tuple([self._name(t) for t in c]), c[-1]

    def has(self, c):
        e, _, (attrs, last) = c
        return Has(e, attrs, self._join(e.span, self._tspan(last)))

    def like(self, c):
        e, _, s = c
        span = self._tspan(s)
        body = s.value[1:-1]
        pattern, bad = unescape_pattern(body)
        if bad:
            self.diags.extend(escape_diagnostics(body, span, bad))
        return Like(e, pattern, self._join(e.span, span))

    def is_(self, c):
        e, _, path, _, other = c
        name = self._path_name(path)
        if other is None:
            return Is(e, name, None, self._join(e.span, self._tspan(path[-1])))
        return Is(e, name, other, self._join(e.span, other.span))


# ---------------------------------------------------------------- the parser


_BUILDER = _Builder()
_LOCK = threading.Lock()
_PARSER = Lark(
    resources.files(__package__).joinpath("cedar.lark").read_text(encoding="utf-8"),
    parser="lalr",
    lexer=CedarLexer,
    start=["policies", "expr", "uid"],
    transformer=_BUILDER,
    maybe_placeholders=True,
    lexer_callbacks={"COMMENT": _BUILDER.comment},
)


def _parse(text: str, source: str | None, start: str):
    """Parse valid text the fast way, else with lark (which explains what is wrong)."""
    try:
        if start == "policies":
            return fast.parse_file(text, source)
        if start == "expr":
            return fast.parse_expression(text, source), []
    except fast.Fallback:
        pass
    return _parse_lark(text, source, start)


def _parse_lark(text: str, source: str | None, start: str):
    """Run the lark parser; return (result, comments) or raise one ParseError."""
    with _LOCK:
        b = _BUILDER
        b.begin(source)
        work = text
        result = None
        while True:
            b.text = work
            try:
                result = _PARSER.parse(work, start=start)
                b._flush_big()
                break
            except UnexpectedInput as err:
                b.big.clear()
                diag, at = _syntax_diagnostic(err, source)
                b.diags.append(diag)
                if start != "policies" or len(b.diags) >= MAX_DIAGNOSTICS:
                    break
                resume = _resume_point(work, at)
                if resume >= len(text):
                    break
                work = _NOT_NEWLINE.sub(" ", text[:resume]) + text[resume:]
        diags, comments = b.diags, b.comments
        b.begin(None)
    if diags:
        diags = [replace(d, source_text=text) for d in finish_diagnostics(diags)]
        first = diags[0]
        where = f"{source or '<input>'}:{first.span.line}:{first.span.column}: " if first.span else ""
        more = f" (and {len(diags) - 1} more)" if len(diags) > 1 else ""
        raise ParseError(f"{where}{first.message}{more}", diags)
    return result, comments


# `;`s that can end a policy: outside strings and comments.
_TOP_LEVEL = re.compile(r'"(?:\\.|[^"\\])*"|//[^\n\r]*|;')
_POLICY_START = re.compile(r"(?:\s+|//[^\n\r]*)*(?:@|permit\b|forbid\b|\Z)")
_NOT_NEWLINE = re.compile(r"[^\n]")


def _resume_point(text: str, at: int) -> int:
    """Where to resume after an error at ``at``: past the next ``;`` that is
    followed by the start of a policy, or the end of the text."""
    for m in _TOP_LEVEL.finditer(text, at):
        if m.group() == ";" and _POLICY_START.match(text, m.end()):
            return m.end()
    return len(text)


# ---------------------------------------------------------------- syntax errors

_DESCRIBE = {
    "IDENT": "an identifier", "INT": "an integer", "STRING": "a string",
    "SLOT": "a template slot", "$END": "the end of the input",
}
_EXPR_START = frozenset(
    {"IDENT", "INT", "STRING", "SLOT", "(", "[", "{", "!", "-", "true", "false", "if"}
)
_OPERATORS = frozenset({
    "==", "!=", "<", "<=", ">", ">=", "=", "in", "has", "like", "is",
    "+", "-", "*", "/", "%", "&&", "||", ".", "[",
})
_RELATIONS = frozenset({"==", "!=", "<", "<=", ">", ">=", "=", "in", "has", "like", "is"})
# Where IDENT can only be one of a few words, name them.
_WORDS_FOR_IDENT = {
    frozenset({";", "IDENT"}): ("`when`", "`unless`"),
    frozenset({"@", "IDENT", "$END"}): ("`permit`", "`forbid`"),
    frozenset({"@", "IDENT"}): ("`permit`", "`forbid`"),
}
# Closers and separators are the likeliest fix: list them first.
_FIRST = (";", ")", "}", "]", ",", ":", "::", "(", "{", "==", "in", "is", "@")
_CHAR_HELP = {
    "'": "strings use double quotes",
    "&": "use `&&` for a logical and",
    "|": "use `||` for a logical or",
}


def _terminal_texts() -> dict[str, str]:
    """Terminal name -> the text it stands for (``==`` for ``__ANON_0``)."""
    return {t.name: t.pattern.value for t in _PARSER.terminals if t.pattern.type == "str"}


_TEXTS = _terminal_texts()


def _expected(wanted: set[str]) -> str:
    """Readable list of what the parser would have accepted."""
    words = _WORDS_FOR_IDENT.get(frozenset(wanted), ())
    if words:
        wanted = wanted - {"IDENT"}
    elif "IDENT" in wanted and "true" in wanted and "INT" not in wanted:
        wanted = wanted - RESERVED  # any identifier fits; the keywords add noise
    tail = list(words)
    if {"INT", "(", "!"} <= wanted:
        tail.append("an expression")
        wanted = wanted - _EXPR_START
    if {"==", "is"} <= wanted and "&&" not in wanted:  # in the policy scope
        wanted = (wanted - _OPERATORS) | {"==", "in", "is"}
    elif len(wanted & _OPERATORS) >= 3:
        tail.append("an operator")
        wanted = wanted - _OPERATORS
    order = {w: i for i, w in enumerate(_FIRST)}
    shown = [f"`{w}`" for w in sorted(wanted - _DESCRIBE.keys(), key=lambda w: (order.get(w, 99), w))]
    shown += tail
    shown += [_DESCRIBE[w] for w in sorted(wanted & _DESCRIBE.keys())]
    return _one_of(shown) if shown else "nothing more"


def _accepted(err: UnexpectedToken) -> set[str]:
    """The texts of the terminals the parser accepted where it stopped."""
    state = err.state
    names = state.parse_conf.states[state.position] if state is not None else err.expected
    return {_TEXTS.get(n, n) for n in names if n.isupper() or n == "$END"}


def _after_effect(err: UnexpectedToken) -> bool:
    """Did the parser just read `permit` or `forbid` where a condition may start?"""
    stack = err.state.value_stack if err.state is not None else ()
    top = stack[-1] if stack else None
    return top.__class__ is Token and top.value in ("permit", "forbid")


def _found(t: Token) -> str:
    if t.type == "$END":
        return "end of input"
    v = t.value if len(t.value) <= 30 else t.value[:27] + "..."
    kind = {"IDENT": "identifier ", "INT": "integer ", "STRING": "string ", "SLOT": "slot "}
    return f"{kind.get(t.type, '')}`{v}`"


def _syntax_diagnostic(err: UnexpectedInput, source: str | None) -> tuple[Diagnostic, int]:
    """A readable diagnostic for a lark error, and the offset it points at."""
    help = None
    if isinstance(err, UnexpectedToken):
        t = err.token
        wanted = _accepted(err)
        if t.type == "$END":
            at = t.end_pos or 0
            line, col = t.end_line or 1, t.end_column or 1
            span = Span(at, at, line, col, line, col, source)
        else:
            at = t.start_pos
            span = Span(at, t.end_pos, t.line, t.column, t.end_line, t.end_column, source)
        message = f"unexpected {_found(t)}, expected {_expected(wanted)}"
        text = _TEXTS.get(t.type)
        if text in _RELATIONS and "&&" in wanted:
            message = f"unexpected `{t.value}` after a comparison"
            help = "comparisons do not chain: add parentheses, e.g. `(a == b) == c`"
        elif text == "if" and "INT" in wanted:
            help = "an `if ... then ... else ...` operand needs parentheses"
        elif wanted == {"{"} and _after_effect(err):
            help = "a `;` may be missing before this policy"
        elif text == ";" and "}" in wanted:
            help = "a `}` may be missing"
        elif text == "}" and ";" in wanted:
            help = "a `;` may be missing"
        elif wanted == {"::"}:
            help = 'an entity is written `Type::"id"`'
    else:
        assert isinstance(err, UnexpectedCharacters)
        at = err.pos_in_stream
        ch = err.char
        span = Span(at, at + 1, err.line, err.column, err.line, err.column + 1, source)
        if ch == '"':
            message = "unterminated string"
            help = 'close it with `"`; a `\\` cannot come right before a line break'
        else:
            message = f"unexpected character `{ch}`"
            help = _CHAR_HELP.get(ch)
    return Diagnostic("syntax", message, span, help), at


# ---------------------------------------------------------------- public API


def parse_file(text: str, source: str | None = None) -> SourceFile:
    """Parse a policy file: its policies in order and its comments."""
    policies, comments = _parse(text, source, "policies")
    return SourceFile(policies, tuple(comments), text, source)


def parse_policies(text: str, source: str | None = None) -> tuple[Policy, ...]:
    """Parse a policy file and return its policies in order."""
    return _parse(text, source, "policies")[0]


def parse_expression(text: str, source: str | None = None) -> Expr:
    """Parse one Cedar expression, as found in a ``when`` clause.

    Template slots are accepted here (as :class:`Slot` nodes); policies
    allow them only in the scope.
    """
    return _parse(text, source, "expr")[0]


_IDENT = r"[_a-zA-Z][_a-zA-Z0-9]*"
_PLAIN_UID = re.compile(rf'({_IDENT}(?:::{_IDENT})*)::"([^"\\\r]*)"')


def parse_entity_uid(text: str) -> EntityUid:
    """Parse an entity uid such as ``User::"alice"`` or ``A::B::"x\\n"``."""
    m = _PLAIN_UID.fullmatch(text)
    if m is not None:  # the common case, without lark
        parts = m.group(1).split("::")
        if not any(p in RESERVED or p == RESERVED_NAME for p in parts):
            return EntityUid(m.group(1), m.group(2))
    return _parse(text, None, "uid")[0].value
