"""The experience report over 1,000,000 journey events and 100,000 survey responses on SQLite.

Prints the seconds and peak memory (RSS) of ``experience_report`` and of the journey
map alone, beside the same journey-map aggregate written by hand as one raw SQL
query over the events, timed in the same run on the same file. Reports read the
journey rollup, which a refresh brings up to date with new events; its one-time
cost over all the events is printed on its own line. Goal: the experience report <= 2 s.
The data is written with Core executemany (this measures reading, not writing).
"""

from __future__ import annotations

import argparse
import json
import random
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
from sqlalchemy import text
config, mode, raw = sys.argv[1], sys.argv[2], sys.argv[3]
with Desk.open(config, entry_points=False) as desk:
    t0 = time.perf_counter()
    if mode == "refresh":
        n = refresh_rollup(desk)
    elif mode == "experience":
        r = experience_report(desk, Scope())
        n = r.overall.journeys
        first = time.perf_counter() - t0
        t0 = time.perf_counter()
        experience_report(desk, Scope())  # again, as a dashboard refreshing would
        n = first
    elif mode == "journeys":
        m, _ = journey_report(desk, Scope())
        n = m.journeys
    elif mode == "map":
        oi, _ = outside_in_report(desk, Scope(service="svc-a"), fresh=False)
        n = oi.as_is.journeys
    else:
        with desk.engine.connect() as conn:
            n = len(conn.execute(text(raw)).all())
    seconds = time.perf_counter() - t0
print(json.dumps({"seconds": seconds, "n": n, "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""


def measure(config: Path, mode: str) -> dict[str, float]:
    out = subprocess.run([sys.executable, "-c", CHILD, str(config), mode, RAW], capture_output=True, text=True)
    if out.returncode != 0:
        raise SystemExit(out.stderr)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--events", type=int, default=1_000_000)
    ap.add_argument("--surveys", type=int, default=100_000)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        config = write_deployment(Path(tmp), customers=10, services=SERVICES)
        t0 = time.perf_counter()
        populate(config, args.events, args.surveys)
        print(
            f"experience report over {args.events:,} journey events and {args.surveys:,} survey answers on SQLite "
            f"(written in {time.perf_counter() - t0:.0f} s; each figure measured in its own process)"
        )
        raw = measure(config, "raw")
        rollup = measure(config, "refresh")
        journeys = measure(config, "journeys")
        one_map = measure(config, "map")
        experience = measure(config, "experience")
    print(
        f"{'raw SQL: journey-map aggregate, one query':<46} {raw['seconds']:>6.2f} s  peak RSS {raw['peak_mb']:>5.0f} MB"
    )
    print(
        f"{'rollup refresh (once; later only new events)':<46} {rollup['seconds']:>6.2f} s  peak RSS "
        f"{rollup['peak_mb']:>5.0f} MB  ({rollup['n']:,} events folded in)"
    )
    print(
        f"{'journey_report (the same map, and more)':<46} {journeys['seconds']:>6.2f} s  peak RSS "
        f"{journeys['peak_mb']:>5.0f} MB  ratio to raw {journeys['seconds'] / raw['seconds']:.2f}x"
    )
    print(
        f"{'outside-in map of one service (svc-a)':<46} {one_map['seconds']:>6.2f} s  peak RSS "
        f"{one_map['peak_mb']:>5.0f} MB  ratio to raw {one_map['seconds'] / raw['seconds']:.2f}x  "
        f"(goal <= 0.5 s: {'met' if one_map['seconds'] <= 0.5 else 'NOT met'})"
    )
    print(
        f"{'experience_report (with trends), first':<46} {experience['n']:>6.2f} s  peak RSS "
        f"{experience['peak_mb']:>5.0f} MB  ratio to raw {experience['n'] / raw['seconds']:.2f}x  "
        f"(goal <= 2 s: {'met' if experience['n'] <= 2 else 'NOT met'})"
    )
    print(
        f"{'experience_report, again (warm cache)':<46} {experience['seconds']:>6.2f} s  "
        f"ratio to raw {experience['seconds'] / raw['seconds']:.2f}x  "
        f"(goal <= 2 s: {'met' if experience['seconds'] <= 2 else 'NOT met'})"
    )


if __name__ == "__main__":
    main()
