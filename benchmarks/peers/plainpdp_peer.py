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
import time
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

    @staticmethod
    def _texts(w: Workload) -> list[tuple[str, str | None, str]]:
        """(text, partner, source) of every policy file, rendered before any timing."""
        texts = [(w.platform_text(), None, "platform/policies.cedar")]
        for pid, text in w.partner_texts().items():
            texts.append((text, pid, f"partners/{pid}/grants.cedar"))
        return texts

    @staticmethod
    def _policies(texts: list[tuple[str, str | None, str]]):
        from plainpdp import PolicySet

        return _union([PolicySet.from_text(text, partner=partner, source=source)
                       for text, partner, source in texts])

    def _engine(self, policies, entities, **extra):
        from plainpdp import Engine

        params = inspect.signature(Engine).parameters
        if "decision_cache" in params:
            extra.setdefault("decision_cache", 0)
        return Engine(policies, entities=entities, **extra)

    @staticmethod
    def _entities(entity_json: list):
        from plainpdp import Entities

        return timed(lambda: Entities.from_json(entity_json))

    def build(self, w: Workload, *, measure_memory: bool = True) -> BuildReport:
        from plainpdp import PolicySet

        self.workload = w
        report = BuildReport()
        # the JSON is dropped once read: a portal keeps the store, not its source
        self.entities, report.entities_s = self._entities(w.entities_json())
        first = w.request_dicts()[0]
        texts = self._texts(w)

        def ready():
            engine = self._engine(self.policies, self.entities)
            engine.is_authorized(**first)  # anything lazy is built by now
            return engine

        def compile_all():
            cpu = time.process_time()
            self.policies, report.parse_s = timed(lambda: self._policies(texts))
            self.engine, report.index_s = timed(ready)
            report.compile_cpu_s = time.process_time() - cpu

        _, report.rss_bytes = rss_delta(compile_all)
        report.compile_s = report.parse_s + report.index_s
        self._snapshot(report)
        if measure_memory:
            empty = PolicySet.from_text("")
            _, base = traced_bytes(lambda: self._engine(empty, self.entities))
            _, full = traced_bytes(lambda: self._engine(self._policies(texts), self.entities))
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

    def single_unseen(self, dicts: list[dict]):
        return self.engine.is_authorized, [
            (r["principal"], r["action"], r["resource"], r["context"]) for r in dicts
        ]

    def batch(self, size: int):
        return self.engine.is_authorized_batch, [(c,) for c in chunks(self.requests, size)]

    def close(self) -> None:
        super().close()
        self.engine = self.policies = self.entities = None
