"""Printing diagnostics for people: the source line and a caret under it."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TextIO

from ..errors import Diagnostic, PlainPDPError

_roots: list[Path] = []


def add_source_root(path: str | Path) -> None:
    """A directory relative to which diagnostic sources are found."""
    p = Path(path)
    _roots.append(p if p.is_dir() else p.parent)


def _source_text(d: Diagnostic) -> str | None:
    if d.source_text is not None:
        return d.source_text
    if d.span is None or not d.span.source:
        return None
    for base in [Path("."), *_roots]:
        candidate = base / d.span.source
        if candidate.is_file():
            try:
                return candidate.read_text(encoding="utf-8")
            except (OSError, UnicodeDecodeError):
                return None
    return None


def render_diagnostic(d: Diagnostic) -> str:
    return d.render(_source_text(d))


def print_error(err: PlainPDPError, out: TextIO | None = None) -> None:
    out = out or sys.stderr
    if not err.diagnostics:
        print(f"error: {err.message}", file=out)
        return
    for d in err.diagnostics:
        print(render_diagnostic(d), file=out)
    if len(err.diagnostics) > 1:
        print(f"{len(err.diagnostics)} errors", file=out)
