"""plainpdp decides exactly as Rust Cedar (cedarpy) does, on generated input.

``cedar_gen`` builds a small entity universe, a policy set of 1-6 policies
without ``@id`` (so both sides number them ``policy0``, ``policy1``, ... by
position) and a few requests. cedarpy is the oracle: for every request the
decision, the determining policies and the erroring policies must be the
same sets. Messages are shown in a mismatch report but not compared.

Beside the comparison, two deterministic runs keep the generator honest:
every expression kind is reached, and the decisions it provokes are a fair
mix of allow, deny by forbid and errors. ``PLAINPDP_FUZZ_EXAMPLES`` raises
the number of compared examples; the counts are printed in the summary.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from dataclasses import dataclass, field

import cedar_gen as cg
import cedarpy
from hypothesis import HealthCheck, Phase, given, note, reject, settings
from support import add_summary, examples

from plainpdp import Engine, Entities, EntityUid, PolicySet

DIFFERENTIAL_EXAMPLES = examples(300)
REACH_POLICIES = 2000
MIX_EXAMPLES = 200
# Shares of requests (in %) the generator must provoke in the deterministic sample.
MIN_ALLOW, MIN_FORBID, MIN_ERROR, MIN_DEFAULT_DENY = 10, 8, 10, 20
# The compared examples are random: lower bars, a sanity check only.
MIN_SHARE_COMPARED = 4
# cedarpy must accept what the generator writes; a rejection is a generator bug.
MAX_REJECTED_SHARE = 0.01

CEDAR_ERROR = re.compile(r"error while evaluating policy `([^`]+)`")


@dataclass(frozen=True)
class Answer:
    """What one engine said about one request; messages are not compared."""

    decision: str
    reasons: frozenset[str]
    errors: frozenset[str]
    messages: tuple[str, ...] = field(default=(), compare=False)

    def __str__(self) -> str:
        text = f"{self.decision} reasons={sorted(self.reasons)} errors={sorted(self.errors)}"
        return text + "".join(f"\n      {m}" for m in self.messages)

    @property
    def outcome(self) -> str:
        if self.decision == "allow":
            return "allow"
        return "forbid" if self.reasons else "default-deny"


class CedarRejected(Exception):
    """cedarpy gave no decision: it rejected the policies, entities or request."""


def cedar_answers(sc: cg.Scenario) -> list[Answer]:
    results = cedarpy.is_authorized_batch(
        [r.cedar_json() for r in sc.requests], sc.policy_text(), sc.entities_json()
    )
    out = []
    for result in results:
        diag = result.diagnostics
        if result.decision is cedarpy.Decision.NoDecision:
            raise CedarRejected("; ".join(diag.errors))
        ids = []
        for message in diag.errors:
            m = CEDAR_ERROR.match(message)
            if m is None:
                raise CedarRejected(f"unexpected cedarpy error: {message}")
            ids.append(m.group(1))
        out.append(
            Answer(
                "allow" if result.allowed else "deny",
                frozenset(diag.reasons),
                frozenset(ids),
                tuple(diag.errors),
            )
        )
    return out


def plainpdp_answers(sc: cg.Scenario) -> list[Answer]:
    engine = Engine(
        PolicySet.from_text(sc.policy_text()),
        entities=Entities.from_json(sc.entities_json()),
    )
    out = []
    for r in sc.requests:
        d = engine.is_authorized(
            EntityUid(*r.principal), EntityUid(*r.action), EntityUid(*r.resource), r.context
        )
        out.append(
            Answer(
                d.decision,
                frozenset(d.reasons),
                frozenset(e.policy_id for e in d.errors),
                tuple(f"{e.policy_id}: {e.message}" for e in d.errors),
            )
        )
    return out


def report(sc: cg.Scenario, title: str, request: cg.Request | None, cedar, ours) -> str:
    entities = ",\n  ".join(json.dumps(e, ensure_ascii=False) for e in sc.entities_json())
    return (
        f"{title}\n"
        f"--- policies\n{sc.policy_text()}"
        f"--- entities\n[\n  {entities}\n]\n"
        f"--- request\n{request if request is not None else chr(10).join(map(str, sc.requests))}\n"
        f"--- cedarpy:  {cedar}\n"
        f"--- plainpdp: {ours}"
    )


# ------------------------------------------------------------------- the comparison


class Tally:
    def __init__(self) -> None:
        self.examples = 0
        self.requests = 0
        self.outcomes: Counter[str] = Counter()
        self.errored = 0
        self.rejected: list[str] = []
        self.kinds: set[str] = set()

    def share(self, n: int) -> float:
        return 100.0 * n / max(self.requests, 1)

    def line(self) -> str:
        o = self.outcomes
        return (
            f"{self.examples} examples, {self.requests} requests: "
            f"allow {self.share(o['allow']):.0f}%, deny by forbid {self.share(o['forbid']):.0f}%, "
            f"default deny {self.share(o['default-deny']):.0f}%, "
            f"with errors {self.share(self.errored):.0f}%; "
            f"{len(self.rejected)} rejected by cedarpy"
        )


def count(tally: Tally, answers: list[Answer]) -> None:
    tally.examples += 1
    for a in answers:
        tally.requests += 1
        tally.outcomes[a.outcome] += 1
        tally.errored += bool(a.errors)


def compare(sc: cg.Scenario, tally: Tally) -> None:
    try:
        expected = cedar_answers(sc)
    except CedarRejected as err:
        tally.rejected.append(f"{err}\n{sc.policy_text()}")
        note(f"cedarpy rejected the generated input (generator bug): {err}")
        reject()
    try:
        actual = plainpdp_answers(sc)
    except Exception as err:
        raise AssertionError(
            report(
                sc,
                "plainpdp raised where Cedar decided",
                None,
                expected,
                f"{type(err).__name__}: {err}",
            )
        ) from err
    count(tally, expected)
    tally.kinds |= sc.kinds()
    for n, (request, want, got) in enumerate(zip(sc.requests, expected, actual, strict=True)):
        if want != got:
            raise AssertionError(
                report(sc, f"plainpdp disagrees with Cedar on request #{n}", request, want, got)
            )


def test_plainpdp_decides_as_cedar():
    tally = Tally()

    @settings(
        max_examples=DIFFERENTIAL_EXAMPLES,
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    )
    @given(cg.scenarios())
    def differential(sc: cg.Scenario) -> None:
        compare(sc, tally)

    differential()
    wanted = cg.EXPRESSION_KINDS | cg.SCOPE_KINDS
    add_summary(
        f"differential vs cedarpy: {tally.line()}; "
        f"{len(wanted & tally.kinds)}/{len(wanted)} kinds compared"
    )
    assert len(tally.rejected) <= MAX_REJECTED_SHARE * max(tally.examples, 1), (
        f"cedarpy rejected {len(tally.rejected)} generated examples (generator bugs):\n"
        + "\n".join(tally.rejected[:3])
    )
    for outcome, n in (
        ("allow", tally.outcomes["allow"]),
        ("deny by forbid", tally.outcomes["forbid"]),
        ("with errors", tally.errored),
    ):
        assert tally.share(n) >= MIN_SHARE_COMPARED, (
            f"too few compared requests {outcome}: {tally.line()}"
        )


# ------------------------------------------------------------ the generator's reach


def sample(n: int, strategy, body) -> None:
    """Run ``body`` on ``n`` generated values, deterministically, without shrinking."""

    @settings(
        max_examples=n,
        derandomize=True,
        database=None,
        phases=[Phase.generate],
        deadline=None,
        suppress_health_check=list(HealthCheck),
    )
    @given(strategy)
    def run(value) -> None:
        body(value)

    run()


def test_generator_reaches_every_expression_kind():
    # Policies alone (over a fixed handful of uids) are cheap, so many of them.
    uids = (("User", "alice"), ("Group", "eng"), ("Doc", "x"), ("Folder", "root"))
    seen: Counter[str] = Counter()
    sample(REACH_POLICIES, cg.policies(uids), lambda p: seen.update(p.kinds()))
    wanted = cg.EXPRESSION_KINDS | cg.SCOPE_KINDS
    rarest = ", ".join(f"{k} {seen[k]}" for k in sorted(wanted, key=lambda k: seen[k])[:4])
    add_summary(
        f"generator reach: {len(wanted & set(seen))}/{len(wanted)} kinds in "
        f"{REACH_POLICIES} policies (rarest: {rarest})"
    )
    assert not wanted - set(seen), f"never generated: {sorted(wanted - set(seen))}"


def test_generated_requests_have_a_fair_decision_mix():
    tally = Tally()

    def body(sc: cg.Scenario) -> None:
        try:
            count(tally, cedar_answers(sc))
        except CedarRejected as err:
            tally.rejected.append(f"{err}\n{sc.policy_text()}")

    sample(MIX_EXAMPLES, cg.scenarios(), body)
    add_summary(f"decision mix (cedarpy, seeded sample): {tally.line()}")
    assert not tally.rejected, "cedarpy rejected generated input:\n" + "\n".join(tally.rejected[:3])
    o = tally.outcomes
    assert tally.share(o["allow"]) >= MIN_ALLOW, tally.line()
    assert tally.share(o["forbid"]) >= MIN_FORBID, tally.line()
    assert tally.share(o["default-deny"]) >= MIN_DEFAULT_DENY, tally.line()
    assert tally.share(tally.errored) >= MIN_ERROR, tally.line()
