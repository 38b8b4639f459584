"""``itsm serve`` logs like every other itsm process: each line of a request names it, and its demand."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import pytest
from conftest import API_TOKEN, TOKENS_ENV, make_eagle5

OBSERVER = """
import logging

from itsmcore import hookimpl

log = logging.getLogger("observer")


@hookimpl
def itsm_event_recorded(desk, demand, event):
    log.warning("saw a %s event", event.kind)
"""


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _get(url: str, **headers: str) -> tuple[int, dict[str, str], bytes]:
    req = urllib.request.Request(url, headers=headers)
    try:
        with urllib.request.urlopen(req, timeout=10) as r:
            return r.status, dict(r.headers), r.read()
    except urllib.error.HTTPError as e:
        return e.code, dict(e.headers), e.read()


def _post(url: str, body: dict[str, Any], **headers: str) -> tuple[int, dict[str, str]]:
    req = urllib.request.Request(
        url, data=json.dumps(body).encode(), headers={"Content-Type": "application/json", **headers}, method="POST"
    )
    with urllib.request.urlopen(req, timeout=10) as r:
        return r.status, dict(r.headers)


def test_serve_logs_each_request_with_its_id_and_its_demand_in_json(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = make_eagle5(tmp_path / "eagle5", extra='\n[plugins]\nmodules = ["observer_plugin"]\n')
    (config.parent / "observer_plugin.py").write_text(OBSERVER)
    monkeypatch.syspath_prepend(str(config.parent))
    from itsmcore import Desk

    with Desk.open(config) as desk:
        demand_id = desk.submit("failure", "steve", "The CRM shows an error").demand.id

    port = _free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("ITSM_")}
    env |= {TOKENS_ENV: f"monitoring:{API_TOKEN}", "PYTHONPATH": os.pathsep.join([str(config.parent), *sys.path])}
    env["ITSM_LOG_FORMAT"] = "json"
    err = (tmp_path / "serve.log").open("w")
    server = subprocess.Popen(
        [sys.executable, "-m", "itsmcore", "-c", str(config), "serve", "--port", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=err,
        env=env,
    )
    base = f"http://127.0.0.1:{port}"
    auth = f"Bearer {API_TOKEN}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if _get(f"{base}/healthz")[0] == 200:
                    break
            except OSError:
                pass
            assert server.poll() is None and time.monotonic() < deadline, (tmp_path / "serve.log").read_text()
            time.sleep(0.1)
        status, headers, _ = _get(f"{base}/api/v1/demands/{demand_id}", Authorization=auth, **{"X-Request-ID": "lb-7"})
        assert status == 200 and headers["x-request-id"] == "lb-7"
        status, commented = _post(
            f"{base}/api/v1/demands/{demand_id}/comments", {"text": "Still broken"}, Authorization=auth
        )
        assert status == 201
        status, home, _ = _get(f"{base}/healthz")
        assert status == 200 and len(home["x-request-id"]) == 16, "a request without an id gets a new one"
    finally:
        server.send_signal(signal.SIGINT)
        server.wait(timeout=30)
        err.close()

    lines = [json.loads(x) for x in (tmp_path / "serve.log").read_text().splitlines() if x.startswith("{")]
    # uvicorn's access log goes through the same handler: the read names its demand and the proxy's request id
    access = [x for x in lines if x["logger"] == "uvicorn.access"]
    (read,) = [x for x in access if f"/api/v1/demands/{demand_id} " in x["message"]]
    assert read["demand_id"] == demand_id and read["request_id"] == "lb-7" and read["level"] == "INFO"
    (health,) = [x for x in access if "/healthz" in x["message"] and x["request_id"] == home["x-request-id"]]
    assert health["demand_id"] is None
    # a plugin's line, logged from the desk call in the threadpool, carries the request's id and the demand's
    (observed,) = [x for x in lines if x["logger"] == "observer" and x["message"] == "saw a comment event"]
    assert observed["request_id"] == commented["x-request-id"] and observed["demand_id"] == demand_id
    # uvicorn's own lines too (started, shutting down)
    assert any(x["logger"] == "uvicorn.error" and "Uvicorn running" in x["message"] for x in lines)
