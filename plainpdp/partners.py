"""The partner of an entity: its ancestor of the partner type.

A ``Partner`` entity belongs to itself; an entity with no partner ancestor is
platform-owned; an entity with two different partner ancestors is an error.
The partner type matches in any namespace (``Partner``, ``Portal::Partner``).
"""

from __future__ import annotations

from collections.abc import Iterable, Set
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
        return self._only(uid, found)

    def _only(self, uid: EntityUid, found: Set[str]) -> str | None:
        """The one partner in ``found`` (partner ids above ``uid``), or None."""
        if not found:
            return None
        if len(found) > 1:
            raise EntityError(
                f"entity {uid} belongs to more than one partner ({', '.join(sorted(found))}); "
                f"an entity may have at most one {self.partner_type} ancestor"
            )
        return next(iter(found))

    def check_all(self, uids: Iterable[EntityUid]) -> None:
        """Raise EntityError naming every entity with two partners.

        Answers (and caches) ``partner_of`` for every uid, parents first: the
        partner ids above an entity are those of its parents plus the parents
        that are partners, so each is found once instead of walking every
        entity's ancestors. An entity on a cycle is answered the plain way.
        """
        parents_of = getattr(self.store, "parents", None)
        if parents_of is None:
            return self._check_each(uids)
        version = getattr(self.store, "version", None)
        if version != self._cache_version:
            self._cache.clear()
            self._cache_version = version
        cache = self._cache
        is_partner = self.is_partner_type
        ptype, suffix = self.partner_type, self._suffix
        above: dict[EntityUid, Any] = {}  # uid -> frozenset of partner ids | _OPEN | _CYCLE
        bad: list[str] = []
        for uid in uids:
            found = above.get(uid)
            if found is None:
                # the common case first: every parent already done (or none)
                acc: set[str] = set()
                for p in parents_of(uid):
                    got = above.get(p)
                    if got is None or got is _CYCLE:
                        found = _partners_above(uid, parents_of, is_partner, above)
                        break
                    t = p.type
                    if t == ptype or t.endswith(suffix):
                        acc.add(p.id)
                    acc |= got
                else:
                    found = above[uid] = frozenset(acc) if acc else _NONE
            t = uid.type
            try:
                if t == ptype or t.endswith(suffix):
                    result: str | None = uid.id
                elif found is _CYCLE:
                    result = self._compute(uid)
                else:
                    result = self._only(uid, found)
            except EntityError as err:
                bad.append(err.message)
                continue
            if len(cache) > 100_000:
                cache.clear()
            cache[uid] = result
        self._raise_bad(bad)
        return None

    def _check_each(self, uids: Iterable[EntityUid]) -> None:
        bad: list[str] = []
        for uid in uids:
            try:
                self.partner_of(uid)
            except EntityError as err:
                bad.append(err.message)
        self._raise_bad(bad)

    @staticmethod
    def _raise_bad(bad: list[str]) -> None:
        if bad:
            more = f" (and {len(bad) - 5} more)" if len(bad) > 5 else ""
            raise EntityError("; ".join(bad[:5]) + more)


_NONE: frozenset[str] = frozenset()
_OPEN = object()  # being worked out: met again, the graph has a cycle there
_CYCLE = object()  # on (or above) a cycle: ask the store for its ancestors instead


def _partners_above(uid: EntityUid, parents_of: Any, is_partner: Any, above: dict) -> Any:
    """The partner ids among ``uid``'s ancestors, computed parents first into ``above``.

    Iterative depth-first search: a node is _OPEN from its first visit until
    all its parents are done; meeting an _OPEN node again means a cycle, and
    everything whose ancestors reach it is marked _CYCLE.
    """
    work: list[tuple[EntityUid, bool]] = [(uid, False)]
    while work:
        u, parents_done = work.pop()
        if parents_done:
            acc: set[str] = set()
            for p in parents_of(u):
                got = above[p]
                if got is _OPEN or got is _CYCLE:
                    above[u] = _CYCLE
                    break
                if is_partner(p.type):
                    acc.add(p.id)
                acc |= got
            else:
                above[u] = frozenset(acc)
            continue
        if u in above:
            continue
        above[u] = _OPEN
        work.append((u, True))
        for p in parents_of(u):
            if p not in above:
                work.append((p, False))
    return above[uid]
