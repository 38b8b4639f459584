"""A local SMTP sink for demos and trials: ``itsm demo`` points the channel at it.

The sink is aiosmtpd on 127.0.0.1 at a free port, plain SMTP without AUTH, keeping
every message in memory. It needs the ``sandbox`` extra: ``pip install itsm-email[sandbox]``.
"""

from __future__ import annotations

import socket
import threading
from collections.abc import Mapping
from email import message_from_bytes, policy
from email.message import EmailMessage
from types import TracebackType
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from itsmcore import ComponentContext

    from .settings import EmailSettings


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class _Keep:
    def __init__(self, sink: SmtpSink):
        self.sink = sink

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        raw = envelope.original_content or envelope.content
        message = message_from_bytes(bytes(raw), policy=policy.default)
        with self.sink.lock:
            self.sink.envelopes.append((str(envelope.mail_from), [str(r) for r in envelope.rcpt_tos]))
            self.sink.messages.append(message)  # type: ignore[arg-type,unused-ignore]
        return "250 Message accepted for delivery"


class SmtpSink:
    """An SMTP server on 127.0.0.1 that accepts every message and keeps it.

    As a context manager it yields the channel settings that point at it
    (``host``, ``port``, ``security = "none"``, no AUTH).
    """

    def __init__(self, name: str = "email"):
        self.name = name
        self.messages: list[EmailMessage] = []
        self.envelopes: list[tuple[str, list[str]]] = []
        self.lock = threading.Lock()
        self.port = 0
        self._controller: Any = None

    def start(self) -> SmtpSink:
        try:
            from aiosmtpd.controller import Controller
        except ImportError as e:
            raise RuntimeError(
                "the email sandbox needs aiosmtpd: pip install 'itsm-email[sandbox]' "
                "(in this repository: uv pip install -e 'plugins/itsm-email[sandbox]')"
            ) from e
        self.port = _free_port()
        self._controller = Controller(_Keep(self), hostname="127.0.0.1", port=self.port)
        self._controller.start()
        return self

    def stop(self) -> None:
        if self._controller is not None:
            self._controller.stop()
            self._controller = None

    def recipients(self) -> list[str]:
        with self.lock:
            return [r for _sender, rcpts in self.envelopes for r in rcpts]

    def summary(self) -> str:
        with self.lock:
            n = len(self.messages)
            subjects = [" ".join(str(m.get("Subject", "")).split()) for m in self.messages]
        to = sorted(set(self.recipients()))
        line = f"SMTP sink (channels.{self.name}, 127.0.0.1:{self.port}) got {n} message{'s' if n != 1 else ''}"
        if to:
            line += f" for {', '.join(to)}"
        if subjects:
            line += f"; first: {subjects[0]!r}"
        return line

    def __enter__(self) -> Mapping[str, Any]:
        self.start()
        return {
            "host": "127.0.0.1",
            "port": self.port,
            "security": "none",
            "username": None,
            "password_env": None,
            "password_file": None,
        }

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()


def email_sandbox(settings: EmailSettings, context: ComponentContext) -> SmtpSink:
    """The ``sandbox`` of the email channel: an SMTP sink on 127.0.0.1."""
    return SmtpSink(context.name)
