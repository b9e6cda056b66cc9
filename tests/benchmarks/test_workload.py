"""The benchmark workload: deterministic by seed, the promised sizes, and every
engine (plainpdp, cedarpy on the plain-Cedar translation, casbin) deciding its
requests alike. Small scales only: these run in CI."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

# `benchmarks` lives at the repository root, which plain `pytest` does not put
# on sys.path (`python -m pytest` does); this folder must not shadow it.
_ROOT = str(Path(__file__).resolve().parents[2])
if _ROOT not in sys.path:
    sys.path.insert(0, _ROOT)
if getattr(sys.modules.get("benchmarks"), "__file__", "") is None:
    del sys.modules["benchmarks"]  # a namespace package picked up from tests/

from benchmarks.workload import CEILING_ACTIONS, SECTIONS, generate  # noqa: E402


def _everything(w):
    return (
        w.platform_text(),
        w.partner_texts(),
        w.cedar_text(),
        w.entities_json(),
        w.requests,
    )


def test_same_seed_same_workload():
    assert _everything(generate(100, seed=7, requests=50)) == _everything(
        generate(100, seed=7, requests=50)
    )


def test_other_seed_other_workload():
    a, b = generate(100, seed=7, requests=50), generate(100, seed=8, requests=50)
    assert a.partner_texts() != b.partner_texts()
    assert a.requests != b.requests


@pytest.mark.parametrize("scale", [100, 1000])
def test_scale_is_the_total_policy_count(scale):
    from benchmarks.peers.plainpdp_peer import PlainPDPPeer
    from plainpdp import PolicySet

    w = generate(scale, seed=1, requests=10)
    assert w.policy_count == scale
    assert len(w.grants) == scale - w.platform_policy_count
    policies = PlainPDPPeer._policies(PlainPDPPeer._texts(w))
    assert len(policies) == scale
    partner_scoped = [e for e in policies if e.partner is not None]
    assert len(partner_scoped) == len(w.grants)
    assert {e.id for e in policies if e.is_ceiling} == {f"ceiling-{t}" for t in CEILING_ACTIONS}
    # the plain-Cedar translation leaves the ceilings out and keeps the rest
    text, ids = w.cedar_text()
    assert len(ids) == scale - len(CEILING_ACTIONS)
    assert len(PolicySet.from_text(text)) == len(ids)


def test_partners_grow_with_scale_and_grants_per_partner_do_not():
    small, large = generate(100, requests=0), generate(1000, requests=0)
    assert len(large.partners) == 10 * len(small.partners)
    for w in (small, large):
        per = [len(w.grants_of(p.id)) for p in w.partners[:5]]
        assert min(per) >= 9 and max(per) <= 10


def test_requests_half_cross_partner():
    w = generate(1000, seed=2, requests=400)
    assert len(w.requests) == 400
    assert sum(r.cross_partner for r in w.requests) == 200
    users = w.user_by_id
    for r in w.requests:
        owner = w.owner_of(r.resource)
        mine = users[r.principal].partner
        if r.cross_partner:
            assert owner is not None and owner != mine
        else:
            assert owner in (None, mine)
    assert {r.mfa for r in w.requests} == {True, False}
    assert len({r.action for r in w.requests}) >= 5


def test_entities_place_everything_under_one_partner():
    w = generate(100, seed=3, requests=0)
    ents = {(e["uid"]["type"], e["uid"]["id"]): e for e in w.entities_json()}
    assert len(ents) == w.entity_count
    for name in SECTIONS:
        assert ents[("Section", name)]["parents"] == []
    doc = ents[("Document", "p0-d0")]
    folder = doc["parents"][0]
    assert ents[(folder["type"], folder["id"])]["parents"] == [{"type": "Partner", "id": "p0"}]


def _decisions(peer_cls, w, n):
    reason = peer_cls.available()
    assert reason is None, f"{peer_cls.name} must be installed for the tests: {reason}"
    peer = peer_cls()
    peer.build(w, measure_memory=False)
    try:
        return peer.decide(range(n))
    finally:
        peer.close()


@pytest.fixture(scope="module")
def small():
    return generate(100, seed=5, requests=300)


@pytest.fixture(scope="module")
def plainpdp_answers(small):
    from benchmarks.peers.plainpdp_peer import PlainPDPPeer

    return _decisions(PlainPDPPeer, small, len(small.requests))


def test_the_workload_allows_and_denies(plainpdp_answers, small):
    allowed = [a.allowed for a in plainpdp_answers]
    assert 0.05 < sum(allowed) / len(allowed) < 0.6
    # cross-partner requests never reach another partner's documents or folders
    assert not any(a for a, r in zip(allowed, small.requests, strict=True) if r.cross_partner)


def test_cedarpy_agrees_with_plainpdp(plainpdp_answers, small):
    from benchmarks.peers.cedarpy_peer import CedarpyPeer

    theirs = _decisions(CedarpyPeer, small, len(small.requests))
    assert [a.allowed for a in theirs] == [a.allowed for a in plainpdp_answers]
    assert [a.reasons for a in theirs] == [a.reasons for a in plainpdp_answers]


def test_casbin_agrees_with_plainpdp(plainpdp_answers, small):
    from benchmarks.peers.casbin_peer import CasbinPeer

    theirs = _decisions(CasbinPeer, small, len(small.requests))
    assert [a.allowed for a in theirs] == [a.allowed for a in plainpdp_answers]


def test_cli_quick_run_prints_agreement(capsys):
    from benchmarks.run import main

    code = main([
        "--scales", "100", "--requests", "60", "--budget", "0.05", "--max-calls", "200",
        "--engines", "plainpdp", "--no-memory",
    ])
    out = capsys.readouterr().out
    assert code == 0
    assert "100 policies" in out and "single check p50" in out


def test_the_workload_is_read_by_the_fast_parser_alone():
    """Compile rates measure the hand-written parser, not the lark fallback."""
    from plainpdp.syntax import fast

    w = generate(200, seed=3, requests=1)
    texts = [w.platform_text(), *w.partner_texts().values(), w.cedar_text()[0]]
    for text in texts:
        fast.parse_file(text, None)  # raises Fallback if it needed lark
