"""Helpers for the partner admin tests (importable as ``admin_support``)."""

from __future__ import annotations

import sqlite3
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
POLICIES = ROOT / "policies"
MFA = {"mfa": True}
NO_MFA = {"mfa": False}


class Clock:
    """A clock the test moves; every admin call reads it."""

    def __init__(self, start: float | None = None):
        self.now = time.time() if start is None else start

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


def rows(path: Path, sql: str, params: tuple = ()) -> list[tuple]:
    """Read the store file directly (a separate connection), as an auditor would."""
    conn = sqlite3.connect(path)
    try:
        return conn.execute(sql, params).fetchall()
    finally:
        conn.close()


def dump(path: Path) -> str:
    """Every row of every table as text, for searching secrets in the store."""
    conn = sqlite3.connect(path)
    try:
        out = []
        tables = [r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")]
        for t in tables:
            for row in conn.execute(f"SELECT * FROM {t}"):  # noqa: S608 - table names from sqlite
                out.append(repr(row))
        return "\n".join(out)
    finally:
        conn.close()
