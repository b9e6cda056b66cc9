"""plainpdp itself, through its public API (DESIGN §3) only.

Platform policies load with ``PolicySet.from_text(text, source=...)``, each
partner's grants with ``partner=<id>``; the sets are united and handed to
``Engine`` with the entity store. Requests are passed the way a portal
backend has them: uid text and a context dict. The engine's opt-in decision
cache stays off, so every timed call decides.
"""

from __future__ import annotations

import inspect
import tempfile
from collections.abc import Sequence
from pathlib import Path

from ..measure import rss_delta, timed, traced_bytes
from ..workload import Workload
from . import Answer, BuildReport, Peer, chunks


def _union(sets: list):
    from plainpdp import PolicySet

    union = getattr(PolicySet, "union", None)
    if union is not None:
        return union(sets)
    # ``a | b`` only: unite pairwise as a balanced tree (n log n, not n²).
    while len(sets) > 1:
        sets = [sets[i] | sets[i + 1] if i + 1 < len(sets) else sets[i]
                for i in range(0, len(sets), 2)]
    return sets[0]


class PlainPDPPeer(Peer):
    name = "plainpdp"

    @staticmethod
    def available() -> str | None:
        try:
            import plainpdp  # noqa: F401
            from plainpdp import Engine, Entities, PolicySet  # noqa: F401
        except Exception as err:  # a half-landed core must not stop the peers
            return f"import failed: {err}"
        return None

    def _policies(self, w: Workload):
        from plainpdp import PolicySet

        sets = [PolicySet.from_text(w.platform_text(), source="platform/policies.cedar")]
        for pid, text in w.partner_texts().items():
            sets.append(PolicySet.from_text(text, partner=pid, source=f"partners/{pid}/grants.cedar"))
        return _union(sets)

    def _engine(self, policies, entities, **extra):
        from plainpdp import Engine

        params = inspect.signature(Engine).parameters
        if "decision_cache" in params:
            extra.setdefault("decision_cache", 0)
        return Engine(policies, entities=entities, **extra)

    def build(self, w: Workload, *, measure_memory: bool = True) -> BuildReport:
        from plainpdp import Entities, PolicySet

        self.workload = w
        report = BuildReport()
        entity_json = w.entities_json()
        self.entities, report.entities_s = timed(lambda: Entities.from_json(entity_json))
        first = w.request_dicts()[0]

        def ready():
            engine = self._engine(self.policies, self.entities)
            engine.is_authorized(**first)  # anything lazy is built by now
            return engine

        def compile_all():
            self.policies, report.parse_s = timed(lambda: self._policies(w))
            self.engine, report.index_s = timed(ready)

        _, report.rss_bytes = rss_delta(compile_all)
        report.compile_s = report.parse_s + report.index_s
        self._snapshot(report)
        if measure_memory:
            empty = PolicySet.from_text("")
            _, base = traced_bytes(lambda: self._engine(empty, self.entities))
            _, full = traced_bytes(lambda: self._engine(self._policies(w), self.entities))
            report.memory_bytes = max(0, full - base)
            report.memory_method = (
                "tracemalloc: policy text -> PolicySet + Engine, minus an Engine with no policies"
            )
        self.requests = w.request_dicts()
        return report

    def _snapshot(self, report: BuildReport) -> None:
        try:
            from plainpdp import compile as compile_stage
        except Exception as err:
            report.snapshot_note = f"n/a (plainpdp.compile: {err})"
            return
        save = getattr(compile_stage, "save_snapshot", None)
        load = getattr(compile_stage, "load_snapshot", None)
        compiled = getattr(self.engine, "compiled", None)
        if save is None or load is None or compiled is None:
            report.snapshot_note = "n/a (no save_snapshot/load_snapshot)"
            return
        try:
            with tempfile.TemporaryDirectory(prefix="plainpdp-bench-") as tmp:
                path = Path(tmp) / "policies.snapshot"
                save(compiled, path)
                args = [path]
                if len(inspect.signature(load).parameters) > 1:
                    args.append(self.policies.fingerprint)
                loaded, report.snapshot_load_s = timed(lambda: load(*args))
                _, report.snapshot_engine_s = timed(
                    lambda: self._engine(self.policies, self.entities, compiled=loaded)
                )
            report.snapshot_note = "load_snapshot(path, fingerprint)"
        except Exception as err:  # report, never hide: the table says n/a and why
            report.snapshot_note = f"n/a ({type(err).__name__}: {err})"

    def decide(self, indices: Sequence[int]) -> list[Answer]:
        out = []
        for i in indices:
            d = self.engine.is_authorized(**self.requests[i])
            out.append(Answer(d.allowed, frozenset(d.reasons)))
        return out

    def single(self):
        args = [
            (r["principal"], r["action"], r["resource"], r["context"]) for r in self.requests
        ]
        return self.engine.is_authorized, args

    def batch(self, size: int):
        return self.engine.is_authorized_batch, [(c,) for c in chunks(self.requests, size)]

    def close(self) -> None:
        super().close()
        self.engine = self.policies = self.entities = None
