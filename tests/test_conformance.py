"""Cedar's public integration tests: every request, decision, reasons, errors.

The yardstick for "evaluates exactly as Cedar does". Each test file names a
policy set, entities and a schema; entities and context are read with the
schema (Cedar's harness does the same). Any request we do not match must be
listed in KNOWN_EXCEPTIONS with its reason; an unexplained one fails.
"""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path

from support import add_summary, conformance_dir, requires_conformance

from plainpdp import Engine, Entities, PolicySet, Schema
from plainpdp.values import EntityUid

ROOT = conformance_dir()
HAND_WRITTEN = "tests/"

# (test file relative to the conformance dir, request index) -> reason.
# None of the 74 hand-written requests may appear here.
KNOWN_EXCEPTIONS: dict[tuple[str, int], str] = {}


def _test_files() -> list[Path]:
    if not ROOT.is_dir():
        return []
    files = sorted(ROOT.glob("tests/*/*.json")) + sorted(ROOT.glob("corpus-tests/*.json"))
    return [f for f in files if not f.name.endswith(".entities.json")]


@cache
def _schema(path: str) -> Schema:
    return Schema.from_text((ROOT / path).read_text(), source=path)


def run_file(path: Path) -> tuple[int, list[str]]:
    """Run every request of one test file; return (count, mismatches)."""
    spec = json.loads(path.read_text())
    rel = path.relative_to(ROOT).as_posix()
    schema = _schema(spec["schema"])
    policies = PolicySet.from_text((ROOT / spec["policies"]).read_text())
    entities = Entities.from_json((ROOT / spec["entities"]).read_text(), schema=schema)
    engine = Engine(policies, entities=entities, schema=schema)
    failures: list[str] = []
    for n, req in enumerate(spec["requests"]):
        if (rel, n) in KNOWN_EXCEPTIONS:
            continue
        uid = lambda d: EntityUid(d["type"], d["id"])  # noqa: E731
        d = engine.is_authorized(
            uid(req["principal"]), uid(req["action"]), uid(req["resource"]), req["context"]
        )
        got = (d.decision, sorted(d.reasons), sorted(e.policy_id for e in d.errors))
        want = (req["decision"], sorted(req["reason"]), sorted(req["errors"]))
        if got != want:
            failures.append(f"{rel} request {n} ({req.get('description', '')}): want {want}, got {got}")
    return len(spec["requests"]), failures


def test_known_exceptions_exclude_hand_written():
    assert not [k for k in KNOWN_EXCEPTIONS if k[0].startswith(HAND_WRITTEN)]


@requires_conformance
def test_every_conformance_request():
    files = _test_files()
    total = hand = 0
    failures: list[str] = []
    for path in files:
        count, bad = run_file(path)
        total += count
        if path.relative_to(ROOT).as_posix().startswith(HAND_WRITTEN):
            hand += count
        failures.extend(bad)
    add_summary(
        f"conformance: {len(files)} test files, {total} requests ({hand} hand-written), "
        f"{total - len(failures) - len(KNOWN_EXCEPTIONS)} matched Cedar, "
        f"{len(KNOWN_EXCEPTIONS)} known exceptions, {len(failures)} unexplained"
    )
    assert total == 8154
    assert not failures, f"{len(failures)} unexplained mismatches:\n" + "\n".join(failures[:40])
