"""Walking the decision tree with what a query knows.

The compiled index (:mod:`plainpdp.compile.index`) is keyed action ->
principal -> resource. A query knows two of the three; these helpers match
the known ones exactly as the evaluator does (int ids of self+ancestors)
and hand back the nodes below, never scanning policies.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from ..compile.index import KeyNode
from ..values import EntityUid

if TYPE_CHECKING:
    from ..engine import Engine


def matching(node: KeyNode, info: Any, out: list) -> None:
    """Append every child of ``node`` whose scope key the entity (``UidInfo``) satisfies."""
    if node.any is not None:
        out.append(node.any)
    if node.eq is not None:
        child = node.eq.get(info.self_id)
        if child is not None:
            out.append(child)
    if node.in_ is not None:
        for x in info.chain:
            child = node.in_.get(x)
            if child is not None:
                out.append(child)
    if node.types is not None:
        sub = node.types.get(info.type)
        if sub is not None:
            matching(sub, info, out)


def info(engine: Engine, uid: EntityUid) -> Any:
    """The evaluator's ``UidInfo`` of a uid for the current store version."""
    evaluator = engine._evaluator
    evaluator._sync()
    return evaluator._info(uid)


def groups(engine: Engine, partner: str | None) -> Iterator[tuple[tuple, KeyNode]]:
    """``(group key, tree)`` of the platform and of ``partner`` (never other partners)."""
    for key, tree in engine.compiled.trees.items():
        if key[0] is None or key[0] == partner:
            yield key, tree


def resource_nodes(tree: KeyNode, action_info: Any, principal_info: Any) -> list[KeyNode]:
    """The resource-level nodes of one tree reached by the action and the principal."""
    principals: list = []
    matching(tree, action_info, principals)
    resources: list = []
    for node in principals:
        matching(node, principal_info, resources)
    return resources


def candidate_leaves(engine: Engine, principal: EntityUid, action: EntityUid) -> list[Any]:
    """Leaves whose principal and action scopes match, in the groups that may matter."""
    pi, ai = info(engine, principal), info(engine, action)
    seen: dict[str, Any] = {}
    for _, tree in groups(engine, engine.partners.partner_of(principal)):
        for node in resource_nodes(tree, ai, pi):
            for _, _, leaves in node.children():
                for leaf in leaves:
                    seen.setdefault(leaf.policy_id, leaf)
    return list(seen.values())
