"""Log lines that say which demand (and job, and request) they are about.

Whoever works on a demand opens a :func:`log_context` — the desk around each job and
after it knows a demand's id, the portal around each request, a worker around each
task. The handler :func:`configure_logging` installs copies the current context onto
every record it sees, so a line logged by the core, by a plugin or by a library while a
demand is handled carries that demand's id, in every process (``itsm serve``, ``itsm
jobs run``, ``itsm worker``) and in one shape an operator can grep or ship as JSON.

The context lives in a :class:`contextvars.ContextVar`: it follows a request into the
threadpool and does not leak between threads, tasks or requests.
"""

from __future__ import annotations

import contextvars
import json
import logging
import sys
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import IO, Any

__all__ = ["FIELDS", "JsonFormatter", "LogContextFilter", "TextFormatter", "configure_logging", "log_context"]

#: The fields every line has ("-" in text, ``null`` in JSON when there is none).
FIELDS = ("demand_id", "job_id", "action")

_EMPTY: Mapping[str, Any] = {}
_CONTEXT: contextvars.ContextVar[Mapping[str, Any]] = contextvars.ContextVar("itsm_log_context", default=_EMPTY)
# The attributes a LogRecord has of its own: a context field must not overwrite them.
_RESERVED = frozenset(logging.makeLogRecord({}).__dict__) | {"message", "asctime", "log_context", "log_fields"}


class _LogContext:
    """The context manager :func:`log_context` returns: one ContextVar set on entry, reset on exit."""

    __slots__ = ("_fields", "_token")

    def __init__(self, fields: dict[str, Any]) -> None:
        self._fields = fields

    def __enter__(self) -> None:
        outer = _CONTEXT.get()
        self._token = _CONTEXT.set({**outer, **self._fields} if outer else self._fields)

    def __exit__(self, *exc: object) -> None:
        _CONTEXT.reset(self._token)


def log_context(**fields: Any) -> _LogContext:
    """Fields for every line logged inside the ``with`` block (in this thread or task).

    Contexts nest: an inner one adds its fields to the outer one's and may override
    them (``demand_id=None`` says "no demand" inside a demand's context). The usual
    fields are ``demand_id``, ``job_id`` and ``action``; any other name (``request_id``,
    ``worker``...) is shown too. Cheap enough for every call: one ContextVar set and reset.

    Example::

        with log_context(request_id="7f3a"):
            with log_context(demand_id=42):
                log.info("approved")  # ... demand=42 job=- request_id=7f3a approved
    """
    if not _RESERVED.isdisjoint(fields):
        bad = _RESERVED.intersection(fields)
        raise ValueError(f"log_context: {', '.join(sorted(bad))} is a LogRecord attribute, choose another name")
    return _LogContext(fields)


def current_log_context() -> Mapping[str, Any]:
    """The fields of the innermost :func:`log_context` (empty outside any)."""
    return _CONTEXT.get()


class LogContextFilter(logging.Filter):
    """Copies the current log context onto each record it lets through (it drops none).

    ``demand_id``, ``job_id`` and ``action`` become record attributes ("-" when there is
    none), so a ``%(demand_id)s`` format works; a value passed as ``extra=`` wins. The
    whole context is kept as ``record.log_context`` for the formatters' free fields.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        ctx = _CONTEXT.get()
        for name in FIELDS:
            if getattr(record, name, None) is None:
                value = ctx.get(name)
                setattr(record, name, "-" if value is None else value)
        if not hasattr(record, "log_context"):
            record.log_context = ctx
        return True


def _extra_fields(record: logging.LogRecord) -> dict[str, Any]:
    ctx: Mapping[str, Any] = getattr(record, "log_context", _EMPTY)
    return {k: v for k, v in ctx.items() if k not in FIELDS and v is not None}


def _utc(record: logging.LogRecord) -> str:
    return datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


class TextFormatter(logging.Formatter):
    """``TIME LEVEL LOGGER [PID] demand=ID job=ID [action=.. request_id=..] MESSAGE``, time in UTC."""

    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)s %(name)s [%(process)d] %(log_fields)s %(message)s")

    def formatTime(self, record: logging.LogRecord, datefmt: str | None = None) -> str:
        return _utc(record)

    def format(self, record: logging.LogRecord) -> str:
        parts = [f"demand={getattr(record, 'demand_id', '-')}", f"job={getattr(record, 'job_id', '-')}"]
        action = getattr(record, "action", "-")
        if action != "-":
            parts.append(f"action={action}")
        parts += [f"{k}={v}" for k, v in _extra_fields(record).items()]
        record.log_fields = " ".join(parts)
        return super().format(record)


class JsonFormatter(logging.Formatter):
    """One JSON object per line: at, level, logger, pid, message, the context fields, exception."""

    def format(self, record: logging.LogRecord) -> str:
        out: dict[str, Any] = {
            "at": _utc(record),
            "level": record.levelname,
            "logger": record.name,
            "pid": record.process,
            "message": record.getMessage(),
        }
        for name in FIELDS:
            value = getattr(record, name, "-")
            out[name] = None if value == "-" else value
        out.update(_extra_fields(record))
        if record.exc_info:
            out["exception"] = self.formatException(record.exc_info)
        elif record.exc_text:
            out["exception"] = record.exc_text
        return json.dumps(out, default=str)


class _StderrHandler(logging.StreamHandler):
    """Writes to whatever ``sys.stderr`` is at the time of each line (test runners swap it)."""

    def __init__(self) -> None:
        super().__init__(sys.stderr)

    @property
    def stream(self) -> IO[str]:
        return sys.stderr

    @stream.setter
    def stream(self, value: IO[str]) -> None:
        pass


_installed: logging.Handler | None = None


def configure_logging(level: str | int = "INFO", fmt: str = "text", stream: IO[str] | None = None) -> logging.Handler:
    """Send every logger's lines (through the root logger) to ``stream`` (stderr) with the context fields.

    ``fmt`` is ``"text"`` (one readable line) or ``"json"`` (one JSON object per line,
    for a log shipper). Calling it again replaces the handler the previous call
    installed; handlers others put on the root logger are left alone. Returns the handler.
    """
    global _installed
    if fmt not in ("text", "json"):
        raise ValueError(f"log format must be 'text' or 'json', not {fmt!r}")
    handler: logging.Handler = _StderrHandler() if stream is None else logging.StreamHandler(stream)
    handler.addFilter(LogContextFilter())
    handler.setFormatter(JsonFormatter() if fmt == "json" else TextFormatter())
    root = logging.getLogger()
    if _installed is not None:
        root.removeHandler(_installed)
    root.addHandler(handler)
    root.setLevel(level.upper() if isinstance(level, str) else level)
    _installed = handler
    return handler
