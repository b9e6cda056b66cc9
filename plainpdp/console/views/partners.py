"""Partners, for platform admins: create, suspend and reactivate, ceilings, every audit trail."""

from __future__ import annotations

from starlette.responses import Response
from starlette.routing import Route

from ...admin import AuditRecord, ConflictError, InvalidInput
from ...values import EntityUid
from .. import access
from ..access import Ask
from ..explain import describe
from ..web import Call, page, sentence

# any partner id will do: the engine is asked whether this person may create partners at all
NEW_PARTNER = EntityUid("Partner", "")
AUDIT_PAGE = 50


def partner_uid(partner: str) -> EntityUid:
    return EntityUid("Partner", partner)


def _choices(call: Call, attr: str) -> list[str]:
    """The kinds (or tiers) partners have now, to choose from."""
    engine = call.console.service.engine
    found = set()
    for uid in engine.entities:
        if uid.type == "Partner":
            attrs = engine.entities.attrs(uid)
            value = attrs.get(attr) if attrs is not None else None
            if isinstance(value, str) and value:
                found.add(value)
    return sorted(found)


@page()
def partner_list(call: Call) -> Response:
    return _list_page(call, {}, {})


def _list_page(call: Call, values: dict[str, str], problems: dict[str, str],
               status: int = 200) -> Response:
    console = call.console
    partners = console.service.list_partners(call.actor)
    return console.render(
        call, "partners.html", status=status, title="Partners", partners=partners,
        can_create=console.can(call, Ask("CreatePartner", NEW_PARTNER, "")),
        kinds=_choices(call, "kind"), tiers=_choices(call, "tier"), values=values,
        problems=problems)


@page()
def create_partner(call: Call) -> Response:
    console, service = call.console, call.console.service
    fields = ("partner_id", "name", "kind", "tier")
    values = {k: call.field(k) for k in fields}
    labels = {"partner_id": "a partner id, for example blue-harbor", "name": "the name",
              "kind": "the kind", "tier": "the tier"}
    problems = {k: f"Enter {labels[k]}." for k in fields if not values[k]}
    if problems:
        return _list_page(call, values, problems, 400)
    pid = values["partner_id"]
    try:
        console.attempt(call, Ask("CreatePartner", partner_uid(pid), "create partners"),
                        lambda: service.create_partner(call.actor, pid, name=values["name"],
                                                       kind=values["kind"],
                                                       tier=values["tier"]),
                        back="/partners")
    except (ConflictError, InvalidInput) as err:
        key = "partner_id" if err.message.startswith(("partner id", "partner ")) else "name"
        return _list_page(call, values, {key: sentence(err.message)}, 400)
    console.flash(call, f"Created {values['name']}.")
    return console.redirect(f"/partners/{pid}")


@page()
def partner_page(call: Call) -> Response:
    console, service = call.console, call.console.service
    pid = call.request.path_params["partner"]
    info = console.attempt(call, Ask("ViewPartner", partner_uid(pid), "view this partner"),
                           lambda: service.get_partner(call.actor, pid))
    engine = service.engine
    ceilings = [
        {"section": section,
         "actions": access.words([a for a, _ in rows]) if rows else "nothing",
         "by": sorted({describe(engine, c) for _, ids in rows for c in ids})}
        for section, rows in console.ceilings.table(engine, pid, service.report_context)
    ]
    uid = partner_uid(pid)
    return console.render(
        call, "partner.html", title=info.name, partner=info, ceilings=ceilings,
        kinds=_choices(call, "kind"), tiers=_choices(call, "tier"),
        offers={k: console.can(call, Ask(op, uid, "")) for k, op in (
            ("suspend", "SuspendPartner"), ("reactivate", "ReactivatePartner"),
            ("update", "UpdatePartner"), ("users", "ListUsers"),
            ("recertification", "ReviewAccess"), ("audit", "ViewAudit"))})


def _partner_change(operation: str, method: str, what: str, done: str):
    @page()
    def view(call: Call) -> Response:
        console, service = call.console, call.console.service
        pid = call.request.path_params["partner"]
        version = call.version()
        extra = ({"kind": call.field("kind") or None, "tier": call.field("tier") or None}
                 if operation == "UpdatePartner" else {})
        console.attempt(call, Ask(operation, partner_uid(pid), what),
                        lambda: getattr(service, method)(call.actor, pid, version=version,
                                                         **extra),
                        back=f"/partners/{pid}")
        console.flash(call, done)
        return console.redirect(f"/partners/{pid}")

    view.__name__ = method
    return view


suspend = _partner_change("SuspendPartner", "suspend_partner", "suspend this partner",
                          "Suspended: every user of this partner is denied everything.")
reactivate = _partner_change("ReactivatePartner", "reactivate_partner",
                             "reactivate this partner",
                             "Reactivated: the partner's users have their access again.")
update = _partner_change("UpdatePartner", "update_partner",
                         "change this partner's kind and tier",
                         "Saved the kind and tier; the partner's ceilings follow from them.")


@page()
def all_audit(call: Call) -> Response:
    """Every partner's audit trail, newest first (the service answers per partner)."""
    console, service = call.console, call.console.service
    before = call.request.query_params.get("before", "")
    before_id = int(before) if before.isdigit() else None
    records: dict[int, AuditRecord] = {}
    for info in service.list_partners(call.actor):
        for record in console.attempt(
                call, Ask("ViewAudit", partner_uid(info.id), "read every partner's audit trail"),
                lambda pid=info.id: service.audit(call.actor, partner=pid, limit=AUDIT_PAGE,
                                                  before_id=before_id)):
            records[record.id] = record
    newest = sorted(records.values(), key=lambda r: r.id, reverse=True)[:AUDIT_PAGE]
    return console.render(
        call, "audit.html", title="Audit trail of every partner", records=newest,
        show_partner=True,
        older=f"/audit?before={newest[-1].id}" if len(newest) == AUDIT_PAGE else None)


ROUTES = [
    Route("/partners", partner_list, methods=["GET"]),
    Route("/partners", create_partner, methods=["POST"]),
    Route("/partners/{partner}", partner_page, methods=["GET"]),
    Route("/partners/{partner}/suspend", suspend, methods=["POST"]),
    Route("/partners/{partner}/reactivate", reactivate, methods=["POST"]),
    Route("/partners/{partner}/edit", update, methods=["POST"]),
    Route("/audit", all_audit, methods=["GET"]),
]
