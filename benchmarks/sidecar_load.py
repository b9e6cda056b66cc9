#!/usr/bin/env python3
"""Load benchmark for the plainpdp gRPC sidecar, on loopback only.

    python benchmarks/sidecar_load.py [--workers N] [--seconds S] [--cerbos PATH]

Starts ``plainpdp serve`` (``--workers``, default one per core) on a free
127.0.0.1 port with the example project and measures, from separate
load-client processes (so the client does not saturate first):

- sequential Check latency (p50, p99) over one connection;
- Check throughput at concurrency 8 and 32;
- Check latency at half of the peak throughput, over as many connections
  as the peak was reached with (an open-loop client sends at a fixed rate;
  latency counts from the planned send time, so a stall is not hidden by
  the client waiting for it);
- CheckBatch decisions/s with 50 checks per call;
- with ``--rates``, Check latency at fixed rates, the same for every server;

and the CPU seconds the server (with its workers) and the load clients used
in each phase. Every phase is bounded in time (``--seconds``) and in count
(``--max-calls``).

With ``--cerbos PATH`` (a Cerbos binary, e.g. from the npm package
``@cerbos/cerbos-linux-x64``) Cerbos runs beside it with the example
portal's rules written as scoped Cerbos policies
(``benchmarks/cerbos/policies``); both give the same decision for every
request of the workload (checked first), and each phase runs against one
server and then the other, so a change in background load hits both.
With ``--floor`` the same phases also run against grpcio answering a
constant with no work behind it (``grpc_floor.py``), laid out as the
sidecar: the transport's own cost on this machine.
Every figure is the median over ``--repeat`` rounds.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import os
import random
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
POLICIES = ROOT / "policies"
LOOPBACK = "127.0.0.1"
ACTIONS = ("view", "create", "edit", "delete", "export", "approve")
TICKS = os.sysconf("SC_CLK_TCK")
PHASES = ("sequential", "Check c8", "Check c32", "Check at half peak", "CheckBatch x{batch} c8")


# ------------------------------------------------------------------ the workload


def workload() -> list[dict]:
    """Every user x action x (section, folder, document) of the example, with and
    without MFA, that the schema's appliesTo admits (the rest are bad input, not
    decisions)."""
    from plainpdp import Schema
    from plainpdp.values import EntityUid

    schema = Schema.from_text((POLICIES / "schema.cedarschema").read_text(encoding="utf-8"))
    entities = json.loads((POLICIES / "entities.json").read_text(encoding="utf-8"))
    users = [e["uid"]["id"] for e in entities if e["uid"]["type"] == "User"]
    resources = [(e["uid"]["type"], e["uid"]["id"]) for e in entities
                 if e["uid"]["type"] in ("Section", "Folder", "Document")]
    out = []
    for user in users:
        for action in ACTIONS:
            declared = schema.action(EntityUid("Action", action))
            for rtype, rid in resources:
                if not declared.applies_to("resource", rtype):
                    continue
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
    return [sys.executable, "-m", "plainpdp", "serve"]


class Server:
    """A server process in its own process group, SERVING before it is used."""

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
        self.log.close()
        Path(self.log.name).unlink(missing_ok=True)


@dataclass
class Target:
    """One engine under load: its server and its pre-serialized requests."""

    name: str
    server: Server
    check_method: str
    singles: list[bytes]
    batch_method: str
    batches: list[bytes]


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


def batch_groups(items: list[dict], size: int) -> list[list[dict]]:
    """Full batches of ``size`` requests of one principal (and MFA state), as a
    portal page asks them; Cerbos takes one principal per call, so both get these."""
    by_principal: dict[tuple, list[dict]] = {}
    for it in items:
        by_principal.setdefault((it["principal"], it["mfa"]), []).append(it)
    return [group[i:i + size] for group in by_principal.values()
            for i in range(0, len(group) - size + 1, size)]


def plainpdp_batches(items: list[dict], size: int) -> list[bytes]:
    from plainpdp._generated.plainpdp.v1 import authorization_pb2 as pb

    return [pb.CheckBatchRequest(checks=[pb.CheckRequest.FromString(b)
                                         for b in plainpdp_messages(group)]).SerializeToString()
            for group in batch_groups(items, size)]


PLAINPDP_CHECK = "/plainpdp.v1.AuthorizationService/Check"
PLAINPDP_BATCH = "/plainpdp.v1.AuthorizationService/CheckBatch"


def start_plainpdp(args: argparse.Namespace, items: list[dict], tmp: Path) -> Target:
    target = f"{LOOPBACK}:{free_port()}"
    argv = [*serve_command(), "--policies", str(POLICIES), "--listen", target,
            "--workers", str(args.workers), "--reload-interval", "0", "--log-level", "warning",
            "--store", "off",  # entities from the files: the authorization path alone
            "--decision-log", str(tmp / "decisions-{pid}.jsonl") if args.decision_log else ""]
    if args.threads:
        config = tmp / "plainpdp.toml"
        config.write_text(f"[server]\nthreads = {args.threads}\n", encoding="utf-8")
        argv += ["--config", str(config)]
    server = Server(argv, target, "plainpdp.v1.AuthorizationService", cwd=tmp)
    return Target("plainpdp", server, PLAINPDP_CHECK, plainpdp_messages(items),
                  PLAINPDP_BATCH, plainpdp_batches(items, args.batch))


def start_floor(args: argparse.Namespace, plainpdp: Target) -> Target:
    """grpcio with no work behind it, laid out as the sidecar (grpc_floor.py)."""
    target = f"{LOOPBACK}:{free_port()}"
    argv = [sys.executable, str(Path(__file__).resolve().parent / "grpc_floor.py"),
            "--listen", target, "--workers", str(args.workers),
            "--threads", str(args.threads or 8), "--batch", str(args.batch)]
    server = Server(argv, target, "plainpdp.v1.AuthorizationService", cwd=ROOT)
    return Target("grpc floor", server, PLAINPDP_CHECK, plainpdp.singles,
                  PLAINPDP_BATCH, plainpdp.batches)


# ------------------------------------------------------------------ load client processes


def _client_proc(target: str, method: str, payloads: list[bytes], concurrency: int,
                 seconds: float, max_calls: int, rate: float, start_at: float,
                 offset: int, out: mp.Queue) -> None:
    """One load-client process: ``concurrency`` connections, requests
    pre-serialized, on raw HTTP/2 frames (``wire_client.py``: a few µs of
    CPU a call, where grpcio's client costs as much as the server)."""
    from wire_client import WireError, run_load

    host, port = target.rsplit(":", 1)
    cpu0 = time.process_time()
    try:
        calls, failures, latencies = run_load(
            host, int(port), method, payloads, connections=concurrency, seconds=seconds,
            max_calls=max_calls, rate=rate, start_at=start_at, offset=offset)
    except (WireError, OSError) as err:
        out.put({"failure": f"load client {os.getpid()}: {err}"})
        return
    out.put({"calls": calls, "failures": dict(failures), "latencies": latencies,
             "cpu": time.process_time() - cpu0})


def load(server: Server, method: str, payloads: list[bytes], *, concurrency: int,
         processes: int, seconds: float, max_calls: int, rate: float = 0.0) -> dict:
    """Run one phase from ``processes`` client processes; totals, latencies, CPU."""
    ctx = mp.get_context("spawn")
    out: mp.Queue = ctx.Queue()
    per = [concurrency // processes + (1 if i < concurrency % processes else 0)
           for i in range(processes)]
    per = [p for p in per if p]
    start_at = time.time() + 2.0  # every process connected and warmed up by then
    procs = [ctx.Process(target=_client_proc,
                         args=(server.target, method, payloads, c, seconds,
                               max_calls // len(per), rate * c / concurrency, start_at,
                               len(payloads) * n // len(per), out))
             for n, c in enumerate(per)]
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
    broken = [r["failure"] for r in results if "failure" in r]
    if broken:
        raise SystemExit("; ".join(broken))
    failures: dict[str, int] = {}
    for r in results:
        for kind, n in r["failures"].items():
            failures[kind] = failures.get(kind, 0) + n
    latencies = sorted(x for r in results for x in r["latencies"])
    calls = sum(r["calls"] for r in results)
    return {
        "calls": calls,
        "errors": sum(failures.values()),
        "failures": failures,
        "seconds": wall,
        "calls_per_s": calls / wall,
        "p50_ms": 1000 * latencies[len(latencies) // 2] if latencies else float("nan"),
        "p99_ms": 1000 * latencies[int(len(latencies) * 0.99)] if latencies else float("nan"),
        "server_cpu_s": server_cpu,
        "client_cpu_s": sum(r["cpu"] for r in results),
    }


def run_phase(t: Target, phase: str, args: argparse.Namespace, peak: float,
              peak_concurrency: int) -> dict:
    common = {"seconds": args.seconds, "max_calls": args.max_calls}
    per_call = 1
    if phase == "sequential":
        r = load(t.server, t.check_method, t.singles, concurrency=1, processes=1, **common)
    elif phase in ("Check c8", "Check c32"):
        r = load(t.server, t.check_method, t.singles, concurrency=int(phase[7:]),
                 processes=args.client_procs, **common)
    elif phase == "Check at half peak":  # on as many connections as the peak had
        r = load(t.server, t.check_method, t.singles, concurrency=peak_concurrency,
                 processes=args.client_procs, rate=peak / 2, **common)
        r["rate"] = peak / 2
    elif phase.startswith("Check at "):  # a fixed rate (--rates), the same for both
        rate = float(phase.split()[2].removesuffix("/s"))
        r = load(t.server, t.check_method, t.singles, concurrency=32,
                 processes=args.client_procs, rate=rate, **common)
    else:
        per_call = args.batch
        r = load(t.server, t.batch_method, t.batches, concurrency=8,
                 processes=args.client_procs, **common)
    decisions = r["calls"] * per_call
    r.update(engine=t.name, phase=phase.format(batch=args.batch),
             decisions_per_s=r["calls_per_s"] * per_call,
             server_us_per_decision=1e6 * r["server_cpu_s"] / max(1, decisions),
             client_us_per_decision=1e6 * r["client_cpu_s"] / max(1, decisions))
    print(f"  {t.name:<10} {r['phase']:<22} {r['decisions_per_s']:>9.0f} decisions/s  "
          f"p50 {r['p50_ms']:6.2f} ms  p99 {r['p99_ms']:6.2f} ms  "
          f"CPU/decision server {r['server_us_per_decision']:.0f} µs, "
          f"client {r['client_us_per_decision']:.0f} µs  errors {r['errors']}"
          + "".join(f"; {n} {kind}" for kind, n in r["failures"].items()), flush=True)
    return r


# ------------------------------------------------------------------ main


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workers", type=int, default=0, help="server workers (0 = per core)")
    parser.add_argument("--seconds", type=float, default=5.0, help="length of each phase")
    parser.add_argument("--max-calls", type=int, default=200_000, help="calls per phase at most")
    parser.add_argument("--repeat", type=int, default=1, help="rounds; figures are medians")
    parser.add_argument("--threads", type=int, default=0,
                        help="handler threads per server worker (0 = the server's default)")
    parser.add_argument("--client-procs", type=int, default=2, help="load-client processes")
    parser.add_argument("--batch", type=int, default=50, help="checks per CheckBatch call")
    parser.add_argument("--cerbos", metavar="PATH", help="a Cerbos binary to compare with")
    parser.add_argument("--decision-log", action="store_true",
                        help="keep decision logging on (to a temporary file)")
    parser.add_argument("--floor", action="store_true",
                        help="also load grpcio with a constant answer and no work "
                             "(grpc_floor.py): the transport's own cost")
    parser.add_argument("--rates", default="", metavar="R,R,...",
                        help="also Check latency at these fixed calls/s (32 connections)")
    parser.add_argument("--json", metavar="FILE", help="also write every row as JSON")
    args = parser.parse_args()
    phases = [*PHASES, *(f"Check at {int(float(r))}/s" for r in args.rates.split(",") if r)]

    items = workload()
    print(f"workload: {len(items)} distinct requests (users x actions x resources x mfa); "
          f"{os.cpu_count()} CPUs, shared with whatever else runs; load average "
          f"{os.getloadavg()[0]:.2f} at the start; loopback only", flush=True)
    tmp = Path(tempfile.mkdtemp(prefix="bench-sidecar-"))
    targets: list[Target] = []
    stops = []
    try:
        targets.append(start_plainpdp(args, items, tmp))
        stops.append(targets[-1].server.stop)
        if args.cerbos:
            from cerbos_compare import start_cerbos  # benchmarks/cerbos_compare.py

            target, stop = start_cerbos(args, items, Server, Target, free_port)
            stops.append(stop)
            targets.append(target)
        if args.floor:
            targets.append(start_floor(args, targets[0]))
            stops.append(targets[-1].server.stop)
        rows: list[dict] = []
        for n in range(args.repeat):
            print(f"round {n + 1} of {args.repeat}:", flush=True)
            peaks: dict[str, tuple[float, int]] = {}  # calls/s, concurrency
            for phase in phases:
                for t in targets:
                    r = run_phase(t, phase, args, *peaks.get(t.name, (0.0, 8)))
                    if phase.startswith("Check c"):
                        peaks[t.name] = max(peaks.get(t.name, (0.0, 8)),
                                            (r["decisions_per_s"], int(phase[7:])))
                    rows.append({**r, "round": n + 1})
    finally:
        for stop in stops:
            stop()
        if args.decision_log:
            print(f"decision logs: {tmp}", flush=True)
        else:
            shutil.rmtree(tmp, ignore_errors=True)
    print(f"\nload average {os.getloadavg()[0]:.2f} at the end\n")
    print(table(rows, [t.name for t in targets]))
    if args.json:
        Path(args.json).write_text(json.dumps(rows, indent=2), encoding="utf-8")
    return 0


def medians(rows: list[dict], engine: str, phase: str) -> dict:
    mine = [r for r in rows if r["engine"] == engine and r["phase"] == phase]
    keys = ("decisions_per_s", "p50_ms", "p99_ms", "server_us_per_decision",
            "client_us_per_decision", "server_cpu_s", "client_cpu_s")
    out = {k: statistics.median(r[k] for r in mine) for k in keys}
    out["errors"] = sum(r["errors"] for r in mine)
    if "rate" in mine[0]:
        out["rate"] = statistics.median(r["rate"] for r in mine)
    return out


def table(rows: list[dict], engines: list[str]) -> str:
    phases = list(dict.fromkeys(r["phase"] for r in rows))
    lines = ["| phase | engine | decisions/s | p50 ms | p99 ms | server CPU µs/decision "
             "| client CPU µs/decision | server CPU s | client CPU s | errors |",
             "|" + "---|" * 10]
    for phase in phases:
        for engine in engines:
            m = medians(rows, engine, phase)
            label = phase + (f" ({m['rate']:.0f}/s)" if "rate" in m else "")
            lines.append(
                f"| {label} | {engine} | {m['decisions_per_s']:.0f} | {m['p50_ms']:.2f} "
                f"| {m['p99_ms']:.2f} | {m['server_us_per_decision']:.0f} "
                f"| {m['client_us_per_decision']:.0f} | {m['server_cpu_s']:.1f} "
                f"| {m['client_cpu_s']:.1f} | {m['errors']} |")
    if len(engines) >= 2:
        a, b = engines[:2]
        lines += ["", f"| phase | {a} ÷ {b}, decisions/s | {b} ÷ {a}, p50 | {b} ÷ {a}, p99 |",
                  "|---|---|---|---|"]
        for phase in phases:
            x, y = medians(rows, a, phase), medians(rows, b, phase)
            lines.append(f"| {phase} | {x['decisions_per_s'] / y['decisions_per_s']:.2f} "
                         f"| {y['p50_ms'] / x['p50_ms']:.2f} | {y['p99_ms'] / x['p99_ms']:.2f} |")
    return "\n".join(lines)


if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    sys.exit(main())
