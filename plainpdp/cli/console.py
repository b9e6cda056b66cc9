"""``plainpdp console``: serve the delegated admin console in the foreground.

It opens the same store and policies as ``plainpdp admin`` (a new store is
seeded from DIR/entities.json; ``plainpdp admin seed --demo`` gives the demo
admins their password) and serves the pages with uvicorn, on loopback unless
told otherwise. The web stack is imported only when the command runs.
"""

from __future__ import annotations

import argparse
import logging

from ..errors import PlainPDPError

DEFAULT_LISTEN = "127.0.0.1:8080"


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "console",
        help="serve the delegated admin console (web pages over the admin store)",
        description="Serve the admin console until Ctrl-C. Every page and action is an admin "
        "operation authorized by the engine for the signed-in person.",
    )
    p.add_argument("--listen", default=DEFAULT_LISTEN, metavar="HOST:PORT",
                   help=f"address to serve on (default {DEFAULT_LISTEN}: this machine only)")
    p.add_argument("--store", metavar="PATH",
                   help="the SQLite admin store (default: $PLAINPDP_STORE or "
                   ".plainpdp/store.sqlite)")
    p.add_argument("--policies", default="policies", metavar="DIR",
                   help="policy directory; its entities.json seeds a new store (default: policies)")
    p.add_argument("--secure-cookies", action="store_true",
                   help="mark cookies Secure (and __Host-): use whenever the console is "
                   "reached over HTTPS, directly or through a proxy")
    p.add_argument("--log-level", default="info", choices=("debug", "info", "warning", "error"),
                   help="log level of the console's own log (default info)")
    p.set_defaults(run=run)


def parse_listen(text: str) -> tuple[str, int]:
    host, sep, port = text.rpartition(":")
    host = host.strip("[]")
    if not sep or not host or not port.isdigit() or not 0 <= int(port) <= 65535:
        raise PlainPDPError(f"--listen {text!r}: expected HOST:PORT, e.g. {DEFAULT_LISTEN}")
    return host, int(port)


def run(args: argparse.Namespace) -> int:
    host, port = parse_listen(args.listen)
    try:
        import uvicorn

        from ..console import CookiePolicy, create_app
    except ImportError as err:
        raise PlainPDPError(
            f"plainpdp console needs the console dependencies ({err.name} is missing); "
            "install them with: pip install 'plainpdp[console]'"
        ) from None
    from ..admin import AdminService

    logging.basicConfig(level=args.log_level.upper(), format="%(asctime)s %(name)s %(message)s")
    service = AdminService.open(args.store, args.policies)
    try:
        app = create_app(service, cookies=CookiePolicy(secure=args.secure_cookies))
        print(f"plainpdp console: http://{host if ':' not in host else f'[{host}]'}:{port}/ "
              f"(store {service.store.location}); Ctrl-C stops it", flush=True)
        uvicorn.run(app, host=host, port=port, access_log=False, log_level=args.log_level,
                    server_header=False)
    finally:
        service.close()
    return 0
