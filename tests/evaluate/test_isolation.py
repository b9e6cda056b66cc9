"""Tenant isolation holds for any partner policy (hypothesis properties).

1. No principal is ever allowed on a resource owned by another partner, and
   no partner grant exceeds the ceilings, unless a platform permit is among
   the reasons: whatever the partners' policies, the platform's permits and
   ceilings, the request-supplied entities and the request.
2. A partner's policies never change any decision for another partner's
   principals.

The cross-partner references that the scope check rejects at load are also
run through the reference evaluator directly, so the runtime rule is shown
to keep isolation whether or not the check catches a policy.
"""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st
from support import examples

from plainpdp import Engine, Entities, PolicySet, PolicySetError, RequestError
from plainpdp.evaluate.reference import evaluate_all
from plainpdp.evaluate.request import Request
from plainpdp.partners import PartnerResolver
from plainpdp.values import EntityUid, Record

PARTNERS = ("p1", "p2", "p3")
ACTIONS = ("view", "edit")


def _entities() -> list[dict]:
    ents: list[dict] = []

    def add(t, i, attrs=None, parents=()):
        ents.append({
            "uid": {"type": t, "id": i},
            "attrs": attrs or {},
            "parents": [{"type": pt, "id": pi} for pt, pi in parents],
        })

    for p in PARTNERS:
        add("Partner", p, {"tier": "gold" if p != "p3" else "bronze"})
        add("Role", f"{p}-staff", {}, [("Partner", p)])
        add("Folder", f"{p}-docs", {}, [("Partner", p)])
        for n in range(2):
            add("User", f"{p}-u{n}", {"level": n, "region": "eu" if n else "us"},
                [("Partner", p)] + ([("Role", f"{p}-staff")] if n else []))
            add("Doc", f"{p}-d{n}", {"level": n, "region": "eu"},
                [("Folder", f"{p}-docs"), ("Section", "orders")])
    add("Section", "orders", {"level": 0})
    add("Section", "reports", {"level": 1})
    add("User", "staff", {"level": 9, "region": "eu"}, [("Role", "platform-admins")])
    add("Role", "platform-admins")
    for a in ACTIONS:
        add("Action", a)
    return ents


STORE = _entities()
PRINCIPALS = [f"{p}-u{n}" for p in PARTNERS for n in range(2)] + ["staff"]
RESOURCES = (
    [("Doc", f"{p}-d{n}") for p in PARTNERS for n in range(2)]
    + [("Section", "orders"), ("Section", "reports"), ("Folder", "p1-docs"), ("Partner", "p2")]
)

# Anything a delegated admin could upload: over-broad grants, references to
# their own entities, to the platform's, and (rejected at load) to others'.
_SCOPES_P = ["principal", 'principal in Role::"{own}-staff"', 'principal == User::"{own}-u0"',
             "principal is User", 'principal in Partner::"{own}"', 'principal in Role::"{other}-staff"']
_SCOPES_R = ["resource", 'resource in Section::"orders"', 'resource in Folder::"{own}-docs"',
             'resource == Doc::"{other}-d0"', "resource is Doc", 'resource in Partner::"{other}"']
_ACTION = ["action", 'action == Action::"view"', 'action in [Action::"view", Action::"edit"]']
_CONDS = ["", " when { true }", " when { principal.level >= 1 }",
          " when { resource has region && resource.region == principal.region }",
          " unless { context.flag }", " when { resource.missing == 1 }"]


@st.composite
def partner_policy(draw, own: str) -> str:
    other = draw(st.sampled_from([p for p in PARTNERS if p != own]))
    effect = draw(st.sampled_from(["permit", "permit", "forbid"]))
    scope = (f"{effect}({draw(st.sampled_from(_SCOPES_P))}, {draw(st.sampled_from(_ACTION))}, "
             f"{draw(st.sampled_from(_SCOPES_R))})").format(own=own, other=other)
    return scope + draw(st.sampled_from(_CONDS)) + ";"


_PLATFORM = [
    'permit(principal in Role::"platform-admins", action, resource);',
    'permit(principal, action == Action::"view", resource == Section::"reports");',
    'forbid(principal, action == Action::"edit", resource) when { resource.level > 0 };',
    'permit(principal == User::"p2-u1", action == Action::"view", resource == Doc::"p1-d0");',
]
_CEILINGS = [
    '@ceiling permit(principal, action == Action::"view", resource);',
    '@ceiling permit(principal, action, resource in Section::"orders") when { principal.level >= 1 };',
    '@ceiling permit(principal, action, resource) when { context.flag };',
]


@st.composite
def scenario(draw):
    partner_texts = {
        p: draw(st.lists(partner_policy(p), max_size=4)) for p in PARTNERS
    }
    platform = draw(st.lists(st.sampled_from(_PLATFORM), max_size=2, unique=True))
    ceilings = draw(st.lists(st.sampled_from(_CEILINGS), max_size=2, unique=True))
    return partner_texts, platform, ceilings


@st.composite
def request_(draw):
    principal = draw(st.sampled_from(PRINCIPALS))
    own = principal.split("-")[0] if "-" in principal else None
    cross = draw(st.booleans())  # about half the requests cross partners
    candidates = [r for r in RESOURCES if _owner(r) not in (None, own)] if cross else RESOURCES
    resource = draw(st.sampled_from(candidates))
    action = draw(st.sampled_from(ACTIONS))
    flag = draw(st.booleans())
    extra = draw(st.sampled_from([None, "new-doc", "reparent"]))
    return principal, action, resource, flag, extra


def _owner(resource: tuple[str, str]) -> str | None:
    t, i = resource
    if t == "Partner":
        return i
    if t in ("Doc", "Folder"):
        return i.split("-")[0]
    return None


def _build(partner_texts, platform, ceilings) -> PolicySet:
    sets = [PolicySet.from_text("\n".join(platform + ceilings), source="platform")]
    for p, texts in partner_texts.items():
        if texts:
            sets.append(PolicySet.from_text("\n".join(texts), partner=p, source=f"partners/{p}"))
    return PolicySet.union(sets)


def _request_entities(extra, principal_partner):
    if extra == "new-doc":  # a fresh document that claims a partner of its own choosing
        return [{"uid": {"type": "Doc", "id": "fresh"}, "attrs": {"level": 0},
                 "parents": [{"type": "Folder", "id": "p2-docs"}]}]
    if extra == "reparent":  # tries to move another partner's document into its own
        return [{"uid": {"type": "Doc", "id": "p2-d0"}, "attrs": {"level": 0, "region": "eu"},
                 "parents": [{"type": "Partner", "id": principal_partner or "p1"}]}]
    return None


def _decide(policies: PolicySet, principal, action, resource, flag, extra):
    """Decide through the engine, or the reference path when the check rejects."""
    p_uid = EntityUid("User", principal)
    r_uid = EntityUid(*resource)
    a_uid = EntityUid("Action", action)
    own = principal.split("-")[0] if "-" in principal else None
    req_ents = _request_entities(extra, own)
    if extra == "new-doc":
        r_uid = EntityUid("Doc", "fresh")
    try:
        engine = Engine(policies, entities=STORE)
    except PolicySetError:
        engine = None
    if engine is not None:
        try:
            return engine.is_authorized(p_uid, a_uid, r_uid, {"flag": flag}, entities=req_ents), r_uid
        except RequestError:
            return None, r_uid  # rejected: no decision, certainly no allow
    store = Entities.from_json(STORE)
    if req_ents:
        overlay = store.overlay(Entities.from_json(req_ents))
        base = PartnerResolver(store)
        mine = PartnerResolver(overlay)
        if any(u in store and base.partner_of(u) != mine.partner_of(u)
               for u in Entities.from_json(req_ents)):
            return None, r_uid
        store = overlay
    request = Request(p_uid, a_uid, r_uid, Record({"flag": flag}))
    return evaluate_all(policies, request, store, PartnerResolver(store)), r_uid


@settings(max_examples=examples(150))
@given(scenario(), st.lists(request_(), min_size=1, max_size=6))
def test_no_cross_partner_allow_and_no_grant_above_ceiling(scn, requests):
    partner_texts, platform, ceilings = scn
    policies = _build(partner_texts, platform, ceilings)
    store = Entities.from_json(STORE)
    resolver = PartnerResolver(store)
    ceiling_only = PolicySet.from_text("\n".join(c.replace("@ceiling ", "") for c in ceilings))
    for principal, action, resource, flag, extra in requests:
        decision, r_uid = _decide(policies, principal, action, resource, flag, extra)
        if decision is None or not decision.allowed:
            continue
        platform_grant = any(
            policies[r].partner is None and not policies[r].is_ceiling for r in decision.reasons
        )
        if platform_grant:
            continue
        p_partner = resolver.partner_of(EntityUid("User", principal))
        r_partner = "p2" if r_uid.id == "fresh" else resolver.partner_of(r_uid)
        assert p_partner is not None, "a partner grant reached a platform principal"
        assert r_partner in (None, p_partner), (
            f"{principal} of {p_partner} allowed on {r_uid} of {r_partner} by {decision.reasons}"
        )
        assert decision.ceilings, "a partner grant counted without any ceiling"
        assert set(decision.reasons) <= {
            e.id for e in policies if e.partner == p_partner and e.effect == "permit"
        }
        bound = Engine(ceiling_only, entities=STORE).is_authorized(
            EntityUid("User", principal), EntityUid("Action", action), r_uid, {"flag": flag},
            entities=_request_entities(extra, p_partner) if extra == "new-doc" else None,
        )
        assert bound.allowed, "a partner grant exceeded every ceiling"


@settings(max_examples=examples(100))
@given(scenario(), st.sampled_from(PARTNERS), st.lists(request_(), min_size=1, max_size=6))
def test_partner_policies_never_touch_other_partners_principals(scn, removed, requests):
    partner_texts, platform, ceilings = scn
    with_all = _build(partner_texts, platform, ceilings)
    without = _build({**partner_texts, removed: []}, platform, ceilings)
    for principal, action, resource, flag, extra in requests:
        if principal.startswith(removed + "-"):
            continue
        a, _ = _decide(with_all, principal, action, resource, flag, extra)
        b, _ = _decide(without, principal, action, resource, flag, extra)
        if a is None or b is None:
            assert a is None and b is None
            continue
        assert (a.decision, a.reasons, {e.policy_id for e in a.errors}) == (
            b.decision, b.reasons, {e.policy_id for e in b.errors}
        )


def test_at_least_forty_percent_of_generated_requests_cross_partners():
    """The isolation properties only mean something if requests do cross partners."""
    drawn = []

    @settings(max_examples=400, derandomize=True, database=None)
    @given(request_())
    def collect(req):
        drawn.append(req)

    collect()
    cross = 0
    for principal, _action, resource, _flag, extra in drawn:
        own = principal.split("-")[0] if "-" in principal else None
        owner = "p2" if extra == "new-doc" else _owner(resource)
        cross += owner is not None and owner != own
    share = cross / len(drawn)
    assert len(drawn) >= 300
    assert share >= 0.40, f"only {share:.0%} of {len(drawn)} requests cross partners"
