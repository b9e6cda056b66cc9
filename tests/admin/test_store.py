"""The SQLite store: migrations, WAL, optimistic versions, invariants held by the schema."""

from __future__ import annotations

import sqlite3

import pytest
from admin_support import rows

from plainpdp.admin import MIGRATIONS, ConflictError, SQLiteStore, StoreError, open_store


def test_a_new_store_is_migrated_and_in_wal_mode(tmp_path):
    store = open_store(tmp_path / "deep" / "s.sqlite")
    try:
        assert store.schema_version == len(MIGRATIONS)
        assert store.integrity_check() == "ok"
        assert store.versions() == (0, 0)
    finally:
        store.close()
    assert rows(tmp_path / "deep" / "s.sqlite", "PRAGMA journal_mode") == [("wal",)]
    # reopening applies nothing twice
    again = SQLiteStore(tmp_path / "deep" / "s.sqlite")
    assert again.schema_version == len(MIGRATIONS)
    again.close()


def test_a_store_from_a_newer_plainpdp_is_refused(tmp_path):
    path = tmp_path / "s.sqlite"
    conn = sqlite3.connect(path)
    conn.execute(f"PRAGMA user_version = {len(MIGRATIONS) + 1}")
    conn.close()
    with pytest.raises(StoreError, match="newer"):
        open_store(path)


def test_a_file_that_is_not_a_store_is_a_readable_error(tmp_path):
    path = tmp_path / "s.sqlite"
    path.write_bytes(b"this is not a database" * 100)
    with pytest.raises(StoreError, match="cannot open"):
        open_store(path)


def test_the_audit_log_is_append_only(store_path):
    store = open_store(store_path)
    try:
        with pytest.raises(sqlite3.IntegrityError, match="append-only"):
            with store.write() as txn:
                txn.execute("UPDATE audit SET decision = 'allow'")
        with pytest.raises(sqlite3.IntegrityError, match="append-only"):
            with store.write() as txn:
                txn.execute("DELETE FROM audit")
    finally:
        store.close()
    assert rows(store_path, "SELECT COUNT(*) FROM audit")[0][0] >= 1


def test_a_membership_never_crosses_partners_even_written_directly(store_path):
    store = open_store(store_path)
    try:
        with pytest.raises(sqlite3.IntegrityError, match="inside the partner"):
            with store.write() as txn:
                txn.execute("INSERT INTO memberships (user_id, kind, role_id, granted_at) "
                            "VALUES ('erin', 'Role', 'acme-supply/finance', 0)")
    finally:
        store.close()


def test_versioned_update_refuses_a_stale_version(store_path):
    store = open_store(store_path)
    try:
        with store.write() as txn:
            assert txn.update_versioned("users", "id", "erin", 1, {"region": "us"},
                                        "user erin") == 2
        with pytest.raises(ConflictError, match="version 1, it is now 2"):
            with store.write() as txn:
                txn.update_versioned("users", "id", "erin", 1, {"region": "eu"}, "user erin")
    finally:
        store.close()
    assert rows(store_path, "SELECT region, version FROM users WHERE id = 'erin'") == [("us", 2)]


def test_a_failed_transaction_leaves_nothing(store_path):
    store = open_store(store_path)
    try:
        before = store.versions()
        with pytest.raises(RuntimeError):
            with store.write() as txn:
                txn.bump(graph=True)
                txn.execute("UPDATE users SET region = 'nowhere'")
                raise RuntimeError("boom")
        assert store.versions() == before
    finally:
        store.close()
    assert ("nowhere",) not in rows(store_path, "SELECT DISTINCT region FROM users")


def test_every_commit_counts_and_graph_changes_are_marked(store_path):
    store = open_store(store_path)
    try:
        v, g = store.versions()
        with store.write() as txn:
            assert txn.bump(graph=False) == v + 1
        assert store.versions() == (v + 1, g)
        with store.write() as txn:
            txn.bump(graph=True)
        assert store.versions() == (v + 2, v + 2)
    finally:
        store.close()


def _open_at_once(path, barrier, results):
    barrier.wait()
    try:
        store = SQLiteStore(path)
        results.put(store.versions()[0])
        store.close()
    except Exception as err:  # noqa: BLE001 - reported to the parent as text
        results.put(f"{type(err).__name__}: {err}")


def test_several_processes_opening_a_fresh_store_at_once_all_succeed(tmp_path):
    """Sidecar workers start together on a store file that does not exist yet."""
    import multiprocessing

    ctx = multiprocessing.get_context("fork")
    for round_ in range(8):
        path = tmp_path / f"store{round_}.sqlite"
        barrier, results = ctx.Barrier(4), ctx.Queue()
        procs = [ctx.Process(target=_open_at_once, args=(path, barrier, results))
                 for _ in range(4)]
        for p in procs:
            p.start()
        outcomes = [results.get(timeout=60) for _ in procs]
        for p in procs:
            p.join(timeout=60)
        assert all(isinstance(o, int) for o in outcomes), outcomes
        conn = sqlite3.connect(path)
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert conn.execute("PRAGMA user_version").fetchone()[0] == len(MIGRATIONS)
        conn.close()
