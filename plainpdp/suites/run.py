"""Running suites: every case through the engine, failures explained."""

from __future__ import annotations

import time

from ..engine import Engine
from ..errors import PlainPDPError
from .model import CaseResult, Suite


def run_suite(engine: Engine, suite: Suite) -> list[CaseResult]:
    results: list[CaseResult] = []
    for case in suite.cases:
        start = time.perf_counter()
        try:
            d = engine.is_authorized(case.principal, case.action, case.resource,
                                     case.context, entities=list(case.entities) or None)
        except PlainPDPError as err:
            results.append(CaseResult(suite.name, case, False, "error", frozenset(),
                                      f"the request could not be decided: {err.message}",
                                      seconds=time.perf_counter() - start))
            continue
        problems = []
        if d.decision != case.expect:
            problems.append(f"expected {case.expect}, got {d.decision}")
        if case.reasons is not None and d.reasons != case.reasons:
            problems.append(
                f"expected determining policies {sorted(case.reasons)}, got {sorted(d.reasons)}")
        results.append(CaseResult(
            suite.name, case, not problems, d.decision, d.reasons | d.ceilings,
            "; ".join(problems), d.explain() if problems else "",
            time.perf_counter() - start))
    return results
