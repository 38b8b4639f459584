"""A stand-in for Expensatron's account API, for demos and tests (stdlib only).

``POST /api/accounts`` with ``{"email": ..., "name": ...}`` creates an account and answers
``201 {"account": {"id": ..., "login": ..., "email": ..., "name": ...}}``. A request
carrying an ``Idempotency-Key`` seen before gets the first answer again (``200``), so a
retried job never creates a second account. ``GET /api/accounts`` lists the accounts;
``GET /api/health`` answers ``{"ok": true}``. With a ``token`` every ``/api`` call needs
``Authorization: Bearer <token>``.

It listens on 127.0.0.1 only::

    url, stop = start_standin()          # url is "http://127.0.0.1:PORT"
    try:
        ...
    finally:
        stop()
"""

from __future__ import annotations

import hmac
import json
import re
import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

MAX_BODY = 64 * 1024


class Standin:
    """The running stand-in: its URL, accounts, the requests it saw, and ``stop()``."""

    def __init__(self, host: str = "127.0.0.1", port: int = 0, token: str | None = None):
        self.token = token
        self.accounts: list[dict[str, Any]] = []
        self.seen_keys: list[str] = []
        self._by_key: dict[str, dict[str, Any]] = {}
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer((host, port), _handler_for(self))
        self._server.daemon_threads = True
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, name="expensatron-standin", daemon=True
        )

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host.decode() if isinstance(host, bytes) else host}:{port}"

    def start(self) -> Standin:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)

    def create(self, payload: Any, key: str | None) -> tuple[int, dict[str, Any]]:
        """Create an account from a request body; the same key gives the same answer."""
        with self._lock:
            if key:
                self.seen_keys.append(key)
                if key in self._by_key:
                    return 200, self._by_key[key]
            if not isinstance(payload, dict):
                return 400, {"error": {"message": "the body must be a JSON object"}}
            email = payload.get("email")
            name = payload.get("name")
            if not isinstance(email, str) or "@" not in email:
                return 422, {"error": {"message": "email is required and must be an email address"}}
            if name is not None and not isinstance(name, str):
                return 422, {"error": {"message": "name must be a string"}}
            if any(a["email"] == email for a in self.accounts):
                return 409, {"error": {"message": f"an account for {email} already exists"}}
            login = _login_for(email, {a["login"] for a in self.accounts})
            account = {"id": len(self.accounts) + 1, "login": login, "email": email, "name": name or ""}
            self.accounts.append(account)
            answer = {"account": account}
            if key:
                self._by_key[key] = answer
            return 201, answer


def _login_for(email: str, taken: set[str]) -> str:
    base = re.sub(r"[^a-z0-9]+", ".", email.split("@", 1)[0].lower()).strip(".") or "user"
    login, n = base, 1
    while login in taken:
        n += 1
        login = f"{base}{n}"
    return login


def _handler_for(standin: Standin) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        server_version = "ExpensatronStandin/1.0"
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: Any) -> None:  # keep test output quiet
            return

        def _reply(self, status: int, payload: Any) -> None:
            data = json.dumps(payload).encode("utf-8")
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def _authorised(self) -> bool:
            if standin.token is None:
                return True
            given = self.headers.get("Authorization", "")
            if hmac.compare_digest(given.encode(), f"Bearer {standin.token}".encode()):
                return True
            self._reply(401, {"error": {"message": "missing or wrong bearer token"}})
            return False

        def do_GET(self) -> None:
            if self.path == "/api/health":
                self._reply(200, {"ok": True})
            elif self.path == "/api/accounts":
                if self._authorised():
                    with standin._lock:
                        self._reply(200, {"accounts": list(standin.accounts)})
            else:
                self._reply(404, {"error": {"message": f"no such endpoint: GET {self.path[:100]}"}})

        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            if length > MAX_BODY:
                self._reply(413, {"error": {"message": "body too large"}})
                return
            raw = self.rfile.read(length)
            if self.path != "/api/accounts":
                self._reply(404, {"error": {"message": f"no such endpoint: POST {self.path[:100]}"}})
                return
            if not self._authorised():
                return
            try:
                payload = json.loads(raw.decode("utf-8")) if raw else None
            except (UnicodeDecodeError, ValueError):
                self._reply(400, {"error": {"message": "the body is not valid JSON"}})
                return
            status, answer = standin.create(payload, self.headers.get("Idempotency-Key"))
            self._reply(status, answer)

    return Handler


def serve_standin(port: int = 0, token: str | None = None) -> Standin:
    """Start a stand-in on 127.0.0.1 (a free port by default) and return it."""
    return Standin("127.0.0.1", port, token).start()


def start_standin(port: int = 0, token: str | None = None) -> tuple[str, Callable[[], None]]:
    """Start a stand-in on 127.0.0.1; return its base URL and a function that stops it."""
    standin = serve_standin(port, token)
    return standin.url, standin.stop


if __name__ == "__main__":  # python -m itsm_http.standin [PORT]
    import sys

    s = serve_standin(int(sys.argv[1]) if len(sys.argv) > 1 else 8765)
    print(f"Expensatron stand-in listening on {s.url} (Ctrl-C to stop)", flush=True)
    try:
        s._thread.join()
    except KeyboardInterrupt:
        s.stop()
