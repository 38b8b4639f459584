"""CSRF tokens, the sign-in rate limit and API tokens."""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
import threading
import time
from collections import deque
from collections.abc import Callable, Mapping, MutableMapping
from pathlib import Path
from typing import Any

CSRF_FIELD = "csrf"
CSRF_HEADER = "x-csrf-token"


def csrf_token(session: MutableMapping[str, Any]) -> str:
    """The session's CSRF token, made on first use."""
    token = session.get(CSRF_FIELD)
    if not isinstance(token, str) or len(token) < 20:
        token = secrets.token_urlsafe(32)
        session[CSRF_FIELD] = token
    return token


def csrf_ok(session: Mapping[str, Any], sent: object) -> bool:
    expected = session.get(CSRF_FIELD)
    return (
        isinstance(expected, str)
        and isinstance(sent, str)
        and bool(sent)
        and hmac.compare_digest(expected.encode(), sent.encode())
    )


class SignInLimiter:
    """Counts failed sign-ins per (login, address) in memory; too many within the window blocks that pair."""

    def __init__(self, attempts: int, window: float, clock: Callable[[], float] = time.monotonic):
        self.attempts = attempts
        self.window = window
        self.clock = clock
        self._failures: dict[tuple[str, str], deque[float]] = {}
        self._lock = threading.Lock()

    def _recent(self, key: tuple[str, str], now: float) -> deque[float]:
        q = self._failures.setdefault(key, deque())
        while q and q[0] <= now - self.window:
            q.popleft()
        return q

    def retry_after(self, login: str, address: str) -> float:
        """Seconds until this pair may try again; 0 when it may try now."""
        key = (login.strip().casefold(), address)
        with self._lock:
            now = self.clock()
            q = self._recent(key, now)
            if len(q) < self.attempts:
                return 0.0
            return max(0.0, q[0] + self.window - now)

    def failed(self, login: str, address: str) -> None:
        key = (login.strip().casefold(), address)
        with self._lock:
            now = self.clock()
            self._recent(key, now).append(now)
            if len(self._failures) > 100_000:  # a flood of made-up logins must not exhaust memory
                self._failures = {k: v for k, v in self._failures.items() if v and v[-1] > now - self.window}

    def succeeded(self, login: str, address: str) -> None:
        with self._lock:
            self._failures.pop((login.strip().casefold(), address), None)


# ---------------------------------------------------------------------------- API tokens


def new_token() -> str:
    return "itsm_" + secrets.token_urlsafe(32)


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


class ApiTokens:
    """Integration tokens by name, held only as SHA-256 hashes.

    From an environment variable (``name:token`` or ``name:sha256:HEX``, comma separated)
    and from a file of ``name:sha256:HEX`` lines. A plain token in the file is refused.
    """

    def __init__(self, hashes: Mapping[str, str]):
        self._by_hash = {h: name for name, h in hashes.items()}

    @classmethod
    def load(cls, env: str | None, file: Path | None) -> ApiTokens:
        hashes: dict[str, str] = {}
        if env and os.environ.get(env):
            for item in os.environ[env].split(","):
                item = item.strip()
                if not item:
                    continue
                name, _, rest = item.partition(":")
                if not rest:
                    raise ValueError(f"${env}: each token is 'name:token' or 'name:sha256:HEX'")
                hashes[name] = rest[7:].lower() if rest.startswith("sha256:") else hash_token(rest)
        if file is not None and file.exists():
            for n, line in enumerate(file.read_text(encoding="utf-8").splitlines(), 1):
                line = line.strip()
                if not line or line.startswith("#"):
                    continue
                name, _, rest = line.partition(":")
                if not rest.startswith("sha256:") or len(rest) != 7 + 64:
                    raise ValueError(f"{file}:{n}: expected 'name:sha256:HEX' (make one with 'itsm portal-token NAME')")
                hashes[name] = rest[7:].lower()
        return cls(hashes)

    def __len__(self) -> int:
        return len(self._by_hash)

    def check(self, token: str) -> str | None:
        """The name of the integration this token belongs to, else ``None``."""
        if not token:
            return None
        digest = hash_token(token)
        for h, name in self._by_hash.items():
            if hmac.compare_digest(h, digest):
                return name
        return None
