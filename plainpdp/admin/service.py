"""Delegated partner administration: the operations, each authorized by the engine.

Every operation runs the same steps, in one store transaction:

1. the actor: a user established by a credential (a session token, or a
   service token acting on their behalf) or, in-process, by the calling
   code (:class:`Actor`); a session is re-checked inside the transaction;
2. the decision: ``engine.is_authorized(User::"<actor>",
   Action::"admin:<Operation>", <target>, context)`` on the engine at
   exactly the state being changed (the shipped rules are
   ``policies/platform/admin.cedar``); an engine error denies;
3. on allow, the change, with the version the caller read checked
   (a stale one is a :class:`ConflictError`), and the store version bumped;
4. the audit record, allowed or denied, in the same transaction;
5. after the commit, this process's engine refreshes at once; other
   processes see the change within ``poll_seconds``.

Reads (``get_user``, ``list_users``, reports, the audit) are authorized the
same way; a denied read is audited, an allowed one is not.
"""

from __future__ import annotations

import json
import logging
import re
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from ..check.scopes import check_scopes
from ..check.validate import validate
from ..compile import compile_policies
from ..engine import Engine
from ..errors import PlainPDPError, ValidationError, finish_diagnostics
from ..evaluate.decision import Decision
from ..evaluate.request import to_uid
from ..policyset import PolicySet
from ..project import ENTITIES_FILE, load_project
from ..schema import Schema
from ..values import EntityUid
from . import audit as audit_log
from .credentials import (
    PasswordHash,
    burn_time,
    check_password_policy,
    hash_password,
    new_token,
    token_hash,
)
from .credentials import verify_password as _verify_hash
from .errors import (
    AdminError,
    AuthenticationError,
    ConflictError,
    InvalidInput,
    LimitExceeded,
    NotFound,
    PasswordPolicyError,
    PermissionDenied,
    RateLimited,
)
from .live import LiveEngine, Snapshot, stored_source
from .model import (
    GRANT_KINDS,
    AccessEntry,
    AccessReport,
    Actor,
    AdminSettings,
    AuditRecord,
    Change,
    Grant,
    PartnerInfo,
    PolicyDocument,
    RecertificationItem,
    RecertificationReport,
    RoleInfo,
    Session,
    UserInfo,
)
from .seed import load_entities_json, seed_store
from .store import Store, Txn, crash_point, dumps, open_store

log = logging.getLogger("plainpdp.admin")

ADMIN_PREFIX = "admin:"
# the portal's request context for access reports: MFA done, so the widest access shows
DEFAULT_REPORT_CONTEXT: Mapping[str, Any] = {"mfa": True}
AUTH_FAILED = "sign-in failed: unknown user id or wrong password, or the account is locked, " \
    "inactive or suspended"
BAD_RESET_TOKEN = "the reset token is not valid: it is unknown, already used, or expired"

_PARTNER_ID = re.compile(r"^[a-z0-9][a-z0-9-]{0,62}$")
_USER_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._@-]{0,127}$")
_NAME = re.compile(r"^[a-z0-9][a-z0-9._-]{0,62}$")
_EMAIL = re.compile(r"^[^@\s]{1,64}@[^@\s]{1,190}$")
DETAIL_FIELDS = ("display_name", "email", "region")
PARTNER_FIELDS = ("name", "kind", "tier")
_LOCKED_FOREVER = 9.0e15  # locked_until when lockout_seconds is 0: until an admin unlocks


def _now_dt(ts: float) -> datetime:
    return datetime.fromtimestamp(ts, UTC)


def _epoch(value: datetime | None) -> float | None:
    if value is None:
        return None
    if not isinstance(value, datetime):
        raise InvalidInput("an expiry must be a datetime")
    if value.tzinfo is None:
        raise InvalidInput("an expiry must be timezone-aware (e.g. datetime.now(UTC) + ...)")
    return value.timestamp()


def _check(pattern: re.Pattern, value: Any, what: str, example: str) -> str:
    if not isinstance(value, str) or not pattern.match(value):
        raise InvalidInput(f"{what} {value!r} is not valid; e.g. {example}")
    return value


def _user_uid(user_id: str) -> EntityUid:
    return EntityUid("User", user_id)


def _partner_uid(partner: str) -> EntityUid:
    return EntityUid("Partner", partner)


def _entity(uid: EntityUid) -> dict[str, dict[str, str]]:
    return {"__entity": {"type": uid.type, "id": uid.id}}


@dataclass
class _Applied:
    """What an operation's change step reports back."""

    changes: dict[str, Any]
    graph: bool = True  # the entity graph or policies changed
    record_version: int = 0
    token: str | None = field(default=None, repr=False)


class AdminService:
    """Partner administration over a store, authorized by a live engine."""

    def __init__(
        self,
        store: Store,
        policies: PolicySet,
        *,
        schema: Schema | None = None,
        settings: AdminSettings | None = None,
        clock: Callable[[], float] = time.time,
        watch: bool = True,
        report_context: Mapping[str, Any] | None = None,
    ):
        self.store = store
        self.settings = settings or AdminSettings()
        self.clock = clock
        self.report_context = dict(report_context if report_context is not None
                                   else DEFAULT_REPORT_CONTEXT)
        self.live = LiveEngine(store, policies, schema, poll_seconds=self.settings.poll_seconds,
                               clock=clock)
        if watch:
            self.live.start()

    @classmethod
    def open(
        cls,
        store: str | Path | Store | None = None,
        policies: str | Path = "policies",
        *,
        settings: AdminSettings | None = None,
        seed: bool = True,
        watch: bool = True,
        clock: Callable[[], float] = time.time,
    ) -> AdminService:
        """The policies under ``policies`` over the store at ``store``.

        ``store`` is a path (default ``$PLAINPDP_STORE`` or
        ``.plainpdp/store.sqlite``) or an open store. An empty store is
        seeded from ``<policies>/entities.json`` when ``seed``.
        """
        settings = settings or AdminSettings()
        project = load_project(policies)
        if isinstance(store, (str, Path)) or store is None:
            store = open_store(store, busy_timeout=settings.busy_timeout_seconds)
        entities = Path(policies) / ENTITIES_FILE
        if seed and entities.is_file():
            seed_store(store, load_entities_json(entities), now=clock())
        return cls(store, project.policies, schema=project.schema, settings=settings,
                   clock=clock, watch=watch)

    def close(self) -> None:
        """Stop watching the store and close it."""
        self.live.stop()
        self.store.close()

    def __enter__(self) -> AdminService:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ================================================================ the engine

    @property
    def schema(self) -> Schema | None:
        """The schema the engine and stored partner policies are checked against."""
        return self.live.schema

    @property
    def engine(self) -> Engine:
        """The engine over the store's current graph (this process's changes included)."""
        return self.live.engine

    @property
    def version(self) -> int:
        """The store version the current engine reflects."""
        return self.live.snapshot.version

    def engine_at(self, version: int, timeout: float = 5.0) -> Engine:
        """An engine at store version ``version`` or later (waits up to ``timeout`` s)."""
        return self.live.wait_for(version, timeout).engine

    def is_authorized(
        self,
        principal: EntityUid | str,
        action: EntityUid | str,
        resource: EntityUid | str,
        context: Mapping[str, Any] | str | None = None,
        *,
        at_version: int | None = None,
        timeout: float = 5.0,
    ) -> Decision:
        """Decide a portal request on the live graph, at ``at_version`` or later if given."""
        engine = self.engine if at_version is None else self.engine_at(at_version, timeout)
        return engine.is_authorized(principal, action, resource, context)

    # ================================================================ credentials

    def sign_in(self, user_id: str, password: str, *, source: str = "") -> Session:
        """Check a password; a new session. Rate limited; locks after repeated failures."""
        now = self.clock()
        s = self.settings
        ok = self._password_attempt(user_id, password, source, now)
        token = new_token()
        hashed = token_hash(token)
        expires = now + s.session_seconds
        error: AdminError | None = None
        with self.store.write() as txn:
            snap = self.live.refresh(txn=txn)
            user = txn.one("SELECT id, partner_id FROM users WHERE id = ?", (str(user_id),))
            target = str(_user_uid(str(user_id))) if user else "User::?"
            partner = user["partner_id"] if user else None
            actor = Actor(str(user_id), via="password") if user else None
            decision = None
            if ok:
                decision = self._decide(snap, _user_uid(user_id), "SignIn", _user_uid(user_id),
                                        {"via": "password"})
            if ok and decision is not None and decision.allowed:
                txn.insert("sessions", {"token_hash": hashed, "user_id": user_id,
                                        "created_at": now, "expires_at": expires})
                audit_log.append(txn, at=now, actor=actor, actor_partner=partner,
                                 action="admin:SignIn", target=target, partner=partner,
                                 decision="allow", outcome="applied",
                                 reasons=decision.reasons,
                                 changes={"session": {"before": None, "after": "new"}},
                                 message=f"session {hashed[:8]}")
            else:
                audit_log.append(txn, at=now, actor=actor, actor_partner=partner,
                                 action="admin:SignIn", target=target, partner=partner,
                                 decision="deny", outcome="denied",
                                 reasons=decision.reasons if decision else (),
                                 message="wrong password or locked" if not ok
                                 else "denied by policy")
                error = AuthenticationError(AUTH_FAILED)
        if error is not None:
            raise error
        return Session(token=token, user=user_id, expires_at=_now_dt(expires),
                       reference=hashed[:8])

    def verify_password(self, user_id: str, password: str, *, source: str = "") -> bool:
        """True when the password is right and the account not locked; counts failures."""
        return self._password_attempt(user_id, password, source, self.clock())

    def _password_attempt(self, user_id: str, password: str, source: str, now: float) -> bool:
        """One sign-in attempt, rate limited per user and per source."""
        s = self.settings
        self._rate_limit(
            [(f"signin:user:{user_id}", s.signin_attempts, s.signin_window_seconds)]
            + ([(f"signin:source:{source}", s.signin_attempts, s.signin_window_seconds)]
               if source else []),
            now, "sign-in attempts", actor=None, action="admin:SignIn",
            target=_user_uid(str(user_id)),
        )
        return self._check_password(user_id, password, now)

    def sign_out(self, token: str) -> None:
        """Revoke a session; an unknown or already revoked token is ignored."""
        with self.store.write() as txn:
            txn.execute("UPDATE sessions SET revoked_at = ? WHERE token_hash = ? "
                        "AND revoked_at IS NULL", (self.clock(), token_hash(str(token))))

    def authenticate(self, token: str) -> Actor:
        """The actor behind a session token; AuthenticationError if it is not valid now."""
        hashed = token_hash(str(token))
        with self.store.read() as txn:
            row = self._valid_session(txn, hashed, self.clock())
        if row is None:
            raise AuthenticationError("the session is not valid (unknown, expired or revoked); "
                                      "sign in again")
        return Actor(row["user_id"], via="session", session=hashed)

    def authenticate_service(self, service_token: str, on_behalf_of: str) -> Actor:
        """A service acting for a user, if ``admin:ActOnBehalf`` allows it (audited if not)."""
        now = self.clock()
        with self.store.read() as txn:
            svc = txn.one("SELECT id, partner_id FROM services WHERE token_hash = ? "
                          "AND revoked_at IS NULL", (token_hash(str(service_token)),))
        if svc is None:
            raise AuthenticationError("the service credential is not valid")
        principal = EntityUid("Service", svc["id"])
        resource = _user_uid(str(on_behalf_of))
        snap = self.live.snapshot
        decision = self._decide(snap, principal, "ActOnBehalf", resource, {"via": "service"})
        if not decision.allowed:
            with self.store.write() as txn:
                audit_id = audit_log.append(
                    txn, at=now, actor=Actor(str(on_behalf_of), via="service",
                                             service=svc["id"]),
                    actor_partner=svc["partner_id"], action="admin:ActOnBehalf",
                    target=str(resource), partner=self._partner_of(snap, resource),
                    decision="deny", outcome="denied", reasons=decision.reasons,
                    message=f"service {svc['id']} may not act on behalf of {on_behalf_of}")
            raise PermissionDenied(
                f"service {svc['id']} may not act on behalf of user {on_behalf_of}",
                reasons=decision.reasons, audit_id=audit_id)
        return Actor(str(on_behalf_of), via="service", service=svc["id"])

    def change_password(self, actor: Actor, current_password: str, new_password: str) -> Change:
        """A user changes their own password (knowing the current one); other sessions end."""
        now = self.clock()
        check_password_policy(new_password, actor.user, self.settings)
        if not self._check_password(actor.user, current_password, now):
            raise AuthenticationError("the current password is wrong (or the account is locked)")
        hashed = hash_password(new_password, self.settings.scrypt)

        def apply(txn: Txn, snap: Snapshot) -> _Applied:
            self._require_user(txn, actor.user)
            self._put_credential(txn, actor.user, hashed, now)
            self._revoke_sessions(txn, "user_id = ?", (actor.user,), now,
                                  keep=actor.session)
            return _Applied({"password": {"before": None, "after": None}}, graph=False)

        return self._change(actor, "ChangePassword", _user_uid(actor.user), apply,
                            requested={"password": {"before": None, "after": None}})

    def set_password(self, actor: Actor, user_id: str, new_password: str, *,
                     version: int) -> Change:
        """An admin sets a user's password; the user's sessions end."""
        now = self.clock()
        check_password_policy(new_password, str(user_id), self.settings)
        hashed = hash_password(new_password, self.settings.scrypt)

        def apply(txn: Txn, snap: Snapshot) -> _Applied:
            self._require_user(txn, user_id)
            v = txn.update_versioned("users", "id", user_id, version, {"updated_at": now},
                                     f"user {user_id}")
            self._put_credential(txn, user_id, hashed, now)
            txn.execute("DELETE FROM lockouts WHERE user_id = ?", (user_id,))
            self._revoke_sessions(txn, "user_id = ?", (user_id,), now)
            return _Applied({"password": {"before": None, "after": None}}, graph=False,
                            record_version=v)

        return self._change(actor, "SetPassword", _user_uid(user_id), apply,
                            requested={"password": {"before": None, "after": None}})

    def start_password_reset(self, actor: Actor, user_id: str) -> Change:
        """Issue a one-time reset token (``Change.token``) to hand to the user.

        The token expires after ``settings.reset_token_seconds`` (default 1 h);
        an earlier unused token of the same user stops working.
        """
        s = self.settings
        now = self.clock()
        self._rate_limit([(f"reset:user:{user_id}", s.reset_requests, s.reset_window_seconds)],
                         now, "password resets for this user", actor=actor,
                         action="admin:StartPasswordReset", target=_user_uid(str(user_id)))
        return self._issue_reset(actor, "StartPasswordReset", str(user_id),
                                 s.reset_token_seconds)

    def complete_password_reset(self, token: str, new_password: str) -> Change:
        """Set a new password with a reset token; the token then never works again."""
        now = self.clock()
        hashed_token = token_hash(str(token))
        with self.store.read() as txn:
            row = txn.one("SELECT user_id FROM reset_tokens WHERE token_hash = ? AND "
                          "used_at IS NULL AND expires_at > ?", (hashed_token, now))
        if row is None:
            with self.store.write() as txn:
                audit_log.append(txn, at=now, actor=None, actor_partner=None,
                                 action="admin:CompletePasswordReset", target="User::?",
                                 partner=None, decision="deny", outcome="invalid",
                                 message=f"reset token {hashed_token[:8]} not valid")
            raise AuthenticationError(BAD_RESET_TOKEN)
        user_id = row["user_id"]
        check_password_policy(new_password, user_id, self.settings)
        hashed = hash_password(new_password, self.settings.scrypt)

        def apply(txn: Txn, snap: Snapshot) -> _Applied:
            taken = txn.execute(
                "UPDATE reset_tokens SET used_at = ? WHERE token_hash = ? AND used_at IS NULL "
                "AND expires_at > ?", (now, hashed_token, now))
            if taken != 1:
                raise AuthenticationError(BAD_RESET_TOKEN)
            self._put_credential(txn, user_id, hashed, now)
            txn.execute("DELETE FROM lockouts WHERE user_id = ?", (user_id,))
            self._revoke_sessions(txn, "user_id = ?", (user_id,), now)
            return _Applied({"password": {"before": None, "after": None},
                             "reset_token": {"before": None, "after": None}}, graph=False)

        return self._change(Actor(user_id, via="reset-token"), "CompletePasswordReset",
                            _user_uid(user_id), apply,
                            requested={"password": {"before": None, "after": None}})

    def unlock_user(self, actor: Actor, user_id: str, *, version: int) -> Change:
        """Clear a lockout after failed sign-ins."""
        now = self.clock()

        def apply(txn: Txn, snap: Snapshot) -> _Applied:
            self._require_user(txn, user_id)
            before = txn.one("SELECT failed, locked_until FROM lockouts WHERE user_id = ?",
                             (user_id,))
            v = txn.update_versioned("users", "id", user_id, version, {"updated_at": now},
                                     f"user {user_id}")
            txn.execute("DELETE FROM lockouts WHERE user_id = ?", (user_id,))
            locked = bool(before and before["locked_until"] and before["locked_until"] > now)
            return _Applied({"locked": {"before": locked, "after": False}}, graph=False,
                            record_version=v)

        return self._change(actor, "UnlockUser", _user_uid(user_id), apply)

    def create_service(self, actor: Actor, service_id: str, *, partner: str | None = None,
                       name: str = "") -> Change:
        """A service credential (``Change.token``) that may act on behalf of users."""
        _check(_USER_ID, service_id, "service id", "scim-sync")
        if partner is not None:
            _check(_PARTNER_ID, partner, "partner id", "northwind-dist")
        token = new_token()
        now = self.clock()

        def apply(txn: Txn, snap: Snapshot) -> _Applied:
            if partner is not None:
                self._require_partner(txn, partner)
            txn.insert("services", {"id": service_id, "partner_id": partner,
                                    "name": name or service_id,
                                    "token_hash": token_hash(token), "created_at": now})
            return _Applied({"partner": {"before": None, "after": partner},
                             "service_token": {"before": None, "after": None}}, token=token)

        return self._change(actor, "CreateService", EntityUid("Service", service_id), apply,
                            target_partner=partner)

    def revoke_service(self, actor: Actor, service_id: str) -> Change:
        """Stop a service credential from working."""
        now = self.clock()

        def apply(txn: Txn, snap: Snapshot) -> _Applied:
            n = txn.execute("UPDATE services SET revoked_at = ? WHERE id = ? AND "
                            "revoked_at IS NULL", (now, service_id))
            if n != 1:
                raise NotFound(f"no active service {service_id!r}")
            return _Applied({"revoked": {"before": False, "after": True}})

        return self._change(actor, "RevokeService", EntityUid("Service", str(service_id)),
                            apply)

    # ================================================================ partners

    def create_partner(self, actor: Actor, partner_id: str, *, name: str, kind: str,
                       tier: str) -> Change:
        """A new partner (platform admins). Its ceilings follow from kind and tier."""
        _check(_PARTNER_ID, partner_id, "partner id", "northwind-dist")
        fields = self._partner_fields(name=name, kind=kind, tier=tier)
        now = self.clock()

        def apply(txn: Txn, snap: Snapshot) -> _Applied:
            if txn.one("SELECT id FROM partners WHERE id = ?", (partner_id,)):
                raise ConflictError(f"partner {partner_id} already exists")
            txn.insert("partners", {"id": partner_id, **fields, "suspended": 0,
                                    "version": 1, "created_at": now, "updated_at": now})
            return _Applied(audit_log.diff(None, fields, PARTNER_FIELDS), record_version=1)

        return self._change(actor, "CreatePartner", _partner_uid(partner_id), apply,
                            target_partner=partner_id,
                            requested=audit_log.diff(None, fields, PARTNER_FIELDS))

    def update_partner(self, actor: Actor, partner_id: str, *, version: int,
                       name: str | None = None, kind: str | None = None,
                       tier: str | None = None) -> Change:
        """Change a partner's name, kind or tier (platform admins)."""
        fields = {k: v for k, v in self._partner_fields(name=name, kind=kind, tier=tier).items()
                  if v is not None}
        return self._update_partner(actor, "UpdatePartner", partner_id, version, fields)

    def suspend_partner(self, actor: Actor, partner_id: str, *, version: int) -> Change:
        """Deny every user of the partner at once, and end their sessions."""
        return self._update_partner(actor, "SuspendPartner", partner_id, version,
                                    {"suspended": True})

    def reactivate_partner(self, actor: Actor, partner_id: str, *, version: int) -> Change:
        """Lift a suspension."""
        return self._update_partner(actor, "ReactivatePartner", partner_id, version,
                                    {"suspended": False})

    def get_partner(self, actor: Actor, partner_id: str) -> PartnerInfo:
        """One partner, with the version to pass to its next update."""
        self._authorize_read(actor, "ViewPartner", _partner_uid(partner_id))
        with self.store.read() as txn:
            return self._partner_info(self._require_partner(txn, partner_id))

    def list_partners(self, actor: Actor) -> list[PartnerInfo]:
        """The partners the actor may view (their own; every one for platform admins)."""
        snap = self.live.snapshot
        with self.store.read() as txn:
            self._check_actor(txn, actor, self.clock())
            rows = txn.all("SELECT * FROM partners ORDER BY id")
        return [self._partner_info(r) for r in rows
                if self._decide(snap, actor.uid, "ViewPartner", _partner_uid(r["id"]),
                                self._context(actor)).allowed]

    # ================================================================ users

    def create_user(
        self,
        actor: Actor,
        user_id: str,
        *,
        partner: str,
        display_name: str,
        email: str,
        region: str,
        password: str | None = None,
        invite: bool = False,
    ) -> Change:
        """A new active user of ``partner``; with ``invite`` a first-password token in ``.token``.

        Authorized as ``admin:CreateUser`` on the partner. Never a password
        and an invitation together: the invitation sets the password.
        """
        _check(_USER_ID, user_id, "user id", "erin.walsh")
        _check(_PARTNER_ID, partner, "partner id", "northwind-dist")
        details = self._details(display_name=display_name, email=email, region=region)
        if password is not None and invite:
            raise InvalidInput("give a password or invite=True, not both")
        hashed = None
        if password is not None:
            check_password_policy(password, user_id, self.settings)
            hashed = hash_password(password, self.settings.scrypt)
        token = new_token() if invite else None
        now = self.clock()

        def apply(txn: Txn, snap: Snapshot) -> _Applied:
            self._require_partner(txn, partner)
            if txn.one("SELECT id FROM users WHERE id = ?", (user_id,)):
                raise ConflictError(f"user id {user_id} is taken; choose another")
            txn.insert("users", {"id": user_id, "partner_id": partner, **details,
                                 "active": 1, "version": 1, "created_at": now,
                                 "updated_at": now})
            crash_point("create-user:after-insert")
            changes = audit_log.diff(None, {**details, "partner": partner, "active": True},
                                     (*DETAIL_FIELDS, "partner", "active"))
            if hashed is not None:
                self._put_credential(txn, user_id, hashed, now)
                changes["password"] = {"before": None, "after": None}
            if token is not None:
                txn.insert("reset_tokens", {
                    "token_hash": token_hash(token), "user_id": user_id, "created_at": now,
                    "expires_at": now + self.settings.invite_token_seconds})
                changes["reset_token"] = {"before": None, "after": None}
            return _Applied(changes, record_version=1, token=token)

        return self._change(actor, "CreateUser", _partner_uid(partner), apply,
                            target=_user_uid(user_id), target_partner=partner,
                            requested=audit_log.diff(None, details, DETAIL_FIELDS))

    def get_user(self, actor: Actor, user_id: str) -> UserInfo:
        """One user with their current grants, and the version for the next update."""
        self._authorize_read(actor, "ViewUser", _user_uid(user_id))
        with self.store.read() as txn:
            return self._user_info(txn, self._require_user(txn, user_id))

    def list_users(self, actor: Actor, partner: str | None = None) -> list[UserInfo]:
        """The users of ``partner`` (default: the actor's own partner)."""
        partner = self._partner_arg(actor, partner)
        self._authorize_read(actor, "ListUsers", _partner_uid(partner))
        with self.store.read() as txn:
            rows = txn.all("SELECT * FROM users WHERE partner_id = ? ORDER BY id", (partner,))
            return [self._user_info(txn, r) for r in rows]

    def update_user(self, actor: Actor, user_id: str, *, version: int,
                    display_name: str | None = None, email: str | None = None,
                    region: str | None = None) -> Change:
        """Change personal details; only the fields given."""
        fields = {k: v for k, v in self._details(display_name=display_name, email=email,
                                                  region=region).items() if v is not None}
        if not fields:
            raise InvalidInput("nothing to change: give display_name, email or region")
        now = self.clock()

        def apply(txn: Txn, snap: Snapshot) -> _Applied:
            before = self._require_user(txn, user_id)
            v = txn.update_versioned("users", "id", user_id, version,
                                     {**fields, "updated_at": now}, f"user {user_id}")
            return _Applied(audit_log.diff(before, {**before, **fields}, fields),
                            record_version=v)

        return self._change(actor, "UpdateUser", _user_uid(user_id), apply,
                            context={"fields": sorted(fields)},
                            requested={k: {"after": v} for k, v in fields.items()})

    def deactivate_user(self, actor: Actor, user_id: str, *, version: int) -> Change:
        """Deny the user everything from now on, and end their sessions."""
        return self._set_active(actor, "DeactivateUser", user_id, version, False)

    def reactivate_user(self, actor: Actor, user_id: str, *, version: int) -> Change:
        """Let a deactivated user in again (with the grants they still hold)."""
        return self._set_active(actor, "ReactivateUser", user_id, version, True)

    # ================================================================ roles and groups

    def create_role(self, actor: Actor, partner: str, name: str, *,
                    kind: str = "Role") -> Change:
        """A partner's own role or group, ``Role::"<partner>/<name>"``."""
        if kind not in ("Role", "Group"):
            raise InvalidInput("kind must be Role or Group (platform roles are in the files)")
        _check(_PARTNER_ID, partner, "partner id", "northwind-dist")
        _check(_NAME, name, "role name", "buyer")
        role_id = f"{partner}/{name}"

        def apply(txn: Txn, snap: Snapshot) -> _Applied:
            self._require_partner(txn, partner)
            if txn.one("SELECT id FROM roles WHERE kind = ? AND id = ?", (kind, role_id)):
                raise ConflictError(f"{kind}::\"{role_id}\" already exists")
            txn.insert("roles", {"kind": kind, "id": role_id, "partner_id": partner,
                                 "name": name})
            return _Applied({"role": {"before": None, "after": f'{kind}::"{role_id}"'}})

        return self._change(actor, "CreateRole", _partner_uid(partner), apply,
                            target=EntityUid(kind, role_id), target_partner=partner)

    def list_roles(self, actor: Actor, partner: str | None = None) -> list[RoleInfo]:
        """The roles and groups of ``partner`` (default: the actor's own)."""
        partner = self._partner_arg(actor, partner)
        self._authorize_read(actor, "ViewPartner", _partner_uid(partner))
        with self.store.read() as txn:
            rows = txn.all("SELECT * FROM roles WHERE partner_id = ? ORDER BY kind, id",
                           (partner,))
        return [RoleInfo(f'{r["kind"]}::"{r["id"]}"', r["kind"], r["id"], r["name"],
                         r["partner_id"]) for r in rows]

    def assign_role(self, actor: Actor, user_id: str, role: str | EntityUid, *,
                    version: int, expires_at: datetime | None = None) -> Change:
        """Give a user a role, group or platform role, optionally until ``expires_at``.

        Authorized as ``admin:AssignRole`` (``AssignGroup``,
        ``AssignPlatformRole``) on the user with the role in the context.
        Assigning one the user holds already sets its new expiry.
        """
        grant = self._grant_uid(role)
        until = _epoch(expires_at)
        now = self.clock()
        if until is not None and until <= now:
            raise InvalidInput("the expiry is in the past")

        def apply(txn: Txn, snap: Snapshot) -> _Applied:
            user = self._require_user(txn, user_id)
            role_row = self._require_role(txn, grant)
            if role_row["partner_id"] is not None and role_row["partner_id"] != user["partner_id"]:
                raise InvalidInput(f"{grant} belongs to another partner than user {user_id}")
            v = txn.update_versioned("users", "id", user_id, version, {"updated_at": now},
                                     f"user {user_id}")
            old = txn.one("SELECT expires_at FROM memberships WHERE user_id = ? AND kind = ? "
                          "AND role_id = ?", (user_id, grant.type, grant.id))
            txn.execute("DELETE FROM memberships WHERE user_id = ? AND kind = ? AND role_id = ?",
                        (user_id, grant.type, grant.id))
            txn.insert("memberships", {"user_id": user_id, "kind": grant.type,
                                       "role_id": grant.id, "expires_at": until,
                                       "granted_by": actor.user, "granted_at": now})
            before = None if old is None or (old["expires_at"] or now + 1) <= now else {
                "expires_at": old["expires_at"]}
            return _Applied({str(grant): {"before": before, "after": {"expires_at": until}}},
                            record_version=v)

        ctx = {self._grant_key(grant): _entity(grant)}
        if until is not None:
            ctx["expires"] = int(until)
        return self._change(actor, "Assign" + self._grant_action(grant), _user_uid(user_id),
                            apply, context=ctx,
                            requested={str(grant): {"before": None,
                                                    "after": {"expires_at": until}}})

    def revoke_role(self, actor: Actor, user_id: str, role: str | EntityUid, *,
                    version: int) -> Change:
        """Take a role, group or platform role away from a user."""
        grant = self._grant_uid(role)
        now = self.clock()

        def apply(txn: Txn, snap: Snapshot) -> _Applied:
            self._require_user(txn, user_id)
            v = txn.update_versioned("users", "id", user_id, version, {"updated_at": now},
                                     f"user {user_id}")
            n = txn.execute("DELETE FROM memberships WHERE user_id = ? AND kind = ? AND "
                            "role_id = ?", (user_id, grant.type, grant.id))
            if n != 1:
                raise NotFound(f"user {user_id} does not hold {grant}")
            return _Applied({str(grant): {"before": "held", "after": None}}, record_version=v)

        return self._change(actor, "Revoke" + self._grant_action(grant), _user_uid(user_id),
                            apply, context={self._grant_key(grant): _entity(grant)},
                            requested={str(grant): {"before": "held", "after": None}})

    # ================================================================ reports

    def access_report(self, actor: Actor, user_id: str, *,
                      context: Mapping[str, Any] | None = None) -> AccessReport:
        """What the user can do: every allowed (action, resource) over the portal's resources."""
        user = _user_uid(user_id)
        snap = self._authorize_read(actor, "ViewAccess", user)
        if user not in snap.engine.entities:
            raise NotFound(f"no user {user_id!r}")
        entries = self._access(snap, [user], None, context)
        return AccessReport(str(user), tuple(entries), snap.version)

    def who_can(self, actor: Actor, resource: str | EntityUid, *, partner: str | None = None,
                context: Mapping[str, Any] | None = None) -> AccessReport:
        """Which users of ``partner`` (default: the actor's) can act on ``resource``, and how."""
        partner = self._partner_arg(actor, partner)
        target = self._uid(resource, "resource")
        snap = self._authorize_read(actor, "ReviewAccess", _partner_uid(partner))
        users = self._partner_users(snap, partner)
        entries = self._access(snap, users, [target], context)
        return AccessReport(str(target), tuple(entries), snap.version)

    def recertification_report(self, actor: Actor, partner: str | None = None, *,
                               context: Mapping[str, Any] | None = None
                               ) -> RecertificationReport:
        """Every user of the partner with grants and access, for the admin to confirm or revoke."""
        partner = self._partner_arg(actor, partner)
        snap = self._authorize_read(actor, "ReviewAccess", _partner_uid(partner))
        with self.store.read() as txn:
            rows = txn.all("SELECT * FROM users WHERE partner_id = ? ORDER BY id", (partner,))
            users = [self._user_info(txn, r) for r in rows]
        items = tuple(
            RecertificationItem(u, tuple(self._access(snap, [_user_uid(u.id)], None, context)))
            for u in users
        )
        return RecertificationReport(partner, items, snap.version, _now_dt(self.clock()))

    def confirm_access(self, actor: Actor, user_id: str, *, version: int) -> Change:
        """Recertify: the admin confirms the user's current grants are still right."""
        now = self.clock()

        def apply(txn: Txn, snap: Snapshot) -> _Applied:
            self._require_user(txn, user_id)
            v = txn.update_versioned("users", "id", user_id, version, {"updated_at": now},
                                     f"user {user_id}")
            n = txn.execute(
                "UPDATE memberships SET certified_at = ?, certified_by = ? WHERE user_id = ? "
                "AND (expires_at IS NULL OR expires_at > ?)", (now, actor.user, user_id, now))
            return _Applied({"certified": {"before": None, "after": n}}, graph=False,
                            record_version=v)

        return self._change(actor, "ConfirmAccess", _user_uid(user_id), apply)

    # ================================================================ partner policies

    def put_partner_policy(self, actor: Actor, name: str, text: str, *,
                           partner: str | None = None, version: int = 0) -> Change:
        """Store a partner-scope policy document, validated and compiled first.

        ``version`` is the document's version read (0: a new document). The
        text is parsed in the partner's scope, validated against the schema,
        checked for references to other partners and compiled with every
        other policy before it is stored; the partner's limits on policy
        count and total size apply.
        """
        partner = self._partner_arg(actor, partner)
        _check(_NAME, name, "policy name", "orders-team")
        if not isinstance(text, str):
            raise InvalidInput("the policy text must be a string")
        now = self.clock()

        def apply(txn: Txn, snap: Snapshot) -> _Applied:
            self._require_partner(txn, partner)
            old = txn.one("SELECT * FROM partner_policies WHERE partner_id = ? AND name = ?",
                          (partner, name))
            current = 0 if old is None else int(old["version"])
            if current != version:
                raise ConflictError(
                    f"policy {name} of {partner} is at version {current}, not {version}; "
                    "read it again and retry", current_version=current)
            parsed = self._check_partner_policy(txn, snap, partner, name, text)
            ids = dumps([e.id for e in parsed])
            if old is None:
                txn.insert("partner_policies", {"partner_id": partner, "name": name,
                                                "text": text, "policy_ids": ids, "version": 1,
                                                "updated_at": now, "updated_by": actor.user})
            else:
                txn.execute("UPDATE partner_policies SET text = ?, policy_ids = ?, "
                            "version = version + 1, updated_at = ?, updated_by = ? "
                            "WHERE partner_id = ? AND name = ?",
                            (text, ids, now, actor.user, partner, name))
            before = None if old is None else {"version": current,
                                               "policy_ids": json.loads(old["policy_ids"])}
            return _Applied({"policy": {"before": before,
                                        "after": {"version": current + 1,
                                                  "policy_ids": json.loads(ids)}}},
                            record_version=current + 1)

        return self._change(actor, "PutPolicy", _partner_uid(partner), apply,
                            target=EntityUid("Policy", f"{partner}/{name}"),
                            target_partner=partner,
                            requested={"policy": {"after": {"name": name,
                                                            "bytes": len(text.encode())}}})

    def delete_partner_policy(self, actor: Actor, name: str, *, version: int,
                              partner: str | None = None) -> Change:
        """Remove a stored policy document (``version``: the one read)."""
        partner = self._partner_arg(actor, partner)

        def apply(txn: Txn, snap: Snapshot) -> _Applied:
            old = txn.one("SELECT version, policy_ids FROM partner_policies WHERE "
                          "partner_id = ? AND name = ?", (partner, name))
            if old is None:
                raise NotFound(f"partner {partner} has no policy {name!r}")
            if int(old["version"]) != version:
                raise ConflictError(f"policy {name} of {partner} is at version "
                                    f"{old['version']}, not {version}",
                                    current_version=int(old["version"]))
            txn.execute("DELETE FROM partner_policies WHERE partner_id = ? AND name = ?",
                        (partner, name))
            return _Applied({"policy": {"before": {"version": version,
                                                   "policy_ids": json.loads(old["policy_ids"])},
                                        "after": None}})

        return self._change(actor, "DeletePolicy", _partner_uid(partner), apply,
                            target=EntityUid("Policy", f"{partner}/{name}"),
                            target_partner=partner)

    def get_partner_policy(self, actor: Actor, name: str, *,
                           partner: str | None = None) -> PolicyDocument:
        """One stored policy document of the partner (default: the actor's)."""
        partner = self._partner_arg(actor, partner)
        self._authorize_read(actor, "ViewPolicies", _partner_uid(partner))
        with self.store.read() as txn:
            row = txn.one("SELECT * FROM partner_policies WHERE partner_id = ? AND name = ?",
                          (partner, name))
        if row is None:
            raise NotFound(f"partner {partner} has no policy {name!r}")
        return self._policy_doc(row)

    def list_partner_policies(self, actor: Actor, *,
                              partner: str | None = None) -> list[PolicyDocument]:
        """The partner's stored policy documents (default: the actor's partner)."""
        partner = self._partner_arg(actor, partner)
        self._authorize_read(actor, "ViewPolicies", _partner_uid(partner))
        with self.store.read() as txn:
            rows = txn.all("SELECT * FROM partner_policies WHERE partner_id = ? ORDER BY name",
                           (partner,))
        return [self._policy_doc(r) for r in rows]

    # ================================================================ audit

    def audit(self, actor: Actor, *, partner: str | None = None, limit: int = 100,
              before_id: int | None = None) -> list[AuditRecord]:
        """Audit records about the partner's targets or by its people, newest first."""
        partner = self._partner_arg(actor, partner)
        self._authorize_read(actor, "ViewAudit", _partner_uid(partner))
        with self.store.read() as txn:
            return audit_log.query(txn, partner, limit=limit, before_id=before_id)

    # ================================================================ the steps

    def _context(self, actor: Actor | None, extra: Mapping[str, Any] | None = None
                 ) -> dict[str, Any]:
        ctx: dict[str, Any] = {"via": actor.via if actor is not None else "none"}
        if actor is not None and actor.service:
            ctx["service"] = _entity(EntityUid("Service", actor.service))
        if extra:
            ctx.update(extra)
        return ctx

    def _decide(self, snap: Snapshot, principal: EntityUid, operation: str,
                resource: EntityUid, context: Mapping[str, Any]) -> Decision:
        """The engine's answer; a request the engine cannot decide is a deny."""
        action = EntityUid("Action", ADMIN_PREFIX + operation)
        try:
            return snap.engine.is_authorized(principal, action, resource, context)
        except PlainPDPError as err:
            log.warning("admin request %s %s %s cannot be decided (deny): %s",
                        principal, action, resource, err.message)
            return Decision(False, frozenset())

    def _partner_of(self, snap: Snapshot, uid: EntityUid) -> str | None:
        try:
            return snap.engine.partners.partner_of(uid)
        except PlainPDPError:
            return None

    def _check_actor(self, txn: Txn, actor: Actor | None, now: float) -> None:
        """A session or service behind the actor must still be valid, inside this transaction."""
        if actor is None:
            return
        if not isinstance(actor, Actor):
            raise InvalidInput("actor must be a plainpdp.admin.Actor")
        if actor.via == "session":
            row = self._valid_session(txn, actor.session or "", now)
            if row is None or row["user_id"] != actor.user:
                raise AuthenticationError("the session is not valid (unknown, expired or "
                                          "revoked); sign in again")
        elif actor.via == "service":
            row = txn.one("SELECT id FROM services WHERE id = ? AND revoked_at IS NULL",
                          (actor.service or "",))
            if row is None:
                raise AuthenticationError("the service credential is not valid")

    def _valid_session(self, txn: Txn, hashed: str, now: float) -> dict | None:
        return txn.one(
            "SELECT s.user_id FROM sessions s JOIN users u ON u.id = s.user_id "
            "LEFT JOIN partners p ON p.id = u.partner_id "
            "WHERE s.token_hash = ? AND s.revoked_at IS NULL AND s.expires_at > ? "
            "AND u.active = 1 AND (p.id IS NULL OR p.suspended = 0)", (hashed, now))

    def _change(
        self,
        actor: Actor,
        operation: str,
        resource: EntityUid,
        apply: Callable[[Txn, Snapshot], _Applied],
        *,
        context: Mapping[str, Any] | None = None,
        requested: Mapping[str, Any] | None = None,
        target: EntityUid | None = None,
        target_partner: str | None = None,
    ) -> Change:
        """Authorize, apply, audit: one transaction. Raises after the audit is committed."""
        now = self.clock()
        action = ADMIN_PREFIX + operation
        shown = target or resource
        error: AdminError | PlainPDPError | None = None
        applied: _Applied | None = None
        version = 0
        with self.store.write() as txn:
            snap = self.live.refresh(txn=txn)
            actor_partner = self._partner_of(snap, actor.uid) if actor else None
            partner = target_partner or self._partner_of(snap, shown)
            record = {"at": now, "actor": actor, "actor_partner": actor_partner,
                      "action": action, "target": str(shown), "partner": partner}
            try:
                self._check_actor(txn, actor, now)
            except AuthenticationError as err:
                audit_log.append(txn, **record, decision="deny", outcome="unauthenticated",
                                 changes=requested, message=err.message)
                error = err
            if error is None:
                decision = self._decide(snap, actor.uid, operation, resource,
                                        self._context(actor, context))
                if not decision.allowed:
                    audit_id = audit_log.append(txn, **record, decision="deny",
                                                outcome="denied", reasons=decision.reasons,
                                                changes=requested,
                                                message=_denied(actor, action, shown))
                    error = PermissionDenied(_denied(actor, action, shown),
                                             reasons=decision.reasons, audit_id=audit_id)
                else:
                    try:
                        with _savepoint(txn):
                            applied = apply(txn, snap)
                            crash_point("after-change")
                            version = txn.bump(graph=applied.graph)
                            audit_id = audit_log.append(
                                txn, **record, decision="allow", outcome="applied",
                                reasons=decision.reasons, changes=applied.changes,
                                store_version=version)
                    except PlainPDPError as err:  # typed: the caller's to fix
                        applied = None
                        audit_log.append(txn, **record, decision="allow",
                                         outcome=_outcome(err), reasons=decision.reasons,
                                         changes=requested, message=err.message)
                        error = err
        if error is not None:
            raise error
        assert applied is not None
        self.live.refresh()
        return Change(version=version, target=str(shown),
                      audit_id=audit_id, record_version=applied.record_version,
                      token=applied.token)

    def _authorize_read(self, actor: Actor, operation: str, resource: EntityUid) -> Snapshot:
        """Authorize a read on the live engine; a denial is audited, then raised."""
        now = self.clock()
        with self.store.read() as txn:
            self._check_actor(txn, actor, now)
        snap = self.live.snapshot
        decision = self._decide(snap, actor.uid, operation, resource, self._context(actor))
        if decision.allowed:
            return snap
        action = ADMIN_PREFIX + operation
        with self.store.write() as txn:
            audit_id = audit_log.append(
                txn, at=now, actor=actor, actor_partner=self._partner_of(snap, actor.uid),
                action=action, target=str(resource), partner=self._partner_of(snap, resource),
                decision="deny", outcome="denied", reasons=decision.reasons,
                message=_denied(actor, action, resource))
        raise PermissionDenied(_denied(actor, action, resource), reasons=decision.reasons,
                               audit_id=audit_id)

    # ================================================================ helpers

    def _issue_reset(self, actor: Actor, operation: str, user_id: str, ttl: float) -> Change:
        token = new_token()
        now = self.clock()

        def apply(txn: Txn, snap: Snapshot) -> _Applied:
            self._require_user(txn, user_id)
            txn.execute("UPDATE reset_tokens SET used_at = ? WHERE user_id = ? AND "
                        "used_at IS NULL", (now, user_id))
            txn.insert("reset_tokens", {"token_hash": token_hash(token), "user_id": user_id,
                                        "created_at": now, "expires_at": now + ttl})
            return _Applied({"reset_token": {"before": None, "after": None},
                             "expires_at": {"before": None, "after": now + ttl}},
                            graph=False, token=token)

        return self._change(actor, operation, _user_uid(user_id), apply)

    def _check_password(self, user_id: str, password: str, now: float) -> bool:
        """Verify outside any transaction (scrypt is slow); count failures and lock after N."""
        s = self.settings
        with self.store.read() as txn:
            cred = txn.one("SELECT hash, salt, n, r, p FROM credentials WHERE user_id = ?",
                           (str(user_id),))
            lock = txn.one("SELECT failed, locked_until FROM lockouts WHERE user_id = ?",
                           (str(user_id),))
        locked = bool(lock and lock["locked_until"] and lock["locked_until"] > now)
        if cred is None or not isinstance(password, str) or len(password) > \
                s.password_max_length:
            burn_time(s.scrypt)
            ok = False
        else:
            ok = _verify_hash(password, PasswordHash(cred["hash"], cred["salt"], cred["n"],
                                                     cred["r"], cred["p"]))
        if cred is None:
            return False
        with self.store.write() as txn:
            if ok and not locked:
                txn.execute("DELETE FROM lockouts WHERE user_id = ?", (user_id,))
                return True
            if not ok:
                txn.execute("INSERT INTO lockouts (user_id, failed) VALUES (?, 0) "
                            "ON CONFLICT (user_id) DO NOTHING", (user_id,))
                txn.execute("UPDATE lockouts SET failed = failed + 1 WHERE user_id = ?",
                            (user_id,))
                row = txn.one("SELECT failed, locked_until FROM lockouts WHERE user_id = ?",
                              (user_id,))
                if row and row["failed"] >= s.max_failed_signins and not locked:
                    until = now + s.lockout_seconds if s.lockout_seconds > 0 else _LOCKED_FOREVER
                    txn.execute("UPDATE lockouts SET locked_until = ? WHERE user_id = ?",
                                (until, user_id))
                    partner = txn.one("SELECT partner_id FROM users WHERE id = ?", (user_id,))
                    audit_log.append(txn, at=now, actor=None, actor_partner=None,
                                     action="admin:Lockout", target=str(_user_uid(user_id)),
                                     partner=partner["partner_id"] if partner else None,
                                     decision="deny", outcome="applied",
                                     changes={"locked": {"before": False, "after": True}},
                                     message=f"locked after {row['failed']} failed sign-ins")
        return False

    def _rate_limit(self, buckets: list[tuple[str, int, float]], now: float, what: str, *,
                    actor: Actor | None, action: str, target: EntityUid) -> None:
        """Count an attempt in each bucket; refuse (audited) when one is over its limit."""
        limited: RateLimited | None = None
        snap = self.live.snapshot  # before the transaction: it may rebuild
        with self.store.write() as txn:
            oldest = now - max(window for _, _, window in buckets)
            for bucket, _, _ in buckets:
                txn.execute("DELETE FROM rate_events WHERE bucket = ? AND at < ?",
                            (bucket, oldest))
            for bucket, limit, window in buckets:
                row = txn.one("SELECT COUNT(*) AS n, MIN(at) AS first FROM rate_events "
                              "WHERE bucket = ? AND at >= ?", (bucket, now - window))
                if row and row["n"] >= limit:
                    retry = max(1.0, (row["first"] or now) + window - now)
                    limited = RateLimited(f"too many {what}; try again in {retry:.0f} s",
                                          retry_after=retry)
                    break
            if limited is None:
                for bucket, _, _ in buckets:
                    txn.insert("rate_events", {"bucket": bucket, "at": now})
            else:
                audit_log.append(
                    txn, at=now, actor=actor,
                    actor_partner=self._partner_of(snap, actor.uid) if actor else None,
                    action=action, target=str(target), partner=self._partner_of(snap, target),
                    decision="deny", outcome="rate-limited", message=limited.message)
        if limited is not None:
            raise limited

    def _put_credential(self, txn: Txn, user_id: str, hashed: PasswordHash, now: float) -> None:
        txn.execute("DELETE FROM credentials WHERE user_id = ?", (user_id,))
        txn.insert("credentials", {"user_id": user_id, "hash": hashed.hash, "salt": hashed.salt,
                                   "n": hashed.n, "r": hashed.r, "p": hashed.p,
                                   "updated_at": now})

    def _revoke_sessions(self, txn: Txn, where: str, params: tuple, now: float,
                         keep: str | None = None) -> int:
        sql = f"UPDATE sessions SET revoked_at = ? WHERE revoked_at IS NULL AND {where}"
        args: tuple = (now, *params)
        if keep:
            sql += " AND token_hash != ?"
            args += (keep,)
        return txn.execute(sql, args)

    def _update_partner(self, actor: Actor, operation: str, partner_id: str, version: int,
                        fields: dict[str, Any]) -> Change:
        if not fields:
            raise InvalidInput("nothing to change: give name, kind or tier")
        now = self.clock()

        def apply(txn: Txn, snap: Snapshot) -> _Applied:
            before = self._require_partner(txn, partner_id)
            stored = {k: int(v) if isinstance(v, bool) else v for k, v in fields.items()}
            v = txn.update_versioned("partners", "id", partner_id, version,
                                     {**stored, "updated_at": now}, f"partner {partner_id}")
            if fields.get("suspended"):
                self._revoke_sessions(
                    txn, "user_id IN (SELECT id FROM users WHERE partner_id = ?)",
                    (partner_id,), now)
            old = {k: bool(before[k]) if k == "suspended" else before[k] for k in fields}
            return _Applied(audit_log.diff(old, fields, fields), record_version=v)

        return self._change(actor, operation, _partner_uid(partner_id), apply,
                            requested={k: {"after": v} for k, v in fields.items()})

    def _set_active(self, actor: Actor, operation: str, user_id: str, version: int,
                    active: bool) -> Change:
        now = self.clock()

        def apply(txn: Txn, snap: Snapshot) -> _Applied:
            before = self._require_user(txn, user_id)
            v = txn.update_versioned("users", "id", user_id, version,
                                     {"active": int(active), "updated_at": now},
                                     f"user {user_id}")
            if not active:
                self._revoke_sessions(txn, "user_id = ?", (user_id,), now)
            return _Applied({"active": {"before": bool(before["active"]), "after": active}},
                            record_version=v)

        return self._change(actor, operation, _user_uid(user_id), apply,
                            requested={"active": {"after": active}})

    def _partner_arg(self, actor: Actor, partner: str | None) -> str:
        if partner is not None:
            return _check(_PARTNER_ID, partner, "partner id", "northwind-dist")
        own = self._partner_of(self.live.snapshot, actor.uid)
        if own is None:
            raise InvalidInput("name the partner: you are not in one (platform staff)")
        return own

    def _partner_fields(self, **fields: Any) -> dict[str, Any]:
        for key, value in fields.items():
            if value is not None and (not isinstance(value, str) or not value.strip()
                                      or len(value) > 200):
                raise InvalidInput(f"partner {key} must be non-empty text of at most 200 "
                                   "characters")
        return fields

    def _details(self, **fields: Any) -> dict[str, Any]:
        for key, value in fields.items():
            if value is None:
                continue
            if not isinstance(value, str) or not value.strip() or len(value) > 200:
                raise InvalidInput(f"{key} must be non-empty text of at most 200 characters")
            if key == "email" and not _EMAIL.match(value):
                raise InvalidInput(f"email {value!r} is not an e-mail address")
        return fields

    def _uid(self, value: str | EntityUid, role: str) -> EntityUid:
        try:
            return to_uid(value, role)
        except PlainPDPError as err:
            raise InvalidInput(err.message) from None

    def _grant_uid(self, role: str | EntityUid) -> EntityUid:
        uid = self._uid(role, "role")
        if uid.type not in GRANT_KINDS:
            raise InvalidInput(f"{uid} is not a role: give a Role, Group or PlatformRole uid, "
                               'e.g. Role::"northwind-dist/buyer"')
        return uid

    @staticmethod
    def _grant_action(grant: EntityUid) -> str:
        return {"Role": "Role", "Group": "Group", "PlatformRole": "PlatformRole"}[grant.type]

    @staticmethod
    def _grant_key(grant: EntityUid) -> str:
        return "group" if grant.type == "Group" else "role"

    def _require_partner(self, txn: Txn, partner_id: str) -> dict:
        row = txn.one("SELECT * FROM partners WHERE id = ?", (str(partner_id),))
        if row is None:
            raise NotFound(f"no partner {partner_id!r}")
        return row

    def _require_user(self, txn: Txn, user_id: str) -> dict:
        row = txn.one("SELECT * FROM users WHERE id = ?", (str(user_id),))
        if row is None:
            raise NotFound(f"no user {user_id!r}")
        return row

    def _require_role(self, txn: Txn, grant: EntityUid) -> dict:
        row = txn.one("SELECT * FROM roles WHERE kind = ? AND id = ?", (grant.type, grant.id))
        if row is None:
            raise NotFound(f"no {grant}")
        return row

    def _partner_info(self, row: Mapping[str, Any]) -> PartnerInfo:
        return PartnerInfo(row["id"], row["name"], row["kind"], row["tier"],
                           bool(row["suspended"]), int(row["version"]),
                           _now_dt(row["created_at"]), _now_dt(row["updated_at"]))

    def _user_info(self, txn: Txn, row: Mapping[str, Any]) -> UserInfo:
        now = self.clock()
        grants = []
        for m in txn.all("SELECT m.*, r.partner_id FROM memberships m JOIN roles r ON "
                         "r.kind = m.kind AND r.id = m.role_id WHERE m.user_id = ? "
                         "ORDER BY m.kind, m.role_id", (row["id"],)):
            if m["expires_at"] is not None and m["expires_at"] <= now:
                continue  # lapsed
            grants.append(Grant(
                f'{m["kind"]}::"{m["role_id"]}"', m["kind"], m["partner_id"],
                _now_dt(m["expires_at"]) if m["expires_at"] is not None else None,
                m["granted_by"], _now_dt(m["granted_at"]),
                _now_dt(m["certified_at"]) if m["certified_at"] is not None else None,
                m["certified_by"]))
        lock = txn.one("SELECT locked_until FROM lockouts WHERE user_id = ?", (row["id"],))
        has_password = txn.one("SELECT 1 AS x FROM credentials WHERE user_id = ?",
                               (row["id"],)) is not None
        return UserInfo(
            id=row["id"], partner=row["partner_id"], display_name=row["display_name"],
            email=row["email"], region=row["region"], active=bool(row["active"]),
            locked=bool(lock and lock["locked_until"] and lock["locked_until"] > now),
            has_password=has_password, version=int(row["version"]), grants=tuple(grants),
            created_at=_now_dt(row["created_at"]), updated_at=_now_dt(row["updated_at"]))

    def _policy_doc(self, row: Mapping[str, Any]) -> PolicyDocument:
        return PolicyDocument(row["partner_id"], row["name"], row["text"], int(row["version"]),
                              tuple(json.loads(row["policy_ids"])), _now_dt(row["updated_at"]),
                              row["updated_by"])

    def _partner_users(self, snap: Snapshot, partner: str) -> list[EntityUid]:
        ents = snap.engine.entities
        p = _partner_uid(partner)
        return sorted(uid for uid in ents if uid.type == "User" and p in ents.ancestors(uid))

    def _access(self, snap: Snapshot, principals: Iterable[EntityUid],
                resources: Iterable[EntityUid] | None,
                context: Mapping[str, Any] | None) -> list[AccessEntry]:
        """Allowed (principal, action, resource) over the portal's (non-admin) actions.

        With no ``resources``: what the principals can do, through
        ``engine.allowed_resources`` for every action and resource type.
        With ``resources``: who of the principals can act on them, through
        ``engine.who_can``. Each answer is then decided once more for its
        reasons (the policies that allowed it).
        """
        engine = snap.engine
        schema = engine.schema
        ctx = dict(self.report_context if context is None else context)
        found: list[tuple[EntityUid, EntityUid, EntityUid]] = []
        if resources is None:
            for principal in principals:
                for action in self._portal_actions(schema):
                    spec = schema.action(action)
                    if principal.type not in spec.principal_types:
                        continue
                    for t in spec.resource_types:
                        found += [(principal, action, r) for r in
                                  engine.allowed_resources(principal, action, t, ctx)]
        else:
            wanted = set(principals)
            types = {p.type for p in wanted}
            for resource in resources:
                for action in self._portal_actions(schema):
                    spec = schema.action(action)
                    if resource.type not in spec.resource_types:
                        continue
                    for t in sorted(types & set(spec.principal_types)):
                        found += [(p, action, resource) for p in
                                  engine.who_can(action, resource, t, ctx) if p in wanted]
        found.sort(key=lambda x: (str(x[0]), str(x[1]), str(x[2])))
        decisions = engine.is_authorized_batch([(p, a, r, ctx) for p, a, r in found])
        return [AccessEntry(str(p), str(a), str(r), tuple(sorted(d.reasons)))
                for (p, a, r), d in zip(found, decisions, strict=True) if d.allowed]

    @staticmethod
    def _portal_actions(schema: Schema | None) -> list[EntityUid]:
        if schema is None:
            return []
        return sorted(uid for uid, spec in schema.actions.items()
                      if not uid.id.startswith(ADMIN_PREFIX) and spec.principal_types)

    def _check_partner_policy(self, txn: Txn, snap: Snapshot, partner: str, name: str,
                              text: str) -> PolicySet:
        """Parse, limit, validate, scope-check and compile a partner's new document."""
        s = self.settings
        others = txn.all("SELECT name, text, policy_ids FROM partner_policies WHERE "
                         "partner_id = ? AND name != ?", (partner, name))
        size = len(text.encode("utf-8")) + sum(len(o["text"].encode("utf-8")) for o in others)
        if size > s.max_partner_policy_bytes:
            raise LimitExceeded(f"partner {partner}'s stored policies would be {size} bytes; "
                                f"the limit is {s.max_partner_policy_bytes}")
        parsed = PolicySet.from_text(text, partner=partner, source=stored_source(partner, name))
        count = len(parsed) + len(parsed.templates) + sum(
            len(json.loads(o["policy_ids"])) for o in others)
        if count > s.max_partner_policies:
            raise LimitExceeded(f"partner {partner} would have {count} stored policies; "
                                f"the limit is {s.max_partner_policies}")
        if len(parsed) == 0:
            raise InvalidInput("the text holds no policy; delete the document instead")
        if snap.engine.schema is not None:
            validate(parsed, snap.engine.schema)
        problems = check_scopes(parsed, snap.engine.entities, snap.engine.partner_type)
        if problems:
            diags = finish_diagnostics(problems)
            raise ValidationError(f"policy {name}: {diags[0].message}", diags)
        src = stored_source(partner, name)
        rest = PolicySet([e for e in snap.policies if e.source != src])
        compile_policies(rest | parsed)  # duplicate ids raise PolicySetError here
        return parsed


class _savepoint:
    """``SAVEPOINT``: a failed change rolls back to here; the audit record stays."""

    def __init__(self, txn: Txn):
        self.txn = txn

    def __enter__(self) -> None:
        self.txn.execute("SAVEPOINT admin_op")

    def __exit__(self, exc_type: Any, *rest: Any) -> None:
        if exc_type is not None:
            self.txn.execute("ROLLBACK TO admin_op")
        self.txn.execute("RELEASE admin_op")


def _denied(actor: Actor | None, action: str, target: EntityUid) -> str:
    who = f"user {actor.user}" if actor is not None else "nobody"
    return f"{who} may not {action} on {target}"


def _outcome(err: Exception) -> str:
    if isinstance(err, ConflictError):
        return "conflict"
    if isinstance(err, NotFound):
        return "not-found"
    if isinstance(err, AuthenticationError):
        return "unauthenticated"
    if isinstance(err, AdminError) and not isinstance(
            err, (InvalidInput, PasswordPolicyError, LimitExceeded)):
        return "failed"
    return "invalid"

