"""The partner of an entity: its ancestor of the partner type.

A ``Partner`` entity belongs to itself; an entity with no partner ancestor is
platform-owned; an entity with two different partner ancestors is an error.
The partner type matches in any namespace (``Partner``, ``Portal::Partner``).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from .errors import EntityError
from .values import EntityUid

DEFAULT_PARTNER_TYPE = "Partner"


class PartnerResolver:
    """Answers ``partner_of(uid)`` from a store's ancestor sets."""

    __slots__ = ("store", "partner_type", "_suffix", "_cache", "_cache_version")

    def __init__(self, store: Any, partner_type: str = DEFAULT_PARTNER_TYPE):
        self.store = store
        self.partner_type = partner_type
        self._suffix = "::" + partner_type
        self._cache: dict[EntityUid, str | None] = {}
        self._cache_version = getattr(store, "version", None)

    def is_partner_type(self, type_name: str) -> bool:
        return type_name == self.partner_type or type_name.endswith(self._suffix)

    def partner_of(self, uid: EntityUid) -> str | None:
        """The partner id owning ``uid``, or None when the platform owns it."""
        version = getattr(self.store, "version", None)
        if version != self._cache_version:
            self._cache.clear()
            self._cache_version = version
        try:
            return self._cache[uid]
        except KeyError:
            pass
        result = self._compute(uid)
        if len(self._cache) > 100_000:
            self._cache.clear()
        self._cache[uid] = result
        return result

    def _compute(self, uid: EntityUid) -> str | None:
        if self.is_partner_type(uid.type):
            return uid.id
        found = {a.id for a in self.store.ancestors(uid) if self.is_partner_type(a.type)}
        if not found:
            return None
        if len(found) > 1:
            raise EntityError(
                f"entity {uid} belongs to more than one partner ({', '.join(sorted(found))}); "
                f"an entity may have at most one {self.partner_type} ancestor"
            )
        return next(iter(found))

    def check_all(self, uids: Iterable[EntityUid]) -> None:
        """Raise EntityError naming every entity with two partners."""
        bad: list[str] = []
        for uid in uids:
            try:
                self.partner_of(uid)
            except EntityError as err:
                bad.append(err.message)
        if bad:
            more = f" (and {len(bad) - 5} more)" if len(bad) > 5 else ""
            raise EntityError("; ".join(bad[:5]) + more)
