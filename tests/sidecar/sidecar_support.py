"""Helpers for the sidecar tests: a real ``plainpdp serve`` on a free loopback port.

Every server is a subprocess in its own process group, started from a
temporary directory holding a copy of the example ``policies/`` (so hot
reload tests can edit it), and killed with its workers when the test ends.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc

from plainpdp._generated.plainpdp.v1 import authorization_pb2 as pb
from plainpdp._generated.plainpdp.v1 import authorization_pb2_grpc as pb_grpc
from plainpdp._generated.plainpdp.v1 import values_pb2 as vpb

ROOT = Path(__file__).resolve().parents[2]
POLICIES = ROOT / "policies"
LOOPBACK = "127.0.0.1"
SERVICE = "plainpdp.v1.AuthorizationService"


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((LOOPBACK, 0))
        return s.getsockname()[1]


def serve_command() -> list[str]:
    """``plainpdp serve`` run by this interpreter."""
    return [sys.executable, "-m", "plainpdp", "serve"]


def channel(target: str) -> grpc.Channel:
    # a private subchannel pool: a new TCP connection per channel, so the
    # kernel can hand it to any of the workers
    return grpc.insecure_channel(target, options=[("grpc.use_local_subchannel_pool", 1)])


def kubernetes_update(volume: Path, source: Path) -> Path:
    """Lay ``source`` into ``volume`` as the kubelet does for a ConfigMap volume.

    A new hidden ``..<version>/`` directory, a ``..data`` symlink swapped to
    it atomically, and top-level symlinks through ``..data``. Returns the
    version directory.
    """
    version = volume / f"..{time.time_ns()}"
    shutil.copytree(source, version)
    tmp = volume / "..data_tmp"
    tmp.symlink_to(version.name)
    os.replace(tmp, volume / "..data")
    for entry in source.iterdir():
        link = volume / entry.name
        if not link.is_symlink():
            link.symlink_to(Path("..data") / entry.name)
    return version


def uid(t: str, i: str) -> vpb.EntityUid:
    return vpb.EntityUid(type=t, id=i)


def check(principal: tuple, action: str, resource: tuple, *, mfa: bool = True,
          **context: vpb.Value) -> pb.CheckRequest:
    fields = {"mfa": vpb.Value(bool_value=mfa), **context}
    return pb.CheckRequest(
        principal=uid(*principal),
        action=uid("Action", action),
        resource=uid(*resource),
        context=vpb.Record(fields=fields),
    )


class Sidecar:
    """One ``plainpdp serve`` subprocess and what it writes."""

    def __init__(self, workdir: Path, *, workers: int = 1, drain: float = 0.0,
                 grace: float = 5.0, reload_interval: float = 0.2,
                 mask: tuple[str, ...] = ("source_ip",), extra: tuple[str, ...] = (),
                 config_extra: str = "", server_extra: str = "",
                 kubernetes_volume: bool = False):
        self.dir = workdir
        self.policies = workdir / "policies"
        if kubernetes_volume:
            self.policies.mkdir()
            kubernetes_update(self.policies, POLICIES)
        elif not self.policies.exists():
            shutil.copytree(POLICIES, self.policies)
        self.port = free_port()
        self.metrics_port = free_port()
        self.target = f"{LOOPBACK}:{self.port}"
        self.config = workdir / "plainpdp.toml"
        self.config.write_text(
            f"""
[server]
listen = "{self.target}"
workers = {workers}
drain_seconds = {drain}
shutdown_grace_seconds = {grace}
max_batch = 1000
max_request_bytes = 65536
{server_extra}

[policies]
reload_interval_seconds = {reload_interval}

[decision_log]
path = "decisions-{{pid}}.jsonl"
mask_fields = {json.dumps(list(mask))}

[metrics]
listen = "{LOOPBACK}:{self.metrics_port}"
{config_extra}
""",
            encoding="utf-8",
        )
        self.stderr_path = workdir / "sidecar.stderr"
        self._stderr = open(self.stderr_path, "wb")  # noqa: SIM115 - closed in stop()
        # no --policies: the default is policies/ under the working directory
        self.proc = subprocess.Popen(
            [*serve_command(), "--config", str(self.config), *extra],
            cwd=workdir,
            stdout=subprocess.DEVNULL,
            stderr=self._stderr,
            start_new_session=True,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )
        self.channels: list[grpc.Channel] = []

    # ------------------------------------------------------------ talking to it

    def channel(self) -> grpc.Channel:
        ch = channel(self.target)
        self.channels.append(ch)
        return ch

    def stub(self) -> pb_grpc.AuthorizationServiceStub:
        return pb_grpc.AuthorizationServiceStub(self.channel())

    def health(self, service: str = "") -> int:
        stub = health_pb2_grpc.HealthStub(self.channel())
        return stub.Check(health_pb2.HealthCheckRequest(service=service), timeout=2).status

    def wait_serving(self, timeout: float = 30.0) -> None:
        deadline = time.monotonic() + timeout
        ch = channel(self.target)
        stub = health_pb2_grpc.HealthStub(ch)
        try:
            while time.monotonic() < deadline:
                if self.proc.poll() is not None:
                    raise AssertionError(
                        f"sidecar exited with {self.proc.returncode}:\n{self.stderr()}"
                    )
                try:
                    status = stub.Check(health_pb2.HealthCheckRequest(), timeout=1).status
                    if status == health_pb2.HealthCheckResponse.SERVING:
                        return
                except grpc.RpcError:
                    pass
                time.sleep(0.05)
        finally:
            ch.close()
        raise AssertionError(f"sidecar not SERVING after {timeout}s:\n{self.stderr()}")

    def metrics(self) -> str:
        url = f"http://{LOOPBACK}:{self.metrics_port}/metrics"
        with urllib.request.urlopen(url, timeout=5) as r:  # noqa: S310 - loopback only
            return r.read().decode()

    def metric(self, name: str) -> float:
        """The sum of every sample named ``name`` (any labels)."""
        total, found = 0.0, False
        for line in self.metrics().splitlines():
            if line.startswith("#"):
                continue
            key, _, value = line.rpartition(" ")
            if key == name or key.startswith(name + "{"):
                total += float(value)
                found = True
        return total if found else 0.0

    def stderr(self) -> str:
        self._stderr.flush()
        return self.stderr_path.read_text(encoding="utf-8", errors="replace")

    def decision_lines(self) -> list[dict]:
        lines = []
        for path in sorted(self.dir.glob("decisions-*.jsonl")):
            for line in path.read_text(encoding="utf-8").splitlines():
                lines.append(json.loads(line))
        return lines

    def wait_for(self, predicate, timeout: float = 10.0, what: str = "condition"):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            value = predicate()
            if value:
                return value
            time.sleep(0.05)
        raise AssertionError(f"timed out waiting for {what}:\n{self.stderr()}")

    # ------------------------------------------------------------ stopping it

    def terminate(self) -> None:
        self.proc.send_signal(signal.SIGTERM)

    def wait(self, timeout: float = 20.0) -> int:
        return self.proc.wait(timeout)

    def stop(self) -> None:
        for ch in self.channels:
            ch.close()
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                pass
        try:  # the group we created: the server and its workers, nothing else
            os.killpg(self.proc.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
        if self.proc.poll() is None:
            self.proc.wait(5)
        self._stderr.close()
