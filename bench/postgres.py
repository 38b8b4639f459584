"""Scaling on PostgreSQL without Celery: intake and job throughput with 1, 2 and 4 processes.

A throwaway PostgreSQL cluster is started on 127.0.0.1 for the run (fsync off: the
figures are CPU and round trips, not disk). For each number of processes:

* value-demand intake: each process calls ``Desk.submit`` for a one-step value service
  (``[runner] use = "deferred"``, so intake is measured alone), beside the Core-insert
  ceiling: the same demand, journey-event and job rows (copied from a demand the desk
  wrote) inserted with SQLAlchemy Core, one transaction per demand, by as many processes;
* job throughput: each process is a plain worker, ``Desk.run_due_jobs()`` as
  ``itsm jobs run --watch`` runs it (batches of 50 claimed with FOR UPDATE SKIP LOCKED),
  over notification jobs through the ``log`` channel, beside the Core ceiling: the same
  batch claim in its own transaction, then per job the message insert and the done
  update in one transaction, by as many processes.

Each process opens its desk or engine once, before any clock starts; a round is timed
from the moment all are released to the end of the last one. Rounds of the desk and of
its ceiling alternate and each figure is the median of its rounds, so a burst of other
work on the machine hits both. The database, the Python processes and this script share
the machine's cores, so the curve flattens once they are busy: the cores and the load
average are printed first.

Run: ``tox -e bench`` or ``python bench/postgres.py [--demands 1000] [--jobs 1500] [--rounds 3] [--procs 1,2,4]``.
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import os
import statistics
import sys
import tempfile
import time
import traceback
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from multiprocessing.queues import Queue
from multiprocessing.synchronize import Barrier
from pathlib import Path
from typing import Any, Protocol

sys.path.insert(0, str(Path(__file__).parent))

import attrs
from common import CEILING_DONE, ceiling_claim, write_deployment
from sqlalchemy import Engine, func, insert, select

from itsmcore.desk import Desk
from itsmcore.jobs import LEASE
from itsmcore.store import tables as t
from itsmcore.store.engine import open_engine
from itsmcore.testing.postgres import PostgresCluster, find_pg_bin

BATCH = 50  # as Desk.run_due_jobs claims
CUSTOMERS = 1000
SERVICE = """
[[services]]
key = "handbook"
name = "Staff handbook"
description = "The staff handbook, sent as a link."
plan = [{ action = "notify.send_link", url = "https://intranet.example/handbook", title = "Open the handbook" }]
"""

Row = dict[str, Any]


# ----------------------------------------------------------------------------- timing across processes


class Work(Protocol):
    """What a measured process does: set up in ``__init__``, each ``run`` timed (returns items done), ``close``."""

    def run(self) -> int: ...

    def close(self) -> None: ...


def _child(
    make: Callable[..., Work],
    args: tuple[Any, ...],
    go: Queue[bool],
    ready: Barrier,
    out: Queue[tuple[Any, ...]],
) -> None:
    try:
        work = make(*args)
    except BaseException:
        out.put(("error", traceback.format_exc()))
        return
    out.put(("ready",))
    try:
        while go.get():
            ready.wait()
            start = time.monotonic()  # CLOCK_MONOTONIC: one clock for every process on the machine
            try:
                out.put(("ok", work.run(), start, time.monotonic()))
            except BaseException:
                out.put(("error", traceback.format_exc()))
    finally:
        work.close()


class Team:
    """Processes that set up once (open a desk or an engine), then run timed rounds together on request.

    A round is timed from the moment every process is released to the end of the last
    one, so process start-up and imports stay out of the figures, and rounds of two
    teams can alternate (a burst of other load on the machine then hits both alike).
    """

    def __init__(self, make: Callable[..., Work], argsets: Sequence[tuple[Any, ...]]) -> None:
        ctx = mp.get_context("spawn")
        self.size = len(argsets)
        self.go: Queue[bool] = ctx.Queue()
        self.ready = ctx.Barrier(self.size + 1)
        self.out: Queue[tuple[Any, ...]] = ctx.Queue()
        self.procs = [ctx.Process(target=_child, args=(make, a, self.go, self.ready, self.out)) for a in argsets]
        for p in self.procs:
            p.start()
        try:
            self._collect()
        except BaseException:
            self.close()
            raise

    def _collect(self) -> list[tuple[Any, ...]]:
        results = [self.out.get(timeout=600) for _ in self.procs]
        errors = [r[1] for r in results if r[0] == "error"]
        if errors:
            raise RuntimeError("a benchmark process failed:\n" + "\n".join(errors))
        return results

    def round(self) -> tuple[int, float]:
        """One timed round; returns (items done, seconds)."""
        for _ in self.procs:  # each process takes one, then waits for the others at the barrier
            self.go.put(True)
        self.ready.wait(timeout=600)
        results = self._collect()
        return sum(r[1] for r in results), max(r[3] for r in results) - min(r[2] for r in results)

    def close(self) -> None:
        for _ in self.procs:
            self.go.put(False)
        for p in self.procs:
            p.join(timeout=60)
            if p.is_alive():
                p.kill()


def alternate(
    teams: Sequence[Team], rounds: int, before: Callable[[int, int], None] = lambda team, r: None
) -> list[float]:
    """Per team, the median rate (items/s) of ``rounds`` rounds run in turn; ``before(team, round)`` is untimed."""
    rates: list[list[float]] = [[] for _ in teams]
    for r in range(rounds):
        for k, team in enumerate(teams):
            before(k, r)
            done, secs = team.round()
            rates[k].append(done / secs)
    return [statistics.median(x) for x in rates]


def split(n: int, parts: int) -> list[tuple[int, int]]:
    """(start, count) of each part of range(n)."""
    per, extra = divmod(n, parts)
    bounds, start = [], 0
    for k in range(parts):
        count = per + (k < extra)
        bounds.append((start, count))
        start += count
    return bounds


# ----------------------------------------------------------------------------- intake


class Submitter:
    """``Desk.submit`` of ``count`` value demands a round, numbered from ``start`` (then ``stride`` on)."""

    def __init__(self, config: str, start: int, count: int, stride: int) -> None:
        self.desk = Desk.open(config, entry_points=False, migrate=False)
        self.start, self.count, self.stride = start, count, stride

    def run(self) -> int:
        for i in range(self.start, self.start + self.count):
            self.desk.submit("value", f"c{i % CUSTOMERS}", f"handbook {i}", service="handbook", channel="bench")
        self.start += self.stride
        return self.count

    def close(self) -> None:
        self.desk.close()


@attrs.frozen
class Template:
    """The rows one value demand's intake writes, without ids: what the Core ceiling inserts again."""

    demand: Row
    events: list[Row]
    jobs: list[Row]


def read_template(engine: Engine, demand_id: int) -> Template:
    with engine.connect() as conn:
        demand = conn.execute(select(t.demands).where(t.demands.c.id == demand_id)).mappings().one()
        events = conn.execute(select(t.journey_events).where(t.journey_events.c.demand_id == demand_id)).mappings()
        jobs = conn.execute(select(t.jobs).where(t.jobs.c.demand_id == demand_id)).mappings()
        return Template(
            demand={k: v for k, v in demand.items() if k != "id"},
            events=[{k: v for k, v in e.items() if k not in ("id", "demand_id")} for e in events],
            jobs=[{k: v for k, v in j.items() if k not in ("id", "demand_id")} for j in jobs],
        )


class CoreInserter:
    """The intake ceiling: the template's rows, one transaction per demand, with SQLAlchemy Core."""

    def __init__(self, url: str, template: Template, start: int, count: int, stride: int) -> None:
        self.engine = open_engine(url, migrate=False)
        self.template, self.start, self.count, self.stride = template, start, count, stride

    def run(self) -> int:
        tpl = self.template
        demand = insert(t.demands).returning(t.demands.c.id)
        event = insert(t.journey_events)
        job = insert(t.jobs)
        for i in range(self.start, self.start + self.count):
            now = datetime.now(UTC)
            with self.engine.begin() as conn:
                did = conn.execute(
                    demand, {**tpl.demand, "summary": f"handbook {i}", "created_at": now, "updated_at": now}
                ).scalar_one()
                if tpl.events:
                    conn.execute(event, [{**e, "demand_id": did, "at": now} for e in tpl.events])
                if tpl.jobs:
                    conn.execute(
                        job,
                        [
                            {**j, "demand_id": did, "key": f"core:{i}:{n}", "run_after": now, "created_at": now}
                            for n, j in enumerate(tpl.jobs)
                        ],
                    )
        self.start += self.stride
        return self.count

    def close(self) -> None:
        self.engine.dispose()


def prepare(root: Path, pg: PostgresCluster, name: str, *, warm_up: bool) -> tuple[Path, str, int | None]:
    """A deployment on a new, migrated database; returns (config, url, id of a warm-up demand if asked for one)."""
    url = pg.create_database(name)
    (root / name).mkdir(exist_ok=True)
    config = write_deployment(root / name, customers=CUSTOMERS, services=SERVICE, database=url)
    with Desk.open(config, entry_points=False) as desk:
        if not warm_up:
            return config, url, None
        receipt = desk.submit("value", "c0", "warm-up", service="handbook", channel="bench")
    return config, url, receipt.demand.id


def bench_intake(pg: PostgresCluster, root: Path, n: int, rounds: int, procs: Sequence[int]) -> None:
    print(f"\nvalue-demand intake: {n} demands a round, median of {rounds} rounds; one-step service, deferred runner")
    print(f"{'processes':>9}  {'Desk.submit/s':>14}  {'Core ceiling/s':>14}  {'share':>6}")
    for p in procs:
        config, _, _ = prepare(root, pg, f"intake_desk_{p}", warm_up=True)
        _, core_url, warm = prepare(root, pg, f"intake_core_{p}", warm_up=True)
        assert warm is not None
        engine = open_engine(core_url, migrate=False)
        template = read_template(engine, warm)
        engine.dispose()
        teams = [
            Team(Submitter, [(str(config), s, c, n) for s, c in split(n, p)]),
            Team(CoreInserter, [(core_url, template, s, c, n) for s, c in split(n, p)]),
        ]
        try:
            desk_rate, core_rate = alternate(teams, rounds)
        finally:
            for team in teams:
                team.close()
        print(f"{p:>9}  {desk_rate:>14,.0f}  {core_rate:>14,.0f}  {desk_rate / core_rate:>6.0%}")


# ----------------------------------------------------------------------------- jobs


def seed_notify_jobs(url: str, n: int, tag: str) -> None:
    """``n`` due notification jobs (an announcement's shape: a customer, no demand) to the log channel."""
    now = datetime.now(UTC)
    engine = open_engine(url, migrate=False)
    with engine.begin() as conn:
        conn.execute(
            insert(t.jobs),
            [
                {
                    "customer_id": f"c{i % CUSTOMERS}",
                    "action": "notify",
                    "step": -1,
                    "params": {
                        "purpose": "announcement",
                        "subject": "Bench",
                        "text": "Bench message",
                        "channel": "log",
                    },
                    "key": f"bench:{tag}:{i}",
                    "state": "pending",
                    "attempts": 0,
                    "max_attempts": 5,
                    "run_after": now,
                    "created_at": now,
                }
                for i in range(n)
            ],
        )
    engine.dispose()


def count_done(url: str) -> int:
    engine = open_engine(url, migrate=False)
    with engine.connect() as conn:
        done = conn.execute(select(func.count()).select_from(t.jobs).where(t.jobs.c.state == "done")).scalar_one()
    engine.dispose()
    return int(done)


class DeskWorker:
    """A plain worker process: ``Desk.run_due_jobs()`` until nothing is due."""

    def __init__(self, config: str) -> None:
        self.desk = Desk.open(config, entry_points=False, migrate=False)

    def run(self) -> int:
        return self.desk.run_due_jobs(batch=BATCH)

    def close(self) -> None:
        self.desk.close()


_CLAIM = ceiling_claim(BATCH, t.jobs.c.id, t.jobs.c.customer_id, t.jobs.c.key)


class CoreWorker:
    """The job ceiling: claim 50 (SKIP LOCKED) in one transaction, then per job its message and done update."""

    def __init__(self, url: str) -> None:
        self.engine = open_engine(url, migrate=False)

    def run(self) -> int:
        ran = 0
        message = insert(t.messages)
        while True:
            now = datetime.now(UTC)
            with self.engine.begin() as conn:
                claimed = sorted(conn.execute(_CLAIM, {"b_now": now, "b_lease": now + LEASE}).all())
            if not claimed:
                return ran
            for job in claimed:
                now = datetime.now(UTC)
                with self.engine.begin() as conn:
                    conn.execute(
                        message,
                        {
                            "fallback": False,
                            "demand_id": None,
                            "job_id": job.id,
                            "channel": "log",
                            "customer_id": job.customer_id,
                            "address": job.customer_id,
                            "purpose": "announcement",
                            "subject": "Bench",
                            "body": "Bench message",
                            "reference": job.key,
                            "at": now,
                        },
                    )
                    conn.execute(
                        CEILING_DONE, {"b_id": job.id, "b_now": now, "b_result": {"customer_sees": "Bench message"}}
                    )
                ran += 1

    def close(self) -> None:
        self.engine.dispose()


def _seeder(urls: Sequence[str], n: int) -> Callable[[int, int], None]:
    """Before each round: check the last round ran all its jobs, then queue ``n`` more in that team's database."""

    def seed(team: int, r: int) -> None:
        done = count_done(urls[team])
        if done != n * r:  # not a timing check: a rate over jobs left undone would be wrong
            raise RuntimeError(f"{done} of {n * r} jobs done in {urls[team]}")
        seed_notify_jobs(urls[team], n, f"r{r}")

    return seed


def bench_jobs(pg: PostgresCluster, root: Path, n: int, rounds: int, procs: Sequence[int]) -> None:
    print(
        f"\njob throughput: {n} notification jobs a round (log channel), median of {rounds} rounds; batches of {BATCH}"
    )
    print(f"{'processes':>9}  {'run_due_jobs/s':>14}  {'Core ceiling/s':>14}  {'share':>6}")
    for p in procs:
        config, desk_url, _ = prepare(root, pg, f"jobs_desk_{p}", warm_up=False)
        _, core_url, _ = prepare(root, pg, f"jobs_core_{p}", warm_up=False)
        teams = [Team(DeskWorker, [(str(config),)] * p), Team(CoreWorker, [(core_url,)] * p)]
        seed = _seeder([desk_url, core_url], n)
        try:
            desk_rate, core_rate = alternate(teams, rounds, seed)
        finally:
            for team in teams:
                team.close()
        print(f"{p:>9}  {desk_rate:>14,.0f}  {core_rate:>14,.0f}  {desk_rate / core_rate:>6.0%}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--demands", type=int, default=1000, help="demands a round (intake)")
    ap.add_argument("--jobs", type=int, default=1500, help="jobs a round (throughput)")
    ap.add_argument("--rounds", type=int, default=3, help="rounds per figure (the median is printed)")
    ap.add_argument("--procs", default="1,2,4", help="numbers of processes, comma separated")
    args = ap.parse_args()
    procs = [int(x) for x in args.procs.split(",")]
    print(f"PostgreSQL scaling (no Celery), {os.cpu_count()} cores, load average {os.getloadavg()[0]:.2f}")
    if find_pg_bin() is None:
        print("SKIPPED: PostgreSQL server binaries (initdb, pg_ctl) not found; install PostgreSQL to measure this")
        return
    with tempfile.TemporaryDirectory(prefix="itsm-bench-pg-") as tmp, PostgresCluster() as pg:
        bench_intake(pg, Path(tmp), args.demands, args.rounds, procs)
        bench_jobs(pg, Path(tmp), args.jobs, args.rounds, procs)
    print(f"\nload average at the end {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
