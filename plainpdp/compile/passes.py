"""The compiler: an ordered tuple of timed passes from a PolicySet to an index.

::

    fold      conditions folded; never-satisfiable policies dropped
    generate  one condition shape (source) + parameters per policy
    compile   every distinct shape into one module, one compile() call
    bind      each policy's condition function from its shape's factory
    index     the decision trees

Each pass reads and extends one :class:`CompileState`; adding a pass is one
line in :data:`PASSES`. The result, :class:`CompiledPolicies`, is immutable
in use and can be saved to disk (:mod:`plainpdp.compile.snapshot`).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any, NamedTuple

from ..policyset import PolicyEntry, PolicySet
from .codegen import MODULE_NAME, generate, load_module, module_source
from .fold import FoldedConditions, fold_conditions
from .index import GroupKey, KeyNode, Leaf, TreeBuilder, multi_keyed


class PolicySpec(NamedTuple):
    """What a snapshot keeps of one live policy (shape -1: no condition)."""

    policy_id: str
    partner: str | None
    effect: str
    is_ceiling: bool
    shape: int
    params: tuple
    multi: bool


class CompiledPolicies:
    """A compiled policy set: the trees, their leaves, and the generated code."""

    __slots__ = ("fingerprint", "source", "code", "specs", "leaves", "ids", "trees",
                 "dropped", "timings")

    def __init__(
        self,
        fingerprint: str,
        source: str,
        code: Any,
        specs: tuple[PolicySpec, ...],
        leaves: tuple[Leaf, ...],
        ids: dict,
        trees: dict[GroupKey, KeyNode],
        dropped: tuple[str, ...],
        timings: dict[str, float],
    ):
        self.fingerprint = fingerprint  # of the PolicySet it was compiled from
        self.source = source  # the generated module, for people
        self.code = code  # the same, compiled
        self.specs = specs
        self.leaves = leaves
        self.ids = ids  # EntityUid -> int id of every uid named in a scope
        self.trees = trees
        self.dropped = dropped  # ids of policies that can never apply
        self.timings = timings  # pass name -> seconds

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
        self.specs: list[PolicySpec] = []
        self.source = ""
        self.code: Any = None
        self.factories: list[Any] = []
        self.leaves: list[Leaf] = []
        self.builder = TreeBuilder()


def fold_pass(state: CompileState) -> None:
    for entry in state.policies:
        folded = fold_conditions(entry.policy.conditions)
        if folded.dead:
            state.dropped.append(entry.id)
        else:
            state.folded.append((entry, folded))


def generate_pass(state: CompileState) -> None:
    shapes = state.shapes
    for entry, folded in state.folded:
        shape, params = -1, ()
        if folded.checks or folded.ends_false:
            body, params = generate(folded)
            shape = shapes.get(body, -1)
            if shape < 0:
                shape = shapes[body] = len(state.shape_list)
                state.shape_list.append((body, len(params)))
        state.specs.append(PolicySpec(
            entry.id, entry.partner, entry.effect, entry.is_ceiling, shape, params,
            multi_keyed(entry.policy),
        ))


def compile_pass(state: CompileState) -> None:
    state.source = module_source(state.shape_list)
    state.code = compile(state.source, MODULE_NAME, "exec")
    state.factories = load_module(state.code)


def bind_pass(state: CompileState) -> None:
    state.leaves = bind(state.specs, state.factories)


def index_pass(state: CompileState) -> None:
    add = state.builder.add
    for (entry, _), leaf in zip(state.folded, state.leaves, strict=True):
        add(entry.policy, leaf)


PASSES: tuple[tuple[str, Callable[[CompileState], None]], ...] = (
    ("fold", fold_pass),
    ("generate", generate_pass),
    ("compile", compile_pass),
    ("bind", bind_pass),
    ("index", index_pass),
)


def bind(specs: list[PolicySpec] | tuple[PolicySpec, ...], factories: list[Any]) -> list[Leaf]:
    """Leaves with condition functions: each spec's factory called on its parameters."""
    return [
        Leaf(s.policy_id, s.partner, s.effect, s.is_ceiling,
             None if s.shape < 0 else factories[s.shape](*s.params), s.multi)
        for s in specs
    ]


def compile_policies(policies: PolicySet) -> CompiledPolicies:
    """Run every pass in order, timing each; the compiled index of ``policies``."""
    state = CompileState(policies)
    timings: dict[str, float] = {}
    for name, run in PASSES:
        start = time.perf_counter()
        run(state)
        timings[name] = time.perf_counter() - start
    return CompiledPolicies(
        policies.fingerprint,
        state.source,
        state.code,
        tuple(state.specs),
        tuple(state.leaves),
        state.builder.ids,
        state.builder.trees,
        tuple(state.dropped),
        timings,
    )
