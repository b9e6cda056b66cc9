"""The hand-written fast parser builds exactly lark's tree, spans included, or steps aside.

``fast`` may give up on any text (lark then parses it); whenever it does
answer, the policies, every node's span and the comments must be identical
to the lark builder's, and it must never accept what lark rejects.
"""

from __future__ import annotations

import importlib.util
from dataclasses import fields, is_dataclass
from pathlib import Path

import pytest
from cedar_gen import policies as gen_policies
from cedar_gen import show_policies
from hypothesis import given, settings
from hypothesis import strategies as st
from support import ROOT, add_summary, conformance_dir, examples, requires_conformance

from plainpdp.errors import ParseError
from plainpdp.syntax import fast, parser


def _sibling(name: str):
    """The inputs of the other parser tests (the folder is not a package)."""
    spec = importlib.util.spec_from_file_location(name, Path(__file__).with_name(f"{name}.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


CASES = _sibling("test_parser_errors").CASES
EXPRESSIONS = _sibling("test_parser_golden").EXPRESSIONS
_oracle = _sibling("test_parser_oracle")
ACCEPTED, REJECTED = _oracle.ACCEPTED, _oracle.REJECTED
TEXT = _sibling("test_parser_spans").TEXT


def same(a, b, path="") -> None:
    """Deep equality that also compares spans and value types (``True`` is not ``1``)."""
    assert a.__class__ is b.__class__, f"{path}: {a!r} vs {b!r}"
    if is_dataclass(a):
        for f in fields(a):
            same(getattr(a, f.name), getattr(b, f.name), f"{path}.{f.name}")
    elif isinstance(a, tuple | list):
        assert len(a) == len(b), f"{path}: {a!r} vs {b!r}"
        for n, (x, y) in enumerate(zip(a, b, strict=True)):
            same(x, y, f"{path}[{n}]")
    else:
        assert a == b, f"{path}: {a!r} vs {b!r}"


def compare(text: str, start: str = "policies", source: str | None = "f.cedar") -> bool:
    """Check fast against lark on ``text``; True when fast answered."""
    try:
        if start == "policies":
            got = fast.parse_file(text, source)
        else:
            got = fast.parse_expression(text, source), []
    except fast.Fallback:
        return False
    try:
        want = parser._parse_lark(text, source, start)
    except ParseError as err:  # pragma: no cover - shown by the assertion
        raise AssertionError(f"fast accepted what lark rejects: {err.message}") from None
    same(got[0], want[0], "tree")
    if start == "policies":  # an expression's comments are not kept
        same(tuple(got[1]), tuple(want[1]), "comments")
    return True


def policy_files() -> list[Path]:
    corpus = conformance_dir()
    return sorted(corpus.glob("tests/**/*.cedar")) + sorted(corpus.glob("corpus-tests/*.cedar"))


@requires_conformance
def test_conformance_files():
    files = policy_files()
    answered = sum(compare(p.read_text(encoding="utf-8"), source=str(p)) for p in files)
    add_summary(f"syntax: fast parser read {answered} of {len(files)} Cedar files, lark the rest")
    assert answered >= 0.95 * len(files)


def test_example_portal_files_never_need_lark():
    for path in sorted((ROOT / "policies").rglob("*.cedar")):
        assert compare(path.read_text(encoding="utf-8"), source=path.name), path


def test_spans_comments_and_multi_line_strings():
    assert compare(TEXT)
    assert compare('// one\npermit(principal, action, resource) // two\nwhen { "a\nb" == context.s // three\n};\n// four')
    assert compare('permit(principal, action, resource) when { "😀ü" == context.s };')


@pytest.mark.parametrize("text", [t for t, _ in EXPRESSIONS])
def test_golden_expressions(text):
    assert compare(text, "expr")


@pytest.mark.parametrize("text", ACCEPTED + REJECTED + [case[0] for case in CASES])
def test_tricky_and_invalid_snippets(text):
    compare(text)  # answered or not, never different from lark


@pytest.mark.parametrize("text", [
    '"abc', "1 /", "context.a == 1 == 2", "principal.in", "a::b(1)", "x", "1 + if a then b else c",
    "context has a.contains(1)", "[,]", '{"a": 1, "a": 2}', "!!!!!true", "- - - - -1", "٣ == 3",
    "?principal", "?other", "9223372036854775808", "decimal(1, 2)", "context.isEmpty(1)",
    "-9223372036854775808", "--9223372036854775808", "-(9223372036854775808)",
    "-9223372036854775808.a", "9223372036854775808 == -9223372036854775808",
    "-9223372036854775809",
])
def test_expressions_it_must_not_get_wrong(text):
    compare(text, "expr")


@settings(max_examples=examples(60))
@given(st.lists(gen_policies([("User", "alice"), ("Doc", "x\ny"), ("Ns::Thing", 'q"')]),
                min_size=1, max_size=3))
def test_generated_policies(policies):
    assert compare(show_policies(policies))
