"""``plainpdp compile --show``: trees, shapes and the generated module, for people."""

from __future__ import annotations

import pytest

from plainpdp.compile import show_compiled
from plainpdp.errors import PlainPDPError

TEXT = """
@id("view") permit(principal in Group::"staff", action == Action::"view", resource)
  when { resource.level <= principal.level };
@id("all") permit(principal == User::"root", action, resource);
@id("off") forbid(principal, action, resource) when { false };
"""


def test_show_a_file(tmp_path):
    path = tmp_path / "p.cedar"
    path.write_text(TEXT)
    out = show_compiled(path)
    assert out.startswith("# 3 policies, 2 indexed, 1 never applicable, 1 condition shapes\n")
    assert "# passes: fold " in out
    assert '    principal in Group::"staff"\n      resource any: view\n' in out
    assert "view: shape_0('level', 0, 'level', 1)\n" in out  # 0, 1: kept-value keys
    assert "all: (none)\n" in out
    assert "off: never satisfied (dropped)\n" in out
    assert out.endswith(
        "def shape_0(k0, k1, k2, k3):\n"
        "    def cond(principal, action, resource, context, store, pm, rm):\n"
        "        return rt.le((t0 if (t0 := rm.get(k1)) is not None else keep(rm, k1, "
        "rt.get_attr(store, resource, k0))), (t1 if (t1 := pm.get(k3)) is not None "
        "else keep(pm, k3, rt.get_attr(store, principal, k2))))\n"
        "    return cond\n"
    )


def test_show_a_directory(tmp_path):
    (tmp_path / "platform").mkdir()
    (tmp_path / "platform" / "p.cedar").write_text(TEXT)
    (tmp_path / "partners" / "acme").mkdir(parents=True)
    (tmp_path / "partners" / "acme" / "a.cedar").write_text(
        '@id("acme") permit(principal, action, resource);'
    )
    out = show_compiled(tmp_path)
    assert "partner acme permit:\n  action any\n    principal any\n      resource any: acme\n" in out


def test_unreadable_file(tmp_path):
    with pytest.raises(PlainPDPError, match="cannot read"):
        show_compiled(tmp_path / "missing.cedar")
