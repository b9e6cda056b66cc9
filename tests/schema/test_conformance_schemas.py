"""Every schema in Cedar's integration tests parses, and means the same after JSON."""

from __future__ import annotations

import json

import cedarpy
import pytest
from support import conformance_dir, requires_conformance

from plainpdp.schema import Schema

FILES = sorted(conformance_dir().glob("**/*.cedarschema"))


@requires_conformance
def test_the_conformance_corpus_is_there():
    assert len(FILES) > 1000


@requires_conformance
def test_every_conformance_schema_parses_and_survives_json():
    for path in FILES:
        schema = Schema.from_text(path.read_text(encoding="utf-8"), source=path.name)
        assert Schema.from_json(json.dumps(schema.to_json())) == schema, path.name


@pytest.mark.parametrize(
    "path", FILES[::50] + [p for p in FILES if "sample-data" in str(p)], ids=lambda p: p.name
)
@requires_conformance
def test_cedar_renders_a_conformance_schema_to_the_same_model(path):
    text = path.read_text(encoding="utf-8")
    ours = Schema.from_text(text)
    assert Schema.from_text(str(cedarpy.Schema.from_str(text))) == ours
    assert Schema.from_text(str(cedarpy.Schema.from_json_str(json.dumps(ours.to_json())))) == ours
