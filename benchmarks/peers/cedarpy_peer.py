"""Rust Cedar through cedarpy, on the workload translated to plain Cedar.

Partner scopes and ceilings are plainpdp's own semantics; the workload's
``cedar_text()`` writes them into each partner policy's condition (see
:mod:`benchmarks.workload`), so both engines should decide alike.

cedarpy's fastest legitimate API: parse the policy text once into a
``cedarpy.PolicySet`` handle and the entities once into a
``cedarpy.Entities`` handle, then call ``is_authorized`` /
``is_authorized_batch`` with the handles and the context as JSON text (no
per-request ``json.dumps``). Older cedarpy versions took only strings and
re-parsed policies and entities on every call; ``extra()`` measures that
too, as batch time / batch size.
"""

from __future__ import annotations

import json
import time
from collections.abc import Sequence

from ..measure import rss_delta, timed
from ..workload import Workload
from . import Answer, BuildReport, Peer, chunks


class CedarpyPeer(Peer):
    name = "cedarpy"
    native = True

    @staticmethod
    def available() -> str | None:
        try:
            import cedarpy
        except ImportError:
            return "not installed (pip install cedarpy)"
        if not hasattr(cedarpy, "PolicySet") or not hasattr(cedarpy.PolicySet, "from_str"):
            return None  # strings only: still usable, build() falls back
        return None

    def build(self, w: Workload, *, measure_memory: bool = True) -> BuildReport:
        import cedarpy

        self.workload = w
        report = BuildReport()
        self.text, self.ids = w.cedar_text()
        self.entities_text = w.entities_text()
        self.handles = hasattr(cedarpy, "PolicySet") and hasattr(cedarpy.PolicySet, "from_str")
        self.report = report
        if self.handles:
            cedarpy.PolicySet.from_str("permit (principal, action, resource);")  # lazy init
            cpu = time.process_time()
            (self.policies, rss), report.parse_s = timed(
                lambda: rss_delta(lambda: cedarpy.PolicySet.from_str(self.text))
            )
            report.compile_cpu_s = time.process_time() - cpu
            self.entities, report.entities_s = timed(
                lambda: cedarpy.Entities.from_json_str(self.entities_text)
            )
            report.compile_s = report.parse_s
            report.rss_bytes = rss
            report.notes.append("memory: native (Rust), so RSS growth only")
        else:
            self.policies, self.entities = self.text, self.entities_text
            report.notes.append("cedarpy without PolicySet handles: every call re-parses")
        report.snapshot_note = "n/a"
        self.requests = [
            {
                "principal": r.principal_uid,
                "action": r.action_uid,
                "resource": r.resource_uid,
                "context": json.dumps({"mfa": r.mfa}),
            }
            for r in w.requests
        ]
        report.notes.append(
            f"plain-Cedar translation: {len(self.ids)} policies "
            "(the @ceiling policies fold into each partner permit)"
        )
        return report

    def _answers(self, results) -> list[Answer]:
        out = []
        for res in results:
            reasons = frozenset(
                self.ids[int(r[len("policy"):])] if r.startswith("policy") else r
                for r in res.diagnostics.reasons
            )
            out.append(Answer(bool(res.allowed), reasons))
        return out

    def decide(self, indices: Sequence[int]) -> list[Answer]:
        import cedarpy

        batch = [self.requests[i] for i in indices]
        return self._answers(cedarpy.is_authorized_batch(batch, self.policies, self.entities))

    def single(self):
        import cedarpy

        return cedarpy.is_authorized, [(r, self.policies, self.entities) for r in self.requests]

    def batch(self, size: int):
        import cedarpy

        return cedarpy.is_authorized_batch, [
            (c, self.policies, self.entities) for c in chunks(self.requests, size)
        ]

    def extra(self, budget_s: float, latency) -> dict:
        """Per-check cost when policies and entities are passed as text (re-parsed per call).

        One such call parses everything; when that would outlast a few
        budgets (large scales) it is estimated from the measured handle
        parse times plus a batch's evaluation time, and said so.
        """
        import cedarpy

        batch = self.requests[:100]
        parse_s = (self.report.parse_s or 0) + (self.report.entities_s or 0)
        estimate_s = parse_s + len(batch) * latency.p50_ns / 1e9
        if estimate_s > 4 * budget_s:
            return {
                "reparse_per_check_us": estimate_s / len(batch) * 1e6,
                "reparse_per_call_ms": estimate_s * 1e3,
                "reparse_calls": 0,
                "reparse_batch": len(batch),
                "reparse_estimated": True,
            }
        calls, spent = 0, 0.0
        while calls < 20 and (calls == 0 or spent < budget_s):
            _, t = timed(lambda: cedarpy.is_authorized_batch(batch, self.text, self.entities_text))
            spent += t
            calls += 1
        return {
            "reparse_per_check_us": spent / calls / len(batch) * 1e6,
            "reparse_per_call_ms": spent / calls * 1e3,
            "reparse_calls": calls,
            "reparse_batch": len(batch),
            "reparse_estimated": False,
        }

    def close(self) -> None:
        super().close()
        self.policies = self.entities = self.text = self.entities_text = None
