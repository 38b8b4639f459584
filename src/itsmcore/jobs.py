"""Durable jobs: the outbox of fulfilment steps and notifications.

A job row is written in the same transaction as the demand change that causes it,
so an acknowledged demand never loses its work. A runner then claims a job with a
conditional update (only one claimer can win, on SQLite and PostgreSQL alike),
executes it, and ends it visibly: ``done``, retried with backoff, or ``dead`` with
its error. A claim carries a lease: a job whose runner died is claimed again once
the lease has expired, and the action sees the same idempotency key.
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import timedelta
from typing import TYPE_CHECKING, Any

import attrs

from .components import ComponentContext, NoSettings, RunnerComponent
from .model.job import Job, JobState

if TYPE_CHECKING:
    from .desk import Desk

__all__ = [
    "LEASE",
    "DeferredRunner",
    "InlineRunner",
    "Job",
    "JobState",
    "backoff",
    "job_ended",
    "on_job_ended",
    "watch",
]

log = logging.getLogger("itsmcore.jobs")


#: How long a claim lasts before another runner may take the job over.
LEASE = timedelta(minutes=5)


def backoff(attempt: int, *, base: float = 2.0, cap: float = 600.0, jitter: float = 0.25) -> timedelta:
    """Delay before retry number ``attempt`` (1-based): exponential, capped, jittered."""
    delay = min(cap, base * (2 ** (attempt - 1)))
    return timedelta(seconds=delay * (1 + random.uniform(-jitter, jitter)))


_ended: ContextVar[Callable[[Job], object] | None] = ContextVar("itsm_job_ended", default=None)


@contextmanager
def on_job_ended(callback: Callable[[Job], object]) -> Iterator[None]:
    """Within the block, ``callback`` is told of each job this thread runs as it ends (done, retried or dead).

    How the command line draws a bar while it runs jobs itself (an announcement's fan-out
    with the inline runner, ``itsm jobs run``); the callback must not raise.
    """
    token = _ended.set(callback)
    try:
        yield
    finally:
        _ended.reset(token)


def job_ended(job: Job) -> None:
    """Tell the callback of :func:`on_job_ended`, if any, that ``job`` has ended (the runners' loop calls this)."""
    callback = _ended.get()
    if callback is not None:
        callback(job)


@attrs.frozen
class InlineRunner:
    """The default runner: executes due jobs in the process that committed them."""

    def wake(self, desk: Desk, job_ids: Sequence[int]) -> None:
        desk.run_due_jobs()


@attrs.frozen
class DeferredRunner:
    """Leaves jobs in the outbox for ``itsm jobs run`` or a worker to execute later."""

    def wake(self, desk: Desk, job_ids: Sequence[int]) -> None:
        return None


def watch(desk: Desk, *, interval: float, batch: int, stopping: Callable[[], bool]) -> int:
    """Run due jobs a batch at a time until ``stopping()``; returns how many ran (``itsm jobs run --watch``).

    The loop of a plain worker process for a deployment without a broker: each round
    claims up to ``batch`` jobs (on PostgreSQL with SKIP LOCKED, so several such
    processes share the work) and runs them; when fewer came than asked for, it waits
    ``interval`` seconds. A database error (a restart, a failover) is logged and the
    next round tries again: jobs claimed before it are taken over after their lease.
    """
    from sqlalchemy.exc import DBAPIError

    from .errors import StoreUnavailable

    total = 0
    while not stopping():
        try:
            n = desk.run_due_jobs(limit=batch, batch=batch)
        except (DBAPIError, StoreUnavailable) as e:
            cause = getattr(e, "orig", None) or e
            log.warning("database error, trying again in %gs: %s: %s", interval, type(cause).__name__, cause)
            n = 0
        total += n
        if n:
            log.info("ran %d job(s)", n)
        if n < batch:  # caught up: wait for the next round
            deadline = time.monotonic() + interval
            while not stopping() and time.monotonic() < deadline:
                time.sleep(min(0.1, interval))
    return total


def deferred_runner_component() -> RunnerComponent:
    def factory(_settings: Any, _ctx: ComponentContext) -> DeferredRunner:
        return DeferredRunner()

    return RunnerComponent(
        name="deferred",
        factory=factory,
        settings=NoSettings,
        description="Leave jobs in the outbox for 'itsm jobs run' (cron) or a worker process.",
    )


def inline_runner_component() -> RunnerComponent:
    def factory(_settings: Any, _ctx: ComponentContext) -> InlineRunner:
        return InlineRunner()

    return RunnerComponent(
        name="inline",
        factory=factory,
        settings=NoSettings,
        description="Run jobs in the submitting process right after commit (the embedded default).",
    )
