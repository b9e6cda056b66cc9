"""The benchmark's grpcio floor: a real server process answering the sidecar's
methods with its constant answers, health SERVING, stopped by SIGTERM."""

from __future__ import annotations

import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc

from plainpdp._generated.plainpdp.v1 import authorization_pb2 as pb
from plainpdp._generated.plainpdp.v1 import authorization_pb2_grpc as pb_grpc

FLOOR = Path(__file__).resolve().parents[2] / "benchmarks" / "grpc_floor.py"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_floor_serves_constant_answers_and_stops_on_sigterm():
    target = f"127.0.0.1:{_free_port()}"
    proc = subprocess.Popen([sys.executable, str(FLOOR), "--listen", target, "--workers", "1",
                             "--batch", "3"], stderr=subprocess.PIPE)
    try:
        with grpc.insecure_channel(target) as ch:
            health = health_pb2_grpc.HealthStub(ch)
            deadline = time.monotonic() + 20
            while True:
                try:
                    if health.Check(health_pb2.HealthCheckRequest(), timeout=1).status == \
                            health_pb2.HealthCheckResponse.SERVING:
                        break
                except grpc.RpcError:
                    assert time.monotonic() < deadline, "the floor never served"
                    time.sleep(0.1)
            stub = pb_grpc.AuthorizationServiceStub(ch)
            one = stub.Check(pb.CheckRequest(), timeout=5)  # nothing is parsed: any request
            assert one.decision == pb.EFFECT_ALLOW and one.decision_id
            batch = stub.CheckBatch(pb.CheckBatchRequest(), timeout=5)
            assert [r.decision for r in batch.results] == [pb.EFFECT_ALLOW] * 3
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(10) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
