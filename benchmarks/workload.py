"""A seeded partner-portal workload: partners, people, documents, policies, requests.

Everything comes from ``random.Random(seed)``, so one seed and one scale give
the same entities, policy texts and requests on every machine. The scale is
the total number of policies: a handful of platform policies (guardrails, one
public permit, one ``@ceiling`` per partner tier) plus partner-scoped grants,
``GRANTS_PER_PARTNER`` per partner, so the number of partners grows with the
scale and the grants of one partner stay the same size.

The workload is data (dataclasses); it renders itself three ways:

- ``platform_text()`` / ``partner_text(pid)``: plainpdp's own form, partner
  grants loaded with ``PolicySet.from_text(text, partner=pid)``;
- ``cedar_text()``: plain Cedar with the same meaning, for Rust Cedar
  (cedarpy): each partner permit gains ``principal in Partner::"p" &&
  (resource in Partner::"p" || resource is Section) && <some ceiling>``,
  each partner forbid gains ``principal in Partner::"p"``, and the
  ``@ceiling`` policies themselves are left out (they grant nothing);
- ``entities_json()``: Cedar's JSON entity format, read by both.

The casbin peer builds its own rows from the same dataclasses.
"""

from __future__ import annotations

import json
import math
import random
from dataclasses import dataclass, field

SCALES = (100, 1_000, 10_000, 100_000)
GRANTS_PER_PARTNER = 10

KINDS = ("supplier", "distributor", "agency", "broker")
TIERS = ("gold", "silver", "bronze")
REGIONS = ("eu", "us", "apac")
SENSITIVITIES = ("low", "medium", "high")
SECTIONS = {  # platform-owned parts of the portal, with their sensitivity
    "orders": "medium",
    "invoices": "high",
    "catalog": "low",
    "claims": "medium",
    "reports": "low",
}
ACTIONS = ("view", "create", "edit", "delete", "export", "approve")
ROLES_BY_KIND = {
    "supplier": ("sales", "finance", "catalog-editor", "intern", "admin"),
    "distributor": ("buyer", "logistics", "finance", "intern", "admin"),
    "agency": ("agent", "claims-handler", "analyst", "intern", "admin"),
    "broker": ("broker", "underwriter", "finance", "intern", "admin"),
}

# What each tier's partners may hand out (the @ceiling policies).
CEILING_ACTIONS = {
    "gold": ("view", "create", "edit", "delete", "export", "approve"),
    "silver": ("view", "create", "edit", "export"),
    "bronze": ("view", "create"),
}

# Platform permits that are not ceilings: (id, action, section).
PLATFORM_PERMITS = (("catalog-is-public", "view", "catalog"),)


def _uid(type_: str, id_: str) -> str:
    return f'{type_}::"{id_}"'


def _action_scope(actions: tuple[str, ...]) -> str:
    if len(actions) == 1:
        return f"action == {_uid('Action', actions[0])}"
    return "action in [" + ", ".join(_uid("Action", a) for a in actions) + "]"


def _action_expr(actions: tuple[str, ...]) -> str:
    return "action in [" + ", ".join(_uid("Action", a) for a in actions) + "]"


# ------------------------------------------------------------------ model


@dataclass(frozen=True, slots=True)
class Partner:
    id: str
    kind: str
    tier: str
    suspended: bool


@dataclass(frozen=True, slots=True)
class User:
    id: str
    partner: str
    roles: tuple[str, ...]  # role entity ids, e.g. "p17-buyer"
    region: str


@dataclass(frozen=True, slots=True)
class Document:
    id: str
    partner: str
    folder: str
    section: str
    sensitivity: str
    region: str


@dataclass(frozen=True, slots=True)
class Grant:
    """One partner-scoped policy, written by that partner's delegated admin.

    ``principal`` is ``(type, id)``: a Role, a User or the Partner itself;
    ``target`` is ``(type, id)`` of a Section or Folder, or None for any
    resource; ``same_region`` adds ``resource.region == principal.region``.
    """

    id: str
    partner: str
    effect: str  # permit | forbid
    principal: tuple[str, str]
    actions: tuple[str, ...]
    target: tuple[str, str] | None
    same_region: bool


@dataclass(frozen=True, slots=True)
class Request:
    principal: str  # user id
    action: str
    resource: tuple[str, str]  # (type, id)
    mfa: bool
    cross_partner: bool

    @property
    def principal_uid(self) -> str:
        return _uid("User", self.principal)

    @property
    def action_uid(self) -> str:
        return _uid("Action", self.action)

    @property
    def resource_uid(self) -> str:
        return _uid(*self.resource)


@dataclass
class Workload:
    seed: int
    scale: int
    partners: list[Partner] = field(default_factory=list)
    users: list[User] = field(default_factory=list)
    roles: dict[str, str] = field(default_factory=dict)  # role id -> partner id
    folders: dict[str, str] = field(default_factory=dict)  # folder id -> partner id
    documents: list[Document] = field(default_factory=list)
    grants: list[Grant] = field(default_factory=list)
    requests: list[Request] = field(default_factory=list)

    # -------------------------------------------------------- derived views

    @property
    def partner_by_id(self) -> dict[str, Partner]:
        return {p.id: p for p in self.partners}

    @property
    def user_by_id(self) -> dict[str, User]:
        return {u.id: u for u in self.users}

    @property
    def document_by_id(self) -> dict[str, Document]:
        return {d.id: d for d in self.documents}

    @property
    def platform_policy_count(self) -> int:
        return len(self.platform_policies())

    @property
    def policy_count(self) -> int:
        return self.platform_policy_count + len(self.grants)

    @property
    def entity_count(self) -> int:
        return (
            len(SECTIONS) + len(self.partners) + len(self.roles) + len(self.users)
            + len(self.folders) + len(self.documents)
        )

    def grants_of(self, partner: str) -> list[Grant]:
        return [g for g in self.grants if g.partner == partner]

    def owner_of(self, resource: tuple[str, str]) -> str | None:
        """The partner owning a resource, None for the platform's sections."""
        kind, rid = resource
        if kind == "Section":
            return None
        if kind == "Folder":
            return self.folders[rid]
        if kind == "Document":
            return rid.split("-d", 1)[0]
        raise ValueError(f"unexpected resource type {kind}")

    # -------------------------------------------------------- plainpdp text

    @staticmethod
    def platform_policies() -> list[tuple[str, str, bool]]:
        """``(id, text, is_ceiling)`` for each platform policy, in order."""
        out = [
            ("guardrail-mfa-high-sensitivity",
             "forbid (principal, action, resource)\n"
             'when { resource has sensitivity && resource.sensitivity == "high" && !context.mfa };',
             False),
            ("guardrail-suspended-partner",
             "forbid (principal is User, action, resource)\n"
             "when { principal has partner && principal.partner.suspended };",
             False),
            ("guardrail-cross-partner",
             "forbid (principal is User, action, resource is Document)\n"
             "when { principal has partner && principal.partner != resource.partner };",
             False),
        ]
        for pid, action, section in PLATFORM_PERMITS:
            out.append((
                pid,
                f"permit (principal is User, action == {_uid('Action', action)}, "
                f"resource in {_uid('Section', section)});",
                False,
            ))
        for tier, actions in CEILING_ACTIONS.items():
            out.append((
                f"ceiling-{tier}",
                f"permit (principal, {_action_scope(actions)}, resource)\n"
                f'when {{ principal has partner && principal.partner.tier == "{tier}" }};',
                True,
            ))
        return out

    def platform_text(self) -> str:
        """Platform policies: guardrails, public permits, one ceiling per tier."""
        return "\n".join(
            f'@id("{pid}")\n' + ("@ceiling\n" if ceiling else "") + text + "\n"
            for pid, text, ceiling in self.platform_policies()
        )

    @staticmethod
    def grant_text(g: Grant, extra_condition: str | None = None) -> str:
        ptype, pid = g.principal
        principal = f"principal in {_uid(ptype, pid)}"
        if ptype == "User":
            principal = f"principal == {_uid(ptype, pid)}"
        resource = "resource" if g.target is None else f"resource in {_uid(*g.target)}"
        lines = [
            f'@id("{g.id}")',
            f"{g.effect} ({principal}, {_action_scope(g.actions)}, {resource})",
        ]
        if extra_condition:
            lines.append(f"when {{ {extra_condition} }}")
        if g.same_region:
            lines.append("when { resource has region && resource.region == principal.region }")
        return "\n".join(lines) + ";\n"

    def partner_text(self, partner: str, grants: list[Grant] | None = None) -> str:
        """The grants a partner's admin wrote; load with ``partner=partner``."""
        grants = self.grants_of(partner) if grants is None else grants
        return "\n".join(self.grant_text(g) for g in grants)

    def partner_texts(self) -> dict[str, str]:
        """Every partner's policy text, in partner order (one pass over grants)."""
        by_partner: dict[str, list[Grant]] = {p.id: [] for p in self.partners}
        for g in self.grants:
            by_partner[g.partner].append(g)
        return {pid: self.partner_text(pid, gs) for pid, gs in by_partner.items()}

    # -------------------------------------------------------- plain Cedar

    @staticmethod
    def ceiling_condition() -> str:
        """Some @ceiling is satisfied, as one Cedar expression."""
        parts = [
            f'(principal.partner.tier == "{tier}" && {_action_expr(actions)})'
            for tier, actions in CEILING_ACTIONS.items()
        ]
        return "principal has partner && (" + " || ".join(parts) + ")"

    def cedar_text(self) -> tuple[str, list[str]]:
        """Plain Cedar with plainpdp's meaning, and the policy id at each position.

        Cedar names policies ``policyN`` by position whatever their ``@id``;
        the list maps N back to the plainpdp id.
        """
        out: list[str] = []
        ids: list[str] = []
        for pid, text, ceiling in self.platform_policies():
            if not ceiling:
                out.append(f'@id("{pid}")\n{text}\n')
                ids.append(pid)
        ceiling = self.ceiling_condition()
        for g in self.grants:
            p = _uid("Partner", g.partner)
            if g.effect == "permit":
                extra = (
                    f"principal in {p} && (resource in {p} || resource is Section) "
                    f"&& {ceiling}"
                )
            else:
                extra = f"principal in {p}"
            out.append(self.grant_text(g, extra))
            ids.append(g.id)
        return "\n".join(out), ids

    # -------------------------------------------------------- entities

    def entities_json(self) -> list[dict]:
        """Cedar JSON entities: sections, partners, roles, users, folders, documents."""

        def ref(type_: str, id_: str) -> dict:
            return {"type": type_, "id": id_}

        out: list[dict] = []
        for name, sensitivity in SECTIONS.items():
            out.append({
                "uid": ref("Section", name),
                "attrs": {"name": name, "sensitivity": sensitivity},
                "parents": [],
            })
        for p in self.partners:
            out.append({
                "uid": ref("Partner", p.id),
                "attrs": {"kind": p.kind, "tier": p.tier, "suspended": p.suspended},
                "parents": [],
            })
        for role, pid in self.roles.items():
            out.append({
                "uid": ref("Role", role),
                "attrs": {"name": role.split("-", 1)[1]},
                "parents": [ref("Partner", pid)],
            })
        for u in self.users:
            out.append({
                "uid": ref("User", u.id),
                "attrs": {"region": u.region, "partner": {"__entity": ref("Partner", u.partner)}},
                "parents": [ref("Partner", u.partner)] + [ref("Role", r) for r in u.roles],
            })
        for folder, pid in self.folders.items():
            out.append({
                "uid": ref("Folder", folder),
                "attrs": {"name": folder},
                "parents": [ref("Partner", pid)],
            })
        for d in self.documents:
            out.append({
                "uid": ref("Document", d.id),
                "attrs": {
                    "sensitivity": d.sensitivity,
                    "region": d.region,
                    "partner": {"__entity": ref("Partner", d.partner)},
                },
                "parents": [ref("Folder", d.folder), ref("Section", d.section)],
            })
        return out

    def entities_text(self) -> str:
        return json.dumps(self.entities_json())

    # -------------------------------------------------------- request forms

    def request_dicts(self) -> list[dict]:
        """Requests as ``is_authorized_batch`` mappings (uid text, context dict)."""
        return [
            {
                "principal": r.principal_uid,
                "action": r.action_uid,
                "resource": r.resource_uid,
                "context": {"mfa": r.mfa},
            }
            for r in self.requests
        ]

    def unseen_request_dicts(self, count: int) -> list[dict]:
        """``count`` more requests drawn alike, none with the (principal, action,
        resource) of a request in the set: the first sight of a request, after
        the engine has answered the set (caches warm for others, not for them)."""
        seen = {(r.principal, r.action, r.resource) for r in self.requests}
        kept, self.requests = self.requests, []
        try:
            _requests(self, count * 3, random.Random(f"plainpdp-bench:{self.seed}:{self.scale}:unseen"))
            fresh = []
            for r in self.requests:
                triple = (r.principal, r.action, r.resource)
                if triple not in seen and len(fresh) < count:
                    seen.add(triple)
                    fresh.append(r)
            self.requests = fresh
            return self.request_dicts()
        finally:
            self.requests = kept

    def summary(self) -> dict:
        return {
            "seed": self.seed,
            "scale": self.scale,
            "policies": self.policy_count,
            "platform_policies": self.platform_policy_count,
            "partner_grants": len(self.grants),
            "partner_forbids": sum(g.effect == "forbid" for g in self.grants),
            "partners": len(self.partners),
            "users": len(self.users),
            "documents": len(self.documents),
            "entities": self.entity_count,
            "requests": len(self.requests),
            "cross_partner_requests": sum(r.cross_partner for r in self.requests),
        }


# ------------------------------------------------------------------ generation


def generate(scale: int, seed: int = 1, requests: int = 1000) -> Workload:
    """The workload with ``scale`` policies in all and ``requests`` requests."""
    w = Workload(seed=seed, scale=scale)
    grant_total = scale - w.platform_policy_count
    if grant_total < 1:
        raise ValueError(f"scale {scale} is below the {w.platform_policy_count} platform policies")
    n_partners = math.ceil(grant_total / GRANTS_PER_PARTNER)
    rng = random.Random(f"plainpdp-bench:{seed}:{scale}")
    for i in range(n_partners):
        pid = f"p{i}"
        partner = Partner(
            pid,
            kind=KINDS[i % len(KINDS)],
            tier=rng.choice(TIERS),
            suspended=rng.random() < 0.05,
        )
        w.partners.append(partner)
        _people_and_documents(w, partner, rng)
    users_of: dict[str, list[str]] = {}
    for u in w.users:
        users_of.setdefault(u.partner, []).append(u.id)
    roles_of: dict[str, list[str]] = {}
    for role, pid in w.roles.items():
        roles_of.setdefault(pid, []).append(role)
    folders_of: dict[str, list[str]] = {}
    for folder, pid in w.folders.items():
        folders_of.setdefault(pid, []).append(folder)
    for i, partner in enumerate(w.partners):
        count = grant_total // n_partners + (i < grant_total % n_partners)
        _grants(w, partner, count, rng, roles_of[partner.id], users_of[partner.id],
                folders_of[partner.id])
    _requests(w, requests, rng)
    return w


def _people_and_documents(w: Workload, p: Partner, rng: random.Random) -> None:
    roles = [f"{p.id}-{name}" for name in ROLES_BY_KIND[p.kind]]
    for role in roles:
        w.roles[role] = p.id
    for j in range(rng.randint(4, 8)):
        held = tuple(sorted(rng.sample(roles, rng.choice((1, 1, 2)))))
        w.users.append(User(f"{p.id}-u{j}", p.id, held, rng.choice(REGIONS)))
    folders = [f"{p.id}-f{k}" for k in range(rng.randint(2, 3))]
    for folder in folders:
        w.folders[folder] = p.id
    for k in range(rng.randint(4, 8)):
        w.documents.append(Document(
            f"{p.id}-d{k}",
            p.id,
            rng.choice(folders),
            rng.choice(tuple(SECTIONS)),
            rng.choices(SENSITIVITIES, weights=(4, 4, 2))[0],
            rng.choice(REGIONS),
        ))


def _grants(
    w: Workload,
    p: Partner,
    count: int,
    rng: random.Random,
    roles: list[str],
    users: list[str],
    folders: list[str],
) -> None:
    for n in range(count):
        gid = f"{p.id}-g{n}"
        roll = rng.random()
        if roll < 0.10:  # the admin restricts some of their own people
            w.grants.append(Grant(
                gid, p.id, "forbid", ("Role", rng.choice(roles)),
                tuple(sorted(rng.sample(("delete", "export", "approve"), rng.randint(1, 2)))),
                rng.choice((None, ("Section", rng.choice(tuple(SECTIONS))))),
                False,
            ))
            continue
        if roll < 0.20:
            principal = ("User", rng.choice(users))
        elif roll < 0.25:
            principal = ("Partner", p.id)
        else:
            principal = ("Role", rng.choice(roles))
        target_roll = rng.random()
        if target_roll < 0.60:
            target: tuple[str, str] | None = ("Section", rng.choice(tuple(SECTIONS)))
        elif target_roll < 0.95:
            target = ("Folder", rng.choice(folders))
        else:
            target = None
        picked = set(rng.sample(ACTIONS, rng.randint(1, 3)))
        actions = tuple(a for a in ACTIONS if a in picked)
        w.grants.append(Grant(gid, p.id, "permit", principal, actions, target, rng.random() < 0.2))


def _requests(w: Workload, count: int, rng: random.Random) -> None:
    """Half same-partner (many aimed at a grant), half cross-partner."""
    docs_of: dict[str, list[Document]] = {}
    for d in w.documents:
        docs_of.setdefault(d.partner, []).append(d)
    folders_of: dict[str, list[str]] = {}
    for f, pid in w.folders.items():
        folders_of.setdefault(pid, []).append(f)
    permits_of: dict[str, list[Grant]] = {}
    for g in w.grants:
        if g.effect == "permit":
            permits_of.setdefault(g.partner, []).append(g)

    def applies_to(g: Grant, u: User) -> bool:
        kind, gid = g.principal
        return (
            (kind == "User" and gid == u.id)
            or (kind == "Role" and gid in u.roles)
            or kind == "Partner"
        )

    def resource_under(target: tuple[str, str] | None, pid: str) -> tuple[str, str]:
        docs = docs_of[pid]
        if target is None:
            return ("Document", rng.choice(docs).id)
        kind, tid = target
        inside = [
            d for d in docs
            if (kind == "Section" and d.section == tid) or (kind == "Folder" and d.folder == tid)
        ]
        if inside and rng.random() < 0.75:
            return ("Document", rng.choice(inside).id)
        return target

    for i in range(count):
        u = rng.choice(w.users)
        cross = i % 2 == 1 and len(w.partners) > 1
        mine = [g for g in permits_of.get(u.partner, ()) if applies_to(g, u)]
        aimed = mine and rng.random() < 0.8
        g = rng.choice(mine) if aimed else None
        action = rng.choice(g.actions) if g and rng.random() < 0.85 else rng.choice(ACTIONS)
        if cross:
            other = rng.choice(w.partners)
            while other.id == u.partner:
                other = rng.choice(w.partners)
            if rng.random() < 0.75:
                resource = ("Document", rng.choice(docs_of[other.id]).id)
            else:
                resource = ("Folder", rng.choice(folders_of[other.id]))
        elif g is not None:
            resource = resource_under(g.target, u.partner)
        else:
            roll = rng.random()
            if roll < 0.6:
                resource = ("Document", rng.choice(docs_of[u.partner]).id)
            elif roll < 0.75:
                resource = ("Folder", rng.choice(folders_of[u.partner]))
            else:
                resource = ("Section", rng.choice(tuple(SECTIONS)))
        w.requests.append(Request(u.id, action, resource, rng.random() < 0.5, cross))
