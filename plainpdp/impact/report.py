"""Reports of a diff: text for a terminal, JSON for tools, Markdown for a pull request.

All three group flips by partner, then direction, then responsible policy;
JSON lists every flip, the text and Markdown forms show the first few of
each group.
"""

from __future__ import annotations

import json
from typing import Any

from .diff import ALLOW_TO_DENY, DENY_TO_ALLOW, DiffResult, Flip
from .space import canonical

ARROWS = {DENY_TO_ALLOW: "deny → allow", ALLOW_TO_DENY: "allow → deny"}
SHOW_PER_GROUP = 10


def _n(count: int, word: str) -> str:
    return f"{count:,} {word}{'' if count == 1 else 's'}"


def _policies(result: DiffResult, ids: tuple[str, ...]) -> str:
    out = []
    for pid in ids:
        change = result.changes.get(pid)
        out.append(f"{pid} ({change})" if change else pid)
    return ", ".join(out)


def space_lines(result: DiffResult) -> list[str]:
    """What was compared: the space (and the sampled fraction), suites, logs."""
    if result.could_flip is not None:
        part = (f"the {result.could_flip:,} requests of the enumerated space's "
                f"{result.space_total:,} that a changed policy's scope matches "
                "(no other request can flip)")
    else:
        part = f"{result.space_total:,} requests of the enumerated space"
    if result.sampled:
        space = (f"sampled {result.space_evaluated:,} of {part.removeprefix('the ')} "
                 f"({result.sampled_fraction:.2%}, seed {result.seed})")
    else:
        space = f"all {part.removeprefix('the ')}"
    lines = [space]
    if result.contexts_sampled:
        lines.append("context variants were sampled too (more than 256 per action)")
    extra = [f"{result.suite_requests:,} from test suites"]
    if result.log_requests or result.log_skipped:
        logs = f"{result.log_requests:,} from decision logs"
        if result.log_skipped:
            logs += f" ({result.log_skipped:,} unreadable lines skipped)"
        extra.append(logs)
    lines.append(", ".join(extra) + f"; {result.distinct:,} distinct requests decided")
    for side in ("old", "new"):
        n = result.refused.get(side, 0)
        if n:
            lines.append(f"{side.upper()} refused {_n(n, 'request')} as bad input (counted as deny), "
                         f"e.g. {result.refused_examples[side]}")
    return lines


def _request(f: Flip) -> str:
    r = f.request
    ctx = canonical(dict(r.context))
    ents = f" +{_n(len(r.entities), 'request entity')}" if r.entities else ""
    return f"{r.principal} {r.action} {r.resource} context {ctx}{ents}"


def render_text(result: DiffResult, show: int = SHOW_PER_GROUP) -> str:
    counts = result.counts()
    out = [f"plainpdp diff  OLD {result.old_label}  ->  NEW {result.new_label}"]
    out += [f"  {line}" for line in space_lines(result)]
    if result.changes:
        out.append("  policies changed: " + ", ".join(
            f"{pid} ({what})" for pid, what in result.changes.items()))
    else:
        out.append("  no policy changed")
    out.append("")
    if not result.flips:
        out.append("no decision flips")
    else:
        out.append(
            f"{_n(len(result.flips), 'decision')} flip: {counts[DENY_TO_ALLOW]:,} deny → allow, "
            f"{counts[ALLOW_TO_DENY]:,} allow → deny; "
            f"{counts['unacknowledged']:,} deny → allow not acknowledged"
        )
    partner = None
    for (who, direction, resp), flips in result.groups():
        if who != partner:
            partner = who
            out.append("")
            out.append(who if who == "platform" else f"partner {who}")
        acked = sum(1 for f in flips if f.acknowledged is not None)
        status = ""
        if direction == DENY_TO_ALLOW:
            status = "  acknowledged" if acked == len(flips) else (
                f"  NOT ACKNOWLEDGED ({len(flips) - acked:,})")
        out.append(f"  {ARROWS[direction]}  {_policies(result, resp)}  "
                   f"[{_n(len(flips), 'request')}]{status}")
        for f in flips[:show]:
            out.append(f"    {_request(f)}")
        if len(flips) > show:
            out.append(f"    ... and {len(flips) - show:,} more")
    if result.stale:
        out.append("")
        out.append("allow-list entries that matched no flip (stale?):")
        out += [f"  line {e.line}: {e.describe()}" for e in result.stale]
    out.append("")
    out.append(f"decided in {result.seconds:.2f}s")
    return "\n".join(out)


def to_json(result: DiffResult) -> dict[str, Any]:
    counts = result.counts()
    return {
        "old": result.old_label,
        "new": result.new_label,
        "space": {
            "total": result.space_total,
            "evaluated": result.space_evaluated,
            "sampled": result.sampled,
            "fraction": result.sampled_fraction,
            "seed": result.seed,
            "contexts_sampled": result.contexts_sampled,
            "could_flip": result.could_flip,
        },
        "suite_requests": result.suite_requests,
        "log_requests": result.log_requests,
        "log_lines_skipped": result.log_skipped,
        "distinct_requests": result.distinct,
        "refused": result.refused,
        "policy_changes": result.changes,
        "summary": {
            "flips": len(result.flips),
            DENY_TO_ALLOW: counts[DENY_TO_ALLOW],
            ALLOW_TO_DENY: counts[ALLOW_TO_DENY],
            "unacknowledged_deny_to_allow": counts["unacknowledged"],
        },
        "groups": [
            {
                "partner": who,
                "direction": direction,
                "responsible": list(resp),
                "flips": len(flips),
                "acknowledged": sum(1 for f in flips if f.acknowledged is not None),
            }
            for (who, direction, resp), flips in result.groups()
        ],
        "flips": [
            {
                "partner": f.partner,
                "direction": f.direction,
                "responsible": list(f.responsible),
                "principal": str(f.request.principal),
                "action": str(f.request.action),
                "resource": str(f.request.resource),
                "context": dict(f.request.context),
                "entities": list(f.request.entities),
                "origins": list(f.origins),
                "old": f.old.to_dict(),
                "new": f.new.to_dict(),
                "acknowledged": f.acknowledged,
            }
            for _, flips in result.groups()
            for f in flips
        ],
        "stale_acknowledgements": [
            {"line": e.line, "matches": e.describe(), "reason": e.reason} for e in result.stale
        ],
        "seconds": round(result.seconds, 3),
    }


def render_json(result: DiffResult) -> str:
    return json.dumps(to_json(result), indent=2, ensure_ascii=False)


def _cell(text: str) -> str:
    """Markdown table cell text: pipes escaped, code where it helps."""
    return text.replace("|", "\\|").replace("\n", " ")


def render_markdown(result: DiffResult, show: int = SHOW_PER_GROUP) -> str:
    counts = result.counts()
    out = []
    if not result.flips:
        out.append("### plainpdp diff: no decision flips")
    else:
        mark = "❌" if counts["unacknowledged"] else "✅"
        out.append(f"### {mark} plainpdp diff: {_n(len(result.flips), 'decision')} flip")
    out.append("")
    out.append(f"`{_cell(result.old_label)}` → `{_cell(result.new_label)}`: "
               + "; ".join(space_lines(result)) + ".")
    if result.changes:
        out.append("")
        out.append("Policies changed: " + ", ".join(
            f"`{pid}` ({what})" for pid, what in result.changes.items()) + ".")
    if result.flips:
        out.append("")
        out.append(f"**{counts[DENY_TO_ALLOW]:,}** deny → allow "
                   f"(**{counts['unacknowledged']:,}** not acknowledged), "
                   f"**{counts[ALLOW_TO_DENY]:,}** allow → deny.")
        out.append("")
        out.append("| partner | change | responsible policy | requests | acknowledged |")
        out.append("|---|---|---|---:|---|")
        for (who, direction, resp), flips in result.groups():
            acked = sum(1 for f in flips if f.acknowledged is not None)
            status = f"{acked}/{len(flips)}" if direction == DENY_TO_ALLOW else "n/a"
            out.append(f"| {_cell(who)} | {ARROWS[direction]} | "
                       f"{_cell(_policies(result, resp))} | {len(flips):,} | {status} |")
        for (who, direction, resp), flips in result.groups():
            out.append("")
            out.append(f"<details><summary>{_cell(who)}: {ARROWS[direction]} by "
                       f"{_cell(_policies(result, resp))} ({_n(len(flips), 'request')})"
                       "</summary>")
            out.append("")
            out.append("| principal | action | resource | context | acknowledged |")
            out.append("|---|---|---|---|---|")
            for f in flips[:show]:
                r = f.request
                out.append(
                    f"| `{_cell(str(r.principal))}` | `{_cell(str(r.action))}` | "
                    f"`{_cell(str(r.resource))}` | `{_cell(canonical(dict(r.context)))}` | "
                    f"{_cell(f.acknowledged or '')} |"
                )
            if len(flips) > show:
                out.append(f"\n… and {len(flips) - show:,} more (see the JSON report).")
            out.append("")
            out.append("</details>")
    if result.stale:
        out.append("")
        out.append("Allow-list entries that matched no flip: " + "; ".join(
            f"line {e.line} ({_cell(e.describe())})" for e in result.stale) + ".")
    return "\n".join(out) + "\n"


RENDERERS = {"text": render_text, "json": render_json, "markdown": render_markdown}
