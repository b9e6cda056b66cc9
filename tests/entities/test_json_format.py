"""Cedar's JSON entity format: values by shape without a schema, by declared type with one."""

from __future__ import annotations

import json

from hypothesis import given, settings
from hypothesis import strategies as st
from support import examples

from plainpdp.entities import Entities, Entity, parse_context, parse_value
from plainpdp.entities.json_format import read_plain, value_to_json
from plainpdp.extensions import Datetime, Decimal, Duration, IPAddr
from plainpdp.schema import EntityType, ExtensionType, Schema, SetType
from plainpdp.values import CedarSet, EntityUid, Record

SCHEMA = Schema.from_text(
    """
    entity Group;
    entity User in [Group] {
        age: Long,
        boss?: User,
        ip?: ipaddr,
        score?: decimal,
        since?: datetime,
        ttl?: duration,
        friends?: Set<User>,
        home?: { city: String, owner?: User },
    } tags ipaddr;
    action view appliesTo { principal: User, resource: User, context: { ip: ipaddr, who?: User } };
    action all; action edit in [all];
    """
)


def uid(t: str, i: str) -> EntityUid:
    return EntityUid(t, i)


def test_values_by_shape_without_a_schema():
    assert read_plain(True) is True
    assert read_plain(-5) == -5
    assert read_plain("x") == "x"
    assert read_plain([1, "a", [2]]) == CedarSet([1, "a", CedarSet([2])])
    assert read_plain({"__entity": {"type": "A::B", "id": "x"}}) == uid("A::B", "x")
    assert read_plain({"__extn": {"fn": "ip", "arg": "10.0.0.1"}}) == IPAddr.parse("10.0.0.1")
    assert read_plain({"__extn": {"fn": "decimal", "args": ["1.5"]}}) == Decimal.parse("1.5")
    # {"type", "id"} without `__entity` is just a record when no schema says otherwise.
    assert read_plain({"type": "User", "id": "a"}) == Record({"type": "User", "id": "a"})


def test_extension_calls_with_several_arguments_are_evaluated():
    value = read_plain(
        {
            "__extn": {
                "fn": "offset",
                "args": [
                    {"__extn": {"fn": "datetime", "arg": "2024-01-01"}},
                    {"__extn": {"fn": "duration", "arg": "1h"}},
                ],
            }
        }
    )
    assert value == Datetime.parse("2024-01-01T01:00:00Z")


def test_values_by_declared_type_with_a_schema():
    store = Entities.from_json(
        [
            {
                "uid": {"type": "User", "id": "a"},
                "attrs": {
                    "age": 30,
                    "boss": {"type": "User", "id": "b"},
                    "ip": "192.168.0.1/24",
                    "score": "0.75",
                    "since": "2024-05-01",
                    "ttl": "1h30m",
                    "friends": [
                        {"type": "User", "id": "b"},
                        {"__entity": {"type": "User", "id": "c"}},
                    ],
                    "home": {"city": "Oslo", "owner": {"type": "User", "id": "a"}},
                },
                "parents": [{"type": "Group", "id": "g"}],
                "tags": {"office": "10.0.0.0/8"},
            }
        ],
        SCHEMA,
    )
    attrs = store.attrs(uid("User", "a"))
    assert attrs == Record(
        {
            "age": 30,
            "boss": uid("User", "b"),
            "ip": IPAddr.parse("192.168.0.1/24"),
            "score": Decimal.parse("0.75"),
            "since": Datetime.parse("2024-05-01"),
            "ttl": Duration.parse("1h30m"),
            "friends": CedarSet([uid("User", "b"), uid("User", "c")]),
            "home": Record({"city": "Oslo", "owner": uid("User", "a")}),
        }
    )
    assert store.tags(uid("User", "a")) == Record({"office": IPAddr.parse("10.0.0.0/8")})
    assert store.parents(uid("User", "a")) == {uid("Group", "g")}


def test_schema_actions_are_part_of_the_store():
    store = Entities.from_json([], SCHEMA)
    assert set(store) == {uid("Action", "view"), uid("Action", "all"), uid("Action", "edit")}
    assert store.ancestors(uid("Action", "edit")) == {uid("Action", "all")}


def test_action_entities_in_the_data_may_list_direct_parents_or_all_ancestors():
    schema = Schema.from_text("action a; action b in [a]; action c in [b];")
    for parents in (["b"], ["b", "a"]):
        data = [
            {
                "uid": {"type": "Action", "id": "c"},
                "attrs": {},
                "parents": [{"type": "Action", "id": p} for p in parents],
            }
        ]
        store = Entities.from_json(data, schema)
        assert store.ancestors(uid("Action", "c")) == {uid("Action", "a"), uid("Action", "b")}


def test_to_json_uses_escapes_and_reads_back_equal_without_a_schema():
    store = Entities.from_json(
        [
            {
                "uid": {"type": "User", "id": "a"},
                "attrs": {"age": 1, "ip": "10.0.0.1", "boss": {"type": "User", "id": "b"}},
                "parents": [],
                "tags": {"t": "::1"},
            }
        ],
        SCHEMA,
    )
    out = {e["uid"]["id"]: e for e in store.to_json() if e["uid"]["type"] == "User"}
    assert out["a"] == {
        "uid": {"type": "User", "id": "a"},
        "attrs": {
            "age": 1,
            "ip": {"__extn": {"fn": "ip", "arg": "10.0.0.1"}},
            "boss": {"__entity": {"type": "User", "id": "b"}},
        },
        "parents": [],
        "tags": {"t": {"__extn": {"fn": "ip", "arg": "::1"}}},
    }
    again = Entities.from_json(json.dumps(store.to_json()))
    assert {u: again.get(u) for u in again} == {u: store.get(u) for u in store}


def test_parse_value_reads_and_checks_one_value():
    assert parse_value({"type": "User", "id": "x"}, EntityType("User")) == uid("User", "x")
    assert parse_value(["1.2.3.4"], SetType(ExtensionType("ipaddr"))) == CedarSet(
        [IPAddr.parse("1.2.3.4")]
    )
    assert parse_value({"a": [1]}) == Record({"a": CedarSet([1])})


def test_context_is_typed_by_the_actions_context_type():
    ctx = parse_context(
        '{"ip": "10.1.2.3", "who": {"type": "User", "id": "a"}}', SCHEMA, uid("Action", "view")
    )
    assert ctx == Record({"ip": IPAddr.parse("10.1.2.3"), "who": uid("User", "a")})
    assert parse_context({"ip": {"__extn": {"fn": "ip", "arg": "::1"}}}) == Record(
        {"ip": IPAddr.parse("::1")}
    )
    assert parse_context(None) == Record()


# ---------------------------------------------------------------- properties

_names = st.text(st.characters(codec="utf-8", exclude_categories=["Cs"]), max_size=8)
_uids = st.builds(EntityUid, st.sampled_from(["User", "NS::Doc", "Action"]), _names)
_extensions = st.sampled_from(
    [
        IPAddr.parse("10.0.0.0/8"),
        IPAddr.parse("::1"),
        Decimal.parse("-1.25"),
        Datetime.parse("2020-02-29T12:00:00Z"),
        Duration.parse("-3d"),
    ]
)
_leaves = (
    st.booleans()
    | st.integers(min_value=-(1 << 63), max_value=(1 << 63) - 1)
    | _names
    | _uids
    | _extensions
)
_values = st.recursive(
    _leaves,
    lambda inner: (
        st.builds(CedarSet, st.lists(inner, max_size=4))
        | st.builds(
            Record,
            st.dictionaries(_names.filter(lambda k: not k.startswith("__")), inner, max_size=4),
        )
    ),
    max_leaves=12,
)


@settings(max_examples=examples(60))
@given(_values)
def test_every_value_survives_json(value):
    assert read_plain(json.loads(json.dumps(value_to_json(value)))) == value


@settings(max_examples=examples(30))
@given(
    st.lists(
        st.builds(
            Entity,
            _uids.filter(lambda u: u.type != "Action"),
            st.builds(Record, st.dictionaries(_names, _leaves, max_size=3)),
            st.frozensets(_uids.filter(lambda u: u.type != "Action"), max_size=3),
        ),
        max_size=5,
        unique_by=lambda e: e.uid,
    )
)
def test_every_store_survives_json(entities):
    store = Entities(entities)
    again = Entities.from_json(json.dumps(store.to_json()))
    assert {u: again.get(u) for u in again} == {e.uid: e for e in entities}
