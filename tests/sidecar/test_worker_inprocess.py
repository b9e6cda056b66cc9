"""A worker run inside the test process, where its loading and engine can be controlled.

Still a real gRPC server on loopback called through the generated stubs;
only what it loads is chosen by the test: a load that waits for a signal
(to see NOT_SERVING while loading) and an engine with a bug planted in it
(to see INTERNAL + deny).
"""

from __future__ import annotations

import json
import logging
import threading
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc
from sidecar_support import POLICIES, SERVICE, channel, check, uid

from plainpdp import Engine
from plainpdp._generated.plainpdp.v1 import authorization_pb2 as pb
from plainpdp._generated.plainpdp.v1 import authorization_pb2_grpc as pb_grpc
from plainpdp._generated.plainpdp.v1 import values_pb2 as vpb
from plainpdp.sidecar.config import SidecarConfig
from plainpdp.sidecar.reload import Snapshot, Source
from plainpdp.sidecar.server import Worker

REQUEST = check(("User", "bob"), "edit", ("Document", "acme-po-1001"))


@dataclass(frozen=True)
class GatedSource(Source):
    """Loads the example policies, but only once the gate opens."""

    gate: threading.Event = field(default_factory=threading.Event)

    def load(self, generation: int) -> Snapshot:
        assert self.gate.wait(20), "the test never opened the gate"
        return super().load(generation)


class BrokenEngine(Engine):
    def is_authorized(self, *args, **kwargs):
        raise RuntimeError("planted bug: secret detail 7f3a")

    def is_authorized_batch(self, *args, **kwargs):
        raise KeyError("planted bug: secret detail 7f3a")

    def allowed_resources(self, *args, **kwargs):
        raise TypeError("planted bug: secret detail 7f3a")


@dataclass(frozen=True)
class BrokenSource(Source):
    def load(self, generation: int) -> Snapshot:
        snap = super().load(generation)
        engine = snap.engine
        broken = BrokenEngine(engine.policies, entities=engine.entities, schema=engine.schema)
        return Snapshot(broken, snap.policy_version, generation, snap.loaded_at,
                        snap.policy_count)


class InProcessWorker:
    def __init__(self, source: Source, **server):
        config = SidecarConfig()
        config.server.listen = "127.0.0.1:0"
        for key, value in server.items():
            setattr(config.server, key, value)
        config.policies.reload_interval_seconds = 0
        self.lines: list[bytes] = []
        self.worker = Worker(config, source=source, log_writer=self.lines.append)
        self.port = self.worker.start()
        self.target = f"127.0.0.1:{self.port}"
        self._pool = ThreadPoolExecutor(1)
        self.loading: Future = self._pool.submit(self.worker.load)

    def close(self) -> None:
        self.worker.shutdown()
        self._pool.shutdown(wait=False, cancel_futures=True)


@pytest.fixture
def inprocess():
    made: list[InProcessWorker] = []

    def make(source: Source, **server) -> InProcessWorker:
        w = InProcessWorker(source, **server)
        made.append(w)
        return w

    yield make
    for w in made:
        w.close()


def test_not_serving_while_loading_then_serving(inprocess):
    source = GatedSource(str(POLICIES))
    w = inprocess(source)
    ch = channel(w.target)
    health = health_pb2_grpc.HealthStub(ch)
    stub = pb_grpc.AuthorizationServiceStub(ch)
    for service in ("", SERVICE):
        status = health.Check(health_pb2.HealthCheckRequest(service=service), timeout=5).status
        assert status == health_pb2.HealthCheckResponse.NOT_SERVING
    with pytest.raises(grpc.RpcError) as info:
        stub.Check(REQUEST, timeout=5)
    assert info.value.code() == grpc.StatusCode.UNAVAILABLE
    assert "loading" in info.value.details()

    watch = health.Watch(health_pb2.HealthCheckRequest(service=SERVICE), timeout=20)
    assert next(watch).status == health_pb2.HealthCheckResponse.NOT_SERVING
    source.gate.set()
    assert next(watch).status == health_pb2.HealthCheckResponse.SERVING
    watch.cancel()
    w.loading.result(20)
    assert stub.Check(REQUEST, timeout=5).decision == pb.EFFECT_ALLOW

    # and NOT_SERVING again once shutdown starts
    w.worker.health.enter_graceful_shutdown()
    status = health.Check(health_pb2.HealthCheckRequest(), timeout=5).status
    assert status == health_pb2.HealthCheckResponse.NOT_SERVING
    ch.close()


def test_internal_error_is_a_deny_with_a_generic_message(inprocess, caplog):
    w = inprocess(BrokenSource(str(POLICIES)))
    w.loading.result(20)
    ch = channel(w.target)
    stub = pb_grpc.AuthorizationServiceStub(ch)
    with caplog.at_level(logging.ERROR, logger="plainpdp.sidecar"):
        with pytest.raises(grpc.RpcError) as info:
            stub.Check(REQUEST, timeout=5)
    assert info.value.code() == grpc.StatusCode.INTERNAL
    details = info.value.details()
    assert "deny" in details and "7f3a" not in details and "planted" not in details
    # the detail is in the sidecar's own log, with the decision id
    assert "planted bug: secret detail 7f3a" in caplog.text
    w.worker.decision_log.close(5)
    lines = [json.loads(x) for chunk in w.lines for x in chunk.decode().splitlines()]
    assert len(lines) == 1
    assert lines[0]["decision"] == "deny" and lines[0]["internal_error"] is True
    assert lines[0]["decision_id"] in details
    ch.close()


def test_internal_errors_in_batches_and_listings(inprocess, caplog):
    w = inprocess(BrokenSource(str(POLICIES)))
    w.loading.result(20)
    ch = channel(w.target)
    stub = pb_grpc.AuthorizationServiceStub(ch)
    batch = pb.CheckBatchRequest(checks=[REQUEST, REQUEST, REQUEST])
    listing = pb.ListAllowedResourcesRequest(principal=uid("User", "bob"),
                                             action=uid("Action", "view"),
                                             resource_type="Document")
    with caplog.at_level(logging.ERROR, logger="plainpdp.sidecar"):
        for call, request in ((stub.CheckBatch, batch), (stub.ListAllowedResources, listing)):
            with pytest.raises(grpc.RpcError) as info:
                call(request, timeout=5)
            assert info.value.code() == grpc.StatusCode.INTERNAL
            assert "internal error" in info.value.details()
            assert "7f3a" not in info.value.details()
    for method in ("CheckBatch", "ListAllowedResources"):
        assert f"internal error in {method}" in caplog.text
    assert "KeyError: 'planted bug: secret detail 7f3a'" in caplog.text
    assert "TypeError: planted bug: secret detail 7f3a" in caplog.text
    # every check of the failed batch is logged as a deny
    w.worker.decision_log.close(5)
    lines = [json.loads(x) for chunk in w.lines for x in chunk.decode().splitlines()]
    assert [(x["method"], x["decision"], x["internal_error"]) for x in lines] == [
        ("CheckBatch", "deny", True)] * 3
    ch.close()


def test_size_and_batch_limits_come_from_the_config(inprocess):
    w = inprocess(Source(str(POLICIES)), max_batch=3, max_request_bytes=2000)
    w.loading.result(20)
    ch = channel(w.target)
    stub = pb_grpc.AuthorizationServiceStub(ch)
    assert len(stub.CheckBatch(pb.CheckBatchRequest(checks=[REQUEST] * 3),
                               timeout=5).results) == 3
    with pytest.raises(grpc.RpcError) as info:
        stub.CheckBatch(pb.CheckBatchRequest(checks=[REQUEST] * 4), timeout=5)
    assert info.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "4 checks in one batch; the limit is 3 (server.max_batch)" in info.value.details()
    big = check(("User", "bob"), "edit", ("Document", "acme-po-1001"),
                note=vpb.Value(string_value="x" * 2500))
    with pytest.raises(grpc.RpcError) as info:
        stub.Check(big, timeout=5)
    assert info.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "the limit is 2000 (server.max_request_bytes)" in info.value.details()
    ch.close()


def test_slow_admin_calls_never_take_the_threads_checks_need(inprocess, monkeypatch):
    """Admin calls (a sign-in hashes a password for tens of milliseconds) may
    hold at most half the handler threads: beyond that they are refused with
    RESOURCE_EXHAUSTED and a retry-after, and checks are answered meanwhile."""
    from plainpdp._generated.plainpdp.v1 import admin_pb2 as apb
    from plainpdp._generated.plainpdp.v1 import admin_pb2_grpc as apb_grpc
    from plainpdp.sidecar.admin_service import PartnerAdminServicer

    release = threading.Event()
    inside = threading.Semaphore(0)
    original = PartnerAdminServicer._admin

    def slow_admin(self):  # the test's stand-in for a slow password hash
        inside.release()
        release.wait(20)
        return original(self)

    monkeypatch.setattr(PartnerAdminServicer, "_admin", slow_admin)
    w = inprocess(Source(str(POLICIES)), threads=4)  # so two admin slots
    w.loading.result(20)
    ch = channel(w.target)
    admin = apb_grpc.PartnerAdminServiceStub(ch)
    authz = pb_grpc.AuthorizationServiceStub(ch)
    sign_in = apb.SignInRequest(user_id="erin", password="not-logged-anywhere")
    try:
        held = [admin.SignIn.future(sign_in, timeout=20) for _ in range(2)]
        for _ in held:
            assert inside.acquire(timeout=10)
        with pytest.raises(grpc.RpcError) as info:
            admin.SignIn(sign_in, timeout=5)
        assert info.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
        assert "at most 2 admin calls" in info.value.details()
        assert ("retry-after", "1") in (info.value.trailing_metadata() or ())
        for _ in range(5):  # the other two threads keep answering checks
            assert authz.Check(REQUEST, timeout=5).decision == pb.EFFECT_ALLOW
    finally:
        release.set()
    for call in held:  # the held calls finish (no admin store here: UNAVAILABLE)
        with pytest.raises(grpc.RpcError) as info:
            call.result(timeout=20)
        assert info.value.code() == grpc.StatusCode.UNAVAILABLE
    ch.close()
