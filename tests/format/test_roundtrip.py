"""Formatter properties: it changes layout only, keeps every comment, and is
idempotent.

For every input: ``parse(fmt(x))`` has the same policies as ``parse(x)``
(spans aside), the same comments in the same order, and ``fmt(fmt(x)) ==
fmt(x)``. Inputs: every policy file of Cedar's conformance corpus, the
example portal, and generated policy sets (``cedar_gen``) with annotations
and comments sprinkled wherever whitespace may stand, laid out at random
widths. ``PLAINPDP_FUZZ_EXAMPLES`` raises the number of generated cases.
"""

from __future__ import annotations

import re

import cedar_gen as cg
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from support import ROOT, add_summary, conformance_dir, examples

from plainpdp.format import format_text
from plainpdp.syntax import parse_file


def assert_round_trip(text: str, width: int = 80) -> str:
    """Format ``text``; check the properties; return the formatted text."""
    before = parse_file(text)
    out = format_text(text, width=width)
    after = parse_file(out)
    assert after.policies == before.policies, f"policies changed:\n{text}\n---\n{out}"
    assert [c.text for c in after.comments] == [c.text.rstrip() for c in before.comments], (
        f"comments changed:\n{text}\n---\n{out}"
    )
    assert format_text(out, width=width) == out, f"not idempotent:\n{out}"
    assert out == "" or out.endswith("\n") and not out.endswith("\n\n")
    assert all(line == line.rstrip() for line in out.split("\n")), "trailing whitespace"
    return out


def _corpus() -> list:
    root = conformance_dir()
    return sorted(root.rglob("*.cedar")) if root.is_dir() else []


CORPUS = _corpus()


@pytest.mark.skipif(not CORPUS, reason="conformance corpus not found")
def test_every_conformance_policy_file_round_trips():
    changed = 0
    for path in CORPUS:
        text = path.read_text(encoding="utf-8")
        if assert_round_trip(text) != text:
            changed += 1
    add_summary(f"formatter: {len(CORPUS)} conformance policy files round-tripped and "
                f"idempotent ({changed} re-laid out)")


def test_example_portal_is_formatted():
    files = sorted((ROOT / "policies").rglob("*.cedar"))
    assert files
    for path in files:
        text = path.read_text(encoding="utf-8")
        assert assert_round_trip(text) == text, f"{path} is not in the canonical layout"


# ------------------------------------------------------------------ generated

# Tokens, roughly: a comment may go between any two (inside none).
_TOKEN = re.compile(r'"(?:\\.|[^"\\])*"|//[^\n]*|\??\w+|[=!<>]=|&&|\|\||::|\S')

STATS = {"examples": 0, "policies": 0, "comments": 0}


@st.composite
def policy_texts(draw) -> str:
    """A generated policy set, with annotations and comments added."""
    universe = draw(cg.universes(min_entities=2, max_entities=6))
    count = draw(st.integers(1, 4))
    parts = []
    for k in range(count):
        policy = cg.show_policy(draw(cg.policies(universe.uids, max_depth=3)))
        head = ""
        if draw(st.booleans()):
            head += f'@id("p{k}")\n'
        if draw(st.integers(0, 4)) == 0:
            head += '@ceiling @note("say \\"hi\\"") '
        parts.append(head + policy)
    text = "\n".join(parts) + "\n"
    gaps = sorted({m.end() for m in _TOKEN.finditer(text)})
    chosen = draw(st.lists(st.sampled_from(gaps), max_size=6, unique=True))
    for n, at in enumerate(sorted(chosen, reverse=True)):
        text = f"{text[:at]} // c{n}\n{text[at:]}"
    if draw(st.booleans()):
        text = "// header\n\n" + text
    return text


@settings(max_examples=examples(300), deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(policy_texts(), st.sampled_from([80, 80, 40, 120, 20]))
def test_generated_policies_round_trip(text, width):
    out = assert_round_trip(text, width)
    assert_round_trip(out, width)
    STATS["examples"] += 1
    STATS["policies"] += len(parse_file(out).policies)
    STATS["comments"] += len(parse_file(out).comments)


def test_zz_generated_summary():
    if STATS["examples"]:
        add_summary(
            f"formatter vs generated policy sets: {STATS['examples']} sets, "
            f"{STATS['policies']} policies, {STATS['comments']} comments kept, "
            "round-tripped and idempotent"
        )
