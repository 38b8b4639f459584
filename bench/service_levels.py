"""Service operations: working-time arithmetic, and the service-level sweep over many open demands.

Each figure is printed beside a ceiling measured in the same run:

- due dates: :meth:`WorkingCalendar.add` on a London calendar with England's holidays,
  beside the naive wall-clock computation (``start + timedelta``) that ignores working
  hours; the goal is at least 100,000 due dates a second;
- the sweep with nothing due over N open demands (what it costs every minute), beside
  counting the open clocks with one query;
- the sweep when all N are due (each breach a journey event and a message), beside the
  same writes made directly: one clock update and one event insert per demand.

Run: ``tox -e bench`` or ``python bench/service_levels.py [--n 2000]``.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

from common import best_of, rate, report, write_deployment
from sqlalchemy import func, insert, select, update

from itsmcore.builtin.service_levels import sweep
from itsmcore.calendars import WorkingCalendar
from itsmcore.desk import Desk
from itsmcore.store import tables as t

LEVELS = """
[calendars.london]
timezone = "Europe/London"
hours = "09:00-17:30"
country = "GB"
subdivision = "ENG"

[[service_levels]]
name = "incidents"
kinds = ["failure"]
response = "1h"
resolution = "1d"
"""

START = datetime(2026, 3, 2, 9, tzinfo=UTC)


def due_dates(n: int) -> tuple[float, float]:
    cal = WorkingCalendar("london", timezone="Europe/London", hours="09:00-17:30", country="GB", subdivision="ENG")
    starts = [START + timedelta(minutes=7 * i) for i in range(n)]  # across about a year of starts
    cal.add(starts[-1], 1)  # the years laid out once, as a running desk has them
    eight = 8 * 3600.0
    fast = best_of(3, lambda: rate(n, lambda i: cal.add(starts[i], eight)))
    delta = timedelta(hours=8)
    naive = best_of(3, lambda: rate(n, lambda i: starts[i] + delta))
    return fast, naive


def sweeps(n: int) -> list[str]:
    out = []
    with tempfile.TemporaryDirectory() as tmp:
        config = write_deployment(Path(tmp), services=LEVELS)
        now = [START]
        with Desk.open(config, entry_points=False, clock=lambda: now[0]) as desk:
            for i in range(n):
                desk.submit("failure", f"c{i % 1000}", f"demand {i}", channel="bench")
            with desk.engine.connect() as conn:
                opened = conn.execute(select(func.count()).select_from(t.service_level_clocks)).scalar_one()
            assert opened == 2 * n, opened

            def idle() -> float:
                t0 = time.perf_counter()
                result = sweep(desk, now=START + timedelta(minutes=1))
                assert result.due == 0
                return 1 / (time.perf_counter() - t0)

            def count() -> float:
                t0 = time.perf_counter()
                with desk.engine.connect() as conn:
                    conn.execute(
                        select(func.count())
                        .select_from(t.service_level_clocks)
                        .where(t.service_level_clocks.c.state == "running")
                    ).scalar_one()
                return 1 / (time.perf_counter() - t0)

            out.append(
                report(
                    f"sweep, nothing due, {n:,} open demands",
                    best_of(5, idle),
                    "sweeps/s",
                    "count(*)",
                    best_of(5, count),
                )
            )
            # everything due: the response and resolution targets of every demand have passed
            now[0] = START + timedelta(days=3)
            t0 = time.perf_counter()
            result = sweep(desk, now=now[0])
            swept = result.breaches / (time.perf_counter() - t0)
            assert result.breaches == 2 * n, result
            rows = [(d,) for d in range(1, n + 1)]
            t0 = time.perf_counter()
            for (demand_id,) in rows:
                with desk.engine.begin() as conn:
                    conn.execute(
                        update(t.service_level_clocks)
                        .where(t.service_level_clocks.c.demand_id == demand_id)
                        .values(warn_at=None)
                    )
                    conn.execute(
                        insert(t.journey_events).values(
                            demand_id=demand_id,
                            stage="fulfil",
                            channel="bench",
                            actor="system",
                            kind="note",
                            customer_sees="",
                            behind_scenes="ceiling",
                            effort=0,
                            at=now[0],
                        )
                    )
            ceiling = n / (time.perf_counter() - t0)
            out.append(report(f"sweep, all due, {n:,} open demands", swept, "breaches/s", "writes", ceiling))
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=2000, help="open demands for the sweep")
    parser.add_argument("--dates", type=int, default=200_000, help="due dates computed")
    args = parser.parse_args()
    fast, naive = due_dates(args.dates)
    print(report("due dates, London calendar with holidays", fast, "dates/s", "naive", naive))
    print(f"{'':<44} goal >= 100,000 dates/s: {'met' if fast >= 100_000 else 'NOT met'}")
    for line in sweeps(args.n):
        print(line)


if __name__ == "__main__":
    main()
