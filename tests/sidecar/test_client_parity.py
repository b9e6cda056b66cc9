"""The engine's API, in-process and through the sidecar, gives the same answers.

Every test takes ``pdp``, which is once a :class:`plainpdp.Engine` and once a
:class:`plainpdp.client.Client` talking to a real two-worker sidecar over
loopback, both loaded from the example project: a portal can switch between
them by configuration.
"""

from __future__ import annotations

import pytest
from sidecar_support import POLICIES

from plainpdp import Decision, Engine, EntityUid, PlainPDPError, Record, RequestError
from plainpdp.client import Client, RemoteDecision, SidecarUnavailable
from plainpdp.extensions import IPAddr
from plainpdp.project import load_project
from plainpdp.suites import load_suites

BOB, EDIT, ORDER = 'User::"bob"', 'Action::"edit"', 'Document::"acme-po-1001"'
ERIN, VIEW = 'User::"erin"', 'Action::"view"'
MFA = {"mfa": True}


@pytest.fixture(scope="module")
def engine():
    project = load_project(POLICIES)
    return Engine(project.policies, entities=project.entities, schema=project.schema)


@pytest.fixture(scope="module")
def client(shared_sidecar):
    with Client(shared_sidecar.target, timeout=10) as c:
        yield c


@pytest.fixture(scope="module")
def pooled_client(shared_sidecar):
    with Client(shared_sidecar.target, timeout=10, connections=4) as c:
        yield c


@pytest.fixture(params=["engine", "client", "pooled_client"])
def pdp(request, engine):
    if request.param == "engine":
        return engine
    return request.getfixturevalue(request.param)


# ------------------------------------------------------------------ is_authorized


def test_decision_shape(pdp):
    d = pdp.is_authorized(BOB, EDIT, ORDER, MFA)
    assert isinstance(d, Decision)
    assert d.decision == "allow" and d.allowed is True
    assert d.reasons == frozenset({"acme-sales-orders"})
    assert d.ceilings == frozenset({"ceiling-supplier"})
    assert d.errors == ()
    assert isinstance(d.decision_id, str) and d.decision_id
    assert set(d.to_dict()) == {"decision_id", "decision", "reasons", "errors", "ceilings"}
    assert d.to_dict()["decision_id"] == d.decision_id


def test_deny_with_reasons(pdp):
    d = pdp.is_authorized(ERIN, VIEW, ORDER, MFA)
    assert d.decision == "deny" and not d.allowed
    assert d.reasons == frozenset({"guardrail-cross-partner"})


def test_uid_forms_and_context_forms(pdp):
    a = pdp.is_authorized(EntityUid("User", "bob"), {"type": "Action", "id": "edit"}, ORDER,
                          '{"mfa": true}')
    b = pdp.is_authorized(BOB, EDIT, ORDER, Record({"mfa": True,
                                                    "source_ip": IPAddr.parse("10.0.0.1")}))
    c = pdp.is_authorized(BOB, EDIT, ORDER, {"mfa": True,
                                             "source_ip": {"__extn": {"fn": "ip",
                                                                      "arg": "10.0.0.1"}}})
    assert a.allowed and b.allowed and c.allowed


def test_request_entities(pdp):
    new_doc = {
        "uid": {"type": "Document", "id": "acme-po-new"},
        "attrs": {"title": "new", "sensitivity": "low", "region": "eu",
                  "partner": {"__entity": {"type": "Partner", "id": "acme-supply"}}},
        "parents": [{"type": "Section", "id": "orders"},
                    {"type": "Folder", "id": "acme-supply/orders"}],
    }
    d = pdp.is_authorized(BOB, EDIT, 'Document::"acme-po-new"', MFA, entities=[new_doc])
    assert d.allowed and d.reasons == frozenset({"acme-sales-orders"})


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (("alice", VIEW, ORDER, MFA), "principal"),
        (('Robot::"r2"', VIEW, ORDER, MFA), "Robot"),
        ((BOB, VIEW, ORDER, {"mfa": 1}), "mfa"),
        ((BOB, VIEW, ORDER, "{not json"), "JSON"),
        ((BOB, VIEW, ORDER, {"mfa": True, "source_ip": IPAddr.parse("10.0.0.1")}),
         "not a JSON value"),
        ((BOB, VIEW, ORDER, {"mfa": True, "source_ip": {"__extn": {"fn": "ip",
                                                                   "arg": "nope"}}}),
         "nope"),
    ],
)
def test_bad_input_raises_the_same_error_class(pdp, args, needle):
    with pytest.raises(RequestError) as info:
        pdp.is_authorized(*args)
    assert needle in info.value.message


def test_every_example_suite_case_decides_identically(engine, client):
    cases = [c for s in load_suites(POLICIES) for c in s.cases]
    assert len(cases) > 20
    for case in cases:
        args = (case.principal, case.action, case.resource, case.context,
                list(case.entities) or None)
        local, remote = engine.is_authorized(*args), client.is_authorized(*args)
        assert isinstance(remote, RemoteDecision)
        assert remote == local, case.name  # decision, reasons, errors, ceilings
        assert remote.decision == case.expect, case.name


# ------------------------------------------------------------------ is_authorized_batch


def test_batch_in_order_with_mappings_and_tuples(pdp):
    requests = [
        {"principal": BOB, "action": EDIT, "resource": ORDER, "context": MFA},
        (ERIN, VIEW, ORDER, MFA),
        (BOB, EDIT, ORDER, MFA),
    ]
    out = pdp.is_authorized_batch(requests)
    assert [d.decision for d in out] == ["allow", "deny", "allow"]
    assert all(isinstance(d, Decision) for d in out)
    assert len({d.decision_id for d in out}) == 3


def test_batch_matches_single_checks(engine, client):
    cases = [c for s in load_suites(POLICIES) for c in s.cases]
    requests = [(c.principal, c.action, c.resource, c.context) for c in cases
                if not c.entities]
    assert client.is_authorized_batch(requests) == engine.is_authorized_batch(requests)


def test_batch_with_a_bad_request_names_it(pdp):
    with pytest.raises(RequestError) as info:
        pdp.is_authorized_batch([(BOB, EDIT, ORDER, MFA), ('Robot::"r"', VIEW, ORDER, MFA)])
    assert "#1" in info.value.message


def test_client_splits_big_batches(shared_sidecar, engine):
    with Client(shared_sidecar.target, batch_size=7) as small:
        requests = [(BOB, EDIT, ORDER, MFA), (ERIN, VIEW, ORDER, MFA)] * 10
        assert small.is_authorized_batch(requests) == engine.is_authorized_batch(requests)


# ------------------------------------------------------------------ listings

USERS = ('User::"alice"', BOB, ERIN, 'User::"pat"', 'User::"gus"')


def test_allowed_resources(pdp, engine):
    for principal in USERS:
        for action in (VIEW, EDIT, 'Action::"approve"'):
            for context in (MFA, {"mfa": False}, None):
                got = pdp.allowed_resources(principal, action, "Document", context)
                assert got == engine.allowed_resources(principal, action, "Document", context)
                assert all(isinstance(u, EntityUid) for u in got)
    assert EntityUid("Document", "acme-po-1001") in pdp.allowed_resources(BOB, EDIT, "Document",
                                                                           MFA)


def test_allowed_resources_pages_through_everything(shared_sidecar, engine):
    with Client(shared_sidecar.target, page_size=1) as one_by_one:
        got = one_by_one.allowed_resources('User::"pat"', VIEW, "Document", MFA)
    assert len(got) > 3
    assert got == engine.allowed_resources('User::"pat"', VIEW, "Document", MFA)


def test_who_can(pdp, engine):
    for resource in (ORDER, 'Section::"catalog"', 'Folder::"acme-supply/orders"'):
        for principal_type in (None, "User"):
            got = pdp.who_can(EDIT, resource, principal_type, MFA)
            assert got == engine.who_can(EDIT, resource, principal_type, MFA)
    assert EntityUid("User", "bob") in pdp.who_can(EDIT, ORDER, "User", MFA)
    assert EntityUid("User", "erin") not in pdp.who_can(EDIT, ORDER, "User", MFA)


def test_allowed_actions(pdp, engine):
    for principal in USERS:
        for resource in (ORDER, 'Section::"catalog"'):
            got = pdp.allowed_actions(principal, resource, MFA)
            assert got == engine.allowed_actions(principal, resource, MFA)
    actions = {u.id for u in pdp.allowed_actions(BOB, ORDER, MFA)}
    assert "edit" in actions and "approve" not in actions


@pytest.mark.parametrize(
    ("call", "needle"),
    [
        (lambda pdp: pdp.allowed_resources(BOB, VIEW, "Robot"), "Robot"),
        (lambda pdp: pdp.allowed_resources(BOB, VIEW, ""), "resource_type"),
        (lambda pdp: pdp.allowed_resources("bob", VIEW, "Document"), "principal"),
        (lambda pdp: pdp.allowed_resources(BOB, VIEW, "Document", {"mfa": 1}), "mfa"),
        (lambda pdp: pdp.who_can('Action::"fly"', ORDER), "fly"),
        (lambda pdp: pdp.who_can(VIEW, ORDER, ""), "principal_type"),
        (lambda pdp: pdp.allowed_actions(BOB, 'Robot::"r"'), "Robot"),
    ],
)
def test_bad_listing_input_raises_the_same_error_class(pdp, call, needle):
    with pytest.raises(RequestError) as info:
        call(pdp)
    assert needle in info.value.message


# ------------------------------------------------------------------ client only


def test_remote_decision_carries_version_and_worker(client):
    d = client.is_authorized(BOB, EDIT, ORDER, MFA)
    assert d.policy_version and d.worker and d.worker.isdigit()


def test_explanation_only_when_asked(shared_sidecar, client):
    d = client.is_authorized(BOB, EDIT, ORDER, MFA)
    with pytest.raises(PlainPDPError, match="explain=True"):
        d.explain()
    with Client(shared_sidecar.target, explain=True) as explaining:
        text = explaining.is_authorized(BOB, EDIT, ORDER, MFA).explain()
    assert "acme-sales-orders" in text


def test_unreachable_sidecar_raises_instead_of_deciding():
    from sidecar_support import free_port

    with Client(f"127.0.0.1:{free_port()}", timeout=1) as nowhere:
        with pytest.raises(SidecarUnavailable):
            nowhere.is_authorized(BOB, EDIT, ORDER, MFA)


def test_connections_spread_calls_over_the_workers(shared_sidecar):
    with Client(shared_sidecar.target, timeout=10) as one:
        alone = {one.is_authorized(BOB, EDIT, ORDER, MFA).worker for _ in range(20)}
    assert len(alone) == 1  # one connection: one worker answers everything
    # 16 connections land on the two workers at random: all on one has odds 2**-15
    with Client(shared_sidecar.target, timeout=10, connections=16) as many:
        spread = {many.is_authorized(BOB, EDIT, ORDER, MFA).worker for _ in range(32)}
        batch = many.is_authorized_batch([(BOB, EDIT, ORDER, MFA)] * 3)
    assert len(spread) == 2
    assert [d.allowed for d in batch] == [True] * 3


@pytest.mark.parametrize("kwargs, needle", [
    ({"connections": 0}, "at least 1"),
    ({"connections": 2, "channel": object()}, "not both"),
])
def test_bad_connection_settings_are_refused(kwargs, needle):
    with pytest.raises(PlainPDPError, match=needle):
        Client("127.0.0.1:1", **kwargs)
