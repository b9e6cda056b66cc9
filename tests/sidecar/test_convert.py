"""Values cross the wire typed: Python -> message -> the engine's Cedar JSON."""

from __future__ import annotations

import pytest

from plainpdp import CedarSet, EntityUid, Record, RequestError
from plainpdp._generated.plainpdp.v1 import authorization_pb2 as pb
from plainpdp._generated.plainpdp.v1 import values_pb2 as vpb
from plainpdp.extensions import Decimal, IPAddr
from plainpdp.sidecar.convert import (
    check_to_args,
    check_to_json,
    context_to_proto,
    entities_to_proto,
    record_to_json,
    uid_from_proto,
    uid_to_proto,
    value_to_proto,
)


def roundtrip(value):
    ctx = Record({"v": value}) if typed(value) else {"v": value}
    return record_to_json(context_to_proto(ctx).fields, "context", 32)["v"]


def typed(value) -> bool:
    return isinstance(value, (EntityUid, IPAddr, Decimal, CedarSet, Record))


@pytest.mark.parametrize(
    ("given", "wire_kind", "engine_sees"),
    [
        (True, "bool_value", True),
        (1, "long_value", 1),
        (-(2**63), "long_value", -(2**63)),
        ("1", "string_value", "1"),
        (EntityUid("User", "alice"), "entity_value", {"__entity": {"type": "User", "id": "alice"}}),
        ({"__entity": {"type": "User", "id": "a"}}, "entity_value",
         {"__entity": {"type": "User", "id": "a"}}),
        ({"__extn": {"fn": "ip", "arg": "10.0.0.1"}}, "extension_value",
         {"__extn": {"fn": "ip", "arg": "10.0.0.1"}}),
        (IPAddr.parse("10.0.0.0/8"), "extension_value",
         {"__extn": {"fn": "ip", "arg": "10.0.0.0/8"}}),
        (Decimal.parse("1.25"), "extension_value", {"__extn": {"fn": "decimal", "arg": "1.25"}}),
        ([1, True, "x"], "set_value", [1, True, "x"]),
        (CedarSet([1]), "set_value", [1]),
        (Record({"a": EntityUid("U", "b")}), "record_value",
         {"a": {"__entity": {"type": "U", "id": "b"}}}),
        ({"type": "User", "id": "a"}, "record_value", {"type": "User", "id": "a"}),
        ({"a": {"b": [1]}}, "record_value", {"a": {"b": [1]}}),
    ],
)
def test_values_keep_their_type(given, wire_kind, engine_sees):
    assert value_to_proto(given, "v", typed(given)).WhichOneof("kind") == wire_kind
    got = roundtrip(given)
    assert got == engine_sees
    assert type(got) is type(engine_sees)  # True stays a bool, 1 stays a long


def test_bool_and_long_do_not_collapse():
    assert roundtrip(True) is True
    assert roundtrip(1) == 1 and roundtrip(1) is not True


def test_out_of_range_long_is_refused():
    with pytest.raises(RequestError, match="64-bit"):
        value_to_proto(2**63, "context.n")


def test_non_cedar_value_is_refused_with_its_path():
    with pytest.raises(RequestError, match=r"context\.when: 1.5 is not a Cedar value"):
        context_to_proto({"when": 1.5})


def test_typed_values_only_inside_a_record_as_the_engine_reads_them():
    # the engine reads a plain mapping as JSON: library objects belong in a Record
    with pytest.raises(RequestError, match="not a JSON value"):
        context_to_proto({"ip": IPAddr.parse("10.0.0.1")})
    assert context_to_proto(Record({"ip": IPAddr.parse("10.0.0.1")})).fields["ip"].HasField(
        "extension_value")


def test_uid_forms():
    for form in ('User::"alice"', EntityUid("User", "alice"), {"type": "User", "id": "alice"}):
        msg = uid_to_proto(form, "principal")
        assert (msg.type, msg.id) == ("User", "alice")
    with pytest.raises(RequestError, match="principal"):
        uid_to_proto("alice", "principal")


@pytest.mark.parametrize("bad", ["", "Us er", "User::", "1User", "if", "A::true"])
def test_invalid_type_names(bad):
    with pytest.raises(RequestError):
        uid_from_proto(vpb.EntityUid(type=bad, id="x"), "principal")


def test_namespaced_type_names_are_fine():
    assert uid_from_proto(vpb.EntityUid(type="Portal::User", id="x"), "p") == EntityUid(
        "Portal::User", "x")


def test_reserved_json_escapes_as_attribute_names_are_refused():
    record = vpb.Record(fields={"__entity": vpb.Value(string_value="x")})
    with pytest.raises(RequestError, match="reserved"):
        record_to_json(record.fields, "context", 32)


def test_entities_to_proto_and_back():
    entities = [{
        "uid": {"type": "Document", "id": "d1"},
        "attrs": {"owner": {"__entity": {"type": "User", "id": "a"}}, "n": 3},
        "parents": [{"type": "Folder", "id": "f"}],
    }]
    msgs = entities_to_proto(entities)
    assert len(msgs) == 1 and msgs[0].parents[0].id == "f"
    from plainpdp._generated.plainpdp.v1 import authorization_pb2 as pb

    request = pb.CheckRequest(entities=msgs)
    back = check_to_json(request)["entities"][0]
    assert back["attrs"] == entities[0]["attrs"]
    assert back["parents"] == entities[0]["parents"]


def test_equal_contexts_in_a_batch_become_one_object():
    def check(user: str, mfa: bool) -> pb.CheckRequest:
        return pb.CheckRequest(principal=vpb.EntityUid(type="User", id=user),
                               action=vpb.EntityUid(type="Action", id="view"),
                               resource=vpb.EntityUid(type="Document", id="d"),
                               context=context_to_proto({"mfa": mfa}))

    contexts: dict = {}
    args = [check_to_args(check(u, m), 32, contexts=contexts)
            for u, m in (("a", True), ("b", True), ("c", False))]
    assert args[0][3] is args[1][3] and args[0][3] == {"mfa": True}
    assert args[2][3] == {"mfa": False} and args[2][3] is not args[0][3]
    # without a batch's memo each check gets its own
    one, two = (check_to_args(check("a", True), 32)[3] for _ in range(2))
    assert one == two and one is not two
    # an error still names the check
    bad = check("a", True)
    bad.context.fields["x"].CopyFrom(vpb.Value())
    with pytest.raises(RequestError, match=r"checks\[3\]\.context\.x: value has no kind"):
        check_to_args(bad, 32, "checks[3].", contexts=contexts)
