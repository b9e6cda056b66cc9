"""Delegated partner administration (DESIGN §3), as a library.

    from plainpdp.admin import AdminService, Actor

    with AdminService.open(".plainpdp/store.sqlite", "policies") as admin:
        session = admin.sign_in("dana", password)           # or Actor("dana") in-process
        actor = admin.authenticate(session.token)
        change = admin.create_user(actor, "nina", partner="northwind-dist",
                                   display_name="Nina Berg", email="nina@example.com",
                                   region="eu")
        admin.assign_role(actor, "nina", 'Role::"northwind-dist/buyer"',
                          version=change.record_version)
        admin.is_authorized('User::"nina"', 'Action::"view"', 'Section::"orders"',
                            {"mfa": False}, at_version=change.version)

Every operation is authorized by the engine as ``Action::"admin:<Operation>"``
on its target under ``policies/platform/admin.cedar``, runs in one store
transaction and is audited, allowed or denied.
"""

from .errors import (
    AdminError,
    AuthenticationError,
    ConflictError,
    InvalidInput,
    LimitExceeded,
    NotFound,
    PasswordPolicyError,
    PermissionDenied,
    RateLimited,
    StoreError,
)
from .live import LiveEngine, Snapshot
from .model import (
    AccessEntry,
    AccessReport,
    Actor,
    AdminSettings,
    AuditRecord,
    Change,
    Grant,
    PartnerInfo,
    PolicyDocument,
    RecertificationItem,
    RecertificationReport,
    RoleInfo,
    ScryptParams,
    Session,
    UserInfo,
)
from .seed import DEMO_PASSWORD, DEMO_USERS, seed_demo_passwords, seed_store
from .service import AdminService
from .store import MIGRATIONS, SQLiteStore, Store, default_store_path, open_store

__all__ = [
    "DEMO_PASSWORD",
    "DEMO_USERS",
    "MIGRATIONS",
    "AccessEntry",
    "AccessReport",
    "Actor",
    "AdminError",
    "AdminService",
    "AdminSettings",
    "AuditRecord",
    "AuthenticationError",
    "Change",
    "ConflictError",
    "Grant",
    "InvalidInput",
    "LimitExceeded",
    "LiveEngine",
    "NotFound",
    "PartnerInfo",
    "PasswordPolicyError",
    "PermissionDenied",
    "PolicyDocument",
    "RateLimited",
    "RecertificationItem",
    "RecertificationReport",
    "RoleInfo",
    "SQLiteStore",
    "ScryptParams",
    "Session",
    "Snapshot",
    "Store",
    "StoreError",
    "UserInfo",
    "default_store_path",
    "open_store",
    "seed_demo_passwords",
    "seed_store",
]
