"""Fixtures for the partner admin tests: real SQLite stores seeded from the example portal."""

from __future__ import annotations

import shutil
import sys
import time
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))

from admin_support import POLICIES, Clock  # noqa: E402

from plainpdp.admin import AdminService, AdminSettings, open_store, seed_demo_passwords  # noqa: E402
from plainpdp.admin.seed import load_entities_json, seed_store  # noqa: E402


@pytest.fixture(scope="session")
def seeded_template(tmp_path_factory) -> Path:
    """One store seeded from policies/entities.json with the demo passwords, copied per test."""
    path = tmp_path_factory.mktemp("template") / "store.sqlite"
    store = open_store(path)
    seed_store(store, load_entities_json(POLICIES / "entities.json"), now=time.time())
    seed_demo_passwords(store, AdminSettings(), now=time.time())
    store.close()
    return path


@pytest.fixture
def store_path(tmp_path, seeded_template) -> Path:
    path = tmp_path / "store.sqlite"
    shutil.copyfile(seeded_template, path)
    return path


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def admin(store_path, clock):
    svc = AdminService.open(store_path, POLICIES, watch=False, clock=clock)
    yield svc
    svc.close()
