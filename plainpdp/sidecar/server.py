"""The sidecar process: workers, health, reflection, signals, supervisor.

One **worker** is one gRPC server with a thread pool (grpcio's threaded
server costs about half the CPU per call of its asyncio server, and every
handler is short or already ran its work in a thread): it binds the port,
answers health NOT_SERVING while the first snapshot loads, then SERVING;
it watches the files and swaps snapshots; on SIGTERM it turns NOT_SERVING,
stops taking new calls and finishes the calls in flight.

With ``workers > 1`` the process that was started is a **supervisor**: it
starts that many worker processes that all bind the same port
(``SO_REUSEPORT``; the kernel spreads connections across them), serves the
summed metrics, forwards SIGTERM and restarts a worker that dies.

Services are listed once in :data:`SERVICES`; adding one (the partner
admin service) is one more entry: health, reflection and status handling
follow from the list.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import grpc
from grpc_health.v1 import health, health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection

from .._generated.plainpdp.v1 import authorization_pb2 as pb
from .config import ConfigError, SidecarConfig, parse_address
from .decision_log import DecisionLog, NullLog, file_writer
from .metrics import Metrics, multiprocess_registry, start_metrics_server
from .reload import Reloader, Source, describe
from .service import add_to_server as add_authorization

log = logging.getLogger("plainpdp.sidecar")

CONFIG_ENV = "PLAINPDP_SIDECAR_CONFIG"
EXIT_BAD_INPUT = 2
EXIT_BIND = 3


@dataclass(frozen=True)
class ServiceSpec:
    """One gRPC service the sidecar serves."""

    name: str  # full name, e.g. plainpdp.v1.AuthorizationService
    add: Callable[[Any, Worker], None]


def _add_partner_admin(server: Any, worker: Worker) -> None:
    from .admin_service import add_to_server  # partner admin (issue 6)

    add_to_server(server, worker)


SERVICES: tuple[ServiceSpec, ...] = (
    ServiceSpec(pb.DESCRIPTOR.services_by_name["AuthorizationService"].full_name,
                add_authorization),
    ServiceSpec("plainpdp.v1.PartnerAdminService", _add_partner_admin),
)


class Worker:
    """One gRPC server process (or, in tests, one server in this process)."""

    def __init__(
        self,
        config: SidecarConfig,
        *,
        source: Source | None = None,
        metrics: Metrics | None = None,
        log_writer: Callable[[bytes], None] | None = None,
        reuse_port: bool = False,
    ):
        self.config = config
        p = config.policies
        self.source = source or Source(p.dir, p.entities or None, p.schema or None)
        self.metrics = metrics or Metrics()
        self.reloader = Reloader(
            self.source,
            interval=p.reload_interval_seconds,
            on_reload=self._reloaded,
            on_failure=self._reload_failed,
        )
        if config.admin.store and source is None:  # partner admin store (issue 6)
            from .admin_service import store_reloader

            self.reloader = store_reloader(self, self.reloader)
        dl = config.decision_log
        writer = log_writer
        if writer is None and dl.enabled and dl.path:
            writer = file_writer(dl.path)
        self.decision_log: DecisionLog | NullLog = NullLog()
        if writer is not None:
            self.decision_log = DecisionLog(
                writer,
                queue_size=dl.queue_size,
                mask_fields=dl.mask_fields,
                request_entities=dl.request_entities,
                on_dropped=self.metrics.log_dropped.inc,
                on_written=self.metrics.log_written.inc,
            )
        self.reuse_port = reuse_port
        self.health = health.HealthServicer()
        self.server: Any = None
        self.port: int | None = None
        self.stopped = threading.Event()
        self._stopping = False
        self._stop_lock = threading.Lock()
        self._cut = threading.Event()  # a second SIGTERM: no more drain or grace

    # ------------------------------------------------------------ lifecycle

    def start(self) -> int:
        """Bind and start answering (NOT_SERVING until :meth:`load` succeeds)."""
        s = self.config.server
        hard = 2 * s.max_request_bytes + 1024
        self.server = grpc.server(
            ThreadPoolExecutor(s.threads, thread_name_prefix="grpc"),
            options=[
                ("grpc.so_reuseport", 1 if self.reuse_port else 0),
                ("grpc.max_receive_message_length", hard),
                ("grpc.max_send_message_length", max(hard, 64 * 1024 * 1024)),
            ],
        )
        for spec in SERVICES:
            spec.add(self.server, self)
        health_pb2_grpc.add_HealthServicer_to_server(self.health, self.server)
        names = [spec.name for spec in SERVICES]
        reflection.enable_server_reflection(
            (*names, health_pb2.DESCRIPTOR.services_by_name["Health"].full_name,
             reflection.SERVICE_NAME),
            self.server,
        )
        for name in ("", *names):
            self.health.set(name, health_pb2.HealthCheckResponse.NOT_SERVING)
        host, port = parse_address(s.listen, "server.listen")
        target = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
        try:
            bound = self.server.add_insecure_port(target)
        except RuntimeError as err:
            raise OSError(f"cannot listen on {s.listen}: {err}") from None
        if not bound:
            raise OSError(f"cannot listen on {s.listen}")
        self.port = bound
        self.server.start()
        log.info("worker %d listening on %s:%d", os.getpid(), host, bound)
        return bound

    def load(self) -> None:
        """Load the first snapshot, then turn SERVING (unless already shutting down)."""
        snap = self.reloader.load_initial()
        self._reloaded(snap, initial=True)
        with self._stop_lock:
            if self._stopping:
                return
            self.reloader.start()
            for name in ("", *(spec.name for spec in SERVICES)):
                self.health.set(name, health_pb2.HealthCheckResponse.SERVING)

    def shutdown(self) -> None:
        """NOT_SERVING, drain, finish calls in flight, flush the decision log."""
        with self._stop_lock:
            if self._stopping:
                return
            self._stopping = True
            self.health.enter_graceful_shutdown()
        s = self.config.server
        log.info("worker %d shutting down: NOT_SERVING; draining %.1fs, grace %.1fs",
                 os.getpid(), s.drain_seconds, s.shutdown_grace_seconds)
        if s.drain_seconds:
            self._cut.wait(s.drain_seconds)
        if self.server is not None:
            done = self.server.stop(0 if self._cut.is_set() else s.shutdown_grace_seconds)
            while not done.wait(0.05):
                if self._cut.is_set():  # a second signal: stop the calls in flight now
                    done = self.server.stop(0)
                    done.wait(5)
                    break
        self.reloader.stop()
        self.decision_log.close()
        log.info("worker %d stopped", os.getpid())
        self.stopped.set()

    def cut_short(self) -> None:
        """Cut the drain and the grace short (a second SIGTERM)."""
        self._cut.set()

    # ------------------------------------------------------------ reload hooks

    def _reloaded(self, snap: Any, initial: bool = False) -> None:
        m = self.metrics
        if not initial:
            m.reloads.inc()
        m.reload_failing.set(0)
        m.snapshot_loaded.set(snap.loaded_at)
        m.policies_loaded.set(snap.policy_count)
        if initial:
            log.info("worker %d loaded policy version %s (%d policies)",
                     os.getpid(), snap.policy_version, snap.policy_count)

    def _reload_failed(self, _err: BaseException) -> None:
        self.metrics.reload_failures.inc()
        self.metrics.reload_failing.set(1)


# ------------------------------------------------------------------ one worker process


def run_worker(config: SidecarConfig, *, reuse_port: bool, serve_metrics: bool) -> int:
    """Run one worker until SIGTERM/SIGINT; the process's exit code."""
    metrics = None
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        metrics = Metrics()  # values go to the shared files; the supervisor serves them
    worker = Worker(config, metrics=metrics, reuse_port=reuse_port)
    if serve_metrics and config.metrics.listen:
        host, port = parse_address(config.metrics.listen, "metrics.listen")
        bound = start_metrics_server(host, port, worker.metrics.registry)
        log.info("metrics on http://%s:%d/metrics", host, bound)
    try:
        worker.start()
    except OSError as err:
        log.error("%s", err)
        return EXIT_BIND
    stop = threading.Event()

    def on_signal(_signum: int, _frame: Any) -> None:
        if stop.is_set():  # a second signal while draining cuts the grace short
            worker.cut_short()
        stop.set()

    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, on_signal)
    failure: list[BaseException] = []

    def load() -> None:
        try:
            worker.load()
        except BaseException as err:  # noqa: BLE001 - reported by the main thread
            failure.append(err)
            stop.set()

    threading.Thread(target=load, name="initial-load", daemon=True).start()
    while not stop.wait(0.5):  # a timeout keeps the main thread answering signals
        pass
    if failure:
        log.error("cannot load the policies; not serving\n%s",
                  describe(failure[0], config.policies.dir))
        worker.server.stop(0).wait(5)
        worker.decision_log.close(1)
        return EXIT_BAD_INPUT
    worker.shutdown()
    return 0


def worker_main() -> int:
    """Entry point of a worker process started by the supervisor."""
    config = SidecarConfig.from_json(os.environ[CONFIG_ENV])
    setup_logging(config.logging.level)
    return run_worker(config, reuse_port=True, serve_metrics=False)


# ------------------------------------------------------------------ the supervisor


class Supervisor:
    """Starts N workers on one port, serves their metrics, forwards signals."""

    MAX_RESTARTS = 5  # per minute, then give up

    def __init__(self, config: SidecarConfig, workers: int):
        self.config = config
        self.count = workers
        self.procs: dict[int, subprocess.Popen] = {}
        self.signaled: set[int] = set()  # SIGTERM sent once: a second one cuts the grace
        self.stopping = False
        self.restarts: list[float] = []
        self.metrics_dir = tempfile.mkdtemp(prefix="plainpdp-metrics-")

    def _spawn(self) -> subprocess.Popen:
        env = dict(os.environ)
        self.config.grpc_environment(env)
        env[CONFIG_ENV] = self.config.to_json()
        env["PROMETHEUS_MULTIPROC_DIR"] = self.metrics_dir
        proc = subprocess.Popen(
            [sys.executable, "-c", "from plainpdp.sidecar.server import worker_main as m; "
             "raise SystemExit(m())"],
            env=env,
        )
        self.procs[proc.pid] = proc
        return proc

    def run(self) -> int:
        os.environ["PROMETHEUS_MULTIPROC_DIR"] = self.metrics_dir
        signal.signal(signal.SIGTERM, self._on_signal)
        signal.signal(signal.SIGINT, self._on_signal)
        try:
            if self.config.metrics.listen:
                host, port = parse_address(self.config.metrics.listen, "metrics.listen")
                bound = start_metrics_server(host, port, multiprocess_registry())
                log.info("metrics on http://%s:%d/metrics (%d workers)", host, bound, self.count)
            for _ in range(self.count):
                self._spawn()
            log.info("supervisor %d started %d workers on %s", os.getpid(), self.count,
                     self.config.server.listen)
            return self._watch()
        finally:
            self._stop_all()
            shutil.rmtree(self.metrics_dir, ignore_errors=True)

    def _on_signal(self, signum: int, _frame: Any) -> None:
        if self.stopping:  # second signal: stop now
            for proc in self.procs.values():
                _send(proc, signal.SIGKILL)
            return
        self.stopping = True
        self._terminate()

    def _terminate(self) -> None:
        for pid, proc in self.procs.items():
            if pid not in self.signaled:
                self.signaled.add(pid)
                _send(proc, signal.SIGTERM)

    def _watch(self) -> int:
        while True:
            if self.stopping:
                return 0
            for pid, proc in list(self.procs.items()):
                code = proc.poll()
                if code is None:
                    continue
                del self.procs[pid]
                _mark_dead(pid)
                if self.stopping:
                    continue
                if code in (EXIT_BAD_INPUT, EXIT_BIND):
                    log.error("worker %d exited with %d; stopping", pid, code)
                    self.stopping = True
                    self._terminate()
                    return code
                now = time.monotonic()
                self.restarts = [t for t in self.restarts if now - t < 60] + [now]
                if len(self.restarts) > self.MAX_RESTARTS:
                    log.error("workers keep dying (%d restarts in a minute); stopping",
                              len(self.restarts))
                    self.stopping = True
                    return 1
                new = self._spawn()
                log.warning("worker %d exited with %s; started %d", pid, code, new.pid)
            time.sleep(0.1)

    def _stop_all(self) -> None:
        s = self.config.server
        deadline = time.monotonic() + s.drain_seconds + s.shutdown_grace_seconds + 10
        self._terminate()
        for proc in list(self.procs.values()):
            try:
                proc.wait(max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                log.warning("worker %d did not stop in time; killing it", proc.pid)
                proc.kill()
                proc.wait()


def _send(proc: subprocess.Popen, sig: int) -> None:
    if proc.poll() is None:
        try:
            proc.send_signal(sig)
        except ProcessLookupError:
            pass


def _mark_dead(pid: int) -> None:
    try:
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(pid)
    except Exception:  # noqa: BLE001
        pass


# ------------------------------------------------------------------ entry point


def setup_logging(level: str) -> None:
    logging.basicConfig(
        level=getattr(logging, level.upper(), logging.INFO),
        format="%(asctime)s %(levelname)s plainpdp[%(process)d]: %(message)s",
        stream=sys.stderr,
    )


def serve(config: SidecarConfig) -> int:
    """Run the sidecar in the foreground until SIGTERM; the exit code."""
    setup_logging(config.logging.level)
    config.validate()
    workers = config.worker_count
    _host, port = parse_address(config.server.listen, "server.listen")
    if workers > 1 and port == 0:
        raise ConfigError("server.listen: several workers need a fixed port, not 0")
    root = Path(config.policies.dir)
    if not root.exists():
        raise ConfigError(
            f"policies: {root} does not exist; pass --policies DIR "
            "(the example project is policies/ in the plainpdp repository)"
        )
    log.info("plainpdp sidecar: policies %s, %d worker(s), config %s", root, workers,
             json.dumps({"listen": config.server.listen, "metrics": config.metrics.listen}))
    if workers == 1:
        return run_worker(config, reuse_port=False, serve_metrics=True)
    return Supervisor(config, workers).run()
