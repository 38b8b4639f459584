"""The ``sandbox`` of the apprise channel: a webhook receiver on 127.0.0.1, for demos and trials.

The channel's ``url_template`` is replaced by ``json://127.0.0.1:PORT/NAME?:to={address}``:
Apprise posts ``{"title", "message", "type", "to", ...}`` to the receiver, which keeps every
payload. Standard library only (``http.server``); no secret is needed or sent.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Mapping
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from itsmcore import ComponentContext

    from .settings import AppriseSettings

MAX_BODY = 1024 * 1024


class WebhookReceiver:
    """An HTTP server on 127.0.0.1 (a free port) keeping the JSON bodies posted to it."""

    def __init__(self, name: str = "apprise"):
        self.name = name
        self.received: list[dict[str, Any]] = []
        self.lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    @property
    def port(self) -> int:
        return int(self._server.server_address[1]) if self._server is not None else 0

    def start(self) -> WebhookReceiver:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: Any) -> None:
                return

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                if length > MAX_BODY:
                    self.send_response(413)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                raw = self.rfile.read(length)
                try:
                    payload = json.loads(raw.decode("utf-8")) if raw else {}
                except (UnicodeDecodeError, ValueError):
                    payload = {"raw": raw.decode("utf-8", "replace")}
                if not isinstance(payload, dict):
                    payload = {"payload": payload}
                with receiver.lock:
                    receiver.received.append({"path": self.path, **payload})
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"{}")

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.05},
            name=f"itsm-apprise-sandbox-{self.name}",
            daemon=True,
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    def summary(self) -> str:
        with self.lock:
            got = list(self.received)
        line = f"webhook stand-in (channels.{self.name}) got {len(got)} message{'s' if len(got) != 1 else ''}"
        if got:
            to = sorted({str(m.get("to", "")) for m in got if m.get("to")})
            line += f" for {', '.join(to)}" if to else ""
            line += f"; titles: {', '.join(repr(str(m.get('title', ''))) for m in got)}"
        return line


class AppriseSandbox(WebhookReceiver):
    """As a context manager: starts the receiver and yields the ``url_template`` pointing at it."""

    def __enter__(self) -> Mapping[str, Any]:
        self.start()
        return {"url_template": f"json://127.0.0.1:{self.port}/{self.name}?:to={{address}}"}

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()


def apprise_sandbox(settings: AppriseSettings, context: ComponentContext) -> AppriseSandbox:
    """The ``sandbox`` of the apprise channel: a webhook receiver on 127.0.0.1."""
    return AppriseSandbox(context.name)
