"""Catalog search through the portal under a fixed load, beside a bare Starlette endpoint.

A deployment with 10,000 generated services (SQLite in a temp dir) is served by uvicorn
in a subprocess; this process sends requests at a fixed rate (200/s for 10 s by default)
over loopback with httpx and reports throughput and latency percentiles for:

  bare     a plain Starlette app returning a small JSON body (the floor: uvicorn + httpx)
  page     GET /search?q=...      (signed-in customer, server-rendered HTML)
  json     GET /search.json?q=... (what the search box fetches as you type)
  api      GET /api/v1/catalog?q=...&customer=... (token auth)

Latency is measured from when a request was *due*, not when it was sent, so a server
that falls behind shows it (no coordinated omission). Goal: p99 <= 25 ms at 200 req/s.

    python plugins/itsm-portal/bench/portal_search.py [--rate 200] [--duration 10] [--services 10000]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import re
import socket
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

WORDS = [
    "expenses",
    "receipts",
    "travel",
    "laptop",
    "phone",
    "printer",
    "vpn",
    "email",
    "calendar",
    "crm",
    "sales",
    "pipeline",
    "contacts",
    "leads",
    "payroll",
    "holiday",
    "leave",
    "badge",
    "door",
    "parking",
    "desk",
    "monitor",
    "keyboard",
    "headset",
    "software",
    "licence",
    "backup",
    "storage",
    "share",
    "drive",
    "wifi",
    "guest",
    "network",
    "password",
    "reset",
    "account",
    "access",
    "report",
    "dashboard",
    "invoice",
    "purchase",
    "order",
    "contract",
    "training",
    "course",
    "video",
    "meeting",
    "room",
    "projector",
    "scanner",
    "tablet",
    "mobile",
    "sim",
    "roaming",
    "shipping",
    "warehouse",
    "stock",
]
QUERIES = ["expenses", "laptop", "vpn access", "printer", "payroll report", "meeting room", "password reset", "crm"]
TOKEN = "itsm_bench-token-0123456789abcdefghijklmnopqrstuvwxyz"
PASSWORD = "bench-password"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def make_deployment(root: Path, n: int) -> Path:
    from itsmcore.testing import write_customers

    write_customers(root / "customers.toml", PASSWORD)
    rnd = random.Random(5)
    lines = []
    for i in range(n):
        kws = rnd.sample(WORDS, 4)
        lines.append(
            textwrap.dedent(
                f"""
                [[services]]
                key = "svc-{i:05d}"
                name = "{kws[0].title()} {kws[1]} service {i}"
                description = "Get {kws[0]} and {kws[1]} sorted: {kws[2]} for your {kws[3]}."
                keywords = {kws!r}
                category = "{rnd.choice(["Apps", "Devices", "Access", "Facilities"])}"
                """
            ).replace("'", '"')
        )
    (root / "catalog.toml").write_text("".join(lines), encoding="utf-8")
    config = root / "itsm.toml"
    config.write_text(
        textwrap.dedent(
            """
            include = ["catalog.toml"]

            [deployment]
            name = "bench"
            database = "sqlite:///bench.db"

            [directory.main]
            use = "file"
            path = "customers.toml"

            [channels.portal]
            use = "portal"
            api_tokens_env = "ITSM_PORTAL_BENCH_TOKENS"

            [security]
            sign_in_attempts = 1000
            """
        ),
        encoding="utf-8",
    )
    return config


SERVER = """
import sys, uvicorn
from starlette.applications import Starlette
from starlette.responses import JSONResponse
from starlette.routing import Route
kind, port = sys.argv[1], int(sys.argv[2])
if kind == "bare":
    async def hello(request):
        return JSONResponse({"hello": "world"})
    app = Starlette(routes=[Route("/", hello)])
else:
    from itsm_portal.app import create_app
    app = create_app(sys.argv[3])
uvicorn.run(app, host="127.0.0.1", port=port, log_level="warning", access_log=False)
"""


def start(kind: str, config: Path | None) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    env = {**os.environ, "ITSM_PORTAL_BENCH_TOKENS": f"bench:{TOKEN}"}
    args = [sys.executable, "-c", SERVER, kind, str(port)] + ([str(config)] if config else [])
    proc = subprocess.Popen(args, env=env)
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return proc, base
        except OSError:
            if proc.poll() is not None:
                raise SystemExit(f"{kind} server exited with {proc.returncode}") from None
            time.sleep(0.1)
    proc.kill()
    raise SystemExit(f"{kind} server did not start")


async def load(client: object, paths: list[str], rate: float, duration: float) -> tuple[list[float], int, float]:
    import httpx

    assert isinstance(client, httpx.AsyncClient)
    n = int(rate * duration)
    latencies: list[float] = []
    errors = 0
    start_at = time.perf_counter() + 0.05

    async def one(i: int) -> None:
        nonlocal errors
        due = start_at + i / rate
        delay = due - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        try:
            r = await client.get(paths[i % len(paths)])
            if r.status_code != 200:
                errors += 1
        except httpx.HTTPError:
            errors += 1
        latencies.append((time.perf_counter() - due) * 1000)

    await asyncio.gather(*(one(i) for i in range(n)))
    return latencies, errors, time.perf_counter() - start_at


def pct(values: list[float], p: float) -> float:
    s = sorted(values)
    return s[min(len(s) - 1, round(p / 100 * (len(s) - 1)))]


async def measure(
    name: str, base: str, paths: list[str], rate: float, duration: float, **client_kw: object
) -> dict[str, float]:
    import httpx

    limits = httpx.Limits(max_connections=64, max_keepalive_connections=64)
    async with httpx.AsyncClient(base_url=base, limits=limits, timeout=10, **client_kw) as client:  # type: ignore[arg-type]
        if name in ("page", "json"):
            page = await client.get("/signin")
            csrf = re.search(r'name="csrf" value="([^"]+)"', page.text)
            assert csrf, "no sign-in form"
            r = await client.post("/signin", data={"login": "steve", "password": PASSWORD, "csrf": csrf.group(1)})
            assert r.status_code == 303, r.text[:300]
        for p in paths[:20]:  # warm up
            await client.get(p)
        lat, errors, elapsed = await load(client, paths, rate, duration)
    return {
        "requests": len(lat),
        "errors": errors,
        "rps": len(lat) / elapsed,
        "p50": statistics.median(lat),
        "p99": pct(lat, 99),
        "max": max(lat),
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rate", type=float, default=200.0)
    ap.add_argument("--duration", type=float, default=10.0)
    ap.add_argument("--services", type=int, default=10_000)
    args = ap.parse_args()

    with tempfile.TemporaryDirectory(prefix="itsm-portal-bench-") as tmp:
        t0 = time.perf_counter()
        config = make_deployment(Path(tmp), args.services)
        from urllib.parse import quote

        qs = [quote(q) for q in QUERIES]
        targets = [
            ("bare", None, ["/"], {}),
            ("page", config, [f"/search?q={q}" for q in qs], {}),
            ("json", config, [f"/search.json?q={q}" for q in qs], {}),
            (
                "api",
                config,
                [f"/api/v1/catalog?q={q}&customer=steve" for q in qs],
                {"headers": {"Authorization": f"Bearer {TOKEN}"}},
            ),
        ]
        print(
            f"{args.services} services generated in {time.perf_counter() - t0:.1f} s; {args.rate:g} req/s for {args.duration:g} s each"
        )
        results = {}
        portal: tuple[subprocess.Popen[bytes], str] | None = None
        for name, cfg, paths, kw in targets:
            if cfg is None:
                proc, base = start("bare", None)
            else:
                if portal is None:
                    t1 = time.perf_counter()
                    portal = start("portal", cfg)
                    print(f"portal started in {time.perf_counter() - t1:.1f} s")
                proc, base = portal
            try:
                results[name] = asyncio.run(measure(name, base, paths, args.rate, args.duration, **kw))
            finally:
                if cfg is None:
                    proc.terminate()
                    proc.wait(10)
        if portal is not None:
            portal[0].terminate()
            portal[0].wait(10)

    print(f"\n{'target':<8} {'requests':>8} {'errors':>6} {'req/s':>8} {'p50 ms':>8} {'p99 ms':>8} {'max ms':>8}")
    for name, r in results.items():
        print(
            f"{name:<8} {r['requests']:>8.0f} {r['errors']:>6.0f} {r['rps']:>8.1f} {r['p50']:>8.2f} {r['p99']:>8.2f} {r['max']:>8.2f}"
        )
    worst = max(r["p99"] for n, r in results.items() if n != "bare")
    print(
        f"\ngoal p99 <= 25 ms at {args.rate:g} req/s: {'met' if worst <= 25 else 'NOT met'} (worst portal p99 {worst:.1f} ms)"
    )


if __name__ == "__main__":
    main()
