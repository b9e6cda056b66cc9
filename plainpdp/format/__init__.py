"""The formatter: one canonical layout for Cedar policy files.

``format_text(text)`` parses the text and prints it again in the layout of
:mod:`plainpdp.format.printer`, keeping every comment. Formatting is
idempotent and changes only layout: the result parses to the same policies.
"""

from __future__ import annotations

from ..syntax import parse_file
from .printer import WIDTH, format_source

__all__ = ["format_text", "format_source", "WIDTH"]


def format_text(text: str, source: str | None = None, *, width: int = WIDTH) -> str:
    """The canonical layout of a policy file's text.

    Raises :class:`~plainpdp.errors.ParseError` (with every diagnostic) when
    the text does not parse; ``source`` names the file in them.
    """
    return format_source(parse_file(text, source), width)
