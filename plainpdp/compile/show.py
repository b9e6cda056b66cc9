"""``plainpdp compile --show FILE``: the compiled form of policies, for people."""

from __future__ import annotations

from pathlib import Path

from ..errors import PlainPDPError
from ..policyset import PolicySet
from .index import describe
from .passes import compile_policies


def show_compiled(path: str | Path) -> str:
    """Passes and their times, the decision trees, each policy's shape, the module.

    ``path`` is a ``.cedar`` file (platform scope) or a policy directory
    (``platform/`` and ``partners/<id>/``, as ``PolicySet.from_directory``).
    """
    path = Path(path)
    if path.is_dir():
        policies = PolicySet.from_directory(path)
    else:
        try:
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as err:
            raise PlainPDPError(f"cannot read `{path}`: {err}") from None
        policies = PolicySet.from_text(text, source=path.name)
    compiled = compile_policies(policies)
    shapes = compiled.source.count("\ndef shape_")
    lines = [
        f"# {len(policies)} policies, {len(compiled.leaves)} indexed, "
        f"{len(compiled.dropped)} never applicable, {shapes} condition shapes",
        "# passes: " + ", ".join(
            f"{name} {seconds * 1000:.2f} ms" for name, seconds in compiled.timings.items()
        ),
        "",
        "# decision trees",
    ]
    lines.extend(describe(compiled.trees, compiled.ids))
    lines += ["", "# conditions"]
    for spec in compiled.specs:
        if spec.shape < 0:
            lines.append(f"{spec.policy_id}: (none)")
        else:
            params = ", ".join(repr(p) for p in spec.params)
            lines.append(f"{spec.policy_id}: shape_{spec.shape}({params})")
    for policy_id in compiled.dropped:
        lines.append(f"{policy_id}: never satisfied (dropped)")
    lines += ["", "# generated module", compiled.source.rstrip()]
    return "\n".join(lines) + "\n"
