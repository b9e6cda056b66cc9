"""The entity store and Cedar's JSON entity format."""

from .json_format import parse_context, parse_value
from .store import Entities, EntitiesOverlay, Entity

__all__ = ["Entities", "EntitiesOverlay", "Entity", "parse_context", "parse_value"]
