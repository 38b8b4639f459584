"""Webhook fan-out: 10,000 events to 3 subscriptions delivered by 2 worker processes, beside bare httpx.

The desk side: a deployment on SQLite (or PostgreSQL with ``--postgresql``) with the
itsm-webhooks plugin, three subscriptions (one path each on one local receiver) and the
deferred runner. ``--events`` events are published through the plugin (``demand.received``
for demands 1..events/5, so each demand has five messages per subscription that must
arrive in order); each becomes one message per subscription and one ``webhooks.deliver``
job in the outbox. Then two ``itsm jobs run --watch`` worker processes start and the clock
runs until every message is delivered. The receiver then checks: every ``webhook-id``
arrived exactly once (none lost, none duplicated), each signed, and the messages of each
demand arrived in order per subscription.

The ceiling: two processes posting the same number of bodies to the same receiver with a
bare ``httpx.Client`` each (no signing, no database), in the same run. The goal of the
issue is the whole fan-out within 30 s.

Run: ``tox -e bench`` or ``python bench/webhooks.py [--events 10000] [--postgresql]``.
"""

from __future__ import annotations

import argparse
import collections
import json
import multiprocessing
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

from common import report, write_deployment

from itsmcore.desk import Desk

SUBSCRIPTIONS = 3
WORKERS = 2
GOAL_SECONDS = 30.0


def _post(url: str, bodies: list[bytes]) -> None:
    import httpx

    with httpx.Client(trust_env=False, timeout=10) as client:
        for body in bodies:
            client.post(url, content=body, headers={"content-type": "application/json"}).raise_for_status()


def ceiling(url: str, bodies: list[bytes]) -> float:
    """Posts per second of bare httpx from WORKERS processes, each with its share of ``bodies``."""
    ctx = multiprocessing.get_context("spawn")
    shares = [bodies[i::WORKERS] for i in range(WORKERS)]
    procs = [ctx.Process(target=_post, args=(url, share)) for share in shares]
    t0 = time.perf_counter()
    for p in procs:
        p.start()
    for p in procs:
        p.join()
    if any(p.exitcode for p in procs):
        raise SystemExit("the httpx ceiling failed")
    return len(bodies) / (time.perf_counter() - t0)


def main() -> None:
    from itsm_webhooks.hub import for_desk
    from itsm_webhooks.receiver import Receiver

    parser = argparse.ArgumentParser()
    parser.add_argument("--events", type=int, default=10_000)
    parser.add_argument("--postgresql", action="store_true", help="on a throwaway PostgreSQL cluster")
    args = parser.parse_args()
    n = args.events
    with tempfile.TemporaryDirectory() as tmp, Receiver.running() as receiver:
        root = Path(tmp)
        database = "sqlite:///itsm.db"
        cluster = None
        if args.postgresql:
            from itsmcore.testing import PostgresCluster

            cluster = PostgresCluster(root / "pg").start()
            database = cluster.url("bench")
        config = write_deployment(
            root,
            customers=10,
            database=database,
            services='\n[webhooks]\nallow_addresses = ["127.0.0.1/32"]\ntimeout = 10.0\n',
        )
        with Desk.open(config, entry_points=True) as desk:
            hub = for_desk(desk)
            for i in range(SUBSCRIPTIONS):
                hub.add(f"s{i}", f"http://127.0.0.1:{receiver.port}/s{i}", ["demand.received"])
            t0 = time.perf_counter()
            for i in range(n):
                demand = i // 5 + 1
                hub.publish("demand.received", {"seq": i, "demand": {"id": demand}}, demand_id=demand, kind="failure")
            queued = n / (time.perf_counter() - t0)
            env = {**os.environ, "ITSM_CONFIG": str(config)}
            workers = [
                subprocess.Popen(
                    [
                        sys.executable,
                        "-m",
                        "itsmcore",
                        "-c",
                        str(config),
                        "--log-level",
                        "WARNING",
                        "jobs",
                        "run",
                        "--watch",
                        "0.05",
                    ],
                    cwd=root,
                    env=env,
                    stdout=subprocess.DEVNULL,
                    stderr=subprocess.PIPE,
                )
                for _ in range(WORKERS)
            ]
            t0 = time.perf_counter()
            total = n * SUBSCRIPTIONS
            try:
                while hub.counts().get("delivered", 0) < total:
                    if any(w.poll() is not None for w in workers):
                        raise SystemExit(
                            "a worker ended: " + (workers[0].stderr.read().decode() if workers[0].stderr else "")
                        )
                    if time.perf_counter() - t0 > 3600:
                        raise SystemExit(f"not delivered after an hour: {hub.counts()}")
                    time.sleep(0.1)
                seconds = time.perf_counter() - t0
            finally:
                for w in workers:
                    w.send_signal(signal.SIGTERM)
                for w in workers:
                    w.wait(timeout=60)
            counts = hub.counts()
        with receiver.lock:
            got = list(receiver.received)
        ids = collections.Counter(r.headers["webhook-id"] for r in got)
        duplicated = sum(c - 1 for c in ids.values() if c > 1)
        lost = total - len(ids)
        unsigned = sum(1 for r in got if not r.headers.get("webhook-signature", "").startswith("v1,"))
        seqs: dict[tuple[str, int], list[int]] = collections.defaultdict(list)
        for r in got:
            body = json.loads(r.body)
            seqs[(r.path, body["data"]["demand"]["id"])].append(body["data"]["seq"])
        out_of_order = sum(1 for s in seqs.values() if s != sorted(s))
        bodies = [r.body for r in got]
        receiver.received.clear()
        bare = ceiling(f"http://127.0.0.1:{receiver.port}/ceiling", bodies)
        if cluster is not None:
            cluster.stop()
    where = "PostgreSQL" if args.postgresql else "SQLite"
    rate = total / seconds
    print(f"webhook fan-out on {where}: {n:,} events x {SUBSCRIPTIONS} subscriptions = {total:,} deliveries")
    print(f"  queued {queued:,.0f} events/s (message rows and outbox jobs, one transaction per event)")
    print(
        f"  delivered by {WORKERS} worker processes in {seconds:.1f} s (goal <= {GOAL_SECONDS:g} s:"
        f" {'met' if seconds <= GOAL_SECONDS else 'NOT met'})"
    )
    print(
        f"  lost {lost}, duplicated {duplicated}, unsigned {unsigned}, demands out of order {out_of_order};"
        f" states {dict(sorted(counts.items()))}"
    )
    print(report("webhook deliveries (2 workers, outbox)", rate, "posts/s", "| bare httpx, 2 procs", bare))


if __name__ == "__main__":
    main()
