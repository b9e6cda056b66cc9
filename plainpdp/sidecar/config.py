"""The sidecar's configuration: defaults, then a config file, then flags.

The file is TOML (``tomllib``) or, for ``.yaml``/``.yml``, YAML when
PyYAML is installed. Unknown keys are errors, so a typo never silently
falls back to a default. ``sidecar/plainpdp.toml`` is the documented
example.
"""

from __future__ import annotations

import dataclasses
import json
import os
import re
import tomllib
from collections.abc import MutableMapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import PlainPDPError

DEFAULT_LISTEN = "127.0.0.1:50051"


class ConfigError(PlainPDPError):
    """A sidecar configuration that cannot be used as given."""


DEFAULT_GRPC_EXPERIMENTS = (
    "-event_engine_listener,-event_engine_for_all_other_endpoints,-event_engine_callback_cq"
)
_EXPERIMENTS = re.compile(r"(-?[a-z0-9_]+)(,-?[a-z0-9_]+)*")


@dataclass
class ServerConfig:
    listen: str = DEFAULT_LISTEN
    # worker processes sharing the port (SO_REUSEPORT); 0 = one per core
    workers: int = 1
    # handler threads per worker: calls beyond this wait their turn; each
    # open health Watch stream holds one while it lasts; admin calls may use
    # at most half (more at once are RESOURCE_EXHAUSTED, retry-after 1)
    threads: int = 8
    # a request larger than this is INVALID_ARGUMENT; gRPC itself refuses
    # (RESOURCE_EXHAUSTED) anything over twice this before parsing it
    max_request_bytes: int = 4 * 1024 * 1024
    max_batch: int = 1000
    max_value_depth: int = 32
    page_size_default: int = 100
    page_size_max: int = 1000
    # after SIGTERM: health says NOT_SERVING at once; new calls are still
    # accepted for drain_seconds (so load balancers notice), then in-flight
    # calls get up to shutdown_grace_seconds to finish
    drain_seconds: float = 0.0
    shutdown_grace_seconds: float = 10.0
    # send the answering worker's pid as trailing metadata x-plainpdp-worker
    worker_metadata: bool = True
    # gRPC core experiments for the worker processes (the GRPC_EXPERIMENTS
    # environment variable, which wins when it is set; "" leaves gRPC's
    # defaults). The default turns off the event engine's listener and
    # endpoints: with them, every call hops between its threads and the
    # handler's, and a worker spent 20-40% more CPU per call
    # (benchmarks/sidecar_load.py)
    grpc_experiments: str = DEFAULT_GRPC_EXPERIMENTS


@dataclass
class PoliciesConfig:
    dir: str = "policies"
    # default: <dir>/entities.json when present
    entities: str = ""
    # default: the one *.cedarschema in <dir>
    schema: str = ""
    # seconds between checks for changed files; 0 turns hot reload off
    reload_interval_seconds: float = 2.0


@dataclass
class DecisionLogConfig:
    enabled: bool = True
    # "-" for standard output, "" to discard, or a file path (appended);
    # "{pid}" in a path becomes the worker's process id
    path: str = "-"
    # lines waiting for the writer; when full, lines are dropped and counted
    queue_size: int = 10000
    # context (and request entity attribute) names whose values are masked,
    # at any depth
    mask_fields: list[str] = field(default_factory=list)
    # include request entities in the log line
    request_entities: bool = True


@dataclass
class MetricsConfig:
    # "" turns the Prometheus endpoint off
    listen: str = ""


@dataclass
class LoggingConfig:
    level: str = "info"


@dataclass
class AdminConfig:
    # the partner admin store (SQLite file): entities come from it and the
    # PartnerAdminService runs on it. "" or "off": none (entities from the
    # files); "auto": .plainpdp/store.sqlite in the working directory, seeded
    # from the entities file, or none if it cannot be created; else a path.
    # `plainpdp serve` uses "auto" unless --store or this key says otherwise.
    store: str = ""
    # how often a worker looks for changes other processes committed
    poll_seconds: float = 0.2


@dataclass
class SidecarConfig:
    server: ServerConfig = field(default_factory=ServerConfig)
    policies: PoliciesConfig = field(default_factory=PoliciesConfig)
    decision_log: DecisionLogConfig = field(default_factory=DecisionLogConfig)
    metrics: MetricsConfig = field(default_factory=MetricsConfig)
    logging: LoggingConfig = field(default_factory=LoggingConfig)
    admin: AdminConfig = field(default_factory=AdminConfig)

    # ------------------------------------------------------------ reading

    @classmethod
    def load(cls, path: str | Path | None) -> SidecarConfig:
        """Defaults, overlaid with the file at ``path`` when given."""
        config = cls()
        if path is None:
            return config
        path = Path(path)
        try:
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as err:
            raise ConfigError(f"cannot read config {path}: {err}") from None
        data = _parse(path, text)
        config.apply(data, origin=str(path))
        # relative paths in a file are relative to the file
        base = path.resolve().parent
        for section, key in (("policies", "dir"), ("policies", "entities"), ("policies", "schema")):
            value = getattr(getattr(config, section), key)
            if value and key in data.get(section, {}) and not Path(value).is_absolute():
                setattr(getattr(config, section), key, str(base / value))
        log_path = config.decision_log.path
        if (
            "path" in data.get("decision_log", {})
            and log_path not in ("", "-")
            and not Path(log_path).is_absolute()
        ):
            config.decision_log.path = str(base / log_path)
        store = config.admin.store
        if "store" in data.get("admin", {}) and store not in ("", "off", "auto") \
                and not Path(store).is_absolute():
            config.admin.store = str(base / store)
        config.validate()
        return config

    def apply(self, data: dict[str, Any], *, origin: str) -> None:
        if not isinstance(data, dict):
            raise ConfigError(f"{origin}: expected a table of sections")
        for section, values in data.items():
            target = getattr(self, section, None) if section in _SECTIONS else None
            if target is None:
                raise ConfigError(
                    f"{origin}: unknown section [{section}]; known: {', '.join(_SECTIONS)}"
                )
            if not isinstance(values, dict):
                raise ConfigError(f"{origin}: [{section}] must be a table")
            fields = {f.name: f for f in dataclasses.fields(target)}
            for key, value in values.items():
                f = fields.get(key)
                if f is None:
                    raise ConfigError(
                        f"{origin}: unknown key {section}.{key}; "
                        f"known: {', '.join(sorted(fields))}"
                    )
                setattr(target, key, _coerce(f"{section}.{key}", getattr(target, key), value, origin))

    def validate(self) -> None:
        s = self.server
        parse_address(s.listen, "server.listen")
        if self.metrics.listen:
            parse_address(self.metrics.listen, "metrics.listen")
        for name in ("threads", "max_request_bytes", "max_batch", "max_value_depth", "page_size_default",
                     "page_size_max"):
            if getattr(s, name) < 1:
                raise ConfigError(f"server.{name} must be at least 1")
        if s.workers < 0:
            raise ConfigError("server.workers must be 0 (one per core) or more")
        if s.grpc_experiments and not _EXPERIMENTS.fullmatch(s.grpc_experiments):
            raise ConfigError(
                f"server.grpc_experiments: {s.grpc_experiments!r} is not a comma-separated "
                "list of gRPC experiment names, each optionally prefixed with '-'"
            )
        if s.drain_seconds < 0 or s.shutdown_grace_seconds < 0:
            raise ConfigError("server.drain_seconds and shutdown_grace_seconds cannot be negative")
        if self.decision_log.queue_size < 1:
            raise ConfigError("decision_log.queue_size must be at least 1")
        if self.policies.reload_interval_seconds < 0:
            raise ConfigError("policies.reload_interval_seconds cannot be negative")
        if self.admin.poll_seconds <= 0:
            raise ConfigError("admin.poll_seconds must be more than 0")

    def grpc_environment(self, environ: MutableMapping[str, str] | None = None) -> None:
        """Put ``server.grpc_experiments`` into ``environ`` (default: this
        process's) unless GRPC_EXPERIMENTS is already set there. gRPC reads
        it once, when ``grpc`` is imported: call this before that import
        (worker processes get it in the environment they start with)."""
        env = os.environ if environ is None else environ
        if self.server.grpc_experiments and "GRPC_EXPERIMENTS" not in env:
            env["GRPC_EXPERIMENTS"] = self.server.grpc_experiments

    @property
    def worker_count(self) -> int:
        return self.server.workers or usable_cpus()

    def to_json(self) -> str:
        return json.dumps(dataclasses.asdict(self))

    @classmethod
    def from_json(cls, text: str) -> SidecarConfig:
        config = cls()
        config.apply(json.loads(text), origin="<worker config>")
        return config


_SECTIONS = ("server", "policies", "decision_log", "metrics", "logging", "admin")


def _parse(path: Path, text: str) -> dict[str, Any]:
    if path.suffix in (".yaml", ".yml"):
        try:
            import yaml
        except ImportError:
            raise ConfigError(
                f"{path}: YAML config needs PyYAML (pip install PyYAML), or use TOML"
            ) from None
        try:
            data = yaml.safe_load(text)
        except yaml.YAMLError as err:
            raise ConfigError(f"{path}: not valid YAML: {err}") from None
        return data or {}
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as err:
        raise ConfigError(f"{path}: not valid TOML: {err}") from None


def _coerce(name: str, current: Any, value: Any, origin: str) -> Any:
    kind = type(current)
    if kind is bool:
        if isinstance(value, bool):
            return value
    elif kind is int:
        if isinstance(value, int) and not isinstance(value, bool):
            return value
    elif kind is float:
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return float(value)
    elif kind is str:
        if isinstance(value, str):
            return value
    elif kind is list:
        if isinstance(value, list) and all(isinstance(v, str) for v in value):
            return list(value)
    raise ConfigError(f"{origin}: {name} must be a {_KIND_NAMES.get(kind, kind.__name__)}, "
                      f"got {value!r}")


_KIND_NAMES = {bool: "boolean", int: "integer", float: "number", str: "string",
               list: "list of strings"}


def usable_cpus() -> int:
    """CPUs this process may use: its affinity, capped by a cgroup v2 CPU quota."""
    try:
        count = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        count = os.cpu_count() or 1
    try:
        quota, period = Path("/sys/fs/cgroup/cpu.max").read_text().split()[:2]
        if quota != "max":
            count = min(count, max(1, -(-int(quota) // int(period))))
    except (OSError, ValueError):
        pass
    return max(1, count)


def parse_address(text: str, what: str) -> tuple[str, int]:
    """``HOST:PORT`` (``[::1]:PORT`` for IPv6) -> (host, port)."""
    host, sep, port = text.rpartition(":")
    if not sep or not host or not port.isdigit() or not 0 <= int(port) <= 65535:
        raise ConfigError(f"{what}: {text!r} is not HOST:PORT, e.g. 127.0.0.1:50051")
    return host.strip("[]"), int(port)
