"""Request plumbing: who is signed in, CSRF, rendering, and errors as plain pages.

Every route is a plain function ``view(call) -> Response`` wrapped by
:func:`page`, which reads the form, establishes the actor from the session
cookie through the admin service, checks the CSRF token of every POST, runs
the view in a worker thread (the admin store is synchronous) and turns every
error into a page a person can act on. Refusals the service never sees (a
bad CSRF token, a dead session cookie) are written to the admin audit log
here, so every refusal leaves a record.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from cachetools import TTLCache
from jinja2 import Environment, FileSystemLoader, select_autoescape
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response

from ..admin import (
    Actor,
    AdminError,
    AdminService,
    AuthenticationError,
    ConflictError,
    InvalidInput,
    NotFound,
    PasswordPolicyError,
    PermissionDenied,
    RateLimited,
)
from ..admin import audit as audit_log
from ..admin.credentials import token_hash
from ..errors import PlainPDPError
from ..values import EntityUid
from . import access
from .access import Ask
from .security import CSRF_FIELD, CookiePolicy, CsrfGuard, new_presession, redact_path

log = logging.getLogger("plainpdp.console")

TEMPLATES = Path(__file__).parent / "templates"
MAX_FORM_FIELDS = 200
FLASH_SECONDS = 300


@dataclass(frozen=True)
class Me:
    """The signed-in person as the page header shows them."""

    actor: Actor
    display_name: str
    partner: str | None
    partner_name: str | None


@dataclass
class Call:
    """One request to a view: the request, its form, and who is asking."""

    request: Request
    form: FormData | None
    me: Me | None
    token: str | None = field(default=None, repr=False)
    presession: str | None = field(default=None, repr=False)

    @property
    def logged_path(self) -> str:
        """The request path as logs and the audit may hold it."""
        return redact_path(self.request.url.path)

    @property
    def console(self) -> Console:
        return self.request.app.state.console

    @property
    def actor(self) -> Actor:
        assert self.me is not None
        return self.me.actor

    def field(self, name: str, default: str = "") -> str:
        value = self.form.get(name) if self.form is not None else None
        return value.strip() if isinstance(value, str) else default

    def fields(self, name: str) -> list[str]:
        if self.form is None:
            return []
        return [v.strip() for v in self.form.getlist(name) if isinstance(v, str)]

    def version(self) -> int:
        """The record version the form was built from (stale ones are refused by the store)."""
        raw = self.field("version")
        if not raw.isdigit():
            raise InvalidInput("the form lost track of the record's version; open the page again")
        return int(raw)


class Shown(Exception):
    """Stop here and send this page (a denial, an error, a redirect)."""

    def __init__(self, response: Response):
        super().__init__("response")
        self.response = response


class Console:
    """The console's state: the service, cookies, CSRF keys, templates, notices."""

    def __init__(self, service: AdminService, cookies: CookiePolicy, csrf: CsrfGuard):
        self.service = service
        self.cookies = cookies
        self.csrf = csrf
        self.ceilings = access.CeilingView()
        self.templates = Environment(
            loader=FileSystemLoader(TEMPLATES),
            autoescape=select_autoescape(("html",)),
            trim_blocks=True,
            lstrip_blocks=True,
        )
        # one-shot notices after a redirect, by session; never a secret
        self._lock = threading.Lock()
        self._flash: TTLCache = TTLCache(maxsize=10_000, ttl=FLASH_SECONDS)
        # who each session issued here belonged to, to attribute a replayed cookie
        self._sessions: TTLCache = TTLCache(maxsize=10_000,
                                            ttl=service.settings.session_seconds)

    # ------------------------------------------------------------ who is asking

    def me(self, actor: Actor) -> Me:
        engine = self.service.engine
        try:
            partner = engine.partners.partner_of(actor.uid)
        except PlainPDPError:
            partner = None
        return Me(actor, access.label(engine, actor.uid), partner,
                  access.label(engine, EntityUid("Partner", partner)) if partner else None)

    def remember_session(self, token: str, user: str) -> None:
        with self._lock:
            self._sessions[token_hash(token)] = user

    def session_user(self, token: str) -> str | None:
        """Who a session issued here belonged to (it may be over now)."""
        with self._lock:
            return self._sessions.get(token_hash(token))

    def flash(self, call: Call, message: str) -> None:
        if call.token:
            with self._lock:
                self._flash[token_hash(call.token)] = message

    def take_flash(self, call: Call) -> str | None:
        if not call.token:
            return None
        with self._lock:
            return self._flash.pop(token_hash(call.token), None)

    def can(self, call: Call, ask: Ask) -> bool:
        """Would the service allow this admin request now? (Menus and offers only.)"""
        return access.decide_admin(self.service.engine, call.actor, ask).allowed

    def nav(self, call: Call) -> list[dict[str, Any]]:
        """The menu: the pages whose first request the engine allows for this person."""
        me = call.me
        if me is None:
            return []
        items: list[tuple[str, str]] = []
        if me.partner is not None:
            p = EntityUid("Partner", me.partner)
            base = f"/partners/{me.partner}"
            for op, label, href in (("ListUsers", "Users", f"{base}/users"),
                                    ("ReviewAccess", "Recertification",
                                     f"{base}/recertification"),
                                    ("ViewAudit", "Audit trail", f"{base}/audit")):
                if self.can(call, Ask(op, p, "")):
                    items.append((label, href))
        elif self.service.list_partners(call.actor):
            items += [("Partners", "/partners"), ("Audit trail", "/audit")]
        path = call.request.url.path
        return [{"label": label, "href": href,
                 "current": path == href or path.startswith(href + "/")}
                for label, href in items]

    # ------------------------------------------------------------ rendering

    def render(self, call: Call, template: str, *, status: int = 200,
               **context: Any) -> HTMLResponse:
        binding = call.token or call.presession
        html = self.templates.get_template(template).render(
            me=call.me, nav=self.nav(call), csrf=self.csrf.token_for(binding) if binding else "",
            flash=self.take_flash(call), **context)
        return HTMLResponse(html, status_code=status)

    def redirect(self, path: str, **query: Any) -> RedirectResponse:
        q = {k: v for k, v in query.items() if v not in (None, "")}
        return RedirectResponse(path + ("?" + urlencode(q) if q else ""), status_code=303)

    def error(self, call: Call, status: int, title: str, message: str, *,
              explanation: list[str] | None = None, back: str | None = None) -> HTMLResponse:
        return self.render(call, "error.html", status=status, title=title, message=message,
                           explanation=explanation or [], back=back)

    # ------------------------------------------------------------ running an admin request

    def attempt(self, call: Call, ask: Ask, run: Callable[[], Any], *,
                back: str | None = None) -> Any:
        """Run one admin operation; a denial becomes a page explaining it in plain words."""
        try:
            return run()
        except PermissionDenied:
            raise Shown(self.denied(call, ask, back=back)) from None

    def visible(self, call: Call, uid: EntityUid) -> bool:
        """Is this entity the viewer's own partner's or the platform's (or are they staff)?

        Only then may a page name it or show its details before the service has
        authorized a read of it: nothing about another partner leaks by typing its ids.
        """
        if call.me is None:
            return False
        try:
            owner = self.service.engine.partners.partner_of(uid)
        except PlainPDPError:
            return False
        return call.me.partner is None or owner in (None, call.me.partner)

    def denied(self, call: Call, ask: Ask, *, back: str | None = None) -> HTMLResponse:
        from .explain import explain_denial

        if back is not None and not self.visible(call, ask.resource):
            back = None  # no link into another partner
        decision = access.decide_admin(self.service.engine, call.actor, ask)
        lines = explain_denial(self.service.engine, decision,
                               own=self.visible(call, ask.resource))
        return self.error(call, 403, "Not allowed",
                          f"You may not {ask.what}. Nothing was changed, and the attempt "
                          "was recorded in the audit trail.",
                          explanation=lines, back=back)

    def refuse(self, call: Call, *, actor: Actor | None, action: str, target: str,
               message: str) -> None:
        """Audit a refusal the admin service never saw (bad CSRF token, dead session)."""
        engine = self.service.engine
        try:
            actor_partner = engine.partners.partner_of(actor.uid) if actor else None
        except PlainPDPError:
            actor_partner = None
        try:
            with self.service.store.write() as txn:
                audit_log.append(txn, at=self.service.clock(), actor=actor,
                                 actor_partner=actor_partner, action=action, target=target,
                                 partner=actor_partner, decision="deny", outcome="denied",
                                 message=message)
        except AdminError as err:  # the refusal stands even if the audit store is down
            log.error("could not audit a refused console request: %s", err.message)


# ---------------------------------------------------------------- the wrapper


def page(*, signed_in: bool = True) -> Callable[[Callable[[Call], Response]], Any]:
    """Make a view into a Starlette endpoint (see the module docstring)."""

    def wrap(view: Callable[[Call], Response]) -> Any:
        async def endpoint(request: Request) -> Response:
            console: Console = request.app.state.console
            form = None
            if request.method == "POST":
                try:
                    form = await request.form(max_files=0, max_fields=MAX_FORM_FIELDS)
                except Exception:  # noqa: BLE001 - a malformed body is the sender's problem
                    return HTMLResponse("The form could not be read.", status_code=400)
            return await run_in_threadpool(_handle, console, view, request, form, signed_in)

        endpoint.__name__ = view.__name__
        endpoint.__doc__ = view.__doc__
        return endpoint

    return wrap


def _handle(console: Console, view: Callable[[Call], Response], request: Request,
            form: FormData | None, signed_in: bool) -> Response:
    presession = request.cookies.get(console.cookies.presession) or None
    call = Call(request, form, None, presession=presession or new_presession())
    token = request.cookies.get(console.cookies.session) or None
    try:
        if token is not None:
            call = _signed_in(console, call, token)
        if signed_in and call.me is None:
            raise Shown(console.redirect("/sign-in"))
        if form is not None:
            _check_csrf(console, call)
        response = view(call)
    except Shown as shown:
        response = shown.response
    except Exception as err:  # noqa: BLE001 - every failure becomes a page, never a traceback
        try:
            response = _failure(console, call, err)
        except Exception:  # noqa: BLE001 - not even the error page renders: plain text
            log.exception("console error page failed")
            response = HTMLResponse("Something went wrong; the request was not completed.",
                                    status_code=500)
    if token is not None and call.token is None and not response.headers.get("set-cookie"):
        console.cookies.clear(response, console.cookies.session)  # a dead session cookie
    if presession is None and call.token is None:
        console.cookies.set(response, console.cookies.presession, call.presession or "")
    return response


def _signed_in(console: Console, call: Call, token: str) -> Call:
    try:
        actor = console.service.authenticate(token)
    except AuthenticationError:
        hashed = token_hash(token)
        user = console.session_user(token)
        console.refuse(call, actor=Actor(user, via="session", session=hashed) if user else None,
                       action="console:Session", target=f'User::"{user}"' if user else "User::?",
                       message=f"session cookie refused (signed out, expired or unknown; "
                               f"session {hashed[:8]}) on {call.request.method} "
                               f"{call.logged_path}")
        return call
    return Call(call.request, call.form, console.me(actor), token, call.presession)


def _check_csrf(console: Console, call: Call) -> None:
    binding = call.token or call.request.cookies.get(console.cookies.presession)
    if console.csrf.check(binding, call.field(CSRF_FIELD)):
        return
    path = call.logged_path
    console.refuse(call, actor=call.me.actor if call.me else None, action="console:Csrf",
                   target=f"console:{path}",
                   message=f"POST {path} refused: the CSRF token was missing or not this "
                           "session's")
    raise Shown(console.error(
        call, 403, "This form has expired",
        "The form was not sent from this console in your current session (it may be from "
        "before you signed in again, or from another site). Nothing was changed. Open the "
        "page again and retry.",
        back=None if call.me else "/sign-in"))


def _failure(console: Console, call: Call, err: Exception) -> Response:
    if isinstance(err, AuthenticationError):
        return console.redirect("/sign-in")
    if isinstance(err, PermissionDenied):
        return console.error(call, 403, "Not allowed",
                             "You may not do this. Nothing was changed, and the attempt was "
                             "recorded in the audit trail.")
    if isinstance(err, NotFound):
        return console.error(call, 404, "Not found", "There is nothing here.")
    if isinstance(err, ConflictError):
        return console.error(call, 409, "Changed in the meantime",
                             f"{sentence(err.message)} Nothing was changed. Open the page "
                             "again to see the current state, then retry.")
    if isinstance(err, RateLimited):
        return console.error(call, 429, "Too many attempts", sentence(err.message))
    if isinstance(err, (InvalidInput, PasswordPolicyError)):
        return console.error(call, 400, "That did not work", sentence(err.message))
    if isinstance(err, PlainPDPError):
        log.warning("console request %s %s failed: %s", call.request.method,
                    call.logged_path, err.message)
        return console.error(call, 500, "Something went wrong",
                             "The request could not be completed. Try again; if it keeps "
                             "failing, tell your platform's administrators.")
    log.exception("console request %s %s failed", call.request.method, call.logged_path)
    return console.error(call, 500, "Something went wrong",
                         "The request could not be completed. Try again; if it keeps failing, "
                         "tell your platform's administrators.")


def sentence(message: str) -> str:
    text = message.strip()
    if not text:
        return text
    text = text[0].upper() + text[1:]
    return text if text.endswith((".", "!", "?")) else text + "."
