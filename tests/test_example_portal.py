"""The bundled example portal (policies/) loads, checks and passes its suites."""

from __future__ import annotations

from support import ROOT

from plainpdp import Engine
from plainpdp.project import load_project
from plainpdp.suites import coverage, load_suites, run_suite

POLICIES = ROOT / "policies"


def test_example_portal_passes_its_own_suites():
    project = load_project(POLICIES)
    assert project.schema is not None
    engine = Engine(project.policies, entities=project.entities, schema=project.schema)
    suites = load_suites(POLICIES)
    assert len(suites) >= 6
    results = [r for s in suites for r in run_suite(engine, s)]
    failed = [f"{r.suite} :: {r.case.name}: {r.message}\n{r.explanation}" for r in results if not r.passed]
    assert not failed, "\n\n".join(failed)
    share, never = coverage(project.policies, results)
    assert never == [], f"policies no suite exercises: {never}"
    assert share == 1.0


def test_example_portal_has_four_kinds_of_partner():
    project = load_project(POLICIES)
    kinds = {
        project.entities.attrs(uid)["kind"]
        for uid in project.entities
        if uid.type == "Partner"
    }
    assert kinds >= {"supplier", "distributor", "agency", "broker"}
    assert project.policies.partners >= {"acme-supply", "northwind-dist", "brightside-agency", "harbor-brokers"}
