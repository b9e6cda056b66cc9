"""Reports: the same grouped flips as text, JSON and Markdown."""

from __future__ import annotations

import json

import pytest
from impact.helpers import EXPECTED_FLIPS, copy_portal, crafted_change, diff

from plainpdp.impact import (
    AllowList,
    Side,
    acknowledge,
    build_space,
    diff_sides,
    load_allowlist,
    render_json,
    render_markdown,
    render_text,
)
from plainpdp.impact.space import canonical
from plainpdp.project import load_project


@pytest.fixture(scope="module")
def crafted(tmp_path_factory):
    old, new = copy_portal(tmp_path_factory.mktemp("portal"))
    crafted_change(new)
    allow = tmp_path_factory.mktemp("allow") / "allow.yaml"
    allow.write_text("acknowledge:\n  - policy: acme-catalog-editors\n    reason: ACME-142\n")
    return acknowledge(diff(old, new), load_allowlist(allow))


def test_json_lists_every_flip_with_both_decisions(crafted):
    data = json.loads(render_json(crafted))
    assert data["summary"] == {"flips": 19, "deny-to-allow": 7, "allow-to-deny": 12,
                               "unacknowledged_deny_to_allow": 1}
    assert data["space"]["sampled"] is False and data["space"]["fraction"] == 1.0
    got = {(f["partner"], f["direction"], tuple(f["responsible"]), f["principal"], f["action"],
            f["resource"], canonical(f["context"])) for f in data["flips"]}
    assert got == EXPECTED_FLIPS
    kemal = next(f for f in data["flips"] if f["principal"] == 'User::"kemal"')
    assert kemal["old"]["decision"] == "deny" and kemal["new"]["decision"] == "allow"
    assert kemal["new"]["reasons"] == ["harbor-seniors-approve"]
    assert kemal["new"]["ceilings"] == ["ceiling-broker"]
    assert kemal["acknowledged"] is None
    cem = [f for f in data["flips"] if f["principal"] == 'User::"cem"']
    assert {f["acknowledged"] for f in cem} == {"ACME-142"}
    assert [g["partner"] for g in data["groups"]] == ["platform", "acme-supply", "harbor-brokers"]


def test_text_groups_by_partner_direction_and_policy(crafted):
    text = render_text(crafted, show=2)
    assert "all " in text and "requests of the enumerated space" in text
    assert "19 decisions flip: 7 deny → allow, 12 allow → deny; 1 deny → allow not acknowledged" \
        in text
    platform = text.index("\nplatform\n")
    acme = text.index("\npartner acme-supply\n")
    harbor = text.index("\npartner harbor-brokers\n")
    assert platform < acme < harbor
    assert "allow → deny  guardrail-no-order-deletes (added)  [12 requests]" in text
    assert "deny → allow  acme-catalog-editors (changed)  [6 requests]  acknowledged" in text
    assert ("deny → allow  harbor-seniors-approve (changed)  [1 request]  NOT ACKNOWLEDGED (1)"
            in text)
    assert "... and 10 more" in text


def test_markdown_is_a_table_then_one_section_per_group(crafted):
    md = render_markdown(crafted, show=3)
    assert md.startswith("### ❌ plainpdp diff: 19 decisions flip")
    assert "| platform | allow → deny | guardrail-no-order-deletes (added) | 12 | n/a |" in md
    assert "| acme-supply | deny → allow | acme-catalog-editors (changed) | 6 | 6/6 |" in md
    assert "| harbor-brokers | deny → allow | harbor-seniors-approve (changed) | 1 | 0/1 |" in md
    assert md.count("<details>") == 3 and md.count("</details>") == 3
    assert '| `User::"kemal"` | `Action::"approve"` | `Document::"harbor-claim-5001"` |' in md
    assert "… and 9 more" in md


def test_markdown_when_all_is_acknowledged_or_nothing_flips(crafted, tmp_path):
    allow = tmp_path / "a.yaml"
    allow.write_text('acknowledge:\n  - policy: "*"\n    reason: ok\n')
    assert render_markdown(acknowledge(crafted, load_allowlist(allow))).startswith("### ✅")
    empty = acknowledge(crafted, AllowList())
    empty.flips = []
    assert render_markdown(empty).startswith("### plainpdp diff: no decision flips")
    assert "no decision flips" in render_text(empty)


def test_a_sampled_run_reports_its_fraction(tmp_path):
    old, new = copy_portal(tmp_path)
    sides = [Side(n, load_project(p)) for n, p in (("OLD", old), ("NEW", new))]
    space = build_space([(s.project.entities, s.project.schema, None) for s in sides])
    result = diff_sides(*sides, space, limit=500, seed=3)
    assert result.sampled
    line = f"sampled 500 of {result.space_total:,} requests of the enumerated space ("
    assert line in render_text(result)
    assert line in render_markdown(result)
    data = json.loads(render_json(result))["space"]
    assert data["evaluated"] == 500 and data["seed"] == 3
    assert data["fraction"] == pytest.approx(500 / result.space_total)


def test_a_pruned_run_says_what_it_decided_and_why_that_is_enough(tmp_path):
    old, new = copy_portal(tmp_path)
    crafted_change(new)
    result = diff(old, new, limit=1000)
    assert (f"all {result.could_flip:,} requests of the enumerated space's "
            f"{result.space_total:,} that a changed policy's scope matches "
            "(no other request can flip)") in render_text(result)
    assert json.loads(render_json(result))["space"]["could_flip"] == result.could_flip
