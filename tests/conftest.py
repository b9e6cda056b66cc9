"""Shared test configuration: hypothesis profile and the end-of-run summary."""

from __future__ import annotations

from hypothesis import HealthCheck, settings
from support import FUZZ_EXAMPLES, SUMMARY, conformance_dir

settings.register_profile(
    "plainpdp",
    max_examples=FUZZ_EXAMPLES or 100,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
settings.load_profile("plainpdp")


def pytest_terminal_summary(terminalreporter):
    if not conformance_dir().is_dir():
        SUMMARY.insert(0, f"conformance: NOT RUN, corpus not found at {conformance_dir()}")
    if SUMMARY:
        terminalreporter.section("plainpdp summary")
        for line in SUMMARY:
            terminalreporter.write_line(line)
