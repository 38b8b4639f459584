"""The two providers' request signatures, computed and checked in constant time.

* SMS (Twilio-compatible): ``X-Twilio-Signature`` is the base64 of HMAC-SHA1, keyed with the
  auth token, over the full webhook URL followed by every form parameter's name and value,
  sorted by name.
* Chat (Slack-compatible): ``X-Slack-Signature`` is ``v0=`` and the hex of HMAC-SHA256, keyed
  with the signing secret, over ``v0:TIMESTAMP:BODY`` where TIMESTAMP is the
  ``X-Slack-Request-Timestamp`` header; a timestamp outside the replay window is refused.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Iterable


def sms_signature(token: str, url: str, params: Iterable[tuple[str, str]]) -> str:
    """The ``X-Twilio-Signature`` of a form post of ``params`` to ``url``."""
    data = url + "".join(name + value for name, value in sorted(params))
    digest = hmac.new(token.encode("utf-8"), data.encode("utf-8"), hashlib.sha1).digest()
    return base64.b64encode(digest).decode("ascii")


def sms_signature_ok(token: str, url: str, params: Iterable[tuple[str, str]], given: str) -> bool:
    return bool(given) and hmac.compare_digest(sms_signature(token, url, params).encode(), given.encode())


def chat_signature(secret: str, timestamp: str, body: bytes) -> str:
    """The ``X-Slack-Signature`` of ``body`` sent at ``timestamp`` (seconds since the epoch, as text)."""
    base = b"v0:" + timestamp.encode("ascii", "replace") + b":" + body
    return "v0=" + hmac.new(secret.encode("utf-8"), base, hashlib.sha256).hexdigest()


def chat_signature_ok(secret: str, timestamp: str, body: bytes, given: str, now: float, window: int) -> str | None:
    """``None`` when the signature is good and fresh, else why not (for the log; the caller answers 403)."""
    if not timestamp.isdigit():
        return "no valid request timestamp"
    if abs(now - int(timestamp)) > window:
        return f"request timestamp {timestamp} is more than {window} s from now (stale or replayed)"
    if not given or not hmac.compare_digest(chat_signature(secret, timestamp, body).encode(), given.encode()):
        return "bad signature"
    return None
