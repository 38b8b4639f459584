"""Intake throughput: demands per second through the desk, beside a SQLAlchemy Core ceiling.

The ceiling writes the same rows (one demand, its two journey events and its
acknowledgement job) one transaction per demand on the same kind of SQLite file with
the same pragmas, in the same run. Jobs are left to a deferred runner in both, so the
figure is intake alone; job execution is measured separately.

Run: ``tox -e bench`` or ``python bench/intake.py [--n 3000]``.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

from common import best_of, rate, report, write_deployment
from sqlalchemy import insert

from itsmcore.desk import Desk
from itsmcore.store import tables as t
from itsmcore.store.engine import open_engine


def core_ceiling(n: int) -> float:
    with tempfile.TemporaryDirectory() as tmp:
        engine = open_engine(f"sqlite:///{tmp}/ceiling.db")

        demand_insert = insert(t.demands)
        event_insert = insert(t.journey_events)
        job_insert = insert(t.jobs)

        def one(i: int) -> None:
            now = datetime.now(UTC)
            with engine.begin() as conn:
                did = conn.execute(
                    demand_insert,
                    {
                        "kind": "failure",
                        "state": "new",
                        "stage": "acknowledge",
                        "customer_id": f"c{i % 1000}",
                        "customer_role": "sales",
                        "customer_department": "Sales",
                        "service_key": None,
                        "channel": "bench",
                        "summary": f"demand {i}",
                        "details": "",
                        "answers": {},
                        "outputs": {},
                        "priority": 3,
                        "team": None,
                        "external_ref": None,
                        "caused_by": None,
                        "cause": None,
                        "announcement_id": None,
                        "self_service": False,
                        "created_at": now,
                        "updated_at": now,
                    },
                ).inserted_primary_key[0]
                conn.execute(
                    event_insert,
                    [
                        {
                            "demand_id": did,
                            "stage": "engage",
                            "channel": "bench",
                            "actor": "customer",
                            "kind": "submitted",
                            "customer_sees": f"You told us: demand {i}",
                            "behind_scenes": "received",
                            "effort": 1,
                            "at": now,
                        },
                        {
                            "demand_id": did,
                            "stage": "acknowledge",
                            "channel": "bench",
                            "actor": "system",
                            "kind": "acknowledged",
                            "customer_sees": "We have it",
                            "behind_scenes": "written",
                            "effort": 0,
                            "at": now,
                        },
                    ],
                )
                conn.execute(
                    job_insert,
                    {
                        "demand_id": did,
                        "customer_id": None,
                        "announcement_id": None,
                        "action": "notify",
                        "step": -1,
                        "params": {"purpose": "acknowledgement"},
                        "key": f"bench:{did}",
                        "state": "pending",
                        "attempts": 0,
                        "max_attempts": 5,
                        "run_after": now,
                        "created_at": now,
                    },
                )

        r = rate(n, one)
        engine.dispose()
        return r


def desk_intake(
    n: int, kind: str = "failure", service: str | None = None, answers: dict[str, str] | None = None, services: str = ""
) -> float:
    with tempfile.TemporaryDirectory() as tmp:
        config = write_deployment(Path(tmp), services=services)
        with Desk.open(config, entry_points=False) as desk:
            return rate(
                n,
                lambda i: desk.submit(
                    kind, f"c{(i * 2 + 1) % 1000}", f"demand {i}", service=service, answers=answers, channel="bench"
                ),
            )


def job_throughput(n: int) -> float:
    with tempfile.TemporaryDirectory() as tmp:
        config = write_deployment(Path(tmp))
        with Desk.open(config, entry_points=False) as desk:
            for i in range(n):
                desk.submit("failure", f"c{i % 1000}", f"demand {i}", channel="bench")
            import time

            t0 = time.perf_counter()
            ran = desk.run_due_jobs()
            return ran / (time.perf_counter() - t0)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--n", type=int, default=2000, help="demands per measurement")
    ap.add_argument("--runs", type=int, default=3, help="measurements per figure (median)")
    args = ap.parse_args()
    ceiling = best_of(args.runs, lambda: core_ceiling(args.n))
    intake = best_of(args.runs, lambda: desk_intake(args.n))
    print(f"intake on SQLite (WAL, synchronous=NORMAL), {args.n} demands, median of {args.runs}")
    print(report("desk.submit (failure demand)", intake, "demands/s", "| Core ceiling", ceiling, goal=0.5))
    jobs = best_of(args.runs, lambda: job_throughput(args.n))
    print(report("inline job execution (acknowledgements)", jobs, "jobs/s", "| Core ceiling", ceiling))


if __name__ == "__main__":
    main()
