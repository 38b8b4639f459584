"""``itsm jobs ...``: durable jobs (fulfilment steps and notifications), listed, retried and run."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import click

from .base import FORMAT, emit, open_desk

if TYPE_CHECKING:
    from ..desk import Desk


def _job_row(j: Any) -> dict[str, Any]:
    """One job as plain values: a table row, or JSON for scripts."""
    return {
        "id": j.id,
        "demand": j.demand_id,
        "action": j.action,
        "state": str(j.state),
        "attempts": j.attempts,
        "run_after": j.run_after.isoformat(timespec="seconds"),
        "error": j.error or "",
        "key": j.key,
    }


@click.group()
def jobs() -> None:
    """Durable jobs: fulfilment steps and notifications."""


@jobs.command("list")
@click.option("--state", type=click.Choice(["pending", "running", "done", "dead"]), default=None)
@click.option("--demand", "demand_id", type=int, default=None, help="Only this demand's jobs.")
@click.option("--limit", type=int, default=50, show_default=True)
@FORMAT
@click.pass_context
def jobs_list(ctx: click.Context, state: str | None, demand_id: int | None, limit: int, fmt: str) -> None:
    """List jobs, newest first."""
    rows = [_job_row(j) for j in open_desk(ctx).jobs(state=state, demand_id=demand_id, limit=limit)]
    emit(fmt, rows, ["id", "demand", "action", "state", "attempts", "run_after", "error"], "jobs")


@jobs.command("retry")
@click.argument("job_ids", type=int, nargs=-1, required=True)
@click.pass_context
def jobs_retry(ctx: click.Context, job_ids: tuple[int, ...]) -> None:
    """Give dead jobs another go; a stuck demand resumes."""
    desk = open_desk(ctx)
    for jid in job_ids:
        j = desk.retry_job(jid)
        click.echo(f"job {j.id} ({j.action}): {j.state}" + (f" - {j.error}" if j.error else ""))


@jobs.command("run")
@click.option(
    "--watch",
    type=click.FloatRange(min=0.05),
    default=None,
    metavar="SECONDS",
    help="Keep running: look for due jobs every SECONDS until interrupted (Ctrl-C or SIGTERM ends cleanly).",
)
@click.option(
    "--batch",
    type=click.IntRange(min=1),
    default=50,
    show_default=True,
    help="Jobs claimed at a time; lower it when jobs are slow, so several processes share them.",
)
@click.option("--quiet", "-q", is_flag=True, help="No progress bar (there is none when stderr is not a terminal).")
@click.pass_context
def jobs_run(ctx: click.Context, watch: float | None, batch: int, quiet: bool) -> None:
    """Run every job that is due now (retries whose backoff has passed, jobs left by a crash).

    With --watch this is a worker process for deployments without Celery
    ([runner] use = "deferred"): start as many as you like, on PostgreSQL each claims
    its own jobs (FOR UPDATE SKIP LOCKED), so none runs a job another has taken.
    """
    desk = open_desk(ctx)
    if watch is None:
        from ..jobs import on_job_ended
        from ..progress import progress_bar

        # the jobs pending now; those they queue (an announcement's next batch) join the total as they come
        pending = desk.job_stats().get("pending", 0)
        with progress_bar("running jobs", total=pending or None, quiet=quiet) as bar:
            count = 0

            def ended(_job: object) -> None:
                nonlocal count
                count += 1
                bar.update(completed=count, total=max(count, pending) or None)

            with on_job_ended(ended):
                ran = desk.run_due_jobs(batch=batch)
        click.echo(f"ran {ran} job(s)")
        return
    if ctx.obj.get("log_level") is None:  # a long-running process: say what it does unless told otherwise
        from ..logs import configure_logging

        configure_logging("INFO", ctx.obj.get("log_format") or "text")
    total = _watch_jobs(desk, watch, batch)
    click.echo(f"stopped: ran {total} job(s)")


def _watch_jobs(desk: Desk, interval: float, batch: int) -> int:
    """Run :func:`itsmcore.jobs.watch` until SIGINT/SIGTERM; the batch in hand is finished first (a second stops now)."""
    import signal

    from ..jobs import watch

    stopping = False

    def stop(_signum: int, _frame: object) -> None:
        nonlocal stopping
        if stopping:
            raise KeyboardInterrupt
        stopping = True

    previous = {sig: signal.signal(sig, stop) for sig in (signal.SIGINT, signal.SIGTERM)}
    click.echo(f"running due jobs every {interval:g}s; Ctrl-C stops")
    try:
        return watch(desk, interval=interval, batch=batch, stopping=lambda: stopping)
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


@jobs.command("stats")
@FORMAT
@click.pass_context
def jobs_stats(ctx: click.Context, fmt: str) -> None:
    """Count jobs by state."""
    stats = open_desk(ctx).job_stats()
    emit(fmt, [{"id": k, "state": k, "count": v} for k, v in sorted(stats.items())], ["state", "count"], "jobs")
