"""Snapshots: a round trip decides the same; every bad file is refused, never run."""

from __future__ import annotations

import json
import os
import pickle

import pytest

from plainpdp.compile import (
    SnapshotError,
    compile_policies,
    load_or_compile,
    load_snapshot,
    save_snapshot,
)
from plainpdp.compile import snapshot as snap
from plainpdp.compile.index import describe
from plainpdp.entities import Entities
from plainpdp.evaluate.indexed import IndexedEvaluator
from plainpdp.evaluate.request import Request
from plainpdp.partners import PartnerResolver
from plainpdp.policyset import PolicySet
from plainpdp.values import EntityUid, Record

TEXT = """
@id("view") permit(principal in Group::"staff", action in [Action::"view", Action::"edit"], resource)
  when { resource.level <= principal.level && context.ip like "10.*" };
@id("ceiling") @ceiling permit(principal in Partner::"acme", action, resource in Partner::"acme");
@id("locked") forbid(principal, action, resource is Doc) when { resource has locked && resource.locked }
  unless { [User::"root"].contains(principal) || ip("10.0.0.1").isLoopback() };
"""
PARTNER = '@id("acme-grant") permit(principal, action == Action::"view", resource);'

ENTITIES = [
    {"uid": {"type": "Partner", "id": "acme"}, "attrs": {}, "parents": []},
    {"uid": {"type": "Group", "id": "staff"}, "attrs": {}, "parents": [{"type": "Partner", "id": "acme"}]},
    {"uid": {"type": "User", "id": "ann"}, "attrs": {"level": 3},
     "parents": [{"type": "Group", "id": "staff"}]},
    {"uid": {"type": "Doc", "id": "d1"}, "attrs": {"level": 2, "locked": False},
     "parents": [{"type": "Partner", "id": "acme"}]},
    {"uid": {"type": "Doc", "id": "d2"}, "attrs": {"level": 5, "locked": True}, "parents": []},
]


@pytest.fixture
def policies():
    return PolicySet.from_text(TEXT, source="platform") | PolicySet.from_text(
        PARTNER, partner="acme", source="acme"
    )


@pytest.fixture
def path(tmp_path):
    tmp_path.chmod(0o700)
    return tmp_path / "policies.snapshot"


def decisions(compiled):
    store = Entities.from_json(ENTITIES)
    evaluator = IndexedEvaluator(compiled, store, PartnerResolver(store))
    out = []
    for action in ("view", "edit", "delete"):
        for doc in ("d1", "d2"):
            for ip in ("10.1.1.1", "192.168.0.1"):
                out.append(evaluator.decide(Request(
                    EntityUid("User", "ann"), EntityUid("Action", action),
                    EntityUid("Doc", doc), Record({"ip": ip}),
                )))
    return out


def test_round_trip_decides_the_same(policies, path):
    compiled = compile_policies(policies)
    save_snapshot(compiled, path)
    loaded = load_snapshot(path, policies.fingerprint)
    assert decisions(loaded) == decisions(compiled)
    assert any(d.allowed for d in decisions(loaded))
    assert describe(loaded.trees, loaded.ids) == describe(compiled.trees, compiled.ids)
    assert loaded.source == compiled.source and loaded.specs == compiled.specs
    assert oct(path.stat().st_mode & 0o777) == "0o600"


def test_signed_round_trip(policies, path):
    compiled = compile_policies(policies)
    save_snapshot(compiled, path, key="s3cret")
    assert decisions(load_snapshot(path, policies.fingerprint, key="s3cret")) == decisions(compiled)


def test_key_from_the_environment(policies, path, monkeypatch):
    monkeypatch.setenv(snap.KEY_ENV, "from-env")
    save_snapshot(compile_policies(policies), path)
    assert json.loads(path.read_bytes().split(b"\n")[1])["hmac"]
    load_snapshot(path, policies.fingerprint)
    monkeypatch.setenv(snap.KEY_ENV, "another")
    with pytest.raises(SnapshotError) as err:
        load_snapshot(path, policies.fingerprint)
    assert err.value.reason == "untrusted"


def reason(path, fingerprint, **kw):
    with pytest.raises(SnapshotError) as err:
        load_snapshot(path, fingerprint, **kw)
    return err.value.reason


def test_missing(path):
    assert reason(path, "x") == "missing"


def test_stale_fingerprint(policies, path):
    save_snapshot(compile_policies(policies), path)
    assert reason(path, PolicySet.from_text(PARTNER).fingerprint) == "stale"


def rewrite_header(path, **changes):
    magic, header, payload = path.read_bytes().split(b"\n", 2)
    fields = json.loads(header)
    fields.update(changes)
    path.write_bytes(magic + b"\n" + json.dumps(fields).encode() + b"\n" + payload)


@pytest.mark.parametrize("change", [{"format": snap.FORMAT + 1}, {"python": "cpython-27"}])
def test_stale_format_or_python(policies, path, change):
    save_snapshot(compile_policies(policies), path)
    rewrite_header(path, **change)
    assert reason(path, policies.fingerprint) == "stale"


def test_corrupt_payload_byte(policies, path):
    save_snapshot(compile_policies(policies), path)
    data = bytearray(path.read_bytes())
    data[-40] ^= 0xFF
    path.write_bytes(bytes(data))
    assert reason(path, policies.fingerprint) == "corrupt"


def test_truncated(policies, path):
    save_snapshot(compile_policies(policies), path)
    path.write_bytes(path.read_bytes()[:-100])
    assert reason(path, policies.fingerprint) == "corrupt"


@pytest.mark.parametrize("content", [b"", b"not a snapshot", snap.MAGIC + b"{not json\n"])
def test_not_a_snapshot(path, content):
    path.write_bytes(content)
    assert reason(path, "x") == "corrupt"


def test_wrong_key(policies, path):
    save_snapshot(compile_policies(policies), path, key="right")
    assert reason(path, policies.fingerprint, key="wrong") == "untrusted"


def test_unsigned_file_when_a_key_is_expected(policies, path):
    save_snapshot(compile_policies(policies), path)
    assert reason(path, policies.fingerprint, key="k") == "untrusted"


def test_unsigned_group_writable_file(policies, path):
    save_snapshot(compile_policies(policies), path)
    path.chmod(0o620)
    assert reason(path, policies.fingerprint) == "untrusted"


def test_unsigned_in_a_world_writable_directory(policies, path):
    save_snapshot(compile_policies(policies), path)
    path.parent.chmod(0o777)
    assert reason(path, policies.fingerprint) == "untrusted"


@pytest.mark.skipif(os.getuid() != 0, reason="changing a file's owner needs root")
def test_unsigned_file_of_another_user(policies, path):
    save_snapshot(compile_policies(policies), path)
    os.chown(path, 12345, -1)
    assert reason(path, policies.fingerprint) == "untrusted"


def test_a_signed_payload_still_cannot_name_other_code(policies, path):
    """Even a validly signed file only builds plainpdp's own classes."""
    key = b"k"
    evil = pickle.dumps((os.getcwd, (), ""))
    parts = (evil, b"", pickle.dumps(({}, {})))
    payload = b"".join(len(p).to_bytes(8, "big") + p for p in parts)
    header = {"format": snap.FORMAT, "python": snap._PYTHON, "fingerprint": policies.fingerprint,
              "size": len(payload), "digest": snap.hashlib.sha256(payload).hexdigest()}
    header["hmac"] = snap._mac(key, header, payload)
    path.write_bytes(snap.MAGIC + json.dumps(header).encode() + b"\n" + payload)
    assert reason(path, policies.fingerprint, key=key) == "corrupt"


def test_load_or_compile_recompiles_and_rewrites_a_stale_file(policies, path):
    other = PolicySet.from_text(PARTNER)
    save_snapshot(compile_policies(other), path)
    compiled = load_or_compile(policies, path)
    assert compiled.fingerprint == policies.fingerprint
    assert "load" not in compiled.timings
    again = load_or_compile(policies, path)
    assert "load" in again.timings and decisions(again) == decisions(compiled)
