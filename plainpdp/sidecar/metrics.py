"""Prometheus metrics for the sidecar.

With one worker the worker serves ``/metrics`` itself. With several, each
worker writes its values to files in ``PROMETHEUS_MULTIPROC_DIR`` (set by
the supervisor before the workers start) and the supervisor serves the sum
(prometheus_client's multiprocess mode).
"""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

# Latency buckets from 50µs: a check takes tens of microseconds in-process.
LATENCY_BUCKETS = (
    0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25,
    0.5, 1.0, 2.5,
)


class Metrics:
    """Every metric the sidecar exports, registered in one registry."""

    def __init__(self, registry: CollectorRegistry | None = None):
        self.registry = registry if registry is not None else CollectorRegistry()
        r = self.registry
        self.decisions = Counter(
            "plainpdp_decisions",
            "Decisions made, by result (allow, deny; internal = deny after an internal error).",
            ["decision"],
            registry=r,
        )
        self.requests = Counter(
            "plainpdp_requests",
            "RPCs answered, by method and gRPC status code.",
            ["method", "code"],
            registry=r,
        )
        self.latency = Histogram(
            "plainpdp_request_duration_seconds",
            "Time to answer one RPC inside the server, by method.",
            ["method"],
            buckets=LATENCY_BUCKETS,
            registry=r,
        )
        self.reloads = Counter(
            "plainpdp_reloads", "Policy/entity reloads that succeeded.", registry=r
        )
        self.reload_failures = Counter(
            "plainpdp_reload_failures",
            "Reloads that failed (the last good snapshot kept serving).",
            registry=r,
        )
        self.reload_failing = Gauge(
            "plainpdp_reload_failing",
            "1 while the newest policy/entity files fail to load, else 0.",
            registry=r,
            multiprocess_mode="max",
        )
        self.snapshot_loaded = Gauge(
            "plainpdp_snapshot_loaded_timestamp_seconds",
            "When the serving snapshot was loaded (Unix time).",
            registry=r,
            multiprocess_mode="max",
        )
        self.policies_loaded = Gauge(
            "plainpdp_policies",
            "Policies in the serving snapshot.",
            registry=r,
            multiprocess_mode="max",
        )
        self.log_dropped = Counter(
            "plainpdp_decision_log_dropped",
            "Decision log lines dropped because the sink was too slow.",
            registry=r,
        )
        self.log_written = Counter(
            "plainpdp_decision_log_written", "Decision log lines written.", registry=r
        )
        # children with pre-bound labels: no label lookups on the hot path
        self.allow = self.decisions.labels("allow")
        self.deny = self.decisions.labels("deny")
        self.internal = self.decisions.labels("internal")
        self._latency_children: dict[str, object] = {}
        self._request_children: dict[tuple[str, str], object] = {}

    def observe(self, method: str, code: str, seconds: float) -> None:
        child = self._latency_children.get(method)
        if child is None:
            child = self._latency_children[method] = self.latency.labels(method)
        child.observe(seconds)  # type: ignore[attr-defined]
        key = (method, code)
        counter = self._request_children.get(key)
        if counter is None:
            counter = self._request_children[key] = self.requests.labels(method, code)
        counter.inc()  # type: ignore[attr-defined]


def start_metrics_server(host: str, port: int, registry: CollectorRegistry) -> int:
    """Serve ``/metrics`` on host:port in a daemon thread; returns the port."""
    from prometheus_client import start_http_server

    result = start_http_server(port, addr=host, registry=registry)
    server = result[0] if isinstance(result, tuple) else None
    return server.server_port if server is not None else port


def multiprocess_registry() -> CollectorRegistry:
    """The supervisor's registry: the sum over every worker's files."""
    from prometheus_client import multiprocess

    registry = CollectorRegistry()
    multiprocess.MultiProcessCollector(registry)
    return registry
