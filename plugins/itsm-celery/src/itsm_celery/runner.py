"""The ``celery`` runner: hands committed job ids to Celery workers through a broker.

The job row stays the source of truth. :meth:`CeleryRunner.wake` sends one message
per job id to the configured queue; a worker claims the row (only one claimer wins)
and executes it, so a duplicate message costs a query and nothing else. Jobs nobody
queued (retries after their backoff, the notifications a fan-out batch writes,
messages lost with a broker) are found by :meth:`CeleryRunner.sweep`, which the
workers call every ``sweep_interval`` seconds.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Sequence
from datetime import timedelta
from typing import TYPE_CHECKING, Any
from urllib.parse import quote, urlsplit, urlunsplit

from itsmcore import ComponentContext, RunnerComponent

from .settings import CelerySettings

if TYPE_CHECKING:
    import celery  # type: ignore[import-untyped,unused-ignore]
    import redis
    from itsmcore import Desk

log = logging.getLogger("itsm_celery.runner")

TASK_RUN_JOB = "itsm.run_job"


def broker_url(settings: CelerySettings, context: ComponentContext) -> str:
    """The broker URL, its password read from the environment or a file, never from the config."""
    if settings.broker_url_env:
        url = os.environ.get(settings.broker_url_env, "")
        if not url:
            raise ValueError(f"broker_url_env names {settings.broker_url_env!r}, which is not set")
        return url
    password = context.secret(env=settings.broker_password_env, file=settings.broker_password_file)
    if not password:
        return settings.broker_url
    parts = urlsplit(settings.broker_url)
    user = quote(parts.username or "", safe="")
    host = parts.hostname or ""
    netloc = f"{user}:{quote(password, safe='')}@{host}" + (f":{parts.port}" if parts.port else "")
    return urlunsplit((parts.scheme, netloc, parts.path, parts.query, parts.fragment))


def make_app(settings: CelerySettings, url: str, deployment: str) -> celery.Celery:
    """A Celery app for one deployment, with the ``itsm.run_job`` task registered."""
    from celery import Celery

    app = Celery(f"itsm-{deployment}", broker=url, set_as_current=False)
    app.conf.update(
        task_default_queue=settings.queue,
        task_acks_late=settings.acks_late,
        task_reject_on_worker_lost=True,
        task_ignore_result=True,
        worker_prefetch_multiplier=settings.prefetch,
        worker_hijack_root_logger=False,
        worker_cancel_long_running_tasks_on_connection_loss=False,
        broker_connection_retry_on_startup=True,
        broker_connection_timeout=settings.connect_timeout,
        broker_transport_options={
            "visibility_timeout": settings.visibility_timeout,
            "socket_connect_timeout": settings.connect_timeout,
            "socket_timeout": max(settings.connect_timeout, 5.0),
        },
        task_serializer="json",
        accept_content=["json"],
        enable_utc=True,
    )
    from .worker import register_tasks

    register_tasks(app)
    return app


LEASE_ENV = "ITSM_CELERY_LEASE_SECONDS"


class CeleryRunner:
    """Sends job ids to Celery; finds due jobs nobody queued (the sweep)."""

    def __init__(self, settings: CelerySettings, context: ComponentContext):
        self.settings = settings
        self.deployment = context.deployment
        self.url = broker_url(settings, context)
        self._app: celery.Celery | None = None
        self._redis: redis.Redis | None = None
        self._marker_prefix = f"itsm:{self.deployment}:{settings.queue}:queued:"

    @property
    def lease(self) -> timedelta | None:
        """The claim lease of jobs the workers run (the desk reads it); None: the core's default.

        ``ITSM_CELERY_LEASE_SECONDS`` wins over the setting (tests shorten it).
        """
        env = os.environ.get(LEASE_ENV)
        seconds = float(env) if env else self.settings.lease_seconds
        return timedelta(seconds=seconds) if seconds is not None else None

    # ------------------------------------------------------------------ broker

    @property
    def app(self) -> celery.Celery:
        if self._app is None:
            self._app = make_app(self.settings, self.url, self.deployment)
        return self._app

    @property
    def uses_redis(self) -> bool:
        return urlsplit(self.url).scheme in ("redis", "rediss")

    def redis(self) -> redis.Redis | None:
        """A client on the broker's Redis, for the queued markers and the sweep lock; None for other brokers."""
        if not self.uses_redis:
            return None
        if self._redis is None:
            import redis as redis_lib

            t = self.settings.connect_timeout
            self._redis = redis_lib.Redis.from_url(self.url, socket_connect_timeout=t, socket_timeout=max(t, 5.0))
        return self._redis

    def marker(self, job_id: int) -> str:
        return f"{self._marker_prefix}{job_id}"

    def send(self, job_ids: Sequence[int]) -> int:
        """Publish one ``itsm.run_job`` message per id; returns how many were sent. Raises when the broker is down."""
        if not job_ids:
            return 0
        task = self.app.tasks[TASK_RUN_JOB]
        sent = 0
        with self.app.producer_or_acquire() as producer:
            for jid in job_ids:
                task.apply_async((int(jid),), queue=self.settings.queue, producer=producer, retry=False)
                sent += 1
        return sent

    def forget(self, job_id: int) -> None:
        """The message of this job was taken off the queue: a sweep may queue it again."""
        r = self.redis()
        if r is None:
            return
        try:
            r.delete(self.marker(job_id))
        except Exception as e:  # the marker expires anyway
            log.debug("could not clear queued marker of job %s: %s", job_id, e)

    # ------------------------------------------------------------------ runner protocol

    def wake(self, desk: Desk, job_ids: Sequence[int]) -> None:
        """Hand just-committed jobs to the workers; a broker outage leaves them to the sweep."""
        ids = [int(j) for j in job_ids]
        if not ids:
            return
        try:
            r = self.redis()
            if r is not None:
                pipe = r.pipeline(transaction=False)
                for jid in ids:
                    pipe.set(self.marker(jid), 1, ex=int(self.settings.requeue_after) or 1)
                pipe.execute()
            self.send(ids)
        except Exception as e:
            log.warning(
                "broker unavailable, %d job(s) left for the sweep: %s: %s",
                len(ids),
                type(e).__name__,
                e,
                extra={"job_ids": ids},
            )

    # ------------------------------------------------------------------ sweep

    def sweep(self, desk: Desk, *, lock: bool = True) -> int:
        """Queue due jobs that have no message in flight; returns how many were queued.

        Due means pending with ``run_after`` passed, or running with an expired lease
        (its worker died). With a Redis broker, a marker per queued id (set with
        ``NX`` and an expiry of ``requeue_after``) keeps two sweeps, or a sweep and a
        ``wake``, from queueing a job twice, and a lock lets one worker sweep per interval.
        """
        r = self.redis()
        if lock and r is not None:
            ms = max(100, int(self.settings.sweep_interval * 900))
            if not r.set(f"itsm:{self.deployment}:{self.settings.queue}:sweep-lock", os.getpid(), nx=True, px=ms):
                return 0
        ids = desk.due_jobs(limit=self.settings.sweep_batch)
        if not ids:
            return 0
        if r is not None:
            # Messages already waiting are work in flight: top the queue up to sweep_batch, no more,
            # so a deep queue is not filled again with ids whose markers expired while they waited.
            room = self.settings.sweep_batch - int(r.llen(self.settings.queue) or 0)  # type: ignore[arg-type,unused-ignore]
            if room <= 0:
                return 0
            pipe = r.pipeline(transaction=False)
            for jid in ids:
                pipe.exists(self.marker(jid))
            candidates = [jid for jid, queued in zip(ids, pipe.execute()) if not queued][:room]
            ttl = int(self.settings.requeue_after) or 1
            for jid in candidates:
                pipe.set(self.marker(jid), 1, nx=True, ex=ttl)
            fresh = [jid for jid, ok in zip(candidates, pipe.execute()) if ok]
        else:
            fresh = list(ids)
        n = self.send(fresh)
        if n:
            log.info("sweep queued %d due job(s)", n, extra={"queued": n})
        return n


def celery_runner_component() -> RunnerComponent:
    def factory(settings: Any, context: ComponentContext) -> CeleryRunner:
        return CeleryRunner(settings, context)

    return RunnerComponent(
        name="celery",
        factory=factory,
        settings=CelerySettings,
        description="Send job ids to Celery workers ('itsm worker'); the job rows stay the source of truth.",
    )
