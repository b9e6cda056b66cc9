"""Random Cedar policy sets, entity stores and requests for differential tests.

The generator knows the *shape* of the data it makes: a fixed table of
attribute names and their types (``ATTRS``, shared by entities and the
context), tag keys and their types (``TAGS``), and value pools shared by the
entity data and the policy literals, so that comparisons and ``like``
patterns often hit. Expressions are generated type-directed: asked for a
``bool`` it builds a well-typed boolean from well-typed parts, which keeps a
fair share of conditions satisfiable. Errors come from three deliberate
sources: at every node a small chance of an ill-typed subterm, a small chance
of a bad extension literal or an overflowing constant, and data whose
attributes are missing or (rarely) of the wrong type.

Every choice is a hypothesis draw and the simplest alternative is listed
first, so a failing example shrinks towards few entities, few attributes and
small expressions. The AST is a tiny tuple-like ``Node`` and is rendered to
Cedar text by the printer at the bottom of this module (fully parenthesised).
Nothing here imports plainpdp.
"""

from __future__ import annotations

import functools
import json
import re
from dataclasses import dataclass, field
from typing import Any

from hypothesis import strategies as st

# --------------------------------------------------------------------- the universe

ENTITY_TYPES = ("User", "Group", "Doc", "Folder", "Ns::Thing")
ENTITY_IDS = (
    "alice",
    "bob",
    "eng",
    "root",
    "x",
    "",
    'q"uote',
    "back\\slash",
    "ünï",
    "😀",
    "sp ace",
    "a*b",
    "line\nbreak",
)
# Entities that are never in the store (referenced by scopes, data and requests).
GHOSTS = (("User", "ghost"), ("Ns::Thing", "nobody"), ("Group", "phantom"))

# Actions form a small hierarchy: view, comment in read; edit, delete in write;
# read, write in all.
ACTION_PARENTS = {
    "view": ("read",),
    "comment": ("read",),
    "edit": ("write",),
    "delete": ("write",),
    "read": ("all",),
    "write": ("all",),
    "all": (),
}
ACTIONS = tuple(ACTION_PARENTS)
REQUEST_ACTIONS = ("view", "edit", "comment", "delete", "read", "ghostly")

# Attribute types: scalars, three set types and two record shapes.
SCALARS = ("bool", "long", "string", "entity", "ip", "decimal", "datetime", "duration")
SET_TYPES = ("set_long", "set_string", "set_entity")
RECORD_TYPES = ("info", "inner")
ALL_TYPES = SCALARS + SET_TYPES + RECORD_TYPES
SET_ELEM = {"set_long": "long", "set_string": "string", "set_entity": "entity"}

ATTRS: dict[str, str] = {
    "flag": "bool",
    "level": "long",
    "big": "long",
    "name": "string",
    "sp ace": "string",
    "owner": "entity",
    "labels": "set_string",
    "nums": "set_long",
    "friends": "set_entity",
    "info": "info",
    "addr": "ip",
    "score": "decimal",
    "at": "datetime",
    "ttl": "duration",
}
RECORD_FIELDS: dict[str, dict[str, str]] = {
    "info": {"depth": "long", "note": "string", "inner": "inner"},
    "inner": {"ok": "bool", "if": "long"},
}
# Names tested with `has`: every attribute, the one needing quotes more often.
HAS_NAMES = (*ATTRS, "sp ace", "sp ace", "nope")
TAGS: dict[str, str] = {"t_on": "bool", "t_level": "long", "t_role": "string"}

I64_MAX = 2**63 - 1
I64_MIN = -(2**63)
SMALL_LONGS = (0, 1, 2, 3, 4, 5, 6, 7, 8, 9, -1, -2)
BIG_LONGS = (I64_MAX, I64_MIN, I64_MAX - 1, I64_MIN + 1, 2**62, -(2**62), 3037000500)
STRINGS = (
    "",
    "alice",
    "abc",
    "a*b",
    "*",
    'say "hi"',
    "back\\slash",
    "ünï",
    "😀",
    "tab\there",
    "sp ace",
    "x",
    "ab",
    "ba",
    "a\\*",
    "b*",
    "ü😀",
    '"',
    "\\",
    "alice bob",
)
IPS = (
    "127.0.0.1",
    "10.0.0.1",
    "10.0.0.0/8",
    "192.168.1.5",
    "224.0.0.1",
    "::1",
    "2001:db8::1",
    "2001:db8::/32",
    "ff02::1",
    "0.0.0.0/0",
    "127.1.2.3/8",
    "::",
)
DECIMALS = (
    "0.0",
    "-0.0",
    "1.5",
    "-2.25",
    "12.3456",
    "1.50",
    "922337203685477.5807",
    "-922337203685477.5808",
)
DATETIMES = (
    "2024-01-01",
    "2024-01-01T10:00:00Z",
    "2023-06-15T23:59:59.999Z",
    "2024-02-29T12:00:00+0130",
    "1970-01-01",
    "2024-01-01T00:00:00-0100",
    "1969-12-31T23:59:59.999Z",
    "0001-01-01",
    "2024-01-01T00:00:00+2359",
)
DURATIONS = (
    "1h",
    "-2d3h",
    "90m",
    "1d2h3m4s5ms",
    "0ms",
    "30s",
    "-1ms",
    "23h59m59s999ms",
    "106751991167d",
)
EXT_POOLS = {"ip": IPS, "decimal": DECIMALS, "datetime": DATETIMES, "duration": DURATIONS}
# Literals the extension constructors reject (the error path).
BAD_EXT_LITERALS = {
    "ip": ("nope", "1.2.3", "10.0.0.1/33", "::1::", "::ffff:1.2.3.4"),
    "decimal": ("1.23456", "abc", "1.", "922337203685478.0", "+1.0"),
    "datetime": ("2024-13-01", "2024-01-01T25:00:00Z", "yesterday", "2024-1-1"),
    "duration": ("1x", "", "h", "9223372036854775807d"),
}
LIKE_CHUNKS = ("a", "b", "ab", "*", "a*", "\\", '"', "ü", "😀", "alice", "x", " ", "*")

RESERVED = frozenset(
    "true false if then else in is like has __cedar principal action resource context".split()
)
IDENT = re.compile(r"[_a-zA-Z][_a-zA-Z0-9]*")


def is_ident(name: str) -> bool:
    return bool(IDENT.fullmatch(name)) and name not in RESERVED


# --------------------------------------------------------------------------- AST


@dataclass(frozen=True)
class Node:
    """One expression node: ``kind`` and its arguments (nodes or plain values).

    Kinds: ``bool long string entity`` (literals), ``var``, ``if``, ``&& ||``,
    ``! neg``, ``== != < <= > >= + - * in``, ``has`` (a path), ``like`` (a
    tuple of segments: text, or ``None`` for the wildcard), ``is``, ``is_in``,
    ``attr`` (``.a``), ``index`` (``["a"]``), ``set``, ``record``, ``method``
    (name, receiver, args) and ``ext`` (function, args).
    """

    kind: str
    args: tuple = ()


WILDCARD = None
LEAF_KINDS = frozenset({"bool", "long", "string", "entity", "var"})


def lit_bool(v: bool) -> Node:
    return Node("bool", (v,))


def lit_long(v: int) -> Node:
    return Node("long", (v,))


def lit_string(s: str, escaped: bool = False) -> Node:
    return Node("string", (s, escaped))


def lit_entity(uid: tuple[str, str]) -> Node:
    return Node("entity", uid)


def var(name: str) -> Node:
    return Node("var", (name,))


def kinds_of(node: Node, out: set[str] | None = None) -> set[str]:
    """The reach labels of an expression: node kinds plus finer variants."""
    out = set() if out is None else out
    k, a = node.kind, node.args
    if k == "var":
        out.add(f"var:{a[0]}")
    elif k == "method":
        out.add(f"method:{a[0]}")
    elif k == "ext":
        out.add(f"ext:{a[0]}")
    else:
        out.add(k)
    if k == "string" and a[1]:
        out.add("string_escaped")
    if k == "long" and a[0] < 0:
        out.add("long_negative")
    if k == "long" and a[0] in BIG_LONGS:
        out.add("long_near_bounds")
    if k == "has":
        out.add("has_path" if len(a[1]) > 1 else "has_attr")
        if not is_ident(a[1][0]):
            out.add("has_string")
    if k == "like":
        if any(seg is WILDCARD for seg in a[1]):
            out.add("like_wildcard")
        if any(seg is not WILDCARD and "*" in seg for seg in a[1]):
            out.add("like_escaped_star")
    for child in a:
        if isinstance(child, Node):
            kinds_of(child, out)
        elif isinstance(child, tuple):
            for c in child:
                if isinstance(c, Node):
                    kinds_of(c, out)
                elif isinstance(c, tuple) and len(c) == 2 and isinstance(c[1], Node):
                    kinds_of(c[1], out)
    return out


# Every label the generator must be shown to reach.
EXPRESSION_KINDS = frozenset(
    {
        "bool", "long", "long_negative", "long_near_bounds", "string", "string_escaped",
        "entity",
        "var:principal", "var:action", "var:resource", "var:context",
        "if", "&&", "||", "!", "neg",
        "==", "!=", "<", "<=", ">", ">=", "+", "-", "*",
        "in", "has", "has_attr", "has_path", "has_string",
        "like", "like_wildcard", "like_escaped_star", "is", "is_in",
        "attr", "index", "set", "record",
        "method:contains", "method:containsAll", "method:containsAny", "method:isEmpty",
        "method:getTag", "method:hasTag",
        "ext:ip", "ext:decimal", "ext:datetime", "ext:duration",
        "method:isIpv4", "method:isIpv6", "method:isLoopback", "method:isMulticast",
        "method:isInRange",
        "method:lessThan", "method:lessThanOrEqual", "method:greaterThan",
        "method:greaterThanOrEqual",
        "method:offset", "method:durationSince", "method:toDate", "method:toTime",
        "method:toMilliseconds", "method:toSeconds", "method:toMinutes", "method:toHours",
        "method:toDays",
    }
)  # fmt: skip
SCOPE_KINDS = frozenset(
    {
        "principal:all", "principal:==", "principal:in", "principal:is", "principal:is_in",
        "action:all", "action:==", "action:in", "action:in_list",
        "resource:all", "resource:==", "resource:in", "resource:is", "resource:is_in",
        "when", "unless", "permit", "forbid",
    }
)  # fmt: skip


@dataclass(frozen=True)
class Scope:
    """One scope constraint: op is ``all == in is is_in in_list``."""

    op: str
    entity: Any = None  # a uid, or a tuple of uids for in_list
    type: str | None = None


@dataclass(frozen=True)
class Policy:
    effect: str
    principal: Scope
    action: Scope
    resource: Scope
    conditions: tuple[tuple[str, Node], ...] = ()
    # Compound subterms of the conditions with their types, for probes.
    subterms: tuple[tuple[Node, str], ...] = field(default=(), compare=False, repr=False)

    def kinds(self) -> set[str]:
        out = {
            self.effect,
            f"principal:{self.principal.op}",
            f"action:{self.action.op}",
            f"resource:{self.resource.op}",
        }
        for keyword, cond in self.conditions:
            out.add(keyword)
            kinds_of(cond, out)
        return out


@dataclass(frozen=True)
class Request:
    principal: tuple[str, str]
    action: tuple[str, str]
    resource: tuple[str, str]
    context: dict = field(default_factory=dict)

    def cedar_json(self) -> dict:
        def uid(u):
            return {"type": u[0], "id": u[1]}

        return {
            "principal": uid(self.principal),
            "action": uid(self.action),
            "resource": uid(self.resource),
            "context": self.context,
        }

    def __str__(self) -> str:
        return (
            f"principal={show_uid(self.principal)} action={show_uid(self.action)} "
            f"resource={show_uid(self.resource)} context={json.dumps(self.context, ensure_ascii=False)}"
        )


@dataclass(frozen=True)
class Universe:
    uids: tuple[tuple[str, str], ...]
    entities: tuple[dict, ...]  # Cedar JSON entities (actions included)


@dataclass(frozen=True)
class Scenario:
    universe: Universe
    policies: tuple[Policy, ...]
    requests: tuple[Request, ...]

    def policy_text(self) -> str:
        return show_policies(self.policies)

    def entities_json(self) -> list[dict]:
        return list(self.universe.entities)

    def __repr__(self) -> str:  # hypothesis prints this for a falsifying example
        entities = ",\n  ".join(json.dumps(e, ensure_ascii=False) for e in self.universe.entities)
        requests = "\n".join(str(r) for r in self.requests)
        return f"Scenario(\n{self.policy_text()}--- entities\n[\n  {entities}\n]\n--- requests\n{requests}\n)"

    def _repr_pretty_(self, p, cycle) -> None:  # hypothesis' printer
        p.text(repr(self))

    def kinds(self) -> set[str]:
        out: set[str] = set()
        for p in self.policies:
            out |= p.kinds()
        return out


# ------------------------------------------------------------------ hypothesis glue


@functools.lru_cache(maxsize=256)
def _integers(lo: int, hi: int) -> st.SearchStrategy[int]:
    return st.integers(lo, hi)


@functools.lru_cache(maxsize=4096)
def _sampled(seq: tuple) -> st.SearchStrategy:
    return st.sampled_from(seq)


class Draws:
    """Small helpers over hypothesis' ``draw``; every choice shrinks to the first."""

    def __init__(self, draw):
        self.draw = draw

    def percent(self) -> int:
        return self.draw(_integers(0, 99))

    def coin(self, p: float) -> bool:
        """True with probability about ``p``; shrinks to False."""
        return self.percent() >= 100 - round(p * 100)

    def pick(self, seq):
        return self.draw(_sampled(tuple(seq)))

    def weighted(self, options):
        """``options`` is a list of (weight, value); shrinks towards the first."""
        total = sum(w for w, _ in options)
        n = self.draw(_integers(0, total - 1))
        for w, value in options:
            if n < w:
                return value
            n -= w
        raise AssertionError("unreachable")

    def count(self, lo: int, hi: int) -> int:
        return self.draw(_integers(lo, hi))


# ------------------------------------------------------------------- data values

# One draw picks a long: small ones four times as likely as those near the bounds.
LONG_POOL = SMALL_LONGS * 4 + BIG_LONGS
P_WRONG_TYPE = 3  # percent of attribute values of the wrong type


class Values(Draws):
    """Attribute, tag and context values in Cedar's JSON form."""

    def __init__(self, draw, uids):
        super().__init__(draw)
        self.uids = uids

    def long(self) -> int:
        return self.pick(LONG_POOL)

    def string(self) -> str:
        return self.pick(STRINGS)

    def uid(self) -> tuple[str, str]:
        if self.uids and not self.coin(0.08):
            return self.pick(self.uids)
        return self.pick(GHOSTS)

    def of(self, ty: str) -> Any:
        if ty == "bool":
            return self.draw(st.booleans())
        if ty == "long":
            return self.long()
        if ty == "string":
            return self.string()
        if ty == "entity":
            t, i = self.uid()
            return {"__entity": {"type": t, "id": i}}
        if ty in EXT_POOLS:
            return {"__extn": {"fn": ty, "arg": self.pick(EXT_POOLS[ty])}}
        if ty in SET_ELEM:
            n = self.count(0, 3)
            return [self.of(SET_ELEM[ty]) for _ in range(n)]
        if ty in RECORD_FIELDS:
            return {k: self.of(t) for k, t in RECORD_FIELDS[ty].items() if not self.coin(0.15)}
        raise AssertionError(ty)

    def fields(self, shape: dict[str, str], p_present: float) -> dict:
        """A record of ``shape``: each field present with ``p_present``, rarely ill-typed."""
        out = {}
        absent = 100 - round(p_present * 100)
        for k, ty in shape.items():
            n = self.percent()
            if n < absent:
                continue
            if n >= 100 - P_WRONG_TYPE:
                ty = self.pick(ALL_TYPES)
            out[k] = self.of(ty)
        return out

    def record(self, p_present: float) -> dict:
        return self.fields(ATTRS, p_present)


@st.composite
def universes(draw, min_entities: int = 6, max_entities: int = 15) -> Universe:
    d = Draws(draw)
    n = d.count(min_entities, max_entities)
    uids = draw(
        st.lists(
            st.tuples(st.sampled_from(ENTITY_TYPES), st.sampled_from(ENTITY_IDS)),
            min_size=n,
            max_size=n,
            unique=True,
        )
    )
    values = Values(draw, tuple(uids))
    entities: list[dict] = []
    for i, (t, ident) in enumerate(uids):
        parents: list[tuple[str, str]] = []
        if i > 0:
            if d.coin(0.5):  # chains: the entity just before
                parents.append(uids[i - 1])
            for _ in range(d.count(0, 2)):
                parents.append(uids[d.count(0, i - 1)])
        if d.coin(0.05):
            parents.append(d.pick(GHOSTS))
        entity: dict = {
            "uid": {"type": t, "id": ident},
            "attrs": values.record(0.75),
            "parents": [{"type": pt, "id": pi} for pt, pi in dict.fromkeys(parents)],
        }
        tags = values.fields(TAGS, 0.5)
        if tags:
            entity["tags"] = tags
        entities.append(entity)
    if not d.coin(0.1):  # the action hierarchy is usually in the store
        for a, ps in ACTION_PARENTS.items():
            entities.append(
                {
                    "uid": {"type": "Action", "id": a},
                    "attrs": {},
                    "parents": [{"type": "Action", "id": p} for p in ps],
                }
            )
    return Universe(tuple(uids), tuple(entities))


# ------------------------------------------------------------------- expressions


class Exprs(Draws):
    """Type-directed expressions over one universe."""

    P_ILL = 0.04  # chance, at each inner node, of asking for the wrong type
    P_BAD_LITERAL = 0.07  # chance of a bad extension literal
    P_BIG_OPERAND = 0.3  # chance that an arithmetic operand is near the i64 bounds

    def __init__(self, draw, uids):
        super().__init__(draw)
        self.values = Values(draw, uids)
        self.uids = uids
        self.subterms: list[tuple[Node, str]] = []  # (compound node, its type)

    # ---------------------------------------------------------------- leaves

    def long_lit(self) -> Node:
        return lit_long(self.values.long())

    def string_lit(self) -> Node:
        return lit_string(self.values.string(), escaped=self.coin(0.15))

    def entity_lit(self) -> Node:
        if self.coin(0.1):
            return lit_entity(("Action", self.pick(ACTIONS)))
        return lit_entity(self.values.uid())

    def ext_lit(self, fn: str) -> Node:
        if self.coin(self.P_BAD_LITERAL):
            arg = self.pick(BAD_EXT_LITERALS[fn])
        else:
            arg = self.pick(EXT_POOLS[fn])
        return Node("ext", (fn, (lit_string(arg),)))

    def entity_src(self, d: int) -> Node:
        """An entity expression to read attributes or tags from."""
        opts = [(6, var("principal")), (5, var("resource")), (1, var("action")), (1, None)]
        if d > 0:
            opts.append((1, "owner"))
        choice = self.weighted(opts)
        if choice is None:
            return self.entity_lit()
        if choice == "owner":
            return self.access(self.entity_src(d - 1), "owner")
        return choice

    def access(self, recv: Node, name: str) -> Node:
        if is_ident(name) and not self.coin(0.15):
            return Node("attr", (recv, name))
        return Node("index", (recv, name))

    def source(self, ty: str, d: int) -> Node | None:
        """Read a value of type ``ty`` from the request or the data, if any path has it."""
        opts: list[tuple[int, Any]] = []
        names = [k for k, t in ATTRS.items() if t == ty]
        if names:
            opts.append((6, ("entity_attr", names)))
            opts.append((3, ("context_attr", names)))
        for rec, fields in RECORD_FIELDS.items():
            fnames = [k for k, t in fields.items() if t == ty]
            if fnames and d > 0:
                opts.append((2, ("field", rec, fnames)))
        tags = [k for k, t in TAGS.items() if t == ty]
        if tags:
            opts.append((2, ("tag", tags)))
        if not opts:
            return None
        how = self.weighted(opts)
        if how[0] == "entity_attr":
            return self.access(self.entity_src(d), self.pick(how[1]))
        if how[0] == "context_attr":
            return self.access(var("context"), self.pick(how[1]))
        if how[0] == "field":
            return self.access(self.expr(how[1], d - 1), self.pick(how[2]))
        return Node("method", ("getTag", self.entity_src(d), (lit_string(self.pick(how[1])),)))

    # ----------------------------------------------------------------- typed

    def expr(self, ty: str, d: int) -> Node:
        if d > 0 and self.coin(self.P_ILL):
            ty = self.pick(ALL_TYPES)
        node = getattr(self, "e_" + ty)(max(d, 0))
        if node.kind not in LEAF_KINDS:
            self.subterms.append((node, ty))
        return node

    def observe(self, node: Node, ty: str) -> Node:
        """A boolean that depends on the value of ``node`` (of type ``ty``)."""
        if ty == "bool":
            return node
        if ty == "long":
            return Node(self.pick(("<=", "==", ">")), (node, self.long_lit()))
        if ty == "string":
            return Node("like", (node, self.pattern()))
        if ty == "entity":
            if self.coin(0.3):
                return Node("is", (node, self.pick(ENTITY_TYPES)))
            return Node("in", (node, self.entity_lit()))
        if ty in SET_ELEM:
            if self.coin(0.2):
                return Node("method", ("isEmpty", node, ()))
            return Node("method", ("contains", node, (self.expr(SET_ELEM[ty], 0),)))
        if ty in RECORD_FIELDS:
            return Node("has", (node, (self.pick(tuple(RECORD_FIELDS[ty])),)))
        if ty == "ip":
            if self.coin(0.3):
                return Node("method", ("isInRange", node, (self.ext_lit("ip"),)))
            return Node("method", (self.pick(("isIpv4", "isLoopback", "isMulticast")), node, ()))
        if ty == "decimal":
            return Node("method", ("lessThanOrEqual", node, (self.ext_lit("decimal"),)))
        return Node(self.pick(("<", "==")), (node, self.ext_lit(ty)))  # datetime, duration

    def if_then_else(self, ty: str, d: int) -> Node:
        return Node("if", (self.expr("bool", d - 1), self.expr(ty, d - 1), self.expr(ty, d - 1)))

    def either(self, ty: str, d: int, leaves, compounds) -> Node:
        """Pick a leaf production at depth 0, else any; sources count as leaves."""
        opts = list(leaves)
        if d > 0:  # inner nodes favour compound productions
            opts += [(2 * w, f) for w, f in compounds]
            opts.append((3, lambda: self.if_then_else(ty, d)))
        return self.weighted(opts)()

    def binary(self, op: str, left: str, right: str, d: int) -> Node:
        return Node(op, (self.expr(left, d - 1), self.expr(right, d - 1)))

    def e_bool(self, d: int) -> Node:
        sub = d - 1

        def has():
            if self.coin(0.3):
                return Node("has", (var("context"), (self.pick(HAS_NAMES),)))
            if self.coin(0.25):  # a path: has info.inner or has info.inner.ok
                path = ("info", "inner", self.pick(("ok", "depth")))[: self.count(2, 3)]
                return Node("has", (self.entity_src(sub), path))
            return Node("has", (self.entity_src(sub), (self.pick(HAS_NAMES),)))

        def eq():
            ty = self.pick(ALL_TYPES)
            other = self.pick(ALL_TYPES) if self.coin(0.1) else ty
            return self.binary(self.pick(("==", "!=")), ty, other, d)

        def compare():
            ty = self.weighted(
                [(6, "long"), (3, "datetime"), (3, "duration"), (1, "decimal"), (1, "string")]
            )
            return self.binary(self.pick(("<", "<=", ">", ">=")), ty, ty, d)

        def in_():
            rhs = self.weighted([(5, "entity"), (2, "literal"), (1, "set_entity")])
            if rhs == "literal":
                n = self.count(0, 3)
                rhs_node = Node("set", tuple(self.expr("entity", sub) for _ in range(n)))
                return Node("in", (self.expr("entity", sub), rhs_node))
            return self.binary("in", "entity", rhs, d)

        def is_in():
            t = self.pick(ENTITY_TYPES)
            return Node("is_in", (self.expr("entity", sub), t, self.expr("entity", sub)))

        def contains():
            ty = self.pick(SET_TYPES)
            return self.method("contains", ty, SET_ELEM[ty], d=d)

        def contains_set():
            ty = self.pick(SET_TYPES)
            return self.method(self.pick(("containsAll", "containsAny")), ty, ty, d=d)

        def has_tag():
            if self.coin(0.2):
                key = self.expr("string", sub)
            else:
                key = lit_string(self.pick((*TAGS, "nope")))
            return Node("method", ("hasTag", self.entity_src(sub), (key,)))

        def ip_test():
            if self.coin(0.25):
                return self.method("isInRange", "ip", "ip", d=d)
            return self.method(
                self.pick(("isIpv4", "isIpv6", "isLoopback", "isMulticast")), "ip", d=d
            )

        def dec_cmp():
            names = ("lessThan", "lessThanOrEqual", "greaterThan", "greaterThanOrEqual")
            return self.method(self.pick(names), "decimal", "decimal", d=d)

        def record_has():
            rec = self.expr(self.pick(RECORD_TYPES), sub)
            return Node("has", (rec, (self.pick(("ok", "if", "depth", "note", "inner")),)))

        def is_var():
            return Node("is", (var(self.pick(("principal", "resource"))), self.pick(ENTITY_TYPES)))

        leaves = [
            (3, lambda: lit_bool(self.draw(st.booleans()))),
            (5, lambda: self.source("bool", d)),
            (3, has),
            (1, is_var),
        ]
        compounds = [
            (4, lambda: Node("!", (self.expr("bool", sub),))),
            (5, lambda: self.binary("&&", "bool", "bool", d)),
            (5, lambda: self.binary("||", "bool", "bool", d)),
            (6, eq),
            (5, compare),
            (
                3,
                lambda: Node(
                    self.pick(("<", "<=", ">", ">=", "==")), (self.arith(d), self.expr("long", sub))
                ),
            ),
            (5, in_),
            (3, lambda: Node("like", (self.expr("string", sub), self.pattern()))),
            (
                2,
                lambda: Node(
                    "is", (self.expr("entity", sub), self.pick((*ENTITY_TYPES, "Action")))
                ),
            ),
            (2, is_in),
            (3, contains),
            (2, contains_set),
            (1, lambda: self.method("isEmpty", self.pick(SET_TYPES), d=d)),
            (2, has_tag),
            (4, ip_test),
            (4, dec_cmp),
            (1, record_has),
        ]
        return self.either("bool", d, leaves, compounds)

    def pattern(self) -> tuple:
        if self.coin(0.5):  # cut wildcards into a pool string, so it often matches
            s = self.values.string()
            i = self.count(0, len(s))
            j = self.count(i, len(s))
            segs = [s[:i], WILDCARD, s[j:]]
            if self.coin(0.2):
                segs.insert(0, WILDCARD)
        else:
            n = self.count(0, 4)
            segs = [WILDCARD if self.coin(0.3) else self.pick(LIKE_CHUNKS) for _ in range(n)]
        return tuple(s for s in segs if s != "")

    def arith(self, d: int) -> Node:
        """``a + b``, ``a - b`` or ``a * b``; operands often near the bounds (overflow)."""

        def operand():
            if self.coin(self.P_BIG_OPERAND):
                return lit_long(self.pick(BIG_LONGS))
            return self.expr("long", d - 1)

        return Node(self.pick(("+", "-", "*")), (operand(), operand()))

    def e_long(self, d: int) -> Node:
        def duration_to():
            names = ("toMilliseconds", "toSeconds", "toMinutes", "toHours", "toDays")
            return self.method(self.pick(names), "duration", d=d)

        leaves = [(4, self.long_lit), (5, lambda: self.source("long", d))]
        compounds = [
            (2, lambda: Node("neg", (self.expr("long", d - 1),))),
            (6, lambda: self.arith(d)),
            (5, duration_to),
        ]
        return self.either("long", d, leaves, compounds)

    def e_string(self, d: int) -> Node:
        leaves = [(4, self.string_lit), (5, lambda: self.source("string", d))]
        return self.either("string", d, leaves, [])

    def e_entity(self, d: int) -> Node:
        leaves = [
            (4, lambda: var(self.pick(("principal", "resource")))),
            (1, lambda: var("action")),
            (4, self.entity_lit),
        ]
        compounds = [(2, lambda: self.source("entity", d))]
        return self.either("entity", d, leaves, compounds)

    def set_expr(self, ty: str, d: int) -> Node:
        def literal():
            return Node(
                "set", tuple(self.expr(SET_ELEM[ty], d - 1) for _ in range(self.count(0, 3)))
            )

        return self.either(ty, d, [(3, lambda: self.source(ty, d))], [(3, literal)])

    def e_set_long(self, d: int) -> Node:
        return self.set_expr("set_long", d)

    def e_set_string(self, d: int) -> Node:
        return self.set_expr("set_string", d)

    def e_set_entity(self, d: int) -> Node:
        return self.set_expr("set_entity", d)

    def record_expr(self, ty: str, d: int, leaves) -> Node:
        def literal():
            fields = RECORD_FIELDS[ty].items()
            return Node(
                "record", tuple((k, self.expr(t, d - 1)) for k, t in fields if not self.coin(0.2))
            )

        return self.either(ty, d, leaves + [(3, lambda: self.source(ty, d))], [(2, literal)])

    def e_info(self, d: int) -> Node:
        return self.record_expr("info", d, [])

    def e_inner(self, d: int) -> Node:
        literal = (1, lambda: Node("record", (("ok", lit_bool(True)),)))
        if d == 0:  # no path reaches an inner record without a step
            return literal[1]()
        return self.record_expr("inner", d, [literal])

    def ext_expr(self, fn: str, d: int, compounds) -> Node:
        leaves = [(4, lambda: self.ext_lit(fn)), (3, lambda: self.source(fn, d))]
        return self.either(fn, d, leaves, compounds)

    def method(self, name: str, recv: str, *args: str, d: int) -> Node:
        """``recv.name(args)`` with receiver and arguments of the given types."""
        return Node(
            "method", (name, self.expr(recv, d - 1), tuple(self.expr(t, d - 1) for t in args))
        )

    def e_ip(self, d: int) -> Node:
        return self.ext_expr(
            "ip", d, [(1, lambda: Node("ext", ("ip", (self.expr("string", d - 1),))))]
        )

    def e_decimal(self, d: int) -> Node:
        return self.ext_expr("decimal", d, [])

    def e_datetime(self, d: int) -> Node:
        compounds = [
            (3, lambda: self.method("offset", "datetime", "duration", d=d)),
            (2, lambda: self.method("toDate", "datetime", d=d)),
        ]
        return self.ext_expr("datetime", d, compounds)

    def e_duration(self, d: int) -> Node:
        compounds = [
            (2, lambda: self.method("durationSince", "datetime", "datetime", d=d)),
            (2, lambda: self.method("toTime", "datetime", d=d)),
        ]
        return self.ext_expr("duration", d, compounds)


# ---------------------------------------------------------------- policies, requests


def scope(g: Exprs, role: str) -> Scope:
    op = g.weighted([(8, "all"), (3, "=="), (4, "in"), (2, "is"), (3, "is_in")])
    if op == "all":
        return Scope("all")
    if op == "is":
        return Scope("is", type=g.pick(ENTITY_TYPES))
    uid = g.values.uid()
    return Scope(op, entity=uid, type=g.pick(ENTITY_TYPES) if op == "is_in" else None)


def action_scope(g: Exprs) -> Scope:
    op = g.weighted([(8, "all"), (5, "=="), (3, "in"), (3, "in_list")])
    if op == "all":
        return Scope("all")
    if op == "in_list":
        n = g.count(0, 3)
        return Scope("in_list", entity=tuple(("Action", g.pick(ACTIONS)) for _ in range(n)))
    return Scope(op, entity=("Action", g.pick(ACTIONS)))


@st.composite
def policies(draw, uids, max_depth: int = 4) -> Policy:
    g = Exprs(draw, uids)
    effect = g.weighted([(1, "permit"), (1, "forbid")])
    principal = scope(g, "principal")
    action = action_scope(g)
    resource = scope(g, "resource")
    conds = []
    for _ in range(g.weighted([(2, 0), (6, 1), (2, 2)])):
        keyword = g.weighted([(4, "when"), (1, "unless")])
        conds.append((keyword, g.expr("bool", g.count(1, max_depth))))
    return Policy(effect, principal, action, resource, tuple(conds), tuple(g.subterms))


ANY_SCOPE = Scope("all")


@st.composite
def probes(draw, pols, uids) -> tuple[Policy, ...]:
    """Unscoped policies that each test one subterm of ``pols``.

    A wrong value deep inside a condition rarely changes that condition's
    outcome; a probe makes it visible on its own (as a reason or an error).
    """
    pool = [t for p in pols for t in p.subterms]
    if not pool:
        return ()
    g = Exprs(draw, uids)
    out = []
    for _ in range(g.count(0, min(len(pool), 6))):
        node, ty = pool[g.count(0, len(pool) - 1)]
        effect = g.weighted([(1, "permit"), (1, "forbid")])
        out.append(
            Policy(effect, ANY_SCOPE, ANY_SCOPE, ANY_SCOPE, (("when", g.observe(node, ty)),))
        )
    return tuple(out)


def descendants(universe: Universe) -> dict[tuple[str, str], list[tuple[str, str]]]:
    """Each entity (and each parent named in the store) -> itself and its descendants."""
    parents: dict[tuple[str, str], list[tuple[str, str]]] = {}
    for e in universe.entities:
        uid = (e["uid"]["type"], e["uid"]["id"])
        parents[uid] = [(p["type"], p["id"]) for p in e["parents"]]
    below: dict[tuple[str, str], list[tuple[str, str]]] = {}
    for uid in parents:
        seen, todo = {uid}, [uid]
        while todo:
            for p in parents.get(todo.pop(), ()):
                if p not in seen:
                    seen.add(p)
                    todo.append(p)
        for anc in seen:
            below.setdefault(anc, []).append(uid)
    return below


class Requests(Values):
    """Requests; many are aimed at one policy's scope so that its condition decides."""

    def __init__(self, draw, universe: Universe, pols):
        super().__init__(draw, universe.uids)
        self.pols = pols
        self.below = descendants(universe)

    def matching(self, s: Scope, pool) -> tuple[str, str]:
        if s.op == "all":
            return self.pick(pool)
        if s.op == "==":
            return s.entity
        if s.op == "is":
            typed = [u for u in pool if u[0] == s.type]
            return self.pick(typed) if typed else self.pick(pool)
        targets = s.entity if s.op == "in_list" else (s.entity,)
        cands = [u for t in targets for u in self.below.get(t, [t])]
        if s.op == "is_in":
            cands = [u for u in cands if u[0] == s.type] or cands
        return self.pick(cands) if cands else self.pick(pool)

    def request(self) -> Request:
        actions = tuple(("Action", a) for a in REQUEST_ACTIONS)
        if self.pols and self.coin(0.7):
            p = self.pick(self.pols)
            pool = self.uids or GHOSTS
            principal = self.matching(p.principal, pool)
            action = self.matching(p.action, actions)
            resource = self.matching(p.resource, pool)
        else:
            principal, action, resource = self.uid(), self.pick(actions), self.uid()
        return Request(principal, action, resource, context=self.record(0.6))


@st.composite
def scenarios(draw, max_policies: int = 6, max_requests: int = 5) -> Scenario:
    uni = draw(universes())
    d = Draws(draw)
    pols = tuple(draw(policies(uni.uids)) for _ in range(d.count(1, max_policies)))
    reqs = Requests(draw, uni, pols)
    pols += draw(probes(pols, uni.uids))
    return Scenario(uni, pols, tuple(reqs.request() for _ in range(d.count(1, max_requests))))


# ----------------------------------------------------------------------- printer


def quote(s: str, *, escaped: bool = False, pattern: bool = False) -> str:
    """A Cedar string literal; ``escaped`` writes non-ASCII as ``\\u{..}``."""
    out = ['"']
    for c in s:
        o = ord(c)
        if c == "\\":
            out.append("\\\\")
        elif c == '"':
            out.append('\\"')
        elif c == "*" and pattern:
            out.append("\\*")
        elif c == "\n":
            out.append("\\n")
        elif c == "\r":
            out.append("\\r")
        elif c == "\t":
            out.append("\\t")
        elif c == "\0":
            out.append("\\0")
        elif o < 0x20 or o == 0x7F or (escaped and (o > 0x7E or not c.isalnum())):
            out.append(f"\\u{{{o:x}}}")
        else:
            out.append(c)
    out.append('"')
    return "".join(out)


def show_uid(uid: tuple[str, str]) -> str:
    return f"{uid[0]}::{quote(uid[1])}"


def show_key(name: str) -> str:
    return name if is_ident(name) else quote(name)


def show(node: Node) -> str:
    """Render an expression as Cedar text, every compound parenthesised."""
    k, a = node.kind, node.args
    if k == "bool":
        return "true" if a[0] else "false"
    if k == "long":
        return str(a[0]) if a[0] >= 0 else f"({a[0]})"
    if k == "string":
        return quote(a[0], escaped=a[1])
    if k == "entity":
        return show_uid(a)
    if k == "var":
        return a[0]
    if k == "if":
        return f"(if {show(a[0])} then {show(a[1])} else {show(a[2])})"
    if k == "!":
        return f"(!{show(a[0])})"
    if k == "neg":
        return f"(-{show(a[0])})"
    if k in ("&&", "||", "==", "!=", "<", "<=", ">", ">=", "+", "-", "*", "in"):
        return f"({show(a[0])} {k} {show(a[1])})"
    if k == "has":
        path = a[1]
        if len(path) > 1:
            assert all(is_ident(p) for p in path), path
            return f"({show(a[0])} has {'.'.join(path)})"
        return f"({show(a[0])} has {show_key(path[0])})"
    if k == "like":
        text = "".join("*" if seg is WILDCARD else quote(seg, pattern=True)[1:-1] for seg in a[1])
        return f'({show(a[0])} like "{text}")'
    if k == "is":
        return f"({show(a[0])} is {a[1]})"
    if k == "is_in":
        return f"({show(a[0])} is {a[1]} in {show(a[2])})"
    if k == "attr":
        return f"({show(a[0])}.{a[1]})"
    if k == "index":
        return f"({show(a[0])}[{quote(a[1])}])"
    if k == "set":
        return "[" + ", ".join(show(e) for e in a) + "]"
    if k == "record":
        return "{" + ", ".join(f"{show_key(key)}: {show(v)}" for key, v in a) + "}"
    if k == "method":
        name, recv, args = a
        return f"({show(recv)}.{name}({', '.join(show(x) for x in args)}))"
    if k == "ext":
        fn, args = a
        return f"{fn}({', '.join(show(x) for x in args)})"
    raise AssertionError(f"unknown node kind {k}")


def show_scope(role: str, s: Scope) -> str:
    if s.op == "all":
        return role
    if s.op == "is":
        return f"{role} is {s.type}"
    if s.op == "is_in":
        return f"{role} is {s.type} in {show_uid(s.entity)}"
    if s.op == "in_list":
        return f"{role} in [{', '.join(show_uid(u) for u in s.entity)}]"
    return f"{role} {s.op} {show_uid(s.entity)}"


def show_policy(p: Policy) -> str:
    head = (
        f"{p.effect} ({show_scope('principal', p.principal)}, "
        f"{show_scope('action', p.action)}, {show_scope('resource', p.resource)})"
    )
    body = "".join(f"\n  {kw} {{ {show(c)} }}" for kw, c in p.conditions)
    return head + body + ";"


def show_policies(ps) -> str:
    return "\n".join(show_policy(p) for p in ps) + "\n"
