"""Real worker processes over a real Redis and PostgreSQL: exactly-once in effect, crashes, outages, fan-out."""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from pathlib import Path

from itsmcore import Desk
from itsmcore.testing import PostgresCluster

from celery_servers import RedisServer, Workers
from conftest import create_test_tables, wait_for_jobs


def _effects(desk: Desk) -> tuple[list[str], list[str], list[tuple[str, int]]]:
    from sqlalchemy import text

    with desk.engine.connect() as conn:
        effects = list(conn.execute(text("SELECT key FROM celerytest_effects")).scalars())
        replays = list(conn.execute(text("SELECT key FROM celerytest_replays")).scalars())
        started = [(r[0], r[1]) for r in conn.execute(text("SELECT key, pid FROM celerytest_started ORDER BY id"))]
    return effects, replays, started


def _submit(desk: Desk, n: int, service: str = "record", customers: int = 50) -> list[int]:
    ids = []
    for i in range(n):
        r = desk.submit("value", f"c{(i % customers) + 1:07d}", f"Recorder please #{i}", service=service)
        ids.append(r.demand.id)
    return ids


def _step_keys(desk: Desk, demand_ids: list[int]) -> set[str]:
    keys: set[str] = set()
    for d in demand_ids:
        keys.update(j.key for j in desk.jobs(demand_id=d) if j.action == "celerytest.record")
    return keys


def test_three_workers_run_300_jobs_once_each(
    make_config: Callable[..., Path], workers: Callable[[Path], Workers]
) -> None:
    config = make_config()
    with Desk.open(config) as desk:
        create_test_tables(desk)
        pool = workers(config)
        pool.start(3)
        demand_ids = _submit(desk, 300)
        stats = wait_for_jobs(desk, at_least=300, timeout=180, logs=pool.logs)
        assert set(stats) == {"done"}, stats
        effects, replays, _ = _effects(desk)
        assert len(effects) == len(set(effects)) == 300
        assert set(effects) == _step_keys(desk, demand_ids)
        assert replays == []
        # every demand went through its plan and was told the outcome
        assert {desk.get(d).state for d in demand_ids} == {desk.get(demand_ids[0]).state}
        assert str(desk.get(demand_ids[0]).state) == "fulfilled"
        # work was spread: more than one worker process recorded effects
        from sqlalchemy import text

        with desk.engine.connect() as conn:
            pids = set(conn.execute(text("SELECT DISTINCT pid FROM celerytest_effects")).scalars())
        assert len(pids) >= 2, pids
        logs = pool.logs()
        assert f"demand={demand_ids[0]} " in logs


def test_killed_worker_job_is_taken_over_after_its_lease(
    make_config: Callable[..., Path], workers: Callable[[Path], Workers]
) -> None:
    config = make_config(lease_seconds=3)
    with Desk.open(config) as desk:
        create_test_tables(desk)
        pool = workers(config)
        first = pool.start(1)[0]
        (demand_id,) = _submit(desk, 1, service="slow")
        deadline = time.monotonic() + 60
        started: list[tuple[str, int]] = []
        while time.monotonic() < deadline and not started:
            started = _effects(desk)[2]
            time.sleep(0.1)
        assert started, pool.logs()
        pool.kill(first)  # SIGKILL in the middle of the job's sleep
        job = next(j for j in desk.jobs(demand_id=demand_id) if j.action == "celerytest.record")
        assert str(job.state) == "running"
        pool.start(1)
        wait_for_jobs(desk, at_least=2, timeout=90, logs=pool.logs)
        effects, replays, started = _effects(desk)
        assert effects == [job.key]
        assert replays == []
        assert len(started) == 2 and started[0][1] != started[1][1]
        job = desk.job(job.id)
        assert str(job.state) == "done" and job.attempts == 2
        assert str(desk.get(demand_id).state) == "fulfilled"


def test_broker_restart_loses_no_job(
    make_config: Callable[..., Path], workers: Callable[[Path], Workers], redis_server: RedisServer
) -> None:
    config = make_config()
    with Desk.open(config) as desk:
        create_test_tables(desk)
        pool = workers(config)
        pool.start(2)
        first = _submit(desk, 100)
        redis_server.stop()  # queued messages are gone with it (no persistence)
        during = _submit(desk, 20)  # submitting still works: the jobs wait in the database
        time.sleep(1.0)
        redis_server.start()
        after = _submit(desk, 20)
        stats = wait_for_jobs(desk, at_least=140, timeout=180, logs=pool.logs)
        assert set(stats) == {"done"}, stats
        effects, replays, _ = _effects(desk)
        assert set(effects) == _step_keys(desk, first + during + after)
        assert len(effects) == 140 and replays == []


def test_database_restart_mid_run(
    make_config: Callable[..., Path], workers: Callable[[Path], Workers], postgres_server: PostgresCluster
) -> None:
    config = make_config(lease_seconds=3)
    with Desk.open(config) as desk:
        create_test_tables(desk)
        pool = workers(config)
        pool.start(2)
        demand_ids = _submit(desk, 150)
        time.sleep(1.0)
        postgres_server.stop()
        time.sleep(2.0)
        postgres_server.start()
        stats = wait_for_jobs(desk, at_least=150, timeout=240, logs=pool.logs)
        assert set(stats) == {"done"}, stats
        effects, replays, _ = _effects(desk)
        # each step took effect once; a step whose completion was lost with the database ran again and found its key
        assert len(effects) == len(set(effects)) == 150
        assert set(effects) == _step_keys(desk, demand_ids)
        assert set(replays) <= set(effects)
        assert all(p.poll() is None for p in pool.procs), "workers must survive the outage"


def test_worker_started_while_the_database_is_down_waits_for_it(
    make_config: Callable[..., Path], workers: Callable[[Path], Workers], postgres_server: PostgresCluster
) -> None:
    config = make_config()
    with Desk.open(config) as desk:
        create_test_tables(desk)
        demand_ids = _submit(desk, 20)
        n_jobs = sum(desk.job_stats().values())
        postgres_server.stop()
        try:
            pool = workers(config)
            (proc,) = pool.start(1)
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline and "database not reachable" not in pool.logs():
                time.sleep(0.2)
            assert proc.poll() is None, pool.logs()
        finally:
            postgres_server.start()
        stats = wait_for_jobs(desk, at_least=n_jobs, timeout=120, logs=pool.logs)
        assert set(stats) == {"done"}, stats
        effects, _, _ = _effects(desk)
        assert set(effects) == _step_keys(desk, demand_ids) and len(effects) == 20


def test_announcement_fanout_over_workers_sends_each_notification_once(
    make_config: Callable[..., Path], workers: Callable[[Path], Workers]
) -> None:
    # ITSM_CELERY_FANOUT / ITSM_CELERY_FANOUT_WORKERS set the audience and the workers; the issue's
    # figure is 100,000 over 4 (run by hand: about a quarter of an hour here), CI runs 4,000 over 2
    n = int(os.environ.get("ITSM_CELERY_FANOUT", "4000"))
    n_workers = int(os.environ.get("ITSM_CELERY_FANOUT_WORKERS", "2"))
    config = make_config(customers=n, sweep_batch=5000)
    with Desk.open(config) as desk:
        pool = workers(config)
        pool.start(n_workers, concurrency=1)
        t0 = time.monotonic()
        ann = desk.open_announcement("mail", "Mail is down", description="We are on it.")
        stats = wait_for_jobs(desk, at_least=n + 1, timeout=max(600, n // 20), what="fan-out", logs=pool.logs)
        took = time.monotonic() - t0
        assert set(stats) == {"done"}, stats
        from sqlalchemy import text

        with desk.engine.connect() as conn:
            per_customer = dict(
                conn.execute(
                    text(
                        "SELECT customer_id, count(*) FROM messages WHERE purpose = 'announcement' GROUP BY customer_id"
                    )
                ).all()
            )
        assert len(per_customer) == n
        assert set(per_customer.values()) == {1}
        assert desk.ledger(ann.id) is not None
        print(f"fan-out to {n} customers over {n_workers} workers: {took:.1f}s ({n / took:.0f} notifications/s)")


def test_workers_share_rows_with_cli(make_config: Callable[..., Path], workers: Callable[[Path], Workers]) -> None:
    """``itsm jobs list|stats|retry`` read the database, whatever the runner."""
    import json

    from click.testing import CliRunner
    from itsmcore.cli import cli as main

    config = make_config()
    with Desk.open(config) as desk:
        create_test_tables(desk)
        pool = workers(config)
        pool.start(1)
        ids = _submit(desk, 3)
        wait_for_jobs(desk, at_least=3, timeout=60, logs=pool.logs)
        cli = CliRunner()
        out = cli.invoke(main, ["-c", str(config), "jobs", "stats", "--format", "json"])
        assert out.exit_code == 0, out.output
        counts = {r["state"]: r["count"] for r in json.loads(out.output)}
        assert counts == desk.job_stats()
        out = cli.invoke(main, ["-c", str(config), "jobs", "list", "--demand", str(ids[0]), "--format", "json"])
        assert out.exit_code == 0, out.output
        assert {r["state"] for r in json.loads(out.output)} == {"done"}
        # a dead job retried from the CLI is queued to the workers and runs there
        from sqlalchemy import text

        with desk.engine.begin() as conn:
            conn.execute(text("INSERT INTO celerytest_switch (name) VALUES ('fail')"))
        (failing,) = _submit(desk, 1)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and str(desk.get(failing).state) != "stuck":
            time.sleep(0.2)
        job = next(j for j in desk.jobs(demand_id=failing) if j.action == "celerytest.record")
        assert str(job.state) == "dead", job
        with desk.engine.begin() as conn:
            conn.execute(text("DELETE FROM celerytest_switch"))
        out = cli.invoke(main, ["-c", str(config), "jobs", "retry", str(job.id)])
        assert out.exit_code == 0, out.output
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and str(desk.get(failing).state) != "fulfilled":
            time.sleep(0.2)
        assert str(desk.job(job.id).state) == "done", pool.logs()[-5000:]
        assert str(desk.get(failing).state) == "fulfilled"
        assert job.key in _effects(desk)[0]
