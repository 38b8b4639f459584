"""Worker log lines that carry the job and demand they are about.

The task sets a context (job id, demand id, action) around each job; a filter on the
worker's handler copies it onto every record, so lines logged by the core and by
plugins while the job runs carry the demand id too, not only the runner's own.
"""

from __future__ import annotations

import contextlib
import contextvars
import json
import logging
from collections.abc import Iterator, Mapping
from datetime import UTC, datetime
from typing import Any

_CONTEXT: contextvars.ContextVar[Mapping[str, Any]] = contextvars.ContextVar("itsm_celery_job")

FIELDS = ("job_id", "demand_id", "action")
TEXT_FORMAT = "%(asctime)s %(levelname)s %(processName)s %(name)s job=%(job_id)s demand=%(demand_id)s %(message)s"


@contextlib.contextmanager
def job_context(**fields: Any) -> Iterator[None]:
    token = _CONTEXT.set(fields)
    try:
        yield
    finally:
        _CONTEXT.reset(token)


class JobContextFilter(logging.Filter):
    """Adds ``job_id``, ``demand_id`` and ``action`` to every record ("-" outside a job)."""

    def filter(self, record: logging.LogRecord) -> bool:
        ctx = _CONTEXT.get({})
        for name in FIELDS:
            if getattr(record, name, None) is None:
                setattr(record, name, ctx.get(name, "-") if ctx.get(name) is not None else "-")
        return True


class JobLogger(logging.LoggerAdapter):  # type: ignore[type-arg,unused-ignore]
    """A logger adapter for the runner's own lines: the job's fields as ``extra``."""

    def process(self, msg: Any, kwargs: Any) -> tuple[Any, Any]:
        kwargs["extra"] = {**_CONTEXT.get({}), **(self.extra or {}), **kwargs.get("extra", {})}
        return msg, kwargs


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, process, message, job fields, exception."""

    def format(self, record: logging.LogRecord) -> str:
        out: dict[str, Any] = {
            "at": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "pid": record.process,
            "message": record.getMessage(),
        }
        for name in FIELDS:
            value = getattr(record, name, "-")
            out[name] = None if value == "-" else value
        if record.exc_info:
            out["exception"] = self.formatException(record.exc_info)
        return json.dumps(out, default=str)


def configure(level: str = "INFO", fmt: str = "text") -> None:
    """Send the worker's logs (root and Celery's) to stderr with the job fields on every line."""
    handler = logging.StreamHandler()
    handler.addFilter(JobContextFilter())
    handler.setFormatter(JsonFormatter() if fmt == "json" else logging.Formatter(TEXT_FORMAT))
    root = logging.getLogger()
    for h in list(root.handlers):
        root.removeHandler(h)
    root.addHandler(handler)
    root.setLevel(level.upper())
