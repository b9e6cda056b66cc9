"""Cedar's strict typechecker, one request environment at a time.

A policy is typechecked once per *request environment*: each (principal
type, action, resource type) the schema's ``appliesTo`` allows, with the
action's context. The policy's scope and conditions are checked as one
expression, ``principal-scope && action-scope && resource-scope && body``,
so a scope that cannot match an environment (``principal is Admin`` when the
principal is a ``User``) types as ``False`` and the body is not checked
there: errors are reported only where the policy could apply.

The rules follow Cedar's validator (``cedar-policy-core/src/validator/
typecheck.rs``, strict mode): singleton booleans short-circuit ``&&``,
``||`` and ``if``; *capabilities* (``e has a``, ``e.hasTag(t)``) learned on
the left of ``&&`` or in an ``if`` guard make ``e.a`` / ``e.getTag(t)`` safe
on the right; ``==``, ``contains``, set literals and ``if`` branches need a
least upper bound (strict: one entity type, records of one shape).

Problems are :class:`Issue` values; :mod:`plainpdp.check.validate` turns
them into diagnostics.
"""

from __future__ import annotations

import difflib
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass

from ..errors import EvaluationError, Span
from ..extensions import Datetime, Decimal, Duration, IPAddr
from ..schema import model as sm
from ..syntax import ast
from ..values import EntityUid, escape_string
from .types import (
    ANY_ENTITY,
    ANY_ENTITY_SET,
    ANY_RECORD,
    ANY_SET,
    BOOL,
    FALSE,
    LONG,
    STRING,
    TRUE,
    AnyEntityT,
    AttrT,
    BoolT,
    EntityT,
    ExtT,
    LongT,
    NeverT,
    NoUpperBound,
    RecordT,
    SchemaTypes,
    SetT,
    StringT,
    VType,
    disjoint,
    is_subtype,
    lub,
    lub_all,
    singleton,
)

EMPTY: frozenset = frozenset()

# ------------------------------------------------------------------ issues


@dataclass(frozen=True, slots=True)
class Issue:
    """One problem found while typechecking.

    ``message`` may hold ``{on}``, filled with the ``subject`` of every
    environment that hit the same problem at the same place (``entity
    type `User```, ``the context of `Action::"view"```), so one diagnostic
    covers them all.
    """

    code: str
    span: Span
    message: str
    help: str | None = None
    subject: tuple[str, str] | None = None
    # For an unknown attribute: its name and the attributes the subject has,
    # so a help line can be made for several environments at once.
    wanted: str | None = None
    known: tuple[str, ...] = ()


# ------------------------------------------------------------------ the schema


class SchemaView(SchemaTypes):
    """A schema's types plus the hierarchy questions the typechecker asks."""

    def __init__(self, schema: sm.Schema):
        super().__init__(schema)
        desc: dict[str, set[str]] = {n: set() for n in schema.entity_types}
        for name in schema.entity_types:
            for anc in schema.ancestor_types(name):
                desc.setdefault(anc, set()).add(name)
        self._type_desc = {k: frozenset(v) for k, v in desc.items()}
        adesc: dict[EntityUid, set[EntityUid]] = {u: set() for u in schema.actions}
        for uid in schema.actions:
            for anc in schema.action_ancestors(uid):
                adesc.setdefault(anc, set()).add(uid)
        self._action_desc = {k: frozenset(v) for k, v in adesc.items()}
        self._envs: list[RequestEnv] | None = None

    def known_entity_type(self, name: str) -> bool:
        return name in self.schema.entity_types or sm.is_action_type(name)

    def types_in(self, name: str) -> frozenset[str]:
        """Entity types whose entities may be ``in`` an entity of type ``name``."""
        return self._type_desc.get(name, frozenset()) | {name}

    def actions_in(self, uids: Sequence[EntityUid]) -> frozenset[EntityUid] | None:
        """The actions ``in`` any of these actions (themselves included); None if one is unknown."""
        out: set[EntityUid] = set()
        for u in uids:
            if u not in self.schema.actions:
                return None
            out.add(u)
            out |= self._action_desc.get(u, frozenset())
        return frozenset(out)

    def action_type_in(self, lhs: str, rhs: str) -> bool:
        """May an action of type ``lhs`` be in an entity of type ``rhs``?"""
        if lhs == rhs:
            return True
        for uid in self.schema.actions:
            if uid.type == rhs and any(d.type == lhs for d in self._action_desc.get(uid, ())):
                return True
        return False

    def request_envs(self) -> list[RequestEnv]:
        """Every (principal type, action, resource type) the schema allows."""
        if self._envs is None:
            envs = []
            for a in self.schema.actions.values():
                ctx = self.record(a.context)
                for p in a.principal_types:
                    for r in a.resource_types:
                        envs.append(RequestEnv(p, a.uid, r, ctx))
            self._envs = envs
        return self._envs


@dataclass(frozen=True, slots=True)
class RequestEnv:
    principal: str
    action: EntityUid
    resource: str
    context: RecordT
    principal_slot: str | None = None
    resource_slot: str | None = None


# ------------------------------------------------------------------ extension functions


@dataclass(frozen=True, slots=True)
class _ExtFn:
    params: tuple[VType, ...]
    ret: VType
    parse: Callable[[str], object] | None = None  # constructors check their literal
    what: str = ""


_IP, _DEC, _DT, _DUR = ExtT("ipaddr"), ExtT("decimal"), ExtT("datetime"), ExtT("duration")

EXTENSION_FUNCTIONS: dict[str, _ExtFn] = {
    "ip": _ExtFn((STRING,), _IP, IPAddr.parse, "an IP address"),
    "decimal": _ExtFn((STRING,), _DEC, Decimal.parse, "a decimal"),
    "datetime": _ExtFn((STRING,), _DT, Datetime.parse, "a datetime"),
    "duration": _ExtFn((STRING,), _DUR, Duration.parse, "a duration"),
    "isIpv4": _ExtFn((_IP,), BOOL),
    "isIpv6": _ExtFn((_IP,), BOOL),
    "isLoopback": _ExtFn((_IP,), BOOL),
    "isMulticast": _ExtFn((_IP,), BOOL),
    "isInRange": _ExtFn((_IP, _IP), BOOL),
    "lessThan": _ExtFn((_DEC, _DEC), BOOL),
    "lessThanOrEqual": _ExtFn((_DEC, _DEC), BOOL),
    "greaterThan": _ExtFn((_DEC, _DEC), BOOL),
    "greaterThanOrEqual": _ExtFn((_DEC, _DEC), BOOL),
    "offset": _ExtFn((_DT, _DUR), _DT),
    "durationSince": _ExtFn((_DT, _DT), _DUR),
    "toDate": _ExtFn((_DT,), _DT),
    "toTime": _ExtFn((_DT,), _DUR),
    "toMilliseconds": _ExtFn((_DUR,), LONG),
    "toSeconds": _ExtFn((_DUR,), LONG),
    "toMinutes": _ExtFn((_DUR,), LONG),
    "toHours": _ExtFn((_DUR,), LONG),
    "toDays": _ExtFn((_DUR,), LONG),
}

# Types `<` and `<=` accept besides Long (Cedar's operator overloading).
_ORDERED_EXTENSIONS = (_DT, _DUR)
_COMPARABLE: tuple[VType, ...] = (LONG, *_ORDERED_EXTENSIONS)

_BUILTIN_METHODS = ("contains", "containsAll", "containsAny", "isEmpty", "getTag", "hasTag")


# ------------------------------------------------------------------ answers


class Ans:
    """A typechecking answer: success, the type (None if unknown), capabilities."""

    __slots__ = ("ok", "ty", "caps")

    def __init__(self, ok: bool, ty: VType | None, caps: frozenset = EMPTY):
        self.ok = ok
        self.ty = ty
        self.caps = caps if ok else EMPTY

    def failed(self) -> Ans:
        return self if not self.ok else Ans(False, self.ty)

    def __repr__(self) -> str:
        return f"Ans({'ok' if self.ok else 'fail'}, {self.ty}, {set(self.caps)})"


def _ok(ty: VType | None, caps: frozenset = EMPTY) -> Ans:
    return Ans(True, ty, caps)


def _fail(ty: VType | None = None) -> Ans:
    return Ans(False, ty)


def _attr_cap(expr: ast.Expr, attr: str) -> tuple:
    return ("attr", expr, attr)


def _tag_cap(expr: ast.Expr, tag: ast.Expr) -> tuple:
    return ("tag", expr, tag)


def _suggest(name: str, choices: Sequence[str]) -> str | None:
    close = difflib.get_close_matches(name, list(choices), n=1)
    return f"did you mean `{close[0]}`?" if close else None


def attribute_list(known: Sequence[str], limit: int = 8) -> str:
    """``its attributes are `a`, `b` and 3 more`` (or ``it has no attributes``)."""
    if not known:
        return "it has no attributes"
    shown = [f"`{k}`" for k in known[:limit]]
    if len(known) > limit:
        shown.append(f"{len(known) - limit} more")
    listed = shown[0] if len(shown) == 1 else ", ".join(shown[:-1]) + " and " + shown[-1]
    return f"its attributes are {listed}"


def _expected(t: VType) -> str:
    if t == ANY_ENTITY:
        return "an entity"
    if t == ANY_RECORD:
        return "a record"
    if t == ANY_SET:
        return "a set"
    if t == ANY_ENTITY_SET:
        return "a set of entities"
    return str(t)


def _one_of(words: Sequence[str]) -> str:
    return words[0] if len(words) == 1 else ", ".join(words[:-1]) + " or " + words[-1]


def path_text(e: ast.Expr) -> str | None:
    """``principal.manager.name`` for an attribute chain from a variable, else None."""
    if e.__class__ is ast.Var:
        return e.name  # type: ignore[union-attr]
    if e.__class__ is ast.GetAttr:
        base = path_text(e.expr)  # type: ignore[union-attr]
        if base is None:
            return None
        attr = e.attr  # type: ignore[union-attr]
        if attr.isidentifier():
            return f"{base}.{attr}"
        return f'{base}["{escape_string(attr)}"]'
    return None


# ------------------------------------------------------------------ the typechecker


class EnvChecker:
    """Typechecks expressions in one request environment, collecting issues."""

    def __init__(self, view: SchemaView, env: RequestEnv, issues: list[Issue],
                 snippet: Callable[[ast.Expr], str] | None = None,
                 annotate: bool = False):
        self.view = view
        self.env = env
        self.issues = issues
        self.snippet = snippet or (lambda e: path_text(e) or "...")
        # id(node) -> (node, type) for every node typechecked, when asked
        # (level validation reads the types; the node is kept so ids stay unique).
        self.types: dict[int, tuple[ast.Expr, VType | None]] | None = {} if annotate else None

    def type_of(self, e: ast.Expr) -> VType | None:
        """The type ``e`` was given (with ``annotate=True``), None if unknown or unvisited."""
        hit = self.types.get(id(e)) if self.types is not None else None
        return hit[1] if hit is not None else None

    # -- reporting

    def _issue(self, code: str, span: Span, message: str, help: str | None = None,
               subject: tuple[str, str] | None = None, wanted: str | None = None,
               known: tuple[str, ...] = ()) -> None:
        self.issues.append(Issue(code, span, message, help, subject, wanted, known))

    def _mismatch(self, e: ast.Expr, expected: Sequence[VType], actual: VType,
                  help: str | None) -> None:
        self._issue(
            "type-mismatch", e.span,
            f"expected {_one_of([_expected(t) for t in expected])}, found {actual}", help,
        )

    def _incompatible(self, span: Span, types: Sequence[VType], context: str,
                      hint: str | None) -> None:
        names = []
        for t in types:
            s = str(t)
            if s not in names:
                names.append(s)
        what = {
            "set": "set elements have incompatible types",
            "if": "the branches of this `if` have incompatible types",
            "==": "`==` compares incompatible types",
            "contains": "this set cannot contain the value: incompatible types",
            "containsAnyAll": "these sets have incompatible element types",
            "getTag": "the possible tag types are incompatible",
        }[context]
        help = hint
        if context == "==" and hint is None:
            help = "values of different types are never equal, so strict validation rejects this comparison"
        both = names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]
        self._issue("incompatible-types", span, f"{what}: {both}", help)

    def _subject(self, e: ast.Expr, ty: VType) -> tuple[str, str]:
        if e.__class__ is ast.Var and e.name == "context":  # type: ignore[union-attr]
            return ("context", str(self.env.action))
        if ty.__class__ is EntityT:
            return ("entity", str(ty))
        return ("record", path_text(e) or "")

    # -- entry points

    def expect(self, e: ast.Expr, expected: Sequence[VType], prior: frozenset,
               help: Callable[[VType], str | None] | None = None) -> Ans:
        """Typecheck ``e`` and require a (permissive) subtype of one of ``expected``."""
        a = self.tc(e, prior)
        t = a.ty
        if t is None:
            return _fail(None)
        if not any(is_subtype(t, x, strict=False) for x in expected):
            self._mismatch(e, expected, t, help(t) if help else None)
            return _fail(None)
        return a

    def tc(self, e: ast.Expr, prior: frozenset) -> Ans:
        method = _DISPATCH.get(e.__class__)
        if method is None:  # pragma: no cover - every AST node is handled
            return _fail(None)
        ans = method(self, e, prior)
        if self.types is not None:
            self.types[id(e)] = (e, ans.ty)
        return ans

    # -- leaves

    def _literal(self, e: ast.Literal, prior: frozenset) -> Ans:
        v = e.value
        cls = v.__class__
        if cls is bool:
            return _ok(singleton(v))  # type: ignore[arg-type]
        if cls is int:
            return _ok(LONG)
        if cls is str:
            return _ok(STRING)
        # An entity uid: unknown types and actions are reported by the name checks.
        uid: EntityUid = v  # type: ignore[assignment]
        if sm.is_action_type(uid.type):
            return _ok(EntityT.of(uid.type)) if uid in self.view.schema.actions else _fail(None)
        if uid.type in self.view.schema.entity_types:
            return _ok(EntityT.of(uid.type))
        return _fail(None)

    def _var(self, e: ast.Var, prior: frozenset) -> Ans:
        n = e.name
        env = self.env
        if n == "principal":
            return _ok(EntityT.of(env.principal))
        if n == "resource":
            return _ok(EntityT.of(env.resource))
        if n == "action":
            return _ok(EntityT.of(env.action.type))
        return _ok(env.context)

    def _slot(self, e: ast.Slot, prior: frozenset) -> Ans:
        t = self.env.principal_slot if "principal" in e.name else self.env.resource_slot
        return _ok(EntityT.of(t) if t is not None else ANY_ENTITY)

    # -- control flow

    def _if(self, e: ast.If, prior: frozenset) -> Ans:
        test = self.expect(e.cond, (BOOL,), prior)
        tcaps = test.caps
        if test.ty == TRUE:
            then = self.tc(e.then, prior | tcaps)
            r = Ans(then.ok, then.ty, then.caps | tcaps)
        elif test.ty == FALSE:
            els = self.tc(e.else_, prior)
            r = Ans(els.ok, els.ty, els.caps)
        else:
            then = self.tc(e.then, prior | tcaps)
            then_caps = then.caps | tcaps if then.ok else EMPTY
            els = self.tc(e.else_, prior)
            t = self._lub_or_error(e.span, [then.ty, els.ty], "if")
            if t is not None:
                r = Ans(then.ok and els.ok, t, then_caps & els.caps)
            else:
                r = _fail(None)
        return r if test.ok else r.failed()

    def _and(self, e: ast.And, prior: frozenset) -> Ans:
        left = self.expect(e.left, (BOOL,), prior)
        if left.ty == FALSE:
            return Ans(left.ok, FALSE)
        right = self.expect(e.right, (BOOL,), prior | left.caps)
        lt, rt = left.ty, right.ty
        if lt is not None and rt == FALSE:
            r = _ok(FALSE)
        elif lt is not None and rt == TRUE:
            r = _ok(lt, left.caps | right.caps)
        elif lt == TRUE and rt is not None:
            r = _ok(rt, right.caps)  # Cedar keeps only the right's capabilities here
        elif lt is not None and rt is not None:
            r = _ok(BOOL, left.caps | right.caps)
        else:
            r = _fail(BOOL)
        return r if left.ok and right.ok else r.failed()

    def _or(self, e: ast.Or, prior: frozenset) -> Ans:
        left = self.expect(e.left, (BOOL,), prior)
        if left.ty == TRUE:
            return Ans(left.ok, TRUE, left.caps)
        right = self.expect(e.right, (BOOL,), prior)
        lt, rt = left.ty, right.ty
        if lt is not None and rt == TRUE:
            r = _ok(TRUE, right.caps)
        elif lt is not None and rt == FALSE:
            r = _ok(lt, left.caps)
        elif lt == FALSE and rt is not None:
            r = _ok(rt, right.caps)
        elif lt is not None and rt is not None:
            r = _ok(BOOL, left.caps & right.caps)
        else:
            r = _fail(BOOL)
        return r if left.ok and right.ok else r.failed()

    def _not_of(self, a: Ans) -> Ans:
        t = a.ty
        if t is None:
            return _fail(BOOL)
        r = _ok(FALSE if t == TRUE else TRUE if t == FALSE else BOOL)
        return r if a.ok else r.failed()

    def _not(self, e: ast.Not, prior: frozenset) -> Ans:
        return self._not_of(self.expect(e.arg, (BOOL,), prior))

    def _neg(self, e: ast.Neg, prior: frozenset) -> Ans:
        a = self.expect(e.arg, (LONG,), prior)
        return Ans(a.ok, LONG)

    # -- binary operators

    def _binop(self, e: ast.BinOp, prior: frozenset) -> Ans:
        op = e.op
        if op == "==":
            return self._eq(e, prior)
        if op == "!=":
            return self._not_of(self._eq(e, prior))
        if op in ("<", "<="):
            return self._compare(e.left, e.right, prior)
        if op in (">", ">="):  # `a > b` is `!(a <= b)`, `a >= b` is `!(a < b)`
            return self._not_of(self._compare(e.left, e.right, prior))
        if op in ("+", "-", "*"):
            return self._arith(e, prior)
        return self._in(e, e.left, e.right, prior)

    def _euid_of(self, e: ast.Expr) -> EntityUid | None:
        if e.__class__ is ast.Var and e.name == "action":  # type: ignore[union-attr]
            return self.env.action
        if e.__class__ is ast.Literal and e.value.__class__ is EntityUid:  # type: ignore[union-attr]
            return e.value  # type: ignore[union-attr, return-value]
        return None

    def _literal_value(self, e: ast.Expr) -> tuple | None:
        if e.__class__ is ast.Var and e.name == "action":  # type: ignore[union-attr]
            return (EntityUid, self.env.action)
        if e.__class__ is ast.Literal:
            return (e.value.__class__, e.value)  # type: ignore[union-attr]
        return None

    def _eq(self, e: ast.BinOp, prior: frozenset) -> Ans:
        lhs = self.tc(e.left, prior)
        rhs = self.tc(e.right, prior)
        lt, rt = lhs.ty, rhs.ty
        if lt is not None and rt is not None and disjoint(lt, rt):
            t: VType = FALSE
        else:
            lv, rv = self._literal_value(e.left), self._literal_value(e.right)
            t = singleton(lv == rv) if lv is not None and rv is not None else BOOL
        r = self._strict_equality(e.span, t, lt, rt, "==")
        return r if lhs.ok and rhs.ok else r.failed()

    def _strict_equality(self, span: Span, t: VType, lt: VType | None, rt: VType | None,
                         context: str) -> Ans:
        if t == TRUE or t == FALSE:
            return _ok(t)
        if lt is not None and rt is not None:
            try:
                lub(lt, rt)
            except NoUpperBound as err:
                self._incompatible(span, [lt, rt], context, err.hint)
                return _fail(t)
        return _ok(t)

    def _compare(self, left: ast.Expr, right: ast.Expr, prior: frozenset) -> Ans:
        a1 = self.tc(left, prior)
        a2 = self.tc(right, prior)
        ok = a1.ok and a2.ok
        t1, t2 = a1.ty, a2.ty
        r = _ok(BOOL) if ok else _fail(BOOL)
        if t1 is None or t2 is None:
            return _fail(BOOL)
        comparable = self._comparable
        if t1.__class__ is NeverT and t2.__class__ is NeverT:
            return _fail(BOOL)
        if t1.__class__ is NeverT or t2.__class__ is NeverT:
            other, node = (t2, right) if t1.__class__ is NeverT else (t1, left)
            if comparable(other):
                return r
            self._mismatch(node, _COMPARABLE, other, None)
            return _fail(BOOL)
        if t1 == t2 and comparable(t1):
            return r
        if t1.__class__ is LongT:
            self._mismatch(right, (LONG,), t2, None)
        elif t2.__class__ is LongT:
            self._mismatch(left, (LONG,), t1, None)
        elif comparable(t1):
            self._mismatch(right, (t1,), t2, None)
        elif comparable(t2):
            self._mismatch(left, (t2,), t1, None)
        else:
            help = None
            if t1 == _DEC or t2 == _DEC:
                help = "compare decimals with `.lessThan()`, `.lessThanOrEqual()`, `.greaterThan()` or `.greaterThanOrEqual()`"
            self._mismatch(left, _COMPARABLE, t1, help)
            self._mismatch(right, _COMPARABLE, t2, help)
        return _fail(BOOL)

    @staticmethod
    def _comparable(t: VType) -> bool:
        return t.__class__ is LongT or t in _ORDERED_EXTENSIONS

    def _arith(self, e: ast.BinOp, prior: frozenset) -> Ans:
        op = e.op

        def help(actual: VType) -> str | None:
            if op == "+" and actual.__class__ is StringT:
                return "`+` adds numbers; Cedar has no string concatenation"
            if actual.__class__ is SetT:
                return "arithmetic does not apply to sets; use `.contains()`, `.containsAll()` or `.containsAny()`"
            return None

        a1 = self.expect(e.left, (LONG,), prior, help)
        a2 = self.expect(e.right, (LONG,), prior, help)
        return Ans(a1.ok and a2.ok, LONG)

    def _in(self, e: ast.Expr, lhs: ast.Expr, rhs: ast.Expr, prior: frozenset) -> Ans:
        def lhs_help(actual: VType) -> str | None:
            return "`in` tests entity membership; for a value in a set use `.contains()`"

        def rhs_help(actual: VType) -> str | None:
            if actual.__class__ is SetT:
                return "`in` needs entities on both sides; for a value in a set use `.contains()`"
            if actual.__class__ is StringT:
                return "for text matching use `like`"
            return None

        a1 = self.expect(lhs, (ANY_ENTITY,), prior, lhs_help)
        a2 = self.expect(rhs, (ANY_ENTITY_SET, ANY_ENTITY), prior, rhs_help)
        if not (a1.ok and a2.ok):
            return _fail(BOOL)
        luid = self._euid_of(lhs)
        ruids = self._euids_of(rhs)
        if luid is not None and ruids is not None and sm.is_action_type(luid.type):
            actions = [u for u in ruids if sm.is_action_type(u.type)]
            if not actions:
                return _ok(FALSE)
            within = self.view.actions_in(actions)
            if within is None:
                return _fail(BOOL)
            return _ok(singleton(luid in within))
        lt = a1.ty if a1.ty.__class__ is EntityT else None
        rt: EntityT | None = None
        if a2.ty.__class__ is EntityT:
            rt = a2.ty  # type: ignore[assignment]
        elif a2.ty.__class__ is SetT and a2.ty.element.__class__ is EntityT:  # type: ignore[union-attr]
            rt = a2.ty.element  # type: ignore[union-attr, assignment]
        if lt is not None and rt is not None and not self._may_descend(lt, rt):  # type: ignore[arg-type]
            return _ok(FALSE)
        return _ok(BOOL)

    def _euids_of(self, e: ast.Expr) -> list[EntityUid] | None:
        one = self._euid_of(e)
        if one is not None:
            return [one]
        if e.__class__ is ast.SetLit:
            out = []
            for x in e.elems:  # type: ignore[union-attr]
                u = self._euid_of(x)
                if u is None:
                    return None
                out.append(u)
            return out
        return None

    def _may_descend(self, lhs: EntityT, rhs: EntityT) -> bool:
        view = self.view
        return any(
            l_name in view.types_in(r_name) or view.action_type_in(l_name, r_name)
            for l_name in lhs.names
            for r_name in rhs.names
        )

    # -- attributes

    def _lookup(self, t: VType, attr: str) -> AttrT | None:
        cls = t.__class__
        if cls is RecordT:
            return t.attrs.get(attr)  # type: ignore[attr-defined]
        if cls is EntityT:
            return self._entity_record(t).attrs.get(attr)  # type: ignore[arg-type]
        return None

    def _entity_record(self, t: EntityT) -> RecordT:
        recs = [self.view.entity_attrs(n) for n in sorted(t.names)]
        out = recs[0]
        for r in recs[1:]:  # a union of entity types (permissive mode only)
            attrs = {}
            for k, a in out.attrs.items():
                b = r.attrs.get(k)
                if b is None:
                    continue
                try:
                    attrs[k] = AttrT(lub(a.type, b.type, strict=False), a.required and b.required)
                except NoUpperBound:
                    continue
            out = RecordT(attrs)
        return out

    def _all_attrs(self, t: VType) -> list[str]:
        if t.__class__ is RecordT:
            return list(t.attrs)  # type: ignore[attr-defined]
        if t.__class__ is EntityT:
            return list(self._entity_record(t).attrs)  # type: ignore[arg-type]
        return []

    def _may_have(self, t: VType, attr: str) -> bool:
        cls = t.__class__
        if cls is NeverT or cls is AnyEntityT:
            return True
        if cls is RecordT:
            return t.open or attr in t.attrs  # type: ignore[attr-defined]
        if cls is EntityT:
            return any(
                self.view.is_open_entity(n) or attr in self.view.entity_attrs(n).attrs
                for n in t.names  # type: ignore[attr-defined]
            )
        return False

    def _get_attr(self, e: ast.GetAttr, prior: frozenset) -> Ans:
        a = self.expect(e.expr, (ANY_ENTITY, ANY_RECORD), prior, _has_help)
        t = a.ty
        if t is None:
            return _fail(None)
        r = self._access(e.span, e.expr, t, e.attr, prior)
        return r if a.ok else r.failed()

    def _access(self, span: Span, recv: ast.Expr, t: VType, attr: str, prior: frozenset) -> Ans:
        at = self._lookup(t, attr)
        if at is not None:
            if at.required or _attr_cap(recv, attr) in prior:
                return _ok(at.type)
            subject = self._subject(recv, t)
            self._issue(
                "optional-attribute", span,
                f"attribute `{attr}` of {{of}} is optional and may be absent",
                f"test for it first: `{self.snippet(recv)} has {_attr_text(attr)} && ...`",
                subject,
            )
            return _fail(at.type)
        subject = self._subject(recv, t)
        known = sorted(self._all_attrs(t))
        help = _suggest(attr, known)
        if help is None and t.__class__ is not AnyEntityT:
            help = attribute_list(known)
        self._issue("unknown-attribute", span, f"attribute `{attr}` not found {{on}}", help,
                    subject, attr, tuple(known))
        return _fail(None)

    def _has(self, e: ast.Has, prior: frozenset) -> Ans:
        a = self.expect(e.expr, (ANY_ENTITY, ANY_RECORD), prior, _has_help)
        t = a.ty
        if t is None:
            return _fail(BOOL)
        if len(e.attrs) == 1:
            r = self._has_one(e.expr, t, e.attrs[0], prior)
        else:
            r = self._has_path(e, t, prior)
        return r if a.ok else r.failed()

    def _has_one(self, recv: ast.Expr, t: VType, attr: str, prior: frozenset) -> Ans:
        at = self._lookup(t, attr)
        cap = _attr_cap(recv, attr)
        if at is not None:
            if at.required:
                known = t.__class__ is RecordT or cap in prior
            else:
                known = cap in prior
            return _ok(TRUE if known else BOOL, frozenset((cap,)))
        return _ok(BOOL if self._may_have(t, attr) else FALSE)

    def _has_path(self, e: ast.Has, t: VType, prior: frozenset) -> Ans:
        cur_t, cur_e, cur_cap = t, e.expr, prior
        steps: list[tuple[BoolT, frozenset]] = []
        for i, attr in enumerate(e.attrs):
            step = self._has_step(cur_cap, cur_t, cur_e, attr)
            if step is None:
                return _fail(BOOL)
            steps.append(step)
            if i + 1 == len(e.attrs) or step[0] == FALSE:
                break
            next_cap = cur_cap | step[1]
            got = self._access(e.span, cur_e, cur_t, attr, next_cap)
            if not got.ok or got.ty is None:
                return _fail(BOOL)
            cur_cap, cur_t = next_cap, got.ty
            cur_e = ast.GetAttr(cur_e, attr, e.span)
        result, caps = steps.pop()
        while steps:
            has_t, has_caps = steps.pop()
            if result == FALSE:
                caps = EMPTY
            elif result == TRUE:
                result = has_t
                caps = has_caps | caps
            else:
                caps = has_caps | caps
        return _ok(result, caps)

    def _has_step(self, prior: frozenset, t: VType, recv: ast.Expr,
                  attr: str) -> tuple[BoolT, frozenset] | None:
        cls = t.__class__
        if cls is RecordT:
            known_to_exist = True
        elif cls is EntityT or cls is AnyEntityT:
            known_to_exist = False
        else:
            self._mismatch(recv, (ANY_ENTITY, ANY_RECORD), t, _has_help(t))
            return None
        at = self._lookup(t, attr)
        cap = _attr_cap(recv, attr)
        if at is not None:
            if cap in prior or (at.required and known_to_exist):
                return TRUE, EMPTY
            return BOOL, frozenset((cap,))
        if self._may_have(t, attr):
            return BOOL, EMPTY
        return FALSE, EMPTY

    # -- other expressions

    def _like(self, e: ast.Like, prior: frozenset) -> Ans:
        def help(actual: VType) -> str | None:
            if actual.__class__ in (EntityT, AnyEntityT):
                return "to test an entity's type use `is`"
            return None

        a = self.expect(e.expr, (STRING,), prior, help)
        return Ans(a.ok, BOOL)

    def _is(self, e: ast.Is, prior: frozenset) -> Ans:
        if e.in_expr is not None:  # `e is T in x` is `e is T && e in x`
            test = ast.Is(e.expr, e.entity_type, None, e.span)
            return self._and(ast.And(test, ast.BinOp("in", e.expr, e.in_expr, e.span), e.span),
                             prior)
        a = self.expect(e.expr, (ANY_ENTITY,), prior,
                        lambda _t: "`is` tests the type of an entity")
        t = a.ty
        if t.__class__ is EntityT:
            if e.entity_type not in t.names:  # type: ignore[union-attr]
                r = _ok(FALSE)
            elif t.single == e.entity_type:  # type: ignore[union-attr]
                r = _ok(TRUE)
            else:
                r = _ok(BOOL)
        elif t.__class__ is AnyEntityT:
            r = _ok(BOOL)
        else:
            return _fail(BOOL)
        return r if a.ok else r.failed()

    def _set(self, e: ast.SetLit, prior: frozenset) -> Ans:
        answers = [self.tc(x, prior) for x in e.elems]
        ok = all(a.ok for a in answers)
        t = self._lub_or_error(e.span, [a.ty for a in answers], "set")
        if not e.elems:
            self._issue(
                "empty-set", e.span, "empty set literal",
                "strict validation cannot give `[]` a type; "
                "test emptiness with `.isEmpty()` on a typed set",
            )
            return _fail(None)
        if t is None:
            return _fail(None)
        return Ans(ok, SetT(t))

    def _record(self, e: ast.RecordLit, prior: frozenset) -> Ans:
        answers = [(k, self.tc(v, prior)) for k, v in e.items]
        ok = all(a.ok for _, a in answers)
        if any(a.ty is None for _, a in answers):
            return _fail(None)
        return Ans(ok, RecordT({k: AttrT(a.ty) for k, a in answers}))  # type: ignore[arg-type]

    def _lub_or_error(self, span: Span, types: list[VType | None], context: str) -> VType | None:
        if any(t is None for t in types):
            return None
        try:
            return lub_all(types)  # type: ignore[arg-type]
        except NoUpperBound as err:
            self._incompatible(span, types, context, err.hint)  # type: ignore[arg-type]
            return None

    # -- calls

    def _method(self, e: ast.MethodCall, prior: frozenset) -> Ans:
        name = e.name
        if name not in _BUILTIN_METHODS:
            return self._ext(e.span, name, (e.receiver, *e.args), prior)
        if name == "isEmpty":
            a = self.expect(e.receiver, (ANY_SET,), prior, _is_empty_help)
            for x in e.args:
                self.tc(x, prior)
            return Ans(a.ok and not e.args, BOOL)
        if len(e.args) != 1:  # the parser reports wrong arities
            for x in (e.receiver, *e.args):
                self.tc(x, prior)
            return _fail(BOOL)
        arg = e.args[0]
        if name == "contains":
            a1 = self.expect(e.receiver, (ANY_SET,), prior, _contains_help)
            a2 = self.tc(arg, prior)
            elem = a1.ty.element if a1.ty.__class__ is SetT else None  # type: ignore[union-attr]
            r = self._strict_equality(e.span, BOOL, elem, a2.ty, "contains")
            return r if a1.ok and a2.ok else r.failed()
        if name in ("containsAll", "containsAny"):
            a1 = self.expect(e.receiver, (ANY_SET,), prior, _contains_help)
            a2 = self.expect(arg, (ANY_SET,), prior,
                             lambda _t: f"`.{name}()` takes a set; for one value use `.contains()`")
            r = self._strict_equality(e.span, BOOL, a1.ty, a2.ty, "containsAnyAll")
            return r if a1.ok and a2.ok else r.failed()
        a1 = self.expect(e.receiver, (ANY_ENTITY,), prior)
        a2 = self.expect(arg, (STRING,), prior)
        ok = a1.ok and a2.ok
        t = a1.ty
        if t is None:
            return _fail(None)
        tags = self._tag_types(t)
        cap = _tag_cap(e.receiver, arg)
        if name == "hasTag":
            if not tags:
                r = _ok(FALSE, frozenset((cap,)))
            else:
                r = _ok(TRUE if cap in prior else BOOL, frozenset((cap,)))
            return r if ok else r.failed()
        # getTag
        if cap not in prior:
            subject = ("entity", str(t)) if t.__class__ is EntityT else ("record", "")
            tag = self.snippet(arg)
            self._issue(
                "unguarded-tag", e.span, f"tag {tag} of {{of}} may be absent",
                f"test for it first: `{self.snippet(e.receiver)}.hasTag({tag}) && ...`",
                subject,
            )
            return _fail(None)
        if not tags:
            self._issue("no-tags", e.span, f"entity type `{t}` has no tags",
                        "declare `tags <type>` on the entity type in the schema")
            return _fail(None)
        try:
            tag_t = lub_all(tags)
        except NoUpperBound as err:
            self._incompatible(e.span, tags, "getTag", err.hint)
            return _fail(None)
        return Ans(ok, tag_t)

    def _tag_types(self, t: VType) -> list[VType]:
        if t.__class__ is EntityT:
            names = sorted(t.names)  # type: ignore[attr-defined]
        else:
            names = sorted(self.view.schema.entity_types)
        out: list[VType] = []
        for n in names:
            tt = self.view.entity_tags(n)
            if tt is not None and tt not in out:
                out.append(tt)
        return out

    def _ext_call(self, e: ast.ExtCall, prior: frozenset) -> Ans:
        return self._ext(e.span, e.name, e.args, prior)

    def _ext(self, span: Span, name: str, args: Sequence[ast.Expr], prior: frozenset) -> Ans:
        fn = EXTENSION_FUNCTIONS.get(name)
        if fn is None:  # the parser reports unknown functions and methods
            for x in args:
                self.tc(x, prior)
            return _fail(None)
        failed = False
        if len(args) != len(fn.params):
            want = len(fn.params)
            self._issue(
                "extension-arity", span,
                f"`{name}` takes {want} argument{'s' if want != 1 else ''}, found {len(args)}",
            )
            failed = True
        if fn.parse is not None:
            if len(args) == 1 and args[0].__class__ is ast.Literal and args[0].value.__class__ is str:  # type: ignore[union-attr]
                text = args[0].value  # type: ignore[union-attr]
                try:
                    fn.parse(text)
                except EvaluationError as err:
                    self._issue(
                        "invalid-extension-literal", args[0].span,
                        f'"{escape_string(text)}" is not {fn.what}',  # type: ignore[arg-type]
                        _literal_help(name, err.message),
                    )
                    failed = True
            if not all(a.__class__ is ast.Literal for a in args):
                self._issue(
                    "non-literal-extension", span,
                    f"`{name}(...)` takes a literal string in strict validation",
                    f'write the value in the policy, e.g. `{name}("...")`; values from '
                    "entities and context should already have the extension type",
                )
                failed = True
        if failed:
            for x in args:
                self.tc(x, prior)
            return _fail(fn.ret)
        answers = [self.expect(x, (p,), prior) for x, p in zip(args, fn.params, strict=True)]
        return Ans(all(a.ok for a in answers), fn.ret)


def _attr_text(attr: str) -> str:
    return attr if attr.isidentifier() else f'"{escape_string(attr)}"'


def _has_help(actual: VType) -> str | None:
    if actual.__class__ is SetT:
        return "for membership in a set use `.contains()`"
    if actual.__class__ is StringT:
        return "for text matching use `like`"
    return None


def _contains_help(actual: VType) -> str | None:
    if actual.__class__ in (EntityT, AnyEntityT):
        return "for entity membership use `in`"
    if actual.__class__ is RecordT:
        return "to test a record's attribute use `has`"
    if actual.__class__ is StringT:
        return "for text matching use `like`"
    return None


def _is_empty_help(actual: VType) -> str | None:
    if actual.__class__ is StringT:
        return 'to test for an empty string use `== ""`'
    return None


_LITERAL_HELP = {
    "ip": 'e.g. `ip("10.0.0.1")`, `ip("10.0.0.0/8")` or `ip("::1")`',
    "decimal": 'up to 4 digits after the point, e.g. `decimal("12.3456")`',
    "datetime": 'e.g. `datetime("2024-10-15")`, `datetime("2024-10-15T11:35:00Z")` or '
                '`datetime("2024-10-15T11:35:00.000+0100")`',
    "duration": 'quantity-unit pairs with an optional leading `-`, e.g. `duration("1d2h3m4s5ms")`',
}


def _literal_help(name: str, message: str) -> str:
    detail = message.split(": ", 1)[-1] if "extension function" in message else message
    return f"{detail}; {_LITERAL_HELP[name]}"


_DISPATCH: dict[type, Callable[[EnvChecker, ast.Expr, frozenset], Ans]] = {
    ast.Literal: EnvChecker._literal,  # type: ignore[dict-item]
    ast.Var: EnvChecker._var,  # type: ignore[dict-item]
    ast.Slot: EnvChecker._slot,  # type: ignore[dict-item]
    ast.If: EnvChecker._if,  # type: ignore[dict-item]
    ast.And: EnvChecker._and,  # type: ignore[dict-item]
    ast.Or: EnvChecker._or,  # type: ignore[dict-item]
    ast.Not: EnvChecker._not,  # type: ignore[dict-item]
    ast.Neg: EnvChecker._neg,  # type: ignore[dict-item]
    ast.BinOp: EnvChecker._binop,  # type: ignore[dict-item]
    ast.Has: EnvChecker._has,  # type: ignore[dict-item]
    ast.Like: EnvChecker._like,  # type: ignore[dict-item]
    ast.Is: EnvChecker._is,  # type: ignore[dict-item]
    ast.GetAttr: EnvChecker._get_attr,  # type: ignore[dict-item]
    ast.MethodCall: EnvChecker._method,  # type: ignore[dict-item]
    ast.ExtCall: EnvChecker._ext_call,  # type: ignore[dict-item]
    ast.SetLit: EnvChecker._set,  # type: ignore[dict-item]
    ast.RecordLit: EnvChecker._record,  # type: ignore[dict-item]
}


# ------------------------------------------------------------------ whole policies


def condition(policy: ast.Policy) -> ast.Expr:
    """The policy as one expression: ``((principal && action) && resource) && body``."""
    p = _scope_expr("principal", policy.principal)
    a = _action_expr(policy.action)
    r = _scope_expr("resource", policy.resource)
    body: ast.Expr | None = None
    for c in policy.conditions:
        x = c.expr if c.kind == "when" else ast.Not(c.expr, c.span)
        body = x if body is None else ast.And(body, x, x.span)
    if body is None:
        body = ast.Literal(True, policy.span)
    span = policy.span
    return ast.And(ast.And(ast.And(p, a, span), r, span), body, span)


def _scope_expr(var: str, c: ast.ScopeConstraint) -> ast.Expr:
    span = c.span
    v = ast.Var(var, span)
    if c.kind == "any":
        return ast.Literal(True, span)
    if c.kind == "is":
        return ast.Is(v, c.entity_type or "", None, span)
    target: ast.Expr = (
        c.entity if isinstance(c.entity, ast.Slot) else ast.Literal(c.entity, span)  # type: ignore[arg-type]
    )
    if c.kind == "eq":
        return ast.BinOp("==", v, target, span)
    if c.kind == "in":
        return ast.BinOp("in", v, target, span)
    return ast.And(ast.Is(v, c.entity_type or "", None, span), ast.BinOp("in", v, target, span),
                   span)


def _action_expr(c: ast.ActionConstraint) -> ast.Expr:
    span = c.span
    v = ast.Var("action", span)
    if c.kind == "any":
        return ast.Literal(True, span)
    if c.kind == "eq":
        return ast.BinOp("==", v, ast.Literal(c.entities[0], span), span)
    return ast.BinOp("in", v, ast.SetLit(tuple(ast.Literal(u, span) for u in c.entities), span),
                     span)


def linked_envs(view: SchemaView, policy: ast.Policy) -> Iterator[RequestEnv]:
    """The schema's environments, with template slots linked to possible types."""
    for env in view.request_envs():
        for ps in _slot_types(view, policy.principal, env.principal):
            for rs in _slot_types(view, policy.resource, env.resource):
                if ps is None and rs is None:
                    yield env
                else:
                    yield RequestEnv(env.principal, env.action, env.resource, env.context, ps, rs)


def _slot_types(view: SchemaView, c: ast.ScopeConstraint, var_type: str) -> list[str | None]:
    if not isinstance(c.entity, ast.Slot):
        return [None]
    if c.kind == "eq":
        return [var_type]
    names = [n for n in view.schema.entity_types if var_type in view.types_in(n)]
    return [*names, var_type] if var_type not in names else names


def typecheck_policy(
    view: SchemaView, policy: ast.Policy,
    snippet: Callable[[ast.Expr], str] | None = None,
    *, cond: ast.Expr | None = None,
) -> tuple[list[Issue], bool]:
    """Typecheck a policy in every environment: its issues, and whether it is impossible.

    Impossible: false in every environment (or there is none), so it can
    never apply; Cedar reports that as a warning.
    """
    issues: list[Issue] = []
    cond = cond if cond is not None else condition(policy)
    all_false = True
    for env in linked_envs(view, policy):
        checker = EnvChecker(view, env, issues, snippet)
        ans = checker.expect(cond, (BOOL,), EMPTY)
        if ans.ty != FALSE:
            all_false = False
    return issues, all_false


def typed_envs(view: SchemaView, policy: ast.Policy, cond: ast.Expr) -> Iterator[EnvChecker]:
    """The policy typechecked in each environment, with every node's type kept."""
    for env in linked_envs(view, policy):
        checker = EnvChecker(view, env, [], annotate=True)
        checker.expect(cond, (BOOL,), EMPTY)
        yield checker


__all__ = [
    "EXTENSION_FUNCTIONS", "EnvChecker", "Issue", "RequestEnv", "SchemaView",
    "attribute_list", "condition", "linked_envs", "path_text", "typecheck_policy", "typed_envs",
]
