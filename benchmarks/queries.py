"""``python -m benchmarks.queries``: access queries against the one-by-one loop.

The partner-portal workload (:mod:`benchmarks.workload`, scale 1 000: 100
partners and their grants, the platform's guardrails and ceilings) with its
documents grown to 10k and 100k and its users to 10k, each new one placed
like the generator's own (a folder of its partner and a section; roles of
its partner). Then, on the same engine:

- ``allowed_resources(user, action, "Document")`` against
  ``[d for d in documents if engine.is_authorized(user, action, d).allowed]``
  (and against one ``is_authorized_batch`` over every document), and the
  plan's SQL clause run on a SQLite table of the same documents;
- ``who_can(action, resource, "User")`` against the loop over every user.

Every answer is checked against the loop before it is timed. Figures are
medians over a few queries (bounded by ``--budget`` seconds and ``--repeat``
runs per query); the ratio is loop time over query time (higher is better).
The first query at a size also builds the per-store index of entities by
type and descendants; it is timed and shown on its own.
"""

from __future__ import annotations

import argparse
import random
import sqlite3
import statistics
import sys
import time
from collections.abc import Callable, Sequence
from typing import Any

from .workload import REGIONS, SECTIONS, SENSITIVITIES, Document, User, Workload, generate

CONTEXT = {"mfa": True}
ACTIONS = ("view", "edit")


def log(msg: str) -> None:
    print(f"[queries {time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


def grow(w: Workload, documents: int, users: int, rng: random.Random) -> None:
    """Add documents and users, spread over the partners like the generator's."""
    folders_of: dict[str, list[str]] = {}
    for folder, pid in w.folders.items():
        folders_of.setdefault(pid, []).append(folder)
    roles_of: dict[str, list[str]] = {}
    for role, pid in w.roles.items():
        roles_of.setdefault(pid, []).append(role)
    count = {p.id: 0 for p in w.partners}
    for d in w.documents:
        count[d.partner] += 1
    while len(w.documents) < documents:
        p = rng.choice(w.partners).id
        w.documents.append(Document(
            f"{p}-d{count[p]}", p, rng.choice(folders_of[p]), rng.choice(tuple(SECTIONS)),
            rng.choices(SENSITIVITIES, weights=(4, 4, 2))[0], rng.choice(REGIONS),
        ))
        count[p] += 1
    n = len(w.users)
    while len(w.users) < users:
        p = rng.choice(w.partners).id
        held = tuple(sorted(rng.sample(roles_of[p], rng.choice((1, 1, 2)))))
        w.users.append(User(f"{p}-x{n}", p, held, rng.choice(REGIONS)))
        n += 1


def build(documents: int, users: int, seed: int) -> tuple[Any, Workload]:
    from plainpdp import Engine, Entities, PolicySet

    w = generate(1_000, seed, requests=1)
    grow(w, documents, users, random.Random(f"queries:{seed}:{documents}:{users}"))
    sets = [PolicySet.from_text(w.platform_text(), source="platform/policies.cedar")]
    sets += [PolicySet.from_text(text, partner=pid, source=f"partners/{pid}/grants.cedar")
             for pid, text in w.partner_texts().items()]
    return Engine(PolicySet.union(sets), entities=Entities.from_json(w.entities_json())), w


def timed(fn: Callable[[], Any]) -> tuple[Any, float]:
    start = time.perf_counter()
    result = fn()
    return result, time.perf_counter() - start


def median_time(fn: Callable[[], Any], repeat: int, budget: float) -> float:
    """Median seconds of ``fn()`` over up to ``repeat`` runs within ``budget`` seconds."""
    times: list[float] = []
    deadline = time.perf_counter() + budget
    while len(times) < repeat and (not times or time.perf_counter() < deadline):
        times.append(timed(fn)[1])
    return statistics.median(times)


def sqlite_documents(engine: Any, w: Workload) -> sqlite3.Connection:
    """The documents as a table (id, sensitivity, region, partner, owner) and their ancestors."""
    db = sqlite3.connect(":memory:")
    db.execute("CREATE TABLE documents (id TEXT PRIMARY KEY, sensitivity TEXT, region TEXT,"
               " partner TEXT, owner_partner TEXT)")
    db.execute("CREATE TABLE document_ancestors (resource_id TEXT, ancestor_type TEXT,"
               " ancestor_id TEXT)")
    db.execute("CREATE INDEX document_ancestors_by_id ON document_ancestors (resource_id)")
    db.executemany("INSERT INTO documents VALUES (?, ?, ?, ?, ?)",
                   [(d.id, d.sensitivity, d.region, d.partner, d.partner) for d in w.documents])
    db.executemany(
        "INSERT INTO document_ancestors VALUES (?, ?, ?)",
        [(d.id, "Folder", d.folder) for d in w.documents]
        + [(d.id, "Section", d.section) for d in w.documents]
        + [(d.id, "Partner", d.partner) for d in w.documents],
    )
    db.commit()
    return db


def sql_mapping() -> Any:
    from plainpdp.query.sql import Ancestors, Column, SqlMapping

    return SqlMapping(
        table="documents",
        columns={"sensitivity": Column("sensitivity", "string"),
                 "region": Column("region", "string"),
                 "partner": Column("partner", "entity", entity_type="Partner")},
        partner_column="owner_partner",
        ancestors=Ancestors("document_ancestors"),
    )


def conditional_queries(engine: Any, w: Workload, n: int, rng: random.Random) -> list[tuple]:
    """``n`` (user, action) pairs whose plan is conditional: a list page to compute.

    Plans that are allow or deny outright cost nothing to answer; they are
    skipped so the figures show the work a real list page does.
    """
    from plainpdp import EntityUid

    out: list[tuple] = []
    for u in rng.sample(w.users, min(len(w.users), 50 * n)):
        user = EntityUid("User", u.id)
        action = EntityUid("Action", ACTIONS[len(out) % len(ACTIONS)])
        if engine.plan(user, action, "Document", CONTEXT).kind == "conditional":
            out.append((user, action))
            if len(out) == n:
                break
    return out


def bench_allowed_resources(size: int, args: argparse.Namespace) -> dict:
    from plainpdp import EntityUid

    log(f"allowed_resources: building {size} documents")
    (engine, w), build_s = timed(lambda: build(size, 1_000, args.seed))
    docs = [EntityUid("Document", d.id) for d in w.documents]
    rng = random.Random(args.seed)
    db = sqlite_documents(engine, w)
    mapping = sql_mapping()
    rows: dict[str, list[float]] = {"query": [], "loop": [], "batch": [], "sql": [], "found": []}
    first_s = None
    for user, action in conditional_queries(engine, w, args.queries, rng):

        def loop(user=user, action=action) -> list:
            return [d for d in docs if engine.is_authorized(user, action, d, CONTEXT).allowed]

        def batch(user=user, action=action) -> list:
            out = engine.is_authorized_batch([(user, action, d, CONTEXT) for d in docs])
            return [d for d, dec in zip(docs, out, strict=True) if dec.allowed]

        def query(user=user, action=action) -> list:
            return engine.allowed_resources(user, action, "Document", CONTEXT)

        def sql(user=user, action=action) -> list:
            where, params = engine.plan(user, action, "Document", CONTEXT).to_sql(mapping)
            return [r[0] for r in db.execute(f"SELECT id FROM documents WHERE {where}", params)]

        if first_s is None:
            _, first_s = timed(query)
        want, loop_s = timed(loop)
        want = sorted(want, key=str)
        if query() != want or sorted(batch(), key=str) != want \
                or sorted(sql()) != sorted(d.id for d in want):
            raise SystemExit(f"MISMATCH: allowed_resources for {user} {action} disagrees")
        rows["found"].append(len(want))
        rows["loop"].append(loop_s)
        rows["batch"].append(median_time(batch, 1, 0))
        rows["query"].append(median_time(query, args.repeat, args.budget))
        rows["sql"].append(median_time(sql, args.repeat, args.budget))
    db.close()
    return {"size": size, "build_s": build_s, "first_s": first_s,
            **{k: statistics.median(v) for k, v in rows.items()}}


def bench_who_can(users: int, args: argparse.Namespace) -> dict:
    from plainpdp import EntityUid

    log(f"who_can: building {users} users")
    (engine, w), build_s = timed(lambda: build(1_000, users, args.seed))
    people = [EntityUid("User", u.id) for u in w.users]
    rng = random.Random(args.seed + 1)
    loops, queries, found = [], [], []
    first_s = None
    for _ in range(args.queries):
        d = rng.choice(w.documents)
        resource = (EntityUid("Document", d.id) if rng.random() < 0.7
                    else EntityUid("Section", rng.choice(tuple(SECTIONS))))
        action = EntityUid("Action", rng.choice(ACTIONS))

        def loop(resource=resource, action=action) -> list:
            return [p for p in people if engine.is_authorized(p, action, resource, CONTEXT).allowed]

        def query(resource=resource, action=action) -> list:
            return engine.who_can(action, resource, "User", CONTEXT)

        if first_s is None:
            _, first_s = timed(query)
        want, loop_s = timed(loop)
        if query() != sorted(want, key=str):
            raise SystemExit(f"MISMATCH: who_can {action} {resource} disagrees")
        found.append(len(want))
        loops.append(loop_s)
        queries.append(median_time(query, args.repeat, args.budget))
    return {"size": users, "build_s": build_s, "first_s": first_s, "found": statistics.median(found),
            "loop": statistics.median(loops), "query": statistics.median(queries)}


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    ap = argparse.ArgumentParser(prog="python -m benchmarks.queries", description=__doc__.split(
        "\n\n")[0])
    ap.add_argument("--documents", default="10000,100000",
                    help="document counts for allowed_resources (default 10000,100000)")
    ap.add_argument("--users", default="10000", help="user counts for who_can (default 10000)")
    ap.add_argument("--queries", type=int, default=5, help="distinct queries per size (default 5)")
    ap.add_argument("--repeat", type=int, default=5, help="timed runs per query at most (default 5)")
    ap.add_argument("--budget", type=float, default=2.0,
                    help="seconds of timed runs per query at most (default 2)")
    ap.add_argument("--seed", type=int, default=1)
    return ap.parse_args(argv)


def ms(seconds: float) -> str:
    return f"{seconds * 1e3:10.1f}"


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    try:
        doc_sizes = [int(x) for x in args.documents.split(",") if x]
        user_sizes = [int(x) for x in args.users.split(",") if x]
    except ValueError:
        print("--documents and --users take comma-separated counts", file=sys.stderr)
        return 2
    print(f"access queries, seed {args.seed}, {args.queries} queries per size, "
          f"median ms and results "
          f"(ratio = one-by-one loop / query; allowed_resources on conditional plans)")
    print(f"{'query':<18}{'entities':>9}{'found':>7}{'query':>10}{'loop':>10}{'ratio':>8}"
          f"{'batch':>10}{'ratio':>8}{'plan+SQL':>10}{'ratio':>8}{'1st call':>10}")
    for size in doc_sizes:
        r = bench_allowed_resources(size, args)
        print(f"{'allowed_resources':<18}{size:>9}{r['found']:>7.0f}{ms(r['query'])}"
              f"{ms(r['loop'])}{r['loop'] / r['query']:>8.1f}{ms(r['batch'])}"
              f"{r['batch'] / r['query']:>8.1f}{ms(r['sql'])}{r['loop'] / r['sql']:>8.1f}"
              f"{ms(r['first_s'])}", flush=True)
    for size in user_sizes:
        r = bench_who_can(size, args)
        print(f"{'who_can':<18}{size:>9}{r['found']:>7.0f}{ms(r['query'])}{ms(r['loop'])}"
              f"{r['loop'] / r['query']:>8.1f}{'':>36}{ms(r['first_s'])}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
