"""The kinds of error itsmcore raises on purpose (here so the model can use them without a cycle).

Every error says what kind of problem it is by its class, not by its wording: callers
map a kind to an answer in one place (the portal to an HTTP status with
``http_status``, the CLI to an exit status with ``exit_code``), never by class-name
strings. The kinds:

- :class:`InvalidInput`: what was given cannot be used (HTTP 422);
- :class:`Conflict`: the thing asked for is in the wrong state for it, e.g. approving
  twice or resolving a resolved announcement (HTTP 409);
- :class:`NotFound`: no such thing, or not one the caller may see (HTTP 404);
- :class:`Forbidden`: it exists, but the caller may not do this (HTTP 403).
"""

from __future__ import annotations

from collections.abc import Iterable


class ItsmError(Exception):
    """Base of every error itsmcore raises on purpose."""

    #: The CLI's exit status for this error.
    exit_code = 1
    #: The HTTP status an API answers this error with.
    http_status = 500


class InvalidInput(ItsmError, ValueError):
    """What was given cannot be used: a missing or malformed value. Nothing was changed."""

    http_status = 422


class Conflict(ItsmError):
    """The request is valid but the thing it is about is in the wrong state for it. Nothing was changed.

    ``state`` is where the thing is now and ``allowed`` what may be asked of it from
    there, when the caller can tell (a demand's allowed next states).
    """

    http_status = 409

    def __init__(self, message: str, *, state: str | None = None, allowed: Iterable[str] = ()):
        self.state = state
        self.allowed = sorted(str(a) for a in allowed)
        super().__init__(message)


class NotFound(ItsmError, LookupError):
    """No such thing (or none the caller may see: a customer asking for someone else's demand)."""

    http_status = 404


class Forbidden(ItsmError):
    """The thing exists but the caller may not do this to it."""

    http_status = 403
