"""ListAllowedResources, WhoCan and AllowedActions end to end, against the oracle.

The oracle is exhaustive ``Engine.is_authorized`` over the example portal's
store: a listing must name exactly the store entities a Check would allow,
in the engine's order (``str(uid)``), page by page through the generated
stubs of a real two-worker sidecar.
"""

from __future__ import annotations

import grpc
import pytest
from sidecar_support import POLICIES, uid

from plainpdp import Engine, EntityUid, RequestError
from plainpdp._generated.plainpdp.v1 import authorization_pb2 as pb
from plainpdp._generated.plainpdp.v1 import values_pb2 as vpb
from plainpdp.project import load_project

PORTAL_TYPES = frozenset({"Section", "Folder", "Document"})
PAGE = 4  # small, so most answers take several pages


@pytest.fixture(scope="module")
def engine():
    project = load_project(POLICIES)
    return Engine(project.policies, entities=project.entities, schema=project.schema)


def _context(action: EntityUid) -> tuple[dict, vpb.Record]:
    """A context the action's schema type accepts (as JSON and as a message)."""
    if action.id.startswith("admin:"):
        return {"via": "console"}, vpb.Record(fields={"via": vpb.Value(string_value="console")})
    return {"mfa": True}, vpb.Record(fields={"mfa": vpb.Value(bool_value=True)})


def _msg(u: EntityUid) -> vpb.EntityUid:
    return uid(u.type, u.id)


def _store(engine, type_name: str) -> list[EntityUid]:
    return [u for u in engine.entities if u.type == type_name]


def _oracle(engine, p, a, r, ctx) -> bool | str:
    """Allowed or not; or the message of the RequestError the engine raises."""
    try:
        return engine.is_authorized(p, a, r, ctx).allowed
    except RequestError as err:
        return err.message


def _worker_stubs(sidecar) -> list:
    """Stubs on connections that reached two different worker processes."""
    found: dict[str, object] = {}
    probe = pb.AllowedActionsRequest(principal=uid("User", "bob"),
                                     resource=uid("Section", "catalog"))
    for _ in range(40):
        stub = sidecar.stub()
        _, call = stub.AllowedActions.with_call(probe, timeout=5)
        found.setdefault(dict(call.trailing_metadata())["x-plainpdp-worker"], stub)
        if len(found) == 2:
            return list(found.values())
    raise AssertionError("only one worker answered")


def _all_pages(stubs, method: str, request, field: str) -> list[EntityUid]:
    """Every page, alternating between workers: tokens work on any worker."""
    out: list[EntityUid] = []
    for n in range(1000):
        response = getattr(stubs[n % len(stubs)], method)(request, timeout=10)
        page = [EntityUid(m.type, m.id) for m in getattr(response, field)]
        assert len(page) <= request.page_size
        out += page
        if not response.next_page_token:
            assert len(page) or n == 0, "an empty last page after a token"
            return out
        request.page_token = response.next_page_token
    raise AssertionError("more than 1000 pages")


def _expect_invalid(call, request, message: str) -> None:
    with pytest.raises(grpc.RpcError) as info:
        call(request, timeout=10)
    assert info.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert info.value.details() == message


def test_list_allowed_resources_is_exhaustive_is_authorized(shared_sidecar, engine):
    stubs = _worker_stubs(shared_sidecar)
    compared = nonempty = 0
    for action, decl in engine.schema.actions.items():
        json_ctx, msg_ctx = _context(action)
        for ptype in sorted(decl.principal_types):
            for principal in _store(engine, ptype):
                for rtype in sorted(decl.resource_types):
                    request = pb.ListAllowedResourcesRequest(
                        principal=_msg(principal), action=_msg(action), resource_type=rtype,
                        page_size=PAGE, context=msg_ctx)
                    answers = {r: _oracle(engine, principal, action, r, json_ctx)
                               for r in _store(engine, rtype)}
                    errors = {a for a in answers.values() if isinstance(a, str)}
                    if errors:  # a context this action refuses: refused here too
                        _expect_invalid(stubs[0].ListAllowedResources, request, errors.pop())
                        continue
                    expected = sorted((r for r, ok in answers.items() if ok), key=str)
                    got = _all_pages(stubs, "ListAllowedResources", request, "resources")
                    assert got == expected, (principal, action, rtype)
                    compared += 1
                    nonempty += bool(expected)
    assert compared > 300 and nonempty > 50


def test_who_can_is_exhaustive_is_authorized(shared_sidecar, engine):
    stubs = _worker_stubs(shared_sidecar)
    compared = nonempty = 0
    for action, decl in engine.schema.actions.items():
        json_ctx, msg_ctx = _context(action)
        principals = [p for t in sorted(decl.principal_types) for p in _store(engine, t)]
        for rtype in sorted(decl.resource_types):
            for resource in _store(engine, rtype):
                request = pb.WhoCanRequest(action=_msg(action), resource=_msg(resource),
                                           page_size=PAGE, context=msg_ctx)
                answers = {p: _oracle(engine, p, action, resource, json_ctx) for p in principals}
                errors = {a for a in answers.values() if isinstance(a, str)}
                if errors:
                    _expect_invalid(stubs[0].WhoCan, request, errors.pop())
                    continue
                expected = sorted((p for p, ok in answers.items() if ok), key=str)
                got = _all_pages(stubs, "WhoCan", request, "principals")
                assert got == expected, (action, resource)
                request = pb.WhoCanRequest(action=_msg(action), resource=_msg(resource),
                                           principal_type="User", page_size=PAGE,
                                           context=msg_ctx)
                typed = _all_pages(stubs, "WhoCan", request, "principals")
                # a named type is asked about even where the action's schema does not list it
                assert typed == sorted(
                    (p for p in _store(engine, "User")
                     if _oracle(engine, p, action, resource, json_ctx) is True), key=str)
                compared += 1
                nonempty += bool(expected)
    assert compared > 200 and nonempty > 50


def test_allowed_actions_is_exhaustive_is_authorized(shared_sidecar, engine):
    stub = shared_sidecar.stub()
    actions = engine.schema.actions
    compared = nonempty = 0
    for principal in _store(engine, "User"):
        for resource in engine.entities:
            if resource.type not in PORTAL_TYPES | {"User", "Partner"}:
                continue
            probe = next(a for a in actions if a.id.startswith("admin:")) \
                if resource.type not in PORTAL_TYPES else EntityUid("Action", "view")
            json_ctx, msg_ctx = _context(probe)
            expected = sorted(
                (a for a, decl in actions.items()
                 if principal.type in decl.principal_types
                 and resource.type in decl.resource_types
                 and _oracle(engine, principal, a, resource, json_ctx) is True),
                key=str)
            response = stub.AllowedActions(
                pb.AllowedActionsRequest(principal=_msg(principal), resource=_msg(resource),
                                         context=msg_ctx), timeout=10)
            assert [EntityUid(m.type, m.id) for m in response.actions] == expected, (
                principal, resource)
            assert response.policy_version
            compared += 1
            nonempty += bool(expected)
    assert compared > 500 and nonempty > 100


def test_without_a_context_policies_that_need_one_error_and_grant_nothing(
        shared_sidecar, engine):
    bob, view = EntityUid("User", "bob"), EntityUid("Action", "view")
    request = pb.ListAllowedResourcesRequest(principal=_msg(bob), action=_msg(view),
                                             resource_type="Document", page_size=PAGE)
    got = _all_pages([shared_sidecar.stub()], "ListAllowedResources", request, "resources")
    assert got == engine.allowed_resources(bob, view, "Document")
    assert got == sorted((d for d in _store(engine, "Document")
                          if engine.is_authorized(bob, view, d).allowed), key=str)


# ------------------------------------------------------------------ pages and bad input


def test_page_size_zero_is_the_default_and_large_is_capped(shared_sidecar, engine):
    stub = shared_sidecar.stub()
    request = pb.WhoCanRequest(action=uid("Action", "view"), resource=uid("Section", "catalog"),
                               context=vpb.Record(fields={"mfa": vpb.Value(bool_value=True)}))
    everyone = engine.who_can('Action::"view"', 'Section::"catalog"', None, {"mfa": True})
    assert len(everyone) > 4
    response = stub.WhoCan(request, timeout=5)  # page_size 0: the default (100)
    assert [m.id for m in response.principals] == [u.id for u in everyone]
    assert not response.next_page_token
    request.page_size = 2**31 - 1
    assert len(stub.WhoCan(request, timeout=5).principals) == len(everyone)


@pytest.mark.parametrize(
    ("request_", "needle"),
    [
        (pb.ListAllowedResourcesRequest(principal=uid("User", "bob"),
                                        action=uid("Action", "view"),
                                        resource_type="Robot"), "Robot"),
        (pb.ListAllowedResourcesRequest(principal=uid("User", "bob"),
                                        action=uid("Action", "view"),
                                        resource_type="Not a type"),
         "not a valid entity type name"),
        (pb.ListAllowedResourcesRequest(principal=uid("Us er", "bob"),
                                        action=uid("Action", "view"),
                                        resource_type="Document"), "principal"),
        (pb.ListAllowedResourcesRequest(principal=uid("User", "bob"),
                                        action=uid("Action", "fly"),
                                        resource_type="Document"), "fly"),
        (pb.ListAllowedResourcesRequest(principal=uid("User", "bob"),
                                        action=uid("Action", "view"),
                                        resource_type="Document", page_size=-1), "page_size"),
        (pb.ListAllowedResourcesRequest(principal=uid("User", "bob"),
                                        action=uid("Action", "view"),
                                        resource_type="Document", page_token="bm9wZQ"),
         "page_token"),
        (pb.ListAllowedResourcesRequest(
            principal=uid("User", "bob"), action=uid("Action", "view"), resource_type="Document",
            context=vpb.Record(fields={"mfa": vpb.Value(long_value=1)})), "mfa"),
        (pb.ListAllowedResourcesRequest(
            principal=uid("User", "bob"), action=uid("Action", "view"), resource_type="Document",
            context=vpb.Record(fields={"note": vpb.Value(string_value="x" * 70_000)})),
         "max_request_bytes"),
        (pb.WhoCanRequest(action=uid("Action", "view"), resource=uid("Document", "acme-po-1001"),
                          principal_type="1User"), "principal_type"),
        (pb.WhoCanRequest(action=uid("Action", "view"), resource=uid("", "")), "resource"),
        (pb.AllowedActionsRequest(principal=uid("User", "bob"), resource=uid("Robot", "r")),
         "Robot"),
        (pb.AllowedActionsRequest(resource=uid("Section", "catalog")), "principal"),
    ],
)
def test_bad_listing_requests_are_invalid_argument(shared_sidecar, request_, needle):
    method = type(request_).__name__.removesuffix("Request")
    with pytest.raises(grpc.RpcError) as info:
        getattr(shared_sidecar.stub(), method)(request_, timeout=5)
    assert info.value.code() == grpc.StatusCode.INVALID_ARGUMENT, info.value.details()
    assert needle in info.value.details()


def test_a_page_token_belongs_to_its_query(shared_sidecar):
    stub = shared_sidecar.stub()
    mfa = vpb.Record(fields={"mfa": vpb.Value(bool_value=True)})
    first = stub.WhoCan(pb.WhoCanRequest(action=uid("Action", "view"),
                                         resource=uid("Section", "catalog"), page_size=1,
                                         context=mfa), timeout=5)
    assert first.next_page_token
    other = pb.WhoCanRequest(action=uid("Action", "edit"), resource=uid("Section", "catalog"),
                             page_size=1, context=mfa, page_token=first.next_page_token)
    with pytest.raises(grpc.RpcError) as info:
        stub.WhoCan(other, timeout=5)
    assert info.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "different query" in info.value.details()


def test_listings_from_many_threads_at_once_agree_with_the_oracle(shared_sidecar, engine):
    """Handlers run in a thread pool and share the listing cache: many callers
    paging at once, over both workers, each get exactly the oracle's answer."""
    from concurrent.futures import ThreadPoolExecutor

    stubs = _worker_stubs(shared_sidecar)
    action = EntityUid("Action", "view")
    json_ctx, msg_ctx = _context(action)
    users = _store(engine, "User")[:12]
    expected = {u: sorted((r for r in _store(engine, "Document")
                           if _oracle(engine, u, action, r, json_ctx) is True), key=str)
                for u in users}

    def pages(user: EntityUid) -> list[EntityUid]:
        request = pb.ListAllowedResourcesRequest(
            principal=_msg(user), action=_msg(action), resource_type="Document",
            page_size=PAGE, context=msg_ctx)
        return _all_pages(stubs, "ListAllowedResources", request, "resources")

    with ThreadPoolExecutor(8) as pool:
        for _ in range(3):  # computed, then served from the cache, concurrently
            got = dict(zip(users, pool.map(pages, users), strict=True))
            assert got == expected
    assert any(expected.values())
