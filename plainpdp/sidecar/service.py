"""The gRPC handlers: convert the request, call the engine, convert back.

No policy logic lives here. Errors map to status codes in one place
(:class:`ServiceBase`): a ``PlainPDPError`` is the caller's mistake
(INVALID_ARGUMENT with its message, never an allow); anything else is a
bug (INTERNAL with a generic message, the detail in the sidecar's log, and
a deny in the decision log).
"""

from __future__ import annotations

import base64
import binascii
import bisect
import hashlib
import json
import logging
import os
import threading
from collections.abc import Callable
from time import perf_counter
from typing import TYPE_CHECKING, Any

import grpc
from cachetools import TTLCache
from google.protobuf.message import DecodeError

from .._generated.plainpdp.v1 import authorization_pb2 as pb
from .._generated.plainpdp.v1 import authorization_pb2_grpc as pb_grpc
from ..errors import PlainPDPError
from ..evaluate.decision import Decision, PolicyError
from ..values import EntityUid
from .convert import (
    ConvertError,
    check_to_args,
    decision_to_proto,
    decisions_to_proto,
    record_to_json,
    type_name_from_proto,
    uid_from_proto,
    uids_to_proto,
)

if TYPE_CHECKING:
    from .server import Worker

log = logging.getLogger("plainpdp.sidecar")

Code = grpc.StatusCode
WORKER_KEY = "x-plainpdp-worker"
ERROR_TYPE_KEY = "x-plainpdp-error-type"
INTERNAL_MESSAGE = "internal error; the decision is deny (details are in the sidecar log{ref})"


class ServiceBase:
    """What every plainpdp service shares: limits, metrics, status mapping."""

    def __init__(self, worker: Worker):
        self.worker = worker
        cfg = worker.config.server
        self.max_bytes = cfg.max_request_bytes
        self.depth = cfg.max_value_depth
        self.metrics = worker.metrics
        self.decision_log = worker.decision_log
        self._md: tuple = ((WORKER_KEY, str(os.getpid())),) if cfg.worker_metadata else ()

    def check_size(self, request: Any) -> None:
        size = request.ByteSize()
        if size > self.max_bytes:
            raise ConvertError(
                f"request is {size} bytes; the limit is {self.max_bytes} "
                "(server.max_request_bytes)"
            )

    def done(self, context: Any, method: str, started: float) -> None:
        if self._md:
            context.set_trailing_metadata(self._md)
        self.metrics.observe(method, "OK", perf_counter() - started)

    def fail(
        self, context: Any, method: str, started: float, code: grpc.StatusCode, message: str,
        error_type: str | None = None,
    ) -> Any:
        self.metrics.observe(method, code.name, perf_counter() - started)
        md = self._md + (((ERROR_TYPE_KEY, error_type),) if error_type else ())
        if md:
            context.set_trailing_metadata(md)
        context.abort(code, message)  # raises: the call ends here

    def invalid(self, context: Any, method: str, started: float, err: PlainPDPError) -> Any:
        self.fail(context, method, started, Code.INVALID_ARGUMENT, err.message,
                  _public_type(err))

    def unavailable(self, context: Any, method: str, started: float) -> Any:
        self.fail(context, method, started, Code.UNAVAILABLE,
                  "starting: the policies are still loading; retry shortly")

    def internal(
        self, context: Any, method: str, started: float, requests: list, version: str,
    ) -> Any:
        """A bug: log it with a reference, log a deny per request, answer INTERNAL."""
        ref = ""
        for req in requests:
            decision = Decision(False, frozenset(), (PolicyError("", "internal error"),))
            ref = ref or decision.decision_id
            self.metrics.internal.inc()
            self.decision_log.submit(method, req, decision, version, internal_error=True)
        log.exception("internal error in %s%s", method, f" (decision id {ref})" if ref else "")
        self.fail(context, method, started, Code.INTERNAL,
                  INTERNAL_MESSAGE.format(ref=f", decision id {ref}" if ref else ""))


SERVICE = pb.DESCRIPTOR.services_by_name["AuthorizationService"]


def add_to_server(server: Any, worker: Worker) -> None:
    """Serve ``plainpdp.v1.AuthorizationService`` with handlers that take and
    give bytes, parsing and serializing in the handler's thread.

    The generated ``add_..._to_server`` lets grpcio parse and serialize; with
    a constant answer on loopback that cost 158 µs of server CPU per call at
    concurrency 32, against 141 µs for the same work done in the handler.
    The methods are registered the way the generated code does it.
    """
    service = AuthorizationService(worker)
    handlers = {
        m.name: grpc.unary_unary_rpc_method_handler(
            _bytes_in_out(service, m.name, getattr(pb, m.input_type.name)))
        for m in SERVICE.methods
    }
    server.add_generic_rpc_handlers(
        (grpc.method_handlers_generic_handler(SERVICE.full_name, handlers),))
    server.add_registered_method_handlers(SERVICE.full_name, handlers)


def _bytes_in_out(service: ServiceBase, method: str, request_type: Any) -> Callable:
    call = getattr(service, method)

    def handle(raw: bytes, context: Any) -> bytes:
        try:
            request = request_type.FromString(raw)
        except DecodeError:
            return service.fail(context, method, perf_counter(), Code.INVALID_ARGUMENT,
                                f"the request is not a {request_type.DESCRIPTOR.full_name} "
                                "message (protobuf could not parse it)")
        return call(request, context).SerializeToString()

    return handle


class AuthorizationService(ServiceBase, pb_grpc.AuthorizationServiceServicer):
    """``plainpdp.v1.AuthorizationService``."""

    def __init__(self, worker: Worker):
        super().__init__(worker)
        cfg = worker.config.server
        self.max_batch = cfg.max_batch
        self.page_default = cfg.page_size_default
        self.page_max = cfg.page_size_max
        # full, sorted answers to listing queries of the current snapshot, so
        # pages 2..n are cheap; emptied when the snapshot changes. Handlers run
        # in several threads and a TTLCache is not thread-safe: one lock.
        self._listings: TTLCache = TTLCache(maxsize=256, ttl=60)
        self._listed_from: Any = None
        self._listings_lock = threading.Lock()

    # ------------------------------------------------------------ checks

    def Check(self, request: pb.CheckRequest, context: Any) -> pb.CheckResponse:
        started = perf_counter()
        snap = self.worker.reloader.current
        if snap is None:
            return self.unavailable(context, "Check", started)
        try:
            self.check_size(request)
            decision = snap.engine.is_authorized(*check_to_args(request, self.depth))
            response = decision_to_proto(decision, snap.policy_version, request.explain)
        except PlainPDPError as err:
            return self.invalid(context, "Check", started, err)
        except Exception:  # noqa: BLE001 - a bug: deny, INTERNAL, logged
            return self.internal(context, "Check", started, [request], snap.policy_version)
        (self.metrics.allow if decision.allowed else self.metrics.deny).inc()
        self.decision_log.submit("Check", request, decision, snap.policy_version)
        self.done(context, "Check", started)
        return response

    def CheckBatch(self, request: pb.CheckBatchRequest, context: Any) -> pb.CheckBatchResponse:
        started = perf_counter()
        snap = self.worker.reloader.current
        if snap is None:
            return self.unavailable(context, "CheckBatch", started)
        checks = request.checks
        try:
            if len(checks) > self.max_batch:
                raise ConvertError(
                    f"checks: {len(checks)} checks in one batch; the limit is "
                    f"{self.max_batch} (server.max_batch)"
                )
            self.check_size(request)
            depth = self.depth
            items = []
            contexts: dict[bytes, dict] = {}  # equal contexts: one object, parsed once
            for n, check in enumerate(checks):
                try:
                    items.append(check_to_args(check, depth, contexts=contexts))
                except ConvertError as err:  # messages start with the field's path
                    raise ConvertError(f"checks[{n}].{err.message}") from None
            decisions = snap.engine.is_authorized_batch(items)
            version = snap.policy_version
            response = decisions_to_proto(decisions, checks, version)
        except PlainPDPError as err:
            return self.invalid(context, "CheckBatch", started, err)
        except Exception:  # noqa: BLE001
            return self.internal(context, "CheckBatch", started, list(checks),
                                       snap.policy_version)
        n_allow = sum(d.allowed for d in decisions)
        if n_allow:
            self.metrics.allow.inc(n_allow)
        if len(decisions) - n_allow:
            self.metrics.deny.inc(len(decisions) - n_allow)
        self.decision_log.submit_many("CheckBatch", checks, decisions, version)
        self.done(context, "CheckBatch", started)
        return response

    # ------------------------------------------------------------ listings

    def ListAllowedResources(
        self, request: pb.ListAllowedResourcesRequest, context: Any
    ) -> pb.ListAllowedResourcesResponse:
        def query(snap: Any, ctx: Any) -> tuple[tuple, Callable[[], list]]:
            p = uid_from_proto(request.principal, "principal")
            a = uid_from_proto(request.action, "action")
            t = type_name_from_proto(request.resource_type, "resource_type")
            return (p, a, t), lambda: snap.engine.allowed_resources(p, a, t, ctx)

        def respond(uids: list, token: str, version: str) -> pb.ListAllowedResourcesResponse:
            return pb.ListAllowedResourcesResponse(resources=uids, next_page_token=token,
                                                   policy_version=version)

        return self._listing("ListAllowedResources", request, context, query, respond)

    def WhoCan(self, request: pb.WhoCanRequest, context: Any) -> pb.WhoCanResponse:
        def query(snap: Any, ctx: Any) -> tuple[tuple, Callable[[], list]]:
            a = uid_from_proto(request.action, "action")
            r = uid_from_proto(request.resource, "resource")
            t = (type_name_from_proto(request.principal_type, "principal_type")
                 if request.principal_type else None)
            return (a, r, t), lambda: snap.engine.who_can(a, r, t, ctx)

        def respond(uids: list, token: str, version: str) -> pb.WhoCanResponse:
            return pb.WhoCanResponse(principals=uids, next_page_token=token,
                                     policy_version=version)

        return self._listing("WhoCan", request, context, query, respond)

    def AllowedActions(
        self, request: pb.AllowedActionsRequest, context: Any
    ) -> pb.AllowedActionsResponse:
        method = "AllowedActions"
        started = perf_counter()
        snap = self.worker.reloader.current
        if snap is None:
            return self.unavailable(context, method, started)
        try:
            self.check_size(request)
            p = uid_from_proto(request.principal, "principal")
            r = uid_from_proto(request.resource, "resource")
            actions = snap.engine.allowed_actions(p, r, self._context(request))
            response = pb.AllowedActionsResponse(actions=uids_to_proto(actions),
                                                 policy_version=snap.policy_version)
        except PlainPDPError as err:
            return self.invalid(context, method, started, err)
        except Exception:  # noqa: BLE001 - a bug: INTERNAL, logged
            return self.internal(context, method, started, [], snap.policy_version)
        self.done(context, method, started)
        return response

    def _context(self, request: Any) -> dict | None:
        if not request.HasField("context"):
            return None
        return record_to_json(request.context.fields, "context", self.depth)

    def _listing(
        self, method: str, request: Any, context: Any,
        query: Callable[[Any, Any], tuple[tuple, Callable[[], list]]],
        respond: Callable[[list, str, str], Any],
    ) -> Any:
        """One page of a listing: the full answer is computed once per snapshot
        and query, then served page by page after the token's uid."""
        started = perf_counter()
        snap = self.worker.reloader.current
        if snap is None:
            return self.unavailable(context, method, started)
        try:
            self.check_size(request)
            if request.page_size < 0:
                raise ConvertError(f"page_size: {request.page_size} is negative; "
                                   "use 0 for the server's default")
            size = min(request.page_size or self.page_default, self.page_max)
            ctx = self._context(request)
            key, compute = query(snap, ctx)
            key += (request.context.SerializeToString(deterministic=True),)
            qhash = _query_hash(method, key)
            after = _decode_token(request.page_token, qhash) if request.page_token else None
            cache_key = (method, key)
            with self._listings_lock:
                if self._listed_from is not snap:  # a new snapshot: earlier answers are stale
                    self._listings.clear()
                    self._listed_from = snap
                everything = self._listings.get(cache_key)
            if everything is None:
                found = compute()  # in this call's thread; other calls go on meanwhile
                everything = [(str(u), u) for u in found]
                everything.sort(key=_first)  # the engine's order; sorting again is cheap
                with self._listings_lock:
                    if self._listed_from is snap:  # not if a reload came while computing
                        self._listings[cache_key] = everything
            start = 0 if after is None else bisect.bisect_right(everything, after, key=_first)
            page = [u for _, u in everything[start:start + size]]
            more = start + size < len(everything)
            token = _encode_token(qhash, page[-1]) if more else ""
            response = respond(uids_to_proto(page), token, snap.policy_version)
        except PlainPDPError as err:
            return self.invalid(context, method, started, err)
        except Exception:  # noqa: BLE001 - a bug: INTERNAL, logged
            return self.internal(context, method, started, [], snap.policy_version)
        self.done(context, method, started)
        return response


def _first(pair: tuple) -> Any:
    return pair[0]


def _public_type(err: PlainPDPError) -> str:
    """The nearest class of ``plainpdp.errors`` (what a client can raise again)."""
    for cls in type(err).__mro__:
        if cls.__module__ == "plainpdp.errors":
            return cls.__name__
    return "PlainPDPError"


def _query_hash(method: str, key: tuple) -> str:
    return hashlib.sha256(repr((method, key)).encode()).hexdigest()[:12]


def _encode_token(qhash: str, last: EntityUid) -> str:
    """The query's hash and the page's last uid: the next page starts after it."""
    raw = json.dumps([qhash, str(last)], separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _decode_token(token: str, qhash: str) -> str:
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
        got, last = json.loads(raw)
        if not (isinstance(got, str) and isinstance(last, str)):
            raise ValueError
    except (ValueError, TypeError, binascii.Error):
        raise ConvertError("page_token is not one this server issued; "
                           "omit it to start from the first page") from None
    if got != qhash:
        raise ConvertError("page_token belongs to a different query; pass the same "
                           "arguments and context as for the first page")
    return last
