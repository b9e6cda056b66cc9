"""Allow-lists: what an entry acknowledges, and files a reviewer gets wrong."""

from __future__ import annotations

import pytest
from impact.helpers import copy_portal, crafted_change, diff
from support import ROOT

from plainpdp.impact import DENY_TO_ALLOW, AllowListError, acknowledge, load_allowlist


def write(tmp_path, text: str):
    path = tmp_path / "allow.yaml"
    path.write_text(text)
    return path


@pytest.fixture(scope="module")
def crafted(tmp_path_factory):
    old, new = copy_portal(tmp_path_factory.mktemp("portal"))
    crafted_change(new)
    return diff(old, new)


def _ack(tmp_path, crafted, text):
    result = acknowledge(crafted, load_allowlist(write(tmp_path, text)))
    acked = {(str(f.request.principal), f.acknowledged) for f in result.flips
             if f.acknowledged is not None}
    return result, acked


def test_an_entry_by_policy_acknowledges_that_policys_flips(tmp_path, crafted):
    result, acked = _ack(tmp_path, crafted, """
acknowledge:
  - policy: acme-catalog-editors
    reason: ACME-142 every region
""")
    assert acked == {('User::"cem"', "ACME-142 every region")}
    assert result.counts()["unacknowledged"] == 1  # kemal's flip is still open
    assert result.stale == []


def test_every_given_field_must_match_and_globs_match_runs(tmp_path, crafted):
    result, acked = _ack(tmp_path, crafted, """
acknowledge:
  - partner: harbor-brokers
    principal: User::"kemal"
    action: Action::"approve"
    resource: Document::"harbor-claim-*"
    reason: HB-7
  - partner: harbor-brokers
    principal: User::"kemal"
    resource: Document::"acme-*"
    reason: never matches
""")
    assert acked == {('User::"kemal"', "HB-7")}
    assert [e.reason for e in result.stale] == ["never matches"]


def test_direction_defaults_to_deny_to_allow(tmp_path, crafted):
    result, acked = _ack(tmp_path, crafted, """
acknowledge:
  - policy: "guardrail-*"
    reason: only applies to deny-to-allow
  - policy: "*"
    direction: allow-to-deny
    reason: removals are fine
""")
    assert acked == {('User::"pat"', "removals are fine")}
    assert [e.reason for e in result.stale] == ["only applies to deny-to-allow"]
    assert result.counts()["unacknowledged"] == 7


def test_another_partners_entry_does_not_acknowledge_this_partners_flip(tmp_path, crafted):
    # acme's reviewer acknowledging "everything of partner acme" does not
    # reach harbor's flip, even with a policy glob that would match it
    result, _ = _ack(tmp_path, crafted, """
acknowledge:
  - partner: acme-supply
    policy: "*"
    reason: acme's own changes
""")
    open_flips = [f for f in result.flips
                  if f.direction == DENY_TO_ALLOW and f.acknowledged is None]
    assert {f.partner for f in open_flips} == {"harbor-brokers"}


def test_the_example_allow_list_in_the_docs_acknowledges_the_crafted_change(crafted):
    result = acknowledge(crafted, load_allowlist(ROOT / "docs/examples/policy-impact-allow.yaml"))
    assert result.counts()["unacknowledged"] == 0


@pytest.mark.parametrize("text, line, message", [
    ("acknowledge:\n  - policy: p\n", 2, "has no `reason`"),
    ("acknowledge:\n  - policy: p\n    reason: ok\n  - reason: everything\n", 4,
     "matches nothing in particular"),
    ("acknowledge:\n  - polcy: p\n    reason: ok\n", 2, "unknown field `polcy`"),
    ("acknowledge:\n  - policy: p\n    reason: ok\n    direction: both\n", 2, "direction must be"),
    ("acknowledge:\n  - policy: [p]\n    reason: ok\n", 2, "must be a non-empty string"),
    ("acknowledge:\n  - just a string\n", 2, "is not a mapping"),
    ("- policy: p\n  reason: ok\n", 1, "one key, `acknowledge:`"),
    ("acknowledge: [\n", 2, "not valid YAML"),
])
def test_mistakes_are_reported_at_their_line(tmp_path, text, line, message):
    path = write(tmp_path, text)
    with pytest.raises(AllowListError) as info:
        load_allowlist(path)
    [d] = info.value.diagnostics
    assert d.code == "allow-list"
    assert (d.span.source, d.span.line) == (str(path), line)
    assert message in d.message


def test_an_empty_file_acknowledges_nothing(tmp_path):
    assert load_allowlist(write(tmp_path, "")).entries == ()
    assert load_allowlist(write(tmp_path, "acknowledge: []\n")).entries == ()
