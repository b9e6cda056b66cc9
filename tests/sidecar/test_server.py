"""The sidecar end to end: a real two-worker server, called through the stubs."""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import time
from pathlib import Path

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection_pb2, reflection_pb2_grpc
from sidecar_support import POLICIES, SERVICE, channel, check, serve_command, uid

from plainpdp._generated.plainpdp.v1 import authorization_pb2 as pb
from plainpdp._generated.plainpdp.v1 import authorization_pb2_grpc as pb_grpc
from plainpdp._generated.plainpdp.v1 import values_pb2 as vpb
from plainpdp.sidecar.config import DEFAULT_GRPC_EXPERIMENTS, DEFAULT_LISTEN

BOB_EDITS_ORDER = check(("User", "bob"), "edit", ("Document", "acme-po-1001"))
ERIN_READS_ACME = check(("User", "erin"), "view", ("Document", "acme-po-1001"))


def _invalid(stub_call, request) -> str:
    with pytest.raises(grpc.RpcError) as info:
        stub_call(request, timeout=5)
    assert info.value.code() == grpc.StatusCode.INVALID_ARGUMENT, info.value.details()
    return info.value.details()


# ------------------------------------------------------------------ each RPC


def test_check_allows_with_reasons_ceilings_and_worker(shared_sidecar):
    response, call = shared_sidecar.stub().Check.with_call(BOB_EDITS_ORDER, timeout=5)
    assert response.decision == pb.EFFECT_ALLOW
    assert list(response.reasons) == ["acme-sales-orders"]
    assert list(response.ceilings) == ["ceiling-supplier"]
    assert response.decision_id and response.policy_version
    assert not response.explanation
    metadata = dict(call.trailing_metadata())
    assert metadata["x-plainpdp-worker"].isdigit()


def test_check_denies_cross_partner(shared_sidecar):
    response = shared_sidecar.stub().Check(ERIN_READS_ACME, timeout=5)
    assert response.decision == pb.EFFECT_DENY
    assert list(response.reasons) == ["guardrail-cross-partner"]


def test_check_explains_on_request(shared_sidecar):
    request = pb.CheckRequest()
    request.CopyFrom(BOB_EDITS_ORDER)
    request.explain = True
    response = shared_sidecar.stub().Check(request, timeout=5)
    assert "acme-sales-orders" in response.explanation


def test_check_typed_extension_value_in_context(shared_sidecar):
    request = check(("User", "bob"), "edit", ("Document", "acme-po-1001"),
                    source_ip=vpb.Value(extension_value=vpb.ExtensionValue(fn="ip",
                                                                           arg="10.1.2.3")))
    assert shared_sidecar.stub().Check(request, timeout=5).decision == pb.EFFECT_ALLOW


def test_check_with_request_entities(shared_sidecar):
    # a document that exists only in this request, in acme's orders section
    doc = vpb.Entity(
        uid=uid("Document", "acme-po-new"),
        attrs={
            "title": vpb.Value(string_value="new order"),
            "sensitivity": vpb.Value(string_value="low"),
            "region": vpb.Value(string_value="eu"),
            "partner": vpb.Value(entity_value=uid("Partner", "acme-supply")),
        },
        parents=[uid("Section", "orders"), uid("Folder", "acme-supply/orders")],
    )
    request = check(("User", "bob"), "edit", ("Document", "acme-po-new"))
    request.entities.append(doc)
    direct = shared_sidecar.stub().Check(request, timeout=5)
    assert direct.decision == pb.EFFECT_ALLOW, direct
    assert list(direct.reasons) == ["acme-sales-orders"]


def test_check_batch_answers_in_order(shared_sidecar):
    checks = [BOB_EDITS_ORDER, ERIN_READS_ACME] * 25
    response = shared_sidecar.stub().CheckBatch(pb.CheckBatchRequest(checks=checks), timeout=10)
    assert len(response.results) == 50
    assert [r.decision for r in response.results] == [pb.EFFECT_ALLOW, pb.EFFECT_DENY] * 25
    ids = {r.decision_id for r in response.results}
    assert len(ids) == 50
    assert response.policy_version == response.results[0].policy_version


# ------------------------------------------------------------------ several workers


def test_answers_come_from_at_least_two_workers(shared_sidecar):
    workers = set()
    for _ in range(40):
        stub = shared_sidecar.stub()  # a fresh connection each time
        _, call = stub.Check.with_call(BOB_EDITS_ORDER, timeout=5)
        workers.add(dict(call.trailing_metadata())["x-plainpdp-worker"])
        if len(workers) >= 2:
            break
    assert len(workers) >= 2, f"only worker(s) {workers} answered"


def test_workers_start_with_the_configured_grpc_experiments(shared_sidecar):
    """gRPC reads GRPC_EXPERIMENTS once, at import: the workers must start with it."""
    workers = set()
    for _ in range(40):
        _, call = shared_sidecar.stub().Check.with_call(BOB_EDITS_ORDER, timeout=5)
        workers.add(int(dict(call.trailing_metadata())["x-plainpdp-worker"]))
        if len(workers) >= 2:
            break
    expected = os.environ.get("GRPC_EXPERIMENTS", DEFAULT_GRPC_EXPERIMENTS)
    for pid in workers:
        environ = Path(f"/proc/{pid}/environ").read_bytes().split(b"\0")
        assert f"GRPC_EXPERIMENTS={expected}".encode() in environ
    assert "Unknown experiment" not in shared_sidecar.stderr()  # this grpcio knows them all


@pytest.mark.parametrize("workers", [1, 2])
def test_grpc_reads_the_configured_experiments(start_sidecar, workers):
    """Not only in the environment: set before gRPC was imported, so gRPC read it
    (it names an experiment it does not know)."""
    sc = start_sidecar(workers=workers, reload_interval=0, server_extra=(
        'grpc_experiments = "-event_engine_listener,plainpdp_test_marker"'))
    assert sc.stderr().count("Unknown experiment: plainpdp_test_marker") >= workers
    assert sc.health() == health_pb2.HealthCheckResponse.SERVING  # and serves regardless


# ------------------------------------------------------------------ health and reflection


def test_health_is_serving_for_the_server_and_the_service(shared_sidecar):
    assert shared_sidecar.health("") == health_pb2.HealthCheckResponse.SERVING
    assert shared_sidecar.health(SERVICE) == health_pb2.HealthCheckResponse.SERVING


def test_reflection_lists_the_services(shared_sidecar):
    stub = reflection_pb2_grpc.ServerReflectionStub(shared_sidecar.channel())
    responses = stub.ServerReflectionInfo(
        iter([reflection_pb2.ServerReflectionRequest(list_services="")]), timeout=5
    )
    names = {s.name for r in responses for s in r.list_services_response.service}
    assert {SERVICE, "grpc.health.v1.Health",
            "grpc.reflection.v1alpha.ServerReflection"} <= names
    # and the descriptors behind them, as grpcurl asks for them
    responses = stub.ServerReflectionInfo(
        iter([reflection_pb2.ServerReflectionRequest(file_containing_symbol=SERVICE)]), timeout=5
    )
    files = [r.file_descriptor_response for r in responses]
    assert files and files[0].file_descriptor_proto


# ------------------------------------------------------------------ bad input


def test_unknown_entity_type_is_invalid_argument(shared_sidecar):
    details = _invalid(shared_sidecar.stub().Check,
                       check(("Robot", "r2"), "view", ("Section", "catalog")))
    assert "Robot" in details and "not in the schema" in details


def test_malformed_uid_is_invalid_argument(shared_sidecar):
    details = _invalid(shared_sidecar.stub().Check,
                       check(("Us er", "x"), "view", ("Section", "catalog")))
    assert "principal" in details and "not a valid entity type name" in details
    details = _invalid(shared_sidecar.stub().Check, pb.CheckRequest(
        action=uid("Action", "view"), resource=uid("Section", "catalog")))
    assert "principal" in details and "missing" in details


def test_invalid_values_are_invalid_argument(shared_sidecar):
    stub = shared_sidecar.stub()
    details = _invalid(stub.Check, check(("User", "bob"), "view", ("Section", "catalog"),
                                         source_ip=vpb.Value()))
    assert "context.source_ip" in details and "no kind" in details
    details = _invalid(stub.Check, check(("User", "bob"), "view", ("Section", "catalog"),
                                         source_ip=vpb.Value(extension_value=vpb.ExtensionValue(
                                             fn="ip", arg="not-an-ip"))))
    assert "source_ip" in details and "not-an-ip" in details
    # a long where the schema says Bool
    request = check(("User", "bob"), "view", ("Section", "catalog"))
    request.context.fields["mfa"].long_value = 1
    details = _invalid(stub.Check, request)
    assert "mfa" in details and "bool" in details.lower()


def test_too_deep_values_are_invalid_argument(shared_sidecar):
    value = vpb.Value(long_value=1)
    for _ in range(40):
        value = vpb.Value(set_value=vpb.ValueSet(values=[value]))
    details = _invalid(shared_sidecar.stub().Check,
                       check(("User", "bob"), "view", ("Section", "catalog"), deep=value))
    assert "nest too deeply" in details


def test_oversize_request_and_batch_are_invalid_argument(shared_sidecar):
    stub = shared_sidecar.stub()
    big = check(("User", "bob"), "view", ("Section", "catalog"),
                note=vpb.Value(string_value="x" * 70_000))  # limit in the test config: 64 KiB
    details = _invalid(stub.Check, big)
    assert "bytes" in details and "max_request_bytes" in details
    details = _invalid(stub.CheckBatch,
                       pb.CheckBatchRequest(checks=[ERIN_READS_ACME] * 1001))
    assert "1001" in details and "max_batch" in details
    # far over the limit: gRPC itself refuses it before parsing
    huge = check(("User", "bob"), "view", ("Section", "catalog"),
                 note=vpb.Value(string_value="x" * 300_000))
    with pytest.raises(grpc.RpcError) as info:
        stub.Check(huge, timeout=5)
    assert info.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED


def test_one_bad_check_fails_the_batch_naming_it(shared_sidecar):
    bad = check(("Robot", "r2"), "view", ("Section", "catalog"))
    details = _invalid(shared_sidecar.stub().CheckBatch,
                       pb.CheckBatchRequest(checks=[BOB_EDITS_ORDER, bad]))
    assert "#1" in details or "checks[1]" in details


def test_bad_input_is_never_an_allow_and_server_survives(shared_sidecar):
    stub = shared_sidecar.stub()
    for request in (
        pb.CheckRequest(),
        pb.CheckRequest(principal=uid("User", "bob")),
        check(("User", "bob"), "", ("Section", "catalog")),
        check(("User", "bob"), "edit", ("", "")),
    ):
        with pytest.raises(grpc.RpcError) as info:
            stub.Check(request, timeout=5)
        assert info.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert stub.Check(BOB_EDITS_ORDER, timeout=5).decision == pb.EFFECT_ALLOW


@pytest.mark.parametrize("method", ["Check", "CheckBatch", "WhoCan"])
def test_bytes_that_are_no_message_are_invalid_argument(shared_sidecar, method):
    raw = shared_sidecar.channel().unary_unary(
        f"/{SERVICE}/{method}", request_serializer=None, response_deserializer=None)
    for garbage in (b"\xff\xff\xff", b"\x0a\x05ab"):  # a bad tag; a field cut short
        with pytest.raises(grpc.RpcError) as info:
            raw(garbage, timeout=5)
        assert info.value.code() == grpc.StatusCode.INVALID_ARGUMENT
        assert "could not parse" in info.value.details()
    if method == "Check":  # and well-formed bytes still get their answer
        answer = pb.CheckResponse.FromString(raw(BOB_EDITS_ORDER.SerializeToString(), timeout=5))
        assert answer.decision == pb.EFFECT_ALLOW


# ------------------------------------------------------------------ decision logs and metrics


def test_a_decision_log_line_per_check_with_masked_fields(shared_sidecar):
    stub = shared_sidecar.stub()
    request = check(("User", "bob"), "edit", ("Document", "acme-po-1001"),
                    source_ip=vpb.Value(extension_value=vpb.ExtensionValue(fn="ip",
                                                                           arg="192.0.2.7")))
    ids = [stub.Check(request, timeout=5).decision_id for _ in range(3)]
    batch = stub.CheckBatch(pb.CheckBatchRequest(checks=[request, ERIN_READS_ACME]), timeout=5)
    ids += [r.decision_id for r in batch.results]

    def lines():
        found = {line["decision_id"]: line for line in shared_sidecar.decision_lines()}
        return found if all(i in found for i in ids) else None

    found = shared_sidecar.wait_for(lines, what="decision log lines")
    first = found[ids[0]]
    assert first["decision"] == "allow"
    assert first["reasons"] == ["acme-sales-orders"]
    assert first["ceilings"] == ["ceiling-supplier"]
    assert first["policy_version"]
    assert first["method"] == "Check"
    assert first["request"]["principal"] == {"type": "User", "id": "bob"}
    assert first["request"]["context"]["mfa"] is True
    assert first["request"]["context"]["source_ip"] == "[masked]"
    assert "192.0.2.7" not in json.dumps(found)
    assert first["time"].endswith("Z")
    assert found[ids[4]]["decision"] == "deny"
    assert found[ids[4]]["method"] == "CheckBatch"


def test_metrics_count_decisions_latency_and_rpcs(shared_sidecar):
    stub = shared_sidecar.stub()
    before = shared_sidecar.metric('plainpdp_decisions_total{decision="allow"}')
    for _ in range(5):
        stub.Check(BOB_EDITS_ORDER, timeout=5)
    text = shared_sidecar.metrics()
    after = shared_sidecar.metric('plainpdp_decisions_total{decision="allow"}')
    assert after >= before + 5
    for name in ("plainpdp_request_duration_seconds_bucket", "plainpdp_reloads_total",
                 "plainpdp_reload_failures_total", "plainpdp_decision_log_dropped_total",
                 "plainpdp_requests_total"):
        assert name in text, name


# ------------------------------------------------------------------ no flags at all


def _listening(port: int) -> set[str]:
    """Local addresses with a socket listening on ``port`` (IPv4 and IPv6)."""
    found = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            rows = Path(table).read_text().splitlines()[1:]
        except OSError:
            continue
        for row in rows:
            fields = row.split()
            address, state = fields[1], fields[3]
            host, _, hex_port = address.rpartition(":")
            if state == "0A" and int(hex_port, 16) == port:
                found.add(host)
    return found


def test_serve_with_no_flags_serves_policies_on_loopback(tmp_path):
    port = int(DEFAULT_LISTEN.rpartition(":")[2])
    with socket.socket() as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as servers bind
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            pytest.skip(f"port {port} is in use here; the default listen address needs it")
    shutil.copytree(POLICIES, tmp_path / "policies")
    with open(tmp_path / "stderr", "wb") as err:
        proc = subprocess.Popen(serve_command(), cwd=tmp_path, stdout=subprocess.DEVNULL,
                                stderr=err, start_new_session=True)
    ch = channel(DEFAULT_LISTEN)
    try:
        health = health_pb2_grpc.HealthStub(ch)
        status = None
        for _ in range(600):
            assert proc.poll() is None, (tmp_path / "stderr").read_text()
            try:
                status = health.Check(health_pb2.HealthCheckRequest(service=SERVICE),
                                      timeout=1).status
            except grpc.RpcError:
                pass
            if status == health_pb2.HealthCheckResponse.SERVING:
                break
            time.sleep(0.05)
        assert status == health_pb2.HealthCheckResponse.SERVING
        # loopback only: 127.0.0.1 (gRPC may bind it as ::ffff:127.0.0.1), never 0.0.0.0 or ::
        bound = _listening(port)
        assert bound and bound <= {"0100007F", "0000000000000000FFFF00000100007F"}, bound
        stub = pb_grpc.AuthorizationServiceStub(ch)
        assert stub.Check(BOB_EDITS_ORDER, timeout=5).decision == pb.EFFECT_ALLOW
        assert stub.Check(ERIN_READS_ACME, timeout=5).decision == pb.EFFECT_DENY
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(30) == 0
        assert "policies" in (tmp_path / "stderr").read_text()
    finally:
        ch.close()
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)  # the group this test started
            proc.wait(5)
