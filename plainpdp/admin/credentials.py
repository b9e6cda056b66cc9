"""Passwords, tokens and the password policy.

Passwords are stored only as salted ``hashlib.scrypt`` hashes with the
parameters that made them (n=2**14, r=8, p=1, a 16-byte random salt, a
32-byte key by default; the row keeps n, r, p so they can be raised later
without breaking old hashes). Comparison is constant-time. Session, reset
and service tokens come from :func:`secrets.token_urlsafe` (256 bits) and
only their SHA-256 is stored: a stolen database does not hold a usable
token. No function here logs anything.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass

from .errors import PasswordPolicyError
from .model import AdminSettings, ScryptParams

TOKEN_BYTES = 32
# scrypt needs 128 * n * r bytes; allow the default cost with headroom
_MAXMEM = 64 * 1024 * 1024


@dataclass(frozen=True)
class PasswordHash:
    hash: bytes
    salt: bytes
    n: int
    r: int
    p: int


def hash_password(password: str, params: ScryptParams) -> PasswordHash:
    """A fresh salt and the scrypt hash of ``password``."""
    salt = secrets.token_bytes(params.salt_bytes)
    key = hashlib.scrypt(password.encode("utf-8"), salt=salt, n=params.n, r=params.r,
                         p=params.p, maxmem=_MAXMEM, dklen=params.key_bytes)
    return PasswordHash(key, salt, params.n, params.r, params.p)


def verify_password(password: str, stored: PasswordHash) -> bool:
    """Recompute with the stored salt and parameters; compare in constant time."""
    key = hashlib.scrypt(password.encode("utf-8"), salt=stored.salt, n=stored.n,
                         r=stored.r, p=stored.p, maxmem=_MAXMEM, dklen=len(stored.hash))
    return hmac.compare_digest(key, stored.hash)


def burn_time(params: ScryptParams) -> None:
    """One hash of nothing, so an unknown user id costs as much as a wrong password."""
    hashlib.scrypt(b"", salt=b"\0" * params.salt_bytes, n=params.n, r=params.r, p=params.p,
                   maxmem=_MAXMEM, dklen=params.key_bytes)


def new_token() -> str:
    """A random bearer token (43 URL-safe characters, 256 bits)."""
    return secrets.token_urlsafe(TOKEN_BYTES)


def token_hash(token: str) -> str:
    """What the store keeps of a token: its SHA-256, hex."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def token_reference(token_or_hash: str, *, hashed: bool = False) -> str:
    """A short non-secret reference to a token for logs and the audit (8 hex of its hash)."""
    return (token_or_hash if hashed else token_hash(token_or_hash))[:8]


def check_password_policy(password: str, user_id: str, settings: AdminSettings) -> None:
    """Length bounds, and not the user id (nor containing it). Raises PasswordPolicyError."""
    if not isinstance(password, str):
        raise PasswordPolicyError("a password must be text")
    if len(password) < settings.password_min_length:
        raise PasswordPolicyError(
            f"the password is too short: use at least {settings.password_min_length} characters"
        )
    if len(password) > settings.password_max_length:
        raise PasswordPolicyError(
            f"the password is too long: use at most {settings.password_max_length} characters"
        )
    folded = password.casefold()
    if user_id and user_id.casefold() in folded:
        raise PasswordPolicyError("the password must not contain the user id")
    if len(set(password)) < 4:
        raise PasswordPolicyError("the password repeats too few characters; use a passphrase")
