"""Scaling benchmark of the celery runner on PostgreSQL started for it on 127.0.0.1.

Prints, for 1, 2 and 4 processes:
  * value-demand intake (``Desk.submit`` of a one-step service, the job handed to the broker)
    beside the Core-insert ceiling: the same demand, event and job rows written with
    SQLAlchemy Core, one transaction per demand, by the same number of processes;
  * job throughput of ``itsm worker`` processes (notification jobs through the log channel)
    beside the Core ceiling: claim update, message insert and done update, one transaction
    per job, by the same number of processes.

Usage: python bench/scale.py [--demands 400] [--jobs 2000] [--procs 1,2,4]
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import os
import sys
import tempfile
import textwrap
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "tests"))
os.environ.setdefault("ITSM_SECRET", "bench-signing-secret")

from itsmcore.testing import PostgresCluster  # noqa: E402

from celery_servers import RedisServer, Workers  # noqa: E402


def write_config(root: Path, db: str, broker: str, runner: str = "celery") -> Path:
    path = root / "itsm.toml"
    runner_table = (
        f'use = "celery"\nbroker_url = "{broker}"\nqueue = "bench"\nsweep_interval = 0.5\nconcurrency = 1\n'
        if runner == "celery"
        else 'use = "deferred"\n'
    )
    path.write_text(
        textwrap.dedent(
            f"""\
            [deployment]
            name = "bench"
            database = "{db}"
            [plugins]
            modules = ["celerytest_plugin"]
            [directory.main]
            use = "synthetic"
            count = 100000
            service = "mail"
            [runner]
            """
        )
        + runner_table
        + textwrap.dedent(
            """
            [[services]]
            key = "record"
            name = "Recorder"
            description = "Records its idempotency key once."
            plan = [{ action = "celerytest.record" }]
            """
        ),
        encoding="utf-8",
    )
    return path


# ----------------------------------------------------------------------------- intake


def _submit_worker(config: str, start: int, n: int, ready: Any, out: mp.Queue) -> None:  # type: ignore[type-arg]
    from itsmcore import Desk

    with Desk.open(config) as desk:
        desk.ping()
        ready.wait()  # every process is up and connected: the clock starts now
        t0 = time.time()
        for i in range(start, start + n):
            desk.submit("value", f"c{(i % 100000) + 1:07d}", f"Bench demand {i}", service="record")
        out.put((t0, time.time()))


def _core_worker(db: str, template: dict, start: int, n: int, ready: Any, out: mp.Queue) -> None:  # type: ignore[type-arg]
    from itsmcore.store import tables as t
    from sqlalchemy import create_engine, text

    engine = create_engine(db)
    with engine.connect() as conn:
        conn.execute(text("SELECT 1"))
    ready.wait()
    t0 = time.time()
    for i in range(start, start + n):
        with engine.begin() as conn:
            d = dict(template["demand"])
            did = conn.execute(t.demands.insert().values(**d)).inserted_primary_key[0]
            for ev in template["events"]:
                conn.execute(t.journey_events.insert().values(**{**ev, "demand_id": did}))
            for j in template["jobs"]:
                conn.execute(t.jobs.insert().values(**{**j, "demand_id": did, "key": f"core:{i}:{j['key']}"}))
    out.put((t0, time.time()))
    engine.dispose()


def _run_parallel(target, argsets, *, barrier: bool = False) -> float:  # type: ignore[no-untyped-def]
    """Wall time of the processes' work: from the barrier (all started and connected) to the last one's end.

    Without ``barrier`` the targets report their own elapsed time and the longest counts.
    """
    ctx = mp.get_context("spawn")
    q: mp.Queue = ctx.Queue()  # type: ignore[type-arg]
    extra = (ctx.Barrier(len(argsets)),) if barrier else ()
    procs = [ctx.Process(target=target, args=(*a, *extra, q)) for a in argsets]
    for p in procs:
        p.start()
    results = [q.get() for _ in procs]
    for p in procs:
        p.join()
    if barrier:
        return max(end for _, end in results) - min(start for start, _ in results)
    return max(results)


def template_rows(db: str) -> dict:
    from itsmcore.store import tables as t
    from sqlalchemy import create_engine, select

    engine = create_engine(db)
    with engine.connect() as conn:
        d = conn.execute(select(t.demands).order_by(t.demands.c.id).limit(1)).mappings().one()
        evs = conn.execute(select(t.journey_events).where(t.journey_events.c.demand_id == d["id"])).mappings().all()
        jobs = conn.execute(select(t.jobs).where(t.jobs.c.demand_id == d["id"])).mappings().all()
    engine.dispose()
    drop = {"id"}
    return {
        "demand": {k: v for k, v in d.items() if k not in drop and k != "external_ref"},
        "events": [{k: v for k, v in e.items() if k not in drop} for e in evs],
        "jobs": [{k: v for k, v in j.items() if k not in drop} for j in jobs],
    }


def bench_intake(pg: PostgresCluster, redis: RedisServer, root: Path, n: int, procs: list[int]) -> None:
    print(f"\nValue-demand intake ({n} demands per run, PostgreSQL on 127.0.0.1)")
    print(f"{'processes':>9}  {'Desk.submit/s':>14}  {'Core ceiling/s':>14}  {'share':>6}")
    for p in procs:
        db = pg.create_database(f"intake{p}")
        cfg = write_config(root, db, redis.url)
        from itsmcore import Desk

        with Desk.open(cfg) as desk:  # migrate once, outside the timing
            desk.submit("value", "c0000001", "warm-up", service="record")
        per = n // p
        wall = _run_parallel(_submit_worker, [(str(cfg), k * per, per) for k in range(p)], barrier=True)
        submit_rate = per * p / wall
        tpl = template_rows(db)
        wall = _run_parallel(_core_worker, [(db, tpl, k * per, per) for k in range(p)], barrier=True)
        core_rate = per * p / wall
        print(f"{p:>9}  {submit_rate:>14.0f}  {core_rate:>14.0f}  {submit_rate / core_rate:>6.0%}")


# ----------------------------------------------------------------------------- jobs


def _insert_notify_jobs(db: str, n: int, tag: str) -> None:
    from datetime import UTC, datetime

    from itsmcore.store import tables as t
    from sqlalchemy import create_engine

    engine = create_engine(db)
    now = datetime.now(UTC)
    rows = [
        {
            "customer_id": f"c{(i % 100000) + 1:07d}",
            "action": "notify",
            "step": -1,
            "params": {"purpose": "announcement", "subject": "Bench", "text": "Bench message"},
            "key": f"bench:{tag}:{i}",
            "state": "pending",
            "attempts": 0,
            "max_attempts": 5,
            "run_after": now,
            "created_at": now,
        }
        for i in range(n)
    ]
    with engine.begin() as conn:
        conn.execute(t.jobs.insert(), rows)
    engine.dispose()


def _core_jobs_worker(db: str, ids: list[int], out: mp.Queue) -> None:  # type: ignore[type-arg]
    from datetime import UTC, datetime, timedelta

    from itsmcore.store import tables as t
    from sqlalchemy import create_engine, update

    engine = create_engine(db)
    t0 = time.perf_counter()
    for jid in ids:
        now = datetime.now(UTC)
        with engine.begin() as conn:
            conn.execute(
                update(t.jobs)
                .where(t.jobs.c.id == jid, t.jobs.c.state == "pending")
                .values(state="running", lease_until=now + timedelta(minutes=5), attempts=t.jobs.c.attempts + 1)
            )
        with engine.begin() as conn:
            conn.execute(
                t.messages.insert().values(
                    fallback=False,
                    job_id=jid,
                    channel="log",
                    customer_id="c0000001",
                    address="c0000001",
                    purpose="announcement",
                    subject="Bench",
                    body="Bench message",
                    reference="",
                    at=now,
                )
            )
        with engine.begin() as conn:
            conn.execute(
                update(t.jobs).where(t.jobs.c.id == jid).values(state="done", finished_at=now, lease_until=None)
            )
    out.put(time.perf_counter() - t0)
    engine.dispose()


def _wait_done(db: str, expected: int, timeout: float = 1800) -> None:
    from itsmcore.store import tables as t
    from sqlalchemy import create_engine, func, select

    engine = create_engine(db)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with engine.connect() as conn:
            done = conn.execute(select(func.count()).select_from(t.jobs).where(t.jobs.c.state == "done")).scalar()
        if done >= expected:
            engine.dispose()
            return
        time.sleep(0.1)
    raise TimeoutError(f"{expected} jobs not done in {timeout}s")


def bench_jobs(pg: PostgresCluster, redis: RedisServer, root: Path, n: int, procs: list[int]) -> None:
    print(f"\nJob throughput ({n} notification jobs per run, log channel; 'itsm worker --concurrency 1' each)")
    print(f"{'workers':>9}  {'jobs/s':>14}  {'Core ceiling/s':>14}  {'share':>6}")
    from itsmcore import Desk

    for p in procs:
        db = pg.create_database(f"jobs{p}")
        cfg = write_config(root, db, redis.url)
        with Desk.open(cfg):
            pass
        log_dir = root / f"logs{p}"
        log_dir.mkdir(exist_ok=True)
        pool = Workers(cfg, log_dir)
        pool.start(p)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and pool.logs().count("worker ready") < p:
            time.sleep(0.2)
        try:
            t0 = time.perf_counter()
            _insert_notify_jobs(db, n, "w")
            _wait_done(db, n)
            rate = n / (time.perf_counter() - t0)
        finally:
            pool.stop_all()
        db2 = pg.create_database(f"jobscore{p}")
        with Desk.open(write_config(root, db2, redis.url, runner="deferred")):
            pass
        _insert_notify_jobs(db2, n, "c")
        from itsmcore.store import tables as t
        from sqlalchemy import create_engine, select

        eng = create_engine(db2)
        with eng.connect() as conn:
            ids = list(conn.execute(select(t.jobs.c.id).order_by(t.jobs.c.id)).scalars())
        eng.dispose()
        wall = _run_parallel(_core_jobs_worker, [(db2, ids[k::p]) for k in range(p)])
        core = n / wall
        print(f"{p:>9}  {rate:>14.0f}  {core:>14.0f}  {rate / core:>6.0%}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--demands", type=int, default=400)
    ap.add_argument("--jobs", type=int, default=2000)
    ap.add_argument("--procs", default="1,2,4")
    args = ap.parse_args()
    procs = [int(x) for x in args.procs.split(",")]
    root = Path(tempfile.mkdtemp(prefix="itsm-celery-bench-"))
    pg = PostgresCluster()
    pg.start()
    redis = RedisServer(root)
    redis.start()
    print(f"cores: {os.cpu_count()}  load average: {os.getloadavg()[0]:.1f}")
    try:
        bench_intake(pg, redis, root, args.demands, procs)
        bench_jobs(pg, redis, root, args.jobs, procs)
    finally:
        redis.stop()
        pg.remove()


if __name__ == "__main__":
    main()
