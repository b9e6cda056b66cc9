"""Decision logs: one JSON line per decision, written off the hot path.

A handler hands the writer thread what it already has (the request
message, the Decision, the policy version; a batch's messages and
Decisions as one entry) by appending to a list under a lock: no thread is
woken per call. The writer takes the whole list every
:data:`FLUSH_SECONDS` (sooner when it is half full), turns each decision
into a JSON line, masks the configured context fields and writes. When
``queue_size`` lines are already waiting, new lines are dropped and
counted: a slow sink never slows or blocks a decision.

Rendering reuses what repeats: a request's JSON when it carries no
entities, a uid's JSON, a context's masked JSON (requests and contexts keyed
by their wire bytes), a reason set's JSON, each in a bounded cache.

A line::

    {"decision_id": "...", "time": "2025-01-02T03:04:05.678Z", "worker": 1234,
     "method": "Check", "policy_version": "3f2a...", "request": {"principal":
     {"type": "User", "id": "alice"}, "action": ..., "resource": ...,
     "context": {...}, "entities": [...]}, "decision": "allow",
     "reasons": [...], "errors": [...], "ceilings": [...]}
"""

from __future__ import annotations

import json
import logging
import os
import sys
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from datetime import UTC, datetime
from typing import Any

from ..errors import RequestError
from .convert import entity_to_json, record_to_json

log = logging.getLogger("plainpdp.sidecar")

MASK = "[masked]"
_PIPE_BUF = 4096


def mask(value: Any, names: frozenset[str]) -> Any:
    """``value`` with every record field named in ``names`` masked, at any depth."""
    if isinstance(value, dict):
        if len(value) == 1 and ("__entity" in value or "__extn" in value):
            return value
        return {k: (MASK if k in names else mask(v, names)) for k, v in value.items()}
    if isinstance(value, list):
        return [mask(v, names) for v in value]
    return value


def file_writer(path: str) -> Callable[[bytes], None]:
    """A sink: ``-`` is standard output, else a file opened for appending."""
    if path == "-":
        fd = sys.stdout.fileno()
    else:
        fd = os.open(path.replace("{pid}", str(os.getpid())),
                     os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o640)

    def write(data: bytes) -> None:
        # one write per <= PIPE_BUF chunk split at line ends, so lines from
        # several workers sharing a pipe or file do not interleave (a single
        # line longer than PIPE_BUF may still, on a pipe)
        start, n = 0, len(data)
        while start < n:
            end = n if n - start <= _PIPE_BUF else data.rfind(b"\n", start, start + _PIPE_BUF) + 1
            if end <= start:
                end = data.find(b"\n", start) + 1 or n
            view = memoryview(data)[start:end]
            while view:
                written = os.write(fd, view)
                view = view[written:]
            start = end

    return write


class NullLog:
    """Decision logging turned off: nothing is queued or rendered."""

    dropped = 0
    written = 0

    def submit(self, *_args: Any, **_kwargs: Any) -> None:
        return None

    def submit_many(self, *_args: Any, **_kwargs: Any) -> None:
        return None

    def close(self, timeout: float = 0.0) -> None:
        return None


FLUSH_SECONDS = 0.05
_CACHE_SIZE = 4096  # entries per render cache; cleared when full
_REQUEST_CACHE_SIZE = 16_384  # whole requests (a few hundred bytes each)
_DEPTH = 64  # nesting rendered (requests deeper than the server's limit were refused)

_dumps = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode


def _keep(cache: dict, key: Any, text: str, limit: int = _CACHE_SIZE) -> str:
    """Keep ``text`` rendered for ``key`` (the cache emptied when full); return it."""
    if len(cache) >= limit:
        cache.clear()
    cache[key] = text
    return text


class DecisionLog:
    """The bounded queue and its writer thread."""

    def __init__(
        self,
        writer: Callable[[bytes], None],
        *,
        queue_size: int = 10000,
        mask_fields: Iterable[str] = (),
        request_entities: bool = True,
        on_dropped: Callable[[], None] | None = None,
        on_written: Callable[[int], None] | None = None,
    ):
        self._writer = writer
        self._size = queue_size
        self._lock = threading.Lock()
        self._items: list[tuple] = []  # (time, method, requests, decisions, version, internal)
        self._pending = 0  # lines in _items
        self._wake = threading.Event()
        self._stop = False
        self._mask = frozenset(mask_fields)
        self._entities = request_entities
        self._on_dropped = on_dropped
        self._on_written = on_written
        self._pid = os.getpid()
        self._uids: dict[tuple[str, str], str] = {}
        self._contexts: dict[bytes, str] = {}
        self._sets: dict[frozenset, str] = {}
        self._requests: dict[bytes, str] = {}
        self.dropped = 0
        self.written = 0
        self._thread = threading.Thread(target=self._run, name="decision-log", daemon=True)
        self._thread.start()

    # ------------------------------------------------------------ hot path

    def submit(
        self,
        method: str,
        request: Any,
        decision: Any,
        policy_version: str,
        *,
        internal_error: bool = False,
    ) -> None:
        """Queue one line; never blocks on the sink (a full queue drops and counts)."""
        self.submit_many(method, (request,), (decision,), policy_version,
                         internal_error=internal_error)

    def submit_many(
        self,
        method: str,
        requests: Sequence[Any],
        decisions: Sequence[Any],
        policy_version: str,
        *,
        internal_error: bool = False,
    ) -> None:
        """Queue one line per (request, decision) of a call, as one entry."""
        n = len(decisions)
        with self._lock:
            room = self._size - self._pending
            if room >= n:
                self._pending += n
                self._items.append((time.time(), method, requests, decisions, policy_version,
                                    internal_error))
            elif room > 0:  # what fits goes in; the rest is dropped
                self._pending += room
                self._items.append((time.time(), method, requests[:room], decisions[:room],
                                    policy_version, internal_error))
            full = self._pending * 2 >= self._size
        if full:
            self._wake.set()
        lost = n - max(0, room)
        if lost > 0:
            self.dropped += lost
            if self._on_dropped is not None:
                for _ in range(lost):
                    self._on_dropped()

    # ------------------------------------------------------------ writer thread

    _second: int = -1
    _second_text: str = ""

    def _time(self, when: float) -> str:
        """ISO 8601 UTC with milliseconds; the date part is formatted once a second."""
        second = int(when)
        if second != self._second:
            self._second = second
            self._second_text = datetime.fromtimestamp(second, UTC).strftime("%Y-%m-%dT%H:%M:%S")
        return f"{self._second_text}.{int((when - second) * 1000):03d}Z"

    def head(self, when: float, method: str, version: str) -> str:
        """What every line of one call shares: its time, worker, method, version."""
        return ('","time":"' + self._time(when) + '","worker":' + str(self._pid)
                + ',"method":' + _dumps(method) + ',"policy_version":' + _dumps(version)
                + ',"request":')

    def line(self, head: str, request: Any, decision: Any, internal: bool = False) -> str:
        """One decision as its JSON line (without the newline); ``head`` from :meth:`head`.

        A decision id is hex digits and dashes: quoted as it is.
        """
        parts = [
            '{"decision_id":"', decision.decision_id, head, self._request(request),
            ',"decision":', '"allow"' if decision.allowed else '"deny"',
            ',"reasons":', self._set(decision.reasons),
            ',"errors":',
            _dumps([{"policy_id": e.policy_id, "message": e.message} for e in decision.errors])
            if decision.errors else "[]",
            ',"ceilings":', self._set(decision.ceilings),
        ]
        if internal:
            parts.append(',"internal_error":true')
        parts.append("}")
        return "".join(parts)

    def _uid(self, msg: Any) -> str:
        key = (msg.type, msg.id)
        text = self._uids.get(key)
        if text is None:
            text = _keep(self._uids, key, _dumps({"type": key[0], "id": key[1]}))
        return text

    def _set(self, ids: frozenset) -> str:
        if not ids:
            return "[]"
        text = self._sets.get(ids)
        if text is None:
            text = _keep(self._sets, ids, _dumps(sorted(ids)))
        return text

    def _request(self, request: Any) -> str:
        """The request's JSON; kept by its wire bytes unless it carries entities
        (rare, and possibly large)."""
        if request.entities:
            return self._render_request(request)
        key = request.SerializeToString()
        text = self._requests.get(key)
        if text is None:
            text = _keep(self._requests, key, self._render_request(request), _REQUEST_CACHE_SIZE)
        return text

    def _render_request(self, request: Any) -> str:
        parts = ['{"principal":', self._uid(request.principal),
                 ',"action":', self._uid(request.action),
                 ',"resource":', self._uid(request.resource)]
        unreadable = False
        if request.HasField("context"):
            key = request.context.SerializeToString()
            text = self._contexts.get(key)
            if text is None:
                text = _keep(self._contexts, key, self._context(request))
            parts.append(text)
            unreadable = text.startswith(',"unreadable"')
        if self._entities and request.entities:
            text = self._request_entities(request)
            if not (unreadable and text.startswith(',"unreadable"')):  # one reason is enough
                parts.append(text)
        parts.append("}")
        return "".join(parts)

    def _context(self, request: Any) -> str:
        """``,"context":{...}`` masked, or why it could not be read."""
        try:
            context = record_to_json(request.context.fields, "context", _DEPTH)
        except RequestError as err:
            return ',"unreadable":' + _dumps(err.message)
        if self._mask:
            context = mask(context, self._mask)
        return ',"context":' + _dumps(context)

    def _request_entities(self, request: Any) -> str:
        """``,"entities":[...]`` with attributes and tags masked, or why not."""
        try:
            entities = [entity_to_json(e, f"entities[{n}]", _DEPTH)
                        for n, e in enumerate(request.entities)]
        except RequestError as err:
            return ',"unreadable":' + _dumps(err.message)
        if self._mask:
            for e in entities:
                e["attrs"] = mask(e["attrs"], self._mask)
                if "tags" in e:
                    e["tags"] = mask(e["tags"], self._mask)
        return ',"entities":' + _dumps(entities)

    def _run(self) -> None:
        while True:
            self._wake.wait(FLUSH_SECONDS)
            self._wake.clear()
            with self._lock:
                items, self._items, self._pending = self._items, [], 0
                stop = self._stop
            lines = []
            for when, method, requests, decisions, version, internal in items:
                head = self.head(when, method, version)
                for request, decision in zip(requests, decisions, strict=True):
                    try:
                        lines.append(self.line(head, request, decision, internal))
                    except Exception:  # noqa: BLE001 - a bad line must not kill the writer
                        log.exception("decision log: could not render a line")
            if lines:
                lines.append("")
                try:
                    self._writer("\n".join(lines).encode("utf-8"))
                    self.written += len(lines) - 1
                    if self._on_written is not None:
                        self._on_written(len(lines) - 1)
                except Exception:  # noqa: BLE001
                    log.exception("decision log: the sink failed; %d line(s) lost",
                                  len(lines) - 1)
            if stop:
                return

    def close(self, timeout: float = 5.0) -> None:
        """Write what is queued (for up to ``timeout`` seconds), then stop."""
        with self._lock:
            self._stop = True
        self._wake.set()
        self._thread.join(timeout)
        if self._thread.is_alive():
            log.warning("decision log: sink too slow at shutdown; lines lost")
