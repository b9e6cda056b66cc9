"""Policy test suites: YAML files of requests with expected decisions.

A suite lives beside the policies (``policies/tests/*.yaml``)::

    suite: northwind grants          # optional, defaults to the file name
    context: {mfa: true}             # default context for every case
    entities: []                     # extra entities (Cedar JSON) for every case
    cases:
      - name: buyers create orders
        principal: User::"erin"      # a list in any of the three makes a matrix
        action: Action::"create"
        resource: Document::"northwind-po-3001"
        expect: allow                # allow | deny
        reasons: [northwind-buyers-orders]   # optional: the determining policies

Suites run against the compiled set through the engine; failures show the
request, expected and actual, and the explanation.
"""

from .model import Case, CaseResult, Suite, SuiteError, load_suite, load_suites
from .report import coverage, junit_xml
from .run import run_suite

__all__ = [
    "Case",
    "CaseResult",
    "Suite",
    "SuiteError",
    "coverage",
    "junit_xml",
    "load_suite",
    "load_suites",
    "run_suite",
]
