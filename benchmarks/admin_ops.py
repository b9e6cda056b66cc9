#!/usr/bin/env python3
"""Partner administration on SQLite: operations per second, and change-to-decision delay.

    python benchmarks/admin_ops.py [--users N] [--ops N] [--repeat R] [--changes N]

On a fresh store seeded from the example portal (``policies/``), grown by
``--users`` extra users spread over the partners, it measures:

- admin operations per second, one writer in this process, for
  ``update_user`` (personal details), ``assign_role``+``revoke_role``
  pairs, and ``get_user`` (a read), each authorized by the engine,
  committed (WAL, synchronous=FULL) and audited;
- the delay from a committed change to the next decision that reflects it:
  in-process (the service refreshes its engine before returning, so the
  first decision after the call already reflects it) and cross-process
  (another process watching the store, polling every ``--poll`` s, loops
  decisions and notes when the answer flips; both read the same clock;
  counted from the start of the committing call, so an upper bound).

Every figure is the median over ``--repeat`` rounds (delays: over
``--changes`` changes), with the spread shown.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from plainpdp.admin import Actor, AdminService, AdminSettings  # noqa: E402

POLICIES = ROOT / "policies"
PARTNERS = ("acme-supply", "northwind-dist", "brightside-agency", "harbor-brokers")
DANA = Actor("dana")
CHECK = ('User::"erin"', 'Action::"view"', 'Section::"reports"', {"mfa": False})
MANAGER = 'Role::"northwind-dist/manager"'

WATCHER = r"""
import sys, time
from plainpdp.admin import AdminService, AdminSettings
admin = AdminService.open(sys.argv[1], sys.argv[2], seed=False,
                          settings=AdminSettings(poll_seconds=float(sys.argv[3])))
request = ('User::"erin"', 'Action::"view"', 'Section::"reports"', {"mfa": False})
last = admin.is_authorized(*request).allowed
print("ready", flush=True)
deadline = time.time() + float(sys.argv[4])
while time.time() < deadline:
    now = admin.is_authorized(*request).allowed
    if now != last:
        print(f"{time.time()!r} {now}", flush=True)
        last = now
    time.sleep(0.001)
"""


def grow(admin: AdminService, users: int) -> None:
    pat = Actor("pat")
    for n in range(users):
        partner = PARTNERS[n % len(PARTNERS)]
        admin.create_user(pat, f"bench{n}", partner=partner, display_name=f"Bench {n}",
                          email=f"bench{n}@{partner}.example", region="eu")


def rate(n: int, seconds: float) -> float:
    return n / seconds if seconds > 0 else float("inf")


def spread(values: list[float], unit: str, scale: float = 1.0) -> str:
    v = sorted(x * scale for x in values)
    return f"median {statistics.median(v):.1f} {unit} (min {v[0]:.1f}, max {v[-1]:.1f})"


def ops_per_second(admin: AdminService, ops: int, repeat: int) -> dict[str, list[float]]:
    out: dict[str, list[float]] = {"update_user": [], "assign+revoke": [], "get_user": []}
    version = admin.get_user(DANA, "erin").version
    for _ in range(repeat):
        t0 = time.perf_counter()
        for n in range(ops):
            version = admin.update_user(DANA, "erin", version=version,
                                        display_name=f"Erin {n}").record_version
        out["update_user"].append(rate(ops, time.perf_counter() - t0))
        t0 = time.perf_counter()
        for _ in range(ops // 2):
            version = admin.assign_role(DANA, "erin", MANAGER, version=version).record_version
            version = admin.revoke_role(DANA, "erin", MANAGER, version=version).record_version
        out["assign+revoke"].append(rate(2 * (ops // 2), time.perf_counter() - t0))
        t0 = time.perf_counter()
        for _ in range(ops):
            admin.get_user(DANA, "erin")
        out["get_user"].append(rate(ops, time.perf_counter() - t0))
    return out


def in_process_delay(admin: AdminService, changes: int) -> list[float]:
    """Seconds from the commit returning to a decision that reflects it (the first one)."""
    delays = []
    version = admin.get_user(DANA, "erin").version
    for n in range(changes):
        grant = n % 2 == 0
        call = admin.assign_role if grant else admin.revoke_role
        version = call(DANA, "erin", MANAGER, version=version).record_version
        t0 = time.perf_counter()
        while admin.is_authorized(*CHECK).allowed != grant:
            pass
        delays.append(time.perf_counter() - t0)
    return delays


def cross_process_delay(admin: AdminService, store: Path, changes: int,
                        poll: float) -> list[float]:
    """Seconds from the committing call here to the watcher process's first decision reflecting it.

    Counted from the start of the call (the commit happens inside it), so the
    figure is an upper bound by the call's own duration.
    """
    duration = changes * 0.6 + 30
    proc = subprocess.Popen([sys.executable, "-c", WATCHER, str(store), str(POLICIES),
                             str(poll), str(duration)],
                            stdout=subprocess.PIPE, text=True, cwd=ROOT,
                            env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert proc.stdout is not None
    assert proc.stdout.readline().strip() == "ready"
    delays = []
    version = admin.get_user(DANA, "erin").version
    try:
        for n in range(changes):
            grant = n % 2 == 0
            call = admin.assign_role if grant else admin.revoke_role
            started = time.time()  # the commit is inside the call: this bounds the delay above
            version = call(DANA, "erin", MANAGER, version=version).record_version
            seen, state = proc.stdout.readline().split()
            assert state == str(grant), (state, grant)
            delays.append(float(seen) - started)
            time.sleep(0.1 + (n % 5) * 0.037)  # commits at varied phases of the poll
    finally:
        proc.kill()
        proc.wait()
    return delays


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=0, help="extra users (default 0)")
    parser.add_argument("--ops", type=int, default=200, help="operations per round")
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--changes", type=int, default=20, help="changes timed for delays")
    parser.add_argument("--poll", type=float, default=AdminSettings().poll_seconds,
                        help="the watching process's poll interval (s)")
    args = parser.parse_args(argv)

    tmp = Path(tempfile.mkdtemp(prefix="plainpdp-admin-bench-"))
    store = tmp / "store.sqlite"
    try:
        with AdminService.open(store, POLICIES, watch=False) as admin:
            grow(admin, args.users)
            entities = len(admin.engine.entities)
            print(f"store: SQLite (WAL, synchronous=FULL), {entities} entities "
                  f"({args.users} extra users); {os.cpu_count()} cpus")
            rates = ops_per_second(admin, args.ops, args.repeat)
            for name, values in rates.items():
                print(f"  {name:<14} {spread(values, 'ops/s')}")
            local = in_process_delay(admin, args.changes)
            print(f"  change -> decision, same process:  {spread(local, 'ms', 1000)}")
            remote = cross_process_delay(admin, store, args.changes, args.poll)
            print(f"  change -> decision, other process: {spread(remote, 'ms', 1000)} "
                  f"(poll {args.poll:g} s)")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
