"""A webhook receiver on 127.0.0.1: the stand-in ``itsm demo`` posts to, and what tests script.

It keeps every request (headers and body), answers each from a script of behaviours
(``ok``, ``fail``, ``slow``, ``gone``, ``redirect``, ``huge``; then ``ok`` once the
script is used up) and can be stopped and started again on the same port, as a receiver
that restarts. ``python -m itsm_webhooks.receiver --port 8026`` runs one in the foreground
and prints what it receives.
"""

from __future__ import annotations

import argparse
import collections
import contextlib
import json
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import attrs

HUGE = 10 * 1024 * 1024


@attrs.frozen
class Received:
    path: str
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    receiver: Receiver


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    protocol_version = "HTTP/1.1"  # keep-alive: every answer has its length
    disable_nagle_algorithm = True  # headers and body go out at once, not 40 ms apart

    def log_message(self, format: str, *args: Any) -> None:  # quiet
        return None

    def do_POST(self) -> None:
        rec = self.server.receiver
        body = self.rfile.read(int(self.headers.get("content-length") or 0))
        behaviour = rec.next_behaviour()
        if behaviour == "slow":
            time.sleep(rec.slow_seconds)
        with rec.lock:
            rec.received.append(Received(self.path, {k.lower(): v for k, v in self.headers.items()}, body))
        if behaviour == "fail":
            self._answer(500, b'{"error": "scripted failure"}')
        elif behaviour == "gone":
            self._answer(410, b"gone")
        elif behaviour == "redirect":
            self.send_response(302)
            self.send_header("location", f"http://127.0.0.1:{rec.port}/elsewhere")
            self.send_header("content-length", "0")
            self.end_headers()
        elif behaviour == "huge":
            self.send_response(200)
            self.send_header("content-length", str(HUGE))
            self.end_headers()
            chunk = b"x" * 65536
            with contextlib.suppress(OSError):
                for _ in range(HUGE // len(chunk)):
                    self.wfile.write(chunk)
        else:
            self._answer(200, b'{"ok": true}')

    def _answer(self, status: int, body: bytes) -> None:
        self.send_response(status)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(body)))
        self.end_headers()
        with contextlib.suppress(OSError):
            self.wfile.write(body)


class Receiver:
    """A receiving HTTP server in a thread; ``script`` says how the next requests are answered."""

    def __init__(self, port: int = 0, *, slow_seconds: float = 3.0):
        self.port = port
        self.slow_seconds = slow_seconds
        self.lock = threading.Lock()
        self.received: list[Received] = []
        self.script: collections.deque[str] = collections.deque()
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hooks"

    def next_behaviour(self) -> str:
        with self.lock:
            return self.script.popleft() if self.script else "ok"

    def start(self) -> Receiver:
        server = _Server(("127.0.0.1", self.port), _Handler)
        server.receiver = self
        self.port = server.server_address[1]
        self._server = server
        self._thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
        if self._thread is not None:
            self._thread.join(timeout=10)
            self._thread = None

    @classmethod
    @contextlib.contextmanager
    def running(cls, port: int = 0) -> Iterator[Receiver]:
        r = cls(port).start()
        try:
            yield r
        finally:
            r.stop()

    def types(self) -> list[str]:
        with self.lock:
            return [str(r.json().get("type")) for r in self.received]

    def summary(self) -> str:
        counts = collections.Counter(self.types())
        listed = ", ".join(f"{n} {t}" for t, n in sorted(counts.items())) or "nothing"
        with self.lock:
            signed = sum(1 for r in self.received if r.headers.get("webhook-signature", "").startswith("v1,"))
        return (
            f"webhook receiver ({self.url}) got {sum(counts.values())} deliveries, {signed} signed"
            f" (Standard Webhooks): {listed}"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description="A webhook receiver on 127.0.0.1 that prints what it receives.")
    parser.add_argument("--port", type=int, default=8026)
    args = parser.parse_args()
    with Receiver.running(args.port) as r:
        print(f"listening on {r.url}", flush=True)
        seen = 0
        try:
            while True:
                time.sleep(0.2)
                with r.lock:
                    new = r.received[seen:]
                for item in new:
                    print(item.headers.get("webhook-id"), item.body.decode("utf-8", "replace"), flush=True)
                seen += len(new)
        except KeyboardInterrupt:
            pass


if __name__ == "__main__":
    main()
