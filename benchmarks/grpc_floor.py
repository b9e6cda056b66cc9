"""grpcio's floor for ``sidecar_load.py --floor``: the sidecar's transport with no work.

The same process layout as ``plainpdp serve`` (``--workers`` processes on
one port through SO_REUSEPORT, grpcio's threaded server with ``--threads``
handler threads, the sidecar's default GRPC_EXPERIMENTS), answering every
Check and CheckBatch with one answer serialized at start. No request is
parsed and no policy is evaluated, so what it costs per call is what
grpcio costs the sidecar on this machine: plainpdp's figures can only
approach it.

    python benchmarks/grpc_floor.py --listen 127.0.0.1:PORT [--workers N] [--threads T]
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import threading

from plainpdp.sidecar.config import DEFAULT_GRPC_EXPERIMENTS, usable_cpus

SERVICE = "plainpdp.v1.AuthorizationService"


def answers(batch: int) -> tuple[bytes, bytes]:
    """One Check answer and one CheckBatch answer of ``batch`` results, as plainpdp
    would give them (an allow with a reason, a version and a decision id)."""
    from plainpdp._generated.plainpdp.v1 import authorization_pb2 as pb

    one = pb.CheckResponse(decision=pb.EFFECT_ALLOW, reasons=["acme-sales-orders"],
                           policy_version="0123456789abcdef",
                           decision_id="0190d7a4-5a4e-7c3b-9e1f-2b8c4d6e8f00")
    return (one.SerializeToString(),
            pb.CheckBatchResponse(results=[one] * batch).SerializeToString())


def serve_one(listen: str, threads: int, batch: int) -> None:
    os.environ.setdefault("GRPC_EXPERIMENTS", DEFAULT_GRPC_EXPERIMENTS)  # before grpc
    from concurrent.futures import ThreadPoolExecutor

    import grpc
    from grpc_health.v1 import health, health_pb2, health_pb2_grpc

    check, check_batch = answers(batch)
    server = grpc.server(ThreadPoolExecutor(threads), options=[("grpc.so_reuseport", 1)])
    server.add_generic_rpc_handlers((grpc.method_handlers_generic_handler(SERVICE, {
        "Check": grpc.unary_unary_rpc_method_handler(lambda _req, _ctx: check),
        "CheckBatch": grpc.unary_unary_rpc_method_handler(lambda _req, _ctx: check_batch),
    }),))
    status = health.HealthServicer()
    for name in ("", SERVICE):
        status.set(name, health_pb2.HealthCheckResponse.SERVING)
    health_pb2_grpc.add_HealthServicer_to_server(status, server)
    if not server.add_insecure_port(listen):
        raise SystemExit(f"cannot listen on {listen}")
    server.start()
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    stop.wait()
    server.stop(1).wait(5)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--listen", required=True)
    parser.add_argument("--workers", type=int, default=0, help="processes (0 = per core)")
    parser.add_argument("--threads", type=int, default=8)
    parser.add_argument("--batch", type=int, default=50, help="results per CheckBatch answer")
    args = parser.parse_args()
    workers = args.workers or usable_cpus()
    if workers == 1:
        serve_one(args.listen, args.threads, args.batch)
        return 0
    argv = [sys.executable, __file__, "--listen", args.listen, "--workers", "1",
            "--threads", str(args.threads), "--batch", str(args.batch)]
    procs = [subprocess.Popen(argv) for _ in range(workers)]
    signal.signal(signal.SIGTERM, lambda *_: [p.terminate() for p in procs])
    return max(p.wait() for p in procs)


if __name__ == "__main__":
    sys.exit(main())
