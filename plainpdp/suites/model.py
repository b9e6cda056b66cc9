"""Reading suites: YAML in, validated cases out (each matrix expanded)."""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import Diagnostic, PlainPDPError, Span

EXPECTATIONS = ("allow", "deny")


class SuiteError(PlainPDPError):
    """A policy test suite that cannot be read."""


@dataclass(frozen=True)
class Case:
    """One request with its expected decision."""

    name: str
    principal: str
    action: str
    resource: str
    expect: str
    context: dict = field(default_factory=dict)
    entities: tuple = ()
    reasons: frozenset[str] | None = None
    line: int = 0


@dataclass(frozen=True)
class Suite:
    name: str
    path: Path
    cases: tuple[Case, ...]


@dataclass(frozen=True)
class CaseResult:
    suite: str
    case: Case
    passed: bool
    actual: str
    reasons: frozenset[str]
    message: str = ""
    explanation: str = ""
    seconds: float = 0.0


def _yaml() -> Any:
    try:
        import yaml
    except ImportError:
        raise SuiteError(
            "policy test suites need PyYAML; install it with `pip install 'plainpdp[ci]'`"
        ) from None
    return yaml


def _fail(path: Path, line: int, message: str, help: str | None = None) -> SuiteError:
    span = Span(0, 0, line or 1, 1, line or 1, 1, str(path))
    return SuiteError(message, [Diagnostic("suite", message, span, help=help)])


def _as_list(value: Any) -> list:
    return list(value) if isinstance(value, list) else [value]


def load_suite(path: str | Path) -> Suite:
    """Parse one suite file; every problem names the file and line."""
    path = Path(path)
    yaml = _yaml()
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as err:
        raise SuiteError(f"cannot read suite {path}: {err}") from None
    try:
        node = yaml.compose(text)
        data = yaml.safe_load(text)
    except yaml.YAMLError as err:
        mark = getattr(err, "problem_mark", None)
        line = mark.line + 1 if mark is not None else 1
        raise _fail(path, line, f"not valid YAML: {getattr(err, 'problem', err)}") from None
    if not isinstance(data, dict) or not isinstance(data.get("cases"), list):
        raise _fail(path, 1, "a suite is a mapping with a `cases:` list",
                    help="see `plainpdp test --help` for the format")
    lines = _case_lines(node)
    default_ctx = data.get("context") or {}
    default_ents = data.get("entities") or []
    if not isinstance(default_ctx, dict) or not isinstance(default_ents, list):
        raise _fail(path, 1, "`context` must be a mapping and `entities` a list")
    cases: list[Case] = []
    for n, raw in enumerate(data["cases"]):
        line = lines[n] if n < len(lines) else 0
        if not isinstance(raw, dict):
            raise _fail(path, line, f"case #{n + 1} is not a mapping")
        missing = [k for k in ("principal", "action", "resource", "expect") if k not in raw]
        if missing:
            raise _fail(path, line, f"case #{n + 1} lacks {', '.join(missing)}")
        expect = raw["expect"]
        if expect not in EXPECTATIONS:
            raise _fail(path, line, f"case #{n + 1}: expect must be allow or deny, not {expect!r}")
        reasons = raw.get("reasons")
        if reasons is not None and not isinstance(reasons, list):
            raise _fail(path, line, f"case #{n + 1}: reasons must be a list of policy ids")
        context = {**default_ctx, **(raw.get("context") or {})}
        entities = tuple(default_ents) + tuple(raw.get("entities") or [])
        base = raw.get("name") or f"case {n + 1}"
        combos = list(itertools.product(
            _as_list(raw["principal"]), _as_list(raw["action"]), _as_list(raw["resource"])))
        for p, a, r in combos:
            name = base if len(combos) == 1 else f"{base} [{p} {a} {r}]"
            cases.append(Case(name, str(p), str(a), str(r), expect, context, entities,
                              frozenset(reasons) if reasons is not None else None, line))
    return Suite(str(data.get("suite") or path.stem), path, tuple(cases))


def _case_lines(node: Any) -> list[int]:
    """1-based line of each case in the YAML source, for messages."""
    try:
        for key, value in node.value:
            if key.value == "cases":
                return [item.start_mark.line + 1 for item in value.value]
    except AttributeError:
        pass
    return []


def load_suites(root: str | Path) -> list[Suite]:
    """Every ``*.yaml``/``*.yml`` under ``root/tests`` (or ``root`` itself)."""
    root = Path(root)
    if root.is_file():
        return [load_suite(root)]
    base = root / "tests" if (root / "tests").is_dir() else root
    files = sorted(list(base.rglob("*.yaml")) + list(base.rglob("*.yml")))
    return [load_suite(f) for f in files]
