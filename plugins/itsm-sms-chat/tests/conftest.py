"""A deployment with the SMS and chat channels against the API stand-in, served over real HTTP on 127.0.0.1.

The webhooks are served as ``itsm serve`` serves them: the portal's app, which mounts each
channel's web app at ``/channels/NAME`` (without the portal installed, the same mounts alone).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from itsmcore import Desk

from itsm_sms_chat.standin import StandIn

pytest_plugins = ["itsmcore.testing"]

SMS_TOKEN = "sms-token-for-tests"
CHAT_SECRET = "chat-signing-secret-for-tests"
STEVE_CHAT = "U0STEVE"

CHANNELS = """
[channels.log]
use = "log"

[channels.sms]
use = "twilio-sms"
account_sid = "AC0000test"
from_number = "+447700900999"
api_url = "{api}"
auth_token_env = "TEST_SMS_TOKEN"

[channels.chat]
use = "slack-chat"
api_url = "{api}"
bot_token_env = "TEST_CHAT_BOT_TOKEN"
signing_secret_env = "TEST_CHAT_SECRET"
"""


@pytest.fixture
def standin() -> Iterator[StandIn]:
    s = StandIn("tests").start()
    try:
        yield s
    finally:
        s.stop()


@pytest.fixture
def config(itsm_deployment_factory: Callable[..., Path], standin: StandIn, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("TEST_SMS_TOKEN", SMS_TOKEN)
    monkeypatch.setenv("TEST_CHAT_BOT_TOKEN", "xoxb-test")
    monkeypatch.setenv("TEST_CHAT_SECRET", CHAT_SECRET)
    path = itsm_deployment_factory(CHANNELS.format(api=standin.url))
    customers = path.parent / "customers.toml"
    text = customers.read_text(encoding="utf-8")
    # Steve's chat user id, in the directory attribute the chat channel reads (chat_attribute = "chat")
    customers.write_text(
        text.replace('manager = "scott"\n', f'manager = "scott"\nattributes = {{ chat = "{STEVE_CHAT}" }}\n', 1),
        encoding="utf-8",
    )
    return path


class Server:
    """The deployment's web app under uvicorn on 127.0.0.1 at a free port."""

    def __init__(self, desk: Desk):
        import uvicorn

        try:
            from itsm_portal.app import create_app

            app: Any = create_app(desk=desk)
        except ImportError:  # the plugin's own CI, without the portal: the same mounts alone
            from starlette.applications import Starlette
            from starlette.routing import Mount

            mounts = [
                Mount(f"/channels/{n}", app=c.web_app(desk))
                for n, c in desk.channels().items()
                if hasattr(c, "web_app")
            ]
            app = Starlette(routes=mounts)
        config = uvicorn.Config(app, host="127.0.0.1", port=0, log_config=None, lifespan="off")
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)
        self.thread.start()
        deadline = time.monotonic() + 60
        while not self.server.started:
            assert time.monotonic() < deadline and self.thread.is_alive(), "the web app did not start"
            time.sleep(0.02)
        self.url = f"http://127.0.0.1:{self.server.servers[0].sockets[0].getsockname()[1]}"

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=30)


@pytest.fixture
def desk(config: Path) -> Iterator[Desk]:
    with Desk.open(config) as d:
        yield d


@pytest.fixture
def serve() -> Iterator[Callable[[Desk], Server]]:
    started: list[Server] = []

    def start(desk: Desk) -> Server:
        started.append(Server(desk))
        return started[-1]

    yield start
    for s in started:
        s.stop()


@pytest.fixture
def server(desk: Desk, serve: Callable[[Desk], Server]) -> Server:
    return serve(desk)


def wait_for(condition: Callable[[], Any], what: str, timeout: float = 60) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.05)
