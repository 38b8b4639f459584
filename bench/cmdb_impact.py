"""Impact walks over a CMDB of 100,000 configuration items and 500,000 relationships.

The figure is the desk's walk (:func:`itsmcore.desk.cmdb.walk`: breadth first, one query a
level, each item expanded once, the cycles named) from a random item, depth 5,
on SQLite and PostgreSQL: its p50 and p99 latency and the client's CPU time a walk, beside
a plain Python breadth-first search over the same rows held in a dict (the ceiling: no
database at all; it names no cycles) measured in the same run. The goal is p99 <= 50 ms at
depth 5. The load average is printed with each figure: on a shared machine a p99 is mostly
the other processes' doing.

``--cte`` also times, alternating with the desk's walk, one recursive query doing the whole
walk in one round trip (``WITH RECURSIVE``, ``UNION`` for cycle protection, the depth as
its limit), the alternative the desk's walk was measured against: it expands an item once
for each depth it is reached at, which costs more than the round trips it saves.

The graph (``--shape random``, the default): items ``c000000``..; each relationship joins two random items (``runs_on``,
``depends_on``, ``connects_to``, the last stored both ways as the desk does) and one item
in ten provides one of 200 services. Each item is thus reached from about five others:
a walk of depth 5 reaches some 14,000 items (a seventh of the CMDB), far more than a real
CMDB's server would: even the in-memory ceiling cannot meet the goal on this graph, and the
ratio to it is the figure to watch. The same run then measures ``--shape layered``, a graph
shaped like a data centre (racks, hosts, machines, applications depending on the parts of
their own system), where a walk reaches what an outage there would: the goal applies to it.

Run: ``tox -e bench`` or ``python bench/cmdb_impact.py [--items 100000] [--relationships 500000]``.
The PostgreSQL half skips, saying so, when its server binaries are not installed.
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

from sqlalchemy import Connection, Engine, insert, text

from itsmcore.desk.cmdb import _SERVICES, _ids, on_cycles, walk
from itsmcore.store import tables as t
from itsmcore.store.engine import open_engine
from itsmcore.testing.postgres import PostgresCluster, find_pg_bin

TYPES = ("runs_on", "depends_on", "connects_to")


def graph(items: int, relationships: int) -> list[dict[str, object]]:
    rnd = random.Random(17)
    rows: list[dict[str, object]] = []
    for _ in range(relationships):
        a, b = f"c{rnd.randrange(items):06d}", f"c{rnd.randrange(items):06d}"
        kind = rnd.choice(TYPES)
        row = {"ci": a, "type": kind, "target": b, "service": None, "origin": "bench", "mirrored": False}
        rows.append(row)
        if kind == "connects_to":
            rows.append({**row, "ci": b, "target": a, "mirrored": True})
    for i in range(0, items, 10):
        rows.append(
            {"ci": f"c{i:06d}", "type": "provides", "target": None, "service": f"s{i % 200}", "origin": "bench"}
            | {"mirrored": False}
        )
    return rows


def layered(items: int, relationships: int) -> list[dict[str, object]]:
    """A CMDB shaped like a data centre: racks, hosts on racks, virtual machines on hosts, applications
    on machines; the rest of the relationships are applications depending on others of their own
    cluster of 50 (a system's parts), and one application in ten providing one of 200 services."""
    rnd = random.Random(19)
    racks, hosts, vms = items // 100, items * 9 // 100, items * 30 // 100
    apps = items - racks - hosts - vms
    rows: list[dict[str, object]] = []

    def rel(a: int, kind: str, b: int) -> None:
        rows.append({"ci": f"c{a:06d}", "type": kind, "target": f"c{b:06d}", "service": None} | _BENCH)

    first_host, first_vm, first_app = racks, racks + hosts, racks + hosts + vms
    for h in range(first_host, first_vm):
        rel(h, "runs_on", rnd.randrange(racks))
    for v in range(first_vm, first_app):
        rel(v, "runs_on", first_host + rnd.randrange(hosts))
    for a in range(first_app, items):
        rel(a, "runs_on", first_vm + rnd.randrange(vms))
    while len(rows) < relationships:
        a = first_app + rnd.randrange(apps)
        cluster = (a - first_app) // 50 * 50 + first_app
        b = cluster + rnd.randrange(50)
        if b < items and b != a:
            rel(a, "depends_on", b)
    for i in range(first_app, items, 10):
        rows.append({"ci": f"c{i:06d}", "type": "provides", "target": None, "service": f"s{i % 200}"} | _BENCH)
    return rows


_BENCH = {"origin": "bench", "mirrored": False}


def load(engine: Engine, rows: list[dict[str, object]]) -> None:
    with engine.begin() as conn:
        for i in range(0, len(rows), 20_000):
            conn.execute(insert(t.ci_relationships), rows[i : i + 20_000])
    with engine.begin() as conn:
        conn.execute(text("ANALYZE"))


def bfs(up: dict[str, list[str]], provides: dict[str, list[str]], start: str, depth: int) -> tuple[int, int]:
    """The ceiling: the same walk (items and services within ``depth``) over dicts in memory."""
    seen = {start}
    frontier = [start]
    for _ in range(depth):
        nxt = []
        for ci in frontier:
            for other in up.get(ci, ()):
                if other not in seen:
                    seen.add(other)
                    nxt.append(other)
        frontier = nxt
    services = {s for ci in seen for s in provides.get(ci, ())}
    return len(seen), len(services)


_CTE = text(
    "WITH RECURSIVE reach(ci, target, d) AS ("
    " SELECT ci, target, 1 FROM ci_relationships WHERE target = :start"
    " UNION SELECT r.ci, r.target, reach.d + 1 FROM reach JOIN ci_relationships r ON r.target = reach.ci"
    " WHERE reach.d < :depth"
    ") SELECT ci, target, min(d) FROM reach GROUP BY ci, target"
)


def walk_cte(conn: Connection, ci: str, depth: int) -> tuple[list[tuple[str, int]], list[str], list[str]]:
    """The desk's walk as one recursive query (the same items, depths, services and cycles)."""
    dialect = "postgresql" if conn.dialect.name == "postgresql" else "sqlite"
    reached = {ci: 0}
    followed: dict[str, list[str]] = {}
    for other, target, d in conn.execute(_CTE, {"start": ci, "depth": depth}).cursor.fetchall():
        followed.setdefault(target, []).append(other)
        if other != ci and (other not in reached or d < reached[other]):
            reached[other] = d
    services = conn.execute(_SERVICES[dialect], {"ids": _ids(dialect, list(reached))}).scalars().all()
    items = sorted(reached.items(), key=lambda i: (i[1], i[0]))
    return items, sorted(services), sorted(on_cycles(followed))


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(p * len(ordered)))]


def measure(
    label: str, engine: Engine, rows: list[dict[str, object]], starts: list[str], depth: int, cte: bool = False
) -> None:
    load(engine, rows)
    up: dict[str, list[str]] = defaultdict(list)
    provides: dict[str, list[str]] = defaultdict(list)
    for r in rows:
        if r["target"] is not None:
            up[str(r["target"])].append(str(r["ci"]))
        else:
            provides[str(r["ci"])].append(str(r["service"]))
    sql_ms: list[float] = []
    cte_ms: list[float] = []
    reached: list[int] = []
    load0 = os.getloadavg()[0]
    cpu0 = time.process_time()
    with engine.connect() as conn:
        walk(conn, starts[0], depth)  # warm the cache
        for s in starts:
            t0 = time.perf_counter()
            items, _services, _cycles = walk(conn, s, depth)
            sql_ms.append((time.perf_counter() - t0) * 1000)
            reached.append(len(items))
        sql_cpu = (time.process_time() - cpu0) * 1000 / len(starts)
        if cte:
            assert walk_cte(conn, starts[0], depth) == walk(conn, starts[0], depth)
            for s in starts:
                t0 = time.perf_counter()
                walk(conn, s, depth)
                sql_ms.append((time.perf_counter() - t0) * 1000)
                t0 = time.perf_counter()
                walk_cte(conn, s, depth)
                cte_ms.append((time.perf_counter() - t0) * 1000)
    py_ms: list[float] = []
    for s in starts:
        t0 = time.perf_counter()
        bfs(up, provides, s, depth)
        py_ms.append((time.perf_counter() - t0) * 1000)
    loadavg = f"load {load0:.1f}-{os.getloadavg()[0]:.1f}"
    p99, c99 = percentile(sql_ms, 0.99), percentile(py_ms, 0.99)
    print(
        f"{label}: desk walk, depth {depth}:    p50 {statistics.median(sql_ms):6.1f} ms  p99 {p99:6.1f} ms"
        f"  (client CPU {sql_cpu:5.1f} ms a walk; {statistics.median(reached):,.0f} items reached, median; {loadavg})"
        f"  goal p99 <= 50 ms: {'met' if p99 <= 50 else 'NOT met'}"
    )
    if cte_ms:
        print(
            f"{label}: one recursive query:  p50 {statistics.median(cte_ms):6.1f} ms  p99 {percentile(cte_ms, 0.99):6.1f} ms"
            f"  (alternating with the desk's walk, whose figures above include those walks)"
        )
    print(
        f"{label}: Python BFS over the same rows:  p50 {statistics.median(py_ms):6.1f} ms  p99 {c99:6.1f} ms"
        f"  ratio of p99s (walk / BFS) {p99 / c99 if c99 else float('nan'):5.1f}x"
    )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    ap.add_argument("--items", type=int, default=100_000)
    ap.add_argument("--relationships", type=int, default=500_000)
    ap.add_argument("--walks", type=int, default=300)
    ap.add_argument("--depth", type=int, default=5)
    ap.add_argument("--shape", choices=("random", "layered"), help="one shape only (default: both, in one run)")
    ap.add_argument("--cte", action="store_true", help="also time the walk as one recursive query")
    args = ap.parse_args()
    for shape in [args.shape] if args.shape else ["random", "layered"]:
        run(shape, args.items, args.relationships, args.walks, args.depth, args.cte)


def run(shape: str, items: int, relationships: int, walks: int, depth: int, cte: bool = False) -> None:
    rows = (graph if shape == "random" else layered)(items, relationships)
    rnd = random.Random(3)
    starts = [f"c{rnd.randrange(items):06d}" for _ in range(walks)]
    print(
        f"impact walks over {items:,} items and {relationships:,} relationships, {shape} graph "
        f"({len(rows):,} rows), {walks} walks from random items"
    )
    with tempfile.TemporaryDirectory(prefix="itsm-bench-cmdb-") as tmp:
        measure("SQLite", open_engine(f"sqlite:///{Path(tmp) / 'itsm.db'}"), rows, starts, depth, cte)
    if find_pg_bin() is None:
        print("PostgreSQL: SKIPPED: server binaries (initdb, pg_ctl) not found; install PostgreSQL to measure this")
        return
    with PostgresCluster() as pg:
        measure("PostgreSQL", open_engine(pg.create_database("cmdb")), rows, starts, depth, cte)


if __name__ == "__main__":
    sys.exit(main())
