"""``itsm change ...``: planned changes, their approvers' decisions and the change calendar."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

import click

from .base import FORMAT, emit, open_desk

if TYPE_CHECKING:
    from ..model import PlannedChange

#: ``--on-behalf-of`` of approve and reject.
ON_BEHALF = click.option(
    "--on-behalf-of",
    "on_behalf_of",
    default=None,
    metavar="LOGIN",
    help="The approver --as decides for (a deputy, an agent who took the call); both are recorded.",
)
WHEN = click.DateTime(["%Y-%m-%d %H:%M", "%Y-%m-%dT%H:%M", "%Y-%m-%d"])


@click.group()
def change() -> None:
    """Planned changes: record, approve, start and complete them; the change calendar."""


def _utc(at: datetime) -> datetime:
    return at.replace(tzinfo=UTC) if at.tzinfo is None else at


def _row(c: PlannedChange) -> dict[str, Any]:
    return {
        "id": c.id,
        "title": c.title,
        "state": str(c.state),
        "start": c.start.strftime("%Y-%m-%d %H:%M"),
        "end": c.end.strftime("%Y-%m-%d %H:%M"),
        "risk": str(c.risk),
        "services": list(c.services),
        "items": list(c.items),
        "approvers": list(c.approvers),
        "waiting_for": list(c.waiting_for()) if str(c.state) == "proposed" else [],
        "customer_impact": c.customer_impact,
    }


def _detail(c: PlannedChange) -> dict[str, Any]:
    return {
        **_row(c),
        "description": c.description,
        "owner": c.owner,
        "decisions": [
            {
                "approver": d.approver,
                "on_behalf_of": d.on_behalf_of,
                "approved": d.approved,
                "note": d.note,
                "at": d.at.isoformat(),
            }
            for d in c.decisions
        ],
        "announcements": list(c.announcements),
        "started_at": c.started_at.isoformat() if c.started_at else None,
        "ended_at": c.ended_at.isoformat() if c.ended_at else None,
    }


def _said(c: PlannedChange) -> None:
    waiting = c.waiting_for() if str(c.state) == "proposed" else ()
    click.echo(f"change {c.id}: {c.state}" + (f", waiting for {', '.join(waiting)}" if waiting else ""))


COLUMNS = ["id", "title", "state", "start", "end", "risk", "services", "waiting_for"]


@change.command("new")
@click.argument("title")
@click.option("--start", "start", type=WHEN, required=True, help="When the window starts (UTC), YYYY-MM-DD HH:MM.")
@click.option("--end", "end", type=WHEN, required=True, help="When the window ends (UTC), after its start.")
@click.option("--service", "services", multiple=True, help="A service the change touches (repeat for more).")
@click.option(
    "--ci", "items", multiple=True, help="A configuration item it touches; its services are found by impact (repeat)."
)
@click.option(
    "--approver", "approvers", multiple=True, required=True, help="Someone who must approve it (repeat for more)."
)
@click.option("--risk", type=click.Choice(["low", "medium", "high"]), default="low", show_default=True)
@click.option(
    "--no-customer-impact",
    "quiet",
    is_flag=True,
    help="Customers will not notice it: no announcements to the subscribers.",
)
@click.option("--description", default="", help="What is done and what customers may notice.")
@click.option("--owner", default="", help="Who is responsible for it (a directory login).")
@FORMAT
@click.pass_context
def change_new(
    ctx: click.Context,
    title: str,
    start: datetime,
    end: datetime,
    services: tuple[str, ...],
    items: tuple[str, ...],
    approvers: tuple[str, ...],
    risk: str,
    quiet: bool,
    description: str,
    owner: str,
    fmt: str,
) -> None:
    """Record a proposed change; each approver is asked for their decision.

    An approved change with customer impact is announced to the subscribers of its
    services [changes] notice_hours (48) before its window, and again when it starts and ends.
    """
    c = open_desk(ctx).new_change(
        title,
        start=_utc(start),
        end=_utc(end),
        services=services,
        items=items,
        approvers=approvers,
        risk=risk,
        customer_impact=not quiet,
        description=description,
        owner=owner,
    )
    if fmt == "json":
        emit(fmt, _detail(c), [])
    else:
        _said(c)


@change.command("list")
@click.option(
    "--state",
    type=click.Choice(["proposed", "approved", "rejected", "in_progress", "completed", "cancelled"]),
    default=None,
)
@click.option("--service", default=None, help="Only changes touching this service (its key).")
@FORMAT
@click.pass_context
def change_list(ctx: click.Context, state: str | None, service: str | None, fmt: str) -> None:
    """Planned changes by window start."""
    found = open_desk(ctx).list_changes(state=state, service=service)
    emit(fmt, [_row(c) for c in found], COLUMNS, title="Planned changes")


@change.command("show")
@click.argument("change_id", type=int)
@FORMAT
@click.pass_context
def change_show(ctx: click.Context, change_id: int, fmt: str) -> None:
    """A change with every approver's decision."""
    c = open_desk(ctx).get_change(change_id)
    if fmt == "json":
        emit(fmt, _detail(c), [])
        return
    click.echo(f"change {c.id}: {c.title} [{c.state}, risk {c.risk}]")
    click.echo(f"  window:    {c.start:%Y-%m-%d %H:%M} to {c.end:%Y-%m-%d %H:%M} UTC")
    click.echo(f"  services:  {', '.join(c.services)}" + (f"; items: {', '.join(c.items)}" if c.items else ""))
    click.echo(f"  customers: {'announced to the subscribers' if c.customer_impact else 'no customer impact'}")
    for d in c.decisions:
        who = d.approver + (f" on behalf of {d.on_behalf_of}" if d.on_behalf_of else "")
        click.echo(
            f"  {'approved' if d.approved else 'declined'} by {who} at {d.at:%Y-%m-%d %H:%M}"
            + (f": {d.note}" if d.note else "")
        )
    waiting = c.waiting_for() if str(c.state) == "proposed" else ()
    if waiting:
        click.echo(f"  waiting for: {', '.join(waiting)}")


@change.command("approve")
@click.argument("change_id", type=int)
@click.option("--as", "approver", required=True, help="The approver's directory login (who decides).")
@click.option("--note", default="", help="A note recorded with the decision.")
@ON_BEHALF
@click.pass_context
def change_approve(ctx: click.Context, change_id: int, approver: str, note: str, on_behalf_of: str | None) -> None:
    """Record an approver's yes; the change is approved once every approver said yes."""
    _said(open_desk(ctx).approve_change(change_id, approver, note, on_behalf_of=on_behalf_of))


@change.command("reject")
@click.argument("change_id", type=int)
@click.option("--as", "approver", required=True, help="The approver's directory login (who decides).")
@click.option("--reason", required=True, help="Why, for the change's owner.")
@ON_BEHALF
@click.pass_context
def change_reject(ctx: click.Context, change_id: int, approver: str, reason: str, on_behalf_of: str | None) -> None:
    """Record an approver's no: the change is rejected."""
    _said(open_desk(ctx).reject_change(change_id, approver, reason, on_behalf_of=on_behalf_of))


@change.command("start")
@click.argument("change_id", type=int)
@click.pass_context
def change_start(ctx: click.Context, change_id: int) -> None:
    """The approved change's work begins; subscribers are told."""
    _said(open_desk(ctx).start_change(change_id))


@change.command("complete")
@click.argument("change_id", type=int)
@click.option("--note", default="", help="What customers should know now it is done.")
@click.pass_context
def change_complete(ctx: click.Context, change_id: int, note: str) -> None:
    """The change's work is done; subscribers are told."""
    _said(open_desk(ctx).complete_change(change_id, note))


@change.command("cancel")
@click.argument("change_id", type=int)
@click.option("--reason", default="", help="Why, for anyone told of it already.")
@click.pass_context
def change_cancel(ctx: click.Context, change_id: int, reason: str) -> None:
    """Call off a proposed or approved change; subscribers told of it hear that nothing changes."""
    _said(open_desk(ctx).cancel_change(change_id, reason))


@change.command("calendar")
@click.option("--from", "start", type=WHEN, default=None, help="The first day (default: today, UTC).")
@click.option("--days", type=click.IntRange(1, 366), default=14, show_default=True)
@FORMAT
@click.pass_context
def change_calendar(ctx: click.Context, start: datetime | None, days: int, fmt: str) -> None:
    """The changes planned or under way in the coming days (rejected and cancelled ones left out)."""
    desk = open_desk(ctx)
    first = _utc(start) if start else desk.clock().replace(hour=0, minute=0, second=0, microsecond=0)
    found = desk.change_calendar(first, days)
    last = first + timedelta(days=days)
    emit(fmt, [_row(c) for c in found], COLUMNS, title=f"Changes {first:%d %b} to {last:%d %b %Y}")
