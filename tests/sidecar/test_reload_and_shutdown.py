"""Hot reload (good and broken changes) and graceful shutdown, end to end."""

from __future__ import annotations

import os
import shutil
import signal
import threading
import time

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc
from sidecar_support import check, kubernetes_update, uid

from plainpdp._generated.plainpdp.v1 import authorization_pb2 as pb

ERIN_VIEWS_CATALOG = check(("User", "erin"), "view", ("Section", "invoices"))

NEW_POLICY = """
@id("everyone-views-invoices")
permit (principal is User, action == Action::"view", resource == Section::"invoices");
"""

BROKEN_POLICY = """
@id("broken")
permit (principal is User, action == Action::"view", resource == Section::"invoices")
when { principal.
"""


def _touch_later(path):
    # make sure the mtime moves even on coarse-grained file systems
    stamp = time.time() + 2
    os.utime(path, (stamp, stamp))


def _sections_erin_views(stub) -> list[str]:
    request = pb.ListAllowedResourcesRequest(
        principal=uid("User", "erin"), action=uid("Action", "view"), resource_type="Section",
        context=ERIN_VIEWS_CATALOG.context)
    return [u.id for u in stub.ListAllowedResources(request, timeout=5).resources]


def test_hot_reload_of_a_good_and_then_a_broken_change(start_sidecar):
    sc = start_sidecar(workers=1, reload_interval=0.1)
    stub = sc.stub()
    first = stub.Check(ERIN_VIEWS_CATALOG, timeout=5)
    assert first.decision == pb.EFFECT_DENY
    assert "invoices" not in _sections_erin_views(stub)  # and that answer is remembered

    # a good change: a new platform policy is picked up without a restart
    added = sc.policies / "platform" / "extra.cedar"
    added.write_text(NEW_POLICY, encoding="utf-8")
    second = sc.wait_for(
        lambda: (r := stub.Check(ERIN_VIEWS_CATALOG, timeout=5)).decision == pb.EFFECT_ALLOW and r,
        what="the new policy to apply",
    )
    assert list(second.reasons) == ["everyone-views-invoices"]
    assert second.policy_version != first.policy_version
    assert "invoices" in _sections_erin_views(stub)  # listings follow the new snapshot
    assert sc.metric("plainpdp_reloads_total") >= 1

    # a broken change: logged with diagnostics, counted, last good keeps serving
    added.write_text(BROKEN_POLICY, encoding="utf-8")
    _touch_later(added)
    sc.wait_for(lambda: sc.metric("plainpdp_reload_failures_total") >= 1,
                what="the reload failure to be counted")
    assert sc.metric("plainpdp_reload_failing") == 1
    log = sc.stderr()
    assert "reload failed" in log
    assert "platform/extra.cedar" in log  # the diagnostic names the file
    for _ in range(5):
        still = stub.Check(ERIN_VIEWS_CATALOG, timeout=5)
        assert still.decision == pb.EFFECT_ALLOW
        assert still.policy_version == second.policy_version
    assert sc.health() == health_pb2.HealthCheckResponse.SERVING

    # fixing it recovers
    added.unlink()
    sc.wait_for(lambda: stub.Check(ERIN_VIEWS_CATALOG, timeout=5).decision == pb.EFFECT_DENY,
                what="the fixed policies to apply")
    assert sc.metric("plainpdp_reload_failing") == 0


def test_entities_change_is_reloaded(start_sidecar):
    sc = start_sidecar(workers=1, reload_interval=0.1)
    stub = sc.stub()
    request = check(("User", "bob"), "edit", ("Document", "acme-po-1001"))
    assert stub.Check(request, timeout=5).decision == pb.EFFECT_ALLOW
    path = sc.policies / "entities.json"
    text = path.read_text(encoding="utf-8")
    # suspend Acme: the platform guardrail now denies Acme's users
    suspended = text.replace(
        '"name": "Acme Supply", "kind": "supplier", "tier": "gold", "suspended": false',
        '"name": "Acme Supply", "kind": "supplier", "tier": "gold", "suspended": true',
    )
    assert suspended != text
    path.write_text(suspended, encoding="utf-8")
    _touch_later(path)
    response = sc.wait_for(
        lambda: (r := stub.Check(request, timeout=5)).decision == pb.EFFECT_DENY and r,
        what="the entity change to apply",
    )
    assert "guardrail-suspended-partner" in response.reasons


def test_kubernetes_configmap_volume_keeps_partner_scopes_and_reloads(start_sidecar, tmp_path):
    sc = start_sidecar(workers=1, reload_interval=0.1, kubernetes_volume=True)
    stub = sc.stub()
    bob = check(("User", "bob"), "edit", ("Document", "acme-po-1001"))
    first = stub.Check(bob, timeout=5)
    # a partner grant admitted by a ceiling: the partner scope survived the layout
    assert first.decision == pb.EFFECT_ALLOW
    assert list(first.ceilings) == ["ceiling-supplier"]
    assert stub.Check(ERIN_VIEWS_CATALOG, timeout=5).decision == pb.EFFECT_DENY

    # the kubelet publishes a new version of the ConfigMap
    staged = tmp_path / "staged"
    shutil.copytree(sc.policies / "..data", staged)
    (staged / "platform" / "extra.cedar").write_text(NEW_POLICY, encoding="utf-8")
    kubernetes_update(sc.policies, staged)
    sc.wait_for(lambda: stub.Check(ERIN_VIEWS_CATALOG, timeout=5).decision == pb.EFFECT_ALLOW,
                what="the new ConfigMap version to apply")
    again = stub.Check(bob, timeout=5)
    assert list(again.ceilings) == ["ceiling-supplier"]


def test_sigterm_finishes_calls_in_flight_and_turns_not_serving(start_sidecar):
    sc = start_sidecar(workers=2, drain=1.0, grace=5.0, reload_interval=0)
    batch = pb.CheckBatchRequest(checks=[ERIN_VIEWS_CATALOG] * 200)
    results: list[tuple[float, float, object]] = []  # (started, ended, outcome)
    stop_issuing = threading.Event()
    lock = threading.Lock()

    def load() -> None:
        stub = sc.stub()
        deadline = time.monotonic() + 15
        while not stop_issuing.is_set() and time.monotonic() < deadline:
            started = time.monotonic()
            try:
                response = stub.CheckBatch(batch, timeout=10)
                outcome = len(response.results)
            except grpc.RpcError as err:
                outcome = err.code()
            with lock:
                results.append((started, time.monotonic(), outcome))

    threads = [threading.Thread(target=load) for _ in range(6)]
    for t in threads:
        t.start()
    sc.wait_for(lambda: len(results) >= 6, what="load to start")

    # watch health on its own connection while the server drains
    watch_channel = sc.channel()
    watched = health_pb2_grpc.HealthStub(watch_channel)
    sigterm_at = time.monotonic()
    sc.terminate()
    time.sleep(0.3)  # inside drain_seconds: still accepting, but NOT_SERVING
    status = watched.Check(health_pb2.HealthCheckRequest(), timeout=2).status
    stop_issuing.set()
    for t in threads:
        t.join(20)
    assert sc.wait(20) == 0, sc.stderr()

    assert status == health_pb2.HealthCheckResponse.NOT_SERVING
    in_flight = [r for r in results if r[0] < sigterm_at < r[1]]
    assert in_flight, "no call was in flight at SIGTERM"
    lost = [r for r in results if r[2] != 200]
    assert not lost, f"{len(lost)} of {len(results)} calls failed: {lost[:3]}"
    log = sc.stderr()
    assert "shutting down" in log and "stopped" in log


def test_supervisor_restarts_a_worker_that_dies(start_sidecar):
    sc = start_sidecar(workers=2, reload_interval=0)

    def workers() -> set[str]:
        seen = set()
        for _ in range(30):
            try:
                _, call = sc.stub().Check.with_call(ERIN_VIEWS_CATALOG, timeout=5)
            except grpc.RpcError:
                continue
            seen.add(dict(call.trailing_metadata())["x-plainpdp-worker"])
        return seen

    before = sc.wait_for(lambda: (w := workers()) and len(w) >= 2 and w,
                         what="two workers answering")
    victim = int(sorted(before)[0])
    os.kill(victim, signal.SIGKILL)  # a worker of the server this test started
    sc.wait_for(lambda: "started" in sc.stderr() and f"worker {victim} exited" in sc.stderr(),
                what="the supervisor to notice")
    after = sc.wait_for(lambda: (w := workers()) and len(w) >= 2 and w,
                        what="two workers answering again")
    assert str(victim) not in after
    assert sc.proc.poll() is None
