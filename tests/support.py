"""Helpers shared by the tests (importable as ``support``)."""

from __future__ import annotations

import os
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

# The default suite stays quick; PLAINPDP_FUZZ_EXAMPLES asks for more.
FUZZ_EXAMPLES = int(os.environ.get("PLAINPDP_FUZZ_EXAMPLES", "0") or 0)


def examples(default: int) -> int:
    """Hypothesis example count: the default, or PLAINPDP_FUZZ_EXAMPLES."""
    return FUZZ_EXAMPLES or default


def conformance_dir() -> Path:
    """Cedar's integration tests: $PLAINPDP_CONFORMANCE or ../shared/conformance."""
    env = os.environ.get("PLAINPDP_CONFORMANCE")
    if env:
        return Path(env)
    return ROOT.parent / "shared" / "conformance"


SUMMARY: list[str] = []


def add_summary(line: str) -> None:
    """A line printed at the end of the run (counts the issues ask to see)."""
    SUMMARY.append(line)
