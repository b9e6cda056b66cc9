"""Cedar's runtime operations: the one place where their semantics live.

The reference interpreter and the generated condition code both call these
plain functions (``rt.add(a, b)``, ``rt.in_(store, a, b)``), so typed
equality, checked arithmetic, hierarchy membership, ``like`` and extension
calls behave identically on every path. Each Cedar runtime error raises
:class:`~plainpdp.errors.EvaluationError` with Cedar's message (checked
against cedarpy 4.12).

The entity store is any object with ``attrs(uid)`` and ``tags(uid)``
(a :class:`Record`, or None when the entity is absent), ``ancestors(uid)``
(transitive, excluding self) and ``uid in store``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from functools import lru_cache
from typing import Any

from .. import extensions
from ..errors import EvaluationError
from ..extensions import Datetime, Duration, type_error
from ..syntax.ast import LikePattern, Wildcard
from ..values import CedarSet, EntityUid, Record, cedar_equal, hkey, unkey

I64_MIN = extensions.I64_MIN
I64_MAX = extensions.I64_MAX

ENTITY = "(entity of type `any_entity_type`)"
_RECORD_OR_ENTITY = f"one of [record, {ENTITY}]"
_SET_OR_ENTITY = f"one of [set, {ENTITY}]"
_MISSING = object()


# ------------------------------------------------------------------ booleans, equality


def check_bool(v: Any) -> bool:
    """The value of a condition, ``&&``, ``||``, ``!`` or ``if`` operand."""
    if v.__class__ is bool:
        return v
    raise type_error("bool", v)


eq = cedar_equal


def neq(a: Any, b: Any) -> bool:
    return not cedar_equal(a, b)


# ------------------------------------------------------------------ comparison


def _comparison_error(a: Any, b: Any) -> EvaluationError:
    """Cedar's culprit choice for ``<``, ``<=``, ``>``, ``>=``.

    A long operand makes the other one the culprit; otherwise a datetime or
    duration does; otherwise the left operand is wrong whatever the right is.
    """
    if a.__class__ is int:
        return type_error("long", b)
    if b.__class__ is int:
        return type_error("long", a)
    if a.__class__ is Datetime or a.__class__ is Duration:
        return type_error(a.cedar_type, b)
    if b.__class__ is Datetime or b.__class__ is Duration:
        return type_error(b.cedar_type, a)
    return type_error("one of [long, datetime, duration]", a)


def lt(a: Any, b: Any) -> bool:
    cls = a.__class__
    if cls is int and b.__class__ is int:
        return a < b
    if cls is b.__class__ and (cls is Datetime or cls is Duration):
        return a.ms < b.ms
    raise _comparison_error(a, b)


def le(a: Any, b: Any) -> bool:
    cls = a.__class__
    if cls is int and b.__class__ is int:
        return a <= b
    if cls is b.__class__ and (cls is Datetime or cls is Duration):
        return a.ms <= b.ms
    raise _comparison_error(a, b)


def gt(a: Any, b: Any) -> bool:
    cls = a.__class__
    if cls is int and b.__class__ is int:
        return a > b
    if cls is b.__class__ and (cls is Datetime or cls is Duration):
        return a.ms > b.ms
    raise _comparison_error(a, b)


def ge(a: Any, b: Any) -> bool:
    cls = a.__class__
    if cls is int and b.__class__ is int:
        return a >= b
    if cls is b.__class__ and (cls is Datetime or cls is Duration):
        return a.ms >= b.ms
    raise _comparison_error(a, b)


# ------------------------------------------------------------------ arithmetic


def _long_operands_error(a: Any, b: Any) -> EvaluationError:
    return type_error("long", b if a.__class__ is int else a)


def _overflow(verb: str, a: int, b: int) -> EvaluationError:
    return EvaluationError(
        f"integer overflow while attempting to {verb} the values `{a}` and `{b}`"
    )


def add(a: Any, b: Any) -> int:
    if a.__class__ is int and b.__class__ is int:
        r = a + b
        if I64_MIN <= r <= I64_MAX:
            return r
        raise _overflow("add", a, b)
    raise _long_operands_error(a, b)


def sub(a: Any, b: Any) -> int:
    if a.__class__ is int and b.__class__ is int:
        r = a - b
        if I64_MIN <= r <= I64_MAX:
            return r
        raise _overflow("subtract", a, b)
    raise _long_operands_error(a, b)


def mul(a: Any, b: Any) -> int:
    if a.__class__ is int and b.__class__ is int:
        r = a * b
        if I64_MIN <= r <= I64_MAX:
            return r
        raise _overflow("multiply", a, b)
    raise _long_operands_error(a, b)


def neg(a: Any) -> int:
    if a.__class__ is int:
        if a != I64_MIN:
            return -a
        raise EvaluationError(f"integer overflow while attempting to negate the value `{a}`")
    raise type_error("long", a)


# ------------------------------------------------------------------ hierarchy, entities


# Cedar orders a set's elements by kind before reporting the first bad one.
_KIND_ORDER = {bool: 0, int: 1, str: 2, EntityUid: 3, CedarSet: 4, Record: 5}


def _not_entity_in_set(keys: frozenset) -> EvaluationError:
    culprits = [v for v in map(unkey, keys) if v.__class__ is not EntityUid]
    worst = min(culprits, key=lambda v: _KIND_ORDER.get(v.__class__, 6))
    return type_error(ENTITY, worst)


def in_(store: Any, a: Any, b: Any) -> bool:
    """``a in b``: ``a`` equals ``b`` or has it as an ancestor; ``b`` may be a set."""
    if a.__class__ is not EntityUid:
        raise type_error(ENTITY, a)
    cls = b.__class__
    if cls is EntityUid:
        return a == b or b in store.ancestors(a)
    if cls is CedarSet:
        keys = b.keys
        for k in keys:
            if k.__class__ is not EntityUid:
                raise _not_entity_in_set(keys)
        return a in keys or not store.ancestors(a).isdisjoint(keys)
    raise type_error(_SET_OR_ENTITY, b)


def is_type(v: Any, type_name: str) -> bool:
    """``v is T``: compares the full (namespaced) entity type name."""
    if v.__class__ is not EntityUid:
        raise type_error(ENTITY, v)
    return v.type == type_name


def has_attr(store: Any, v: Any, attr: str) -> bool:
    """``v has attr``; false for an entity absent from the store."""
    cls = v.__class__
    if cls is Record:
        return attr in v
    if cls is EntityUid:
        attrs = store.attrs(v)
        return attrs is not None and attr in attrs
    raise type_error(_RECORD_OR_ENTITY, v)


def get_attr(store: Any, v: Any, attr: str) -> Any:
    """``v.attr`` on a record or an entity; missing attribute or entity is an error."""
    cls = v.__class__
    if cls is Record:
        value = v.get(attr, _MISSING)
        if value is _MISSING:
            raise EvaluationError(f"record does not have the attribute `{attr}`")
        return value
    if cls is EntityUid:
        attrs = store.attrs(v)
        if attrs is None:
            raise EvaluationError(f"entity `{v}` does not exist")
        value = attrs.get(attr, _MISSING)
        if value is _MISSING:
            raise EvaluationError(f"`{v}` does not have the attribute `{attr}`")
        return value
    raise type_error(_RECORD_OR_ENTITY, v)


def _tag_operands(entity: Any, key: Any) -> None:
    if entity.__class__ is not EntityUid:
        raise type_error(ENTITY, entity)
    if key.__class__ is not str:
        raise type_error("string", key)


def get_tag(store: Any, entity: Any, key: Any) -> Any:
    """``entity.getTag(key)``; a missing tag or entity is an error."""
    _tag_operands(entity, key)
    tags = store.tags(entity)
    value = _MISSING if tags is None else tags.get(key, _MISSING)
    if value is _MISSING:
        if tags is None and entity not in store:
            raise EvaluationError(f"entity `{entity}` does not exist")
        raise EvaluationError(f"`{entity}` does not have the tag `{key}`")
    return value


def has_tag(store: Any, entity: Any, key: Any) -> bool:
    """``entity.hasTag(key)``; false for an entity absent from the store."""
    _tag_operands(entity, key)
    tags = store.tags(entity)
    return tags is not None and key in tags


# ------------------------------------------------------------------ strings


def _matcher(pattern: LikePattern) -> Callable[[str], bool]:
    if not any(part.__class__ is Wildcard for part in pattern):
        literal = "".join(pattern)  # type: ignore[arg-type]
        return literal.__eq__
    # literal runs between wildcards (empty where wildcards touch or at the ends)
    segments = [""]
    for part in pattern:
        if part.__class__ is Wildcard:
            segments.append("")
        else:
            segments[-1] += part  # type: ignore[operator]
    first, last = segments[0], segments[-1]
    middle = [s for s in segments[1:-1] if s]
    fixed = len(first) + len(last)
    if not middle:
        if not last:
            return lambda s: s.startswith(first)
        if not first:
            return lambda s: s.endswith(last)
        return lambda s: len(s) >= fixed and s.startswith(first) and s.endswith(last)
    if not first and not last and len(middle) == 1:
        only = middle[0]
        return lambda s: only in s

    def match(s: str) -> bool:
        # leftmost-first placement of each middle run is optimal for `*` globs
        if len(s) < fixed or not s.startswith(first) or not s.endswith(last):
            return False
        pos, end = len(first), len(s) - len(last)
        for run in middle:
            found = s.find(run, pos, end)
            if found < 0:
                return False
            pos = found + len(run)
        return True

    return match


@lru_cache(maxsize=4096)
def compile_like(pattern: LikePattern) -> Callable[[Any], bool]:
    """A checked matcher for one ``like`` pattern: compile once, call per value.

    Linear-time glob matching (no regex backtracking); ``*`` matches any
    run of characters including newlines.
    """
    test = _matcher(pattern)

    def like_pattern(v: Any) -> bool:
        if v.__class__ is not str:
            raise type_error("string", v)
        return test(v)

    return like_pattern


def like(s: Any, pattern: LikePattern) -> bool:
    """``s like pattern``: ``s`` must be a string."""
    return compile_like(pattern)(s)


# ------------------------------------------------------------------ sets


def contains(s: Any, v: Any) -> bool:
    if s.__class__ is not CedarSet:
        raise type_error("set", s)
    return hkey(v) in s.keys


def contains_all(a: Any, b: Any) -> bool:
    if a.__class__ is not CedarSet:
        raise type_error("set", a)
    if b.__class__ is not CedarSet:
        raise type_error("set", b)
    return b.keys <= a.keys


def contains_any(a: Any, b: Any) -> bool:
    if a.__class__ is not CedarSet:
        raise type_error("set", a)
    if b.__class__ is not CedarSet:
        raise type_error("set", b)
    return not a.keys.isdisjoint(b.keys)


def is_empty(s: Any) -> bool:
    if s.__class__ is not CedarSet:
        raise type_error("set", s)
    return not s.keys


def make_set(items: Iterable[Any]) -> CedarSet:
    return CedarSet(items)


def make_record(pairs: Iterable[tuple[str, Any]]) -> Record:
    return Record(pairs)


# ------------------------------------------------------------------ calls by name


def _one_arg(name: str, args: Sequence[Any]) -> Any:
    if len(args) != 1:
        plural = "argument" if len(args) == 1 else "arguments"
        raise EvaluationError(
            f"call to `{name}` requires exactly 1 argument, but got {len(args)} {plural}"
        )
    return args[0]


_SET_METHODS: dict[str, Callable[[Any, Any], bool]] = {
    "contains": contains,
    "containsAll": contains_all,
    "containsAny": contains_any,
}
_TAG_METHODS: dict[str, Callable[[Any, Any, Any], Any]] = {
    "getTag": get_tag,
    "hasTag": has_tag,
}


def call_method(store: Any, name: str, receiver: Any, args: Sequence[Any]) -> Any:
    """``receiver.name(args)`` for every Cedar method, built-in or extension."""
    fn = _SET_METHODS.get(name)
    if fn is not None:
        return fn(receiver, _one_arg(name, args))
    tag_fn = _TAG_METHODS.get(name)
    if tag_fn is not None:
        return tag_fn(store, receiver, _one_arg(name, args))
    if name == "isEmpty":
        if args:
            plural = "argument" if len(args) == 1 else "arguments"
            raise EvaluationError(
                f"call to `isEmpty` requires exactly 0 arguments, but got {len(args)} {plural}"
            )
        return is_empty(receiver)
    return extensions.call_method(name, receiver, args)


call_function = extensions.call_function
