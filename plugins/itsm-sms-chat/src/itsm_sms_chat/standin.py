"""A local stand-in for the SMS API and the chat API, for demos, trials and tests (127.0.0.1 only).

It answers ``POST /2010-04-01/Accounts/SID/Messages.json`` as a Twilio-compatible API does
(201 and a message ``sid``) and ``POST /chat.postMessage`` as a Slack-compatible one
(``{"ok": true, "channel", "ts"}``), and keeps what it got. It can be told to fail
(``fail_next(500)``). It also plays the provider's other half: :meth:`StandIn.text_in` and
:meth:`StandIn.chat_in` sign a customer's text or chat message as the provider would and post
it to the channel's webhook. Standard library only.
"""

from __future__ import annotations

import contextlib
import itertools
import json
import os
import secrets
import threading
import time
import urllib.request
from collections.abc import Callable, Mapping
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl, urlencode

from .signatures import chat_signature, sms_signature

if TYPE_CHECKING:
    from itsmcore import ComponentContext, Desk

    from .settings import ChatSettings, SmsSettings

MAX_BODY = 1024 * 1024


class StandIn:
    """The SMS and chat APIs on 127.0.0.1 at a free port: ``url``, ``texts``, ``posts``, ``fail_next``."""

    def __init__(self, name: str = "sms-chat", port: int = 0) -> None:
        self.name = name
        self.port = port
        self.texts: list[dict[str, str]] = []
        self.posts: list[dict[str, Any]] = []
        self.auth: list[str] = []
        self._statuses: list[int] = []
        self._lock = threading.Lock()
        self._ts = itertools.count(1)
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        assert self._server is not None, "start() the stand-in first"
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def fail_next(self, *statuses: int) -> None:
        """Answer the next API calls with these HTTP statuses instead."""
        with self._lock:
            self._statuses.extend(statuses)

    def start(self) -> StandIn:
        standin = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: Any) -> None:
                return

            def _answer(self, status: int, data: Mapping[str, Any]) -> None:
                raw = json.dumps(data).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(raw)))
                self.end_headers()
                self.wfile.write(raw)

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                if length > MAX_BODY:
                    self._answer(413, {"message": "too large"})
                    return
                raw = self.rfile.read(length)
                with standin._lock:
                    status = standin._statuses.pop(0) if standin._statuses else 0
                    standin.auth.append(self.headers.get("Authorization", ""))
                if status:
                    self._answer(status, {"ok": False, "error": "stand-in told to fail", "message": "told to fail"})
                    return
                if self.path.endswith("/Messages.json"):
                    form = dict(parse_qsl(raw.decode("utf-8", "replace"), keep_blank_values=True))
                    sid = "SM" + secrets.token_hex(16)
                    with standin._lock:
                        standin.texts.append({**form, "sid": sid})
                    self._answer(201, {"sid": sid, "status": "queued", "to": form.get("To"), "body": form.get("Body")})
                elif self.path.endswith("/chat.postMessage"):
                    try:
                        payload = json.loads(raw or b"{}")
                    except ValueError:
                        payload = {}
                    ts = f"{int(time.time())}.{next(standin._ts):06d}"
                    with standin._lock:
                        standin.posts.append({**payload, "ts": ts})
                    self._answer(200, {"ok": True, "channel": payload.get("channel"), "ts": ts})
                else:
                    self._answer(404, {"ok": False, "error": "unknown_method"})

        self._server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.05},
            name=f"itsm-sms-chat-standin-{self.name}",
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

    # ------------------------------------------------------------------ the provider's inbound half

    @staticmethod
    def text_in(webhook: str, token: str, sender: str, body: str, *, to: str = "", sid: str = "") -> tuple[int, str]:
        """Post a customer's text to the SMS webhook, signed as the provider signs it; (status, response body)."""
        form = {"MessageSid": sid or "SM" + secrets.token_hex(16), "From": sender, "To": to, "Body": body}
        headers = {"X-Twilio-Signature": sms_signature(token, webhook, form.items())}
        return _post(webhook, urlencode(form).encode(), "application/x-www-form-urlencoded", headers)

    @staticmethod
    def chat_in(
        webhook: str, secret: str, user: str, text: str, *, channel: str, thread_ts: str | None = None
    ) -> tuple[int, str]:
        """Post a chat message event to the Events API endpoint, signed as the platform signs it."""
        event: dict[str, Any] = {"type": "message", "user": user, "text": text, "channel": channel}
        event["ts"] = f"{time.time():.6f}"
        if thread_ts:
            event["thread_ts"] = thread_ts
        payload = {"type": "event_callback", "event_id": "Ev" + secrets.token_hex(8), "event": event}
        raw = json.dumps(payload).encode()
        stamp = str(int(time.time()))
        headers = {"X-Slack-Request-Timestamp": stamp, "X-Slack-Signature": chat_signature(secret, stamp, raw)}
        return _post(webhook, raw, "application/json", headers)

    def summary(self) -> str:
        with self._lock:
            texts, posts = list(self.texts), list(self.posts)
        parts = []
        if texts:
            parts.append(
                f"{len(texts)} text{'s' if len(texts) != 1 else ''} to {', '.join(sorted({t['To'] for t in texts}))}"
            )
        if posts:
            threaded = sum(1 for p in posts if p.get("thread_ts"))
            parts.append(f"{len(posts)} chat message{'s' if len(posts) != 1 else ''} ({threaded} in threads)")
        return f"SMS/chat API stand-in (channels.{self.name}) got " + ("; ".join(parts) or "nothing")


def _post(url: str, data: bytes, content_type: str, headers: Mapping[str, str]) -> tuple[int, str]:
    request = urllib.request.Request(url, data=data, method="POST", headers={"Content-Type": content_type, **headers})
    try:
        with urllib.request.urlopen(request, timeout=30) as r:
            return int(r.status), r.read().decode("utf-8", "replace")
    except urllib.error.HTTPError as e:
        return int(e.code), e.read().decode("utf-8", "replace")


class _Sandbox(contextlib.AbstractContextManager[Mapping[str, Any]]):
    """Starts a stand-in, sets the secrets it needs in the environment (random), and yields the overrides."""

    def __init__(self, name: str, secrets_env: Mapping[str, str]):
        self.standin = StandIn(name)
        self.secrets_env = dict(secrets_env)
        self._saved: dict[str, str | None] = {}

    def __enter__(self) -> Mapping[str, Any]:
        self.standin.start()
        for env, value in self.secrets_env.items():
            self._saved[env] = os.environ.get(env)
            os.environ[env] = value
        return {"api_url": self.standin.url}

    def __exit__(self, *exc: object) -> None:
        self.standin.stop()
        for env, value in self._saved.items():
            if value is None:
                os.environ.pop(env, None)
            else:
                os.environ[env] = value

    def summary(self) -> str:
        return self.standin.summary()


def sms_sandbox(settings: SmsSettings, context: ComponentContext) -> _Sandbox:
    """The ``twilio-sms`` sandbox: the API stand-in; the auth token (random) in the setting's variable if unset."""
    env = {} if os.environ.get(settings.auth_token_env) else {settings.auth_token_env: secrets.token_urlsafe(24)}
    return _Sandbox(context.name, env)


class _ChatSandbox(_Sandbox):
    """The chat sandbox; ``itsm demo`` also runs its :meth:`demo`: a customer reports and confirms by chat."""

    demo_title = "Chat: Steve reports a problem and confirms the fix in its thread"

    def __init__(self, name: str, secrets_env: Mapping[str, str], settings: ChatSettings):
        super().__init__(name, secrets_env)
        self.settings = settings

    def demo(self, desk: Desk, say: Callable[[str], None]) -> int | None:
        """Events signed as the platform signs them, handed to the channel's web app in this process."""
        from .chat import ChatChannel

        channel = desk.channels().get(self.standin.name)
        if not isinstance(channel, ChatChannel):
            return None
        customer = next((c for c in desk.list_customers() if channel.address_for(c)), None)
        if customer is None:
            say("No customer has a chat id in the directory: nothing to show.")
            return None
        secret = os.environ.get(self.settings.signing_secret_env, "")
        app = channel.web_app(desk)
        user = str(channel.address_for(customer))
        dm = "D" + user.removeprefix("U")  # the direct-message conversation with the app
        first = customer.name.split()[0]
        report = "The CRM will not let me save a contact"
        status, answer = event_in(app, secret, user, report, channel=dm, ts="1700000000.000100")
        (demand,) = desk.list_demands(customer=customer.id, limit=1)
        say(f"{first} writes to the service desk's chat app: {report!r} (the webhook answered {status}: {answer}).")
        say(
            f"In the thread of his message: {self.standin.posts[-1]['text'] if self.standin.posts else '(nothing yet)'}"
        )
        desk.resolve(demand.id, "We fixed the contact form; saving works again.")
        said = " / ".join(line for line in self.standin.posts[-1]["text"].splitlines() if line.strip())
        say(f"The service desk fixes it; in the same thread: '{said}'")
        status, answer = event_in(
            app, secret, user, "yes", channel=dm, ts="1700000100.000200", thread_ts="1700000000.000100"
        )
        say(f"{first} answers 'yes' in the thread ({answer}): demand #{demand.id} is {desk.get(demand.id).state}.")
        return demand.id


def event_in(
    app: Any, secret: str, user: str, text: str, *, channel: str, ts: str, thread_ts: str | None = None
) -> tuple[int, str]:
    """Hand one signed message event to an Events API web app in this process (no server); (status, body)."""
    import asyncio

    event: dict[str, Any] = {"type": "message", "user": user, "text": text, "channel": channel, "ts": ts}
    if thread_ts:
        event["thread_ts"] = thread_ts
    raw = json.dumps({"type": "event_callback", "event_id": "Ev" + secrets.token_hex(8), "event": event}).encode()
    stamp = str(int(time.time()))
    headers = [
        (b"content-type", b"application/json"),
        (b"content-length", str(len(raw)).encode()),
        (b"x-slack-request-timestamp", stamp.encode()),
        (b"x-slack-signature", chat_signature(secret, stamp, raw).encode()),
    ]
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": "/events",
        "raw_path": b"/events",
        "root_path": "",
        "query_string": b"",
        "headers": headers,
        "client": ("127.0.0.1", 0),
        "server": ("127.0.0.1", 80),
    }
    sent: list[dict[str, Any]] = []
    delivered = False

    async def receive() -> dict[str, Any]:
        nonlocal delivered
        if delivered:
            return {"type": "http.disconnect"}
        delivered = True
        return {"type": "http.request", "body": raw, "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    asyncio.run(app(scope, receive, send))
    status = next((int(m["status"]) for m in sent if m["type"] == "http.response.start"), 0)
    body = b"".join(m.get("body", b"") for m in sent if m["type"] == "http.response.body")
    return status, body.decode("utf-8", "replace")


def chat_sandbox(settings: ChatSettings, context: ComponentContext) -> _ChatSandbox:
    """The ``slack-chat`` sandbox: the API stand-in; a bot token and signing secret (random) if unset."""
    env = {
        name: secrets.token_urlsafe(24)
        for name in (settings.bot_token_env, settings.signing_secret_env)
        if not os.environ.get(name)
    }
    return _ChatSandbox(context.name, env, settings)


def main(argv: list[str] | None = None) -> None:
    """``python -m itsm_sms_chat.standin --port 8026``: the API stand-in in the foreground, printing what it gets."""
    import argparse

    parser = argparse.ArgumentParser(description="A local stand-in for the SMS and chat APIs (127.0.0.1 only).")
    parser.add_argument("--port", type=int, default=8026, help="port on 127.0.0.1 (default 8026)")
    args = parser.parse_args(argv)
    standin = StandIn("standin", args.port).start()
    print(f"SMS API: {standin.url}  chat API: {standin.url}/api  (Ctrl+C to stop)", flush=True)
    seen = 0
    try:
        while True:
            time.sleep(0.5)
            with standin._lock:
                got = [*standin.texts, *standin.posts][seen:]
            for item in got:
                print(json.dumps(item, ensure_ascii=False), flush=True)
            seen += len(got)
    except KeyboardInterrupt:
        pass
    finally:
        standin.stop()


if __name__ == "__main__":
    main()
