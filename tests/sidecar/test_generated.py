"""Generated code is generated, and the core library never imports gRPC."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_generated_modules_match_the_protos():
    result = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "gen_proto.py"), "--check"],
        capture_output=True, text=True, timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_generated_modules_say_so():
    for path in (ROOT / "plainpdp" / "_generated").rglob("*.py"):
        assert "DO NOT EDIT" in path.read_text(encoding="utf-8").splitlines()[0], path


def test_the_core_library_imports_no_grpc():
    code = """
import importlib, pkgutil, sys
import plainpdp
skip = ("plainpdp.sidecar", "plainpdp.client", "plainpdp._generated")
for mod in pkgutil.walk_packages(plainpdp.__path__, "plainpdp."):
    if mod.name.startswith(skip) or mod.name == "plainpdp.__main__":
        continue
    importlib.import_module(mod.name)
bad = sorted(m for m in sys.modules if m == "grpc" or m.startswith(("grpc.", "grpc_", "google.protobuf")))
print(bad)
raise SystemExit(1 if bad else 0)
"""
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            timeout=120, cwd=ROOT)
    assert result.returncode == 0, result.stdout + result.stderr
