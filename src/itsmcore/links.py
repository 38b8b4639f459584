"""Signed, expiring links: "confirm it is fixed", surveys. HMAC-SHA256 with the deployment's secret."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from datetime import datetime, timedelta
from typing import Any

import attrs

from .errors import ItsmError
from .i18n import N_


class InvalidLink(ItsmError):
    """A link that was tampered with, has expired, or belongs to someone else. The message is for the customer:
    an English message id of the catalogs, shown in the reader's language (``translator(...)(str(exc))``)."""

    exit_code = 1


class ExpiredLink(InvalidLink):
    """A genuine link past its expiry: a feature may say what to do instead, in its own words."""

    #: The customer the link was made for (it is genuine): the refusal can speak their language.
    customer_id: str | None = None


@attrs.frozen(kw_only=True)
class LinkClaim:
    """What a signed link stands for."""

    purpose: str  # "announcement", "demand" or "survey"
    target: int
    customer_id: str
    expires: datetime


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def sign(secret: bytes, purpose: str, target: int, customer_id: str, now: datetime, ttl: timedelta) -> str:
    payload = json.dumps(
        {"p": purpose, "t": target, "c": customer_id, "e": int((now + ttl).timestamp())}, separators=(",", ":")
    ).encode()
    mac = hmac.new(secret, payload, hashlib.sha256).digest()
    return f"{_b64(payload)}.{_b64(mac)}"


def verify(secret: bytes, token: str, now: datetime, *, purpose: str | None = None) -> LinkClaim:
    """The claim of a valid token; :class:`InvalidLink` with a friendly message otherwise."""
    broken = InvalidLink(
        N_("This link is not valid. Please use the link from your most recent message, or contact us.")
    )
    try:
        payload_b64, mac_b64 = token.strip().split(".", 1)
        payload = _unb64(payload_b64)
        mac = _unb64(mac_b64)
    except (ValueError, TypeError):
        raise broken from None
    if not hmac.compare_digest(mac, hmac.new(secret, payload, hashlib.sha256).digest()):
        raise broken
    try:
        data: dict[str, Any] = json.loads(payload)
        claim = LinkClaim(
            purpose=str(data["p"]),
            target=int(data["t"]),
            customer_id=str(data["c"]),
            expires=datetime.fromtimestamp(int(data["e"]), tz=now.tzinfo),
        )
    except (ValueError, KeyError, TypeError, OverflowError, OSError):  # OverflowError: a date past any calendar
        raise broken from None
    if purpose is not None and claim.purpose != purpose:
        raise broken
    if now > claim.expires:
        expired = ExpiredLink(
            N_("This link has expired. If the problem is still there, please report it again and we will pick it up.")
        )
        expired.customer_id = claim.customer_id
        raise expired
    return claim
