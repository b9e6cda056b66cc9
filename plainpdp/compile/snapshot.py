"""Compiled policy sets on disk: skip compiling at start-up, never trust blindly.

File layout::

    PLAINPDP-SNAPSHOT\\n
    {"format": 2, "python": "cpython-311", "fingerprint": "...", "size": N,
     "digest": "<sha256 of payload>", "hmac": "<hmac-sha256>" | null}\\n
    payload (N bytes): three length-prefixed parts
        pickle (dropped ids, module source) | marshal (module code) |
        pickle (uid ids, trees, leaves; conditions are bound again on load)

The header is plain JSON and checked first: a different format, Python or
policy fingerprint means *stale*, a wrong size or digest means *corrupt*.
The payload holds code (the generated module, marshalled) and pickles, so
it is only loaded when it is *trusted*: with a key (the caller's, else
``$PLAINPDP_SNAPSHOT_KEY``) its HMAC-SHA256 must verify; without one, the
file and its directory must belong to the current user and be writable by
nobody else. Even then the unpickler only builds plainpdp's own value and
index classes. Every rejection raises :class:`SnapshotError` with a
``reason`` (``missing``, ``stale``, ``corrupt``, ``untrusted``) and the
caller compiles instead: :func:`load_or_compile` does exactly that.
"""

from __future__ import annotations

import hashlib
import hmac
import io
import json
import marshal
import os
import pickle
import stat
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from ..errors import PlainPDPError
from ..policyset import PolicySet
from .codegen import MODULE_NAME, load_module
from .index import Leaf
from .passes import CompiledPolicies, bind, compile_policies, paused_gc

MAGIC = b"PLAINPDP-SNAPSHOT\n"
FORMAT = 4
KEY_ENV = "PLAINPDP_SNAPSHOT_KEY"
_PYTHON = sys.implementation.cache_tag or sys.implementation.name


class SnapshotError(PlainPDPError):
    """A snapshot that cannot be used; ``reason`` says why."""

    def __init__(self, reason: str, message: str):
        super().__init__(message)
        self.reason = reason


def _key(key: bytes | str | None) -> bytes | None:
    if key is None:
        key = os.environ.get(KEY_ENV) or None
    if isinstance(key, str):
        key = key.encode()
    return key


def _mac(key: bytes, header: dict, payload: bytes) -> str:
    signed = json.dumps(
        [header["format"], header["python"], header["fingerprint"], header["digest"]]
    ).encode()
    return hmac.new(key, signed + b"\n" + payload, hashlib.sha256).hexdigest()


# ------------------------------------------------------------------ payload

# The only globals a snapshot may name: plainpdp's value and index classes.
_ALLOWED = {
    ("plainpdp.values", "EntityUid"),
    ("plainpdp.values", "CedarSet"),
    ("plainpdp.values", "Record"),
    ("plainpdp.values", "_bool_key"),
    ("plainpdp.syntax.ast", "Wildcard"),
    ("plainpdp.extensions", "IPAddr"),
    ("plainpdp.extensions", "Decimal"),
    ("plainpdp.extensions", "Datetime"),
    ("plainpdp.extensions", "Duration"),
    ("plainpdp.compile.index", "KeyNode"),
    ("plainpdp.compile.index", "Single"),
    ("plainpdp.compile.index", "OneIn"),
    ("plainpdp.compile.index", "Leaf"),
    ("plainpdp.compile.codegen", "LikePattern"),
    ("builtins", "frozenset"),
    ("builtins", "set"),
}


class _Unpickler(pickle.Unpickler):
    def find_class(self, module: str, name: str) -> Any:
        if (module, name) not in _ALLOWED:
            raise pickle.UnpicklingError(f"snapshot names a forbidden global {module}.{name}")
        return super().find_class(module, name)


def _payload(compiled: CompiledPolicies) -> bytes:
    head = pickle.dumps((compiled.dropped, compiled.source), protocol=pickle.HIGHEST_PROTOCOL)
    code = marshal.dumps(compile(compiled.source, MODULE_NAME, "exec"))
    tree = pickle.dumps((compiled.ids, compiled.trees, compiled.leaves),
                        protocol=pickle.HIGHEST_PROTOCOL)
    parts = (head, code, tree)
    return b"".join(len(p).to_bytes(8, "big") + p for p in parts)


def _split(payload: bytes) -> list[bytes]:
    parts, pos = [], 0
    while pos < len(payload):
        size = int.from_bytes(payload[pos:pos + 8], "big")
        parts.append(payload[pos + 8:pos + 8 + size])
        pos += 8 + size
    if len(parts) != 3 or pos != len(payload):
        raise SnapshotError("corrupt", "snapshot payload is not three parts")
    return parts


def _restore(payload: bytes, fingerprint: str) -> CompiledPolicies:
    start = time.perf_counter()
    head, code_bytes, tree = _split(payload)
    try:
        with paused_gc():
            dropped, source = _Unpickler(io.BytesIO(head)).load()
            code = marshal.loads(code_bytes)
            ids, trees, leaves = _Unpickler(io.BytesIO(tree)).load()
            if not all(leaf.__class__ is Leaf for leaf in leaves):
                raise SnapshotError("corrupt", "snapshot payload holds no policy leaves")
            bind(leaves, load_module(code))
    except (pickle.UnpicklingError, EOFError, ValueError, TypeError, IndexError,
            AttributeError, KeyError) as err:
        raise SnapshotError("corrupt", f"snapshot payload does not load: {err}") from None
    return CompiledPolicies(fingerprint, source, leaves, ids, trees, dropped,
                            {"load": time.perf_counter() - start})


# ------------------------------------------------------------------ files


def save_snapshot(compiled: CompiledPolicies, path: str | Path, key: bytes | str | None = None) -> None:
    """Write ``compiled`` to ``path`` atomically (mode 0600), signed when a key is set."""
    path = Path(path)
    payload = _payload(compiled)
    header: dict[str, Any] = {
        "format": FORMAT,
        "python": _PYTHON,
        "fingerprint": compiled.fingerprint,
        "size": len(payload),
        "digest": hashlib.sha256(payload).hexdigest(),
        "hmac": None,
    }
    secret = _key(key)
    if secret is not None:
        header["hmac"] = _mac(secret, header, payload)
    fd, tmp = tempfile.mkstemp(prefix=".snapshot-", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(MAGIC + json.dumps(header).encode() + b"\n" + payload)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def _private(path: Path) -> str | None:
    """Why ``path`` could be planted by someone else, or None when it cannot."""
    uid = os.getuid()
    for p in (path, path.parent):
        st = os.stat(p)
        if st.st_uid != uid:
            return f"{p} is not owned by the current user"
        if st.st_mode & (stat.S_IWGRP | stat.S_IWOTH):
            return f"{p} is writable by group or others"
    return None


def load_snapshot(
    path: str | Path, policies_fingerprint: str, key: bytes | str | None = None
) -> CompiledPolicies:
    """The compiled set saved at ``path``; SnapshotError if stale, corrupt or untrusted."""
    path = Path(path)
    try:
        data = path.read_bytes()
    except OSError as err:
        raise SnapshotError("missing", f"cannot read snapshot {path}: {err.strerror}") from None
    if not data.startswith(MAGIC):
        raise SnapshotError("corrupt", f"{path} is not a plainpdp snapshot")
    end = data.find(b"\n", len(MAGIC))
    try:
        header = json.loads(data[len(MAGIC):end])
        fields = (header["format"], header["python"], header["fingerprint"],
                  header["size"], header["digest"], header["hmac"])
    except (ValueError, TypeError, KeyError):
        raise SnapshotError("corrupt", f"{path}: unreadable snapshot header") from None
    fmt, python, fingerprint, size, digest, mac = fields
    if fmt != FORMAT or python != _PYTHON:
        raise SnapshotError(
            "stale", f"{path}: snapshot format {fmt}/{python}, this plainpdp reads {FORMAT}/{_PYTHON}"
        )
    if fingerprint != policies_fingerprint:
        raise SnapshotError("stale", f"{path}: snapshot of other policies ({fingerprint})")
    payload = data[end + 1:]
    if len(payload) != size or not hmac.compare_digest(
        hashlib.sha256(payload).hexdigest(), str(digest)
    ):
        raise SnapshotError("corrupt", f"{path}: snapshot payload does not match its digest")
    secret = _key(key)
    if secret is not None:
        if not isinstance(mac, str) or not hmac.compare_digest(_mac(secret, header, payload), mac):
            raise SnapshotError("untrusted", f"{path}: snapshot signature does not verify")
    else:
        why = _private(path)
        if why is not None:
            raise SnapshotError(
                "untrusted", f"{path}: unsigned snapshot not trusted: {why}; set {KEY_ENV}"
            )
    return _restore(payload, fingerprint)


def load_or_compile(
    policies: PolicySet, path: str | Path, key: bytes | str | None = None
) -> CompiledPolicies:
    """The snapshot at ``path`` if usable, else compile ``policies`` and save it there."""
    try:
        return load_snapshot(path, policies.fingerprint, key)
    except SnapshotError:
        compiled = compile_policies(policies)
        save_snapshot(compiled, path, key)
        return compiled
