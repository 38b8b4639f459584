"""Cursor pagination: an opaque, signed cursor says where the next page starts and for which filters.

A cursor is the last id of a page and a digest of the filters, signed with the
deployment's secret: one that was changed, or used with other filters, is refused with
400 rather than giving a wrong page.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from collections.abc import Mapping

from .problems import BadCursor


def _sign(secret: bytes, payload: bytes) -> str:
    return base64.urlsafe_b64encode(hmac.new(secret, payload, hashlib.sha256).digest()[:16]).decode().rstrip("=")


def _filters(filters: Mapping[str, object]) -> str:
    text = json.dumps({k: v for k, v in sorted(filters.items()) if v not in (None, False, "")}, sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()[:12]


def make_cursor(secret: bytes, last_id: int, filters: Mapping[str, object]) -> str:
    """The cursor of the page after the one that ended at ``last_id``."""
    payload = json.dumps({"before": last_id, "filters": _filters(filters)}, separators=(",", ":")).encode()
    return f"{base64.urlsafe_b64encode(payload).decode().rstrip('=')}.{_sign(secret, payload)}"


def read_cursor(secret: bytes, cursor: str, filters: Mapping[str, object]) -> int:
    """The id the next page starts before; :class:`BadCursor` (400) for anything this server did not hand out."""
    refused = BadCursor(
        "invalid cursor: pass back the next_cursor of the previous page unchanged, with the same filters"
    )
    head, _, signature = cursor.partition(".")
    try:
        payload = base64.urlsafe_b64decode(head + "=" * (-len(head) % 4))
    except (ValueError, TypeError):
        raise refused from None
    if not hmac.compare_digest(_sign(secret, payload).encode(), signature.encode()):
        raise refused
    try:
        data = json.loads(payload)
        before = int(data["before"])
    except (ValueError, KeyError, TypeError):
        raise refused from None
    if data.get("filters") != _filters(filters):
        raise BadCursor("this cursor belongs to a listing with other filters: start again without a cursor")
    return before
