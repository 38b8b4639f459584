"""A team's queue with 100,000 open demands on PostgreSQL, at 50 requests a second.

A throwaway PostgreSQL cluster is started on 127.0.0.1. The store gets N open demands
(100,000 by default) spread over four teams, nine in ten with running service-level
clocks (first response and resolution, due at times spread over two weeks), the rest
paused; and a tenth as many again for a fifth team, ``requests``, without any clock. Then, paced at 50 requests a second for a number of seconds, each figure beside
its ceiling measured the same way in the same run (latencies: lower is better; the ratio
is the ceiling's p99 over the figure's):

- ``Desk.queue(team, limit=50)``: the team's open work by what breaches first, beside a
  bare indexed SELECT of the 50 first running clocks by due date (no join, no team); and the
  same for the ``requests`` team, whose page of work comes from the queue's second read;
- the team's page ``GET /desk/teams/TEAM`` over real HTTP (the portal served by ``itsm serve``
  in its own process on 127.0.0.1, an agent signed in who holds one demand in 37: the first
  50 of the queue, the first 50 of the agent's own work and the workload, rendered), beside ``GET /healthz`` on the same server (one
  trivial query); ``--runs`` times (3), each run printed with the load it was measured at.

- the service-level sweep over the same open demands, as a running desk pays it every minute:
  with nothing due, and with one minute's breaches; beside counting the running clocks.

The goal is a p99 of at most 25 ms for the queue and its page, and at most 2 s for the sweep.
The load average is printed with the figures: on a machine busy with other work every
latency stretches, the ceilings' too.

Run: ``tox -e bench`` or ``python bench/team_queue.py [--demands 100000] [--seconds 10] [--rate 50] [--runs 3]``.
"""

from __future__ import annotations

import argparse
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

from common import write_deployment
from sqlalchemy import func, insert, select, text

from itsmcore.desk import Desk
from itsmcore.store import tables as t
from itsmcore.testing.postgres import PostgresCluster, find_pg_bin

TEAMS = ("apps", "infra", "network", "service-desk")
#: A fifth team whose open work has no running clock (requests without a service level).
UNTIMED = "requests"
GOAL_MS = 25.0
START = datetime(2026, 3, 2, 9, tzinfo=UTC)
# the demo password "eagle5-demo", as the Eagle5 example stores it
PASSWORD = "eagle5-demo"
HASH = "scrypt$16384$8$1$SkOMJRP7Q/UTr6zcAbKYfA==$3LQUKvrkriakS3raIQsvzb5pNtHkMVsdlpqZW5oRHMQ="

CONFIG = (
    "".join(
        f'\n[teams.{team}]\nname = "{team.title()}"\nmembers = [{", ".join(f"{chr(34)}c{i}{chr(34)}" for i in range(k * 8, k * 8 + 8))}, "agent"]\n'
        for k, team in enumerate((*TEAMS, UNTIMED))
    )
    + """
[channels.portal]
use = "portal"
agent_groups = ["desk-agents"]

[[service_levels]]
name = "incidents"
kinds = ["failure"]
response = "1h"
resolution = "1d"
"""
)

AGENT = f"""
[[customers]]
id = "agent"
name = "Alex Agent"
email = "agent@example.org"
groups = ["desk-agents"]
password = "{HASH}"
"""


def fill(desk: Desk, n: int, untimed: int = 0) -> None:
    """``n`` open demands over the teams, nine in ten with running clocks, and ``untimed`` more for the
    requests team, without a clock; written with Core, in batches."""
    batch = 5000
    with desk.engine.begin() as conn:
        first = (conn.execute(select(t.demands.c.id).order_by(t.demands.c.id.desc()).limit(1)).scalar() or 0) + 1
    total = n + untimed
    for lo in range(0, total, batch):
        demands, clocks = [], []
        for i in range(lo, min(total, lo + batch)):
            did = first + i
            team = TEAMS[i % len(TEAMS)] if i < n else UNTIMED
            created = START + timedelta(seconds=13 * i)
            demands.append(
                {
                    "id": did,
                    "kind": "failure",
                    "state": "new" if i % 3 else "in_progress",
                    "stage": "acknowledge",
                    "customer_id": f"c{100 + i % 800}",
                    "channel": "bench",
                    "summary": f"demand {i}",
                    "details": "",
                    "answers": {},
                    "outputs": {},
                    "priority": 1 + i % 4,
                    "team": team,
                    # the signed-in agent holds one in 37 (their "my work"), members the most, a fifth nobody
                    "assignee": "agent"
                    if i % 37 == 1
                    else f"c{(*TEAMS, UNTIMED).index(team) * 8 + i % 8}"
                    if i % 5
                    else None,
                    "self_service": False,
                    "created_at": created,
                    "updated_at": created,
                }
            )
            running = i % 10 != 0
            for metric, hours in (("response", 1), ("resolution", 8)) if i < n else ():
                due = START + timedelta(minutes=(i * 7919) % (14 * 24 * 60), hours=hours)
                clocks.append(
                    {
                        "demand_id": did,
                        "metric": metric,
                        "rule": "incidents",
                        "calendar": "",
                        "target_secs": hours * 3600.0,
                        "warn_share": 0.75,
                        "service_key": None,
                        "kind": "failure",
                        "priority": 1 + i % 4,
                        "state": "running" if running else "paused",
                        "paused_for": None if running else "customer",
                        "elapsed": 0.0,
                        "running_since": created if running else None,
                        "due_at": due if running else None,
                        "warn_at": None,
                        "warned_at": None,
                        "breached_at": None,
                        "started_at": created,
                        "stopped_at": None,
                    }
                )
        with desk.engine.begin() as conn:
            conn.execute(insert(t.demands), demands)
            if clocks:
                conn.execute(insert(t.service_level_clocks), clocks)
    with desk.engine.begin() as conn:
        conn.execute(text(f"SELECT setval(pg_get_serial_sequence('demands', 'id'), {first + total})"))
    # what autovacuum does soon after a bulk load: statistics, and the visibility map that
    # lets a count be answered from an index alone
    with desk.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text("VACUUM ANALYZE"))


def paced(rate: float, seconds: float, call: Callable[[], object]) -> list[float]:
    """Latencies (ms) of ``call`` made ``rate`` times a second for ``seconds``, each at its slot."""
    out = []
    interval = 1 / rate
    start = time.perf_counter()
    for i in range(int(rate * seconds)):
        slot = start + i * interval
        wait = slot - time.perf_counter()
        if wait > 0:
            time.sleep(wait)
        t0 = time.perf_counter()
        call()
        out.append((time.perf_counter() - t0) * 1000)
    return out


def p(values: list[float], q: float) -> float:
    return statistics.quantiles(values, n=100, method="inclusive")[int(q) - 1]


def line(label: str, got: list[float], ceiling_label: str, ceiling: list[float], goal: float | None = None) -> str:
    text_ = (
        f"{label:<42} p50 {p(got, 50):6.1f} ms  p99 {p(got, 99):6.1f} ms   "
        f"{ceiling_label:<30} p50 {p(ceiling, 50):6.1f} ms  p99 {p(ceiling, 99):6.1f} ms   "
        f"ratio {p(ceiling, 99) / p(got, 99):6.1%}"
    )
    if goal is not None:
        text_ += f"  (goal p99 <= {goal:g} ms: {'met' if p(got, 99) <= goal else 'NOT met'})"
    return text_


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def serve(config: Path) -> tuple[str, Callable[[], None]]:
    """The portal as it is deployed: ``itsm serve`` in its own process on 127.0.0.1; its base URL and how to stop it.

    Its own process, so the bench's client does not share an interpreter (and its lock)
    with the server it measures.
    """
    import httpx

    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "itsmcore", "--log-level", "WARNING", "-c", str(config), "serve", "--port", str(port)],
        stdout=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 120
    while True:
        try:
            if httpx.get(f"{base}/healthz", timeout=5).status_code == 200:
                break
        except httpx.TransportError:
            pass
        if proc.poll() is not None or time.monotonic() > deadline:
            proc.kill()
            raise RuntimeError("the portal did not start within 120 s")
        time.sleep(0.1)

    def stop() -> None:
        proc.terminate()
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()

    return base, stop


def sign_in(client: object, base: str) -> None:
    import re

    import httpx

    assert isinstance(client, httpx.Client)
    page = client.get(f"{base}/signin")
    token = re.search(r'name="csrf" value="([^"]+)"', page.text)
    assert token, page.text[:300]
    r = client.post(f"{base}/signin", data={"login": "agent", "password": PASSWORD, "csrf": token.group(1)})
    assert r.status_code == 303, r.text[:300]


def sweeps(desk: Desk, n: int) -> str:
    """The service-level sweep over the open demands, as a running desk pays it every minute: with nothing
    due, and one minute's worth of breaches; beside counting the running clocks (the ceiling)."""
    from itsmcore.builtin.service_levels import sweep

    count = select(func.count()).select_from(t.service_level_clocks).where(t.service_level_clocks.c.state == "running")
    t0 = time.perf_counter()
    with desk.engine.connect() as conn:
        conn.execute(count).scalar_one()
    ceiling = time.perf_counter() - t0
    t0 = time.perf_counter()
    idle = sweep(desk, now=START)  # the first targets fall due an hour in
    idle_s = time.perf_counter() - t0
    sweep(desk, now=START + timedelta(hours=1))
    t0 = time.perf_counter()
    minute = sweep(desk, now=START + timedelta(hours=1, minutes=1))
    minute_s = time.perf_counter() - t0
    return (
        f"service-level sweep over {n:,} open demands: nothing due {idle_s * 1000:.1f} ms ({idle.breaches} breaches),"
        f" a minute's breaches {minute_s * 1000:.1f} ms ({minute.breaches} breaches)"
        f"  beside count(*) of the running clocks {ceiling * 1000:.1f} ms"
        f"  (goal <= 2 s: {'met' if max(idle_s, minute_s) <= 2 else 'NOT met'})"
    )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--demands", type=int, default=100_000)
    ap.add_argument("--seconds", type=float, default=10.0)
    ap.add_argument("--rate", type=float, default=50.0)
    ap.add_argument("--runs", type=int, default=3, help="measure the page this many times; each run is printed")
    args = ap.parse_args()
    if find_pg_bin() is None:
        print("queue: skipped, PostgreSQL's binaries were not found (install postgresql-15)")
        return
    with tempfile.TemporaryDirectory(prefix="itsm-bench-queue-") as tmp, PostgresCluster() as pg:
        root = Path(tmp)
        config = write_deployment(root, services=CONFIG, database=pg.create_database("queue"))
        (root / "customers.toml").write_text((root / "customers.toml").read_text() + AGENT)
        with Desk.open(config, clock=lambda: START + timedelta(days=3)) as desk:
            t0 = time.perf_counter()
            fill(desk, args.demands, untimed=args.demands // 10)
            print(
                f"queue: {args.demands:,} open demands over {len(TEAMS)} teams, and {args.demands // 10:,} without"
                f" a clock for team {UNTIMED}, written in {time.perf_counter() - t0:.1f}s"
            )
            team = TEAMS[0]
            bare = (
                select(t.service_level_clocks.c.demand_id, t.service_level_clocks.c.due_at)
                .where(t.service_level_clocks.c.state == "running")
                .order_by(t.service_level_clocks.c.due_at)
                .limit(50)
            )

            def ceiling() -> None:
                with desk.engine.connect() as conn:
                    conn.execute(bare).all()

            for _ in range(20):  # warm the pool and the caches
                desk.queue(team, limit=50)
                ceiling()
            got = paced(args.rate, args.seconds, lambda: desk.queue(team, limit=50))
            bare_ms = paced(args.rate, args.seconds, ceiling)
            print(line(f"Desk.queue({team!r}, limit=50)", got, "bare indexed SELECT", bare_ms, GOAL_MS))
            # a team whose work has no running clock: the queue's second read gives the whole page
            for _ in range(20):
                desk.queue(UNTIMED, limit=50)
            untimed = paced(args.rate, args.seconds, lambda: desk.queue(UNTIMED, limit=50))
            print(line(f"Desk.queue({UNTIMED!r}, limit=50)", untimed, "bare indexed SELECT", bare_ms, GOAL_MS))

            import httpx

            base, stop = serve(config)
            try:
                with httpx.Client(follow_redirects=False, timeout=30) as client:
                    sign_in(client, base)
                    for _ in range(5):
                        assert client.get(f"{base}/desk/teams/{team}").status_code == 200
                        client.get(f"{base}/healthz")
                    for run in range(1, args.runs + 1):
                        load = os.getloadavg()[0]
                        page = paced(args.rate, args.seconds, lambda: client.get(f"{base}/desk/teams/{team}"))
                        health = paced(args.rate, args.seconds, lambda: client.get(f"{base}/healthz"))
                        load = max(load, os.getloadavg()[0])
                        print(
                            line(
                                f"GET /desk/teams/{team} (HTTP), run {run}",
                                page,
                                "GET /healthz (HTTP)",
                                health,
                                GOAL_MS,
                            )
                        )
                        print(
                            f"  (load average up to {load:.1f} while the page was measured, on {os.cpu_count()} cores)"
                        )
            finally:
                stop()
            print(sweeps(desk, args.demands))


if __name__ == "__main__":
    main()
