"""The layout algebra: groups flat when they fit, broken otherwise; comments
end their line and never merge."""

from __future__ import annotations

from plainpdp.format.doc import (
    HARDLINE,
    LINE,
    SOFTLINE,
    LeadingComment,
    TrailingComment,
    group,
    join,
    nest,
    render,
)


def call(name: str, *args: str):
    return [name, group("(", nest(2, SOFTLINE, join([",", LINE], list(args))), SOFTLINE, ")")]


def test_a_group_is_flat_when_it_fits_and_broken_when_not():
    doc = call("f", "alpha", "beta")
    assert render(doc, 80) == "f(alpha, beta)"
    assert render(doc, 10) == "f(\n  alpha,\n  beta\n)"


def test_the_text_after_a_group_counts_toward_its_fit():
    doc = [call("f", "alpha"), " && tail"]
    assert render(doc, 16) == "f(alpha) && tail"
    assert render(doc, 15) == "f(\n  alpha\n) && tail"


def test_groups_break_from_the_outside_in():
    doc = call("f", "a", call("g", "b"), "c" * 20)
    assert render(doc, 20) == "f(\n  a,\n  g(b),\n  " + "c" * 20 + "\n)"


def test_a_hard_line_breaks_every_enclosing_group():
    assert render(group("a", LINE, group("b", HARDLINE, "c")), 80) == "a\nb\nc"


def test_a_trailing_comment_ends_its_line_and_breaks_its_group():
    doc = call("f", ["a", TrailingComment(" why")], "b")
    assert render(doc, 80) == "f(\n  a // why\n  ,\n  b\n)"


def test_a_trailing_comment_after_a_break_goes_back_to_the_line_before():
    doc = group("when {", nest(2, LINE, TrailingComment(" why"), "x"), LINE, "}")
    assert render(doc, 80) == "when { // why\n  x\n}"


def test_two_trailing_comments_never_share_a_line():
    doc = group("a", TrailingComment(" one"), TrailingComment(" two"), LINE, "b")
    assert render(doc, 80) == "a // one\n// two\nb"
    after_break = group("a", TrailingComment(" one"), LINE, TrailingComment(" two"), "b")
    assert render(after_break, 80) == "a // one\n// two\nb"


def test_a_leading_comment_has_its_own_line_at_the_current_indentation():
    doc = group("when {", nest(2, LINE, "a &&", LeadingComment(" why"), "b"), LINE, "}")
    assert render(doc, 80) == "when {\n  a &&\n  // why\n  b\n}"


def test_no_trailing_spaces_and_no_spaces_at_line_starts():
    doc = group("a", nest(2, " ", LINE, " b "), LINE, "c")
    assert render(doc, 1) == "a\n  b\nc"
