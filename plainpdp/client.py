"""A client for the plainpdp sidecar with the engine's method names.

::

    from plainpdp.client import Client

    pdp = Client("127.0.0.1:50051")          # or: Engine(policies, entities=...)
    d = pdp.is_authorized('User::"alice"', 'Action::"view"', 'Section::"catalog"',
                          {"mfa": True})
    d.allowed, d.reasons, d.errors, d.ceilings, d.decision_id

``Client`` and :class:`plainpdp.Engine` answer the same calls with the same
kinds of values (a :class:`RemoteDecision` is a :class:`plainpdp.Decision`),
so a portal can switch between in-process and sidecar by configuration.
Bad input raises the same ``PlainPDPError`` subclass the engine would
(``RequestError``, ``EntityError``, ...). A sidecar that cannot answer
raises :class:`SidecarError`: treat every exception as a deny.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Iterator, Mapping
from typing import Any

import grpc

from . import errors as _errors
from ._generated.plainpdp.v1 import authorization_pb2 as pb
from ._generated.plainpdp.v1 import authorization_pb2_grpc as pb_grpc
from .errors import PlainPDPError, RequestError
from .evaluate.decision import Decision, PolicyError
from .sidecar.convert import (
    context_to_proto,
    entities_to_proto,
    uid_from_wire,
    uid_to_proto,
)
from .values import EntityUid

__all__ = ["Client", "RemoteDecision", "SidecarError", "SidecarUnavailable"]

_WORKER_KEY = "x-plainpdp-worker"
_ERROR_TYPE_KEY = "x-plainpdp-error-type"


class SidecarError(PlainPDPError):
    """The sidecar did not answer with a decision (treat as deny)."""

    def __init__(self, message: str, code: grpc.StatusCode | None = None):
        super().__init__(message)
        self.code = code


class SidecarUnavailable(SidecarError):
    """The sidecar is unreachable, starting, shutting down or too slow."""


class RemoteDecision(Decision):
    """A :class:`Decision` that came from the sidecar.

    Same attributes as the engine's; also ``policy_version`` (the policy set
    fingerprint that decided) and ``worker`` (the pid of the worker process
    that answered, when the sidecar sends it).
    """

    __slots__ = ("_remote_id", "_explanation", "policy_version", "worker")

    def __init__(self, msg: pb.CheckResponse, worker: str | None = None):
        super().__init__(
            msg.decision == pb.EFFECT_ALLOW,
            frozenset(msg.reasons),
            tuple(PolicyError(e.policy_id, e.message) for e in msg.errors),
            frozenset(msg.ceilings),
        )
        self._remote_id = msg.decision_id
        self._explanation = msg.explanation
        self.policy_version = msg.policy_version
        self.worker = worker

    @property
    def decision_id(self) -> str:  # type: ignore[override]
        return self._remote_id

    def explain(self) -> str:
        if not self._explanation:
            raise PlainPDPError(
                "this decision came from the sidecar without an explanation; "
                "create the client with Client(target, explain=True) to receive one"
            )
        return self._explanation

    def __repr__(self) -> str:
        return "Remote" + super().__repr__()


def _worker(call: Any) -> str | None:
    try:
        for key, value in call.trailing_metadata() or ():
            if key == _WORKER_KEY:
                return value
    except Exception:  # noqa: BLE001 - metadata is informative only
        return None
    return None


def _raise(err: grpc.RpcError, what: str) -> None:
    code = err.code()
    message = err.details() or code.name
    if code is grpc.StatusCode.INVALID_ARGUMENT:
        cls: type[PlainPDPError] = RequestError
        for key, value in err.trailing_metadata() or ():
            if key == _ERROR_TYPE_KEY:
                found = getattr(_errors, value, None)
                if isinstance(found, type) and issubclass(found, PlainPDPError):
                    cls = found
        raise cls(message) from None
    if code in (grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.DEADLINE_EXCEEDED):
        raise SidecarUnavailable(f"{what}: sidecar unavailable ({code.name}): {message}",
                                 code) from None
    raise SidecarError(f"{what}: sidecar answered {code.name}: {message}", code) from None


class Client:
    """The engine's authorization API, answered by a plainpdp sidecar."""

    def __init__(
        self,
        target: str = "127.0.0.1:50051",
        *,
        timeout: float | None = 5.0,
        explain: bool = False,
        batch_size: int = 1000,
        page_size: int = 1000,
        channel: grpc.Channel | None = None,
        options: Iterable[tuple[str, Any]] = (),
        wait_for_ready: bool = False,
        connections: int = 1,
    ):
        """``connections``: HTTP/2 connections to spread calls over, round
        robin. gRPC sends every call of a channel over one connection, and
        the sidecar's kernel gives each connection to one worker process, so
        one connection uses one worker: with ``workers = N``, open a few
        connections per worker (they land on workers at random)."""
        if connections < 1:
            raise PlainPDPError(f"connections must be at least 1, not {connections}")
        if channel is not None and connections != 1:
            raise PlainPDPError("pass a channel or a number of connections, not both")
        self.target = target
        self.timeout = timeout
        self.explain = explain
        self.batch_size = batch_size
        self.page_size = page_size
        self.wait_for_ready = wait_for_ready
        self._own_channel = channel is None
        if channel is not None:
            self._channels = [channel]
        else:
            opts = list(options)
            if connections > 1:  # otherwise channels to one target share one connection
                opts.append(("grpc.use_local_subchannel_pool", 1))
            self._channels = [grpc.insecure_channel(target, options=opts)
                              for _ in range(connections)]
        self._stubs = [pb_grpc.AuthorizationServiceStub(c) for c in self._channels]
        self._turn = itertools.count()  # its next() is atomic: safe across threads

    @property
    def _stub(self) -> pb_grpc.AuthorizationServiceStub:
        """The next connection's stub, round robin."""
        return self._stubs[next(self._turn) % len(self._stubs)]

    def close(self) -> None:
        if self._own_channel:
            for ch in self._channels:
                ch.close()

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    # ------------------------------------------------------------ requests

    def _check_request(
        self, principal: Any, action: Any, resource: Any, context: Any, entities: Any
    ) -> pb.CheckRequest:
        return pb.CheckRequest(
            principal=uid_to_proto(principal, "principal"),
            action=uid_to_proto(action, "action"),
            resource=uid_to_proto(resource, "resource"),
            context=context_to_proto(context),
            entities=entities_to_proto(entities) if entities is not None else None,
            explain=self.explain,
        )

    def _call(self, method: Any, request: Any, what: str) -> tuple[Any, Any]:
        try:
            return method.with_call(request, timeout=self.timeout,
                                    wait_for_ready=self.wait_for_ready)
        except grpc.RpcError as err:
            _raise(err, what)
            raise  # unreachable

    # ------------------------------------------------------------ the engine's API

    def is_authorized(
        self,
        principal: EntityUid | str,
        action: EntityUid | str,
        resource: EntityUid | str,
        context: Mapping[str, Any] | str | None = None,
        entities: Any = None,
    ) -> RemoteDecision:
        """Allow or deny one request; bad input raises a PlainPDPError."""
        request = self._check_request(principal, action, resource, context, entities)
        response, call = self._call(self._stub.Check, request, "is_authorized")
        return RemoteDecision(response, _worker(call))

    def is_authorized_batch(self, requests: Iterable[Any]) -> list[RemoteDecision]:
        """Decide many requests (mappings or (p, a, r[, ctx[, entities]]) tuples), in order."""
        checks = []
        for n, req in enumerate(requests):
            if isinstance(req, Mapping):
                args = (req.get("principal"), req.get("action"), req.get("resource"),
                        req.get("context"), req.get("entities"))
            elif isinstance(req, tuple) and 3 <= len(req) <= 5:
                args = tuple(req) + (None,) * (5 - len(req))
            elif all(hasattr(req, a) for a in ("principal", "action", "resource")):
                args = (req.principal, req.action, req.resource,
                        getattr(req, "context", None), None)
            else:
                raise RequestError(
                    f"request #{n}: expected a mapping with principal/action/resource "
                    f"or a (principal, action, resource[, context]) tuple"
                )
            try:
                checks.append(self._check_request(*args))
            except RequestError as err:
                raise type(err)(f"request #{n}: {err.message}", err.diagnostics) from None
        out: list[RemoteDecision] = []
        for start in range(0, len(checks), self.batch_size):
            chunk = checks[start:start + self.batch_size]
            response, call = self._call(
                self._stub.CheckBatch, pb.CheckBatchRequest(checks=chunk), "is_authorized_batch"
            )
            worker = _worker(call)
            out.extend(RemoteDecision(r, worker) for r in response.results)
        return out

    def _pages(self, method: Any, request: Any, field: str, what: str) -> Iterator[EntityUid]:
        while True:
            response, _call = self._call(method, request, what)
            for msg in getattr(response, field):
                yield uid_from_wire(msg)
            if not response.next_page_token:
                return
            request.page_token = response.next_page_token

    def allowed_resources(
        self,
        principal: EntityUid | str,
        action: EntityUid | str,
        resource_type: str,
        context: Mapping[str, Any] | str | None = None,
    ) -> list[EntityUid]:
        """Every store resource of ``resource_type`` the principal may act on (all pages)."""
        request = pb.ListAllowedResourcesRequest(
            principal=uid_to_proto(principal, "principal"),
            action=uid_to_proto(action, "action"),
            resource_type=_type_name(resource_type, "resource_type"),
            page_size=self.page_size,
            context=context_to_proto(context),
        )
        return list(self._pages(self._stub.ListAllowedResources, request, "resources",
                                "allowed_resources"))

    def who_can(
        self,
        action: EntityUid | str,
        resource: EntityUid | str,
        principal_type: str | None = None,
        context: Mapping[str, Any] | str | None = None,
    ) -> list[EntityUid]:
        """Every store principal (of ``principal_type``, if given) who may act on the resource."""
        request = pb.WhoCanRequest(
            action=uid_to_proto(action, "action"),
            resource=uid_to_proto(resource, "resource"),
            principal_type=("" if principal_type is None
                            else _type_name(principal_type, "principal_type")),
            page_size=self.page_size,
            context=context_to_proto(context),
        )
        return list(self._pages(self._stub.WhoCan, request, "principals", "who_can"))

    def allowed_actions(
        self,
        principal: EntityUid | str,
        resource: EntityUid | str,
        context: Mapping[str, Any] | str | None = None,
    ) -> list[EntityUid]:
        """The actions the principal may take on the resource."""
        request = pb.AllowedActionsRequest(
            principal=uid_to_proto(principal, "principal"),
            resource=uid_to_proto(resource, "resource"),
            context=context_to_proto(context),
        )
        response, _call = self._call(self._stub.AllowedActions, request, "allowed_actions")
        return [uid_from_wire(m) for m in response.actions]


def _type_name(name: Any, role: str) -> str:
    """A type name as the engine takes it; "" would mean "absent" on the wire."""
    if not isinstance(name, str) or not name:
        raise RequestError(f"{role} must be an entity type name such as Document, got {name!r}")
    return name
