"""A policy project on disk: policies, an optional schema, optional entities.

The layout (DESIGN §1, §5): ``platform/**.cedar``, ``partners/<id>/**.cedar``,
a ``*.cedarschema`` (or ``*.cedarschema.json``) and ``entities.json``. The
CLI and the sidecar load projects the same way through this module.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from .entities import Entities
from .errors import PlainPDPError, SchemaError
from .policyset import PolicySet
from .schema import Schema

ENTITIES_FILE = "entities.json"


@dataclass(frozen=True)
class Project:
    """What a directory (or one file) of policies loads into."""

    root: Path
    policies: PolicySet
    schema: Schema | None
    entities: Entities


def find_schema(root: Path) -> Path | None:
    """The one schema file at the top of a policy directory, if any."""
    if root.is_file():
        return None
    found = sorted(root.glob("*.cedarschema")) + sorted(root.glob("*.cedarschema.json"))
    if len(found) > 1:
        names = ", ".join(p.name for p in found)
        raise SchemaError(f"{root}: more than one schema file ({names}); pass --schema")
    return found[0] if found else None


def load_schema(path: str | Path) -> Schema:
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as err:
        raise SchemaError(f"cannot read schema {path}: {err}") from None
    if path.name.endswith(".json"):
        try:
            return Schema.from_json(json.loads(text))
        except json.JSONDecodeError as err:
            raise SchemaError(f"{path}: not valid JSON ({err.msg} at line {err.lineno})") from None
    return Schema.from_text(text, source=str(path))


def load_policies(path: str | Path) -> PolicySet:
    """A directory through ``from_directory``, or a single ``.cedar`` file."""
    path = Path(path)
    if path.is_dir():
        return PolicySet.from_directory(path)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as err:
        raise PlainPDPError(f"cannot read policies {path}: {err}") from None
    return PolicySet.from_text(text, source=None)


def load_entities(path: str | Path, schema: Schema | None) -> Entities:
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as err:
        raise PlainPDPError(f"cannot read entities {path}: {err}") from None
    return Entities.from_json(text, schema=schema)


def load_project(
    policies: str | Path,
    *,
    schema: str | Path | None = None,
    entities: str | Path | None = None,
) -> Project:
    """Load policies, then the schema (given or found), then the entities."""
    root = Path(policies)
    if not root.exists():
        raise PlainPDPError(f"{root}: no such file or directory")
    policy_set = load_policies(root)
    schema_path = Path(schema) if schema is not None else find_schema(root)
    schema_obj = load_schema(schema_path) if schema_path is not None else None
    if entities is None and root.is_dir() and (root / ENTITIES_FILE).is_file():
        entities = root / ENTITIES_FILE
    store = (
        load_entities(entities, schema_obj)
        if entities is not None
        else Entities.from_json([], schema=schema_obj)
    )
    return Project(root, policy_set, schema_obj, store)
