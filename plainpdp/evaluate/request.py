"""Authorization requests: the four Cedar request variables, already typed."""

from __future__ import annotations

from dataclasses import dataclass, field

from ..errors import ParseError, RequestError
from ..values import EntityUid, Record

EMPTY_RECORD = Record()


@dataclass(frozen=True, slots=True)
class Request:
    """principal, action, resource (entity uids) and context (a record)."""

    principal: EntityUid
    action: EntityUid
    resource: EntityUid
    context: Record = field(default=EMPTY_RECORD)


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
