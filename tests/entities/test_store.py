"""The entity store: lookups, transitive ancestors, versions and request overlays."""

from __future__ import annotations

import pytest

from plainpdp.entities import Entities, Entity
from plainpdp.errors import EntityError
from plainpdp.schema import Schema
from plainpdp.values import EntityUid, Record


def U(i: str) -> EntityUid:
    return EntityUid("User", i)


def G(i: str) -> EntityUid:
    return EntityUid("Group", i)


def ent(uid: EntityUid, *parents: EntityUid, **attrs) -> Entity:
    return Entity(uid, Record(attrs), frozenset(parents))


@pytest.fixture
def store() -> Entities:
    return Entities(
        [
            ent(U("alice"), G("staff"), level=3),
            ent(G("staff"), G("everyone")),
            ent(G("everyone")),
            Entity(U("bob"), Record({"level": 1}), frozenset(), Record({"desk": "4B"})),
        ]
    )


def test_lookups(store):
    assert store.attrs(U("alice")) == Record({"level": 3})
    assert store.attrs(U("nobody")) is None
    assert store.tags(U("bob")) == Record({"desk": "4B"})
    assert store.tags(U("alice")) == Record()
    assert store.tags(U("nobody")) is None
    assert store.parents(U("alice")) == {G("staff")}
    assert store.parents(U("nobody")) == frozenset()
    assert U("alice") in store and U("nobody") not in store
    assert len(store) == 4
    assert set(store) == {U("alice"), U("bob"), G("staff"), G("everyone")}
    assert store.get(U("bob")) == Entity(
        U("bob"), Record({"level": 1}), frozenset(), Record({"desk": "4B"})
    )
    assert store.get(U("nobody")) is None


def test_ancestors_are_transitive_and_exclude_self(store):
    assert store.ancestors(U("alice")) == {G("staff"), G("everyone")}
    assert store.ancestors(G("everyone")) == frozenset()
    assert store.ancestors(U("nobody")) == frozenset()


def test_ancestors_through_parents_missing_from_the_store():
    s = Entities([ent(U("a"), G("ghost"))])
    assert s.ancestors(U("a")) == {G("ghost")}


def test_deep_chain():
    depth = 3000
    chain = [ent(G(str(i)), G(str(i + 1))) for i in range(depth)]
    s = Entities(chain)
    assert s.ancestors(G("0")) == {G(str(i)) for i in range(1, depth + 1)}
    assert s.ancestors(G("1500")) == {G(str(i)) for i in range(1501, depth + 1)}


def test_cycles_terminate():
    s = Entities(
        [ent(G("a"), G("b")), ent(G("b"), G("c")), ent(G("c"), G("a")), ent(U("u"), G("a"))]
    )
    assert s.ancestors(G("a")) == {G("b"), G("c")}
    assert s.ancestors(U("u")) == {G("a"), G("b"), G("c")}
    assert Entities([ent(G("self"), G("self"))]).ancestors(G("self")) == frozenset()


def test_upsert_bumps_the_version_and_refreshes_ancestors(store):
    assert store.ancestors(U("alice")) == {G("staff"), G("everyone")}
    before = store.version
    store.upsert([ent(G("staff"), G("admins"))])
    assert store.version == before + 1
    assert store.ancestors(U("alice")) == {G("staff"), G("admins")}
    store.upsert([ent(U("carol"), U("alice"))])
    assert store.version == before + 2
    assert store.ancestors(U("carol")) == {U("alice"), G("staff"), G("admins")}


def test_remove_bumps_the_version_and_refreshes_ancestors(store):
    assert store.ancestors(U("alice")) == {G("staff"), G("everyone")}
    before = store.version
    store.remove([G("staff"), U("never-there")])
    assert store.version == before + 1
    assert G("staff") not in store
    assert store.ancestors(U("alice")) == {G("staff")}


def test_upsert_checks_against_the_schema():
    schema = Schema.from_text("entity Group; entity User in [Group] { level: Long };")
    s = Entities([], schema=schema)
    s.upsert([ent(U("a"), G("g"), level=1)])
    with pytest.raises(EntityError, match='entity User::"b": attribute "level": expected a long'):
        s.upsert([ent(U("b"), level="high")])
    assert U("b") not in s


def test_two_different_entities_with_one_uid_are_refused():
    with pytest.raises(EntityError, match='duplicate entity entry User::"a"'):
        Entities([ent(U("a"), level=1), ent(U("a"), level=2)])
    assert len(Entities([ent(U("a"), level=1), ent(U("a"), level=1)])) == 1


def test_overlay_reads_request_entities_first(store):
    request = Entities([ent(U("alice"), G("guests"), level=0), ent(U("dave"), U("alice"))])
    view = store.overlay(request)
    assert view.attrs(U("alice")) == Record({"level": 0})
    assert view.attrs(U("bob")) == Record({"level": 1})
    assert view.parents(U("alice")) == {G("guests")}
    assert view.ancestors(U("alice")) == {G("guests")}
    assert view.ancestors(U("dave")) == {U("alice"), G("guests")}
    assert view.ancestors(G("staff")) == {G("everyone")}
    assert view.get(U("dave")) == ent(U("dave"), U("alice"))
    assert len(view) == 5 and U("dave") in view and set(view) == set(store) | {U("dave")}
    # The base store is untouched.
    assert store.attrs(U("alice")) == Record({"level": 3})
    assert U("dave") not in store


def test_overlay_changes_ancestry_of_base_entities_below_an_overridden_one(store):
    view = store.overlay(Entities([ent(G("staff"), G("contractors"))]))
    assert view.ancestors(U("alice")) == {G("staff"), G("contractors")}
    assert store.ancestors(U("alice")) == {G("staff"), G("everyone")}


def test_an_empty_overlay_is_the_store_itself(store):
    assert store.overlay(Entities()) is store


def test_overlay_follows_changes_to_the_base(store):
    view = store.overlay(Entities([ent(U("dave"), G("staff"))]))
    assert view.ancestors(U("dave")) == {G("staff"), G("everyone")}
    store.upsert([ent(G("staff"))])
    assert view.version == store.version
    assert view.ancestors(U("dave")) == {G("staff")}


def test_request_entities_read_with_the_stores_schema_only_add_what_they_supply():
    schema = Schema.from_text(
        "entity Group; entity User in [Group]; action all; action view in [all];"
    )
    base = Entities.from_json(
        [{"uid": {"type": "Group", "id": "g"}, "attrs": {}, "parents": []}], schema
    )
    request = Entities.from_json([], schema)
    assert len(request) == 2  # the schema's actions are part of every store read with it
    assert base.overlay(request) is base
    view = base.overlay(
        Entities.from_json(
            [
                {
                    "uid": {"type": "User", "id": "u"},
                    "attrs": {},
                    "parents": [{"type": "Group", "id": "g"}],
                }
            ],
            schema,
        )
    )
    assert view is not base
    assert view.ancestors(U("u")) == {G("g")}
    assert view.ancestors(EntityUid("Action", "view")) == {EntityUid("Action", "all")}
