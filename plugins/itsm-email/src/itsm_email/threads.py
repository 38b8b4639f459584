"""Signed tokens and Message-IDs that thread mail back to its demand.

A reply token is ``<demand>-<signature>`` (``42-k3j9x0aq2m``); a Message-ID we make is
``<itsm.<demand>.<digest>.<signature>@domain>``. Both are signed with the deployment's
secret, so a forged reply cannot attach itself to someone else's demand. Subject tags
(``[#42]``) are not signed: the mailgate accepts them only from the demand's customer.
"""

from __future__ import annotations

import hashlib
import hmac
import re

_TOKEN = re.compile(r"(?<![0-9A-Za-z])(\d{1,12})-([0-9a-z]{10})(?![0-9A-Za-z])")
_MSGID = re.compile(r"<?itsm\.(\d{1,12})\.([0-9a-f]{16})\.([0-9a-z]{10})@[^>\s]+>?")


def _sign(secret: bytes, text: str) -> str:
    digest = hmac.new(secret, text.encode(), hashlib.sha256).digest()
    # base36 of the first 8 bytes, padded: short, case-insensitive, safe in local parts
    n = int.from_bytes(digest[:8], "big")
    alphabet = "0123456789abcdefghijklmnopqrstuvwxyz"
    out = ""
    while n:
        n, r = divmod(n, 36)
        out = alphabet[r] + out
    return out.rjust(10, "0")[:10]


def reply_token(secret: bytes, demand_id: int) -> str:
    """The signed token naming ``demand_id`` in a Reply-To address."""
    return f"{demand_id}-{_sign(secret, f'reply:{demand_id}')}"


def demand_from_token(secret: bytes, text: str) -> int | None:
    """The demand a signed token in ``text`` names, or ``None`` when there is none or it is forged."""
    for m in _TOKEN.finditer(text.lower()):
        demand_id = int(m.group(1))
        if hmac.compare_digest(m.group(2), _sign(secret, f"reply:{demand_id}")):
            return demand_id
    return None


def message_id(secret: bytes, demand_id: int | None, key: str, domain: str) -> str:
    """A Message-ID stable across retries of one message (same ``key``) and signed for its demand."""
    digest = hashlib.sha256(key.encode()).hexdigest()[:16]
    d = demand_id or 0
    return f"<itsm.{d}.{digest}.{_sign(secret, f'msgid:{d}:{digest}')}@{domain}>"


def thread_root(secret: bytes, demand_id: int, domain: str) -> str:
    """The Message-ID every notification about ``demand_id`` refers to, so mail clients thread them."""
    return message_id(secret, demand_id, f"thread:{demand_id}", domain)


def demand_from_message_id(secret: bytes, value: str) -> int | None:
    """The demand of a Message-ID we made, or ``None`` (not ours, or forged)."""
    m = _MSGID.fullmatch(value.strip())
    if not m:
        return None
    d, digest, sig = int(m.group(1)), m.group(2), m.group(3)
    if d and hmac.compare_digest(sig, _sign(secret, f"msgid:{d}:{digest}")):
        return d
    return None
