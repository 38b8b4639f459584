"""The experience report over 1,000,000 journey events and 100,000 survey responses on SQLite.

What is measured, each figure in a process of its own, ``--repeat`` times (3), over the
same file: the journey-map aggregate written by hand as one raw SQL query over the events
(the peer every other figure is set beside, as a ratio); the first journey-rollup refresh
(the rollup emptied before each run, so each run builds it from every event: the one-time
cost after an upgrade); ``journey_report``; the outside-in map of one service; and
``experience_report`` with its trends, the first call in a process and a second one.
Each line gives the best and the median wall seconds, the best CPU seconds of the
measuring process (a busy machine slows the wall clock, not the CPU seconds; on
PostgreSQL the server's CPU is not in them), the peak memory (RSS) and the load average
when the figure was measured. A goal is judged on the best wall seconds.

Goals: the first refresh <= 5 s per million events, the experience report <= 2 s, the
outside-in map of one service <= 0.5 s. ``--database postgresql`` (or ``both``) measures on
a throwaway PostgreSQL cluster too. The data is written with Core executemany (this
measures reading, not writing).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

from common import write_deployment

STAGES = ["discover", "engage", "acknowledge", "fulfil", "outcome", "confirm", "feedback"]
SERVICES = """
[[services]]
key = "svc-a"
name = "Service A"

[[services]]
key = "svc-b"
name = "Service B"

[[services]]
key = "svc-c"
name = "Service C"
"""

RAW = """
WITH ev AS (
  SELECT e.demand_id, e.stage, MIN((julianday(e.at) - 2440587.5) * 86400.0) AS entered
  FROM journey_events e JOIN demands d ON d.id = e.demand_id
  GROUP BY e.demand_id, e.stage
), seq AS (
  SELECT stage, LEAD(entered) OVER (PARTITION BY demand_id ORDER BY entered) - entered AS secs FROM ev
), ranked AS (
  SELECT stage, secs, ROW_NUMBER() OVER (PARTITION BY stage ORDER BY secs) AS rn,
         COUNT(*) OVER (PARTITION BY stage) AS n
  FROM seq WHERE secs IS NOT NULL
)
SELECT stage, rn, n, secs FROM ranked WHERE rn = (n * 50 + 99) / 100 OR rn = (n * 90 + 99) / 100
"""


def populate(config: Path, events: int, surveys: int) -> None:
    """Demands with 8 events each (7 stages, one comment), and survey answers, in bulk."""
    from sqlalchemy import insert

    from itsmcore.desk import Desk
    from itsmcore.store import tables as t

    rnd = random.Random(3)
    n_demands = events // 8
    start = datetime(2026, 1, 5, 9, tzinfo=UTC)
    with Desk.open(config, entry_points=False) as desk, desk.engine.begin() as conn:
        for base in range(0, n_demands, 5000):
            demands, evs = [], []
            for i in range(base, min(n_demands, base + 5000)):
                created = start + timedelta(minutes=i * 1.3)
                resolved = created + timedelta(hours=rnd.expovariate(1 / 30))
                demands.append(
                    {
                        "id": i + 1,
                        "kind": rnd.choice(["value", "value", "failure", "information"]),
                        "state": "closed",
                        "stage": "feedback",
                        "customer_id": f"c{rnd.randrange(1000)}",
                        "customer_role": "staff",
                        "customer_department": rnd.choice(["Sales", "Finance", "IT"]),
                        "service_key": rnd.choice(["svc-a", "svc-b", "svc-c"]),
                        "channel": rnd.choice(["portal", "email", "phone"]),
                        "summary": "bench",
                        "details": "",
                        "answers": {},
                        "outputs": {},
                        "priority": 3,
                        "self_service": False,
                        "created_at": created,
                        "updated_at": resolved,
                        "resolved_at": resolved,
                        "cause": rnd.choice([None, None, None, "chase", "repeat"]),
                    }
                )
                at = created
                for j, stage in enumerate(STAGES):
                    at += timedelta(minutes=rnd.expovariate(1 / (30 * (j + 1))))
                    evs.append(
                        {
                            "demand_id": i + 1,
                            "stage": stage,
                            "channel": "portal",
                            "actor": "customer" if j in (1, 6) else "system",
                            "kind": "submitted" if j == 1 else "step",
                            "customer_sees": "",
                            "behind_scenes": "",
                            "effort": 1 if j in (1, 6) else 0,
                            "at": at,
                        }
                    )
                evs.append(
                    {
                        "demand_id": i + 1,
                        "stage": "fulfil",
                        "channel": "email",
                        "actor": "customer",
                        "kind": "comment",
                        "customer_sees": "",
                        "behind_scenes": "",
                        "effort": 1,
                        "at": at,
                    }
                )
            conn.execute(insert(t.demands), demands)
            conn.execute(insert(t.journey_events), evs)
        rows = []
        for k in range(surveys):
            did = rnd.randrange(1, n_demands + 1)
            rows.append(
                {
                    "method": "nps",
                    "customer_id": f"c{rnd.randrange(1000)}",
                    "score": rnd.randint(0, 10),
                    "comment": "too slow" if k % 50 == 0 else "",
                    "demand_id": did,
                    "service_key": rnd.choice(["svc-a", "svc-b", "svc-c"]),
                    "channel": "email",
                    "mode": "transactional",
                    "at": start + timedelta(minutes=did * 1.3 + 600),
                }
            )
            if len(rows) == 10000:
                conn.execute(insert(t.survey_responses), rows)
                rows = []
        if rows:
            conn.execute(insert(t.survey_responses), rows)


CHILD = r"""
import json, resource, sys, time
from itsmcore.desk import Desk
from itsmcore.reports import Scope, experience_report, journey_report, outside_in_report, refresh_rollup
from sqlalchemy import delete, text
from itsmcore.store import tables as t
config, mode, raw = sys.argv[1], sys.argv[2], sys.argv[3]
with Desk.open(config, entry_points=False) as desk:
    if mode == "refresh":  # empty the rollup first (not timed): each run is a first refresh
        with desk.engine.begin() as conn:
            if conn.dialect.name == "postgresql":
                conn.execute(text("TRUNCATE journey_days, journey_totals, journey_stages"))
            else:
                for table in (t.journey_days, t.journey_totals, t.journey_stages):
                    conn.execute(delete(table))
            conn.execute(delete(t.report_state).where(t.report_state.c.name == "journey_stages"))
    t0, c0 = time.perf_counter(), time.process_time()
    if mode == "refresh":
        n = refresh_rollup(desk)
    elif mode == "experience":
        r = experience_report(desk, Scope())
        n = r.overall.journeys
    elif mode == "experience-again":
        experience_report(desk, Scope())
        t0, c0 = time.perf_counter(), time.process_time()
        experience_report(desk, Scope())  # again, as a dashboard refreshing would
        n = 0
    elif mode == "journeys":
        m, _ = journey_report(desk, Scope())
        n = m.journeys
    elif mode == "map":
        oi, _ = outside_in_report(desk, Scope(service="svc-a"), fresh=False)
        n = oi.as_is.journeys
    else:
        with desk.engine.connect() as conn:
            n = len(conn.execute(text(raw)).all())
    seconds, cpu = time.perf_counter() - t0, time.process_time() - c0
print(json.dumps({"seconds": seconds, "cpu": cpu, "n": n, "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""


def measure_once(config: Path, mode: str, raw: str) -> dict[str, float]:
    out = subprocess.run([sys.executable, "-c", CHILD, str(config), mode, raw], capture_output=True, text=True)
    if out.returncode != 0:
        raise SystemExit(out.stderr)
    return json.loads(out.stdout.strip().splitlines()[-1])


def measure(config: Path, mode: str, raw: str, repeat: int) -> dict[str, float]:
    """``repeat`` runs of one figure: best and median wall seconds, best CPU seconds, peak RSS, load average."""
    load = os.getloadavg()[0]
    runs = [measure_once(config, mode, raw) for _ in range(repeat)]
    walls = sorted(r["seconds"] for r in runs)
    return {
        "seconds": walls[0],
        "median": statistics.median(walls),
        "cpu": min(r["cpu"] for r in runs),
        "peak_mb": max(r["peak_mb"] for r in runs),
        "n": runs[0]["n"],
        "load": max(load, os.getloadavg()[0]),
    }


def run(root: Path, database: str, label: str, events: int, surveys: int, repeat: int) -> None:
    """Populate ``database`` and print each figure beside the raw SQL aggregate measured in the same run."""
    config = write_deployment(root, customers=10, services=SERVICES, database=database)
    t0 = time.perf_counter()
    populate(config, events, surveys)
    print(
        f"experience report over {events:,} journey events and {surveys:,} survey answers on {label} "
        f"(written in {time.perf_counter() - t0:.0f} s; each figure: best and median wall seconds of {repeat} runs, "
        f"each in its own process; cpu: the best run's CPU seconds of that process, the database server's not "
        f"counted; load: the 1-minute load average while measuring)"
    )
    raw_sql = (
        RAW if label == "SQLite" else RAW.replace("(julianday(e.at) - 2440587.5) * 86400.0", "extract(epoch from e.at)")
    )
    raw = measure(config, "raw", raw_sql, repeat)
    rollup = measure(config, "refresh", raw_sql, repeat)
    journeys = measure(config, "journeys", raw_sql, repeat)
    one_map = measure(config, "map", raw_sql, repeat)
    experience = measure(config, "experience", raw_sql, repeat)
    again = measure(config, "experience-again", raw_sql, repeat)
    per_million = rollup["seconds"] * 1_000_000 / max(1, events)
    cpu_per_million = rollup["cpu"] * 1_000_000 / max(1, events)

    def line(name: str, m: dict[str, float], goal: str = "") -> None:
        print(
            f"{name:<46} {m['seconds']:>6.2f} s (median {m['median']:>5.2f})  cpu {m['cpu']:>5.2f} s  "
            f"peak RSS {m['peak_mb']:>4.0f} MB  load {m['load']:>4.1f}  ratio to raw {m['seconds'] / raw['seconds']:.2f}x"
            f"{goal}"
        )

    def verdict(seconds: float, ceiling: float) -> str:
        return "met" if seconds <= ceiling else "NOT met"

    line("raw SQL: journey-map aggregate, one query", raw)
    line(
        "rollup refresh, the first (later: new events)",
        rollup,
        f"  ({rollup['n']:,} events; {per_million:.2f} s, cpu {cpu_per_million:.2f} s per million; "
        f"goal <= 5 s: {verdict(per_million, 5)})",
    )
    line("journey_report (the same map, and more)", journeys)
    line("outside-in map of one service (svc-a)", one_map, f"  (goal <= 0.5 s: {verdict(one_map['seconds'], 0.5)})")
    line("experience_report (with trends), first", experience, f"  (goal <= 2 s: {verdict(experience['seconds'], 2)})")
    line("experience_report, again (warm cache)", again, f"  (goal <= 2 s: {verdict(again['seconds'], 2)})")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--events", type=int, default=1_000_000, help="journey events to write (8 per demand)")
    ap.add_argument("--surveys", type=int, default=100_000, help="survey answers to write")
    ap.add_argument("--repeat", type=int, default=3, help="runs of each figure (best and median are printed)")
    ap.add_argument(
        "--database",
        choices=["sqlite", "postgresql", "both"],
        default="sqlite",
        help="Where to measure; PostgreSQL runs on a throwaway cluster on 127.0.0.1 (skipped, saying so, without it).",
    )
    args = ap.parse_args()
    print(f"cores: {os.cpu_count()}, load average: {' '.join(f'{x:.1f}' for x in os.getloadavg())}")
    if args.database in ("sqlite", "both"):
        with tempfile.TemporaryDirectory() as tmp:
            run(Path(tmp), "sqlite:///itsm.db", "SQLite", args.events, args.surveys, max(1, args.repeat))
    if args.database in ("postgresql", "both"):
        from itsmcore.testing.postgres import PostgresCluster, find_pg_bin

        if find_pg_bin() is None:
            print("PostgreSQL: skipped, no PostgreSQL binaries found (apt-get install postgresql-15)")
            return
        with tempfile.TemporaryDirectory() as tmp, PostgresCluster() as pg:
            run(Path(tmp), pg.create_database("reports"), "PostgreSQL", args.events, args.surveys, max(1, args.repeat))


if __name__ == "__main__":
    main()
