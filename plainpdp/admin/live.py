"""The live engine: the policies and the store's current graph, kept fresh.

A :class:`LiveEngine` holds one immutable :class:`Snapshot` (an engine and
the store version it reflects) and swaps it whole when the store moves on.
Changes made through this process are seen at once (the service refreshes
right after its commit); changes made by any other process sharing the
store are seen within ``poll_seconds`` (a watcher thread reads the store's
version row, one cheap indexed read). A membership reaching its expiry
rebuilds the snapshot at that moment, whoever asks next. The compiled
policy index is reused while the policies stay the same, so a change of
users or roles costs one graph load, not a recompile.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from ..compile import CompiledPolicies, compile_policies
from ..engine import Engine
from ..partners import DEFAULT_PARTNER_TYPE
from ..policyset import PolicySet
from ..schema import Schema
from .entities import GraphBuilder
from .errors import StoreError
from .store import Store, Txn

log = logging.getLogger("plainpdp.admin")


@dataclass(frozen=True)
class Snapshot:
    """One engine and the store versions it reflects."""

    engine: Engine
    policies: PolicySet  # the files' policies and the partners' stored ones
    version: int  # store version this snapshot is known to be current at
    graph_version: int  # store version of the last graph change it includes
    next_expiry: float | None
    built_at: float


class LiveEngine:
    """Keeps an engine over ``base`` policies, stored partner policies and the store's graph."""

    def __init__(
        self,
        store: Store,
        base: PolicySet,
        schema: Schema | None,
        *,
        poll_seconds: float = 0.2,
        clock: Callable[[], float] = time.time,
        partner_type: str = DEFAULT_PARTNER_TYPE,
    ):
        self.store = store
        self.schema = schema
        self.poll_seconds = poll_seconds
        self.clock = clock
        self.partner_type = partner_type
        self._base = base
        self._graphs = GraphBuilder(schema)
        self._stored: dict[tuple[str, str, int], PolicySet] = {}
        self._union: tuple[PolicySet, tuple, PolicySet] | None = None
        self._compiled: dict[str, CompiledPolicies] = {}
        self._lock = threading.RLock()
        self._changed = threading.Condition(self._lock)
        self._listeners: list[Callable[[Snapshot], None]] = []
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.last_error: str | None = None
        with store.read() as txn:
            self._snapshot = self._build(txn)

    # ------------------------------------------------------------ reading

    @property
    def snapshot(self) -> Snapshot:
        """The current snapshot; rebuilt first if a membership has lapsed since."""
        snap = self._snapshot
        if snap.next_expiry is not None and self.clock() >= snap.next_expiry:
            return self.refresh(force=True)
        return snap

    @property
    def engine(self) -> Engine:
        return self.snapshot.engine

    def on_change(self, listener: Callable[[Snapshot], None]) -> None:
        """Call ``listener(snapshot)`` after every swap (from the swapping thread)."""
        self._listeners.append(listener)

    # ------------------------------------------------------------ refreshing

    def refresh(self, *, force: bool = False, txn: Txn | None = None) -> Snapshot:
        """Catch up with the store; ``txn`` reads inside a caller's transaction."""
        with self._lock:
            current = self._snapshot
            if txn is not None:
                version, graph_version = txn.versions()
            else:
                version, graph_version = self.store.versions()
            if not force and graph_version == current.graph_version:
                if version != current.version:
                    self._swap(_with_version(current, version))
                return self._snapshot
            try:
                if txn is not None:
                    snap = self._build(txn)
                else:
                    with self.store.read() as own:
                        snap = self._build(own)
            except Exception as err:  # noqa: BLE001 - keep serving the last good engine
                self.last_error = f"{type(err).__name__}: {getattr(err, 'message', err)}"
                log.error("cannot rebuild the engine from the store; still serving "
                          "store version %d: %s", current.version, self.last_error)
                if txn is not None:
                    raise
                return current
            self.last_error = None
            self._swap(snap)
            return snap

    def set_base(self, base: PolicySet, schema: Schema | None) -> Snapshot:
        """New file policies (and schema): rebuild, or keep the old ones if that fails."""
        with self._lock:
            old = (self._base, self.schema)
            self._base, self.schema = base, schema
            try:
                with self.store.read() as txn:
                    snap = self._build(txn)
            except Exception:
                self._base, self.schema = old
                raise
            self._swap(snap)
            return snap

    def wait_for(self, version: int, timeout: float) -> Snapshot:
        """A snapshot at store version ``version`` or later, waiting up to ``timeout``."""
        deadline = time.monotonic() + timeout
        while True:
            snap = self.snapshot
            if snap.version >= version:
                return snap
            snap = self.refresh()
            if snap.version >= version:
                return snap
            left = deadline - time.monotonic()
            if left <= 0:
                raise StoreError(
                    f"store version {version} not reached within {timeout:g}s "
                    f"(this process is at {snap.version}); is that version from this store?"
                )
            with self._changed:
                self._changed.wait(min(left, self.poll_seconds))

    def _swap(self, snap: Snapshot) -> None:
        self._snapshot = snap
        self._changed.notify_all()
        for listener in self._listeners:
            try:
                listener(snap)
            except Exception:  # noqa: BLE001 - a listener never breaks the engine
                log.exception("live engine listener failed")

    def _build(self, txn: Txn) -> Snapshot:
        now = self.clock()
        if self._graphs.schema is not self.schema:
            self._graphs = GraphBuilder(self.schema)
        graph = self._graphs.build(txn, now)
        policies = self._policies(txn)
        compiled = self._compiled.get(policies.fingerprint)
        if compiled is None:
            compiled = compile_policies(policies)
            self._compiled = {policies.fingerprint: compiled}
        engine = Engine(policies, entities=graph.entities, schema=self.schema,
                        partner_type=self.partner_type, compiled=compiled)
        return Snapshot(engine, policies, graph.version, graph.graph_version,
                        graph.next_expiry, now)

    def _policies(self, txn: Txn) -> PolicySet:
        """The files' policies and the partners' stored ones; each document parsed once."""
        keys = tuple((r["partner_id"], r["name"], r["version"]) for r in txn.all(
            "SELECT partner_id, name, version FROM partner_policies ORDER BY partner_id, name"))
        cached = self._union
        if cached is not None and cached[0] is self._base and cached[1] == keys:
            return cached[2]  # the same object: its fingerprint is computed once
        seen: dict[tuple[str, str, int], PolicySet] = {}
        for partner, name, version in keys:
            parsed = self._stored.get((partner, name, version))
            if parsed is None:
                row = txn.one("SELECT text FROM partner_policies WHERE partner_id = ? AND "
                              "name = ?", (partner, name))
                parsed = PolicySet.from_text(row["text"] if row else "", partner=partner,
                                             source=stored_source(partner, name))
            seen[(partner, name, version)] = parsed
        self._stored = seen
        union = self._base | PolicySet.union(seen.values())
        self._union = (self._base, keys, union)
        return union

    # ------------------------------------------------------------ watching

    def start(self) -> None:
        """Watch the store for other processes' commits (a daemon thread)."""
        if self._thread is not None or self.poll_seconds <= 0:
            return
        self._thread = threading.Thread(target=self._watch, name="plainpdp-store-watch",
                                        daemon=True)
        self._thread.start()

    def _watch(self) -> None:
        while not self._stop.wait(self.poll_seconds):
            try:
                snap = self._snapshot
                version, _ = self.store.versions()
                due = snap.next_expiry is not None and self.clock() >= snap.next_expiry
                if version != snap.version or due:
                    self.refresh(force=due)
            except Exception:  # noqa: BLE001 - the watcher outlives a busy or odd store
                log.exception("store watcher: unexpected error")

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(5)
            self._thread = None


def stored_source(partner: str, name: str) -> str:
    """The source name of a stored partner policy, as diagnostics and ids show it."""
    return f"store:partners/{partner}/{name}.cedar"


def _with_version(snap: Snapshot, version: int) -> Snapshot:
    return Snapshot(snap.engine, snap.policies, version, snap.graph_version, snap.next_expiry,
                    snap.built_at)
