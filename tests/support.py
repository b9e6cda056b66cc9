"""Helpers shared by the tests (importable as ``support``)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

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


def _corpus_reason() -> str:
    return (
        f"Cedar's conformance tests not found at {conformance_dir()}; "
        "set PLAINPDP_CONFORMANCE to their folder"
    )


# Skips a test when the corpus is absent, unless PLAINPDP_REQUIRE_CONFORMANCE
# is set (CI sets it once it has found the corpus): then the test runs and fails.
requires_conformance = pytest.mark.skipif(
    not conformance_dir().is_dir() and not os.environ.get("PLAINPDP_REQUIRE_CONFORMANCE"),
    reason=_corpus_reason(),
)


SUMMARY: list[str] = []


def add_summary(line: str) -> None:
    """A line printed at the end of the run (counts the issues ask to see)."""
    SUMMARY.append(line)
