"""Timing and memory helpers: bounded in count and in time, never open-ended."""

from __future__ import annotations

import gc
import os
import time
import tracemalloc
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any


@dataclass
class Latency:
    """Per-call latencies of one timed pass (nanoseconds)."""

    samples: int
    p50_ns: float
    p99_ns: float
    mean_ns: float

    def as_dict(self) -> dict:
        return {
            "samples": self.samples,
            "p50_us": self.p50_ns / 1e3,
            "p99_us": self.p99_ns / 1e3,
            "mean_us": self.mean_ns / 1e3,
        }


def percentile(sorted_values: Sequence[float], q: float) -> float:
    """Nearest-rank percentile of already sorted values (q in 0..100)."""
    if not sorted_values:
        return float("nan")
    rank = max(1, min(len(sorted_values), round(q / 100 * len(sorted_values) + 0.5)))
    return sorted_values[rank - 1]


def timer_overhead_ns(n: int = 20_000) -> float:
    """Median cost of the two ``perf_counter_ns`` calls around a timed call."""
    pc = time.perf_counter_ns
    out = []
    for _ in range(n):
        t0 = pc()
        t1 = pc()
        out.append(t1 - t0)
    out.sort()
    return percentile(out, 50)


def latencies(
    call: Callable[..., Any],
    args_list: Sequence[tuple],
    *,
    budget_s: float,
    max_calls: int,
    min_calls: int = 3,
) -> Latency:
    """Time each ``call(*args)`` with ``perf_counter_ns``, cycling the args.

    Stops after ``max_calls`` or once ``budget_s`` is spent (after at least
    ``min_calls``). Garbage collection is left on: it is part of the cost a
    caller pays.
    """
    pc = time.perf_counter_ns
    deadline = pc() + int(budget_s * 1e9)
    out: list[int] = []
    n = len(args_list)
    i = 0
    while i < max_calls:
        args = args_list[i % n]
        t0 = pc()
        call(*args)
        t1 = pc()
        out.append(t1 - t0)
        i += 1
        if t1 > deadline and i >= min_calls:
            break
    out.sort()
    return Latency(len(out), percentile(out, 50), percentile(out, 99), sum(out) / len(out))


def throughput(
    call: Callable[..., Any],
    args_list: Sequence[tuple],
    *,
    budget_s: float,
    max_calls: int,
    per_call: int = 1,
    min_calls: int = 1,
) -> tuple[float, int]:
    """(decisions per second, calls made) of ``call(*args)`` in a plain loop.

    ``per_call`` is how many decisions one call makes (a batch's size). The
    clock is read every few calls (up to 64), not per call, so the loop stays
    plain for fast engines and still stops in time for slow ones.
    """
    pc = time.perf_counter
    n = len(args_list)
    stride = 1  # calls between clock reads; doubles while a stride takes < 1 ms
    start = pc()
    deadline = start + budget_s
    calls = 0
    while calls < max_calls:
        step = min(stride, max_calls - calls)
        before = pc()
        for k in range(step):
            call(*args_list[(calls + k) % n])
        calls += step
        now = pc()
        if calls >= min_calls and now > deadline:
            break
        if now - before < 0.001 and stride < 64:
            stride *= 2
    elapsed = pc() - start
    return calls * per_call / elapsed, calls


def timed(fn: Callable[[], Any]) -> tuple[Any, float]:
    """(result, seconds) of ``fn()``."""
    start = time.perf_counter()
    result = fn()
    return result, time.perf_counter() - start


def traced_bytes(fn: Callable[[], Any]) -> tuple[Any, int]:
    """(result, bytes still allocated by ``fn`` once it returned), via tracemalloc.

    Counts Python allocations that the result keeps alive; allocations of
    native extensions that bypass Python's allocator are not seen.
    """
    gc.collect()
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        result = fn()
        gc.collect()
        after = tracemalloc.get_traced_memory()[0]
    finally:
        tracemalloc.stop()
    return result, after - before


def rss_bytes() -> int:
    """Resident set size of this process now (Linux), 0 where unknown."""
    try:
        with open("/proc/self/statm") as f:
            pages = int(f.read().split()[1])
        return pages * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError):
        return 0


def rss_delta(fn: Callable[[], Any]) -> tuple[Any, int]:
    """(result, growth of the resident set while ``fn`` ran): rough, for native code."""
    gc.collect()
    before = rss_bytes()
    result = fn()
    gc.collect()
    return result, max(0, rss_bytes() - before)
