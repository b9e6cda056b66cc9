"""plainpdp: a Cedar-compatible policy decision point for partner portals.

The public API (DESIGN §3) lives here; everything else is internal. Names
are imported on first use, so ``import plainpdp.syntax`` (or the CLI's
``--help``) does not pay for the whole engine.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

_EXPORTS = {
    "CedarSet": ".values",
    "Decision": ".evaluate.decision",
    "Diagnostic": ".errors",
    "Engine": ".engine",
    "Entities": ".entities",
    "EntityError": ".errors",
    "EntityUid": ".values",
    "ParseError": ".errors",
    "PlainPDPError": ".errors",
    "PolicyEntry": ".policyset",
    "PolicyError": ".evaluate.decision",
    "PolicySet": ".policyset",
    "PolicySetError": ".errors",
    "Record": ".values",
    "RequestError": ".errors",
    "Schema": ".schema",
    "SchemaError": ".errors",
    "Span": ".errors",
    "ValidationError": ".errors",
    "validate": ".check.validate",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'plainpdp' has no attribute {name!r}")
    value = getattr(import_module(module, __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(list(globals()) + __all__)


if TYPE_CHECKING:  # static names for type checkers; runtime goes through __getattr__
    from .check.validate import validate
    from .engine import Engine
    from .entities import Entities
    from .errors import (
        Diagnostic,
        EntityError,
        ParseError,
        PlainPDPError,
        PolicySetError,
        RequestError,
        SchemaError,
        Span,
        ValidationError,
    )
    from .evaluate.decision import Decision, PolicyError
    from .policyset import PolicyEntry, PolicySet
    from .schema import Schema
    from .values import CedarSet, EntityUid, Record
