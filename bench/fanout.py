"""Announcement fan-out to 100,000 subscribers on SQLite.

Measures the seconds until every notification job is durably written and the peak
memory (RSS) of the process, beside the ceiling: Core ``executemany`` of the same
audience and job rows, in the same run. Goal: <= 3 s and <= 200 MB.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

from common import write_deployment

CHILD = r"""
import json, resource, sys, time
from datetime import UTC, datetime
from sqlalchemy import insert, func, select
from itsmcore.desk import Desk
from itsmcore.store import tables as t

config, n, mode = sys.argv[1], int(sys.argv[2]), sys.argv[3]
with Desk.open(config, entry_points=False) as desk:
    now = datetime.now(UTC)
    rows = ({"service_key": "crm", "customer_id": f"s{i:07d}", "source": "explicit", "active": True, "since": now} for i in range(n))
    with desk.engine.begin() as conn:
        batch = []
        for r in rows:
            batch.append(r)
            if len(batch) == 10000:
                conn.execute(insert(t.subscriptions), batch); batch = []
        if batch:
            conn.execute(insert(t.subscriptions), batch)
    base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    t0 = time.perf_counter()
    if mode == "desk":
        ann = desk.open_announcement("crm", "The CRM does not load", workaround="Use the mobile app")
        # a worker runs the fan-out batches (each writes its audience and jobs, then queues the next)
        while True:
            with desk.engine.connect() as conn:
                batch = conn.execute(select(t.jobs.c.id).where(t.jobs.c.action == "itsm.fanout", t.jobs.c.state == "pending")).scalars().all()
            if not batch:
                break
            for jid in batch:
                if desk.claim(jid):
                    desk.execute_job(jid)
        with desk.engine.connect() as conn:
            jobs = conn.execute(select(func.count()).select_from(t.jobs).where(t.jobs.c.announcement_id == ann.id, t.jobs.c.action == "notify")).scalar_one()
    else:
        aid = 1
        with desk.engine.begin() as conn:
            conn.execute(insert(t.announcements).values(id=aid, service_key="crm", title="x", description="", workaround="", workaround_links=[], estimate="", state="open", source="bench", resolution="", opened_at=now, updated_at=now))
        ids = [f"s{i:07d}" for i in range(n)]
        for start in range(0, n, 5000):
            chunk = ids[start:start + 5000]
            with desk.engine.begin() as conn:
                conn.execute(insert(t.announcement_customers), [{"announcement_id": aid, "customer_id": c, "subscriber": True, "affected": False} for c in chunk])
                conn.execute(insert(t.jobs), [{"announcement_id": aid, "customer_id": c, "action": "notify", "step": -1, "params": {"purpose": "announcement"}, "key": f"a:{aid}:{c}", "state": "pending", "attempts": 0, "max_attempts": 5, "run_after": now, "created_at": now} for c in chunk])
        jobs = n
    seconds = time.perf_counter() - t0
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print(json.dumps({"seconds": seconds, "jobs": jobs, "peak_mb": peak / 1024, "base_mb": base / 1024}))
"""

CONFIG_EXTRA = """
[runner]
use = "deferred"

[[services]]
key = "crm"
name = "CRM"
kind = "failure"
"""


def run(mode: str, n: int) -> dict[str, float]:
    with tempfile.TemporaryDirectory() as tmp:
        config = write_deployment(
            Path(tmp),
            customers=10,
            services=CONFIG_EXTRA.replace('[runner]\nuse = "deferred"\n', ""),
            runner="deferred",
        )
        out = subprocess.run(
            [sys.executable, "-c", CHILD, str(config), str(n), mode], capture_output=True, text=True, check=True
        )
        return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--n", type=int, default=100_000)
    args = ap.parse_args()
    desk = run("desk", args.n)
    ceiling = run("ceiling", args.n)
    assert desk["jobs"] == args.n, desk
    print(f"announcement fan-out to {args.n:,} subscribers on SQLite (each process measured alone)")
    print(
        f"{'desk.open_announcement (deferred runner)':<44} {desk['seconds']:>7.2f} s  peak RSS {desk['peak_mb']:>6.0f} MB "
        f"| Core executemany ceiling {ceiling['seconds']:.2f} s, peak {ceiling['peak_mb']:.0f} MB  "
        f"ratio {ceiling['seconds'] / desk['seconds']:6.1%}  (goal <= 3 s and <= 200 MB: "
        f"{'met' if desk['seconds'] <= 3 and desk['peak_mb'] <= 200 else 'NOT met'})"
    )
    _ = (resource, time, datetime, UTC)


if __name__ == "__main__":
    main()
