"""The decision tree: scope group -> action key -> principal key -> resource key -> leaves.

One tree per *scope group* ``(partner, effect, is_ceiling)``, so a request
only ever looks at the platform's groups and its principal's partner's
groups. Inside a tree every level is a :class:`KeyNode` of dicts:

Each kind of key is a mapping (a :class:`Single` while it has one key, then
a dict):

``eq``
    ``== uid`` (keyed by the uid's interned int id)
``in_``
    ``in uid``: matched by any id on the request entity's self+ancestor chain
``types``
    ``is T`` (``types[T].any``) and ``is T in uid`` (``types[T].in_[uid]``)
``any``
    no constraint

Entity uids that appear in some scope get small int ids (``ids``); a
request entity's chain keeps only ids the index knows, so probing costs a
few int-keyed dict lookups, never a scan over policies.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from ..evaluate.combine import CEILING, FORBID
from ..syntax import ast
from ..values import EntityUid


class Leaf:
    """One policy at the bottom of the tree: its id, role, condition and how to rebuild it."""

    __slots__ = ("policy_id", "partner", "role", "cond", "multi", "shape", "params", "guard",
                 "contextual")

    def __init__(
        self,
        policy_id: str,
        partner: str | None,
        role: int,
        cond: Any,
        multi: bool,
        shape: int = -1,
        params: tuple = (),
    ):
        self.policy_id = policy_id
        self.partner = partner
        self.role = role  # what it counts as when satisfied (combine.role)
        self.cond = cond  # None: no condition left after folding
        self.multi = multi  # reachable by several action keys: de-duplicate
        self.shape = shape  # its condition factory (-1: none) and the factory's arguments
        self.params = params
        # A value of the principal (or the resource) alone that the condition
        # needs true, read before calling ``cond``: (key in that entity's
        # table, of the resource?, is it the whole condition?).
        self.guard: tuple[int, bool, bool] | None = None
        # Whether the condition reads ``context``: if not, it holds (or errors)
        # alike on every request with the same principal, action and resource.
        self.contextual = False

    @property
    def effect(self) -> str:
        return "forbid" if self.role == FORBID else "permit"

    @property
    def is_ceiling(self) -> bool:
        return self.role == CEILING

    def __repr__(self) -> str:
        return f"Leaf({self.policy_id!r})"

    def __reduce__(self):
        """Pickled without its condition function: loading binds it again."""
        return (Leaf, (self.policy_id, self.partner, self.role, None, self.multi, self.shape,
                       self.params), (self.guard, self.contextual))

    def __setstate__(self, state: tuple) -> None:
        self.guard, self.contextual = state


class Single:
    """A read-only one-entry mapping: most branches of a tree have one key,
    and a dict costs 224 bytes where this costs 48."""

    __slots__ = ("key", "value")

    def __init__(self, key: Any, value: Any):
        self.key = key
        self.value = value

    def get(self, key: Any, default: Any = None) -> Any:
        return self.value if key == self.key else default

    def __getitem__(self, key: Any) -> Any:
        if key == self.key:
            return self.value
        raise KeyError(key)

    def __contains__(self, key: Any) -> bool:
        return key == self.key

    def __len__(self) -> int:
        return 1

    def __iter__(self) -> Iterator[Any]:
        yield self.key

    def keys(self) -> tuple:
        return (self.key,)

    def values(self) -> tuple:
        return (self.value,)

    def items(self) -> tuple:
        return ((self.key, self.value),)

    def __reduce__(self):
        return (Single, (self.key, self.value))


class KeyNode:
    """One level of the tree; children are KeyNodes, or at the bottom one
    :class:`Leaf` or a list of them (a lone leaf is kept without a list).

    ``eq``, ``in_`` and ``types`` are mappings (a dict, or a :class:`Single`
    while there is one key), or None when no policy uses that kind of key.
    """

    __slots__ = ("eq", "in_", "types", "any")

    def __init__(
        self,
        eq: Any = None,
        in_: Any = None,
        types: Any = None,
        any: Any = None,  # noqa: A002 - Cedar's own word for "no constraint"
    ):
        self.eq = eq
        self.in_ = in_
        self.types = types
        self.any = any

    def __reduce__(self):
        return (KeyNode, (self.eq, self.in_, self.types, self.any))

    def children(self) -> Iterator[tuple[str, Any, Any]]:
        """``(kind, key, child)`` for every branch; at the bottom, child is a list of leaves."""
        for kind, key, child in self._branches():
            yield kind, key, (child,) if child.__class__ is Leaf else child

    def _branches(self) -> Iterator[tuple[str, Any, Any]]:
        for uid_id, child in (self.eq or {}).items():
            yield "==", uid_id, child
        for uid_id, child in (self.in_ or {}).items():
            yield "in", uid_id, child
        for type_name, sub in (self.types or {}).items():
            if sub.any is not None:
                yield "is", type_name, sub.any
            for uid_id, child in (sub.in_ or {}).items():
                yield "is-in", (type_name, uid_id), child
        if self.any is not None:
            yield "any", None, self.any


class OneIn:
    """A resource-level node with a single ``in`` key (a section, a folder):
    the commonest node of all, kept in 48 bytes instead of a KeyNode and a
    Single (112). It reads like a KeyNode."""

    __slots__ = ("key", "value")

    eq = types = any = None

    def __init__(self, key: Any, value: Any):
        self.key = key
        self.value = value

    @property
    def in_(self) -> Single:
        return Single(self.key, self.value)

    def children(self) -> Iterator[tuple[str, Any, Any]]:
        value = self.value
        yield "in", self.key, (value,) if value.__class__ is Leaf else value

    def __reduce__(self):
        return (OneIn, (self.key, self.value))


GroupKey = tuple  # (partner | None, effect, is_ceiling)


def _child(mapping: Any, key: Any, make: Any) -> tuple[Any, Any]:
    """(the mapping with ``key`` in it, the child under ``key``), made if new."""
    if mapping is None:
        child = make()
        return Single(key, child), child
    if mapping.__class__ is Single:
        if mapping.key == key:
            return mapping, mapping.value
        child = make()
        return {mapping.key: mapping.value, key: child}, child
    child = mapping.get(key)
    if child is None:
        child = mapping[key] = make()
    return mapping, child


def _add_leaf(value: Any, leaf: Leaf) -> Any:
    """A leaf added to what a branch holds: nothing, one Leaf, or a list of them."""
    if value is None:
        return leaf
    if value.__class__ is Leaf:
        return [value, leaf]
    value.append(leaf)
    return value


def _with_leaf(mapping: Any, key: Any, leaf: Leaf) -> Any:
    """``mapping`` (made or grown as needed) with ``leaf`` added under ``key``."""
    if mapping is None:
        return Single(key, leaf)
    if mapping.__class__ is Single:
        if mapping.key == key:
            mapping.value = _add_leaf(mapping.value, leaf)
            return mapping
        return {mapping.key: mapping.value, key: leaf}
    mapping[key] = _add_leaf(mapping.get(key), leaf)
    return mapping


def _leaves(node: KeyNode, c: ast.ScopeConstraint, ids: Any, leaf: Leaf) -> None:
    """Put ``leaf`` under ``node`` at the key of resource constraint ``c``."""
    kind = c.kind
    if kind == "is" or kind == "is_in":
        node.types, node = _child(node.types, c.entity_type, KeyNode)
        kind = "any" if kind == "is" else "in"
    if kind == "any":
        node.any = _add_leaf(node.any, leaf)
    elif kind == "eq":
        node.eq = _with_leaf(node.eq, ids(c.entity), leaf)
    else:
        node.in_ = _with_leaf(node.in_, ids(c.entity), leaf)


def _scope(node: KeyNode, c: ast.ScopeConstraint, ids: Any) -> KeyNode:
    """The child KeyNode of ``node`` at the key of principal constraint ``c``."""
    kind = c.kind
    if kind == "any":
        if node.any is None:
            node.any = KeyNode()
        return node.any
    if kind == "eq":
        node.eq, child = _child(node.eq, ids(c.entity), KeyNode)
        return child
    if kind == "in":
        node.in_, child = _child(node.in_, ids(c.entity), KeyNode)
        return child
    node.types, sub = _child(node.types, c.entity_type, KeyNode)
    if kind == "is":
        if sub.any is None:
            sub.any = KeyNode()
        return sub.any
    sub.in_, child = _child(sub.in_, ids(c.entity), KeyNode)
    return child


class TreeBuilder:
    """Builds the trees of one policy set, interning scope uids to int ids."""

    __slots__ = ("ids", "trees", "_by_role")

    def __init__(self) -> None:
        self.ids: dict[EntityUid, int] = {}
        self.trees: dict[GroupKey, KeyNode] = {}
        self._by_role: dict[tuple, KeyNode] = {}  # (partner, role) -> its tree

    def uid_id(self, uid: EntityUid) -> int:
        n = self.ids.get(uid)
        if n is None:
            n = self.ids[uid] = len(self.ids)
        return n

    def add(self, policy: ast.Policy, leaf: Leaf) -> None:
        key = (leaf.partner, leaf.role)
        tree = self._by_role.get(key)
        if tree is None:
            tree = self._by_role[key] = KeyNode()
            self.trees[(leaf.partner, leaf.effect, leaf.is_ceiling)] = tree
        ids = self.uid_id
        action = policy.action
        kind = action.kind
        if kind == "any":
            if tree.any is None:
                tree.any = KeyNode()
            nodes = (tree.any,)
        elif kind == "eq":
            tree.eq, node = _child(tree.eq, ids(action.entities[0]), KeyNode)
            nodes = (node,)
        else:
            out = []
            for uid in dict.fromkeys(action.entities):
                tree.in_, node = _child(tree.in_, ids(uid), KeyNode)
                out.append(node)
            nodes = tuple(out)
        principal, resource = policy.principal, policy.resource
        for node in nodes:
            _leaves(_scope(node, principal, ids), resource, ids, leaf)

    def finish(self) -> None:
        """Store each resource-level node that has one ``in`` key as a :class:`OneIn`."""
        for tree in self.trees.values():
            for _, _, principals in tree._branches():
                for attr in ("eq", "in_", "any", "types"):
                    held = getattr(principals, attr)
                    if held is None:
                        continue
                    if attr == "any":
                        principals.any = _compact(held)
                    elif attr == "types":
                        for sub in held.values():
                            _compact_all(sub)
                    else:
                        _compact_mapping(held)


def _compact(node: KeyNode) -> Any:
    d = node.in_
    if d.__class__ is Single and node.eq is None and node.types is None and node.any is None:
        return OneIn(d.key, d.value)
    return node


def _compact_mapping(mapping: Any) -> None:
    if mapping.__class__ is Single:
        mapping.value = _compact(mapping.value)
    else:
        for key, node in mapping.items():
            mapping[key] = _compact(node)


def _compact_all(node: KeyNode) -> None:
    """The resource-level nodes under a principal ``is T`` branch."""
    if node.any is not None:
        node.any = _compact(node.any)
    if node.in_ is not None:
        _compact_mapping(node.in_)


def multi_keyed(policy: ast.Policy) -> bool:
    """Whether a policy sits under several action keys (``action in [A, B]``)."""
    return policy.action.kind == "in" and len(set(policy.action.entities)) > 1


def describe(trees: dict[GroupKey, KeyNode], ids: dict[EntityUid, int]) -> list[str]:
    """The trees as indented text lines (``plainpdp compile --show``)."""
    names = {n: str(uid) for uid, n in ids.items()}

    def label(kind: str, key: Any) -> str:
        if kind == "any":
            return "any"
        if kind == "is":
            return f"is {key}"
        if kind == "is-in":
            return f"is {key[0]} in {names[key[1]]}"
        return f"{kind} {names[key]}"

    lines: list[str] = []
    for (partner, effect, ceiling), tree in trees.items():
        scope = "platform" if partner is None else f"partner {partner}"
        lines.append(f"{scope} {'ceiling' if ceiling else effect}:")
        for a_kind, a_key, principals in tree.children():
            lines.append(f"  action {label(a_kind, a_key)}")
            for p_kind, p_key, resources in principals.children():
                lines.append(f"    principal {label(p_kind, p_key)}")
                for r_kind, r_key, leaves in resources.children():
                    ids_text = ", ".join(leaf.policy_id for leaf in leaves)
                    lines.append(f"      resource {label(r_kind, r_key)}: {ids_text}")
    return lines
