"""Every refusal of the API as RFC 9457 problem details (``application/problem+json``): one shape everywhere.

The status comes from the core's error classes (``http_status``: 404 NotFound, 409 Conflict,
422 InvalidInput, 403 Forbidden, ...); the members beside the standard ones say what a
client needs to recover without parsing ``detail``: ``errors`` (field -> message) for
invalid input, ``state`` and ``allowed`` for a conflict, ``scope`` for a token that lacks
one, ``next_step`` for a service the customer may not have.
"""

from __future__ import annotations

import logging
import math
from http import HTTPStatus
from typing import Any

import attrs
import msgspec
from itsmcore import (
    Conflict,
    EditConflict,
    Forbidden,
    IneligibleCustomer,
    InvalidInput,
    TemporaryFailure,
    TooManyAttempts,
)
from starlette.responses import Response

from ..app import error_status

log = logging.getLogger("itsm_portal")

PROBLEM_JSON = "application/problem+json"
#: What a client is told when a desk call could not be answered for now: no server names.
UNAVAILABLE = "This is unavailable right now. Please try again shortly."


@attrs.frozen(kw_only=True)
class Problem:
    """RFC 9457 problem details, with the members this API adds (each only where it applies)."""

    type: str
    title: str
    status: int
    detail: str
    errors: dict[str, str] | None = None
    state: str | None = None
    allowed: list[str] | None = None
    scope: str | None = None
    next_step: str | None = None


class MalformedBody(InvalidInput):
    """The request body is not a JSON object, so there are no fields to check: 400, not 422."""

    http_status = 400


class UnsupportedBody(InvalidInput):
    """The body is not declared as JSON (``Content-Type``): 415, before anything is read."""

    http_status = 415


class BadCursor(InvalidInput):
    """A pagination cursor this server did not hand out, or one changed since: 400."""

    http_status = 400


class MissingScope(Forbidden):
    """The token is valid but lacks the scope the operation needs: 403, naming the scope."""

    def __init__(self, scope: str, name: str, has: tuple[str, ...]):
        self.scope = scope
        super().__init__(
            f"this needs an API token with the {scope!r} scope; token {name!r} has {', '.join(has) or 'none'} "
            f"(make one with 'itsm api-token new NAME --scope {scope}')"
        )


def _slug(status: int) -> str:
    try:
        return HTTPStatus(status).phrase.lower().replace(" ", "-")
    except ValueError:
        return "error"


def problem_response(status: int, detail: str, headers: dict[str, str] | None = None, **members: Any) -> Response:
    """A problem details answer; ``members`` that are ``None`` are left out."""
    try:
        title = HTTPStatus(status).phrase
    except ValueError:
        title = "Error"
    body: dict[str, Any] = {
        "type": f"tag:itsmcore,2026:problem/{_slug(status)}",
        "title": title,
        "status": status,
        "detail": detail,
    }
    body.update({k: v for k, v in members.items() if v is not None})
    return Response(msgspec.json.encode(body), status_code=status, media_type=PROBLEM_JSON, headers=headers)


def problem_for(exc: Exception) -> Response:
    """The answer to a refused call, from the error's class; ``ValueError`` is a name the desk does not know (422)."""
    status = error_status(exc)
    detail = str(exc)
    headers: dict[str, str] = {}
    members: dict[str, Any] = {}
    if isinstance(exc, TemporaryFailure):
        log.warning("answered 503, unavailable: %s", exc)
        status, detail = 503, UNAVAILABLE
        headers["Retry-After"] = str(math.ceil(exc.retry_after or 30))
    if isinstance(exc, InvalidInput) and getattr(exc, "errors", None):
        members["errors"] = {str(k): str(v) for k, v in exc.errors.items()}  # type: ignore[attr-defined]
    if isinstance(exc, Conflict):
        members["state"] = None if exc.state is None else str(exc.state)
        members["allowed"] = [str(a) for a in exc.allowed]
    if isinstance(exc, EditConflict):  # an edit from a replaced version: what changed since, to merge by hand
        members |= {"base": exc.base, "current": exc.current, "diff": exc.diff}
    if isinstance(exc, IneligibleCustomer):
        detail, members["next_step"] = exc.reason, exc.next_step
    if isinstance(exc, MissingScope):
        members["scope"] = exc.scope
    if isinstance(exc, TooManyAttempts):
        headers["Retry-After"] = str(math.ceil(exc.retry_after))
    if status >= 500 and not isinstance(exc, TemporaryFailure):
        log.warning("answered %d: %s", status, exc)
    return problem_response(status, detail, headers, **members)


def unauthorized() -> Response:
    return problem_response(
        401,
        "a valid API token is required (Authorization: Bearer TOKEN)",
        {"WWW-Authenticate": 'Bearer realm="itsm"'},
    )
