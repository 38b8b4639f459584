"""Worker log lines that carry the job and demand they are about: a thin layer over the core's.

The task opens a log context (job id, demand id, action) around each job, as the desk
does around every job and demand it handles; the handler the core's
:func:`itsmcore.configure_logging` installs copies it onto every record, so lines logged
by the core and by plugins while the job runs carry the demand id too, in the same text
or JSON shape as ``itsm serve`` and ``itsm jobs run``.
"""

from __future__ import annotations

import logging
import sys
from typing import Any

from itsmcore import configure_logging, log_context

#: Kept for callers of the earlier name: the core's context manager (contexts nest).
job_context = log_context


class JobLogger(logging.LoggerAdapter):  # type: ignore[type-arg,unused-ignore]
    """A logger adapter for the runner's own lines: its ``extra`` on every record (the context comes from the handler)."""

    def process(self, msg: Any, kwargs: Any) -> tuple[Any, Any]:
        kwargs["extra"] = {**(self.extra or {}), **kwargs.get("extra", {})}
        return msg, kwargs


def configure(level: str = "INFO", fmt: str = "text") -> None:
    """Send the worker's logs (root and Celery's) to stderr with the job fields on every line.

    The stream is the stderr of the moment, before Celery could redirect it to a logger.
    """
    configure_logging(level, fmt, stream=sys.stderr)
