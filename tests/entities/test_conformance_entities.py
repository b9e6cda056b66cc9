"""Every entity file of Cedar's integration tests loads with its schema and survives JSON."""

from __future__ import annotations

import json

from support import conformance_dir, requires_conformance

from plainpdp.entities import Entities, parse_context
from plainpdp.schema import Schema
from plainpdp.values import EntityUid

ROOT = conformance_dir()
SPECS = [
    json.loads(p.read_text(encoding="utf-8"))
    for p in sorted(ROOT.glob("**/*.json"))
    if not p.name.endswith("entities.json")
]


@requires_conformance
def test_the_conformance_corpus_is_there():
    assert len(SPECS) > 1000


@requires_conformance
def test_every_entity_file_loads_with_its_schema_and_survives_json():
    schemas: dict[str, Schema] = {}
    for spec in SPECS:
        path = spec["schema"]
        if path not in schemas:
            schemas[path] = Schema.from_text((ROOT / path).read_text(encoding="utf-8"))
        schema = schemas[path]
        store = Entities.from_json((ROOT / spec["entities"]).read_text(encoding="utf-8"), schema)
        everything = {u: store.get(u) for u in store}
        assert set(schema.actions) <= set(store), spec["entities"]
        for again in (
            Entities.from_json(store.to_json(), schema),
            Entities.from_json(json.dumps(store.to_json())),
        ):
            assert {u: again.get(u) for u in again} == everything, spec["entities"]
        for request in spec["requests"]:
            action = EntityUid(request["action"]["type"], request["action"]["id"])
            parse_context(request.get("context"), schema, action)
