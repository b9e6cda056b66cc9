"""Partial evaluation agrees with is_authorized over Cedar's whole expression language.

``cedar_gen`` (the differential generator: every expression kind, extension
types, tags, records, overflow, ill-typed terms, ghost entities) supplies
policy sets, stores and requests; for each request and each entity type,
the plan's Python predicate, and allowed_resources (the residual evaluated
over the store through indexes), accept exactly the store entities of that
type that is_authorized allows. The summary shows how much of the residuals the
partial evaluator modelled and how much it kept as opaque expressions.
"""

from __future__ import annotations

from collections import Counter

import cedar_gen as cg
from hypothesis import given, note, settings
from support import add_summary, examples

from plainpdp import Engine, Entities, EntityUid, PolicySet
from plainpdp.query.residual import Opaque, atoms

PARTIAL_EXAMPLES = examples(150)
TALLY: Counter[str] = Counter()


def check(sc: cg.Scenario) -> None:
    engine = Engine(PolicySet.from_text(sc.policy_text()), entities=Entities.from_json(sc.entities_json()))
    store = engine.entities
    for r in sc.requests:
        principal, action = EntityUid(*r.principal), EntityUid(*r.action)
        for resource_type in cg.ENTITY_TYPES:
            plan = engine.plan(principal, action, resource_type, r.context)
            note(plan.explain())
            TALLY[plan.kind] += 1
            for atom in atoms(plan.residual):
                TALLY["opaque atoms" if atom.__class__ is Opaque else "modelled atoms"] += 1
            predicate = plan.to_python()
            allowed = []
            for uid in store:
                if uid.type != resource_type:
                    continue
                want = engine.is_authorized(principal, action, uid, r.context).allowed
                assert predicate(uid) == want, (str(r), str(uid))
                TALLY["decisions"] += 1
                if want:
                    allowed.append(uid)
            got = engine.allowed_resources(principal, action, resource_type, r.context)
            assert got == sorted(allowed, key=str), str(r)


def test_plan_predicate_matches_is_authorized_on_generated_cedar():
    @settings(max_examples=PARTIAL_EXAMPLES)
    @given(cg.scenarios())
    def compare(sc: cg.Scenario) -> None:
        check(sc)

    compare()
    t = TALLY
    add_summary(
        f"plans on cedar_gen scenarios: {t['conditional']} conditional, {t['allow']} allow, "
        f"{t['deny']} deny; {t['decisions']} decisions compared; residual atoms "
        f"{t['modelled atoms']} modelled, {t['opaque atoms']} opaque"
    )
    plans = t["conditional"] + t["allow"] + t["deny"]
    assert t["conditional"] >= 0.05 * plans and t["modelled atoms"] > 0, t
