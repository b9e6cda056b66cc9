"""AST -> layout: one ``visit_<Node>`` method per expression node.

The canonical layout, modelled on ``cedar format`` at its 80 columns:

- annotations one per line, then ``permit (principal, action, resource)`` on
  one line if it fits, else each scope element on its own line, indented two
  spaces;
- each ``when``/``unless`` on its own line: ``when { ... }`` if it fits,
  else the body on its own lines, indented;
- a chain of ``&&`` (or ``||``) breaks after every operator when it does not
  fit; other operators break after the operator, indenting the right side;
  sets, records and argument lists break one element per line;
- single spaces around binary operators and after commas and colons;
  parentheses only where precedence needs them; strings escaped as Cedar
  prints them.

Comments are placed by source position, as the tree is walked in source
order: before an expression (or keyword, or closing bracket) go the
comments that come before it in the source; a comment right after an
expression follows the outermost expression ending there, and one next to
a binary operator follows the operator (``a && // why``). Placing them by
the outermost expression, not the innermost, is what keeps formatting
idempotent when it drops redundant parentheses. How a comment is written
(at the end of a line, or on its own) is :mod:`plainpdp.format.doc`'s part.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from ..syntax import ast
from ..syntax.parser import RESERVED, RESERVED_NAME
from ..values import EntityUid, escape_string
from .doc import (
    HARDLINE,
    LINE,
    SOFTLINE,
    Doc,
    LeadingComment,
    TrailingComment,
    group,
    join,
    nest,
    render,
)

WIDTH = 80
INDENT = 2

_IDENT = re.compile(r"[_a-zA-Z][_a-zA-Z0-9]*")

# Precedence levels, loosest first, following Cedar's grammar: an operand
# printed where a tighter level is required gets parentheses.
_IF, _OR, _AND, _REL, _SUM, _PRODUCT, _UNARY, _MEMBER, _PRIMARY = range(9)
_LEVEL = {
    "==": _REL, "!=": _REL, "<": _REL, "<=": _REL, ">": _REL, ">=": _REL, "in": _REL,
    "+": _SUM, "-": _SUM, "*": _PRODUCT,
}


def is_name(word: str) -> bool:
    """May ``word`` be written bare as an attribute or record key?"""
    return bool(_IDENT.fullmatch(word)) and word not in RESERVED and word != RESERVED_NAME


def quote(text: str) -> str:
    return f'"{escape_string(text)}"'


def show_uid(uid: EntityUid) -> str:
    return f"{uid.type}::{quote(uid.id)}"


def _pattern(pattern: ast.LikePattern) -> str:
    parts = []
    for piece in pattern:
        if piece is ast.WILDCARD:
            parts.append("*")
        else:
            parts.append(escape_string(piece).replace("*", "\\*"))  # type: ignore[arg-type]
    return '"' + "".join(parts) + '"'


def _level(e: ast.Expr) -> int:
    cls = e.__class__
    if cls is ast.If:
        return _IF
    if cls is ast.Or:
        return _OR
    if cls is ast.And:
        return _AND
    if cls is ast.BinOp:
        return _LEVEL[e.op]  # type: ignore[union-attr]
    if cls in (ast.Has, ast.Like, ast.Is):
        return _REL
    if cls in (ast.Not, ast.Neg):
        return _UNARY
    if cls is ast.Literal and e.value.__class__ is int and e.value < 0:  # type: ignore[union-attr,operator]
        return _UNARY  # `-5` is one token pair: `(-5).x`, `!(-5)`
    if cls in (ast.GetAttr, ast.MethodCall):
        return _MEMBER
    return _PRIMARY


class PolicyPrinter:
    """Lays out the policies of one source text, placing its comments.

    ``comments`` are the comments inside (or on the last line of) the
    policies to print, in source order; each is emitted exactly once.
    """

    def __init__(self, text: str, comments: list[ast.Comment]):
        self.text = text
        self.comments = comments
        self.next = 0  # the first comment not yet emitted

    # -- comments

    def _trailing_in_source(self, c: ast.Comment) -> bool:
        line_start = self.text.rfind("\n", 0, c.span.start) + 1
        return bool(self.text[line_start:c.span.start].strip())

    def _emit(self, c: ast.Comment) -> Doc:
        self.next += 1
        if self._trailing_in_source(c):
            return TrailingComment(c.text.rstrip())
        return LeadingComment(c.text.rstrip())

    def before(self, offset: int) -> list:
        """The comments not yet emitted that start before ``offset``."""
        out: list = []
        while self.next < len(self.comments) and self.comments[self.next].span.start < offset:
            out.append(self._emit(self.comments[self.next]))
        return out

    def after(self, offset: int) -> list:
        """A comment right after ``offset``, with only spaces between."""
        if self.next < len(self.comments):
            c = self.comments[self.next]
            if c.span.start >= offset and not self.text[offset:c.span.start].strip():
                return [self._emit(c)]
        return []

    def rest(self) -> list:
        """Every comment not yet emitted, so that none is ever lost."""
        return self.before(len(self.text) + 1)

    def _token_at(self, offset: int, skip: str = "") -> int:
        """The offset of the next token at or after ``offset``: whitespace,
        comments and the characters in ``skip`` passed over."""
        text, n = self.text, len(self.text)
        while offset < n:
            ch = text[offset]
            if ch.isspace() or ch in skip:
                offset += 1
            elif text.startswith("//", offset):
                end = text.find("\n", offset)
                offset = n if end < 0 else end
            else:
                break
        return offset

    # -- policies

    def policy(self, p: ast.Policy) -> Doc:
        # Built strictly in source order, so each comment is met where it was.
        out: list = []
        for a in p.annotations:
            value = "" if a.value is None else f"({quote(a.value)})"
            out += [*self.before(a.span.start), f"@{a.key}{value}", *self.after(a.span.end),
                    HARDLINE]
        last = p.annotations[-1].span.end if p.annotations else p.span.start
        effect_at = self._token_at(last)
        open_at = self._token_at(effect_at + len(p.effect))
        close_at = self._token_at(p.resource.span.end, skip=",")
        out += self.before(effect_at)
        head: list = [p.effect, *self.before(open_at), " ("]
        scope: list = [self._scope_item(p.principal, "principal"), ",", LINE]
        scope += [self._scope_item(p.action, "action"), ",", LINE]
        scope += [self._scope_item(p.resource, "resource"), *self.before(close_at)]
        out += [group(*head, nest(INDENT, SOFTLINE, scope), SOFTLINE, ")"),
                *self.after(close_at + 1)]
        for c in p.conditions:
            out += [HARDLINE, self.condition(c)]
        out += [*self.before(p.span.end - 1), ";", *self.after(p.span.end)]
        return out

    def _scope_item(self, c: ast.ScopeConstraint | ast.ActionConstraint, var: str) -> Doc:
        out: list = self.before(c.span.start)
        if isinstance(c, ast.ActionConstraint):
            if c.kind == "any":
                body: Doc = var
            elif c.kind == "eq":
                body = f"{var} == {show_uid(c.entities[0])}"
            elif c.is_list:
                items = [show_uid(u) for u in c.entities]
                body = [f"{var} in ", self._bracketed("[", items, "]", c.span.end - 1)]
            else:
                body = f"{var} in {show_uid(c.entities[0])}"
        else:
            target = c.entity.name if isinstance(c.entity, ast.Slot) else (
                show_uid(c.entity) if c.entity is not None else "")
            body = {
                "any": var,
                "eq": f"{var} == {target}",
                "in": f"{var} in {target}",
                "is": f"{var} is {c.entity_type}",
                "is_in": f"{var} is {c.entity_type} in {target}",
            }[c.kind]
        return [*out, body, *self.after(c.span.end)]

    def condition(self, c: ast.Condition) -> Doc:
        brace_at = self._token_at(c.span.start + len(c.kind))
        close_at = c.span.end - 1
        return [
            *self.before(c.span.start),
            group(
                c.kind, *self.before(brace_at), " {",
                nest(INDENT, LINE, self.expr(c.expr), *self.before(close_at)),
                LINE, "}",
            ),
        ]

    # -- expressions

    def expr(self, e: ast.Expr, level: int = _IF, trail: bool = True) -> Doc:
        """``e`` as a document, in parentheses if it binds looser than ``level``.

        ``trail=False``: the comment right after ``e`` is placed by the
        caller: after the operator it writes next, or after the expression
        ``e`` ends (a comment goes after the outermost expression ending
        where it stands, so it lands the same with or without parentheses).
        """
        # Comments before ``e`` or inside its opening parentheses lead the
        # outermost expression starting there, for the same reason.
        lead = self.before(self._token_at(e.span.start, skip="("))
        doc = _VISIT[e.__class__](self, e)
        if _level(e) < level:
            doc = group("(", nest(INDENT, SOFTLINE, doc), SOFTLINE, ")")
        return [*lead, doc, *(self.after(e.span.end) if trail else ())]

    def _op(self, left: ast.Expr, text: str) -> list:
        """``text``, an operator or keyword written after ``left``, with the
        comments before it in the source."""
        return [*self.before(self._token_at(left.span.end)), text]

    def _infix(self, left: ast.Expr, text: str) -> list:
        """A binary operator after ``left``, with the comments around it after
        it: ``a && // why``, where the line breaks anyway."""
        return [text, *self.before(self._token_at(left.span.end) + 1)]

    def _bracketed(self, open_: str, items: list, close: str, close_at: int) -> Doc:
        """``[a, b]``, ``{k: v}`` or ``(args)``; ``close_at``: where it ends in the source."""
        if not items:
            return open_ + close
        inside = [*join([",", LINE], items), *self.before(close_at)]
        return group(open_, nest(INDENT, SOFTLINE, inside), SOFTLINE, close)

    def visit_Literal(self, e: ast.Literal) -> Doc:
        v = e.value
        if v is True:
            return "true"
        if v is False:
            return "false"
        if v.__class__ is int:
            return str(v)
        if v.__class__ is str:
            return quote(v)  # type: ignore[arg-type]
        return show_uid(v)  # type: ignore[arg-type]

    def visit_Var(self, e: ast.Var) -> Doc:
        return e.name

    def visit_Slot(self, e: ast.Slot) -> Doc:
        return e.name

    def visit_If(self, e: ast.If) -> Doc:
        cond = self.expr(e.cond)
        then = [*self._op(e.cond, "then "), self.expr(e.then)]
        else_ = [*self._op(e.then, "else "), self.expr(e.else_, trail=False)]
        return group("if ", cond, nest(INDENT, LINE, then, LINE, else_))

    def _chain(self, e: ast.Expr, cls: type, op: str, level: int) -> Doc:
        operands = []
        while e.__class__ is cls:
            operands.append(e.right)  # type: ignore[attr-defined]
            e = e.left  # type: ignore[attr-defined]
        operands.append(e)
        operands.reverse()
        docs = []
        for i, x in enumerate(operands):
            if i:
                docs += [self._infix(operands[i - 1], f" {op}"), LINE]
            docs.append(self.expr(x, level + (i > 0), trail=False))
        return group(docs)

    def visit_Or(self, e: ast.Or) -> Doc:
        return self._chain(e, ast.Or, "||", _OR)

    def visit_And(self, e: ast.And) -> Doc:
        return self._chain(e, ast.And, "&&", _AND)

    def visit_Not(self, e: ast.Not) -> Doc:
        arg = e.arg
        return ["!", self.expr(arg, _UNARY if arg.__class__ is ast.Not else _MEMBER, trail=False)]

    def visit_Neg(self, e: ast.Neg) -> Doc:
        arg = e.arg
        if arg.__class__ is ast.Neg:
            return ["-", self.expr(arg, _UNARY, trail=False)]
        if arg.__class__ is ast.Literal and arg.value.__class__ is int:  # type: ignore[union-attr]
            # `-5` would read as the literal -5: keep the parentheses of `-(5)`.
            return ["-", group("(", self.expr(arg, trail=False), ")")]
        return ["-", self.expr(arg, _MEMBER, trail=False)]

    def visit_BinOp(self, e: ast.BinOp) -> Doc:
        level = _LEVEL[e.op]
        # Relations do not chain; + - * associate to the left.
        left = self.expr(e.left, _SUM if level == _REL else level, trail=False)
        op, *comments = self._infix(e.left, f" {e.op}")
        right = self.expr(e.right, _SUM if level == _REL else level + 1, trail=False)
        return group(left, op, nest(INDENT, *comments, LINE, right))

    def visit_Has(self, e: ast.Has) -> Doc:
        attrs = e.attrs
        if len(attrs) > 1 or is_name(attrs[0]):
            path = ".".join(attrs)
        else:
            path = quote(attrs[0])
        return [self.expr(e.expr, _SUM), *self._op(e.expr, f" has {path}")]

    def visit_Like(self, e: ast.Like) -> Doc:
        return [self.expr(e.expr, _SUM), *self._op(e.expr, f" like {_pattern(e.pattern)}")]

    def visit_Is(self, e: ast.Is) -> Doc:
        out = [self.expr(e.expr, _SUM), *self._op(e.expr, f" is {e.entity_type}")]
        if e.in_expr is not None:
            out += [" in ", self.expr(e.in_expr, _SUM, trail=False)]
        return out

    def visit_GetAttr(self, e: ast.GetAttr) -> Doc:
        recv = self.expr(e.expr, _MEMBER)
        if is_name(e.attr):
            return [recv, *self._op(e.expr, f".{e.attr}")]
        return [recv, *self._op(e.expr, f"[{quote(e.attr)}]")]

    def visit_MethodCall(self, e: ast.MethodCall) -> Doc:
        receiver = self.expr(e.receiver, _MEMBER)
        name = self._op(e.receiver, f".{e.name}")
        args = [self.expr(a) for a in e.args]
        return [receiver, *name, self._bracketed("(", args, ")", e.span.end - 1)]

    def visit_ExtCall(self, e: ast.ExtCall) -> Doc:
        return [e.name, self._bracketed("(", [self.expr(a) for a in e.args], ")", e.span.end - 1)]

    def visit_SetLit(self, e: ast.SetLit) -> Doc:
        return self._bracketed("[", [self.expr(x) for x in e.elems], "]", e.span.end - 1)

    def visit_RecordLit(self, e: ast.RecordLit) -> Doc:
        items = [[k if is_name(k) else quote(k), ": ", self.expr(v)] for k, v in e.items]
        return self._bracketed("{", items, "}", e.span.end - 1)


_VISIT: dict[type, Callable[[PolicyPrinter, ast.Expr], Doc]] = {
    cls: getattr(PolicyPrinter, f"visit_{cls.__name__}")
    for cls in (
        ast.Literal, ast.Var, ast.Slot, ast.If, ast.And, ast.Or, ast.Not, ast.Neg, ast.BinOp,
        ast.Has, ast.Like, ast.Is, ast.GetAttr, ast.MethodCall, ast.ExtCall, ast.SetLit,
        ast.RecordLit,
    )
}


# ------------------------------------------------------------------ files


def format_source(source: ast.SourceFile, width: int = WIDTH) -> str:
    """The canonical text of a parsed file, its comments kept."""
    text = source.text
    policies = source.policies
    # Comments inside a policy, or after it on its last line, go with it.
    owned: list[list[ast.Comment]] = [[] for _ in policies]
    loose: list[ast.Comment] = []
    i = 0
    for c in source.comments:
        at = c.span.start
        while i < len(policies) and policies[i].span.end <= at and (
            "\n" in text[policies[i].span.end:at]
            or i + 1 < len(policies) and policies[i + 1].span.start < at
        ):
            i += 1
        if i < len(policies) and policies[i].span.start <= at:
            owned[i].append(c)
        else:
            loose.append(c)
    items: list[tuple[int, int, bool, str]] = []  # (start, end, is_policy, text)
    for c in loose:
        items.append((c.span.start, c.span.end, False, "//" + c.text.rstrip()))
    for p, comments in zip(policies, owned, strict=True):
        printer = PolicyPrinter(text, comments)
        doc = [printer.policy(p), *printer.rest()]
        end = max([p.span.end, *(c.span.end for c in comments)])
        items.append((p.span.start, end, True, render(doc, width)))
    items.sort()
    blocks: list[str] = []
    for k, (start, _, _, block) in enumerate(items):
        if k:
            prev_end, prev_policy = items[k - 1][1], items[k - 1][2]
            if prev_policy or text.count("\n", prev_end, start) >= 2:
                blocks.append("")
        blocks.append(block)
    return "\n".join(blocks) + "\n" if blocks else ""
