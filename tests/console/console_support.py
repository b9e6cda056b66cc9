"""Helpers for the console tests: the server in a thread, and a browserless client."""

from __future__ import annotations

import re
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
import uvicorn
from support import ROOT

from plainpdp.admin import DEMO_PASSWORD, AdminService
from plainpdp.console import CookiePolicy, create_app

POLICIES = ROOT / "policies"
CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


@dataclass
class Served:
    """A running console and the service behind it."""

    url: str
    service: AdminService
    store: Path


def free_socket() -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    return sock


@contextmanager
def serve(service: AdminService, cookies: CookiePolicy | None = None) -> Iterator[str]:
    """Run the console with uvicorn in a thread until the caller is done."""
    sock = free_socket()
    port = sock.getsockname()[1]
    config = uvicorn.Config(create_app(service, cookies=cookies), log_level="warning",
                            access_log=False, lifespan="off")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 15
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("the console did not start")
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(15)
        sock.close()


# ---------------------------------------------------------------- plain HTTP clients


class Browserless:
    """An HTTP client with a cookie jar, for the attack tests: forms posted by hand."""

    def __init__(self, url: str):
        self.http = httpx.Client(base_url=url, follow_redirects=False, timeout=30)

    def get(self, path: str) -> httpx.Response:
        return self.http.get(path)

    def csrf(self, path: str) -> str:
        page = self.http.get(path)
        found = CSRF.search(page.text)
        assert found, f"no CSRF token on {path} ({page.status_code})"
        return found.group(1)

    def post(self, path: str, data: dict | list, *, csrf_from: str | None = None
             ) -> httpx.Response:
        fields = list(data.items()) if isinstance(data, dict) else list(data)
        if csrf_from is not None:
            fields.append(("csrf_token", self.csrf(csrf_from)))
        return self.http.post(path, data=_multi(fields))

    def sign_in(self, user: str, password: str = DEMO_PASSWORD) -> httpx.Response:
        response = self.post("/sign-in", {"user": user, "password": password},
                             csrf_from="/sign-in")
        assert response.status_code == 303, response.text
        return response

    def close(self) -> None:
        self.http.close()


def _multi(fields: list[tuple[str, str]]) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for key, value in fields:
        out.setdefault(key, []).append(value)
    return out
