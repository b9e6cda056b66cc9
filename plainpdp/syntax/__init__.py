"""Text -> AST: the Cedar policy parser.

``parse_file`` / ``parse_policies`` / ``parse_expression`` /
``parse_entity_uid`` turn Cedar text into the frozen dataclasses of
:mod:`plainpdp.syntax.ast`; every problem found is a
:class:`~plainpdp.errors.Diagnostic` inside one
:class:`~plainpdp.errors.ParseError`. No lark object leaves this package.
"""

from .parser import parse_entity_uid, parse_expression, parse_file, parse_policies
from .strings import unescape_string

__all__ = [
    "parse_entity_uid",
    "parse_expression",
    "parse_file",
    "parse_policies",
    "unescape_string",
]
