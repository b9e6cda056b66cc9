"""The human ``.cedarschema`` format parses to the schema model, names resolved as Cedar does."""

from __future__ import annotations

import pytest

from plainpdp.schema import (
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
)
from plainpdp.values import EntityUid


def record(**attrs) -> RecordType:
    return RecordType(
        {k: v if isinstance(v, AttributeType) else AttributeType(v) for k, v in attrs.items()}
    )


def optional(t) -> AttributeType:
    return AttributeType(t, required=False)


def test_entity_with_parents_attributes_and_tags():
    s = Schema.from_text(
        """
        entity Group;
        entity User in [Group] = {
            name: String,
            age?: Long,
            "home address": { city: String, zip?: String },
            groups: Set<Group>,
            active: Bool,
        } tags String;
        """
    )
    assert s.entity_type("User") == EntityTypeDef(
        "User",
        member_of=("Group",),
        attributes=record(
            name=StringType(),
            age=optional(LongType()),
            **{"home address": record(city=StringType(), zip=optional(StringType()))},
            groups=SetType(EntityType("Group")),
            active=BoolType(),
        ),
        tags=StringType(),
    )
    assert s.entity_type("Group") == EntityTypeDef("Group")


def test_equals_sign_and_single_parent_are_optional_syntax():
    a = Schema.from_text("entity G; entity U in G { x: Long };")
    b = Schema.from_text("entity G; entity U in [G] = { x: Long };")
    assert a == b


def test_several_entity_types_in_one_declaration():
    s = Schema.from_text("entity A, B in [C]; entity C;")
    assert s.entity_type("A").member_of == ("C",)
    assert s.entity_type("B").member_of == ("C",)


def test_enumerated_entity_type():
    s = Schema.from_text('entity Color enum ["red", "blue", "red"];')
    assert s.entity_type("Color") == EntityTypeDef("Color", enum=("red", "blue"))


def test_extension_types_by_short_and_builtin_name():
    s = Schema.from_text(
        "entity A { ip: ipaddr, d: decimal, t: datetime, p: duration, q: __cedar::ipaddr };"
    )
    attrs = s.entity_type("A").attributes.attributes
    assert {k: a.type for k, a in attrs.items()} == {
        "ip": ExtensionType("ipaddr"),
        "d": ExtensionType("decimal"),
        "t": ExtensionType("datetime"),
        "p": ExtensionType("duration"),
        "q": ExtensionType("ipaddr"),
    }


def test_actions_with_groups_and_applies_to():
    s = Schema.from_text(
        """
        entity User; entity Doc; entity Folder;
        action read;
        action view, "view all" in [read] appliesTo {
            principal: User,
            resource: [Doc, Folder],
            context: { ip: ipaddr, mfa?: Bool },
        };
        """
    )
    view = EntityUid("Action", "view")
    assert s.action(view) == ActionDef(
        view,
        member_of=(EntityUid("Action", "read"),),
        principal_types=("User",),
        resource_types=("Doc", "Folder"),
        context=record(ip=ExtensionType("ipaddr"), mfa=optional(BoolType())),
    )
    assert s.action(EntityUid("Action", "view all")).member_of == (EntityUid("Action", "read"),)
    # No appliesTo: the action applies to nothing.
    assert s.action(EntityUid("Action", "read")) == ActionDef(EntityUid("Action", "read"))


def test_action_context_may_name_a_common_type():
    s = Schema.from_text(
        "entity U; type Ctx = { ip: ipaddr }; "
        "action a appliesTo { principal: U, resource: U, context: Ctx };"
    )
    assert s.action(EntityUid("Action", "a")).context == record(ip=ExtensionType("ipaddr"))


def test_namespaces_qualify_declarations_and_actions():
    s = Schema.from_text(
        """
        namespace Portal::Docs {
            entity User;
            entity Doc { owner: User };
            action view appliesTo { principal: User, resource: Doc };
            action edit in [view, Portal::Docs::Action::"view"];
        }
        entity Global;
        """
    )
    assert set(s.entity_types) == {"Portal::Docs::User", "Portal::Docs::Doc", "Global"}
    doc = s.entity_type("Portal::Docs::Doc")
    assert doc.attributes == record(owner=EntityType("Portal::Docs::User"))
    edit = s.action(EntityUid("Portal::Docs::Action", "edit"))
    assert edit.member_of == (EntityUid("Portal::Docs::Action", "view"),)
    view = s.action(EntityUid("Portal::Docs::Action", "view"))
    assert view.principal_types == ("Portal::Docs::User",)


def test_common_types_are_inlined_through_other_common_types():
    s = Schema.from_text(
        """
        type Name = String;
        type Person = { first: Name, last: Name };
        entity User { me: Person, friends: Set<Person> };
        """
    )
    person = record(first=StringType(), last=StringType())
    assert s.entity_type("User").attributes == record(me=person, friends=SetType(person))


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # In a namespace: its common type, before its entity type...
        ("namespace N { entity X; type X = Long; entity A { x: X }; }", LongType()),
        # ...its entity type before the empty namespace's common type...
        ("type X = Long; namespace N { entity X2; entity A { x: X2 }; }", EntityType("N::X2")),
        # ...then the empty namespace's common type...
        ("type X = Long; namespace N { entity A { x: X }; }", LongType()),
        # ...then the empty namespace's entity type...
        ("entity X; namespace N { entity A { x: X }; }", EntityType("X")),
        # ...then builtins, which the empty namespace may redefine.
        ("namespace N { entity A { x: Long }; }", LongType()),
        ("entity Long; namespace N { entity A { x: Long }; }", EntityType("Long")),
        ("type ipaddr = Long; namespace N { entity A { x: ipaddr }; }", LongType()),
        (
            "type ipaddr = Long; namespace N { entity A { x: __cedar::ipaddr }; }",
            ExtensionType("ipaddr"),
        ),
        # A namespace's own declaration shadows the builtin inside that namespace.
        ("namespace N { type ipaddr = Bool; entity A { x: ipaddr }; }", BoolType()),
    ],
)
def test_name_resolution_order(text, expected):
    s = Schema.from_text(text)
    a = next(d for n, d in s.entity_types.items() if n.endswith("A"))
    assert a.attributes.attributes["x"].type == expected


def test_actions_type_is_an_entity_type_in_attributes():
    s = Schema.from_text("entity A { a: Action }; action x;")
    assert s.entity_type("A").attributes == record(a=EntityType("Action"))


def test_keywords_are_identifiers_and_annotations_are_ignored():
    s = Schema.from_text(
        """
        // a comment
        @doc("the principal")
        entity principal { Set: Long, entity: String, @doc("x") "in": Bool }; // trailing
        @doc("one") @other
        action "do it";
        """
    )
    assert s.entity_type("principal").attributes == record(
        Set=LongType(), entity=StringType(), **{"in": BoolType()}
    )
    assert EntityUid("Action", "do it") in s.actions


def test_string_escapes_in_names():
    s = Schema.from_text(r'action "tab\there", "\u{1F600}";')
    assert {u.id for u in s.actions} == {"tab\there", "\U0001f600"}


def test_duplicate_attribute_keeps_the_last_as_cedar_does():
    s = Schema.from_text("entity A { x: Long, x: String };")
    assert s.entity_type("A").attributes == record(x=StringType())


def test_empty_schema():
    assert Schema.from_text("  // nothing\n") == Schema({}, {})
