"""Cedar's validation verdicts: every conformance test file, both ways.

Each test JSON in the conformance corpus says whether its policies validate
against its schema (``shouldValidate``, Cedar's strict mode). A ``false``
must give at least one error and a ``true`` none; warnings (an impossible
policy) do not count, as in Cedar. A file we do not match must be listed in
KNOWN_EXCEPTIONS with its reason; an unexplained mismatch fails.
"""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path

from support import add_summary, conformance_dir, requires_conformance

from plainpdp import PolicySet, Schema
from plainpdp.check.validate import diagnose, has_errors

ROOT = conformance_dir()

# test file relative to the conformance dir -> why our verdict differs from Cedar's.
KNOWN_EXCEPTIONS: dict[str, str] = {}


def _test_files() -> list[Path]:
    if not ROOT.is_dir():
        return []
    files = sorted(ROOT.glob("tests/*/*.json")) + sorted(ROOT.glob("corpus-tests/*.json"))
    return [f for f in files if not f.name.endswith(".entities.json")]


@cache
def _schema(path: str) -> Schema:
    return Schema.from_text((ROOT / path).read_text(encoding="utf-8"), source=path)


def verdict(path: Path) -> tuple[bool, bool, list[str]]:
    """(Cedar's verdict, ours, our error lines) for one test file."""
    spec = json.loads(path.read_text(encoding="utf-8"))
    policies = PolicySet.from_text(
        (ROOT / spec["policies"]).read_text(encoding="utf-8"), source=spec["policies"]
    )
    diags = diagnose(policies, _schema(spec["schema"]))
    errors = [f"{d.code}: {d.message}" for d in diags if d.severity == "error"]
    return bool(spec["shouldValidate"]), not has_errors(diags), errors


def test_known_exceptions_name_real_files():
    for name in KNOWN_EXCEPTIONS:
        assert (ROOT / name).is_file(), name


@requires_conformance
def test_every_validation_verdict():
    files = _test_files()
    counts = {True: 0, False: 0}
    matched = {True: 0, False: 0}
    failures: list[str] = []
    for path in files:
        rel = path.relative_to(ROOT).as_posix()
        want, got, errors = verdict(path)
        counts[want] += 1
        if got == want:
            matched[want] += 1
            if rel in KNOWN_EXCEPTIONS:
                failures.append(f"{rel}: listed as an exception but now matches; remove it")
            continue
        if rel in KNOWN_EXCEPTIONS:
            continue
        what = "rejected a valid policy set" if want else "accepted an invalid policy set"
        failures.append(f"{rel}: {what}" + "".join(f"\n    {e}" for e in errors[:5]))
    add_summary(
        f"validation conformance: {len(files)} files; shouldValidate=true {matched[True]}/"
        f"{counts[True]} valid, shouldValidate=false {matched[False]}/{counts[False]} "
        f"rejected; {len(KNOWN_EXCEPTIONS)} known exceptions, "
        f"{len([f for f in failures if 'exception' not in f])} unexplained"
    )
    assert len(files) == 1032
    assert not failures, f"{len(failures)} unexplained mismatches:\n" + "\n".join(failures[:40])
