"""Real HTTP servers on 127.0.0.1 for the http action's tests.

``api`` is a scripted JSON API (stdlib ``http.server`` in a thread) that records every
request and answers from a queue of scripted replies; ``standin`` is the Expensatron
stand-in the plugin ships. Both listen on a free port and stop after the test. Nothing
here needs a binary outside Python, so nothing is skipped.
"""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import attrs
import pytest
from itsmcore import ActionRequest, Customer, Demand, DemandKind, Service

from itsm_http.standin import Standin, serve_standin

pytest_plugins = ["itsmcore.testing"]


@attrs.frozen
class Seen:
    """One request as the server received it."""

    method: str
    path: str
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body.decode("utf-8"))

    def header(self, name: str) -> str | None:
        for k, v in self.headers.items():
            if k.lower() == name.lower():
                return v
        return None


@attrs.define
class Reply:
    status: int = 201
    payload: Any = attrs.field(factory=lambda: {"account": {"login": "steve.jones", "id": 7}})
    delay: float = 0.0
    headers: dict[str, str] = attrs.field(factory=dict)
    raw: bytes | None = None


class ScriptedApi:
    """A JSON API whose answers a test scripts: ``api.then(503)``, ``api.then(201, {...})``."""

    def __init__(self) -> None:
        self.requests: list[Seen] = []
        self.script: list[Reply] = []
        self.default = Reply()
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True)
        self.thread.start()

    @property
    def url(self) -> str:
        host, port = self.server.server_address[:2]
        return f"http://{host.decode() if isinstance(host, bytes) else host}:{port}"

    def then(self, status: int = 201, payload: Any = None, **kw: Any) -> ScriptedApi:
        reply = Reply(status=status, **kw) if payload is None else Reply(status=status, payload=payload, **kw)
        self.script.append(reply)
        return self

    def stop(self) -> None:
        self._stopping.set()
        self.server.shutdown()
        self.server.server_close()

    def _next(self, seen: Seen) -> Reply:
        with self._lock:
            self.requests.append(seen)
            return self.script.pop(0) if self.script else self.default

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        api = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: Any) -> None:
                return

            def _serve(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                reply = api._next(Seen(self.command, self.path, dict(self.headers.items()), body))
                if reply.delay:
                    api._stopping.wait(reply.delay)
                data = reply.raw if reply.raw is not None else json.dumps(reply.payload).encode()
                try:
                    self.send_response(reply.status)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(data)))
                    for k, v in reply.headers.items():
                        self.send_header(k, v)
                    self.end_headers()
                    self.wfile.write(data)
                except (BrokenPipeError, ConnectionResetError):
                    pass

            do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _serve

        return Handler


@pytest.fixture
def api() -> Iterator[ScriptedApi]:
    server = ScriptedApi()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def standin() -> Iterator[Standin]:
    s = serve_standin()
    try:
        yield s
    finally:
        s.stop()


@pytest.fixture
def closed_port() -> int:
    """A port on 127.0.0.1 where nothing listens (connection refused)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
    time.sleep(0.01)
    return port


SERVICE = Service(key="expensatron", name="Expensatron expenses app")


def make_request(
    params: Any = None,
    *,
    key: str = "test:demand:42:step:0",
    customer: Customer | None = None,
    answers: dict[str, Any] | None = None,
    outputs: dict[str, Any] | None = None,
    attempt: int = 1,
) -> ActionRequest:
    """An ActionRequest for Steve's Expensatron request (no desk: the http action needs none)."""
    from itsmcore.testing import sample_customer

    now = datetime.now(UTC)
    cust = customer or sample_customer()
    demand = Demand(
        id=42,
        kind=DemandKind.VALUE,
        customer_id=cust.id,
        summary="Expensatron expenses app",
        channel="portal",
        service_key="expensatron",
        answers=answers if answers is not None else {"mobile_number": "+447700900123", "mobile_os": "iOS"},
        created_at=now,
        updated_at=now,
    )
    return ActionRequest(
        demand=demand,
        customer=cust,
        service=SERVICE,
        params=params,
        idempotency_key=key,
        attempt=attempt,
        outputs=outputs or {},
        desk=None,  # type: ignore[arg-type]
    )


@pytest.fixture
def request_for() -> Callable[..., ActionRequest]:
    return make_request
