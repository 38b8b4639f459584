"""``itsm serve --workers 2`` on PostgreSQL: two processes, one sign-in count."""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
from conftest import API_TOKEN, PASSWORD, TOKENS_ENV, make_eagle5

CSRF = re.compile(r'name="csrf" value="([^"]+)"')


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _lines(log: Path) -> list[dict[str, object]]:
    return [json.loads(x) for x in log.read_text().splitlines() if x.startswith("{")]


def _worker_pids(log: Path, parent: int) -> set[object]:
    return {
        x["pid"]
        for x in _lines(log)
        if x["logger"] == "uvicorn.error" and x["message"] == "Application startup complete." and x["pid"] != parent
    }


def test_two_workers_share_one_sign_in_count(tmp_path: Path, itsm_postgres_url: str) -> None:
    config = make_eagle5(tmp_path / "eagle5")
    config.write_text(
        config.read_text().replace('database = "sqlite:///eagle5.db"', f'database = "{itsm_postgres_url}"')
    )
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("ITSM_")}
    env |= {TOKENS_ENV: f"monitoring:{API_TOKEN}", "ITSM_LOG_FORMAT": "json"}
    log = tmp_path / "serve.log"
    err = log.open("w")
    server = subprocess.Popen(
        [sys.executable, "-m", "itsmcore", "-c", str(config), "serve", "--port", str(port), "--workers", "2"],
        stdout=subprocess.DEVNULL,
        stderr=err,
        env=env,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 90
        while len(_worker_pids(log, server.pid)) < 2:  # both workers up, each logging in JSON as it was told
            assert server.poll() is None and time.monotonic() < deadline, log.read_text()[-3000:]
            time.sleep(0.2)
        workers = _worker_pids(log, server.pid)

        with httpx.Client(base_url=base, follow_redirects=False, timeout=30) as browser:
            token = CSRF.search(browser.get("/signin").text)
            assert token, "no CSRF field on the sign-in page"
            form = {"login": "tony", "password": "wrong", "csrf": token.group(1)}

            def attempt(**changes: str) -> httpx.Response:
                # a new connection each time, so that either worker may answer it
                return browser.post("/signin", data=form | changes, headers={"Connection": "close"})

            def burst_attempt(_: int) -> int:
                with httpx.Client(base_url=base, cookies=browser.cookies, timeout=30) as other:
                    return other.post("/signin", data=form, headers={"Connection": "close"}).status_code

            # a burst of simultaneous attempts, spread over both processes: only the limit's worth are checked
            with ThreadPoolExecutor(max_workers=12) as pool:
                burst = list(pool.map(burst_attempt, range(12)))
            assert sorted(burst) == [401] * 5 + [429] * 7, burst

            statuses: list[int] = []
            refusals: set[str] = set()  # request ids answered 429
            refused_by: set[object] = set()  # the worker pids that answered them (from the access log)
            for _ in range(60):
                r = attempt()
                statuses.append(r.status_code)
                if r.status_code == 429:
                    refusals.add(r.headers["x-request-id"])
                    refused_by = {
                        x["pid"]
                        for x in _lines(log)
                        if x["logger"] == "uvicorn.access" and x.get("request_id") in refusals
                    }
                if refused_by == workers:
                    break
            # still locked, whichever process answers
            assert set(statuses) == {429}, statuses
            assert refused_by == workers, "both workers refused the login the failures locked"
            r = attempt(password=PASSWORD)  # the right password is not even checked now
            assert r.status_code == 429 and "Too many attempts" in r.text and int(r.headers["retry-after"]) > 60
            assert attempt(login="steve", password=PASSWORD).status_code == 303  # another login is not locked
            health = httpx.get(f"{base}/healthz", timeout=10)
            assert health.status_code == 200
    finally:
        server.send_signal(signal.SIGINT)
        try:
            server.wait(timeout=30)
        finally:
            if server.poll() is None:
                server.kill()
            err.close()
    lines = _lines(log)
    assert len(workers) == 2 and server.pid not in workers
    assert any(x["pid"] == server.pid and "Started parent process" in str(x["message"]) for x in lines)
    finished = {x["pid"] for x in lines if str(x["message"]).startswith("Finished server process")}
    assert finished == workers, "both workers stopped cleanly with the parent"
