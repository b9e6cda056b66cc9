"""Errors of partner administration, all under :class:`plainpdp.PlainPDPError`.

Messages never carry a password or a token: they say what was refused and
what to do, so they are safe to show, log and audit.
"""

from __future__ import annotations

from ..errors import PlainPDPError


class AdminError(PlainPDPError):
    """Root of the errors raised by :mod:`plainpdp.admin`."""


class PermissionDenied(AdminError):
    """The engine denied the operation; it was audited and nothing changed."""

    def __init__(self, message: str, *, reasons: frozenset[str] = frozenset(),
                 audit_id: int | None = None):
        super().__init__(message)
        self.reasons = reasons
        self.audit_id = audit_id


class ConflictError(AdminError):
    """The record changed since it was read (stale version), or already exists."""

    def __init__(self, message: str, *, current_version: int | None = None):
        super().__init__(message)
        self.current_version = current_version


class NotFound(AdminError):
    """The named partner, user, role or policy does not exist."""


class AuthenticationError(AdminError):
    """A credential (password, session, reset or service token) was not accepted.

    The message is the same whatever the cause (unknown user, wrong password,
    locked, inactive), so it tells an attacker nothing.
    """


class RateLimited(AdminError):
    """Too many sign-in or reset attempts; try again after ``retry_after`` seconds."""

    def __init__(self, message: str, *, retry_after: float):
        super().__init__(message)
        self.retry_after = retry_after


class PasswordPolicyError(AdminError):
    """A new password does not meet the password policy."""


class LimitExceeded(AdminError):
    """A per-partner limit (policy count or size) would be exceeded."""


class InvalidInput(AdminError):
    """An argument that cannot be used as given (bad id, unknown field, ...)."""


class StoreError(AdminError):
    """The store cannot be opened, migrated or written."""
