"""The worker side: the ``itsm.run_job`` task, the per-process desk, the sweeper thread.

A worker process opens the deployment's desk once (from ``$ITSM_CONFIG``, which
``itsm -c PATH worker`` sets) and keeps it. For each message it claims the job with
the desk's conditional update and, only if the claim is won, executes it; a lost
claim (another worker has it, or it is already done) makes the task do nothing.
Failures are the desk's business: it records them on the job row and sets the next
attempt's ``run_after``. Celery's own retry serves one case only: the database could not
be reached to claim the job, so the message goes back to the broker after a short,
growing delay instead of waiting for the sweep. The sweeper queues what is due and not
in flight.
"""

from __future__ import annotations

import logging
import os
import random
import threading
import time
from typing import TYPE_CHECKING, Any

from .logs import JobLogger, job_context

if TYPE_CHECKING:
    import celery  # type: ignore[import-untyped,unused-ignore]
    from itsmcore import Desk

    from .runner import CeleryRunner

log = JobLogger(logging.getLogger("itsm_celery.worker"), {})

_desks: dict[int, Desk] = {}
_lock = threading.Lock()


def current_desk() -> Desk:
    """This process's desk, opened on first use from ``$ITSM_CONFIG``."""
    pid = os.getpid()
    desk = _desks.get(pid)
    if desk is not None:
        return desk
    with _lock:
        desk = _desks.get(pid)
        if desk is None:
            from itsmcore import Desk

            desk = Desk.open(os.environ.get("ITSM_CONFIG"))
            _desks.clear()  # a desk inherited from a parent process is not ours
            _desks[pid] = desk
    return desk


def runner_of(desk: Desk) -> CeleryRunner | None:
    from .runner import CeleryRunner

    runner = desk.deployment.runner()
    return runner if isinstance(runner, CeleryRunner) else None


#: What :func:`run_job` returns when the database could not be reached before the claim.
UNREACHABLE = "unreachable"

#: Redeliveries of a message whose job could not be claimed for want of a database, and their delays.
CLAIM_RETRIES = 12
CLAIM_RETRY_CAP = 30.0


def run_job(job_id: int) -> str:
    """Claim and execute one job; returns what happened (``done``, ``pending``, ``dead``, ``not-claimed``,
    ``unreachable`` when the database could not be reached to claim it, ``error`` when it went away mid-job)."""
    with job_context(job_id=job_id):
        try:
            desk = current_desk()
        except Exception as e:  # database down at first use: the sweep queues the job again later
            log.warning("cannot open the deployment: %s: %s", type(e).__name__, _first_line(e))
            return UNREACHABLE
        runner = runner_of(desk)
        if runner is not None:
            runner.forget(job_id)
        try:
            job = desk.claim_job(job_id)
            if job is None:
                log.debug("job not claimed (done, running elsewhere, or not due)")
                return "not-claimed"
        except Exception as e:
            log.warning("cannot claim: %s: %s", type(e).__name__, _first_line(e))
            return UNREACHABLE
        with job_context(job_id=job_id, demand_id=job.demand_id, action=job.action):
            started = time.monotonic()
            log.info("running %s (attempt %d of %d)", job.action, job.attempts, job.max_attempts)
            try:
                done = desk.execute_job(job)
            except Exception as e:  # the database went away mid-job: the lease runs out and the sweep requeues it
                log.error("job interrupted, left for a retry after its lease: %s: %s", type(e).__name__, _first_line(e))
                return "error"
            took = time.monotonic() - started
            if str(done.state) == "done":
                log.info("done in %.3fs", took)
            elif str(done.state) == "pending":
                log.warning("failed, retry after %s: %s", done.run_after.isoformat(timespec="seconds"), done.error)
            elif str(done.state) == "dead":
                log.error("dead after %d attempt(s): %s", done.attempts, done.error)
            if job.action == "itsm.fanout" and runner is not None:
                # A fan-out batch wrote notification jobs nobody queued: queue them now, not at the next sweep.
                try:
                    runner.sweep(desk, lock=False)
                except Exception as e:
                    log.warning("sweep after fan-out failed: %s", e)
            return str(done.state)


def _first_line(e: BaseException) -> str:
    text = str(getattr(e, "orig", None) or e).strip()
    return text.splitlines()[0] if text else type(e).__name__


def register_tasks(app: celery.Celery) -> None:
    """Register ``itsm.run_job`` on ``app``: the job row holds the retries, Celery redelivers only unclaimable ids."""
    from .runner import TASK_RUN_JOB

    @app.task(name=TASK_RUN_JOB, bind=True, ignore_result=True, acks_late=app.conf.task_acks_late, shared=False)
    def _run_job(task: celery.Task, job_id: int) -> str:
        outcome = run_job(job_id)
        retries = int(task.request.retries or 0)
        if outcome == UNREACHABLE and retries < CLAIM_RETRIES:
            # The job row is untouched: send the id again shortly rather than leave it to the sweep,
            # whose queued marker for this id holds off a new message for ``requeue_after`` seconds.
            delay = min(CLAIM_RETRY_CAP, 0.5 * 2**retries) * random.uniform(0.8, 1.2)
            raise task.retry(countdown=delay, max_retries=CLAIM_RETRIES)
        return outcome


class Sweeper(threading.Thread):
    """Queues due jobs nobody queued, every ``sweep_interval`` seconds, in the worker's main process."""

    def __init__(self, config: str | None) -> None:
        super().__init__(name="itsm-sweeper", daemon=True)
        self.config = config
        self.stopping = threading.Event()
        self._desk: Desk | None = None

    def _open(self) -> tuple[Desk, CeleryRunner]:
        if self._desk is None:
            from itsmcore import Desk

            self._desk = Desk.open(self.config)
        runner = runner_of(self._desk)
        assert runner is not None, "the sweeper needs [runner] use = 'celery'"
        return self._desk, runner

    def run(self) -> None:
        interval = 1.0
        while not self.stopping.is_set():
            try:
                desk, runner = self._open()
                interval = runner.settings.sweep_interval
                runner.sweep(desk)
            except Exception as e:  # broker or database down: try again next interval
                log.warning("sweep failed: %s: %s", type(e).__name__, _first_line(e))
            self.stopping.wait(interval)

    def stop(self) -> None:
        self.stopping.set()
        if self._desk is not None:
            self._desk.close()


def install_signals(config: str, log_level: str, log_format: str, *, sweep: bool = True) -> None:
    """Connect the worker's signals: our logging, fresh desks in pool children, the sweeper."""
    from celery import signals

    from . import logs

    def setup_logging(**_kw: Any) -> None:
        logs.configure(log_level, log_format)

    def process_init(**_kw: Any) -> None:
        _desks.clear()

    sweeper = Sweeper(config)

    def ready(**_kw: Any) -> None:
        if sweep:
            sweeper.start()
        log.info("worker ready" + ("; sweeping for due jobs" if sweep else ""))

    def shutdown(**_kw: Any) -> None:
        sweeper.stop()

    signals.setup_logging.connect(setup_logging, weak=False)
    signals.worker_process_init.connect(process_init, weak=False)
    signals.worker_ready.connect(ready, weak=False)
    signals.worker_shutdown.connect(shutdown, weak=False)
