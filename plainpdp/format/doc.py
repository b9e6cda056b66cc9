"""A small Wadler-style document algebra and its renderer.

The printer describes a layout once, as a tree of :data:`Doc` pieces:
text, line breaks that become a space (or nothing) when their group fits on
the line, groups, indentation, and comments. The renderer picks, group by
group from the outside in, the flat layout when the group (and the text
that follows it up to the next possible break) fits in the width, else the
broken one. A group holding a comment or a hard break is always broken.

Comments keep their place in the reading order, and never share a line
with code that came after them:

- a *trailing* comment (code before it on its source line) ends the output
  line right after the code printed before it; if that line has already
  ended it goes back to it, so a comment after ``{`` stays after ``{`` even
  though the break after ``{`` was printed first. If that line already ends
  in a comment, it gets a line of its own (two would read as one);
- a *leading* comment (alone on its source line) starts a fresh line at the
  current indentation.

Either way what follows starts on the next line.
"""

from __future__ import annotations

from dataclasses import dataclass, field

# A document: text (never holding a newline), a list of documents, or one of
# the classes below.
Doc = object


@dataclass(frozen=True, slots=True)
class Line:
    """A possible break: ``flat`` when the enclosing group fits, else a newline.

    ``hard`` lines are always newlines and break every enclosing group.
    """

    flat: str = " "
    hard: bool = False


LINE = Line(" ")
SOFTLINE = Line("")
HARDLINE = Line("", hard=True)


@dataclass(frozen=True, slots=True)
class Nest:
    """``doc`` with every line it breaks indented ``indent`` more columns."""

    indent: int
    doc: Doc


@dataclass(frozen=True, slots=True)
class Group:
    """The unit of the flat-or-broken choice; ``breaks`` when it must break."""

    doc: Doc
    breaks: bool = field(default=False)


@dataclass(frozen=True, slots=True)
class TrailingComment:
    """``// text`` at the end of the current output line."""

    text: str


@dataclass(frozen=True, slots=True)
class LeadingComment:
    """``// text`` on a line of its own; what follows starts on the next line."""

    text: str


def group(*parts: Doc) -> Group:
    """A group of ``parts``, broken for sure if it holds a comment or hard line."""
    doc = list(parts)
    return Group(doc, _must_break(doc))


def nest(indent: int, *parts: Doc) -> Nest:
    return Nest(indent, list(parts))


def join(separator: list, docs: list) -> list:
    """``docs`` with ``separator`` (a list of pieces) between each two."""
    out: list = []
    for i, d in enumerate(docs):
        if i:
            out.extend(separator)
        out.append(d)
    return out


def _must_break(doc: Doc) -> bool:
    stack = [doc]
    while stack:
        d = stack.pop()
        cls = d.__class__
        if cls is str:
            continue
        if cls is list:
            stack.extend(d)  # type: ignore[arg-type]
        elif cls is Group:
            if d.breaks:  # type: ignore[attr-defined]
                return True
        elif cls is Nest:
            stack.append(d.doc)  # type: ignore[attr-defined]
        elif cls is Line:
            if d.hard:  # type: ignore[attr-defined]
                return True
        else:  # a comment
            return True
    return False


# ------------------------------------------------------------------ rendering

_FLAT, _BREAK = 0, 1


class _Output:
    """Finished lines plus the one being written, with comment bookkeeping."""

    def __init__(self) -> None:
        self.lines: list[str] = []
        self.commented: set[int] = set()  # indexes of lines ending in a comment
        self.current: list[str] = []
        self.width = 0  # columns used on the current line
        self.has_text = False  # anything but indentation on the current line
        self.pending: str | None = None  # a trailing comment for the current line
        self.comment_line = False  # the current line holds a leading comment
        self.need_newline = False  # a leading comment was just written

    def text(self, s: str, indent: int) -> None:
        if not s:
            return
        if self.need_newline:
            if s.isspace():  # a space right after a comment's line break
                return
            self.newline(indent)
        if not self.has_text:
            s = s.lstrip()  # no line starts with spaces beyond its indentation
            if not s:
                return
            self.current = [" " * indent]
            self.width = indent
        self.current.append(s)
        self.width += len(s)
        self.has_text = True

    def newline(self, indent: int) -> None:
        line = "".join(self.current).rstrip() if self.has_text else ""
        if self.pending is not None:
            line = f"{line} {self.pending}" if line else self.pending
            self.pending = None
            self.comment_line = True
        if self.comment_line:
            self.commented.add(len(self.lines))
            self.comment_line = False
        self.lines.append(line)
        self.current = [" " * indent]
        self.width = indent
        self.has_text = False
        self.need_newline = False

    def trailing(self, comment: str, indent: int) -> None:
        if self.has_text and self.pending is None and not self.comment_line:
            self.pending = comment
            self.need_newline = True  # it ends the line, right where it is
            return
        last = len(self.lines) - 1
        if not self.has_text and last >= 0 and self.lines[last] and last not in self.commented:
            self.lines[last] += f" {comment}"
            self.commented.add(last)
            return
        # No line of code to end with it (two would merge into one comment):
        # a line of its own, here.
        self.leading(comment, indent)

    def leading(self, comment: str, indent: int) -> None:
        if self.has_text or self.need_newline:
            self.newline(indent)
        self.text(comment, indent)
        self.comment_line = True
        self.need_newline = True

    def finish(self) -> str:
        if self.has_text or self.pending is not None:
            self.newline(0)
        return "\n".join(self.lines)


def render(doc: Doc, width: int) -> str:
    """Lay ``doc`` out in ``width`` columns (no trailing newline)."""
    out = _Output()
    stack: list[tuple[int, int, Doc]] = [(0, _BREAK, doc)]
    while stack:
        indent, mode, d = stack.pop()
        cls = d.__class__
        if cls is str:
            out.text(d, indent)  # type: ignore[arg-type]
        elif cls is list:
            stack.extend((indent, mode, x) for x in reversed(d))  # type: ignore[call-overload]
        elif cls is Nest:
            stack.append((indent + d.indent, mode, d.doc))  # type: ignore[attr-defined]
        elif cls is Group:
            flat = (
                mode == _FLAT
                or not d.breaks  # type: ignore[attr-defined]
                and _fits(d.doc, stack, width - out.width)  # type: ignore[attr-defined]
            )
            stack.append((indent, _FLAT if flat else _BREAK, d.doc))  # type: ignore[attr-defined]
        elif cls is Line:
            if mode == _FLAT and not d.hard:  # type: ignore[attr-defined]
                out.text(d.flat, indent)  # type: ignore[attr-defined]
            else:
                out.newline(indent)
        elif cls is TrailingComment:
            out.trailing(f"//{d.text}", indent)  # type: ignore[attr-defined]
        elif cls is LeadingComment:
            out.leading(f"//{d.text}", indent)  # type: ignore[attr-defined]
    return out.finish()


def _fits(doc: Doc, rest: list[tuple[int, int, Doc]], room: int) -> bool:
    """Does ``doc`` laid flat, then what follows it up to its next break, fit?"""
    todo: list[tuple[int, Doc]] = [(_FLAT, doc)]
    rest_at = len(rest)
    while room >= 0:
        if not todo:
            if rest_at == 0:
                return True
            rest_at -= 1
            _, mode, d = rest[rest_at]
            todo.append((mode, d))
            continue
        mode, d = todo.pop()
        cls = d.__class__
        if cls is str:
            room -= len(d)  # type: ignore[arg-type]
        elif cls is list:
            todo.extend((mode, x) for x in reversed(d))  # type: ignore[call-overload]
        elif cls is Nest:
            todo.append((mode, d.doc))  # type: ignore[attr-defined]
        elif cls is Group:
            todo.append((mode, d.doc))  # type: ignore[attr-defined]
        elif cls is Line:
            if mode == _BREAK or d.hard:  # type: ignore[attr-defined]
                return True
            room -= len(d.flat)  # type: ignore[attr-defined]
        else:  # a comment ends the line
            return True
    return False
