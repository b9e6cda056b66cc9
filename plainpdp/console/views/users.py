"""A partner's users: list, onboard, details, status, roles, password, access, review.

Every page names its admin request as an :class:`Ask` and runs it through
the admin service; a refusal becomes a page that explains it. Targets come
from the URL or the form exactly as sent, and the service decides whether
the signed-in person may act on them: nothing here filters by partner.
"""

from __future__ import annotations

import math
from urllib.parse import urlencode

from starlette.responses import Response
from starlette.routing import Route

from ...admin import ConflictError, InvalidInput, UserInfo
from ...values import EntityUid
from .. import access
from ..access import Ask, entity_ref, parse_uid
from ..explain import describe, explain_lines
from ..web import Call, page, sentence

PAGE_SIZE = 20
STATUSES = {"active": "Active", "inactive": "Deactivated", "locked": "Locked"}
DETAIL_FIELDS = (("display_name", "Full name"), ("email", "E-mail address"),
                 ("region", "Region"))
GRANT_OPS = {"Role": ("AssignRole", "RevokeRole", "role"),
             "Group": ("AssignGroup", "RevokeGroup", "group"),
             "PlatformRole": ("AssignPlatformRole", "RevokePlatformRole", "role")}


def partner_uid(partner: str) -> EntityUid:
    return EntityUid("Partner", partner)


def user_uid(user: str) -> EntityUid:
    return EntityUid("User", user)


def status_of(user: UserInfo) -> str:
    if not user.active:
        return "inactive"
    return "locked" if user.locked else "active"


def local_path(value: str, default: str) -> str:
    """A redirect target from a form: only a path on this console."""
    if value.startswith("/") and not value.startswith("//") and "\\" not in value:
        return value
    return default


def load_user(call: Call, user_id: str, *, what: str = "view this user") -> UserInfo:
    service = call.console.service
    return call.console.attempt(call, Ask("ViewUser", user_uid(user_id), what),
                                lambda: service.get_user(call.actor, user_id))


def grant_ask(call: Call, user_id: str, grant: EntityUid, *, assign: bool, name: str) -> Ask:
    assign_op, revoke_op, key = GRANT_OPS[grant.type]
    verb = "give" if assign else "take away"
    return Ask(assign_op if assign else revoke_op, user_uid(user_id),
               f"{verb} {role_name(call, grant)} {'to' if assign else 'from'} {name}",
               {key: entity_ref(grant)})


def role_name(call: Call, role: EntityUid) -> str:
    """The role's name, unless it is another partner's: then only 'this role'."""
    if call.console.visible(call, role):
        return access.label(call.console.service.engine, role)
    return "this role"


def _grant_label(call: Call, text: str) -> str:
    uid = parse_uid(text)
    return access.label(call.console.service.engine, uid) if uid is not None else text


def regions(call: Call) -> list[str]:
    """The regions users have in the store, to choose from."""
    engine = call.console.service.engine
    found = set()
    for uid in engine.entities:
        if uid.type == "User":
            attrs = engine.entities.attrs(uid)
            region = attrs.get("region") if attrs is not None else None
            if isinstance(region, str) and region:
                found.add(region)
    return sorted(found)


# ---------------------------------------------------------------- the list


@page()
def user_list(call: Call) -> Response:
    console, service = call.console, call.console.service
    partner = call.request.path_params["partner"]
    users = console.attempt(call, Ask("ListUsers", partner_uid(partner),
                                      "list this partner's users"),
                            lambda: service.list_users(call.actor, partner))
    roles = service.list_roles(call.actor, partner)
    q = call.request.query_params
    text, role, status = q.get("q", "").strip(), q.get("role", ""), q.get("status", "")
    shown = [
        u for u in users
        if (not text or any(text.casefold() in v.casefold()
                            for v in (u.id, u.display_name, u.email)))
        and (not role or any(g.uid == role for g in u.grants))
        and (not status or status_of(u) == status)
    ]
    pages = max(1, math.ceil(len(shown) / PAGE_SIZE))
    number = min(max(1, int(q.get("page", "1")) if q.get("page", "1").isdigit() else 1), pages)
    rows = [{"user": u, "status": STATUSES[status_of(u)],
             "roles": [_grant_label(call, g.uid) for g in u.grants]}
            for u in shown[(number - 1) * PAGE_SIZE: number * PAGE_SIZE]]
    filters = {"q": text, "role": role, "status": status}
    return console.render(
        call, "users.html", title=f"Users of {access.label(service.engine, partner_uid(partner))}",
        partner=partner, rows=rows, total=len(shown), roles=roles, statuses=STATUSES,
        filters=filters, page=number, pages=pages,
        prev_url=_page_url(partner, filters, number - 1) if number > 1 else None,
        next_url=_page_url(partner, filters, number + 1) if number < pages else None,
        can_create=console.can(call, Ask("CreateUser", partner_uid(partner), "")))


def _page_url(partner: str, filters: dict[str, str], number: int) -> str:
    query = {k: v for k, v in filters.items() if v}
    query["page"] = str(number)
    return f"/partners/{partner}/users?{urlencode(query)}"


# ---------------------------------------------------------------- onboarding


def _detail_problems(call: Call, *, with_id: bool) -> dict[str, str]:
    """Form errors by field, in the order the fields appear."""
    found = {}
    if with_id and not call.field("user_id"):
        found["user_id"] = "Enter a user id, for example nina.berg."
    for name, label in DETAIL_FIELDS:
        if not call.field(name):
            found[name] = f"{'Choose' if name == 'region' else 'Enter'} the {label.lower()}."
    return found


def _service_problem(message: str) -> dict[str, str]:
    """Place the service's own message next to the field it is about."""
    text = sentence(message)
    for prefix, name in (("user id", "user_id"), ("email", "email"),
                         ("display_name", "display_name"), ("region", "region")):
        if message.startswith(prefix):
            return {name: text}
    return {"": text}


@page()
def new_user_form(call: Call) -> Response:
    partner = call.request.path_params["partner"]
    call.console.attempt(call, Ask("ViewPartner", partner_uid(partner), "onboard users here"),
                         lambda: call.console.service.get_partner(call.actor, partner))
    return _new_user_page(call, partner, {})


def _new_user_page(call: Call, partner: str, problems: dict[str, str],
                   status: int = 200) -> Response:
    engine = call.console.service.engine
    return call.console.render(
        call, "user_new.html", status=status,
        title=f"Onboard a user at {access.label(engine, partner_uid(partner))}",
        partner=partner, problems=problems, regions=regions(call),
        values={k: call.field(k) for k in ("user_id", "display_name", "email", "region")})


@page()
def create_user(call: Call) -> Response:
    console, service = call.console, call.console.service
    partner = call.request.path_params["partner"]
    problems = _detail_problems(call, with_id=True)
    if problems:
        return _new_user_page(call, partner, problems, 400)
    user_id = call.field("user_id")
    try:
        change = console.attempt(
            call, Ask("CreateUser", partner_uid(partner), "onboard users for this partner"),
            lambda: service.create_user(
                call.actor, user_id, partner=partner, display_name=call.field("display_name"),
                email=call.field("email"), region=call.field("region"), invite=True),
            back=f"/partners/{partner}/users")
    except ConflictError as err:
        return _new_user_page(call, partner, {"user_id": sentence(err.message)}, 400)
    except InvalidInput as err:
        return _new_user_page(call, partner, _service_problem(err.message), 400)
    name = call.field("display_name")
    return console.render(
        call, "one_time_link.html", title=f"{name} is onboarded",
        intro=f"{name} ({user_id}) is now a user of "
              f"{access.label(service.engine, partner_uid(partner))}. They cannot sign in "
              "until they set a password with this invitation link.",
        link=_reset_link(call, change.token), expires=duration(service.settings.invite_token_seconds),
        next_links=[(f"/users/{user_id}/roles", f"Give {name} access"),
                    (f"/users/{user_id}", f"Open {name}'s page")])


def duration(seconds: float) -> str:
    """``1 hour``, ``7 days``: how long a link works, in words."""
    for unit, size in (("day", 86400), ("hour", 3600), ("minute", 60)):
        if seconds >= size:
            n = round(seconds / size)
            return f"{n} {unit}{'' if n == 1 else 's'}"
    return f"{seconds:.0f} seconds"


def _reset_link(call: Call, token: str | None) -> str:
    base = str(call.request.base_url).rstrip("/")
    return f"{base}/reset/{token}"


# ---------------------------------------------------------------- one user


def _offers(call: Call, user: UserInfo) -> dict[str, bool]:
    """Which actions the engine would allow on this user now (buttons only)."""
    console, uid = call.console, user_uid(user.id)
    ops = {"edit": "UpdateUser", "deactivate": "DeactivateUser",
           "reactivate": "ReactivateUser", "reset": "StartPasswordReset",
           "unlock": "UnlockUser", "access": "ViewAccess"}
    out = {k: console.can(call, Ask(op, uid, "", {"fields": ["display_name"]}
                                    if op == "UpdateUser" else {}))
           for k, op in ops.items()}
    out["roles"] = bool(_role_choices(call, user))
    return out


@page()
def user_page(call: Call) -> Response:
    user = load_user(call, call.request.path_params["user"])
    engine = call.console.service.engine
    return call.console.render(
        call, "user.html", title=user.display_name, user=user, state=STATUSES[status_of(user)],
        partner_name=access.label(engine, partner_uid(user.partner)) if user.partner else None,
        grants=[(g, _grant_label(call, g.uid)) for g in user.grants],
        offers=_offers(call, user))


@page()
def edit_user_form(call: Call) -> Response:
    user = load_user(call, call.request.path_params["user"], what="edit this user")
    values = {"display_name": user.display_name, "email": user.email, "region": user.region}
    return _edit_page(call, user, values, {})


def _edit_page(call: Call, user: UserInfo, values: dict[str, str], problems: dict[str, str],
               status: int = 200) -> Response:
    return call.console.render(call, "user_edit.html", status=status,
                               title=f"Edit {user.display_name}", user=user, values=values,
                               problems=problems, regions=regions(call))


@page()
def edit_user(call: Call) -> Response:
    console, service = call.console, call.console.service
    user_id = call.request.path_params["user"]
    user = load_user(call, user_id, what="edit this user")
    values = {name: call.field(name) for name, _ in DETAIL_FIELDS}
    problems = _detail_problems(call, with_id=False)
    if problems:
        return _edit_page(call, user, values, problems, 400)
    changed = {k: v for k, v in values.items() if v != getattr(user, k)}
    if not changed:
        console.flash(call, "Nothing was changed.")
        return console.redirect(f"/users/{user_id}")
    try:
        console.attempt(call, Ask("UpdateUser", user_uid(user_id), "edit this user's details",
                                  {"fields": sorted(changed)}),
                        lambda: service.update_user(call.actor, user_id,
                                                    version=call.version(), **changed),
                        back=f"/users/{user_id}")
    except InvalidInput as err:
        return _edit_page(call, user, values, _service_problem(err.message), 400)
    console.flash(call, f"Saved {user.display_name}'s details.")
    return console.redirect(f"/users/{user_id}")


def _status_action(operation: str, method: str, what: str, done: str):
    @page()
    def view(call: Call) -> Response:
        console, service = call.console, call.console.service
        user_id = call.request.path_params["user"]
        console.attempt(call, Ask(operation, user_uid(user_id), what),
                        lambda: getattr(service, method)(call.actor, user_id,
                                                         version=call.version()),
                        back=f"/users/{user_id}")
        console.flash(call, done)
        return console.redirect(local_path(call.field("back"), f"/users/{user_id}"))

    view.__name__ = method
    return view


deactivate = _status_action("DeactivateUser", "deactivate_user", "deactivate this user",
                            "Deactivated: the user is denied everything from now on.")
reactivate = _status_action("ReactivateUser", "reactivate_user", "reactivate this user",
                            "Reactivated: the user's roles apply again.")
unlock = _status_action("UnlockUser", "unlock_user", "unlock this user",
                        "Unlocked: the user can sign in again.")


@page()
def start_reset(call: Call) -> Response:
    console, service = call.console, call.console.service
    user_id = call.request.path_params["user"]
    change = console.attempt(call, Ask("StartPasswordReset", user_uid(user_id),
                                       "reset this user's password"),
                             lambda: service.start_password_reset(call.actor, user_id),
                             back=f"/users/{user_id}")
    name = access.label(service.engine, user_uid(user_id))
    return console.render(
        call, "one_time_link.html", title=f"Password reset for {name}",
        intro=f"Give {name} this link. With it they choose a new password; it also clears a "
              "lockout. Any earlier reset link of theirs no longer works.",
        link=_reset_link(call, change.token), expires=duration(service.settings.reset_token_seconds),
        next_links=[(f"/users/{user_id}", f"Back to {name}'s page")])


# ---------------------------------------------------------------- roles


def _candidates(call: Call, user: UserInfo) -> list[EntityUid]:
    """Roles and groups of the user's partner, and the platform's roles."""
    service = call.console.service
    found = [parse_uid(r.uid) for r in service.list_roles(call.actor, user.partner)] \
        if user.partner else []
    found += sorted((u for u in service.engine.entities if u.type == "PlatformRole"), key=str)
    return [u for u in found if u is not None]


def _role_choices(call: Call, user: UserInfo) -> list[EntityUid]:
    """The roles the engine would let this person give or take away: all that is offered."""
    held = {g.uid for g in user.grants}
    return [r for r in _candidates(call, user)
            if call.console.can(call, grant_ask(call, user.id, r, assign=str(r) not in held,
                                                name=user.display_name))]


def _role_rows(call: Call, user: UserInfo, choices: list[EntityUid], chosen: set[str]):
    engine = call.console.service.engine
    uid = user_uid(user.id)
    context = call.console.service.report_context
    bare = access.section_access(engine, uid, context, access.with_grants(engine, uid, []))
    base = {s.section: set(s.allowed) for s in bare}
    rows = []
    for role in choices:
        alone = access.section_access(engine, uid, context,
                                      access.with_grants(engine, uid, [role]))
        gives = [f"{access.words([a for a in s.allowed if a not in base[s.section]])} {s.name}"
                 for s in alone if set(s.allowed) - base[s.section]]
        rows.append({"uid": str(role), "name": access.label(engine, role), "kind": role.type,
                     "checked": str(role) in chosen,
                     "gives": "; ".join(gives) or "nothing more within the partner's ceiling"})
    return rows


@page()
def roles_form(call: Call) -> Response:
    user = load_user(call, call.request.path_params["user"], what="change this user's roles")
    choices = _role_choices(call, user)
    held = {g.uid for g in user.grants}
    kept = [g for g in user.grants if parse_uid(g.uid) not in choices]
    return call.console.render(call, "roles.html", title=f"Roles of {user.display_name}",
                               user=user, rows=_role_rows(call, user, choices, held),
                               kept=kept)


def _plan(call: Call, user: UserInfo) -> tuple[list[EntityUid], list[EntityUid], list[str]]:
    """What the form asks for: roles to give, roles to take away, and unreadable values."""
    held = {g.uid for g in user.grants}
    choices = _role_choices(call, user)
    wanted, bad = [], []
    for text in dict.fromkeys(call.fields("role")):
        uid = parse_uid(text)
        if uid is not None and uid.type in GRANT_OPS:
            wanted.append(uid)
        else:
            bad.append(text)
    adds = [r for r in wanted if str(r) not in held]
    removes = [r for r in choices if str(r) in held and r not in wanted]
    return adds, removes, bad


@page()
def review_roles(call: Call) -> Response:
    console = call.console
    engine = console.service.engine
    user = load_user(call, call.request.path_params["user"], what="change this user's roles")
    adds, removes, bad = _plan(call, user)
    if bad:
        raise InvalidInput(f"these are not roles: {', '.join(bad)}")
    choices = set(_role_choices(call, user))
    uid = user_uid(user.id)
    held = [parse_uid(g.uid) for g in user.grants]
    offered_adds = [r for r in adds if r in choices]
    after = [r for r in held if r is not None and r not in removes] + offered_adds
    context = console.service.report_context
    lines = access.consequence(
        user.display_name.split(" ")[0] or user.id,
        access.section_access(engine, uid, context),
        access.section_access(engine, uid, context, access.with_grants(engine, uid, after)))
    return console.render(
        call, "roles_review.html", title=f"Check the change for {user.display_name}",
        user=user, lines=lines, adds=[role_name(call, r) for r in adds if r in choices],
        removes=[role_name(call, r) for r in removes],
        not_offered=[str(r) for r in adds if r not in choices],
        wanted=call.fields("role"), version=call.field("version"))


@page()
def save_roles(call: Call) -> Response:
    console, service = call.console, call.console.service
    user = load_user(call, call.request.path_params["user"], what="change this user's roles")
    adds, removes, bad = _plan(call, user)
    if bad:
        raise InvalidInput(f"these are not roles: {', '.join(bad)}")
    version = call.version()
    done = []
    back = f"/users/{user.id}/roles"
    for role, assign in [(r, True) for r in adds] + [(r, False) for r in removes]:
        ask = grant_ask(call, user.id, role, assign=assign, name=user.display_name)
        run = service.assign_role if assign else service.revoke_role
        change = console.attempt(call, ask, lambda run=run, role=role, v=version:
                                 run(call.actor, user.id, role, version=v), back=back)
        version = change.record_version
        done.append(f"{'gave' if assign else 'took away'} "
                    f"{access.label(service.engine, role)}")
    console.flash(call, f"Saved: {access.words(done)}." if done else "Nothing was changed.")
    return console.redirect(f"/users/{user.id}")


@page()
def revoke_one(call: Call) -> Response:
    """Take one role away, from the recertification report."""
    console, service = call.console, call.console.service
    user_id = call.field("user")
    role = parse_uid(call.field("role"))
    if role is None or role.type not in GRANT_OPS:
        raise InvalidInput("that is not a role")
    back = f"/partners/{call.request.path_params['partner']}/recertification"
    console.attempt(call, grant_ask(call, user_id, role, assign=False, name="this user"),
                    lambda: service.revoke_role(call.actor, user_id, role,
                                                version=call.version()), back=back)
    console.flash(call, f"Took {access.label(service.engine, role)} away from "
                        f"{access.label(service.engine, user_uid(user_id))}.")
    return console.redirect(back)


# ---------------------------------------------------------------- access


@page()
def access_page(call: Call) -> Response:
    console, service = call.console, call.console.service
    user_id = call.request.path_params["user"]
    uid = user_uid(user_id)
    report = console.attempt(call, Ask("ViewAccess", uid, "see this user's access"),
                             lambda: service.access_report(call.actor, user_id))
    engine = service.engine
    rows = [{"section": s.name, "id": s.section.id, "allowed": s.allowed,
             "denied": [a.id for a, d in s.decisions if not d.allowed],
             "why": [(a.id, d.allowed, explain_lines(engine, d, show_values=True))
                     for a, d in s.decisions]}
            for s in access.section_access(engine, uid, service.report_context)]
    others = [e for e in report.entries if not e.resource.startswith(access.SECTION + "::")]
    return console.render(
        call, "access.html", title=f"What {access.label(engine, uid)} can do", user_id=user_id,
        rows=rows, context=service.report_context,
        others=[{"action": e.action, "resource": e.resource,
                 "reasons": [describe(engine, r) for r in e.reasons]} for e in others])


# ---------------------------------------------------------------- recertification


@page()
def recertification(call: Call) -> Response:
    console, service = call.console, call.console.service
    partner = call.request.path_params["partner"]
    report = console.attempt(call, Ask("ReviewAccess", partner_uid(partner),
                                       "review this partner's access"),
                             lambda: service.recertification_report(call.actor, partner))
    engine = service.engine
    items = []
    for item in report.items:
        by_section: dict[str, list[str]] = {}
        documents = 0
        for entry in item.access:
            target = parse_uid(entry.resource)
            if target is not None and target.type == access.SECTION:
                by_section.setdefault(access.label(engine, target), []).append(
                    entry.action.split('"')[1] if '"' in entry.action else entry.action)
            else:
                documents += 1
        items.append({
            "user": item.user, "status": STATUSES[status_of(item.user)],
            "grants": [(g, _grant_label(call, g.uid)) for g in item.user.grants],
            "sections": [f"{access.words(sorted(a, key=access.action_rank))} {name}"
                         for name, a in sorted(by_section.items())],
            "documents": documents,
        })
    return console.render(call, "recertification.html",
                          title=f"Recertify access at {access.label(engine, partner_uid(partner))}",
                          partner=partner, items=items, generated=report.generated_at)


@page()
def confirm_access(call: Call) -> Response:
    console, service = call.console, call.console.service
    partner = call.request.path_params["partner"]
    user_id = call.field("user")
    back = f"/partners/{partner}/recertification"
    console.attempt(call, Ask("ConfirmAccess", user_uid(user_id), "confirm this user's access"),
                    lambda: service.confirm_access(call.actor, user_id, version=call.version()),
                    back=back)
    console.flash(call, f"Confirmed {access.label(service.engine, user_uid(user_id))}'s access.")
    return console.redirect(back)


# ---------------------------------------------------------------- audit


@page()
def partner_audit(call: Call) -> Response:
    console, service = call.console, call.console.service
    partner = call.request.path_params["partner"]
    before = call.request.query_params.get("before", "")
    before_id = int(before) if before.isdigit() else None
    records = console.attempt(call, Ask("ViewAudit", partner_uid(partner),
                                        "read this partner's audit trail"),
                              lambda: service.audit(call.actor, partner=partner, limit=50,
                                                    before_id=before_id))
    return console.render(
        call, "audit.html",
        title=f"Audit trail of {access.label(service.engine, partner_uid(partner))}",
        records=records, show_partner=False,
        older=f"/partners/{partner}/audit?before={records[-1].id}" if len(records) == 50
        else None)


ROUTES = [
    Route("/partners/{partner}/users", user_list, methods=["GET"]),
    Route("/partners/{partner}/users/new", new_user_form, methods=["GET"]),
    Route("/partners/{partner}/users", create_user, methods=["POST"]),
    Route("/partners/{partner}/recertification", recertification, methods=["GET"]),
    Route("/partners/{partner}/recertification/confirm", confirm_access, methods=["POST"]),
    Route("/partners/{partner}/recertification/revoke", revoke_one, methods=["POST"]),
    Route("/partners/{partner}/audit", partner_audit, methods=["GET"]),
    Route("/users/{user}", user_page, methods=["GET"]),
    Route("/users/{user}/edit", edit_user_form, methods=["GET"]),
    Route("/users/{user}/edit", edit_user, methods=["POST"]),
    Route("/users/{user}/deactivate", deactivate, methods=["POST"]),
    Route("/users/{user}/reactivate", reactivate, methods=["POST"]),
    Route("/users/{user}/unlock", unlock, methods=["POST"]),
    Route("/users/{user}/password-reset", start_reset, methods=["POST"]),
    Route("/users/{user}/roles", roles_form, methods=["GET"]),
    Route("/users/{user}/roles/review", review_roles, methods=["POST"]),
    Route("/users/{user}/roles", save_roles, methods=["POST"]),
    Route("/users/{user}/access", access_page, methods=["GET"]),
]
