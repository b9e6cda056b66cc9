"""Snapshots and hot reload.

A :class:`Snapshot` is one immutable, fully built engine with its version.
The :class:`Reloader` polls the policy directory and entity file (mtime and
size of every input file); when they change and then hold still for one
interval, it builds a new snapshot off to the side and swaps one reference.
A change that fails to load is logged with its diagnostics and counted; the
last good snapshot keeps serving. Readers take ``reloader.current`` once
per request and never see a half-built index.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from ..engine import Engine
from ..errors import PlainPDPError
from ..project import load_project

log = logging.getLogger("plainpdp.sidecar")

_INPUT_SUFFIXES = (".cedar", ".cedarschema", ".json")


@dataclass(frozen=True)
class Snapshot:
    engine: Engine
    policy_version: str  # PolicySet.fingerprint
    generation: int  # counts loads in this worker
    loaded_at: float
    policy_count: int


@dataclass(frozen=True)
class Source:
    """Where a snapshot is loaded from."""

    policies: str
    entities: str | None = None
    schema: str | None = None

    def root(self) -> Path:
        """The policy directory; for a Kubernetes ConfigMap/Secret volume, its live version.

        Kubernetes writes such volumes as ``..<timestamp>/`` directories with
        a ``..data`` symlink swapped atomically on update, and top-level
        symlinks into it. Loading from what ``..data`` points at reads one
        consistent version and never the hidden copies.
        """
        root = Path(self.policies)
        live = root / "..data"
        if root.is_dir() and live.is_symlink() and live.is_dir():
            return live.resolve()
        return root

    def files(self) -> list[Path]:
        root = self.root()
        found: list[Path] = []
        if root.is_dir():
            for dirpath, dirnames, filenames in os.walk(root):
                dirnames.sort()
                for name in sorted(filenames):
                    if name.endswith(_INPUT_SUFFIXES):
                        found.append(Path(dirpath) / name)
        else:
            found.append(root)
        for extra in (self.entities, self.schema):
            if extra:
                found.append(Path(extra))
        return found

    def signature(self) -> tuple:
        """What changes when any input changes: (path, mtime, size) of each file."""
        sig = []
        for path in self.files():
            try:
                st = path.stat()
            except OSError:
                sig.append((str(path), None, None))
                continue
            sig.append((str(path), st.st_mtime_ns, st.st_size))
        return tuple(sig)

    def load(self, generation: int) -> Snapshot:
        project = load_project(self.root(), schema=self.schema, entities=self.entities)
        engine = Engine(project.policies, entities=project.entities, schema=project.schema)
        return Snapshot(
            engine=engine,
            policy_version=project.policies.fingerprint,
            generation=generation,
            loaded_at=time.time(),
            policy_count=len(project.policies),
        )


def describe(err: BaseException, root: str | Path | None = None) -> str:
    """An error as a person reads it: rendered diagnostics, never a traceback.

    Diagnostics name files relative to the policy directory ``root``; their
    source line and caret are shown when the file can be read.
    """
    if not isinstance(err, PlainPDPError):
        return f"{type(err).__name__}: {err}"
    if not err.diagnostics:
        return f"error: {err.message}"
    out = []
    for d in err.diagnostics:
        text = d.source_text
        if text is None and d.span is not None and d.span.source:
            for base in (Path(root) if root else None, Path(".")):
                candidate = base / d.span.source if base is not None else None
                if candidate is not None and candidate.is_file():
                    try:
                        text = candidate.read_text(encoding="utf-8")
                    except (OSError, UnicodeDecodeError):
                        text = None
                    break
        out.append(d.render(text))
    return "\n".join(out)


class Reloader:
    """Holds the current snapshot and replaces it when the files change."""

    def __init__(
        self,
        source: Source,
        *,
        interval: float = 2.0,
        on_reload: Callable[[Snapshot], None] | None = None,
        on_failure: Callable[[BaseException], None] | None = None,
    ):
        self.source = source
        self.interval = interval
        self.current: Snapshot | None = None
        self.last_error: str | None = None
        self._on_reload = on_reload
        self._on_failure = on_failure
        self._generation = 0
        self._loaded_sig: tuple | None = None
        self._pending_sig: tuple | None = None
        self._failed_sig: tuple | None = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def load_initial(self) -> Snapshot:
        """The first load; its errors propagate (there is nothing to fall back on)."""
        sig = self.source.signature()
        snap = self.source.load(self._next_generation())
        self._loaded_sig = sig
        self.current = snap
        return snap

    def _next_generation(self) -> int:
        self._generation += 1
        return self._generation

    def poll(self) -> bool | None:
        """One check. True: reloaded; False: a changed set failed; None: nothing to do."""
        sig = self.source.signature()
        if sig == self._loaded_sig or sig == self._failed_sig:
            self._pending_sig = None
            return None
        if sig != self._pending_sig:
            # changed since the last look: wait until it holds still
            self._pending_sig = sig
            return None
        self._pending_sig = None
        started = time.perf_counter()
        try:
            snap = self.source.load(self._next_generation())
        except Exception as err:  # noqa: BLE001 - any failure keeps the last good snapshot
            self._failed_sig = sig
            self.last_error = describe(err, self.source.root())
            log.error(
                "reload failed; still serving policy version %s\n%s",
                self.current.policy_version if self.current else "(none)",
                self.last_error,
            )
            if self._on_failure is not None:
                self._on_failure(err)
            return False
        self._loaded_sig = sig
        self._failed_sig = None
        self.last_error = None
        old = self.current
        self.current = snap  # the one swap
        log.info(
            "reloaded: policy version %s -> %s (%d policies, %.0f ms)",
            old.policy_version if old else "(none)",
            snap.policy_version,
            snap.policy_count,
            (time.perf_counter() - started) * 1000,
        )
        if self._on_reload is not None:
            self._on_reload(snap)
        return True

    def start(self) -> None:
        if self.interval <= 0 or self._thread is not None:
            return
        self._thread = threading.Thread(target=self._run, name="reloader", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            try:
                self.poll()
            except Exception:  # noqa: BLE001 - the watcher must outlive odd file systems
                log.exception("reload watcher: unexpected error")

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(5)
