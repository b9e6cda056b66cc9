"""``plainpdp compile`` and ``plainpdp bench``: thin commands over the compiler and harness."""

from __future__ import annotations

from support import ROOT

from plainpdp.cli import main
from plainpdp.compile import load_snapshot
from plainpdp.policyset import PolicySet

POLICIES = ROOT / "policies"


def test_compile_show_prints_trees_and_generated_code(tmp_path, capsys):
    path = tmp_path / "p.cedar"
    path.write_text('@id("v") permit(principal in Group::"staff", action, resource) '
                    "when { principal.level > 2 };")
    assert main(["compile", "--show", str(path)]) == 0
    out = capsys.readouterr().out
    assert '    principal in Group::"staff"\n      resource any: v\n' in out
    assert "def shape_0(" in out and "rt.gt(" in out


def test_compile_saves_a_snapshot_that_loads(tmp_path, capsys):
    tmp_path.chmod(0o700)
    snapshot = tmp_path / "portal.snapshot"
    assert main(["compile", str(POLICIES), "--snapshot", str(snapshot)]) == 0
    assert "policies compiled in" in capsys.readouterr().out
    policies = PolicySet.from_directory(POLICIES)
    assert len(load_snapshot(snapshot, policies.fingerprint).leaves) == len(policies)


def test_compile_of_a_missing_file_is_an_error_not_a_traceback(tmp_path, capsys):
    assert main(["compile", "--show", str(tmp_path / "missing.cedar")]) == 2
    assert "cannot read" in capsys.readouterr().err


def test_bench_passes_its_options_to_the_harness(capsys):
    assert main(["bench", "--scales", "100", "--requests", "40", "--budget", "0.01",
                 "--max-calls", "50", "--engines", "plainpdp", "--no-memory"]) == 0
    out = capsys.readouterr().out
    assert "=== 100 policies" in out and "single check p50 (us)" in out
