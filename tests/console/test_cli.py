"""``plainpdp console`` as a person runs it: seed the demo store, serve, sign in, stop.

The console runs as its own process (the README's commands); its log is
read afterwards to check that a one-time link's token never reaches it.
"""

from __future__ import annotations

import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
from console_support import CSRF, POLICIES, Browserless

from plainpdp.admin import DEMO_PASSWORD


def plainpdp(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "plainpdp", *args], cwd=cwd,
                          capture_output=True, text=True, timeout=120)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_console_serves_the_bundled_example_with_the_demo_admins(tmp_path):
    store = tmp_path / "store.sqlite"
    seeded = plainpdp("admin", "--store", str(store), "--policies", str(POLICIES), "seed",
                      "--demo", cwd=tmp_path)
    assert seeded.returncode == 0, seeded.stderr
    port = free_port()
    log = (tmp_path / "console.log").open("w")
    server = subprocess.Popen(
        [sys.executable, "-m", "plainpdp", "console", "--listen", f"127.0.0.1:{port}",
         "--store", str(store), "--policies", str(POLICIES)],
        cwd=tmp_path, stdout=log, stderr=subprocess.STDOUT, text=True)
    client = Browserless(f"http://127.0.0.1:{port}")
    try:
        deadline = time.monotonic() + 30
        while True:
            assert server.poll() is None, (tmp_path / "console.log").read_text()
            try:
                first = client.get("/sign-in")
                break
            except httpx.TransportError:
                assert time.monotonic() < deadline, "the console did not start within 30 s"
                time.sleep(0.1)
        assert first.status_code == 200 and "Sign in" in first.text
        assert "default-src 'none'" in first.headers["content-security-policy"]

        assert client.sign_in("dana", DEMO_PASSWORD).headers["location"] == "/"
        users = client.get("/partners/northwind-dist/users")
        assert users.status_code == 200 and "Erin Walsh" in users.text
        reset = client.post("/users/erin/password-reset", {}, csrf_from="/users/erin")
        link = reset.text.split('id="one-time-link">', 1)[1].split("<", 1)[0]
        token = link.rsplit("/", 1)[1]
        page = client.get(f"/reset/{token}")
        assert page.status_code == 200 and CSRF.search(page.text)
    finally:
        client.close()
        server.send_signal(signal.SIGINT)
        code = server.wait(30)
        log.close()
    output = (tmp_path / "console.log").read_text()
    assert code == 0, output
    assert f"http://127.0.0.1:{port}/" in output
    assert "GET /reset/[redacted] 200" in output  # the access log, without the token
    assert token not in output and DEMO_PASSWORD not in output


def test_console_refuses_a_bad_listen_address(tmp_path):
    result = plainpdp("console", "--listen", "nowhere", cwd=tmp_path)
    assert result.returncode == 2
    assert "expected HOST:PORT" in result.stderr and "Traceback" not in result.stderr
