"""The compiler: an ordered tuple of timed passes from a PolicySet to an index.

::

    fold      conditions folded; never-satisfiable policies dropped
    generate  one leaf per policy: its condition's shape (source) + parameters
    compile   every distinct shape into one module, one compile() call
    bind      each policy's condition function from its shape's factory
    index     the decision trees

Each pass reads and extends one :class:`CompileState`; adding a pass is one
line in :data:`PASSES`. The result, :class:`CompiledPolicies`, is immutable
in use and can be saved to disk (:mod:`plainpdp.compile.snapshot`).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from typing import Any, NamedTuple

from ..evaluate.combine import role
from ..gcpause import paused_gc
from ..policyset import PolicyEntry, PolicySet
from .codegen import MODULE_NAME, MemoKey, generate, load_module, module_source
from .fold import ALWAYS, FoldedConditions, fold_conditions
from .index import GroupKey, KeyNode, Leaf, TreeBuilder, multi_keyed


class PolicySpec(NamedTuple):
    """One indexed policy as people read it (shape -1: no condition)."""

    policy_id: str
    partner: str | None
    effect: str
    is_ceiling: bool
    shape: int
    params: tuple
    multi: bool


class CompiledPolicies:
    """A compiled policy set: the trees, their leaves, and the generated code."""

    __slots__ = ("fingerprint", "source", "leaves", "ids", "trees", "dropped", "timings")

    def __init__(
        self,
        fingerprint: str,
        source: str,
        leaves: tuple[Leaf, ...],
        ids: dict,
        trees: dict[GroupKey, KeyNode],
        dropped: tuple[str, ...],
        timings: dict[str, float],
    ):
        self.fingerprint = fingerprint  # of the PolicySet it was compiled from
        self.source = source  # the generated module (compiled again to save a snapshot)
        self.leaves = leaves  # every indexed policy, in policy-set order
        self.ids = ids  # EntityUid -> int id of every uid named in a scope
        self.trees = trees
        self.dropped = dropped  # ids of policies that can never apply
        self.timings = timings  # pass name -> seconds

    @property
    def specs(self) -> tuple[PolicySpec, ...]:
        return tuple(
            PolicySpec(leaf.policy_id, leaf.partner, leaf.effect, leaf.is_ceiling, leaf.shape,
                       leaf.params, leaf.multi)
            for leaf in self.leaves
        )

    def __repr__(self) -> str:
        return (
            f"CompiledPolicies({len(self.leaves)} policies, {len(self.trees)} groups, "
            f"{self.source.count('def shape_')} shapes)"
        )


class CompileState:
    """What the passes share: inputs, then each pass's results."""

    def __init__(self, policies: PolicySet):
        self.policies = policies
        self.folded: list[tuple[PolicyEntry, FoldedConditions]] = []
        self.dropped: list[str] = []
        self.shapes: dict[str, int] = {}
        self.shape_list: list[tuple[str, int]] = []
        self.leaves: list[Leaf] = []
        self.source = ""
        self.factories: list[Any] = []
        self.builder = TreeBuilder()


def fold_pass(state: CompileState) -> None:
    folded, dropped = state.folded, state.dropped
    # Policies written from one template repeat their conditions word for word:
    # fold (and generate) each text once.
    seen: dict[str, tuple[tuple, FoldedConditions]] = {}
    for entry in state.policies:
        conditions = entry.policy.conditions
        if not conditions:
            result = ALWAYS
        else:
            text = entry.text[conditions[0].span.start:conditions[-1].span.end]
            hit = seen.get(text) if text else None
            if hit is not None and hit[0] == conditions:
                result = hit[1]
            else:
                result = fold_conditions(conditions)
                if text:
                    seen[text] = (conditions, result)
        if result.dead:
            dropped.append(entry.id)
        else:
            folded.append((entry, result))


def generate_pass(state: CompileState) -> None:
    shapes, shape_list, leaves = state.shapes, state.shape_list, state.leaves
    memo_keys: dict[Any, int] = {}
    # id(folded conditions) -> (shape, params, guard, contextual)
    generated: dict[int, tuple] = {}
    for entry, folded in state.folded:
        shape, params, guard, contextual = -1, (), None, False
        if folded.checks or folded.ends_false:
            hit = generated.get(id(folded))
            if hit is not None:
                shape, params, guard, contextual = hit
            else:
                body, params, kept, contextual = generate(folded)
                if "keep(" in body:
                    params = tuple(
                        _memo_key(memo_keys, p) if p.__class__ is MemoKey else p for p in params
                    )
                shape = shapes.get(body, -1)
                if shape < 0:
                    shape = shapes[body] = len(shape_list)
                    shape_list.append((body, len(params)))
                if kept is not None:
                    guard = (params[kept[1]], kept[0] == "rm", kept[2])
                generated[id(folded)] = (shape, params, guard, contextual)
        policy = entry.policy
        leaf = Leaf(
            entry.id, entry.partner, role(entry.partner, policy.effect, entry.is_ceiling), None,
            multi_keyed(policy), shape, params,
        )
        leaf.guard = guard
        leaf.contextual = contextual
        leaves.append(leaf)


def _memo_key(keys: dict[Any, int], key: MemoKey) -> int:
    """One int per distinct kept sub-expression (constants compared by type:
    ``principal.x == true`` and ``principal.x == 1`` are different values)."""
    try:
        identity = (key.source, tuple((p.__class__, p) for p in key.params))
        n = keys.get(identity)
    except TypeError:  # an unhashable constant: a key of its own
        identity, n = object(), None
    if n is None:
        n = keys[identity] = len(keys)
    return n


def compile_pass(state: CompileState) -> None:
    state.source = module_source(state.shape_list)
    state.factories = load_module(compile(state.source, MODULE_NAME, "exec"))


def bind_pass(state: CompileState) -> None:
    bind(state.leaves, state.factories)


def index_pass(state: CompileState) -> None:
    add = state.builder.add
    for (entry, _), leaf in zip(state.folded, state.leaves, strict=True):
        add(entry.policy, leaf)
    state.builder.finish()


PASSES: tuple[tuple[str, Callable[[CompileState], None]], ...] = (
    ("fold", fold_pass),
    ("generate", generate_pass),
    ("compile", compile_pass),
    ("bind", bind_pass),
    ("index", index_pass),
)


def bind(leaves: Iterable[Leaf], factories: list[Any]) -> None:
    """Give each leaf its condition function: its shape's factory on its parameters.

    Leaves with equal conditions share one function (it keeps no state).
    """
    made: dict[tuple, Any] = {}
    for leaf in leaves:
        if leaf.shape >= 0:
            try:
                key = (leaf.shape, tuple((p.__class__, p) for p in leaf.params))
                cond = made.get(key)
            except TypeError:  # an unhashable constant
                key, cond = None, None
            if cond is None:
                cond = factories[leaf.shape](*leaf.params)
                if key is not None:
                    made[key] = cond
            leaf.cond = cond


def compile_policies(policies: PolicySet) -> CompiledPolicies:
    """Run every pass in order, timing each; the compiled index of ``policies``."""
    state = CompileState(policies)
    timings: dict[str, float] = {}
    with paused_gc():
        for name, run in PASSES:
            start = time.perf_counter()
            run(state)
            timings[name] = time.perf_counter() - start
    return CompiledPolicies(
        policies.fingerprint,
        state.source,
        tuple(state.leaves),
        state.builder.ids,
        state.builder.trees,
        tuple(state.dropped),
        timings,
    )
