"""``plainpdp serve``: run the gRPC sidecar in the foreground.

Flags override the config file, which overrides the defaults. With no
flags it serves ``policies/`` (relative to the current directory) on
127.0.0.1:50051, with the partner admin store ``.plainpdp/store.sqlite``
(created and seeded from ``policies/entities.json`` on first run). gRPC
is imported only when the command runs, so the rest of the CLI and the
library never load it.
"""

from __future__ import annotations

import argparse

from ..errors import PlainPDPError


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "serve",
        help="run the gRPC sidecar (authorization service, health, reflection, metrics)",
        description="Run the gRPC sidecar until SIGTERM. Flags override --config.",
    )
    add_arguments(p)


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--config", metavar="FILE",
                   help="TOML (or YAML) config; see sidecar/plainpdp.toml")
    p.add_argument("--listen", metavar="HOST:PORT",
                   help="gRPC address (default 127.0.0.1:50051)")
    p.add_argument("--metrics-listen", metavar="HOST:PORT",
                   help="Prometheus /metrics address (default: off)")
    p.add_argument("--policies", metavar="DIR", help="policy directory (default: policies)")
    p.add_argument("--entities", metavar="FILE",
                   help="Cedar JSON entities (default: DIR/entities.json if present)")
    p.add_argument("--schema", metavar="FILE",
                   help="Cedar schema (default: the *.cedarschema in DIR)")
    p.add_argument("--workers", type=int, metavar="N",
                   help="worker processes sharing the port (0 = one per core; default 1)")
    p.add_argument("--decision-log", metavar="PATH",
                   help='decision log: "-" stdout (default), "" off, or a file')
    p.add_argument("--reload-interval", type=float, metavar="SECONDS",
                   help="seconds between checks for changed files; 0 = no hot reload")
    p.add_argument("--log-level", choices=("debug", "info", "warning", "error"),
                   help="the sidecar's own log level (default info)")
    p.add_argument("--store", metavar="PATH",
                   help="partner admin store (SQLite): entities come from it and the "
                   "PartnerAdminService runs on it; created and seeded from the entities "
                   "file on first run (default: .plainpdp/store.sqlite; \"off\": none)")
    p.set_defaults(run=run)


def build_config(args: argparse.Namespace):
    from ..sidecar.config import SidecarConfig

    config = SidecarConfig.load(args.config)
    overrides = {
        ("server", "listen"): args.listen,
        ("server", "workers"): args.workers,
        ("metrics", "listen"): args.metrics_listen,
        ("policies", "dir"): args.policies,
        ("policies", "entities"): args.entities,
        ("policies", "schema"): args.schema,
        ("policies", "reload_interval_seconds"): args.reload_interval,
        ("logging", "level"): args.log_level,
        ("admin", "store"): args.store,
    }
    if args.store is None and not config.admin.store:
        overrides[("admin", "store")] = "auto"  # the admin store by default (issue 6)
    data: dict = {}
    for (section, key), value in overrides.items():
        if value is not None:
            data.setdefault(section, {})[key] = value
    if args.decision_log is not None:
        data.setdefault("decision_log", {}).update(
            {"enabled": bool(args.decision_log), "path": args.decision_log}
        )
    config.apply(data, origin="command line")
    config.validate()
    return config


def run(args: argparse.Namespace) -> int:
    config = build_config(args)
    config.grpc_environment()  # before grpc is imported: it reads this once
    try:
        from ..sidecar.server import serve
    except ImportError as err:
        raise PlainPDPError(
            f"plainpdp serve needs the sidecar dependencies ({err.name} is missing); "
            "install them with: pip install 'plainpdp[sidecar]'"
        ) from None
    return serve(config)
