"""Declarations -> schema model: Cedar's name resolution and consistency rules.

Stages, each collecting every error before stopping: declarations (no
duplicates, no reserved names), shadowing (RFC 70: nothing in a namespace
may reuse a name declared in the empty namespace), resolution (every type
name means something; common types inlined, without cycles), hierarchy
(parents, ``appliesTo`` types and parent actions exist; actions form no cycle).

A name written inside namespace ``NS`` resolves, in order, to the common type
``NS::name``, the entity type ``NS::name``, the common type ``name``, the
entity type ``name``; ``Long``, ``ipaddr``... are common types of the empty
namespace unless the schema declares those names there itself, and
``__cedar::Long`` always names the builtin.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable

from ..errors import Diagnostic, SchemaError, Span, finish_diagnostics
from ..values import EntityUid
from .decls import (
    COMMON,
    ENTITY,
    ActionDecl,
    CommonDecl,
    EntityDecl,
    ExtDecl,
    NamespaceDecl,
    PrimDecl,
    RecordDecl,
    SetDecl,
    TypeDecl,
    TypeRef,
)
from .model import (
    EXTENSION_TYPES,
    ActionDef,
    AttributeType,
    BoolType,
    EntityType,
    EntityTypeDef,
    ExtensionType,
    LongType,
    RecordType,
    Schema,
    SetType,
    StringType,
    Type,
)

BUILTIN_TYPES: dict[str, Type] = {
    "Bool": BoolType(),
    "Long": LongType(),
    "String": StringType(),
    **{name: ExtensionType(name) for name in EXTENSION_TYPES},
}
_PRIMS: dict[str, Type] = {"Bool": BoolType(), "Long": LongType(), "String": StringType()}


def qualify(namespace: str, name: str) -> str:
    return f"{namespace}::{name}" if namespace else name


def resolve(namespaces: Iterable[NamespaceDecl], text: str | None) -> Schema:
    """Build the schema model from declarations; raises ``SchemaError``."""
    return _Resolver(tuple(namespaces), text).run()


class _Resolver:
    def __init__(self, namespaces: tuple[NamespaceDecl, ...], text: str | None):
        self.namespaces = namespaces
        self.text = text
        self.diags: list[Diagnostic] = []
        self.entities: dict[str, tuple[str, EntityDecl]] = {}
        self.commons: dict[str, tuple[str, CommonDecl]] = {}
        self.actions: dict[EntityUid, tuple[str, ActionDecl]] = {}
        self.common_defs: set[str] = set()
        self.entity_defs: set[str] = set()
        self.built: dict[str, Type | None] = {}
        self.building: list[str] = []

    def run(self) -> Schema:
        for stage in (self.declare, self.check_shadowing, self.define, self.build_commons):
            stage()
            self.stop_if_errors()
        entity_types = {
            name: self.entity_def(name, ns, d) for name, (ns, d) in self.entities.items()
        }
        actions = {uid: self.action_def(uid, ns, d) for uid, (ns, d) in self.actions.items()}
        self.stop_if_errors()
        self.check_action_cycles(actions)
        self.stop_if_errors()
        return Schema(entity_types, actions)

    # ------------------------------------------------------------ reporting

    def error(self, code: str, message: str, span: Span | None, help: str | None = None) -> None:
        self.diags.append(Diagnostic(code, message, span, help, source_text=self.text))

    def stop_if_errors(self) -> None:
        if self.diags:
            diags = finish_diagnostics(self.diags)
            raise SchemaError(diags[0].message, diags)

    # ------------------------------------------------------------ stage 1

    def declare(self) -> None:
        for ns in self.namespaces:
            for e in ns.entities:
                if e.name == "Action":
                    self.error(
                        "reserved-name",
                        "`Action` cannot be declared as an entity type",
                        e.span,
                        "actions are declared with `action`; their type is `Action`",
                    )
                self._add(self.entities, qualify(ns.name, e.name), (ns.name, e), e.span)
            for c in ns.commons:
                self._add(self.commons, qualify(ns.name, c.name), (ns.name, c), c.span)
            for a in ns.actions:
                uid = EntityUid(qualify(ns.name, "Action"), a.name)
                self._add(self.actions, uid, (ns.name, a), a.span, shown=a.name)

    def _add(self, table: dict, key, value, span: Span | None, shown: str | None = None) -> None:
        if key in table:
            first = table[key][1].span
            where = f"first declared at line {first.line}" if first is not None else None
            self.error("duplicate-declaration", f"`{shown or key}` is declared twice", span, where)
            return
        table[key] = value

    # ------------------------------------------------------------ stage 2

    def check_shadowing(self) -> None:
        declared = [(n, d.span) for n, (_, d) in self.entities.items()]
        declared += [(n, d.span) for n, (_, d) in self.commons.items()]
        empty = {n for n, _ in declared if "::" not in n}
        for name, span in declared:
            base = name.rsplit("::", 1)[-1]
            if "::" in name and base in empty:
                self.error(
                    "shadowed-declaration",
                    f"definition of `{name}` illegally shadows the existing definition of `{base}`",
                    span,
                    f"rename `{name}`, or move `{base}` out of the empty namespace",
                )
        empty_actions = {uid.id for uid in self.actions if uid.type == "Action"}
        for uid, (_, decl) in self.actions.items():
            if uid.type != "Action" and uid.id in empty_actions:
                self.error(
                    "shadowed-declaration",
                    f"definition of `{uid}` illegally shadows the existing definition of "
                    f"`{EntityUid('Action', uid.id)}`",
                    decl.span,
                    "rename one of the two actions",
                )

    # ------------------------------------------------------------ stage 3

    def define(self) -> None:
        self.common_defs = set(self.commons)
        self.entity_defs = set(self.entities)
        for name in BUILTIN_TYPES:
            self.common_defs.add(f"__cedar::{name}")
            if name not in self.entities and name not in self.commons:
                self.common_defs.add(name)
        self.entity_defs.update(uid.type for uid in self.actions)

    def lookup(self, ref: TypeRef, namespace: str) -> tuple[str, str] | None:
        """(COMMON or ENTITY, fully qualified name) for a written name, if declared."""
        if namespace and "::" not in ref.name:
            candidates = (qualify(namespace, ref.name), ref.name)
        else:
            candidates = (ref.name,)
        for name in candidates:
            if ref.kind != ENTITY and name in self.common_defs:
                return COMMON, name
            if ref.kind != COMMON and name in self.entity_defs:
                return ENTITY, name
        return None

    def undeclared(self, ref: TypeRef, namespace: str, where: str) -> None:
        what = {COMMON: "common type", ENTITY: "entity type"}.get(ref.kind, "type")
        self.error(
            "undeclared-type",
            f"failed to resolve {what} `{ref.name}` in {where}",
            ref.span,
            self._suggest(ref, namespace),
        )

    def _suggest(self, ref: TypeRef, namespace: str) -> str:
        pool: set[str] = set()
        if ref.kind != ENTITY:
            pool |= self.common_defs
        if ref.kind != COMMON:
            pool |= self.entity_defs
        visible = set(pool)
        prefix = f"{namespace}::" if namespace else None
        for name in pool:
            if prefix and name.startswith(prefix) and "::" not in name[len(prefix) :]:
                visible.add(name[len(prefix) :])
        close = difflib.get_close_matches(ref.name, sorted(visible), n=1, cutoff=0.6)
        if close:
            return f"did you mean `{close[0]}`?"
        kind = {COMMON: "a common type", ENTITY: "an entity type"}.get(
            ref.kind, "a common or entity type"
        )
        if prefix and "::" not in ref.name:
            return (
                f"neither `{qualify(namespace, ref.name)}` nor `{ref.name}` has been "
                f"declared as {kind}"
            )
        return f"`{ref.name}` has not been declared as {kind}"

    # ------------------------------------------------------------ stage 4

    def build_commons(self) -> None:
        for name in self.commons:
            self.common(name)

    def common(self, name: str) -> Type | None:
        """The inlined definition of a common type (None after an error)."""
        if name in self.built:
            return self.built[name]
        if name not in self.commons:
            return BUILTIN_TYPES[name.removeprefix("__cedar::")]
        namespace, decl = self.commons[name]
        if name in self.building:
            cycle = self.building[self.building.index(name) :] + [name]
            self.error(
                "common-type-cycle",
                f"cycle in common type references containing `{name}`",
                decl.span,
                "the definitions refer to each other: " + " -> ".join(cycle),
            )
            self.built[name] = None
            return None
        self.building.append(name)
        result = self.type(decl.type, namespace, f"common type `{name}`")
        self.building.pop()
        self.built.setdefault(name, result)
        return self.built[name]

    def type(self, decl: TypeDecl, namespace: str, where: str) -> Type | None:
        if isinstance(decl, TypeRef):
            found = self.lookup(decl, namespace)
            if found is None:
                self.undeclared(decl, namespace, where)
                return None
            kind, name = found
            return self.common(name) if kind == COMMON else EntityType(name)
        if isinstance(decl, RecordDecl):
            attrs = {
                attr: (self.type(a.type, namespace, where), a.required)
                for attr, a in decl.attributes.items()
            }
            if any(t is None for t, _ in attrs.values()):
                return None
            return RecordType({k: AttributeType(t, req) for k, (t, req) in attrs.items()})
        if isinstance(decl, SetDecl):
            element = self.type(decl.element, namespace, where)
            return None if element is None else SetType(element)
        if isinstance(decl, PrimDecl):
            return _PRIMS[decl.name]
        if isinstance(decl, ExtDecl):
            if decl.name in EXTENSION_TYPES:
                return ExtensionType(decl.name)
            close = difflib.get_close_matches(decl.name, EXTENSION_TYPES, n=1)
            self.error(
                "unknown-extension-type",
                f"unknown extension type `{decl.name}` in {where}",
                None,
                f"did you mean `{close[0]}`?"
                if close
                else "extension types are " + ", ".join(f"`{n}`" for n in EXTENSION_TYPES),
            )
            return None
        raise TypeError(f"not a type declaration: {decl!r}")

    def record(self, decl: TypeDecl, namespace: str, where: str, what: str) -> RecordType:
        t = self.type(decl, namespace, where)
        if t is not None and not isinstance(t, RecordType):
            self.error(
                "not-a-record",
                f"{what} for {where} is declared with a type other than a record",
                getattr(decl, "span", None),
                f"declare the {what} as a record type `{{ ... }}`, or a common type naming one",
            )
        return t if isinstance(t, RecordType) else RecordType()

    def entity_refs(self, refs: Iterable[TypeRef], namespace: str, where: str) -> tuple[str, ...]:
        out: set[str] = set()
        for ref in refs:
            found = self.lookup(TypeRef(ref.name, ENTITY, ref.span), namespace)
            if found is None:
                self.undeclared(TypeRef(ref.name, ENTITY, ref.span), namespace, where)
            elif found[1] not in self.entities:
                self.error(
                    "undeclared-entity-type",
                    f"undeclared entity type `{found[1]}` in {where}",
                    ref.span,
                    "action types cannot be used here; declare an entity type",
                )
            else:
                out.add(found[1])
        return tuple(sorted(out))

    def entity_def(self, name: str, namespace: str, decl: EntityDecl) -> EntityTypeDef:
        where = f"entity type `{name}`"
        if decl.enum is not None:
            return EntityTypeDef(name, enum=decl.enum)
        member_of = self.entity_refs(decl.member_of, namespace, where)
        attributes = self.record(decl.shape, namespace, where, "shape")
        tags = None if decl.tags is None else self.type(decl.tags, namespace, where)
        return EntityTypeDef(name, member_of, attributes, tags, None)

    def action_def(self, uid: EntityUid, namespace: str, decl: ActionDecl) -> ActionDef:
        where = f"action `{uid}`"
        parents: set[EntityUid] = set()
        for ref in decl.member_of:
            written = ref.type or "Action"
            if namespace and "::" not in written:
                candidates = (qualify(namespace, written), written)
            else:
                candidates = (written,)
            found = next(
                (EntityUid(t, ref.id) for t in candidates if EntityUid(t, ref.id) in self.actions),
                None,
            )
            if found is None:
                shown = EntityUid(candidates[0], ref.id)
                self.error(
                    "undeclared-action",
                    f"undeclared action `{shown}` in {where}",
                    ref.span,
                    "declare it with `action`, or check the spelling",
                )
            else:
                parents.add(found)
        return ActionDef(
            uid,
            tuple(sorted(parents)),
            self.entity_refs(decl.principals, namespace, where),
            self.entity_refs(decl.resources, namespace, where),
            self.record(decl.context, namespace, where, "context"),
        )

    # ------------------------------------------------------------ stage 5

    def check_action_cycles(self, actions: dict[EntityUid, ActionDef]) -> None:
        """Entity type hierarchies may be cyclic in Cedar; action hierarchies may not."""
        done: set[EntityUid] = set()
        for start in actions:
            if start in done:
                continue
            on_path = {start}
            stack = [(start, iter(actions[start].member_of))]
            while stack:
                uid, parents = stack[-1]
                parent = next(parents, None)
                if parent is None:
                    stack.pop()
                    on_path.discard(uid)
                    done.add(uid)
                elif parent in on_path:
                    self.error(
                        "action-cycle",
                        f"cycle in action hierarchy containing `{parent}`",
                        self.actions[parent][1].span,
                        "an action cannot be (transitively) a member of itself",
                    )
                elif parent not in done:
                    on_path.add(parent)
                    stack.append((parent, iter(actions[parent].member_of)))
