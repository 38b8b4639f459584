"""What both webhooks share: a bounded body, the directory index, plain answers."""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING

from starlette.requests import Request

if TYPE_CHECKING:
    from itsmcore import Customer, Desk


class BodyTooLarge(Exception):
    pass


async def read_body(request: Request, limit: int) -> bytes:
    """The request body, refused as soon as it (or its declared length) passes ``limit`` bytes."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise BodyTooLarge
    chunks: list[bytes] = []
    seen = 0
    async for chunk in request.stream():
        seen += len(chunk)
        if seen > limit:
            raise BodyTooLarge
        chunks.append(chunk)
    return b"".join(chunks)


_NOT_DIGITS = re.compile(r"[\s().\-/]")


def phone_key(number: str | None) -> str:
    """A phone number reduced to compare: ``+44 7700 900123``, ``0044-7700-900123`` -> ``+447700900123``."""
    if not number:
        return ""
    n = _NOT_DIGITS.sub("", number.strip())
    if n.startswith("00"):
        n = "+" + n[2:]
    return n if re.fullmatch(r"\+?\d{5,16}", n) else ""


class CustomerIndex:
    """Customers by a key the directory holds (a phone number, a chat id), rebuilt at most every ``ttl`` seconds.

    Directories answer lookups by id and email; a webhook knows only a number or a chat user id,
    so the list of customers is read and indexed, not once per message.
    """

    def __init__(self, key: Callable[[Customer], str], ttl: float = 60.0):
        self.key = key
        self.ttl = ttl
        self._lock = threading.Lock()
        self._built = -1e18
        self._index: dict[str, str] = {}

    def find(self, desk: Desk, value: str) -> Customer | None:
        if not value:
            return None
        with self._lock:
            if time.monotonic() - self._built > self.ttl:
                index: dict[str, str] = {}
                for c in desk.list_customers():
                    k = self.key(c)
                    if k:
                        index.setdefault(k, c.id)
                self._index, self._built = index, time.monotonic()
            cid = self._index.get(value)
        return desk.find_customer(cid) if cid else None
