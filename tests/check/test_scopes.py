"""plainpdp's scope checks: each compile-time error, with its span."""

from __future__ import annotations

import pytest

from plainpdp import Engine, PolicySet, PolicySetError

STORE = [
    {"uid": {"type": "Partner", "id": "acme"}, "attrs": {}, "parents": []},
    {"uid": {"type": "Partner", "id": "globex"}, "attrs": {}, "parents": []},
    {"uid": {"type": "Role", "id": "globex-staff"}, "attrs": {},
     "parents": [{"type": "Partner", "id": "globex"}]},
    {"uid": {"type": "Role", "id": "acme-staff"}, "attrs": {},
     "parents": [{"type": "Partner", "id": "acme"}]},
]


def diagnostics(platform: str = "", **partners: str):
    sets = [PolicySet.from_text(platform, source="platform.cedar")]
    sets += [PolicySet.from_text(t, partner=p, source=f"partners/{p}/p.cedar")
             for p, t in partners.items()]
    with pytest.raises(PolicySetError) as info:
        Engine(PolicySet.union(sets), entities=STORE)
    return info.value.diagnostics


def underlined(d) -> str:
    return d.source_text[d.span.start:d.span.end]


def test_partner_policy_naming_another_partner_is_rejected():
    text = 'permit(principal, action, resource in Partner::"globex");'
    [d] = diagnostics(acme=text)
    assert d.code == "cross-partner-reference"
    assert d.message == 'policy of partner `acme` names the partner Partner::"globex"'
    assert "globex" in underlined(d)
    assert d.span.source == "partners/acme/p.cedar"


def test_partner_policy_naming_another_partners_entity_is_rejected():
    text = 'permit(principal, action, resource) when { principal in Role::"globex-staff" };'
    [d] = diagnostics(acme=text)
    assert d.code == "cross-partner-reference"
    assert "an entity of partner `globex`" in d.message
    assert underlined(d) == 'Role::"globex-staff"'


def test_partner_policy_naming_its_own_and_platform_entities_is_fine():
    ok = PolicySet.from_text(
        'permit(principal in Role::"acme-staff", action, resource in Section::"orders");',
        partner="acme")
    Engine(ok, entities=STORE)


def test_every_cross_partner_uid_is_reported_where_it_is_named():
    # one condition text in two partners' policies: read once, judged per partner
    condition = 'when { principal in Role::"globex-staff" || resource in Partner::"acme" }'
    text = (f'permit(principal, action, resource in Partner::"globex") {condition};\n'
            f'permit(principal, action, resource) {condition};\n')
    diags = diagnostics(acme=text, globex=text)
    seen = sorted((d.span.source, d.span.line, underlined(d)) for d in diags)
    assert seen == [
        ("partners/acme/p.cedar", 1, 'Role::"globex-staff"'),
        ("partners/acme/p.cedar", 1, 'resource in Partner::"globex"'),
        ("partners/acme/p.cedar", 2, 'Role::"globex-staff"'),
        ("partners/globex/p.cedar", 1, 'Partner::"acme"'),
        ("partners/globex/p.cedar", 2, 'Partner::"acme"'),
    ]


def test_ceiling_outside_platform_scope_is_rejected():
    [d] = diagnostics(acme="@ceiling permit(principal, action, resource);")
    assert d.code == "ceiling-in-partner-scope"
    assert underlined(d).startswith("@ceiling")


def test_ceiling_on_forbid_is_rejected():
    [d] = diagnostics("@ceiling forbid(principal, action, resource);")
    assert d.code == "ceiling-on-forbid"
    assert "plain forbid" in d.help


def test_all_scope_errors_are_reported_together():
    found = diagnostics(
        "@ceiling forbid(principal, action, resource);",
        acme='@ceiling permit(principal, action, resource in Partner::"globex");',
    )
    assert {d.code for d in found} == {
        "ceiling-on-forbid", "ceiling-in-partner-scope", "cross-partner-reference"}


def test_unknown_partner_directory_is_rejected(tmp_path):
    (tmp_path / "platform").mkdir()
    (tmp_path / "platform" / "a.cedar").write_text("permit(principal, action, resource);")
    (tmp_path / "partners" / "acme").mkdir(parents=True)
    (tmp_path / "partners" / "acme" / "g.cedar").write_text("permit(principal, action, resource);")
    (tmp_path / "partners" / "initech").mkdir(parents=True)
    (tmp_path / "partners" / "initech" / "g.cedar").write_text("permit(principal, action, resource);")
    with pytest.raises(PolicySetError) as info:
        PolicySet.from_directory(tmp_path, partners=["acme"])
    [d] = info.value.diagnostics
    assert d.code == "unknown-partner" and "initech" in d.message
    loaded = PolicySet.from_directory(tmp_path)
    assert {e.id for e in loaded} == {
        "platform/a.cedar:policy0", "partners/acme/g.cedar:policy0", "partners/initech/g.cedar:policy0"}
    assert {e.partner for e in loaded} == {None, "acme", "initech"}
