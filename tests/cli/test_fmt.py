"""``plainpdp fmt``: rewrite in place, ``--check`` and ``--diff`` for CI, exit codes."""

from __future__ import annotations

from pathlib import Path

import pytest
from support import ROOT

from plainpdp.cli import main

UGLY = "// keep me\npermit(principal,action,resource) when {principal.a&&principal.b};\n"
PRETTY = "// keep me\npermit (principal, action, resource)\nwhen { principal.a && principal.b };\n"


def run(capsys, *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def tree(root: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    return root


def test_rewrites_every_cedar_file_under_a_directory(tmp_path, capsys):
    root = tree(tmp_path, {
        "platform/a.cedar": UGLY,
        "partners/acme/deep/b.cedar": PRETTY,
        "notes.txt": UGLY,
    })
    code, out, _ = run(capsys, "fmt", str(root))
    assert code == 0
    assert (root / "platform/a.cedar").read_text() == PRETTY
    assert (root / "partners/acme/deep/b.cedar").read_text() == PRETTY
    assert (root / "notes.txt").read_text() == UGLY  # not a policy file
    assert f"reformatted {root / 'platform/a.cedar'}" in out
    assert out.splitlines()[-1] == "1 file reformatted, 1 file already formatted"
    # A second run has nothing to do.
    code, out, _ = run(capsys, "fmt", "--check", str(root))
    assert code == 0
    assert out.splitlines() == ["0 files would be reformatted, 2 files already formatted"]


def test_check_lists_what_would_change_writes_nothing_and_exits_1(tmp_path, capsys):
    root = tree(tmp_path, {"a.cedar": UGLY, "b.cedar": PRETTY})
    code, out, _ = run(capsys, "fmt", "--check", str(root / "a.cedar"), str(root / "b.cedar"))
    assert code == 1
    assert out.splitlines() == [
        f"would reformat {root / 'a.cedar'}",
        "1 file would be reformatted, 1 file already formatted",
    ]
    assert (root / "a.cedar").read_text() == UGLY


def test_diff_prints_a_unified_diff_and_implies_check(tmp_path, capsys):
    root = tree(tmp_path, {"a.cedar": UGLY.rstrip("\n")})
    code, out, _ = run(capsys, "fmt", "--diff", str(root))
    assert code == 1
    path = root / "a.cedar"
    assert path.read_text() == UGLY.rstrip("\n")
    lines = out.splitlines()
    assert lines[:2] == [f"--- {path}", f"+++ {path} (formatted)"]
    assert "-permit(principal,action,resource) when {principal.a&&principal.b};" in lines
    assert "\\ No newline at end of file" in lines
    assert "+when { principal.a && principal.b };" in lines
    assert f"would reformat {path}" in lines


def test_syntax_error_is_reported_with_a_caret_and_exits_2(tmp_path, capsys):
    root = tree(tmp_path, {"bad.cedar": "permit(principal, action, resource) when { 1 + };\n",
                           "ugly.cedar": UGLY})
    code, out, err = run(capsys, "fmt", str(root))
    assert code == 2
    bad = root / "bad.cedar"
    assert f"{bad}:1:48: error[syntax]: unexpected `}}`, expected an expression" in err
    assert "1 | permit(principal, action, resource) when { 1 + };" in err
    assert "^" in err
    assert "Traceback" not in out + err
    assert bad.read_text() == "permit(principal, action, resource) when { 1 + };\n"
    assert (root / "ugly.cedar").read_text() == PRETTY  # the good file is still formatted
    assert out.splitlines()[-1] == (
        "1 file reformatted, 0 files already formatted, 1 file not formatted (errors above)"
    )


@pytest.mark.parametrize("make", [
    lambda root: root / "missing.cedar",
    lambda root: tree(root, {"latin1.cedar": ""}) / "latin1.cedar",
])
def test_unreadable_input_exits_2(tmp_path, capsys, make):
    path = make(tmp_path)
    if path.exists():
        path.write_bytes(b"// caf\xe9\npermit(principal, action, resource);\n")
    code, _, err = run(capsys, "fmt", "--check", str(path))
    assert code == 2
    assert "error[invalid-input]" in err
    assert "Traceback" not in err


def test_the_example_portal_is_formatted(capsys):
    code, out, _ = run(capsys, "fmt", "--check", str(ROOT / "policies"))
    assert code == 0, out
    assert out.startswith("0 files would be reformatted")


def test_help_states_the_exit_codes(capsys):
    with pytest.raises(SystemExit):
        main(["fmt", "--help"])
    out = " ".join(capsys.readouterr().out.split())
    assert "1 when --check finds files that would change" in out
    assert "2 when a path cannot be read or a file does not parse" in out
