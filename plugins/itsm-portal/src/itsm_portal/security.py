"""CSRF tokens and the older API tokens (from an environment variable or a file; the store keeps the newer ones)."""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
from collections.abc import Mapping, MutableMapping
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
