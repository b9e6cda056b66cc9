"""Fixtures for the sidecar tests (helpers live in ``sidecar_support``)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))

from sidecar_support import Sidecar  # noqa: E402


@pytest.fixture
def start_sidecar(tmp_path):
    """Start sidecars for one test; all are stopped when it ends."""
    started: list[Sidecar] = []

    def start(*, wait: bool = True, **kwargs) -> Sidecar:
        workdir = tmp_path / f"sidecar{len(started)}"
        workdir.mkdir()
        sc = Sidecar(workdir, **kwargs)
        started.append(sc)
        if wait:
            sc.wait_serving()
        return sc

    yield start
    for sc in started:
        sc.stop()


@pytest.fixture(scope="session")
def shared_sidecar(tmp_path_factory):
    """One two-worker sidecar shared by the tests that do not change it."""
    workdir = tmp_path_factory.mktemp("sidecar")
    sc = Sidecar(workdir, workers=2, reload_interval=0)
    try:
        sc.wait_serving()
        yield sc
    finally:
        sc.stop()
