"""Reporting suite results: coverage of policies, JUnit XML for CI."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Iterable

from ..policyset import PolicySet
from .model import CaseResult


def coverage(policies: PolicySet, results: Iterable[CaseResult]) -> tuple[float, list[str]]:
    """Share of policies that determined some decision (ceilings: admitted
    some grant), and the ids of those that never did."""
    used: set[str] = set()
    for r in results:
        used |= r.reasons
    ids = [e.id for e in policies]
    never = sorted(i for i in ids if i not in used)
    share = 1.0 if not ids else (len(ids) - len(never)) / len(ids)
    return share, never


def junit_xml(results: list[CaseResult]) -> str:
    """JUnit XML: one testsuite per suite, one testcase per request."""
    root = ET.Element("testsuites", name="plainpdp policy tests")
    by_suite: dict[str, list[CaseResult]] = {}
    for r in results:
        by_suite.setdefault(r.suite, []).append(r)
    for name, rs in by_suite.items():
        failures = sum(1 for r in rs if not r.passed)
        suite = ET.SubElement(root, "testsuite", name=name, tests=str(len(rs)),
                              failures=str(failures), errors="0",
                              time=f"{sum(r.seconds for r in rs):.6f}")
        for r in rs:
            tc = ET.SubElement(suite, "testcase", classname=name, name=r.case.name,
                               time=f"{r.seconds:.6f}")
            if not r.passed:
                fail = ET.SubElement(tc, "failure", message=r.message, type="decision")
                fail.text = (
                    f"request: {r.case.principal} {r.case.action} {r.case.resource} "
                    f"context={r.case.context}\n{r.message}\n\n{r.explanation}"
                )
    root.set("tests", str(len(results)))
    root.set("failures", str(sum(1 for r in results if not r.passed)))
    return ET.tostring(root, encoding="unicode", xml_declaration=True)
