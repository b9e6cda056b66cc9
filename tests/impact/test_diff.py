"""Change impact: exactly the decisions that flip, and who is responsible."""

from __future__ import annotations

import json
import re
from dataclasses import replace

from hypothesis import given, settings
from hypothesis import strategies as st
from impact.helpers import (
    EXPECTED_FLIPS,
    append,
    copy_portal,
    crafted_change,
    diff,
    edit,
    flips,
    replace_policy,
)
from support import ROOT, examples

from plainpdp import PolicySet
from plainpdp.impact import ALLOW_TO_DENY, DENY_TO_ALLOW, Side, diff_sides
from plainpdp.impact.diff import REFUSED_BY_NEW
from plainpdp.impact.space import build_space, prune, suite_requests
from plainpdp.project import load_project


def test_crafted_change_to_the_example_portal_reports_exactly_the_expected_flips(tmp_path):
    old, new = copy_portal(tmp_path)
    crafted_change(new)
    result = diff(old, new)
    assert not result.sampled  # the example portal is decided in full
    assert result.space_evaluated == result.space_total > 10_000
    assert flips(result) == EXPECTED_FLIPS
    assert result.changes == {
        "acme-catalog-editors": "changed",
        "guardrail-no-order-deletes": "added",
        "harbor-seniors-approve": "changed",
    }
    assert result.counts() == {DENY_TO_ALLOW: 7, ALLOW_TO_DENY: 12, "unacknowledged": 7}
    groups = [key for key, _ in result.groups()]
    assert groups == [
        ("platform", ALLOW_TO_DENY, ("guardrail-no-order-deletes",)),
        ("acme-supply", DENY_TO_ALLOW, ("acme-catalog-editors",)),
        ("harbor-brokers", DENY_TO_ALLOW, ("harbor-seniors-approve",)),
    ]


def test_no_change_no_flips_and_reformatting_is_not_a_change(tmp_path):
    old, new = copy_portal(tmp_path)
    grants = new / "partners/acme-supply/grants.cedar"
    text = grants.read_text()
    text = re.sub(r"^([ \t]+)", r"\1\1\t", text, flags=re.M)  # deeper indentation
    text = text.replace(";\n", ";  // reviewed\n").replace("\n", "\n\n")
    grants.write_text("// reviewed 2025-01\n\n" + text)
    result = diff(old, new)
    assert result.changes == {}
    assert result.flips == []


def test_a_new_grant_in_one_partner_never_flips_another_partners_decisions(tmp_path):
    # acme's admin writes the broadest grant there is; every flip it causes
    # is for acme's own people, on acme's or the platform's resources
    old, new = copy_portal(tmp_path)
    append(new / "partners/acme-supply/grants.cedar",
           '\n@id("acme-everything") permit (principal, action, resource);\n')
    result = diff(old, new)
    assert result.flips, "the broad grant flips something inside acme"
    store = Side("NEW", load_project(new))
    for f in result.flips:
        assert f.partner == "acme-supply"
        assert f.direction == DENY_TO_ALLOW
        assert f.responsible == ("acme-everything",)
        assert store.partner_of(f.request.resource) in ("acme-supply", None)


def test_a_widened_ceiling_is_responsible_for_what_it_now_admits(tmp_path):
    # brightside's over-broad permit is unchanged; the agency ceiling now
    # admits edit, so the ceiling is the responsible policy
    old, new = copy_portal(tmp_path)
    replace_policy(new / "platform/ceilings.cedar", "ceiling-agency", """@id("ceiling-agency")
@ceiling
permit (
  principal,
  action in [Action::"view", Action::"create", Action::"edit"],
  resource in Section::"claims"
)
when { principal has partner && principal.partner.kind == "agency" };""")
    result = diff(old, new)
    assert {(str(f.request.principal), str(f.request.action), str(f.request.resource))
            for f in result.flips} == {
        ('User::"gina"', 'Action::"edit"', 'Section::"claims"'),
        ('User::"gina"', 'Action::"edit"', 'Document::"brightside-claim-4001"'),
    }
    assert {f.responsible for f in result.flips} == {("ceiling-agency",)}
    assert all(f.new.ceilings == {"ceiling-agency"} for f in result.flips)


def test_a_removed_forbid_is_responsible_for_deny_to_allow(tmp_path):
    old, new = copy_portal(tmp_path)
    replace_policy(new / "partners/northwind-dist/grants.cedar",
                   "northwind-contractors-no-edit", "")
    result = diff(old, new)
    assert result.changes == {"northwind-contractors-no-edit": "removed"}
    assert result.flips
    for f in result.flips:
        assert str(f.request.principal) == 'User::"gus"'
        assert f.responsible == ("northwind-contractors-no-edit",)
        assert f.old.reasons == {"northwind-contractors-no-edit"}


def test_entity_changes_flip_too_and_name_the_deciding_policies(tmp_path):
    old, new = copy_portal(tmp_path)
    entities = new / "entities.json"
    data = json.loads(entities.read_text())
    cem = next(e for e in data if e["uid"] == {"type": "User", "id": "cem"})
    cem["attrs"]["region"] = "us"
    entities.write_text(json.dumps(data))
    result = diff(old, new)
    assert result.changes == {}
    got = {(f.direction, str(f.request.resource)) for f in result.flips}
    assert got == {(DENY_TO_ALLOW, 'Document::"acme-cat-us-widgets"'),
                   (ALLOW_TO_DENY, 'Document::"acme-cat-eu-widgets"')}
    assert {f.responsible for f in result.flips} == {("acme-catalog-editors",)}


def test_a_request_new_refuses_counts_as_deny(tmp_path):
    old, new = copy_portal(tmp_path)
    edit(new / "schema.cedarschema", "action view, export appliesTo", "action view appliesTo")
    result = diff(old, new)
    assert result.refused["new"] > 0 and result.refused["old"] == 0
    assert "export" in result.refused_examples["new"]
    assert result.flips
    for f in result.flips:
        assert str(f.request.action) == 'Action::"export"'
        assert f.direction == ALLOW_TO_DENY
        assert f.responsible == (REFUSED_BY_NEW,)
        assert f.new.rejected is not None and not f.new.allowed


def test_suite_requests_are_decided_with_their_own_context_and_entities(tmp_path):
    # the platform suite lifts oldco's suspension through a request entity:
    # only that request can see the flip of leo's own grant
    old, new = copy_portal(tmp_path)
    replace_policy(new / "partners/oldco-logistics/grants.cedar", "oldco-staff-orders",
                   '@id("oldco-staff-orders") permit (principal in Partner::"oldco-logistics", '
                   'action == Action::"view", resource in Section::"orders");')
    result = diff(old, new)
    [flip] = result.flips
    assert str(flip.request.principal) == 'User::"leo"'
    assert str(flip.request.action) == 'Action::"edit"'
    assert flip.request.entities and flip.direction == ALLOW_TO_DENY
    assert flip.origins[0].startswith("suite platform guardrails")
    assert diff(old, new, suites=False).flips == []


def test_sampling_is_seeded_bounded_and_reported(tmp_path):
    # diff_sides on the whole space: no pruning, so a small bound samples
    old, new = copy_portal(tmp_path)
    crafted_change(new)
    sides = [Side(n, load_project(p)) for n, p in (("OLD", old), ("NEW", new))]
    space = build_space([(s.project.entities, s.project.schema, s.project.policies)
                         for s in sides])
    a = diff_sides(*sides, space, limit=1000, seed=7)
    b = diff_sides(*sides, space, limit=1000, seed=7)
    assert a.sampled and a.space_evaluated == 1000 and a.space_total == space.total
    assert a.sampled_fraction == 1000 / space.total
    assert flips(a) == flips(b)
    assert flips(a) <= EXPECTED_FLIPS  # a sample finds a subset of the real flips, nothing else
    full = diff_sides(*sides, space, extra=suite_requests([old, new]))
    assert flips(full) == EXPECTED_FLIPS


# ------------------------------------------------------------------ properties

PORTAL = load_project(ROOT / "policies")
PORTAL_SIDE = Side("portal", PORTAL)
PORTAL_SPACE = build_space([(PORTAL.entities, PORTAL.schema, PORTAL.policies)])


def _without(policy_id: str) -> Side:
    kept = PolicySet([e for e in PORTAL.policies if e.id != policy_id])
    return Side(f"without {policy_id}", replace(PORTAL, policies=kept))


@settings(max_examples=examples(8))
@given(st.sampled_from([e.id for e in PORTAL.policies]))
def test_removing_one_policy_flips_only_what_it_decided_and_adding_it_back_undoes_it(pid):
    entry = PORTAL.policies[pid]
    smaller = _without(pid)
    removed = diff_sides(PORTAL_SIDE, smaller, PORTAL_SPACE)
    added = diff_sides(smaller, PORTAL_SIDE, PORTAL_SPACE)
    assert removed.changes == {pid: "removed"} and added.changes == {pid: "added"}
    lost = DENY_TO_ALLOW if entry.effect == "forbid" else ALLOW_TO_DENY
    for f in removed.flips:
        assert f.direction == lost and f.responsible == (pid,)
    for f in added.flips:
        assert f.direction != lost and f.responsible == (pid,)
    assert {f.request.key() for f in removed.flips} == {f.request.key() for f in added.flips}
    # deciding only what the removed policy's scope matches finds exactly the same flips
    part = prune(PORTAL_SPACE, [entry], PORTAL.entities)
    assert part.total <= PORTAL_SPACE.total
    assert flips(diff_sides(PORTAL_SIDE, smaller, part)) == flips(removed)
    # every flip is a request the removed policy decided (as reason or admitting ceiling)
    for f in removed.flips:
        assert pid in (f.old.reasons | f.old.ceilings)


def test_a_space_larger_than_the_bound_is_pruned_to_what_can_flip_then_decided_exactly(tmp_path):
    old, new = copy_portal(tmp_path)
    crafted_change(new)
    result = diff(old, new, limit=1000)
    assert result.could_flip is not None and result.could_flip <= 1000
    assert not result.sampled and result.space_total > 10_000
    assert flips(result) == EXPECTED_FLIPS


def test_no_pruning_when_the_entities_differ(tmp_path):
    old, new = copy_portal(tmp_path)
    crafted_change(new)
    entities = new / "entities.json"
    entities.write_text(entities.read_text().replace('"region": "us"', '"region": "apac"', 1))
    result = diff(old, new, limit=1000)
    assert result.could_flip is None and result.sampled and result.space_evaluated == 1000
