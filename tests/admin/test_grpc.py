"""The partner admin service through a real ``plainpdp serve --store`` and generated stubs.

The acting user comes only from call metadata (a session token from
SignIn, or a service token acting on behalf of a user); decisions made by
the sidecar's AuthorizationService reflect admin changes at once in the
same worker, and changes made by other processes sharing the store soon
after.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import grpc
import pytest
from admin_support import POLICIES, Clock, dump
from grpc_health.v1 import health_pb2, health_pb2_grpc

from plainpdp._generated.plainpdp.v1 import admin_pb2 as apb
from plainpdp._generated.plainpdp.v1 import admin_pb2_grpc as apb_grpc
from plainpdp._generated.plainpdp.v1 import authorization_pb2 as pb
from plainpdp._generated.plainpdp.v1 import authorization_pb2_grpc as pb_grpc
from plainpdp._generated.plainpdp.v1 import values_pb2 as vpb
from plainpdp.admin import DEMO_PASSWORD, Actor, AdminService

NEW = "river maple copper 88"
Code = grpc.StatusCode


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    """``plainpdp serve --store PATH`` on a free loopback port, in its own process group."""

    def __init__(self, workdir: Path, store: Path, workers: int = 1):
        self.dir = workdir
        self.store = store
        self.target = f"127.0.0.1:{free_port()}"
        self.stderr_path = workdir / "serve.stderr"
        self.decisions = workdir / "decisions.jsonl"
        self._stderr = open(self.stderr_path, "wb")  # noqa: SIM115 - closed in stop()
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "plainpdp", "serve", "--policies", str(POLICIES),
             "--store", str(store), "--listen", self.target, "--workers", str(workers),
             "--decision-log", str(self.decisions), "--log-level", "debug",
             "--reload-interval", "0.2"],
            cwd=workdir, stdout=subprocess.DEVNULL, stderr=self._stderr,
            start_new_session=True)
        self.channels: list[grpc.Channel] = []
        self.wait_serving()

    def channel(self) -> grpc.Channel:
        ch = grpc.insecure_channel(self.target, options=[("grpc.use_local_subchannel_pool", 1)])
        self.channels.append(ch)
        return ch

    def admin(self) -> apb_grpc.PartnerAdminServiceStub:
        return apb_grpc.PartnerAdminServiceStub(self.channel())

    def authz(self) -> pb_grpc.AuthorizationServiceStub:
        return pb_grpc.AuthorizationServiceStub(self.channel())

    def wait_serving(self, timeout: float = 60.0) -> None:
        deadline = time.monotonic() + timeout
        stub = health_pb2_grpc.HealthStub(self.channel())
        while time.monotonic() < deadline:
            assert self.proc.poll() is None, self.stderr()
            try:
                status = stub.Check(health_pb2.HealthCheckRequest(
                    service="plainpdp.v1.PartnerAdminService"), timeout=1).status
                if status == health_pb2.HealthCheckResponse.SERVING:
                    return
            except grpc.RpcError:
                pass
            time.sleep(0.05)
        raise AssertionError(f"not serving:\n{self.stderr()}")

    def stderr(self) -> str:
        self._stderr.flush()
        return self.stderr_path.read_text(errors="replace")

    def stop(self) -> None:
        for ch in self.channels:
            ch.close()
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                pass
        try:
            os.killpg(self.proc.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
        self._stderr.close()


@pytest.fixture
def serve(tmp_path, store_path):
    started: list[Server] = []

    def start(workers: int = 1) -> Server:
        s = Server(tmp_path, store_path, workers)
        started.append(s)
        return s

    yield start
    for s in started:
        s.stop()
        # shown by pytest only when the test failed
        print("\n".join(line for line in s.stderr_path.read_text(errors="replace").splitlines()
                        if " DEBUG " not in line))


def bearer(token: str) -> list[tuple[str, str]]:
    return [("authorization", f"Bearer {token}")]


def sign_in(stub, user: str, password: str = DEMO_PASSWORD) -> list[tuple[str, str]]:
    return bearer(stub.SignIn(apb.SignInRequest(user_id=user, password=password)).session_token)


def uid(t: str, i: str) -> vpb.EntityUid:
    return vpb.EntityUid(type=t, id=i)


def check(user: str, action: str = "view", resource=("Section", "orders")) -> pb.CheckRequest:
    return pb.CheckRequest(principal=uid("User", user), action=uid("Action", action),
                           resource=uid(*resource),
                           context=vpb.Record(fields={"mfa": vpb.Value(bool_value=False)}))


def code_of(call) -> grpc.StatusCode:
    with pytest.raises(grpc.RpcError) as err:
        call()
    return err.value.code()


def test_onboarding_and_the_denials_over_grpc(serve):
    server = serve()
    admin, authz = server.admin(), server.authz()
    dana = sign_in(admin, "dana")
    assert authz.Check(check("nina")).decision == pb.EFFECT_DENY
    created = admin.CreateUser(apb.CreateUserRequest(
        user_id="nina", partner="northwind-dist", display_name="Nina Berg",
        email="nina@nw.example", region="eu"), metadata=dana)
    assigned = admin.AssignRole(apb.AssignRoleRequest(
        user_id="nina", role=uid("Role", "northwind-dist/buyer"),
        expected_version=created.record_version), metadata=dana)
    # allowed at once: the same worker swapped its engine before answering
    decision = authz.Check(check("nina"))
    assert decision.decision == pb.EFFECT_ALLOW
    assert list(decision.reasons) == ["northwind-buyers-orders"]
    at = admin.CheckAtVersion(apb.CheckAtVersionRequest(
        check=check("nina"), min_store_version=assigned.store_version))
    assert at.decision == pb.EFFECT_ALLOW

    denied = {
        "a supplier's user": lambda: admin.DeactivateUser(apb.UserVersionRequest(
            user_id="bob", expected_version=1), metadata=dana),
        "a role beyond the ceiling": lambda: admin.AssignRole(apb.AssignRoleRequest(
            user_id="nina", role=uid("Role", "acme-supply/finance"),
            expected_version=assigned.record_version), metadata=dana),
        "a platform role for themselves": lambda: admin.AssignRole(apb.AssignRoleRequest(
            user_id="dana", role=uid("PlatformRole", "platform-admin"), expected_version=1),
            metadata=dana),
    }
    for name, call in denied.items():
        assert code_of(call) == Code.PERMISSION_DENIED, name
    records = admin.ListAudit(apb.ListAuditRequest(limit=3), metadata=dana).records
    assert [(r.action, r.target, r.decision) for r in records] == [
        ("admin:AssignPlatformRole", 'User::"dana"', "deny"),
        ("admin:AssignRole", 'User::"nina"', "deny"),
        ("admin:DeactivateUser", 'User::"bob"', "deny")]
    assert authz.Check(check("nina", resource=("Section", "invoices"))).decision == \
        pb.EFFECT_DENY
    users = admin.ListUsers(apb.ListUsersRequest(), metadata=dana).users
    assert "nina" in [u.id for u in users] and all(u.partner == "northwind-dist" for u in users)
    report = admin.AccessReport(apb.AccessReportRequest(user_id="nina"), metadata=dana)
    assert any(e.resource.id == "orders" and e.action.id == "view" for e in report.entries)


def test_the_actor_comes_only_from_the_credential(serve):
    server = serve()
    admin = server.admin()
    request = apb.ListUsersRequest(partner="northwind-dist")
    assert code_of(lambda: admin.ListUsers(request)) == Code.UNAUTHENTICATED
    assert code_of(lambda: admin.ListUsers(request, metadata=bearer("made-up"))) == \
        Code.UNAUTHENTICATED
    assert code_of(lambda: admin.SignIn(apb.SignInRequest(user_id="dana",
                                                          password="wrong wrong"))) == \
        Code.UNAUTHENTICATED
    dana = sign_in(admin, "dana")
    admin.SignOut(apb.SignOutRequest(), metadata=dana)
    assert code_of(lambda: admin.ListUsers(request, metadata=dana)) == Code.UNAUTHENTICATED
    # a service token acts on behalf of a user only when policy allows it
    pat = sign_in(admin, "pat")
    svc = admin.CreateService(apb.CreateServiceRequest(
        service_id="nw-sync", partner="northwind-dist"), metadata=pat).one_time_token
    assert code_of(lambda: admin.CreateService(apb.CreateServiceRequest(
        service_id="mine"), metadata=sign_in(admin, "dana"))) == Code.PERMISSION_DENIED
    on_behalf = [*bearer(svc), ("x-plainpdp-on-behalf-of", "dana")]
    assert admin.ListUsers(request, metadata=on_behalf).users
    elsewhere = [*bearer(svc), ("x-plainpdp-on-behalf-of", "alice")]
    assert code_of(lambda: admin.ListUsers(apb.ListUsersRequest(), metadata=elsewhere)) == \
        Code.PERMISSION_DENIED
    assert admin.ListPartners(apb.ListPartnersRequest(), metadata=pat).partners


def test_a_suspended_partners_users_are_all_denied(serve):
    server = serve()
    admin, authz = server.admin(), server.authz()
    dana, pat = sign_in(admin, "dana"), sign_in(admin, "pat")
    northwind = [u.id for u in admin.ListUsers(apb.ListUsersRequest(), metadata=dana).users]
    partner = admin.GetPartner(apb.GetPartnerRequest(partner_id="northwind-dist"), metadata=pat)
    admin.SuspendPartner(apb.PartnerVersionRequest(partner_id="northwind-dist",
                                                   expected_version=partner.version),
                         metadata=pat)
    for user in northwind:
        response = authz.Check(check(user))
        assert response.decision == pb.EFFECT_DENY
        assert "guardrail-suspended-partner" in response.reasons
    assert code_of(lambda: admin.ListUsers(apb.ListUsersRequest(), metadata=dana)) == \
        Code.UNAUTHENTICATED  # the session ended with the suspension
    assert authz.Check(check("bob")).decision == pb.EFFECT_ALLOW  # acme is untouched


def test_a_reset_token_works_once_not_twice_not_after_expiry(serve, store_path):
    server = serve()
    admin = server.admin()
    dana = sign_in(admin, "dana")
    ticket = admin.StartPasswordReset(apb.StartPasswordResetRequest(user_id="erin"),
                                      metadata=dana).one_time_token
    admin.CompletePasswordReset(apb.CompletePasswordResetRequest(reset_token=ticket,
                                                                 new_password=NEW))
    assert sign_in(admin, "erin", NEW)
    again = apb.CompletePasswordResetRequest(reset_token=ticket, new_password=NEW + "!")
    assert code_of(lambda: admin.CompletePasswordReset(again)) == Code.UNAUTHENTICATED
    # a token issued two hours ago (another process, same store) has expired
    clock = Clock(time.time() - 2 * 3600)
    with AdminService.open(store_path, POLICIES, watch=False, clock=clock) as lib:
        old = lib.start_password_reset(Actor("dana"), "frank").token
    late = apb.CompletePasswordResetRequest(reset_token=old, new_password=NEW)
    assert code_of(lambda: admin.CompletePasswordReset(late)) == Code.UNAUTHENTICATED
    # errors a client can act on
    assert code_of(lambda: admin.UpdateUser(apb.UpdateUserRequest(
        user_id="erin", expected_version=99, region="us"), metadata=dana)) == Code.ABORTED
    assert code_of(lambda: admin.UpdateUser(apb.UpdateUserRequest(
        user_id="erin", region="us"), metadata=dana)) == Code.INVALID_ARGUMENT
    assert code_of(lambda: admin.SetPassword(apb.SetPasswordRequest(
        user_id="erin", new_password="short", expected_version=1), metadata=dana)) == \
        Code.INVALID_ARGUMENT
    # and no secret in the sidecar's log, its decision log or the store
    text = server.stderr() + (server.decisions.read_text() if server.decisions.exists()
                              else "") + dump(store_path)
    for secret in (DEMO_PASSWORD, NEW, ticket, old, dana[0][1].split()[1]):
        assert secret not in text


def checked(server: Server, request: pb.CheckRequest):
    """One Check on a new connection (so either worker may answer); retried while one loads."""
    for _ in range(200):
        ch = server.channel()
        try:
            response, call = pb_grpc.AuthorizationServiceStub(ch).Check.with_call(request)
            return response, dict(call.trailing_metadata()).get("x-plainpdp-worker")
        except grpc.RpcError as err:
            if err.code() != Code.UNAVAILABLE:  # a worker still loading its first snapshot
                raise
            time.sleep(0.05)
        finally:
            ch.close()
    raise AssertionError("no worker answered")


def test_a_change_through_another_process_reaches_every_worker(serve, store_path):
    server = serve(workers=2)
    reports = check("erin", resource=("Section", "reports"))
    workers = set()
    for _ in range(40):
        response, worker = checked(server, reports)
        assert response.decision == pb.EFFECT_DENY
        workers.add(worker)
    with AdminService.open(store_path, POLICIES, watch=False) as lib:
        lib.assign_role(Actor("dana"), "erin", 'Role::"northwind-dist/manager"', version=1)
    # each worker process watches the store; every worker reached turns to allow
    pending = set(workers)
    deadline = time.monotonic() + 15
    while pending and time.monotonic() < deadline:
        response, worker = checked(server, reports)
        if response.decision == pb.EFFECT_ALLOW:
            pending.discard(worker)
    assert not pending, f"workers {pending} kept the old answer"
    for _ in range(10):
        assert checked(server, reports)[0].decision == pb.EFFECT_ALLOW
