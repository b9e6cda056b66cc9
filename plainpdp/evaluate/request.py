"""Authorization requests: the four Cedar request variables, already typed."""

from __future__ import annotations

from ..errors import ParseError, RequestError
from ..values import EntityUid, Record

EMPTY_RECORD = Record()


class Request:
    """principal, action, resource (entity uids) and context (a record).

    Built once per check, so a plain ``__slots__`` class: a frozen dataclass
    costs three times as much to construct (``object.__setattr__`` per field).
    Treat it as immutable: it is a decision-cache key. Equality and hashing
    are a frozen dataclass's (same class, the four fields compared in order).
    """

    __slots__ = ("principal", "action", "resource", "context")
    __match_args__ = ("principal", "action", "resource", "context")

    def __init__(
        self,
        principal: EntityUid,
        action: EntityUid,
        resource: EntityUid,
        context: Record = EMPTY_RECORD,
    ):
        self.principal = principal
        self.action = action
        self.resource = resource
        self.context = context

    def __eq__(self, other: object) -> bool:
        if other.__class__ is not Request:
            return NotImplemented
        return (self.principal, self.action, self.resource, self.context) == (
            other.principal,  # type: ignore[attr-defined]
            other.action,  # type: ignore[attr-defined]
            other.resource,  # type: ignore[attr-defined]
            other.context,  # type: ignore[attr-defined]
        )

    def __hash__(self) -> int:
        return hash((self.principal, self.action, self.resource, self.context))

    def __repr__(self) -> str:
        return (
            f"Request(principal={self.principal!r}, action={self.action!r}, "
            f"resource={self.resource!r}, context={self.context!r})"
        )

    def __getstate__(self) -> tuple:
        return (self.principal, self.action, self.resource, self.context)

    def __setstate__(self, state: tuple) -> None:
        self.principal, self.action, self.resource, self.context = state


def to_uid(value: EntityUid | str | dict, role: str) -> EntityUid:
    """Accept ``EntityUid``, ``'User::"alice"'`` text or ``{"type","id"}``."""
    if value.__class__ is EntityUid:
        return value  # type: ignore[return-value]
    if isinstance(value, str):
        from ..syntax import parse_entity_uid

        try:
            return parse_entity_uid(value)
        except ParseError as err:
            why = err.diagnostics[0].message if err.diagnostics else err.message
            raise RequestError(
                f"{role}: {value!r} is not an entity uid ({why}); write it as "
                f'Type::"id", for example User::"alice"'
            ) from None
    if isinstance(value, dict):
        body = value.get("__entity", value)
        if (
            isinstance(body, dict)
            and isinstance(body.get("type"), str)
            and isinstance(body.get("id"), str)
        ):
            return EntityUid(body["type"], body["id"])
    raise RequestError(
        f'{role}: expected an entity uid (EntityUid, \'Type::"id"\' text or '
        f'{{"type": ..., "id": ...}}), got {type(value).__name__}'
    )
