"""The console under test: a real SQLite store, a real uvicorn server, real Chromium.

Each test gets a fresh store (seeded from the example portal, demo passwords
set) and the console serving it on a free 127.0.0.1 port in a thread of the
test process; the test can then check the outcome through the same
``plainpdp.admin`` library the console uses. One headless Chromium serves
the whole session; each test starts it with no cookies.
"""

from __future__ import annotations

import shutil
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))

from console_browser import Journey, start_chromium  # noqa: E402
from console_support import POLICIES, Browserless, Served, serve  # noqa: E402

from plainpdp.admin import AdminService, seed_demo_passwords  # noqa: E402


@pytest.fixture(scope="session")
def seeded_store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The example portal with the demo passwords, built once (scrypt is slow on purpose)."""
    path = tmp_path_factory.mktemp("seeded") / "store.sqlite"
    svc = AdminService.open(path, POLICIES)
    seed_demo_passwords(svc.store, svc.settings, now=svc.clock())
    svc.close()
    return path


@pytest.fixture
def service(seeded_store: Path, tmp_path: Path) -> Iterator[AdminService]:
    """A fresh copy of the seeded store for each test, opened as the console opens it."""
    shutil.copyfile(seeded_store, tmp_path / "store.sqlite")
    svc = AdminService.open(tmp_path / "store.sqlite", POLICIES)
    try:
        yield svc
    finally:
        svc.close()


@pytest.fixture
def console(service: AdminService, tmp_path: Path) -> Iterator[Served]:
    with serve(service) as url:
        yield Served(url, service, tmp_path / "store.sqlite")


@pytest.fixture(scope="session")
def chromium():
    driver = start_chromium()
    try:
        yield driver
    finally:
        driver.quit()


@pytest.fixture
def journey(chromium, console: Served, request: pytest.FixtureRequest) -> Journey:
    chromium.delete_all_cookies()
    chromium.get("about:blank")
    return Journey(chromium, console.url, request.node.name)


@pytest.fixture
def client(console: Served) -> Iterator[Browserless]:
    c = Browserless(console.url)
    try:
        yield c
    finally:
        c.close()


@pytest.fixture
def other_client(console: Served) -> Iterator[Browserless]:
    c = Browserless(console.url)
    try:
        yield c
    finally:
        c.close()
