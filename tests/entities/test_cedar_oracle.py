"""Accepting and rejecting entity data exactly as Cedar does (cedarpy as the oracle)."""

from __future__ import annotations

import json

import cedarpy
import pytest

from plainpdp.entities import Entities
from plainpdp.errors import EntityError
from plainpdp.schema import Schema

SCHEMA = """
entity G; entity H; entity G2 in [H]; entity Top; entity Mid in [Top]; entity Low in [Mid];
entity U in [G] {
    age: Long, name?: String, friend?: U, ip?: ipaddr, s?: Set<U>, r?: { a: Long, b?: Bool }
} tags Long;
entity E enum ["a", "b"];
entity P { e: E };
entity D { d?: decimal, t?: datetime, p?: duration, a?: Action };
action view appliesTo { principal: U, resource: U, context: { ip: ipaddr } };
action group; action edit in [group] appliesTo { principal: U, resource: U };
"""


def u(i, attrs=None, parents=(), **extra):
    return {
        "uid": {"type": "U", "id": i},
        "attrs": {"age": 1} if attrs is None else attrs,
        "parents": list(parents),
        **extra,
    }


def e(t, i, attrs=None, parents=(), **extra):
    return {"uid": {"type": t, "id": i}, "attrs": attrs or {}, "parents": list(parents), **extra}


def ref(t, i):
    return {"type": t, "id": i}


def extn(fn, arg):
    return {"__extn": {"fn": fn, "arg": arg}}


WITH_SCHEMA = [
    [u("a")],
    [{"uid": ref("U", "a"), "parents": []}],
    [{"uid": ref("U", "a"), "attrs": {"age": 1}}],
    [u("a", {})],
    [u("a", {"age": 1, "zzz": 2})],
    [u("a", {"age": "x"})],
    [u("a", {"age": True})],
    [u("a", {"age": 2**63 - 1})],
    [u("a", {"age": 2**63})],
    [u("a", {"age": -(2**63)})],
    [u("a", {"age": 1.5})],
    [u("a", {"age": None})],
    [u("a", {"age": {"__entity": ref("U", "b")}})],
    [u("a", {"age": 1, "friend": ref("U", "b")})],
    [u("a", {"age": 1, "friend": {"__entity": ref("U", "b")}})],
    [u("a", {"age": 1, "friend": ref("G", "g")})],
    [u("a", {"age": 1, "friend": 'U::"b"'})],
    [u("a", parents=[ref("U", "b")])],
    [u("a", parents=[ref("G", "g")])],
    [u("a", parents=[{"__entity": ref("G", "g")}])],
    [e("Low", "l", parents=[ref("Top", "t")])],
    [e("Low", "l", parents=[ref("G", "g")])],
    [e("Z", "a")],
    [e("E", "a")],
    [e("E", "c")],
    [e("E", "a", parents=[ref("G", "x")])],
    [e("P", "x", {"e": ref("E", "zz")})],
    [e("P", "x", {"e": ref("E", "b")})],
    [u("a", {"age": 1, "ip": "1.2.3.4"})],
    [u("a", {"age": 1, "ip": "1.2.3.400"})],
    [u("a", {"age": 1, "ip": extn("ip", "1.2.3.4")})],
    [u("a", {"age": 1, "ip": {"fn": "ip", "arg": "1.2.3.4"}})],
    [u("a", {"age": 1, "ip": extn("decimal", "1.0")})],
    [u("a", {"age": 1, "ip": 5})],
    [u("a", {"age": 1, "s": [ref("U", "b"), {"__entity": ref("U", "c")}]})],
    [u("a", {"age": 1, "s": [1]})],
    [u("a", {"age": 1, "s": [ref("U", "b"), ref("G", "x")]})],
    [u("a", {"age": 1, "s": []})],
    [u("a", {"age": 1, "r": {}})],
    [u("a", {"age": 1, "r": {"a": 1}})],
    [u("a", {"age": 1, "r": {"a": 1, "c": 2}})],
    [u("a", tags={"x": 1})],
    [u("a", tags={"x": "s"})],
    [e("G", "g", tags={"x": 1})],
    [e("G", "g", tags={})],
    [e("E", "a", tags={})],
    [e("Action", "edit", parents=[ref("Action", "group")])],
    [e("Action", "edit")],
    [e("Action", "nope")],
    [e("Action", "group", {"x": 1})],
    [u("a"), u("a")],
    [u("a"), u("a", {"age": 2})],
    [e("D", "d", {"d": "1.5", "t": "2024-01-01", "p": "1h"})],
    [e("D", "d", {"d": extn("decimal", "1.23456")})],
    [
        e(
            "D",
            "d",
            {
                "t": {
                    "__extn": {
                        "fn": "offset",
                        "args": [extn("datetime", "2024-01-01"), extn("duration", "1h")],
                    }
                }
            },
        )
    ],
    [e("D", "d", {"a": ref("Action", "view")})],
    [e("D", "d", {"a": ref("Action", "zz")})],
    [{"uid": {"__expr": 'U::"a"'}, "attrs": {"age": 1}, "parents": []}],
    [u("a", extra_field=1)],
    {"uid": ref("U", "a")},
]

WITHOUT_SCHEMA = [
    [{"uid": ref("U", "a")}],
    [u("a", {"friend": ref("U", "b")})],
    [u("a", {"x": {"__extn": {"fn": "ip", "args": ["1.2.3.4"]}}})],
    [u("a", {"x": extn("ip", "1.2.3")})],
    [u("a", {"x": extn("foo", "1")})],
    [u("a", {"x": {"__extn": {"fn": "isIpv4", "arg": extn("ip", "1.2.3.4")}}})],
    [u("a", {"x": [1, "a", [True]]})],
    [u("a", {"x": {"__expr": "1"}})],
    [u("a", {"x": {"__entity": ref("1A", "b")}})],
    [u("a", parents=[ref("Q", "q")])],
    [e("Action", "a", parents=[ref("U", "x")])],
    [e("N::Action", "a", parents=[ref("N::Action", "b")])],
    [e("A B", "a")],
    [e("if", "a")],
    [e("__cedar::A", "a")],
    [{"uid": {"type": "A", "id": 1}, "attrs": {}, "parents": []}],
    [u("a", tags={"a": {"__entity": ref("U", "x")}, "b": [1, "x"]})],
    [u("a", tags=[1])],
    [u("a", tags=None)],
    [u("a", None)],
    [{"uid": ref("U", "a"), "attrs": None, "parents": []}],
    [u("a", parents=['G::"g"'])],
]

CASES = [(d, SCHEMA) for d in WITH_SCHEMA] + [(d, None) for d in WITHOUT_SCHEMA]


@pytest.mark.parametrize(("data", "schema"), CASES, ids=lambda x: json.dumps(x)[:70])
def test_entity_verdict_matches_cedar(data, schema):
    text = json.dumps(data)
    try:
        cedarpy.Entities.from_json_str(text, schema)
        cedar_accepts = True
    except ValueError:
        cedar_accepts = False
    try:
        Entities.from_json(text, Schema.from_text(schema) if schema else None)
        we_accept = True
    except EntityError:
        we_accept = False
    assert we_accept == cedar_accepts
