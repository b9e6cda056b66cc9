"""The residual simplifier: constants fold, duplicates and implied guards go, nothing else."""

from __future__ import annotations

from plainpdp.query.residual import (
    FALSE,
    TRUE,
    And,
    Has,
    In,
    Not,
    Or,
    OwnedBy,
    and_,
    cmp,
    not_,
    or_,
)
from plainpdp.values import EntityUid

A = EntityUid("Folder", "a")
B = EntityUid("Folder", "b")
LEVEL = cmp(("level",), "<", 3)
DEPT = cmp(("dept",), "==", "ops")


def test_constants_fold():
    assert and_() == TRUE and or_() == FALSE
    assert and_(TRUE, LEVEL) == LEVEL and and_(FALSE, LEVEL) == FALSE
    assert or_(FALSE, LEVEL) == LEVEL and or_(TRUE, LEVEL) == TRUE
    assert not_(TRUE) == FALSE and not_(not_(LEVEL)) == LEVEL


def test_flatten_dedupe_and_contradiction():
    assert and_(LEVEL, and_(DEPT, LEVEL)) == And((LEVEL, DEPT))
    assert or_(LEVEL, or_(DEPT, LEVEL)) == Or((LEVEL, DEPT))
    assert and_(LEVEL, Not(LEVEL)) == FALSE
    assert or_(LEVEL, Not(LEVEL)) == TRUE


def test_a_guard_implied_by_a_test_on_the_same_path_goes():
    assert and_(Has(("dept",)), DEPT) == DEPT
    assert and_(Has(("level",)), DEPT) == And((Has(("level",)), DEPT))
    # but never under a negation: !(has dept) && dept == "ops" is a contradiction kept as is
    assert and_(Not(Has(("dept",))), DEPT) == And((Not(Has(("dept",))), DEPT))


def test_hierarchy_tests_merge_and_narrow():
    assert or_(In((), frozenset({A})), In((), frozenset({B}))) == In((), frozenset({A, B}))
    assert and_(In((), frozenset({A})), In((), frozenset({A, B}))) == In((), frozenset({A}))


def test_owners_merge():
    p0, platform = OwnedBy(frozenset({"p0"})), OwnedBy(frozenset({None}))
    assert or_(p0, platform) == OwnedBy(frozenset({"p0", None}))
    assert and_(p0, platform) == FALSE
    assert and_(OwnedBy(frozenset({"p0", None})), p0) == p0


def test_typed_constants_stay_apart():
    # Cedar: 1 != true, so the two comparisons are different atoms
    assert cmp(("x",), "==", 1) != cmp(("x",), "==", True)
    assert len(and_(cmp(("x",), "==", 1), cmp(("x",), "==", True)).items) == 2


def test_rendering_reads_as_cedar():
    text = str(and_(Has(("sp ace",)), Not(DEPT), In((), frozenset({A}))))
    assert text == '((resource has "sp ace") && !(resource.dept == "ops") && (resource in Folder::"a"))'
