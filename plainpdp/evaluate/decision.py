"""Decisions are data: allow/deny, why, what errored, which ceilings admitted.

The combining rule lives here, once, for every evaluation path (the index,
the reference oracle, batch). It is DESIGN §1 "The decision": forbid wins,
default deny, and partner grants count only under a satisfied ceiling.
"""

from __future__ import annotations

import itertools
import os
from dataclasses import dataclass
from typing import Any

_DECISION_IDS = itertools.count(1)
_ID_PREFIX = f"{os.getpid():x}-{int.from_bytes(os.urandom(4), 'big'):08x}"


@dataclass(frozen=True, slots=True)
class PolicyError:
    """A policy that errored during evaluation (Cedar skips it)."""

    policy_id: str
    message: str


class Decision:
    """The answer to one request, with everything needed to explain it."""

    __slots__ = ("decision", "allowed", "reasons", "errors", "ceilings", "_seq", "_detail")

    def __init__(
        self,
        allowed: bool,
        reasons: frozenset[str],
        errors: tuple[PolicyError, ...] = (),
        ceilings: frozenset[str] = frozenset(),
    ):
        self.allowed = allowed
        self.decision = "allow" if allowed else "deny"
        self.reasons = reasons
        self.errors = errors
        self.ceilings = ceilings
        self._seq = next(_DECISION_IDS)
        self._detail: Any = None

    @property
    def decision_id(self) -> str:
        """Unique per process run; cheap to create, formatted on demand."""
        return f"{_ID_PREFIX}-{self._seq:x}"

    def __repr__(self) -> str:
        return (
            f"Decision({self.decision!r}, reasons={sorted(self.reasons)}, "
            f"errors={[e.policy_id for e in self.errors]}, ceilings={sorted(self.ceilings)})"
        )

    def __eq__(self, other: object) -> bool:
        """Two decisions are equal when they say the same (ids differ)."""
        if not isinstance(other, Decision):
            return NotImplemented
        return (
            self.allowed == other.allowed
            and self.reasons == other.reasons
            and sorted(self.errors, key=_error_key) == sorted(other.errors, key=_error_key)
            and self.ceilings == other.ceilings
        )

    __hash__ = None  # type: ignore[assignment]

    def to_dict(self) -> dict:
        return {
            "decision_id": self.decision_id,
            "decision": self.decision,
            "reasons": sorted(self.reasons),
            "errors": [
                {"policy_id": e.policy_id, "message": e.message}
                for e in sorted(self.errors, key=_error_key)
            ],
            "ceilings": sorted(self.ceilings),
        }

    def explain(self) -> str:
        """A plain-language account of the decision for a person."""
        from .explain import explain_decision

        return explain_decision(self, self._detail or {})

    def explanation(self) -> dict:
        """``explain()`` as data (closest permit and all), for ``--json`` and tools."""
        from .explain import explanation_data

        return explanation_data(self, self._detail or {})

    def attach(self, request: Any, policies: Any, store: Any, partners: Any) -> Decision:
        """Keep what explain() needs (references only; nothing is computed)."""
        self._detail = (request, policies, store, partners)
        return self


def _error_key(e: PolicyError) -> tuple[str, str]:
    return (e.policy_id, e.message)
