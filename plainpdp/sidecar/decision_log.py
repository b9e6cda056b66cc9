"""Decision logs: one JSON line per decision, written off the hot path.

A handler hands the writer thread what it already has (the request
message, the Decision, the policy version) through a bounded queue; the
writer turns it into JSON, masks the configured context fields and writes.
When the queue is full the line is dropped and counted: a slow sink never
slows or blocks a decision.

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
import queue
import sys
import threading
import time
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from typing import Any

from .convert import check_to_json

log = logging.getLogger("plainpdp.sidecar")

MASK = "[masked]"
_PIPE_BUF = 4096
_STOP = object()


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

    def close(self, timeout: float = 0.0) -> None:
        return None


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
        self._queue: queue.Queue = queue.Queue(maxsize=queue_size)
        self._mask = frozenset(mask_fields)
        self._entities = request_entities
        self._on_dropped = on_dropped
        self._on_written = on_written
        self._pid = os.getpid()
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
        """Queue one line; never blocks (a full queue drops and counts)."""
        try:
            self._queue.put_nowait(
                (time.time(), method, request, decision, policy_version, internal_error)
            )
        except queue.Full:
            self.dropped += 1
            if self._on_dropped is not None:
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

    def line(self, item: tuple) -> dict[str, Any]:
        when, method, request, decision, version, internal = item
        req = check_to_json(request)
        if not self._entities:
            req.pop("entities", None)
        if self._mask:
            if "context" in req:
                req["context"] = mask(req["context"], self._mask)
            for e in req.get("entities", ()):
                e["attrs"] = mask(e["attrs"], self._mask)
                if "tags" in e:
                    e["tags"] = mask(e["tags"], self._mask)
        out: dict[str, Any] = {
            "decision_id": decision.decision_id,
            "time": self._time(when),
            "worker": self._pid,
            "method": method,
            "policy_version": version,
            "request": req,
            "decision": decision.decision,
            "reasons": sorted(decision.reasons),
            "errors": [{"policy_id": e.policy_id, "message": e.message} for e in decision.errors],
            "ceilings": sorted(decision.ceilings),
        }
        if internal:
            out["internal_error"] = True
        return out

    def _run(self) -> None:
        get = self._queue.get
        while True:
            item = get()
            batch = [item]
            # drain what is already waiting, then write it in one go
            while len(batch) < 512:
                try:
                    batch.append(self._queue.get_nowait())
                except queue.Empty:
                    break
            stop = False
            lines = []
            for it in batch:
                if it is _STOP:
                    stop = True
                    continue
                try:
                    lines.append(json.dumps(self.line(it), separators=(",", ":"),
                                            ensure_ascii=False))
                except Exception:  # noqa: BLE001 - a bad line must not kill the writer
                    log.exception("decision log: could not render a line")
            if lines:
                try:
                    self._writer(("\n".join(lines) + "\n").encode("utf-8"))
                    self.written += len(lines)
                    if self._on_written is not None:
                        self._on_written(len(lines))
                except Exception:  # noqa: BLE001
                    log.exception("decision log: the sink failed; %d line(s) lost", len(lines))
            if stop:
                return

    def close(self, timeout: float = 5.0) -> None:
        """Write what is queued (for up to ``timeout`` seconds), then stop."""
        deadline = time.monotonic() + timeout
        while True:
            try:
                self._queue.put(_STOP, timeout=max(0.01, deadline - time.monotonic()))
                break
            except queue.Full:
                if time.monotonic() >= deadline:
                    log.warning("decision log: sink too slow at shutdown; lines lost")
                    return
        self._thread.join(max(0.0, deadline - time.monotonic()))
