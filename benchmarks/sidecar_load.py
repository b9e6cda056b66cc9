#!/usr/bin/env python3
"""Load benchmark for the plainpdp gRPC sidecar, on loopback only.

    python benchmarks/sidecar_load.py [--workers N] [--seconds S] [--cerbos PATH]

Starts ``plainpdp serve`` on a free 127.0.0.1 port with the example
project and measures, from separate load-client processes:

- sequential Check latency (p50, p99) over one connection;
- Check throughput at concurrency 8 and 32;
- CheckBatch decisions/s with 50 checks per call;

and the CPU seconds the server and the load clients used in each phase.
Every phase is bounded in time (``--seconds``) and in count (``--max-calls``).

With ``--cerbos PATH`` (a Cerbos binary, e.g. from the npm package
``@cerbos/cerbos-linux-x64``) it runs the same workload against Cerbos,
with the example portal's policies written for Cerbos in
``benchmarks/cerbos/policies``, after cross-checking that both give the
same decision for every request of the workload.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing as mp
import os
import random
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
POLICIES = ROOT / "policies"
LOOPBACK = "127.0.0.1"
ACTIONS = ("view", "create", "edit", "delete", "export", "approve")
TICKS = os.sysconf("SC_CLK_TCK")


# ------------------------------------------------------------------ the workload


def workload() -> list[dict]:
    """Every user x action x (section, folder, document) of the example, with and without MFA."""
    entities = json.loads((POLICIES / "entities.json").read_text(encoding="utf-8"))
    users = [e["uid"]["id"] for e in entities if e["uid"]["type"] == "User"]
    resources = [(e["uid"]["type"], e["uid"]["id"]) for e in entities
                 if e["uid"]["type"] in ("Section", "Folder", "Document")]
    out = []
    for user in users:
        for action in ACTIONS:
            for rtype, rid in resources:
                for mfa in (True, False):
                    out.append({"principal": ("User", user), "action": action,
                                "resource": (rtype, rid), "mfa": mfa})
    random.Random(7).shuffle(out)
    return out


# ------------------------------------------------------------------ processes and CPU


def free_port() -> int:
    with socket.socket() as s:
        s.bind((LOOPBACK, 0))
        return s.getsockname()[1]


def _tree(pid: int) -> list[int]:
    pids, todo = [], [pid]
    while todo:
        p = todo.pop()
        pids.append(p)
        try:
            for task in Path(f"/proc/{p}/task").iterdir():
                todo.extend(int(c) for c in (task / "children").read_text().split())
        except OSError:
            pass
    return pids


def cpu_seconds(pid: int) -> float:
    """user+system CPU of a process and its live descendants."""
    total = 0
    for p in _tree(pid):
        try:
            fields = Path(f"/proc/{p}/stat").read_text().rsplit(")", 1)[1].split()
            total += int(fields[11]) + int(fields[12])  # utime, stime
        except (OSError, IndexError, ValueError):
            pass
    return total / TICKS


def serve_command() -> list[str]:
    from plainpdp import cli

    names = {getattr(c, "__name__", "") for c in getattr(cli, "COMMANDS", ())}
    if "plainpdp.cli.serve" in names:
        return [sys.executable, "-m", "plainpdp", "serve"]
    return [sys.executable, "-m", "plainpdp.sidecar"]


class Server:
    def __init__(self, argv: list[str], target: str, health_service: str, cwd: Path,
                 env: dict | None = None):
        self.target = target
        self.log = tempfile.NamedTemporaryFile(prefix="bench-server-", suffix=".log", delete=False)
        self.proc = subprocess.Popen(argv, cwd=cwd, stdout=subprocess.DEVNULL, stderr=self.log,
                                     start_new_session=True, env=env)
        self._wait_serving(health_service)

    def _wait_serving(self, service: str) -> None:
        import grpc
        from grpc_health.v1 import health_pb2, health_pb2_grpc

        deadline = time.monotonic() + 60
        with grpc.insecure_channel(self.target) as ch:
            stub = health_pb2_grpc.HealthStub(ch)
            while time.monotonic() < deadline:
                if self.proc.poll() is not None:
                    raise SystemExit(f"server exited: {Path(self.log.name).read_text()}")
                try:
                    if stub.Check(health_pb2.HealthCheckRequest(service=service),
                                  timeout=1).status == health_pb2.HealthCheckResponse.SERVING:
                        return
                except grpc.RpcError:
                    pass
                time.sleep(0.1)
        raise SystemExit("server did not become SERVING in 60s")

    def cpu(self) -> float:
        return cpu_seconds(self.proc.pid)

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                pass
        try:
            os.killpg(self.proc.pid, signal.SIGKILL)  # the group this script started
        except (ProcessLookupError, PermissionError):
            pass
        self.proc.wait(5)


# ------------------------------------------------------------------ plainpdp requests


def plainpdp_messages(items: list[dict]) -> list[bytes]:
    from plainpdp._generated.plainpdp.v1 import authorization_pb2 as pb
    from plainpdp._generated.plainpdp.v1 import values_pb2 as vpb

    out = []
    for it in items:
        out.append(pb.CheckRequest(
            principal=vpb.EntityUid(type=it["principal"][0], id=it["principal"][1]),
            action=vpb.EntityUid(type="Action", id=it["action"]),
            resource=vpb.EntityUid(type=it["resource"][0], id=it["resource"][1]),
            context=vpb.Record(fields={"mfa": vpb.Value(bool_value=it["mfa"])}),
        ).SerializeToString())
    return out


def plainpdp_batches(items: list[dict], size: int) -> list[bytes]:
    from plainpdp._generated.plainpdp.v1 import authorization_pb2 as pb

    singles = [pb.CheckRequest.FromString(b) for b in plainpdp_messages(items)]
    return [pb.CheckBatchRequest(checks=singles[i:i + size]).SerializeToString()
            for i in range(0, len(singles) - size + 1, size)]


PLAINPDP_CHECK = "/plainpdp.v1.AuthorizationService/Check"
PLAINPDP_BATCH = "/plainpdp.v1.AuthorizationService/CheckBatch"


# ------------------------------------------------------------------ load client processes


def _client_proc(target: str, method: str, payloads: list[bytes], concurrency: int,
                 seconds: float, max_calls: int, start_at: float, out: mp.Queue) -> None:
    """One load-client process: `concurrency` async callers over one channel each."""
    import grpc

    async def run() -> tuple[int, int, list[float]]:
        latencies: list[float] = []
        errors = 0
        calls = 0
        channels = [grpc.aio.insecure_channel(
            target, options=[("grpc.use_local_subchannel_pool", 1)]) for _ in range(concurrency)]
        stubs = [ch.unary_unary(method, request_serializer=None,
                                response_deserializer=None) for ch in channels]
        for stub in stubs:  # connect and warm up before the clock starts
            await stub(payloads[0], timeout=10)
        await asyncio.sleep(max(0.0, start_at - time.time()))
        deadline = time.monotonic() + seconds

        async def caller(n: int) -> None:
            nonlocal calls, errors
            stub = stubs[n]
            i = n
            while time.monotonic() < deadline and calls < max_calls:
                payload = payloads[i % len(payloads)]
                i += concurrency
                t = time.perf_counter()
                try:
                    await stub(payload, timeout=10)
                except grpc.RpcError:
                    errors += 1
                latencies.append(time.perf_counter() - t)
                calls += 1

        await asyncio.gather(*(caller(n) for n in range(concurrency)))
        for ch in channels:
            await ch.close()
        return calls, errors, latencies

    cpu0 = time.process_time()
    wall0 = time.monotonic()
    calls, errors, latencies = asyncio.run(run())
    out.put({"calls": calls, "errors": errors, "latencies": latencies,
             "cpu": time.process_time() - cpu0, "wall": time.monotonic() - wall0})


def load(server: Server, method: str, payloads: list[bytes], *, concurrency: int,
         processes: int, seconds: float, max_calls: int) -> dict:
    """Run the load from `processes` client processes; totals, latencies, CPU."""
    ctx = mp.get_context("spawn")
    out: mp.Queue = ctx.Queue()
    per = [concurrency // processes + (1 if i < concurrency % processes else 0)
           for i in range(processes)]
    per = [p for p in per if p]
    start_at = time.time() + 2.0  # every process connected and warmed up by then
    procs = [ctx.Process(target=_client_proc,
                         args=(server.target, method, payloads, c, seconds,
                               max_calls // len(per), start_at, out)) for c in per]
    for p in procs:
        p.start()
    time.sleep(max(0.0, start_at - time.time()))
    server_cpu0 = server.cpu()
    t0 = time.monotonic()
    results = [out.get(timeout=seconds + 60) for _ in procs]
    wall = time.monotonic() - t0
    server_cpu = server.cpu() - server_cpu0
    for p in procs:
        p.join(10)
    latencies = sorted(x for r in results for x in r["latencies"])
    calls = sum(r["calls"] for r in results)
    return {
        "calls": calls,
        "errors": sum(r["errors"] for r in results),
        "seconds": wall,
        "calls_per_s": calls / wall,
        "p50_ms": 1000 * latencies[len(latencies) // 2] if latencies else float("nan"),
        "p99_ms": 1000 * latencies[int(len(latencies) * 0.99)] if latencies else float("nan"),
        "server_cpu_s": server_cpu,
        "client_cpu_s": sum(r["cpu"] for r in results),
    }


def run_suite(name: str, server: Server, check_method: str, singles: list[bytes],
              batch_method: str | None, batches: list[bytes], batch_size: int,
              args: argparse.Namespace) -> list[dict]:
    rows = []

    def row(phase: str, r: dict, decisions_per_call: int = 1) -> None:
        r = {"engine": name, "phase": phase, **r,
             "decisions_per_s": r["calls_per_s"] * decisions_per_call}
        rows.append(r)
        print(f"  {phase:<26} {r['decisions_per_s']:>10.0f} decisions/s  "
              f"p50 {r['p50_ms']:.2f} ms  p99 {r['p99_ms']:.2f} ms  "
              f"server CPU {r['server_cpu_s']:.1f}s  client CPU {r['client_cpu_s']:.1f}s  "
              f"errors {r['errors']}", flush=True)

    print(f"{name}:", flush=True)
    row("sequential (1 conn)", load(server, check_method, singles, concurrency=1, processes=1,
                                    seconds=args.seconds, max_calls=args.max_calls))
    for c in (8, 32):
        row(f"Check, concurrency {c}",
            load(server, check_method, singles, concurrency=c, processes=args.client_procs,
                 seconds=args.seconds, max_calls=args.max_calls))
    if batch_method:
        row(f"CheckBatch x{batch_size}, conc 8",
            load(server, batch_method, batches, concurrency=8, processes=args.client_procs,
                 seconds=args.seconds, max_calls=max(1, args.max_calls // batch_size)),
            batch_size)
    return rows


# ------------------------------------------------------------------ main


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workers", type=int, default=0, help="server workers (0 = per core)")
    parser.add_argument("--seconds", type=float, default=5.0, help="length of each phase")
    parser.add_argument("--max-calls", type=int, default=200_000, help="cap per phase")
    parser.add_argument("--client-procs", type=int, default=2, help="load-client processes")
    parser.add_argument("--batch", type=int, default=50, help="checks per CheckBatch call")
    parser.add_argument("--cerbos", metavar="PATH", help="a Cerbos binary to compare with")
    parser.add_argument("--decision-log", action="store_true",
                        help="keep decision logging on (to a temporary file)")
    parser.add_argument("--json", metavar="FILE", help="also write the rows as JSON")
    args = parser.parse_args()

    items = workload()
    print(f"workload: {len(items)} distinct requests (users x actions x resources x mfa); "
          f"{os.cpu_count()} CPUs; loopback only", flush=True)
    rows: list[dict] = []

    port = free_port()
    target = f"{LOOPBACK}:{port}"
    tmp = Path(tempfile.mkdtemp(prefix="bench-sidecar-"))
    argv = [*serve_command(), "--policies", str(POLICIES), "--listen", target,
            "--workers", str(args.workers), "--reload-interval", "0", "--log-level", "warning",
            "--decision-log", str(tmp / "decisions-{pid}.jsonl") if args.decision_log else ""]
    server = Server(argv, target, "plainpdp.v1.AuthorizationService", cwd=ROOT)
    try:
        rows += run_suite("plainpdp", server, PLAINPDP_CHECK, plainpdp_messages(items),
                          PLAINPDP_BATCH, plainpdp_batches(items, args.batch), args.batch, args)
    finally:
        server.stop()

    if args.cerbos:
        from cerbos_compare import cerbos_suite  # benchmarks/cerbos_compare.py

        rows += cerbos_suite(args, items, Server, run_suite, free_port)

    print()
    print(table(rows))
    if args.json:
        Path(args.json).write_text(json.dumps(rows, indent=2), encoding="utf-8")
    return 0


def table(rows: list[dict]) -> str:
    head = ("| engine | phase | decisions/s | p50 ms | p99 ms | server CPU s | client CPU s "
            "| server CPU µs/decision | errors |")
    lines = [head, "|" + "---|" * 9]
    for r in rows:
        per = 1 if "Batch" not in r["phase"] else int(r["decisions_per_s"] / r["calls_per_s"])
        decisions = r["calls"] * per
        lines.append(
            f"| {r['engine']} | {r['phase']} | {r['decisions_per_s']:.0f} | {r['p50_ms']:.2f} "
            f"| {r['p99_ms']:.2f} | {r['server_cpu_s']:.1f} | {r['client_cpu_s']:.1f} "
            f"| {1e6 * r['server_cpu_s'] / max(1, decisions):.0f} | {r['errors']} |"
        )
    return "\n".join(lines)


if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    sys.exit(main())
