"""Cedar tokens: one compiled regex, words and punctuation named by the grammar.

lark's own lexer spends most of a parse creating tokens; this one matches
with a single regex and builds slotted tokens, which makes whole-file
parsing about a third faster. Keywords and punctuation come from the
terminals declared in ``cedar.lark``; only the regex-shaped tokens (IDENT,
INT, STRING, SLOT, comments, whitespace) are spelled here. As in Cedar, a
keyword is always a keyword: ``in`` never lexes as an identifier.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from lark.exceptions import UnexpectedCharacters
from lark.lexer import Lexer as _LarkLexer

_WORD = r"[_a-zA-Z][_a-zA-Z0-9]*"


class Token:
    """A token as lark's LALR parser needs it: a type plus where it came from."""

    __slots__ = ("type", "value", "start_pos", "line", "column", "end_line", "end_column", "end_pos")

    def __init__(self, type, value, start_pos, line, column, end_line, end_column, end_pos):  # noqa: A002
        self.type = type
        self.value = value
        self.start_pos = start_pos
        self.line = line
        self.column = column
        self.end_line = end_line
        self.end_column = end_column  # one past the last character
        self.end_pos = end_pos

    def __repr__(self) -> str:
        return f"Token({self.type!r}, {self.value!r})"


class CedarLexer(_LarkLexer):
    """lark custom lexer (interface 0: ``lex(text)``) for the Cedar grammar.

    ``// comments`` go to the grammar's ``COMMENT`` lexer callback, if any.
    """

    def __init__(self, lexer_conf):
        words: dict[str, str] = {}
        punct: dict[str, str] = {}
        for t in lexer_conf.terminals:
            if t.pattern.type == "str":
                (words if t.pattern.value.isalpha() else punct)[t.pattern.value] = t.name
        self.words = words
        self.punct = punct
        self.on_comment = lexer_conf.callbacks.get("COMMENT")
        ops = "|".join(re.escape(p) for p in sorted(punct, key=len, reverse=True))
        self.regex = re.compile(
            r"(?P<WS>\s+)|(?P<COMMENT>//[^\n\r]*)"
            rf"|(?P<IDENT>{_WORD})|(?P<INT>[0-9]+)|(?P<SLOT>\?{_WORD})"
            r'|(?P<STRING>"(?:\\.|[^"\\])*")'
            rf"|(?P<PUNCT>{ops})"
        )

    def lex(self, text: str) -> Iterator[Token]:
        words, punct, on_comment = self.words, self.punct, self.on_comment
        match = self.regex.match
        pos, line, line_start, n = 0, 1, 0, len(text)
        while pos < n:
            m = match(text, pos)
            if m is None:
                raise UnexpectedCharacters(text, pos, line, pos - line_start + 1)
            kind = m.lastgroup
            end = m.end()
            if kind == "WS":
                newlines = text.count("\n", pos, end)
                if newlines:
                    line += newlines
                    line_start = text.rindex("\n", pos, end) + 1
                pos = end
                continue
            value = m.group()
            if kind == "IDENT":
                kind = words.get(value, "IDENT")
            elif kind == "PUNCT":
                kind = punct[value]
            elif kind == "COMMENT":
                if on_comment is not None:
                    on_comment(Token(kind, value, pos, line, pos - line_start + 1,
                                     line, end - line_start + 1, end))
                pos = end
                continue
            elif kind == "STRING" and "\n" in value:  # a raw line break inside
                column = pos - line_start + 1
                line_end = line + value.count("\n")
                line_start_end = text.rindex("\n", pos, end) + 1
                yield Token(kind, value, pos, line, column, line_end, end - line_start_end + 1, end)
                line, line_start, pos = line_end, line_start_end, end
                continue
            yield Token(kind, value, pos, line, pos - line_start + 1, line, end - line_start + 1, end)
            pos = end
