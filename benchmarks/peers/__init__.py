"""The engines compared on one workload: plainpdp and, where installed, peers.

Each engine is a :class:`Peer`: ``build(workload)`` prepares it (and records
how long that took and what it kept), ``decide(indices)`` answers requests
for the agreement check, and ``single()`` / ``batch(size)`` hand the timing
loops a bound callable with prepared argument tuples, so the timed loop is
the engine's own call and nothing else.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from ..workload import Workload


@dataclass(frozen=True, slots=True)
class Answer:
    """One engine's decision on one request (reasons where the engine gives them)."""

    allowed: bool
    reasons: frozenset[str] | None = None


@dataclass
class BuildReport:
    """What building an engine cost; every field optional (None: not measured)."""

    compile_s: float | None = None  # policy text -> ready to decide
    compile_cpu_s: float | None = None  # the same, in this process's CPU time
    parse_s: float | None = None
    index_s: float | None = None
    entities_s: float | None = None
    snapshot_load_s: float | None = None
    snapshot_engine_s: float | None = None
    snapshot_note: str = ""
    memory_bytes: int | None = None  # tracemalloc (Python allocations), where measured
    memory_method: str = ""
    rss_bytes: int | None = None  # resident-set growth while building: rough, any engine
    notes: list[str] = field(default_factory=list)


class Peer:
    name = "?"
    native = False  # True: memory lives outside Python's allocator (RSS only)

    def __init__(self) -> None:
        self.workload: Workload | None = None

    @staticmethod
    def available() -> str | None:
        """None when usable, else why not (not installed, ...)."""
        return None

    def build(self, workload: Workload, *, measure_memory: bool = True) -> BuildReport:
        raise NotImplementedError

    def decide(self, indices: Sequence[int]) -> list[Answer]:
        raise NotImplementedError

    def single(self) -> tuple[Callable[..., Any], list[tuple]]:
        """(call, args per request): ``call(*args)`` decides one request."""
        raise NotImplementedError

    def single_unseen(self, dicts: list[dict]) -> tuple[Callable[..., Any], list[tuple]] | None:
        """(call, args) deciding requests given as dicts, never asked before; None
        for an engine that keeps nothing per request (its p50 is the same)."""
        return None

    def batch(self, size: int) -> tuple[Callable[..., Any], list[tuple]]:
        """(call, args per batch): ``call(*args)`` decides ``size`` requests."""
        raise NotImplementedError

    def extra(self, budget_s: float, latency: Any) -> dict[str, Any]:
        """Engine-specific extra measurements, printed under the table."""
        return {}

    def close(self) -> None:
        self.workload = None


def chunks(items: Sequence[Any], size: int) -> list[list[Any]]:
    """``items`` cut into full chunks of ``size`` (the last short one dropped if others exist)."""
    out = [list(items[i:i + size]) for i in range(0, len(items), size)]
    if len(out) > 1 and len(out[-1]) < size:
        out.pop()
    return out
