"""The decision tree: scope group -> action key -> principal key -> resource key -> leaves.

One tree per *scope group* ``(partner, effect, is_ceiling)``, so a request
only ever looks at the platform's groups and its principal's partner's
groups. Inside a tree every level is a :class:`KeyNode` of dicts:

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

from ..evaluate.combine import role
from ..syntax import ast
from ..values import EntityUid


class Leaf:
    """One policy at the bottom of the tree: its id, group and condition."""

    __slots__ = ("policy_id", "partner", "effect", "is_ceiling", "cond", "multi", "role")

    def __init__(
        self,
        policy_id: str,
        partner: str | None,
        effect: str,
        is_ceiling: bool,
        cond: Any,
        multi: bool,
    ):
        self.policy_id = policy_id
        self.partner = partner
        self.effect = effect
        self.is_ceiling = is_ceiling
        self.cond = cond  # None: no condition left after folding
        self.multi = multi  # reachable by several action keys: de-duplicate
        self.role = role(partner, effect, is_ceiling)  # what it counts as when satisfied

    def __repr__(self) -> str:
        return f"Leaf({self.policy_id!r})"


class KeyNode:
    """One level of the tree; children are KeyNodes, or lists of leaves at the bottom."""

    __slots__ = ("eq", "in_", "types", "any")

    def __init__(
        self,
        eq: dict[int, Any] | None = None,
        in_: dict[int, Any] | None = None,
        types: dict[str, KeyNode] | None = None,
        any: Any = None,  # noqa: A002 - Cedar's own word for "no constraint"
    ):
        self.eq = eq
        self.in_ = in_
        self.types = types
        self.any = any

    def __reduce__(self):
        return (KeyNode, (self.eq, self.in_, self.types, self.any))

    def children(self) -> Iterator[tuple[str, Any, Any]]:
        """``(kind, key, child)`` for every branch, for display and tests."""
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


GroupKey = tuple  # (partner | None, effect, is_ceiling)


class TreeBuilder:
    """Builds the trees of one policy set, interning scope uids to int ids."""

    __slots__ = ("ids", "trees")

    def __init__(self) -> None:
        self.ids: dict[EntityUid, int] = {}
        self.trees: dict[GroupKey, KeyNode] = {}

    def uid_id(self, uid: EntityUid) -> int:
        n = self.ids.get(uid)
        if n is None:
            n = self.ids[uid] = len(self.ids)
        return n

    def _branch(self, node: KeyNode, kind: str, key: Any, make: Any) -> Any:
        if kind == "any":
            if node.any is None:
                node.any = make()
            return node.any
        if kind == "eq":
            d = node.eq if node.eq is not None else _set(node, "eq")
        elif kind == "in":
            d = node.in_ if node.in_ is not None else _set(node, "in_")
        else:
            raise AssertionError(kind)
        child = d.get(key)
        if child is None:
            child = d[key] = make()
        return child

    def _scope(self, node: KeyNode, c: ast.ScopeConstraint, make: Any) -> Any:
        kind = c.kind
        if kind == "any":
            return self._branch(node, "any", None, make)
        if kind in ("eq", "in"):
            return self._branch(node, kind, self.uid_id(c.entity), make)  # type: ignore[arg-type]
        if node.types is None:
            node.types = {}
        sub = node.types.get(c.entity_type)  # type: ignore[arg-type]
        if sub is None:
            sub = node.types[c.entity_type] = KeyNode()  # type: ignore[index]
        if kind == "is":
            return self._branch(sub, "any", None, make)
        return self._branch(sub, "in", self.uid_id(c.entity), make)  # type: ignore[arg-type]

    def add(self, policy: ast.Policy, leaf: Leaf) -> None:
        key = (leaf.partner, leaf.effect, leaf.is_ceiling)
        tree = self.trees.get(key)
        if tree is None:
            tree = self.trees[key] = KeyNode()
        action = policy.action
        if action.kind == "any":
            action_nodes = [self._branch(tree, "any", None, KeyNode)]
        elif action.kind == "eq":
            action_nodes = [self._branch(tree, "eq", self.uid_id(action.entities[0]), KeyNode)]
        else:
            action_nodes = [
                self._branch(tree, "in", self.uid_id(uid), KeyNode)
                for uid in dict.fromkeys(action.entities)
            ]
        for node in action_nodes:
            resources = self._scope(node, policy.principal, KeyNode)
            self._scope(resources, policy.resource, list).append(leaf)


def _set(node: KeyNode, slot: str) -> dict:
    d: dict = {}
    setattr(node, slot, d)
    return d


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
