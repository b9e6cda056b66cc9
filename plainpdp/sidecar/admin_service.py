"""``plainpdp.v1.PartnerAdminService``, and the sidecar's store-backed snapshots.

With a store configured (``[admin] store``, ``plainpdp serve --store``), the
worker's snapshots come from :class:`StoreReloader`: policies and schema
from the files (hot reloaded as before, the last good set kept serving),
the entity graph from the admin store. A change committed by any process
sharing the store reaches this worker's engine within the store's poll
interval (0.2 s by default): the live engine swaps one snapshot reference.

The handlers are thin: credential from metadata (never from a request
field), convert, call :class:`plainpdp.admin.AdminService` in a thread (the
store and scrypt block), convert back; errors map to status codes in one
place (:meth:`PartnerAdminServicer._call`).
"""

from __future__ import annotations

import json
import logging
import os
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from time import perf_counter
from typing import TYPE_CHECKING, Any

import grpc
from google.protobuf.timestamp_pb2 import Timestamp

from .._generated.plainpdp.v1 import admin_pb2 as apb
from .._generated.plainpdp.v1 import admin_pb2_grpc as apb_grpc
from .._generated.plainpdp.v1 import values_pb2 as vpb
from ..admin import (
    AdminService,
    AdminSettings,
    AuthenticationError,
    ConflictError,
    LimitExceeded,
    NotFound,
    PermissionDenied,
    RateLimited,
    StoreError,
    open_store,
)
from ..admin.model import AccessEntry, Change, PartnerInfo, PolicyDocument, UserInfo
from ..admin.seed import load_entities_json, seed_store
from ..errors import PlainPDPError
from ..evaluate.request import to_uid
from ..project import ENTITIES_FILE, load_project
from .convert import check_to_args, decision_to_proto, record_to_json, uid_from_proto
from .reload import Reloader, Snapshot, Source
from .service import WORKER_KEY

if TYPE_CHECKING:
    from .server import Worker

log = logging.getLogger("plainpdp.sidecar")

SERVICE_NAME = apb.DESCRIPTOR.services_by_name["PartnerAdminService"].full_name
AUTHORIZATION = "authorization"
ON_BEHALF_OF = "x-plainpdp-on-behalf-of"
RETRY_AFTER = "retry-after"
AUTO = "auto"
OFF = "off"
AUTO_PATH = Path(".plainpdp") / "store.sqlite"
Code = grpc.StatusCode


# ------------------------------------------------------------------ snapshots from the store


@dataclass(frozen=True)
class StoreSource(Source):
    """A :class:`Source` whose entities come from the admin store at ``store``."""

    store: str = ""


class StoreReloader(Reloader):
    """The sidecar's reloader over the admin store (same interface as :class:`Reloader`).

    File changes go through :meth:`Reloader.poll` (debounced, last good kept);
    store changes arrive from the live engine's watcher and swap at once.
    """

    def __init__(self, source: StoreSource, *, interval: float, settings: AdminSettings,
                 on_reload: Callable[[Snapshot], None] | None = None,
                 on_failure: Callable[[BaseException], None] | None = None):
        super().__init__(source, interval=interval, on_reload=on_reload, on_failure=on_failure)
        self.settings = settings
        self.admin: AdminService | None = None
        self._outer_source = source
        self.source = _Loader(self)  # type: ignore[assignment]

    def entities_file(self) -> Path | None:
        src = self._outer_source
        if src.entities:
            return Path(src.entities)
        candidate = src.root() / ENTITIES_FILE
        return candidate if candidate.is_file() else None

    def load(self, generation: int) -> Snapshot:
        """Files -> policies and schema; the entities file synced into the store."""
        src = self._outer_source
        project = load_project(src.root(), schema=src.schema, entities=src.entities)
        now = time.time()
        if self.admin is None:
            store = open_store(src.store, busy_timeout=self.settings.busy_timeout_seconds)
            try:
                entities = self.entities_file()
                if entities is not None:
                    seed_store(store, load_entities_json(entities), now=now)
                self.admin = AdminService(store, project.policies, schema=project.schema,
                                          settings=self.settings, watch=False)
            except BaseException:
                store.close()
                raise
            self.admin.live.on_change(self._store_changed)
        else:
            entities = self.entities_file()
            if entities is not None:
                seed_store(self.admin.store, load_entities_json(entities), now=now)
            self.admin.live.set_base(project.policies, project.schema)
        return self._snapshot(generation)

    def _snapshot(self, generation: int) -> Snapshot:
        assert self.admin is not None
        live = self.admin.live.snapshot
        return Snapshot(engine=live.engine, policy_version=live.policies.fingerprint,
                        generation=generation, loaded_at=time.time(),
                        policy_count=len(live.policies))

    def _store_changed(self, _live: Any) -> None:
        if self.current is None:
            return
        snap = self._snapshot(self._next_generation())
        self.current = snap  # the one swap
        if self._on_reload is not None:
            self._on_reload(snap)

    def start(self) -> None:
        super().start()
        if self.admin is not None:
            self.admin.live.start()

    def stop(self) -> None:
        super().stop()
        if self.admin is not None:
            self.admin.close()


class _Loader:
    """What :class:`Reloader` calls ``source``: file signature from the files, load via us."""

    def __init__(self, reloader: StoreReloader):
        self._reloader = reloader

    def signature(self) -> tuple:
        return self._reloader._outer_source.signature()

    def root(self) -> Path:
        return self._reloader._outer_source.root()

    def load(self, generation: int) -> Snapshot:
        return self._reloader.load(generation)


def store_reloader(worker: Worker, default: Reloader) -> Reloader:
    """The worker's reloader: over the store the config names, else ``default`` (files)."""
    setting = worker.config.admin.store.strip()
    if not setting or setting == OFF:
        return default
    path = AUTO_PATH if setting == AUTO else Path(setting)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with open(path, "ab"):
            pass
    except OSError as err:
        if setting == AUTO:
            log.warning("no admin store: cannot create %s (%s); serving entities from the "
                        "files. Pass --store PATH to use one.", path, err)
            return default
        raise StoreError(f"admin.store: cannot create {path}: {err}") from None
    p = worker.config.policies
    base = worker.source
    source = StoreSource(base.policies, base.entities, base.schema, store=str(path))
    settings = AdminSettings(poll_seconds=worker.config.admin.poll_seconds)
    log.info("admin store %s (entities from the store; changes seen within %.1fs)",
             path, settings.poll_seconds)
    return StoreReloader(source, interval=p.reload_interval_seconds, settings=settings,
                         on_reload=worker._reloaded, on_failure=worker._reload_failed)


# ------------------------------------------------------------------ conversions


def _ts(value: datetime | None) -> Timestamp | None:
    if value is None:
        return None
    ts = Timestamp()
    ts.FromDatetime(value.astimezone(UTC).replace(tzinfo=None))
    return ts


def _uid_msg(text: str) -> vpb.EntityUid:
    uid = to_uid(text, "uid")
    return vpb.EntityUid(type=uid.type, id=uid.id)


def _change(c: Change) -> apb.ChangeResponse:
    return apb.ChangeResponse(store_version=c.version, target=c.target, audit_id=c.audit_id,
                              record_version=c.record_version, one_time_token=c.token or "")


def _partner(p: PartnerInfo) -> apb.PartnerRecord:
    return apb.PartnerRecord(id=p.id, name=p.name, kind=p.kind, tier=p.tier,
                             suspended=p.suspended, version=p.version,
                             created_at=_ts(p.created_at), updated_at=_ts(p.updated_at))


def _user(u: UserInfo) -> apb.UserRecord:
    grants = [apb.GrantRecord(role=_uid_msg(g.uid), partner=g.partner or "",
                              expires_at=_ts(g.expires_at), granted_by=g.granted_by or "",
                              granted_at=_ts(g.granted_at), certified_at=_ts(g.certified_at),
                              certified_by=g.certified_by or "") for g in u.grants]
    return apb.UserRecord(id=u.id, partner=u.partner or "", display_name=u.display_name,
                          email=u.email, region=u.region, active=u.active, locked=u.locked,
                          has_password=u.has_password, version=u.version, grants=grants,
                          created_at=_ts(u.created_at), updated_at=_ts(u.updated_at))


def _entries(entries: tuple[AccessEntry, ...]) -> list[apb.AccessEntry]:
    return [apb.AccessEntry(principal=_uid_msg(e.principal), action=_uid_msg(e.action),
                            resource=_uid_msg(e.resource), reasons=list(e.reasons))
            for e in entries]


def _policy(d: PolicyDocument) -> apb.PartnerPolicy:
    return apb.PartnerPolicy(partner=d.partner, name=d.name, text=d.text, version=d.version,
                             policy_ids=list(d.policy_ids), updated_at=_ts(d.updated_at),
                             updated_by=d.updated_by or "")


def _opt(text: str) -> str | None:
    return text or None


def _version(value: int, what: str = "expected_version") -> int:
    if value <= 0:
        raise _BadRequest(f"{what} is required: the record version you read (1 or more)")
    return int(value)


def _context(request: Any, depth: int) -> dict | None:
    if request.HasField("context"):
        return record_to_json(request.context.fields, "context", depth)
    return None


class _BadRequest(PlainPDPError):
    """A request message that cannot be used as given."""


# ------------------------------------------------------------------ the servicer


class PartnerAdminServicer(apb_grpc.PartnerAdminServiceServicer):
    """``plainpdp.v1.PartnerAdminService`` over the worker's admin store."""

    def __init__(self, worker: Worker):
        self.worker = worker
        self.metrics = worker.metrics
        self.depth = worker.config.server.max_value_depth
        self.max_bytes = worker.config.server.max_request_bytes
        self._md: tuple = (((WORKER_KEY, str(os.getpid())),)
                           if worker.config.server.worker_metadata else ())
        # Admin calls run in the server's handler threads and some are slow on
        # purpose (scrypt): at most half the threads may run them, so a burst of
        # sign-ins never leaves authorization checks waiting for a thread.
        self.slots = max(1, worker.config.server.threads // 2)
        self._slots = threading.BoundedSemaphore(self.slots)

    def _admin(self) -> AdminService:
        admin = getattr(self.worker.reloader, "admin", None)
        if admin is None:
            raise _Unavailable()
        return admin

    def _actor(self, admin: AdminService, context: Any):
        md = {k.lower(): v for k, v in (context.invocation_metadata() or ())}
        auth = md.get(AUTHORIZATION, "")
        scheme, _, token = auth.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise AuthenticationError("no credential: send metadata `authorization: Bearer "
                                      "<session token>` (from SignIn)")
        on_behalf = md.get(ON_BEHALF_OF)
        if on_behalf:
            return admin.authenticate_service(token.strip(), on_behalf)
        return admin.authenticate(token.strip())

    def _call(self, context: Any, method: str, request: Any,
              work: Callable[[AdminService, Any], Any], *, auth: bool = True) -> Any:
        """Run ``work(admin, actor)`` (in the server's handler thread); map errors
        to status codes."""
        started = perf_counter()
        if not self._slots.acquire(blocking=False):
            self.metrics.observe(f"admin.{method}", Code.RESOURCE_EXHAUSTED.name,
                                 perf_counter() - started)
            context.set_trailing_metadata(self._md + ((RETRY_AFTER, "1"),))
            context.abort(Code.RESOURCE_EXHAUSTED,
                          f"this worker runs at most {self.slots} admin calls at once (half "
                          "its server.threads, so authorization checks always find a "
                          "thread); retry shortly")
        try:
            return self._run(context, method, request, work, auth, started)
        finally:
            self._slots.release()

    def _run(self, context: Any, method: str, request: Any,
             work: Callable[[AdminService, Any], Any], auth: bool, started: float) -> Any:
        """``_call`` holding an admin slot."""
        code, message, md = Code.OK, "", ()
        try:
            size = request.ByteSize()
            if size > self.max_bytes:
                raise _BadRequest(f"request is {size} bytes; the limit is "
                                  f"{self.max_bytes} (server.max_request_bytes)")
            admin = self._admin()
            actor = self._actor(admin, context) if auth else None
            result = work(admin, actor)
        except _Unavailable:
            code, message = Code.UNAVAILABLE, "this sidecar has no admin store (--store PATH)"
        except AuthenticationError as err:
            code, message = Code.UNAUTHENTICATED, err.message
        except PermissionDenied as err:
            code, message = Code.PERMISSION_DENIED, err.message
        except ConflictError as err:
            code, message = Code.ABORTED, err.message
        except NotFound as err:
            code, message = Code.NOT_FOUND, err.message
        except RateLimited as err:
            code, message = Code.RESOURCE_EXHAUSTED, err.message
            md = ((RETRY_AFTER, str(int(err.retry_after + 0.999))),)
        except LimitExceeded as err:
            code, message = Code.RESOURCE_EXHAUSTED, err.message
        except StoreError as err:
            code, message = Code.UNAVAILABLE, err.message
        except PlainPDPError as err:
            code, message = Code.INVALID_ARGUMENT, _rendered(err)
        except Exception:  # noqa: BLE001 - a bug: generic message, detail in our log
            log.exception("internal error in PartnerAdminService/%s", method)
            code, message = Code.INTERNAL, "internal error (details are in the sidecar log)"
        self.metrics.observe(f"admin.{method}", code.name, perf_counter() - started)
        if self._md or md:
            context.set_trailing_metadata(self._md + md)
        if code is not Code.OK:
            context.abort(code, message)  # raises: the call ends here
        return result

    # ------------------------------------------------------------ credentials

    def SignIn(self, request, context):
        peer = context.peer() or ""

        def work(admin, _):
            s = admin.sign_in(request.user_id, request.password, source=peer.rsplit(":", 1)[0])
            return apb.SignInResponse(session_token=s.token, user_id=s.user,
                                      expires_at=_ts(s.expires_at))
        return self._call(context, "SignIn", request, work, auth=False)

    def SignOut(self, request, context):
        def work(admin, actor):
            md = {k.lower(): v for k, v in (context.invocation_metadata() or ())}
            admin.sign_out(md.get(AUTHORIZATION, "").partition(" ")[2].strip())
            return apb.SignOutResponse()
        return self._call(context, "SignOut", request, work)

    def ChangePassword(self, request, context):
        return self._call(context, "ChangePassword", request, lambda a, actor: _change(
            a.change_password(actor, request.current_password, request.new_password)))

    def CompletePasswordReset(self, request, context):
        return self._call(context, "CompletePasswordReset", request, lambda a, _: _change(
            a.complete_password_reset(request.reset_token, request.new_password)), auth=False)

    # ------------------------------------------------------------ partners

    def CreatePartner(self, request, context):
        return self._call(context, "CreatePartner", request, lambda a, actor: _change(
            a.create_partner(actor, request.partner_id, name=request.name, kind=request.kind,
                             tier=request.tier)))

    def UpdatePartner(self, request, context):
        return self._call(context, "UpdatePartner", request, lambda a, actor: _change(
            a.update_partner(actor, request.partner_id, version=_version(request.expected_version),
                             name=_opt(request.name), kind=_opt(request.kind),
                             tier=_opt(request.tier))))

    def SuspendPartner(self, request, context):
        return self._call(context, "SuspendPartner", request, lambda a, actor: _change(
            a.suspend_partner(actor, request.partner_id,
                              version=_version(request.expected_version))))

    def ReactivatePartner(self, request, context):
        return self._call(context, "ReactivatePartner", request, lambda a, actor: _change(
            a.reactivate_partner(actor, request.partner_id,
                                 version=_version(request.expected_version))))

    def GetPartner(self, request, context):
        return self._call(context, "GetPartner", request, lambda a, actor: _partner(
            a.get_partner(actor, request.partner_id)))

    def ListPartners(self, request, context):
        return self._call(context, "ListPartners", request, lambda a, actor:
                          apb.ListPartnersResponse(
                              partners=[_partner(p) for p in a.list_partners(actor)]))

    # ------------------------------------------------------------ users

    def CreateUser(self, request, context):
        return self._call(context, "CreateUser", request, lambda a, actor: _change(
            a.create_user(actor, request.user_id, partner=request.partner,
                          display_name=request.display_name, email=request.email,
                          region=request.region, invite=request.invite)))

    def GetUser(self, request, context):
        return self._call(context, "GetUser", request,
                          lambda a, actor: _user(a.get_user(actor, request.user_id)))

    def ListUsers(self, request, context):
        return self._call(context, "ListUsers", request, lambda a, actor:
                          apb.ListUsersResponse(users=[
                              _user(u) for u in a.list_users(actor, _opt(request.partner))]))

    def UpdateUser(self, request, context):
        return self._call(context, "UpdateUser", request, lambda a, actor: _change(
            a.update_user(actor, request.user_id, version=_version(request.expected_version),
                          display_name=_opt(request.display_name), email=_opt(request.email),
                          region=_opt(request.region))))

    def DeactivateUser(self, request, context):
        return self._call(context, "DeactivateUser", request, lambda a, actor: _change(
            a.deactivate_user(actor, request.user_id,
                              version=_version(request.expected_version))))

    def ReactivateUser(self, request, context):
        return self._call(context, "ReactivateUser", request, lambda a, actor: _change(
            a.reactivate_user(actor, request.user_id,
                              version=_version(request.expected_version))))

    def UnlockUser(self, request, context):
        return self._call(context, "UnlockUser", request, lambda a, actor: _change(
            a.unlock_user(actor, request.user_id, version=_version(request.expected_version))))

    def SetPassword(self, request, context):
        return self._call(context, "SetPassword", request, lambda a, actor: _change(
            a.set_password(actor, request.user_id, request.new_password,
                           version=_version(request.expected_version))))

    def StartPasswordReset(self, request, context):
        return self._call(context, "StartPasswordReset", request, lambda a, actor: _change(
            a.start_password_reset(actor, request.user_id)))

    def CreateService(self, request, context):
        return self._call(context, "CreateService", request, lambda a, actor: _change(
            a.create_service(actor, request.service_id, partner=_opt(request.partner),
                             name=request.name)))

    def RevokeService(self, request, context):
        return self._call(context, "RevokeService", request, lambda a, actor: _change(
            a.revoke_service(actor, request.service_id)))

    # ------------------------------------------------------------ roles

    def CreateRole(self, request, context):
        return self._call(context, "CreateRole", request, lambda a, actor: _change(
            a.create_role(actor, request.partner, request.name, kind=request.kind or "Role")))

    def ListRoles(self, request, context):
        def work(a, actor):
            roles = a.list_roles(actor, _opt(request.partner))
            return apb.ListRolesResponse(roles=[
                apb.RoleRecord(uid=_uid_msg(r.uid), name=r.name, partner=r.partner or "")
                for r in roles])
        return self._call(context, "ListRoles", request, work)

    def AssignRole(self, request, context):
        def work(a, actor):
            until = (request.expires_at.ToDatetime(tzinfo=UTC)
                     if request.HasField("expires_at") else None)
            return _change(a.assign_role(actor, request.user_id,
                                         uid_from_proto(request.role, "role"),
                                         version=_version(request.expected_version),
                                         expires_at=until))
        return self._call(context, "AssignRole", request, work)

    def RevokeRole(self, request, context):
        return self._call(context, "RevokeRole", request, lambda a, actor: _change(
            a.revoke_role(actor, request.user_id, uid_from_proto(request.role, "role"),
                          version=_version(request.expected_version))))

    # ------------------------------------------------------------ reports

    def AccessReport(self, request, context):
        def work(a, actor):
            r = a.access_report(actor, request.user_id, context=_context(request, self.depth))
            return apb.AccessReportResponse(subject=r.subject, entries=_entries(r.entries),
                                            store_version=r.version)
        return self._call(context, "AccessReport", request, work)

    def WhoCanAccess(self, request, context):
        def work(a, actor):
            r = a.who_can(actor, uid_from_proto(request.resource, "resource"),
                          partner=_opt(request.partner), context=_context(request, self.depth))
            return apb.AccessReportResponse(subject=r.subject, entries=_entries(r.entries),
                                            store_version=r.version)
        return self._call(context, "WhoCanAccess", request, work)

    def RecertificationReport(self, request, context):
        def work(a, actor):
            r = a.recertification_report(actor, _opt(request.partner),
                                         context=_context(request, self.depth))
            return apb.RecertificationReportResponse(
                partner=r.partner, store_version=r.version, generated_at=_ts(r.generated_at),
                items=[apb.RecertificationItem(user=_user(i.user), access=_entries(i.access))
                       for i in r.items])
        return self._call(context, "RecertificationReport", request, work)

    def ConfirmAccess(self, request, context):
        return self._call(context, "ConfirmAccess", request, lambda a, actor: _change(
            a.confirm_access(actor, request.user_id, version=_version(request.expected_version))))

    # ------------------------------------------------------------ partner policies

    def PutPartnerPolicy(self, request, context):
        return self._call(context, "PutPartnerPolicy", request, lambda a, actor: _change(
            a.put_partner_policy(actor, request.name, request.text,
                                 partner=_opt(request.partner),
                                 version=int(request.expected_version))))

    def GetPartnerPolicy(self, request, context):
        return self._call(context, "GetPartnerPolicy", request, lambda a, actor: _policy(
            a.get_partner_policy(actor, request.name, partner=_opt(request.partner))))

    def ListPartnerPolicies(self, request, context):
        return self._call(context, "ListPartnerPolicies", request, lambda a, actor:
                          apb.ListPartnerPoliciesResponse(policies=[
                              _policy(d) for d in a.list_partner_policies(
                                  actor, partner=_opt(request.partner))]))

    def DeletePartnerPolicy(self, request, context):
        return self._call(context, "DeletePartnerPolicy", request, lambda a, actor:
                          _change(a.delete_partner_policy(
                              actor, request.name,
                              version=_version(request.expected_version),
                              partner=_opt(request.partner))))

    # ------------------------------------------------------------ audit

    def ListAudit(self, request, context):
        def work(a, actor):
            records = a.audit(actor, partner=_opt(request.partner), limit=request.limit or 100,
                              before_id=request.before_id or None)
            return apb.ListAuditResponse(records=[apb.AuditRecord(
                id=r.id, at=_ts(r.at), actor=r.actor or "", via=r.via, action=r.action,
                target=r.target, partner=r.partner or "", actor_partner=r.actor_partner or "",
                decision=r.decision, outcome=r.outcome, reasons=list(r.reasons),
                changes_json=json.dumps(r.changes, sort_keys=True),
                store_version=r.store_version or 0, message=r.message) for r in records])
        return self._call(context, "ListAudit", request, work)

    # ------------------------------------------------------------ read-your-writes

    def CheckAtVersion(self, request, context):
        def work(a, _):
            p, act, r, ctx, ents = check_to_args(request.check, self.depth, "check.")
            timeout = (request.timeout_ms or 5000) / 1000.0
            snap = a.live.wait_for(int(request.min_store_version), timeout)
            decision = snap.engine.is_authorized(p, act, r, ctx, ents)
            version = snap.policies.fingerprint
            self.worker.decision_log.submit("CheckAtVersion", request.check, decision, version)
            return decision_to_proto(decision, version, request.check.explain)
        return self._call(context, "CheckAtVersion", request, work, auth=False)


class _Unavailable(Exception):
    """The worker has no admin store."""


def _rendered(err: PlainPDPError) -> str:
    if not err.diagnostics:
        return err.message
    return err.message + "\n" + "\n".join(d.render() for d in err.diagnostics[:10])


def add_to_server(server: Any, worker: Worker) -> None:
    apb_grpc.add_PartnerAdminServiceServicer_to_server(PartnerAdminServicer(worker), server)
