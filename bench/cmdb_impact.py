"""Impact walks over a CMDB of 100,000 configuration items and 500,000 relationships.

The figure is the desk's walk (:func:`itsmcore.desk.cmdb.walk`: breadth first, one query a
level, each item expanded once, the cycles named) from a random item, depth 5,
on SQLite and PostgreSQL: its p50 and p99 latency and the client's CPU time a walk, beside
a plain Python breadth-first search over the same rows held in a dict (the ceiling: no
database at all) measured in the same run. The goal is p99 <= 50 ms at depth 5.

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
import random
import statistics
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

from sqlalchemy import Engine, insert, text

from itsmcore.desk.cmdb import walk
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


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(p * len(ordered)))]


def measure(label: str, engine: Engine, rows: list[dict[str, object]], starts: list[str], depth: int) -> None:
    load(engine, rows)
    up: dict[str, list[str]] = defaultdict(list)
    provides: dict[str, list[str]] = defaultdict(list)
    for r in rows:
        if r["target"] is not None:
            up[str(r["target"])].append(str(r["ci"]))
        else:
            provides[str(r["ci"])].append(str(r["service"]))
    sql_ms: list[float] = []
    reached: list[int] = []
    cpu0 = time.process_time()
    with engine.connect() as conn:
        walk(conn, starts[0], depth)  # warm the cache
        for s in starts:
            t0 = time.perf_counter()
            items, _services, _cycles = walk(conn, s, depth)
            sql_ms.append((time.perf_counter() - t0) * 1000)
            reached.append(len(items))
    sql_cpu = (time.process_time() - cpu0) * 1000 / len(starts)
    py_ms: list[float] = []
    for s in starts:
        t0 = time.perf_counter()
        bfs(up, provides, s, depth)
        py_ms.append((time.perf_counter() - t0) * 1000)
    p99, c99 = percentile(sql_ms, 0.99), percentile(py_ms, 0.99)
    print(
        f"{label}: desk walk, depth {depth}:    p50 {statistics.median(sql_ms):6.1f} ms  p99 {p99:6.1f} ms"
        f"  (client CPU {sql_cpu:5.1f} ms a walk; {statistics.median(reached):,.0f} items reached, median)"
        f"  goal p99 <= 50 ms: {'met' if p99 <= 50 else 'NOT met'}"
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
    args = ap.parse_args()
    for shape in [args.shape] if args.shape else ["random", "layered"]:
        run(shape, args.items, args.relationships, args.walks, args.depth)


def run(shape: str, items: int, relationships: int, walks: int, depth: int) -> None:
    rows = (graph if shape == "random" else layered)(items, relationships)
    rnd = random.Random(3)
    starts = [f"c{rnd.randrange(items):06d}" for _ in range(walks)]
    print(
        f"impact walks over {items:,} items and {relationships:,} relationships, {shape} graph "
        f"({len(rows):,} rows), {walks} walks from random items"
    )
    with tempfile.TemporaryDirectory(prefix="itsm-bench-cmdb-") as tmp:
        measure("SQLite", open_engine(f"sqlite:///{Path(tmp) / 'itsm.db'}"), rows, starts, depth)
    if find_pg_bin() is None:
        print("PostgreSQL: SKIPPED: server binaries (initdb, pg_ctl) not found; install PostgreSQL to measure this")
        return
    with PostgresCluster() as pg:
        measure("PostgreSQL", open_engine(pg.create_database("cmdb")), rows, starts, depth)


if __name__ == "__main__":
    sys.exit(main())
