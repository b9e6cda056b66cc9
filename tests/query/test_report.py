"""The access report library: one partner's users only, every cell explained."""

from __future__ import annotations

import pytest

from plainpdp import Engine, Entities, PolicySet, RequestError
from plainpdp.query.report import access_report

ENTITIES = [
    {"uid": {"type": "Partner", "id": "p0"}, "attrs": {}, "parents": []},
    {"uid": {"type": "Partner", "id": "p1"}, "attrs": {}, "parents": []},
    {"uid": {"type": "Role", "id": "p0/staff"}, "attrs": {},
     "parents": [{"type": "Partner", "id": "p0"}]},
    {"uid": {"type": "Role", "id": "p1/staff"}, "attrs": {},
     "parents": [{"type": "Partner", "id": "p1"}]},
    {"uid": {"type": "User", "id": "a"}, "attrs": {},
     "parents": [{"type": "Role", "id": "p0/staff"}]},
    {"uid": {"type": "User", "id": "b"}, "attrs": {},
     "parents": [{"type": "Role", "id": "p1/staff"}]},
    {"uid": {"type": "User", "id": "staff"}, "attrs": {}, "parents": []},
    {"uid": {"type": "Section", "id": "orders"}, "attrs": {}, "parents": []},
    {"uid": {"type": "Section", "id": "secret"}, "attrs": {}, "parents": []},
    {"uid": {"type": "Action", "id": "view"}, "attrs": {}, "parents": []},
]


def engine() -> Engine:
    platform = PolicySet.from_text(
        '@id("ceiling") @ceiling permit (principal, action, resource == Section::"orders");\n'
        '@id("staff") permit (principal == User::"staff", action, resource);'
    )
    p0 = PolicySet.from_text('@id("p0-all") permit (principal in Role::"p0/staff", action, resource);',
                             partner="p0")
    p1 = PolicySet.from_text('@id("p1-all") permit (principal in Role::"p1/staff", action, resource);',
                             partner="p1")
    return Engine(platform | p0 | p1, entities=Entities.from_json(ENTITIES))


def test_one_partner_only_with_reasons_and_ceilings():
    report = access_report(engine(), "p0")
    assert [str(u) for u, _ in report.users] == ['User::"a"']
    cells = {(str(c.section), c.allowed, c.reasons, c.ceilings) for c in report.users[0][1]}
    assert cells == {
        ('Section::"orders"', True, ("p0-all",), ("ceiling",)),
        ('Section::"secret"', False, (), ()),  # no ceiling admits p0's grant there
    }
    assert 'User::"b"' not in report.to_csv() and 'User::"staff"' not in report.to_csv()


def test_unknown_partner_is_a_request_error():
    with pytest.raises(RequestError, match="unknown partner 'p9'; known partners: p0, p1"):
        access_report(engine(), "p9")
