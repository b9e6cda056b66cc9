"""The admin store: one storage interface, and its SQLite implementation.

:class:`Store` is what :class:`~plainpdp.admin.service.AdminService` needs
from a backend: consistent reads, and write transactions that either commit
whole or leave nothing behind. A PostgreSQL backend implements the same
protocol (``write()`` as ``BEGIN ISOLATION LEVEL SERIALIZABLE``).

:class:`SQLiteStore` keeps everything in one file: WAL journal (readers never
block the writer), ``synchronous=FULL`` (a commit survives a crash of the
process and of the machine), a busy timeout, and one connection per thread.
Every write is ``BEGIN IMMEDIATE``: the write lock is taken before the first
read, so what an operation reads is what it changes. Records carry a
``version`` column checked on update (optimistic concurrency); the single
row of ``store_version`` counts commits (``version``) and commits that
changed the entity graph or the partner policies (``graph_version``), so
engines in any process can tell when to reload.

Schema changes are the :data:`MIGRATIONS` list, applied in order;
``PRAGMA user_version`` records how many are applied. The audit table is
append-only (triggers refuse UPDATE and DELETE).
"""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Protocol

from .errors import ConflictError, StoreError

CRASH_ENV = "PLAINPDP_CRASH_AT"
_CRASH_AT = os.environ.get(CRASH_ENV, "")


def crash_point(name: str) -> None:
    """Die here (SIGKILL) when ``$PLAINPDP_CRASH_AT`` names this point; for the crash tests."""
    if _CRASH_AT and _CRASH_AT == name:
        os.kill(os.getpid(), signal.SIGKILL)


MIGRATIONS: tuple[str, ...] = (
    # 1: the first schema
    """
    CREATE TABLE store_version (
        id INTEGER PRIMARY KEY CHECK (id = 1),
        version INTEGER NOT NULL,
        graph_version INTEGER NOT NULL
    );
    INSERT INTO store_version VALUES (1, 0, 0);
    CREATE TABLE partners (
        id TEXT PRIMARY KEY,
        name TEXT NOT NULL,
        kind TEXT NOT NULL,
        tier TEXT NOT NULL,
        suspended INTEGER NOT NULL DEFAULT 0,
        version INTEGER NOT NULL DEFAULT 1,
        created_at REAL NOT NULL,
        updated_at REAL NOT NULL
    );
    CREATE TABLE users (
        id TEXT PRIMARY KEY,
        partner_id TEXT REFERENCES partners(id),
        display_name TEXT NOT NULL,
        email TEXT NOT NULL,
        region TEXT NOT NULL,
        active INTEGER NOT NULL DEFAULT 1,
        version INTEGER NOT NULL DEFAULT 1,
        created_at REAL NOT NULL,
        updated_at REAL NOT NULL
    );
    CREATE INDEX users_partner ON users(partner_id);
    -- roles, groups and platform roles; a partner's own ones have partner_id
    CREATE TABLE roles (
        kind TEXT NOT NULL CHECK (kind IN ('Role', 'Group', 'PlatformRole')),
        id TEXT NOT NULL,
        partner_id TEXT REFERENCES partners(id),
        name TEXT NOT NULL,
        PRIMARY KEY (kind, id),
        CHECK ((kind = 'PlatformRole') = (partner_id IS NULL))
    );
    CREATE TABLE memberships (
        user_id TEXT NOT NULL REFERENCES users(id),
        kind TEXT NOT NULL,
        role_id TEXT NOT NULL,
        expires_at REAL,
        granted_by TEXT,
        granted_at REAL NOT NULL,
        certified_at REAL,
        certified_by TEXT,
        PRIMARY KEY (user_id, kind, role_id),
        FOREIGN KEY (kind, role_id) REFERENCES roles(kind, id)
    );
    CREATE INDEX memberships_expiry ON memberships(expires_at) WHERE expires_at IS NOT NULL;
    -- a membership never crosses partners, whatever the caller did
    CREATE TRIGGER memberships_same_partner BEFORE INSERT ON memberships
    WHEN (SELECT partner_id FROM roles WHERE kind = NEW.kind AND id = NEW.role_id) IS NOT NULL
     AND (SELECT partner_id FROM roles WHERE kind = NEW.kind AND id = NEW.role_id)
         IS NOT (SELECT partner_id FROM users WHERE id = NEW.user_id)
    BEGIN SELECT RAISE(ABORT, 'a membership must stay inside the partner'); END;
    CREATE TABLE credentials (
        user_id TEXT PRIMARY KEY REFERENCES users(id),
        hash BLOB NOT NULL,
        salt BLOB NOT NULL,
        n INTEGER NOT NULL,
        r INTEGER NOT NULL,
        p INTEGER NOT NULL,
        updated_at REAL NOT NULL
    );
    CREATE TABLE lockouts (
        user_id TEXT PRIMARY KEY,
        failed INTEGER NOT NULL DEFAULT 0,
        locked_until REAL
    );
    CREATE TABLE reset_tokens (
        token_hash TEXT PRIMARY KEY,
        user_id TEXT NOT NULL REFERENCES users(id),
        created_at REAL NOT NULL,
        expires_at REAL NOT NULL,
        used_at REAL
    );
    CREATE TABLE sessions (
        token_hash TEXT PRIMARY KEY,
        user_id TEXT NOT NULL REFERENCES users(id),
        created_at REAL NOT NULL,
        expires_at REAL NOT NULL,
        revoked_at REAL
    );
    CREATE INDEX sessions_user ON sessions(user_id);
    CREATE TABLE services (
        id TEXT PRIMARY KEY,
        partner_id TEXT REFERENCES partners(id),
        name TEXT NOT NULL,
        token_hash TEXT NOT NULL UNIQUE,
        created_at REAL NOT NULL,
        revoked_at REAL
    );
    CREATE TABLE rate_events (
        bucket TEXT NOT NULL,
        at REAL NOT NULL
    );
    CREATE INDEX rate_events_bucket ON rate_events(bucket, at);
    CREATE TABLE partner_policies (
        partner_id TEXT NOT NULL REFERENCES partners(id),
        name TEXT NOT NULL,
        text TEXT NOT NULL,
        policy_ids TEXT NOT NULL,
        version INTEGER NOT NULL,
        updated_at REAL NOT NULL,
        updated_by TEXT,
        PRIMARY KEY (partner_id, name)
    );
    -- what each entity of the seed file looked like when last imported
    CREATE TABLE seed_digests (
        uid TEXT PRIMARY KEY,
        digest TEXT NOT NULL
    );
    -- everything else in the entity graph (sections, folders, documents, ...)
    CREATE TABLE resources (
        type TEXT NOT NULL,
        id TEXT NOT NULL,
        body TEXT NOT NULL,
        PRIMARY KEY (type, id)
    );
    CREATE TABLE audit (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        at REAL NOT NULL,
        actor TEXT,
        via TEXT NOT NULL,
        action TEXT NOT NULL,
        target TEXT NOT NULL,
        partner_id TEXT,
        actor_partner TEXT,
        decision TEXT NOT NULL,
        outcome TEXT NOT NULL,
        reasons TEXT NOT NULL,
        changes TEXT NOT NULL,
        store_version INTEGER,
        message TEXT NOT NULL
    );
    CREATE INDEX audit_partner ON audit(partner_id, id);
    CREATE INDEX audit_actor_partner ON audit(actor_partner, id);
    CREATE TRIGGER audit_no_update BEFORE UPDATE ON audit
    BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
    CREATE TRIGGER audit_no_delete BEFORE DELETE ON audit
    BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
    """,
)

Row = dict[str, Any]


class Txn(Protocol):
    """What one transaction offers; rows are plain dicts."""

    def versions(self) -> tuple[int, int]: ...
    def bump(self, *, graph: bool) -> int: ...
    def one(self, sql: str, params: tuple = ()) -> Row | None: ...
    def all(self, sql: str, params: tuple = ()) -> list[Row]: ...
    def execute(self, sql: str, params: tuple = ()) -> int: ...
    def insert(self, table: str, row: Row) -> int: ...
    def update_versioned(self, table: str, key: str, key_value: str, expected: int,
                         fields: Row, what: str) -> int: ...


class Store(Protocol):
    """The storage interface every backend implements."""

    location: str

    def write(self) -> Any:
        """A context manager: one write transaction (a ``Txn``), committed on success."""

    def read(self) -> Any:
        """A context manager: a consistent read-only snapshot (a ``Txn``)."""

    def versions(self) -> tuple[int, int]:
        """``(version, graph_version)`` as committed now; cheap enough to poll."""

    def close(self) -> None: ...


class SQLiteTxn:
    """One SQLite transaction on one connection."""

    __slots__ = ("conn", "_bumped")

    def __init__(self, conn: sqlite3.Connection):
        self.conn = conn
        self._bumped: int | None = None

    def versions(self) -> tuple[int, int]:
        row = self.conn.execute(
            "SELECT version, graph_version FROM store_version WHERE id = 1"
        ).fetchone()
        return int(row[0]), int(row[1])

    def bump(self, *, graph: bool) -> int:
        """Count this transaction's commit (once); ``graph`` when entities or policies change."""
        if self._bumped is None:
            self.conn.execute("UPDATE store_version SET version = version + 1 WHERE id = 1")
        if graph:
            self.conn.execute(
                "UPDATE store_version SET graph_version = version WHERE id = 1"
            )
        self._bumped = self.versions()[0]
        return self._bumped

    def one(self, sql: str, params: tuple = ()) -> Row | None:
        cur = self.conn.execute(sql, params)
        row = cur.fetchone()
        if row is None:
            return None
        return dict(zip([d[0] for d in cur.description], row, strict=True))

    def all(self, sql: str, params: tuple = ()) -> list[Row]:
        cur = self.conn.execute(sql, params)
        names = [d[0] for d in cur.description]
        return [dict(zip(names, row, strict=True)) for row in cur.fetchall()]

    def execute(self, sql: str, params: tuple = ()) -> int:
        """Run a statement; the number of rows it changed."""
        return self.conn.execute(sql, params).rowcount

    def insert(self, table: str, row: Row) -> int:
        cols = ", ".join(row)
        marks = ", ".join("?" for _ in row)
        try:
            cur = self.conn.execute(
                f"INSERT INTO {table} ({cols}) VALUES ({marks})", tuple(row.values())
            )
        except sqlite3.IntegrityError as err:
            if "UNIQUE" in str(err) or "PRIMARY KEY" in str(err):
                raise ConflictError(f"{table}: that record already exists") from None
            raise StoreError(f"{table}: {err}") from None
        return int(cur.lastrowid or 0)

    def update_versioned(self, table: str, key: str, key_value: str, expected: int,
                         fields: Row, what: str) -> int:
        """Update a record if it still has version ``expected``; its new version."""
        sets = ", ".join(f"{k} = ?" for k in fields)
        sep = ", " if sets else ""
        n = self.conn.execute(
            f"UPDATE {table} SET {sets}{sep}version = version + 1 "
            f"WHERE {key} = ? AND version = ?",
            (*fields.values(), key_value, expected),
        ).rowcount
        if n != 1:
            row = self.conn.execute(
                f"SELECT version FROM {table} WHERE {key} = ?", (key_value,)
            ).fetchone()
            current = None if row is None else int(row[0])
            raise ConflictError(
                f"{what} changed since it was read (you had version {expected}, "
                f"it is now {current}); read it again and retry",
                current_version=current,
            )
        return expected + 1


class SQLiteStore:
    """The default store: one SQLite file in WAL mode."""

    def __init__(self, path: str | Path, *, busy_timeout: float = 10.0):
        self.path = Path(path)
        self.location = str(self.path)
        self.busy_timeout = busy_timeout
        self._local = threading.local()
        self._conns: list[sqlite3.Connection] = []
        self._lock = threading.Lock()
        self._closed = False
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as err:
            raise StoreError(f"cannot create the store's directory {self.path.parent}: {err}") from None
        self._migrate()

    # ------------------------------------------------------------ connections

    def _conn(self) -> sqlite3.Connection:
        conn = getattr(self._local, "conn", None)
        if conn is not None:
            return conn
        if self._closed:
            raise StoreError(f"the store {self.path} is closed")
        try:
            conn = sqlite3.connect(
                self.path, timeout=self.busy_timeout, isolation_level=None,
                check_same_thread=False,
            )
            self._use_wal(conn)
            conn.execute("PRAGMA synchronous = FULL")
            conn.execute("PRAGMA foreign_keys = ON")
        except sqlite3.Error as err:
            raise StoreError(f"cannot open the store {self.path}: {err}") from None
        self._local.conn = conn
        with self._lock:
            self._conns.append(conn)
        return conn

    def _use_wal(self, conn: sqlite3.Connection) -> None:
        """Switch a new file to WAL, waiting out other processes opening it too.

        Changing the journal mode can fail with "database is locked" without
        SQLite's busy handler being asked (several sidecar workers opening a
        fresh store at once), so it is retried here up to the busy timeout.
        """
        deadline = time.monotonic() + self.busy_timeout
        while True:
            try:
                if conn.execute("PRAGMA journal_mode").fetchone()[0].lower() == "wal":
                    return
                conn.execute("PRAGMA journal_mode = WAL")
                return
            except sqlite3.OperationalError as err:
                if "locked" not in str(err) or time.monotonic() >= deadline:
                    raise
                time.sleep(0.02)

    def _migrate(self) -> None:
        conn = self._conn()
        try:
            conn.execute("BEGIN IMMEDIATE")
            try:
                applied = conn.execute("PRAGMA user_version").fetchone()[0]
                if applied > len(MIGRATIONS):
                    raise StoreError(
                        f"the store {self.path} has schema version {applied}, newer than "
                        f"this plainpdp knows ({len(MIGRATIONS)}); upgrade plainpdp"
                    )
                for number in range(applied, len(MIGRATIONS)):
                    for statement in _statements(MIGRATIONS[number]):
                        conn.execute(statement)
                    conn.execute(f"PRAGMA user_version = {number + 1}")
                conn.execute("COMMIT")
            except BaseException:
                conn.execute("ROLLBACK")
                raise
        except sqlite3.DatabaseError as err:
            raise StoreError(f"cannot open the store {self.path}: {err}") from None

    @property
    def schema_version(self) -> int:
        return int(self._conn().execute("PRAGMA user_version").fetchone()[0])

    # ------------------------------------------------------------ transactions

    @contextmanager
    def write(self) -> Iterator[SQLiteTxn]:
        """``BEGIN IMMEDIATE`` ... ``COMMIT``; any exception rolls the whole transaction back."""
        conn = self._conn()
        try:
            conn.execute("BEGIN IMMEDIATE")
        except sqlite3.OperationalError as err:
            raise StoreError(f"the store is busy or unwritable ({err}); retry") from None
        txn = SQLiteTxn(conn)
        try:
            yield txn
            crash_point("before-commit")
            conn.execute("COMMIT")
        except BaseException:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise
        crash_point("after-commit")

    @contextmanager
    def read(self) -> Iterator[SQLiteTxn]:
        """A deferred transaction: every read inside sees one committed state."""
        conn = self._conn()
        conn.execute("BEGIN")
        try:
            yield SQLiteTxn(conn)
        finally:
            if conn.in_transaction:
                conn.execute("ROLLBACK")

    def versions(self) -> tuple[int, int]:
        row = self._conn().execute(
            "SELECT version, graph_version FROM store_version WHERE id = 1"
        ).fetchone()
        return int(row[0]), int(row[1])

    def integrity_check(self) -> str:
        """SQLite's own consistency check: ``ok`` when the file is sound."""
        return str(self._conn().execute("PRAGMA integrity_check").fetchone()[0])

    def close(self) -> None:
        self._closed = True
        with self._lock:
            conns, self._conns = self._conns, []
        for conn in conns:
            try:
                conn.close()
            except sqlite3.Error:
                pass
        self._local = threading.local()

    def __repr__(self) -> str:
        return f"SQLiteStore({str(self.path)!r})"


def _statements(script: str) -> list[str]:
    """Split a migration script into statements (triggers hold ``;`` inside)."""
    out: list[str] = []
    buf = ""
    for line in script.splitlines(keepends=True):
        if line.strip().startswith("--"):
            continue
        buf += line
        if sqlite3.complete_statement(buf):
            if buf.strip():
                out.append(buf.strip())
            buf = ""
    if buf.strip():
        out.append(buf.strip())
    return out


def dumps(value: Any) -> str:
    """JSON for the store's text columns (stable key order)."""
    return json.dumps(value, sort_keys=True, ensure_ascii=False)


DEFAULT_STORE_PATH = Path(".plainpdp") / "store.sqlite"
STORE_ENV = "PLAINPDP_STORE"


def default_store_path() -> Path:
    """``$PLAINPDP_STORE``, else ``.plainpdp/store.sqlite`` in the working directory."""
    env = os.environ.get(STORE_ENV)
    return Path(env) if env else DEFAULT_STORE_PATH


def open_store(path: str | Path | None = None, *, busy_timeout: float = 10.0) -> SQLiteStore:
    """Open (creating and migrating) the SQLite store at ``path`` or the default path."""
    return SQLiteStore(path if path is not None else default_store_path(),
                       busy_timeout=busy_timeout)
