"""Helpers for the change-impact tests (``from impact.helpers import ...``)."""

from __future__ import annotations

import shutil
from pathlib import Path

from support import ROOT

from plainpdp import PolicySet
from plainpdp.impact import DiffResult, Side, compare
from plainpdp.impact.space import canonical
from plainpdp.project import load_project


def copy_portal(tmp_path: Path) -> tuple[Path, Path]:
    """Two copies of the example portal, OLD and NEW; tests change NEW."""
    old, new = tmp_path / "old", tmp_path / "new"
    shutil.copytree(ROOT / "policies", old)
    shutil.copytree(ROOT / "policies", new)
    return old, new


def edit(path: Path, old: str, new: str) -> None:
    """Replace text that must be there (so a drifting example fails loudly)."""
    text = path.read_text(encoding="utf-8")
    assert old in text, f"{path} no longer contains {old!r}"
    path.write_text(text.replace(old, new), encoding="utf-8")


def replace_policy(path: Path, policy_id: str, text: str) -> None:
    """Put ``text`` where the policy ``@id(policy_id)`` is (found by parsing, so
    the test does not depend on how the file is laid out)."""
    source = path.read_text(encoding="utf-8")
    span = PolicySet.from_text(source)[policy_id].policy.span
    path.write_text(source[:span.start] + text + source[span.end:], encoding="utf-8")


def append(path: Path, text: str) -> None:
    path.write_text(path.read_text(encoding="utf-8") + text, encoding="utf-8")


def diff(old: Path, new: Path, **options) -> DiffResult:
    return compare(Side("OLD", load_project(old)), Side("NEW", load_project(new)), **options)


def flips(result: DiffResult) -> set[tuple]:
    """Each flip as (partner, direction, responsible, principal, action, resource, context JSON)."""
    return {
        (f.partner, f.direction, f.responsible, str(f.request.principal),
         str(f.request.action), str(f.request.resource), canonical(f.request.context))
        for f in result.flips
    }


# The crafted change to the example portal, and exactly what it must flip.
CATALOG_EDITORS = """@id("acme-catalog-editors")
permit (
  principal in Role::"acme-supply/catalog-editor",
  action in [Action::"view", Action::"edit", Action::"create"],
  resource in Section::"catalog"
)
when { resource is Document };"""
SENIORS_APPROVE = """@id("harbor-seniors-approve")
permit (principal in Role::"harbor-brokers/senior", action == Action::"approve", resource in Section::"claims")
when { resource has region && resource.region == principal.region };"""
NO_ORDER_DELETES = """
@id("guardrail-no-order-deletes")
@description("orders are never deleted through the portal")
forbid (principal, action == Action::"delete", resource in Section::"orders");
"""


def crafted_change(new: Path) -> None:
    """Catalog editors lose their region rule, senior brokers their MFA rule,
    and a new guardrail stops deleting orders."""
    replace_policy(new / "partners/acme-supply/grants.cedar", "acme-catalog-editors",
                   CATALOG_EDITORS)
    replace_policy(new / "partners/harbor-brokers/grants.cedar", "harbor-seniors-approve",
                   SENIORS_APPROVE)
    append(new / "platform/guardrails.cedar", NO_ORDER_DELETES)


def _mfa(*values: bool) -> list[str]:
    return [canonical({"mfa": v}) for v in values]


EXPECTED_FLIPS = (
    {  # cem (eu) may now work on the us catalog entry
        ("acme-supply", "deny-to-allow", ("acme-catalog-editors",), 'User::"cem"',
         f'Action::"{a}"', 'Document::"acme-cat-us-widgets"', ctx)
        for a in ("view", "edit", "create") for ctx in _mfa(False, True)
    }
    | {  # kemal (eu) approves the eu claim without MFA; with MFA he already could
        ("harbor-brokers", "deny-to-allow", ("harbor-seniors-approve",), 'User::"kemal"',
         'Action::"approve"', 'Document::"harbor-claim-5001"', ctx)
        for ctx in _mfa(False)
    }
    | {  # only platform admins could delete orders; now nobody can
        ("platform", "allow-to-deny", ("guardrail-no-order-deletes",), 'User::"pat"',
         'Action::"delete"', r, ctx)
        for r in ('Section::"orders"', 'Document::"acme-po-1001"', 'Document::"acme-po-1002"',
                  'Document::"northwind-po-3001"', 'Document::"northwind-po-3002"',
                  'Document::"oldco-po-6001"')
        for ctx in _mfa(False, True)
    }
)
