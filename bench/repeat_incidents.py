"""The repeat-incidents report over 100,000 incidents on SQLite.

Prints the seconds of :func:`itsmcore.reports.repeats.repeat_incidents` (incidents grouped
by service and configuration item, the ones no problem covers counted, suggestions made)
beside the same grouping written by hand as one raw SQL query (``GROUP BY`` the service and
the device answer, with the unlinked count) timed in the same run on the same file, as a
ratio. Goal: the report <= 2 s over 100,000 incidents. The data is written with Core
executemany (this measures reading, not writing): 20 services, one incident in four naming
a device (one of 500), one in twenty linked to one of 50 problems.

Run: ``tox -e bench`` or ``python bench/repeat_incidents.py [--incidents 100000]``.
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

from common import write_deployment

SERVICES = '\n[asks.device]\ntype = "device"\nlabel = "Which device"\n' + "".join(
    f'\n[[services]]\nkey = "svc-{i}"\nname = "Service {i}"\nkind = "failure"\nasks = ["device"]\n' for i in range(20)
)

RAW = """
SELECT d.service_key, json_extract(d.answers, '$.device') AS ci, COUNT(*),
       SUM(CASE WHEN l.demand_id IS NULL THEN 1 ELSE 0 END), MIN(d.created_at), MAX(d.created_at)
FROM demands d LEFT JOIN (SELECT DISTINCT demand_id FROM problem_links WHERE demand_id IS NOT NULL) l
  ON l.demand_id = d.id
WHERE d.kind = 'failure'
GROUP BY d.service_key, ci
"""


def populate(config: Path, incidents: int) -> None:
    from sqlalchemy import insert

    from itsmcore.desk import Desk
    from itsmcore.store import tables as t

    rnd = random.Random(5)
    start = datetime(2026, 1, 5, 9, tzinfo=UTC)
    with Desk.open(config, entry_points=False) as desk, desk.engine.begin() as conn:
        now = start
        conn.execute(
            insert(t.problems),
            [
                {
                    "id": p + 1,
                    "title": f"problem {p}",
                    "description": "",
                    "services": [f"svc-{p % 20}"],
                    "cis": [],
                    "root_cause": "",
                    "workaround": "",
                    "state": "investigating",
                    "resolution": "",
                    "opened_by": "bench",
                    "opened_at": now,
                    "updated_at": now,
                }
                for p in range(50)
            ],
        )
        for base in range(0, incidents, 5000):
            rows, links = [], []
            for i in range(base, min(incidents, base + 5000)):
                created = start + timedelta(minutes=i)
                device = f"ci-phone-{rnd.randrange(500)}" if rnd.random() < 0.25 else None
                rows.append(
                    {
                        "id": i + 1,
                        "kind": "failure",
                        "state": rnd.choice(["new", "in_progress", "resolved", "closed"]),
                        "stage": "fulfil",
                        "customer_id": f"c{rnd.randrange(1000)}",
                        "service_key": f"svc-{rnd.randrange(20)}",
                        "channel": "portal",
                        "summary": "bench",
                        "details": "",
                        "answers": {"device": device} if device else {},
                        "outputs": {},
                        "priority": 3,
                        "self_service": False,
                        "created_at": created,
                        "updated_at": created,
                    }
                )
                if rnd.random() < 0.05:
                    links.append(
                        {"problem_id": rnd.randrange(50) + 1, "demand_id": i + 1, "other_service": False}
                        | {"linked_by": "bench", "linked_at": created}
                    )
            conn.execute(insert(t.demands), rows)
            if links:
                conn.execute(insert(t.problem_links), links)


def timed(fn: object, runs: int = 3) -> tuple[float, float]:
    """Median wall and CPU seconds of ``fn()`` over ``runs`` runs."""
    walls, cpus = [], []
    for _ in range(runs):
        w, c = time.perf_counter(), time.process_time()
        fn()  # type: ignore[operator]
        walls.append(time.perf_counter() - w)
        cpus.append(time.process_time() - c)
    return statistics.median(walls), statistics.median(cpus)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--incidents", type=int, default=100_000)
    args = parser.parse_args()

    from sqlalchemy import text

    from itsmcore.desk import Desk
    from itsmcore.reports import Scope
    from itsmcore.reports.repeats import repeat_incidents

    with tempfile.TemporaryDirectory() as tmp:
        config = write_deployment(Path(tmp), services=SERVICES)
        populate(config, args.incidents)
        with Desk.open(config, entry_points=False) as desk:
            report = repeat_incidents(desk, Scope())
            wall, cpu = timed(lambda: repeat_incidents(desk, Scope()))

            def raw() -> None:
                with desk.engine.connect() as conn:
                    conn.execute(text(RAW)).all()

            raw_wall, raw_cpu = timed(raw)
        groups = len(report.groups)
        print(f"repeat-incidents report, {args.incidents:,} incidents on SQLite ({groups:,} groups)")
        print(
            f"  report {wall:8.3f} s (cpu {cpu:.3f} s)   raw GROUP BY {raw_wall:8.3f} s (cpu {raw_cpu:.3f} s)"
            f"   ratio {wall / raw_wall if raw_wall else float('nan'):.1f}x"
            f"   (goal <= 2 s: {'met' if wall <= 2 else 'NOT met'})"
        )


if __name__ == "__main__":
    main()
