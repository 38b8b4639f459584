"""Inline job execution: notify jobs per second through the desk, beside a SQLAlchemy Core ceiling.

The desk side queues ``n`` acknowledgement jobs (failure demands taken in with a
deferred runner), then times ``Desk.run_due_jobs``: the claim of a batch of 50, and for
each job the message through the ``log`` channel (the portal inbox) and the job marked
done with its journey event. The ceiling makes the same row writes on the same kind of
SQLite file in the same run: one claim UPDATE per batch of 50 in its own transaction (a
lease must be durable before the work starts), then per job the message INSERT, the job
UPDATE and the event INSERT in a second one. What the desk does beyond that (reading the
demands, choosing the channel, the hooks) is the overhead the ratio shows. The same path is
then timed with every customer reading French (their message and its links rendered through
the French catalog), beside the English run: the cost of a translated catalog (goal: at most 5 %).

Run: ``tox -e bench`` or ``python bench/jobs.py [--n 2000]``.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).parent))

from common import CEILING_DONE, best_of, ceiling_claim, report, write_deployment
from sqlalchemy import Engine, insert

from itsmcore.desk import Desk
from itsmcore.jobs import LEASE
from itsmcore.store import tables as t
from itsmcore.store.engine import open_engine

BATCH = 50  # as Desk.run_due_jobs claims


def _seed(engine: Engine, n: int) -> list[int]:
    """``n`` demands, each with one pending acknowledgement job; returns the job ids."""
    now = datetime.now(UTC)
    with engine.begin() as conn:
        conn.execute(
            insert(t.demands),
            [
                {
                    "id": i + 1,
                    "kind": "failure",
                    "state": "new",
                    "stage": "acknowledge",
                    "customer_id": f"c{i % 1000}",
                    "channel": "bench",
                    "summary": f"demand {i}",
                    "details": "",
                    "answers": {},
                    "outputs": {},
                    "priority": 3,
                    "self_service": False,
                    "created_at": now,
                    "updated_at": now,
                }
                for i in range(n)
            ],
        )
        conn.execute(
            insert(t.jobs),
            [
                {
                    "id": i + 1,
                    "demand_id": i + 1,
                    "action": "notify",
                    "step": -1,
                    "params": {"purpose": "acknowledgement", "subject": "We have it", "text": "We have it"},
                    "key": f"bench:{i}",
                    "state": "pending",
                    "attempts": 0,
                    "max_attempts": 5,
                    "run_after": now,
                    "created_at": now,
                }
                for i in range(n)
            ],
        )
    return list(range(1, n + 1))


def core_ceiling(n: int) -> float:
    with tempfile.TemporaryDirectory() as tmp:
        engine = open_engine(f"sqlite:///{tmp}/ceiling.db")
        ids = _seed(engine, n)
        claim = ceiling_claim(BATCH, t.jobs.c.id, t.jobs.c.demand_id)
        message = insert(t.messages)
        done = CEILING_DONE
        event = insert(t.journey_events)
        t0 = time.perf_counter()
        ran = 0
        while True:
            now = datetime.now(UTC)
            with engine.begin() as conn:
                rows = sorted(conn.execute(claim, {"b_now": now, "b_lease": now + LEASE}).all())
            if not rows:
                break
            for row in rows:
                _finish(engine, message, done, event, row.id, row.demand_id)
                ran += 1
        assert ran == len(ids)
        r = n / (time.perf_counter() - t0)
        engine.dispose()
        return r


def _finish(engine: Engine, message: Any, done: Any, event: Any, jid: int, demand_id: int) -> None:
    """The second transaction of a job: its message, the job marked done, its journey event."""
    now = datetime.now(UTC)
    with engine.begin() as conn:
        conn.execute(
            message,
            {
                "demand_id": demand_id,
                "job_id": jid,
                "channel": "log",
                "customer_id": "c1",
                "address": "c1",
                "purpose": "acknowledgement",
                "subject": "We have it",
                "body": "We have it",
                "reference": f"bench:{jid}",
                "fallback": False,
                "at": now,
            },
        )
        conn.execute(done, {"b_id": jid, "b_now": now, "b_result": {"customer_sees": "We have it"}})
        conn.execute(
            event,
            {
                "demand_id": demand_id,
                "stage": "acknowledge",
                "channel": "log",
                "actor": "system",
                "kind": "notification",
                "customer_sees": "We have it",
                "behind_scenes": "acknowledgement sent by log to c1",
                "effort": 0,
                "at": now,
            },
        )


def desk_jobs(n: int, language: str | None = None) -> float:
    """Notify jobs per second through the desk; with ``language`` every customer chose that language."""
    with tempfile.TemporaryDirectory() as tmp:
        config = write_deployment(Path(tmp), runner="deferred")
        with Desk.open(config, entry_points=False) as desk:
            if language:
                for i in range(min(n, 1000)):
                    desk.set_preferences(f"c{i}", by="bench", language=language)
            for i in range(n):
                desk.submit("failure", f"c{i % 1000}", f"demand {i}", channel="bench")
            t0 = time.perf_counter()
            ran = desk.run_due_jobs()
            elapsed = time.perf_counter() - t0
            assert ran == n, f"ran {ran} of {n} jobs"
            return ran / elapsed


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--n", type=int, default=2000, help="jobs per measurement")
    ap.add_argument("--runs", type=int, default=3, help="measurements per figure (median)")
    args = ap.parse_args()
    ceiling = best_of(args.runs, lambda: core_ceiling(args.n))
    jobs = best_of(args.runs, lambda: desk_jobs(args.n))
    english = best_of(args.runs, lambda: desk_jobs(args.n, language="en"))
    french = best_of(args.runs, lambda: desk_jobs(args.n, language="fr"))
    print(f"inline job execution on SQLite (WAL, synchronous=NORMAL), {args.n} notify jobs, median of {args.runs}")
    print(report("desk.run_due_jobs (acknowledgements, log)", jobs, "jobs/s", "| Core ceiling", ceiling))
    # customers who chose a language (their preferences stored): English, then French, where the
    # message and its links go through the French catalog; the ratio is the catalog's cost
    print(report("  every customer chose English", english, "jobs/s", "| Core ceiling", ceiling))
    print(report("  every customer chose French", french, "jobs/s", "| English", english, goal=0.95))


if __name__ == "__main__":
    main()
