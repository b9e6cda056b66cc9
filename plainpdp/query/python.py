"""A plan's residual as a Python predicate over resource uids.

Each residual node becomes a closure (built once per plan); atoms read the
resource through the runtime's own operations (``rt.get_attr``,
``store.ancestors``, ``rt.compile_like``), so they agree with
is_authorized by construction. ``Opaque`` parts run the reference
interpreter with the plan's principal, action and context.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from ..errors import EvaluationError
from ..evaluate import runtime as rt
from ..evaluate.reference import Interpreter
from ..evaluate.request import Request
from ..partners import PartnerResolver
from ..values import EntityUid, cedar_equal, hkey
from .residual import (
    And,
    Cmp,
    Const,
    Contains,
    Has,
    In,
    Like,
    Not,
    Opaque,
    Or,
    OwnedBy,
    Path,
    Residual,
    TypeIs,
    kind_of,
)

if TYPE_CHECKING:
    from .plan import Plan

Predicate = Callable[[EntityUid], bool]
_MISSING = object()
_ORDER = {"<": rt.lt, "<=": rt.le, ">": rt.gt, ">=": rt.ge}


def compile_predicate(plan: Plan, store: Any = None) -> Predicate:
    """The plan's residual over ``store`` (default: the engine's entities)."""
    return compiler(plan, store).node(plan.residual)


def compiler(plan: Plan, store: Any = None) -> _Compiler:
    """Builds predicates for the plan's residual or any part of it."""
    if store is None:
        return _Compiler(plan, plan.engine.entities, plan.engine.partners)
    return _Compiler(plan, store, PartnerResolver(store, plan.engine.partner_type))


class _Compiler:
    def __init__(self, plan: Plan, store: Any, resolver: PartnerResolver):
        self.plan = plan
        self.store = store
        self.resolver = resolver

    def value(self, path: Path) -> Callable[[EntityUid], Any]:
        """The value at ``path`` of a resource, or ``_MISSING`` where it errors."""
        store = self.store
        if len(path) == 1:  # the common case, without the generic walk
            attrs_of, name = store.attrs, path[0]

            def read_one(uid: EntityUid) -> Any:
                attrs = attrs_of(uid)
                return _MISSING if attrs is None else attrs.get(name, _MISSING)

            return read_one

        def read(uid: EntityUid) -> Any:
            value: Any = uid
            try:
                for step in path:
                    value = rt.get_attr(store, value, step)
            except EvaluationError:
                return _MISSING
            return value

        return read

    def node(self, r: Residual) -> Predicate:
        cls = r.__class__
        if cls is Const:
            result = r.value  # type: ignore[union-attr]
            return lambda uid: result
        if cls is And or cls is Or:
            parts = [self.node(x) for x in r.items]  # type: ignore[union-attr]
            return _all(parts) if cls is And else _any(parts)
        if cls is Not:
            inner = self.node(r.item)  # type: ignore[union-attr]
            return lambda uid: not inner(uid)
        return getattr(self, "atom_" + cls.__name__)(r)

    def atom_Has(self, r: Has) -> Predicate:
        read = self.value(r.path)
        return lambda uid: read(uid) is not _MISSING

    def atom_TypeIs(self, r: TypeIs) -> Predicate:
        read, kinds = self.value(r.path), r.kinds

        def test(uid: EntityUid) -> bool:
            v = read(uid)
            return v is not _MISSING and kind_of(v) in kinds

        return test

    def atom_Cmp(self, r: Cmp) -> Predicate:
        read, target = self.value(r.path), r.value
        if r.op == "==":
            return lambda uid: (v := read(uid)) is not _MISSING and cedar_equal(v, target)
        compare = _ORDER[r.op]

        def test(uid: EntityUid) -> bool:
            v = read(uid)
            if v is _MISSING:
                return False
            try:
                return compare(v, target)
            except EvaluationError:
                return False

        return test

    def atom_In(self, r: In) -> Predicate:
        read, uids, store = self.value(r.path), r.uids, self.store

        def test(uid: EntityUid) -> bool:
            v = read(uid)
            if v.__class__ is not EntityUid:
                return False
            return v in uids or not store.ancestors(v).isdisjoint(uids)

        return test

    def atom_Contains(self, r: Contains) -> Predicate:
        read, key = self.value(r.path), hkey(r.value)

        def test(uid: EntityUid) -> bool:
            v = read(uid)
            return kind_of(v) == "set" and key in v.keys if v is not _MISSING else False

        return test

    def atom_Like(self, r: Like) -> Predicate:
        read, match = self.value(r.path), rt.compile_like(r.pattern)
        return lambda uid: (v := read(uid)).__class__ is str and match(v)

    def atom_OwnedBy(self, r: OwnedBy) -> Predicate:
        partner_of, partners = self.resolver.partner_of, r.partners
        return lambda uid: partner_of(uid) in partners

    def atom_Opaque(self, r: Opaque) -> Predicate:
        plan, store, expr, want = self.plan, self.store, r.expr, r.want

        def test(uid: EntityUid) -> bool:
            request = Request(plan.principal, plan.action, uid, plan.context)
            try:
                return Interpreter(request, store).eval(expr) is want
            except EvaluationError:
                return False

        return test


def _all(parts: list[Predicate]) -> Predicate:
    """``a(u) and b(u) and ...`` as nested two-way closures (no generator per call)."""
    if len(parts) == 1:
        return parts[0]
    first, rest = parts[0], _all(parts[1:])
    return lambda uid: first(uid) and rest(uid)


def _any(parts: list[Predicate]) -> Predicate:
    if len(parts) == 1:
        return parts[0]
    first, rest = parts[0], _any(parts[1:])
    return lambda uid: first(uid) or rest(uid)
