"""Cedar schemas: both formats parse to one model (:mod:`plainpdp.schema.model`)."""

from .model import (
    EXTENSION_TYPES,
    ActionDef,
    AttributeType,
    BoolType,
    EntityType,
    EntityTypeDef,
    ExtensionType,
    LongType,
    RecordType,
    Schema,
    SetType,
    StringType,
    Type,
)

__all__ = [
    "EXTENSION_TYPES",
    "ActionDef",
    "AttributeType",
    "BoolType",
    "EntityType",
    "EntityTypeDef",
    "ExtensionType",
    "LongType",
    "RecordType",
    "Schema",
    "SetType",
    "StringType",
    "Type",
]
