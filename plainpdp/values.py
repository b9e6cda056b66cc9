"""Cedar values as Python objects, with Python equality equal to Cedar's.

bool -> ``bool``, Long -> ``int``, String -> ``str``, entity -> :class:`EntityUid`,
Set -> :class:`CedarSet`, Record -> :class:`Record`, extension values -> the
classes in :mod:`plainpdp.extensions`.

Python says ``True == 1`` and ``hash(True) == hash(1)``; Cedar says they
differ. Sets and records therefore compare through :func:`hkey`, which maps
booleans to distinct keys, so ``{1, true}`` keeps two elements and
``[1] == [true]`` is false, exactly as in Cedar.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from typing import Any


class EntityUid:
    """An entity reference ``Type::"id"`` (type may be namespaced ``A::B``)."""

    __slots__ = ("type", "id", "_hash")

    def __init__(self, type: str, id: str):  # noqa: A002 - Cedar's own names
        self.type = type
        self.id = id
        self._hash = hash((type, id))

    def __eq__(self, other: object) -> bool:
        return (
            other.__class__ is EntityUid
            and self.id == other.id  # type: ignore[attr-defined]
            and self.type == other.type  # type: ignore[attr-defined]
        )

    def __ne__(self, other: object) -> bool:
        return not self.__eq__(other)

    def __hash__(self) -> int:
        return self._hash

    def __lt__(self, other: EntityUid) -> bool:
        return (self.type, self.id) < (other.type, other.id)

    def __repr__(self) -> str:
        return f"EntityUid({self.type!r}, {self.id!r})"

    def __str__(self) -> str:
        return f'{self.type}::"{escape_string(self.id)}"'

    def __reduce__(self):
        return (EntityUid, (self.type, self.id))

    def to_json(self) -> dict:
        return {"type": self.type, "id": self.id}


class _BoolKey:
    """Hash key standing for a Cedar boolean inside sets and record hashes."""

    __slots__ = ("value",)

    def __init__(self, value: bool):
        self.value = value

    def __repr__(self) -> str:
        return f"_BoolKey({self.value})"

    def __reduce__(self):
        return (_bool_key, (self.value,))


_TRUE_KEY = _BoolKey(True)
_FALSE_KEY = _BoolKey(False)


def _bool_key(value: bool) -> _BoolKey:
    return _TRUE_KEY if value else _FALSE_KEY


def hkey(value: Any) -> Any:
    """The key under which a Cedar value is hashed and compared in a set."""
    if value.__class__ is bool:
        return _TRUE_KEY if value else _FALSE_KEY
    return value


def unkey(key: Any) -> Any:
    if key.__class__ is _BoolKey:
        return key.value
    return key


class CedarSet:
    """An immutable Cedar set; membership and equality are type-strict."""

    __slots__ = ("keys", "_hash")

    def __init__(self, items: Iterable[Any] = ()):
        self.keys: frozenset = frozenset(hkey(v) for v in items)
        self._hash: int | None = None

    @classmethod
    def from_keys(cls, keys: frozenset) -> CedarSet:
        s = cls.__new__(cls)
        s.keys = keys
        s._hash = None
        return s

    def __iter__(self) -> Iterator[Any]:
        for k in self.keys:
            yield unkey(k)

    def __len__(self) -> int:
        return len(self.keys)

    def __contains__(self, value: Any) -> bool:
        return hkey(value) in self.keys

    def __eq__(self, other: object) -> bool:
        return other.__class__ is CedarSet and self.keys == other.keys  # type: ignore[attr-defined]

    def __ne__(self, other: object) -> bool:
        return not self.__eq__(other)

    def __hash__(self) -> int:
        if self._hash is None:
            self._hash = hash(("set", self.keys))
        return self._hash

    def __repr__(self) -> str:
        return f"CedarSet({sorted(map(repr, self))})"

    def __reduce__(self):
        return (CedarSet, (list(self),))


class Record(Mapping):
    """An immutable Cedar record (attribute name -> value)."""

    __slots__ = ("_items", "_hash")

    def __init__(self, items: Mapping[str, Any] | Iterable[tuple[str, Any]] = ()):
        self._items: dict[str, Any] = dict(items)
        self._hash: int | None = None

    def __getitem__(self, key: str) -> Any:
        return self._items[key]

    def get(self, key: str, default: Any = None) -> Any:
        return self._items.get(key, default)

    def __contains__(self, key: object) -> bool:
        return key in self._items

    def __iter__(self) -> Iterator[str]:
        return iter(self._items)

    def __len__(self) -> int:
        return len(self._items)

    def _keyed(self) -> frozenset:
        return frozenset((k, hkey(v)) for k, v in self._items.items())

    def __eq__(self, other: object) -> bool:
        if other.__class__ is not Record:
            return False
        a, b = self._items, other._items  # type: ignore[attr-defined]
        if a.keys() != b.keys():
            return False
        for k, v in a.items():
            w = b[k]
            if v.__class__ is not w.__class__ and (
                v.__class__ is bool or w.__class__ is bool
            ):
                return False
            if v != w:
                return False
        return True

    def __ne__(self, other: object) -> bool:
        return not self.__eq__(other)

    def __hash__(self) -> int:
        if self._hash is None:
            self._hash = hash(("record", self._keyed()))
        return self._hash

    def __repr__(self) -> str:
        return f"Record({self._items!r})"

    def __reduce__(self):
        return (Record, (self._items,))


def cedar_equal(a: Any, b: Any) -> bool:
    """Cedar ``==``: never an error, false across types (``true != 1``)."""
    if a.__class__ is bool or b.__class__ is bool:
        return a.__class__ is b.__class__ and a == b
    return a == b


_ESCAPES = {"\n": "\\n", "\r": "\\r", "\t": "\\t", "\\": "\\\\", '"': '\\"', "\0": "\\0"}


def escape_string(text: str) -> str:
    """Escape a string the way Cedar prints it (Rust ``escape_debug``)."""
    out = []
    for ch in text:
        esc = _ESCAPES.get(ch)
        if esc is not None:
            out.append(esc)
        elif ch.isprintable() or ch == " ":
            out.append(ch)
        else:
            out.append(f"\\u{{{ord(ch):x}}}")
    return "".join(out)


def type_name(value: Any) -> str:
    """Cedar's name for the type of a value, for error messages."""
    cls = value.__class__
    if cls is bool:
        return "bool"
    if cls is int:
        return "long"
    if cls is str:
        return "string"
    if cls is EntityUid:
        return f"(entity of type `{value.type}`)"
    if cls is CedarSet:
        return "set"
    if cls is Record:
        return "record"
    name = getattr(value, "cedar_type", None)
    return name if name else cls.__name__


def render_value(value: Any) -> str:
    """Render a value as Cedar expression text (for explanations and logs)."""
    cls = value.__class__
    if cls is bool:
        return "true" if value else "false"
    if cls is int:
        return str(value)
    if cls is str:
        return f'"{escape_string(value)}"'
    if cls is EntityUid:
        return str(value)
    if cls is CedarSet:
        return "[" + ", ".join(sorted(render_value(v) for v in value)) + "]"
    if cls is Record:
        return "{" + ", ".join(
            f'"{escape_string(k)}": {render_value(v)}' for k, v in value.items()
        ) + "}"
    return str(value)
