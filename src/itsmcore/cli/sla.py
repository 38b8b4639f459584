"""``itsm sla ...``: the service-level sweep an operator runs (by cron, or ``--watch``) and a demand's clocks."""

from __future__ import annotations

import click

from .base import FORMAT, emit, open_desk


@click.group()
def sla() -> None:
    """Service levels: record warnings and breaches as they fall due; show a demand's clocks."""


@sla.command("sweep")
@click.option(
    "--watch",
    type=click.FloatRange(min=1),
    default=None,
    metavar="SECONDS",
    help="Keep sweeping every SECONDS until interrupted (Ctrl-C or SIGTERM ends cleanly).",
)
@click.pass_context
def sla_sweep(ctx: click.Context, watch: float | None) -> None:
    """Record the service-level warnings and breaches that have fallen due, and tell who works on each demand.

    With [[escalations]] rules, warnings and breaches escalate as they are recorded, and
    approvals that have waited too long (in working time) are escalated too.

    Run it every minute or so (cron: ``* * * * * itsm -c /etc/itsm/itsm.toml sla sweep``),
    or keep one process at it with --watch. Sweeping from several machines at once is
    safe: each warning and each breach is recorded and sent once.
    """
    from ..builtin.escalations import sweep as escalation_sweep
    from ..builtin.service_levels import sweep

    desk = open_desk(ctx)
    if watch is None:
        r = sweep(desk)
        click.echo(f"{r.warnings} warning(s), {r.breaches} breach(es) recorded")
        if desk.config.escalations:
            e = escalation_sweep(desk)
            click.echo(f"{e.escalated} escalation(s) of late approvals recorded")
        return
    import signal
    import threading

    stop = threading.Event()
    previous = {sig: signal.signal(sig, lambda _s, _f: stop.set()) for sig in (signal.SIGINT, signal.SIGTERM)}
    click.echo(f"sweeping every {watch:g}s; Ctrl-C stops")
    warnings = breaches = 0
    try:
        while not stop.is_set():
            r = sweep(desk)
            warnings, breaches = warnings + r.warnings, breaches + r.breaches
            if r.warnings or r.breaches:
                click.echo(f"{r.warnings} warning(s), {r.breaches} breach(es) recorded")
            if desk.config.escalations and (e := escalation_sweep(desk)).escalated:
                click.echo(f"{e.escalated} escalation(s) of late approvals recorded")
            stop.wait(watch)
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    click.echo(f"stopped: {warnings} warning(s), {breaches} breach(es) recorded")


@sla.command("show")
@click.argument("demand_id", type=int)
@FORMAT
@click.pass_context
def sla_show(ctx: click.Context, demand_id: int, fmt: str) -> None:
    """A demand's service-level clocks: rule, target, working time used, when it falls due."""
    from ..builtin.service_levels import clocks

    desk = open_desk(ctx)
    desk.get(demand_id)  # an unknown demand: NotFound, exit 1
    rows = []
    for c in clocks(desk, demand_id):
        used = c.elapsed
        if c.state == "running" and c.running_since is not None:
            used += desk.calendar(c.calendar if c.calendar in desk.config.calendars else None).between(
                c.running_since, desk.clock()
            )
        rows.append(
            {
                "id": c.metric,
                "metric": c.metric,
                "rule": c.rule,
                "state": c.state + (f" ({c.paused_for})" if c.paused_for else ""),
                "target_hours": round(c.target_secs / 3600, 2),
                "used_hours": round(used / 3600, 2),
                "due_at": c.due_at.isoformat(timespec="minutes") if c.due_at else "",
                "breached": c.breached_at.isoformat(timespec="minutes") if c.breached_at else "",
            }
        )
    if not rows and fmt != "json":
        click.echo(f"demand {demand_id}: no service level applies")
        return
    emit(
        fmt,
        rows,
        ["metric", "rule", "state", "target_hours", "used_hours", "due_at", "breached"],
        f"demand {demand_id}",
    )
