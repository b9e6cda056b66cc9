"""The values partner administration hands out: plain frozen dataclasses.

Times are timezone-aware UTC datetimes. Every record that can be updated
carries ``version``: pass it back with the update, and a record changed by
someone else in the meantime is refused with :class:`ConflictError`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from ..values import EntityUid

GRANT_KINDS = ("Role", "Group", "PlatformRole")


@dataclass(frozen=True)
class Actor:
    """Who acts. Surfaces establish it from a credential, never from a request field.

    In-process callers construct it from what their own code already knows
    (``Actor("dana")``); the gRPC service and the CLI get it from
    :meth:`AdminService.authenticate` (a session token) or
    :meth:`AdminService.authenticate_service` (a service token acting on
    behalf of a user, when policy allows).
    """

    user: str
    via: str = "library"  # "library" | "session" | "service"
    service: str | None = None  # the service acting on the user's behalf
    session: str | None = None  # a short, non-secret session reference for the audit

    @property
    def uid(self) -> EntityUid:
        return EntityUid("User", self.user)


@dataclass(frozen=True)
class ScryptParams:
    """hashlib.scrypt cost: n=2**14, r=8, p=1 needs 16 MiB and ~50 ms per hash."""

    n: int = 2**14
    r: int = 8
    p: int = 1
    salt_bytes: int = 16
    key_bytes: int = 32


@dataclass(frozen=True)
class AdminSettings:
    """Security settings; the defaults are what the issue asks for."""

    reset_token_seconds: float = 3600.0  # a reset token expires after 1 hour
    invite_token_seconds: float = 7 * 86400.0  # an invitation's first-password token
    session_seconds: float = 8 * 3600.0
    password_min_length: int = 12
    password_max_length: int = 256
    max_failed_signins: int = 5  # consecutive failures before the account locks
    lockout_seconds: float = 900.0  # 0: locked until an admin unlocks
    signin_attempts: int = 10  # per user id and per source, per window
    signin_window_seconds: float = 300.0
    reset_requests: int = 3  # password resets started per user, per window
    reset_window_seconds: float = 3600.0
    max_partner_policies: int = 200  # policies (not documents) per partner
    max_partner_policy_bytes: int = 256 * 1024  # total text per partner
    poll_seconds: float = 0.2  # how often a live engine looks for other processes' commits
    busy_timeout_seconds: float = 10.0
    scrypt: ScryptParams = field(default_factory=ScryptParams)


@dataclass(frozen=True)
class Change:
    """What a committed change returns."""

    version: int  # the store version after the commit: ask a check to be decided at it
    target: str  # uid text of what changed, e.g. User::"erin"
    audit_id: int
    record_version: int = 0  # the target's own version now: pass it with the next update
    token: str | None = field(default=None, repr=False)  # a one-time token, when one was issued


@dataclass(frozen=True)
class PartnerInfo:
    id: str
    name: str
    kind: str
    tier: str
    suspended: bool
    version: int
    created_at: datetime
    updated_at: datetime


@dataclass(frozen=True)
class Grant:
    """One membership of a user in a role, group or platform role."""

    uid: str  # e.g. Role::"northwind-dist/buyer"
    kind: str  # Role | Group | PlatformRole
    partner: str | None
    expires_at: datetime | None
    granted_by: str | None
    granted_at: datetime
    certified_at: datetime | None = None
    certified_by: str | None = None


@dataclass(frozen=True)
class UserInfo:
    id: str
    partner: str | None  # None: platform staff
    display_name: str
    email: str
    region: str
    active: bool
    locked: bool
    has_password: bool
    version: int
    grants: tuple[Grant, ...]
    created_at: datetime
    updated_at: datetime

    @property
    def uid(self) -> str:
        return f'User::"{self.id}"'


@dataclass(frozen=True)
class RoleInfo:
    uid: str
    kind: str  # Role | Group | PlatformRole
    id: str
    name: str
    partner: str | None


@dataclass(frozen=True)
class Session:
    """A sign-in session. ``token`` is the bearer credential: show it only to its user."""

    token: str = field(repr=False)
    user: str
    expires_at: datetime
    reference: str  # non-secret, for logs and the audit


@dataclass(frozen=True)
class AuditRecord:
    """One attempted change (or denied read), allowed or denied. Secrets are redacted."""

    id: int
    at: datetime
    actor: str | None  # user id; None when there was no authenticated actor
    via: str
    action: str  # e.g. admin:AssignRole
    target: str  # uid text
    partner: str | None  # the target's partner
    actor_partner: str | None
    decision: str  # allow | deny
    outcome: str  # applied | denied | conflict | not-found | invalid | failed
    reasons: tuple[str, ...]
    changes: dict[str, Any]  # field -> {"before": ..., "after": ...}
    store_version: int | None
    message: str


@dataclass(frozen=True)
class AccessEntry:
    """One allowed (principal, action, resource) with the policies that allowed it."""

    principal: str
    action: str
    resource: str
    reasons: tuple[str, ...]


@dataclass(frozen=True)
class AccessReport:
    """'What can they do' (subject is a user) or 'who can' (subject is a resource)."""

    subject: str
    entries: tuple[AccessEntry, ...]
    version: int  # the store version it was computed at


@dataclass(frozen=True)
class RecertificationItem:
    user: UserInfo
    access: tuple[AccessEntry, ...]


@dataclass(frozen=True)
class RecertificationReport:
    """Every user of a partner with their grants and access, to confirm or revoke."""

    partner: str
    items: tuple[RecertificationItem, ...]
    version: int
    generated_at: datetime


@dataclass(frozen=True)
class PolicyDocument:
    """A partner-scope policy text stored for one partner."""

    partner: str
    name: str
    text: str
    version: int
    policy_ids: tuple[str, ...]
    updated_at: datetime
    updated_by: str | None
