#!/usr/bin/env python3
"""Exit 0 if the plainpdp sidecar answers SERVING, else 1: a probe for containers.

    python healthcheck.py [HOST:PORT] [SERVICE]

Imports only grpcio and grpcio-health-checking (not plainpdp), so it starts
fast enough for an exec probe, and it talks to the sidecar over loopback,
so the sidecar never has to listen on the pod's network address.
"""

import sys

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc


def main() -> int:
    target = sys.argv[1] if len(sys.argv) > 1 else "127.0.0.1:50051"
    service = sys.argv[2] if len(sys.argv) > 2 else "plainpdp.v1.AuthorizationService"
    with grpc.insecure_channel(target) as channel:
        stub = health_pb2_grpc.HealthStub(channel)
        try:
            status = stub.Check(health_pb2.HealthCheckRequest(service=service), timeout=2).status
        except grpc.RpcError as err:
            print(f"{target}: {err.code().name}: {err.details()}", file=sys.stderr)
            return 1
    name = health_pb2.HealthCheckResponse.ServingStatus.Name(status)
    print(f"{target} {service or '(server)'}: {name}")
    return 0 if status == health_pb2.HealthCheckResponse.SERVING else 1


if __name__ == "__main__":
    sys.exit(main())
