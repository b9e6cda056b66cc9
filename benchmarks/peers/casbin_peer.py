"""casbin (pycasbin): RBAC with domains, the idiomatic model for multi-tenant apps.

The model: domain = the principal's partner; ``g`` = user -> role (and user
-> own partner) per domain; ``g2`` = document -> folder and document ->
section; ``g3`` = tier -> action, the ceilings; one ``p`` row per grant and
action, ``eft`` deny for partner forbids. ``FastEnforcer`` filters the rows
by (domain, action) so a check does not scan every partner's rows.

What casbin cannot express, and how this model stands in for it:

- **no entity store**: casbin knows names, not attributes. The caller
  supplies, per request, the principal's partner (the domain), its tier and
  suspension, the principal's and the resource's region, the resource's
  sensitivity and owning partner, and whether it is a document. The
  benchmark computes these before timing, which favours casbin.
- **guardrails are not policies**: the platform forbids (MFA for high
  sensitivity, suspended partners, cross-partner documents) are written
  into the matcher; changing one means changing the model.
- **ceilings are not policies**: a partner grant counts only while a
  platform ceiling holds for the same request, a join of two rows that
  casbin's effect (``some(allow) && !some(deny)``) cannot state. It is
  folded into the ``g3`` tier -> action relation; that works only because
  this workload's ceilings depend on nothing but tier and action.
- **partner isolation is not a rule of the engine**: it is a matcher clause
  (resource owner == domain, or the platform); platform permits are copied
  into every domain's rows.
- **Cedar semantics it lacks**: typed ``is``, ``has``, error-skipping,
  ``==`` vs ``in`` on principals (``g`` is reflexive, so ``principal ==
  User`` grants come out right), and the set of determining policies
  (casbin explains one rule): only decisions are compared.

With that, every request of the workload is comparable.

pycasbin 1.43's ``FastModel.add_def`` drops its return value, so a model
loads only the first ``g``; ``_FastModel`` restores it (one line).
"""

from __future__ import annotations

import time
from collections.abc import Sequence

from ..measure import rss_delta, timed, traced_bytes
from ..workload import CEILING_ACTIONS, PLATFORM_PERMITS, Workload
from . import Answer, BuildReport, Peer, chunks

MODEL = """
[request_definition]
r = sub, dom, obj, act, att

[policy_definition]
p = sub, dom, obj, act, kind, cond, eft

[role_definition]
g = _, _, _
g2 = _, _
g3 = _, _

[policy_effect]
e = some(where (p.eft == allow)) && !some(where (p.eft == deny))

[matchers]
m = r.dom == p.dom && r.act == p.act \
  && (p.obj == "*" || g2(r.obj, p.obj)) \
  && (p.sub == "*" || g(r.sub, p.sub, r.dom)) \
  && (p.cond == "" || r.att.oreg == r.att.sreg) \
  && (p.eft == "deny" || (!r.att.suspended \
      && !(r.att.sens == "high" && !r.att.mfa) \
      && !(r.att.doc && r.att.owner != r.dom) \
      && (p.kind == "platform" || ((r.att.owner == r.dom || r.att.owner == "") \
          && g3(r.att.tier, r.act)))))
"""


class Attributes:
    """What the caller must look up for casbin: it has no entity store."""

    __slots__ = ("owner", "tier", "suspended", "sreg", "oreg", "sens", "mfa", "doc")

    def __init__(self, **values):
        for k, v in values.items():
            setattr(self, k, v)


def _fast_enforcer(cache_key_order: list[int]):
    import casbin
    from casbin.model.model import Model
    from casbin.model.model_fast import FastModel
    from casbin.model.policy_fast import FastPolicy

    class _FastModel(FastModel):
        def add_def(self, sec, key, value):
            added = Model.add_def(self, sec, key, value)
            if sec == "p" and key == "p":
                self.model[sec][key].policy = FastPolicy(self._cache_key_order)
            return added

    model = _FastModel(cache_key_order)
    model.load_model_from_text(MODEL)
    return casbin.FastEnforcer(model, cache_key_order=cache_key_order)


def rows(w: Workload) -> tuple[list[list[str]], list[list[str]], list[list[str]], list[list[str]]]:
    """(p rows, g rows, g2 rows, g3 rows) for the workload."""
    p: list[list[str]] = []
    for g in w.grants:
        sub = f"{g.principal[0]}::{g.principal[1]}"
        obj = "*" if g.target is None else f"{g.target[0]}::{g.target[1]}"
        eft = "allow" if g.effect == "permit" else "deny"
        cond = "region" if g.same_region else ""
        for action in g.actions:
            p.append([sub, g.partner, obj, action, "partner", cond, eft])
    for partner in w.partners:  # platform permits, copied into every domain
        for _, action, section in PLATFORM_PERMITS:
            p.append(["*", partner.id, f"Section::{section}", action, "platform", "", "allow"])
    g_rows: list[list[str]] = []
    for u in w.users:
        g_rows.append([f"User::{u.id}", f"Partner::{u.partner}", u.partner])
        for role in u.roles:
            g_rows.append([f"User::{u.id}", f"Role::{role}", u.partner])
    g2_rows: list[list[str]] = []
    for d in w.documents:
        g2_rows.append([f"Document::{d.id}", f"Folder::{d.folder}"])
        g2_rows.append([f"Document::{d.id}", f"Section::{d.section}"])
    g3_rows = [[tier, a] for tier, actions in CEILING_ACTIONS.items() for a in actions]
    return p, g_rows, g2_rows, g3_rows


def request_tuples(w: Workload) -> list[tuple]:
    """(sub, dom, obj, act, att) per request, attributes looked up by the caller."""
    partners = w.partner_by_id
    users = w.user_by_id
    docs = w.document_by_id
    from ..workload import SECTIONS

    out = []
    for r in w.requests:
        u = users[r.principal]
        kind, rid = r.resource
        owner = w.owner_of(r.resource) or ""
        doc = docs.get(rid) if kind == "Document" else None
        sens = doc.sensitivity if doc else SECTIONS.get(rid, "") if kind == "Section" else ""
        att = Attributes(
            owner=owner,
            tier=partners[u.partner].tier,
            suspended=partners[u.partner].suspended,
            sreg=u.region,
            oreg=doc.region if doc else "",
            sens=sens,
            mfa=r.mfa,
            doc=kind == "Document",
        )
        out.append((f"User::{u.id}", u.partner, f"{kind}::{rid}", r.action, att))
    return out


class CasbinPeer(Peer):
    name = "casbin"

    @staticmethod
    def available() -> str | None:
        try:
            import casbin  # noqa: F401
        except ImportError:
            return "not installed (pip install casbin)"
        return None

    def _build(self, w: Workload):
        p, g, g2, g3 = rows(w)
        enforcer = _fast_enforcer([1, 3])  # rows keyed by (domain, action)
        enforcer.add_policies(p)
        enforcer.add_named_grouping_policies("g", g)
        enforcer.add_named_grouping_policies("g2", g2)
        enforcer.add_named_grouping_policies("g3", g3)
        return enforcer, len(p)

    def build(self, w: Workload, *, measure_memory: bool = True) -> BuildReport:
        self.workload = w
        report = BuildReport()
        cpu = time.process_time()
        ((self.enforcer, n_rows), report.compile_s), report.rss_bytes = rss_delta(
            lambda: timed(lambda: self._build(w))
        )
        report.compile_cpu_s = time.process_time() - cpu
        report.snapshot_note = "n/a"
        report.notes.append(f"{n_rows} p rows for {w.policy_count} policies")
        if measure_memory:
            _, report.memory_bytes = traced_bytes(lambda: self._build(w))
            report.memory_method = "tracemalloc: rows -> FastEnforcer"
        self.requests = request_tuples(w)
        return report

    def decide(self, indices: Sequence[int]) -> list[Answer]:
        results = self.enforcer.batch_enforce([self.requests[i] for i in indices])
        return [Answer(bool(x)) for x in results]

    def single(self):
        return self.enforcer.enforce, self.requests

    def batch(self, size: int):
        return self.enforcer.batch_enforce, [(c,) for c in chunks(self.requests, size)]

    def close(self) -> None:
        super().close()
        self.enforcer = None
