"""The console as an ASGI app: routes, static files, security headers, access log.

``create_app(service)`` builds it over an open :class:`~plainpdp.admin.AdminService`;
``plainpdp console`` serves it with uvicorn. The access log is this module's
own (uvicorn's is off) so that a one-time link's token never reaches a log.
"""

from __future__ import annotations

import logging
import time
from pathlib import Path

from starlette.applications import Starlette
from starlette.routing import Mount
from starlette.staticfiles import StaticFiles
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from ..admin import AdminService
from .security import CookiePolicy, CsrfGuard, redact_path
from .views import ROUTES
from .web import Console

log = logging.getLogger("plainpdp.console.access")

STATIC = Path(__file__).parent / "static"
SECURITY_HEADERS = [
    (b"content-security-policy",
     b"default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; "
     b"frame-ancestors 'none'; base-uri 'none'"),
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"no-referrer"),
    (b"cache-control", b"no-store"),
]


class Hardened:
    """Adds the security headers to every response and logs each request (tokens redacted)."""

    def __init__(self, app: ASGIApp):
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.monotonic()
        status = 500

        async def send_with_headers(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                names = {k.lower() for k, _ in message.get("headers", [])}
                message["headers"] = list(message.get("headers", [])) + [
                    (k, v) for k, v in SECURITY_HEADERS
                    if k not in names and not (k == b"cache-control"
                                               and scope["path"].startswith("/static/"))]
            await send(message)

        try:
            await self.app(scope, receive, send_with_headers)
        finally:
            log.info("%s %s %s %.0fms", scope["method"], redact_path(scope["path"]), status,
                     (time.monotonic() - started) * 1000)


def create_app(service: AdminService, *, cookies: CookiePolicy | None = None,
               csrf: CsrfGuard | None = None) -> ASGIApp:
    """The console over ``service``; ``cookies`` says how session cookies are sent."""
    app = Starlette(routes=[*ROUTES, Mount("/static", StaticFiles(directory=STATIC),
                                           name="static")])
    app.state.console = Console(service, cookies or CookiePolicy(), csrf or CsrfGuard())
    return Hardened(app)
