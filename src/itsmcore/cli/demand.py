"""``itsm demand ...``: submit, list and show demands, and move them along their journey and lifecycle."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import click

from .base import FORMAT, console, emit, fail, field_lines, open_desk, refusal_lines


def _demand_row(d: Any) -> dict[str, Any]:
    """One demand as plain values, the same for the table, JSON, and the rows of ``demand list``."""
    return {
        "id": d.id,
        "kind": str(d.kind),
        "state": str(d.state),
        "stage": str(d.stage),
        "customer": d.customer_id,
        "service": d.service_key,
        "channel": d.channel,
        "priority": int(d.priority),
        "summary": d.summary,
        "waiting_for": d.waiting_for,
        "created_at": d.created_at.isoformat(timespec="seconds"),
        "updated_at": d.updated_at.isoformat(timespec="seconds"),
    }


#: ``--on-behalf-of`` of approve and reject.
ON_BEHALF = click.option(
    "--on-behalf-of",
    "on_behalf_of",
    default=None,
    metavar="LOGIN",
    help="The approver the demand waits for, when --as decides for them; both are recorded.",
)


@click.group()
def demand() -> None:
    """Submit, list and show demands (requests, incidents and queries)."""


def _answers(values: Iterable[str]) -> dict[str, str]:
    """Parse repeated ``--answer NAME=VALUE`` values; a value without a name is a usage error (exit 2)."""
    out = {}
    for v in values:
        name, sep, value = v.partition("=")
        if not sep or not name:
            raise click.BadParameter(f"expected NAME=VALUE, got {v!r}", param_hint="--answer")
        out[name.strip()] = value
    return out


@demand.command("submit")
@click.option(
    "--kind",
    type=click.Choice(["value", "failure", "information"]),
    help="value = a request, failure = an incident, information = a query. Omit to classify.",
)
@click.option("--customer", required=True, help="The customer's id in the directory.")
@click.option("--service", default=None, help="Catalog service key.")
@click.option("--summary", default="", help="What the customer needs, in their words.")
@click.option("--details", default="", help="More detail.")
@click.option(
    "--answer", "answers", multiple=True, metavar="NAME=VALUE", help="An answer to one of the service's asks."
)
@click.option("--channel", default="cli", show_default=True, help="The channel the demand came through.")
@click.option(
    "--actor", default="customer", show_default=True, help="customer, or agent when recorded on their behalf."
)
@FORMAT
@click.pass_context
def demand_submit(
    ctx: click.Context,
    kind: str | None,
    customer: str,
    service: str | None,
    summary: str,
    details: str,
    answers: tuple[str, ...],
    channel: str,
    actor: str,
    fmt: str,
) -> None:
    """Submit a demand and print the acknowledgement the customer sees."""
    from ..errors import IneligibleCustomer, InvalidAnswers

    desk = open_desk(ctx)
    try:
        receipt = desk.submit(
            kind,
            customer,
            summary,
            service=service,
            details=details,
            answers=_answers(answers),
            channel=channel,
            actor=actor,
        )
    except InvalidAnswers as e:  # one line per ask, as the form shows it, not "error: a: x; b: y"
        fail(ctx, e, field_lines(e))
    except IneligibleCustomer as e:  # the reason, then what the customer can do about it
        fail(ctx, e, refusal_lines(e))
    d = desk.get(receipt.demand.id)
    if fmt == "json":
        row = _demand_row(d) | {
            "acknowledgement": receipt.acknowledgement,
            "links": [{"title": x.title, "url": x.url} for x in receipt.links],
        }
        emit(fmt, row, [])
        return
    click.echo(receipt.acknowledgement)
    for link in receipt.links:
        click.echo(f"  {link.title}: {link.url}")
    click.echo(f"demand {d.id}: {d.kind}, {d.state}, stage {d.stage}")


def _event_rows(events: Iterable[Any], start: Any = None) -> list[dict[str, Any]]:
    """Journey events as rows, each with the time since the first, so the customer's waits show."""
    rows = []
    for ev in events:
        start = start or ev.at
        rows.append(
            {
                "id": ev.id,
                "at": ev.at.isoformat(timespec="seconds"),
                "elapsed": _elapsed((ev.at - start).total_seconds()),
                "stage": str(ev.stage),
                "moment": str(ev.moment),
                "channel": ev.channel,
                "actor": ev.actor,
                "who": ev.who,
                "by": {"login": ev.by.login, "name": ev.by.name} if ev.by else None,
                "on_behalf_of": (
                    {"login": ev.on_behalf_of.login, "name": ev.on_behalf_of.name} if ev.on_behalf_of else None
                ),
                "customer_sees": ev.customer_sees,
                "behind_scenes": ev.behind_scenes,
                "effort": ev.effort,
            }
        )
    return rows


def _elapsed(seconds: float) -> str:
    """A duration in the unit a person would use: ms, s, min, h or d."""
    if seconds < 1:
        return f"{seconds * 1000:.0f} ms"
    if seconds < 120:
        return f"{seconds:.1f} s"
    if seconds < 7200:
        return f"{seconds / 60:.0f} min"
    if seconds < 172800:
        return f"{seconds / 3600:.1f} h"
    return f"{seconds / 86400:.1f} d"


@demand.command("show")
@click.argument("demand_id", type=int)
@FORMAT
@click.pass_context
def demand_show(ctx: click.Context, demand_id: int, fmt: str) -> None:
    """Show a demand with its journey: what the customer sees beside what happens behind the scenes."""
    desk = open_desk(ctx)
    view = desk.show(demand_id)
    journey = _event_rows(view.journey)
    jobs = [
        {"id": j.id, "action": j.action, "state": str(j.state), "attempts": j.attempts, "error": j.error or ""}
        for j in view.jobs
    ]
    failures = [{"plugin": f.plugin, "hook": f.hook, "error": f.error} for f in view.failures]
    # beside the internal state, what the customer is told: the one status model every channel uses
    status = desk.customer_status(view.demand)
    if fmt == "json":
        emit(
            fmt,
            _demand_row(view.demand)
            | {"status": {"sentence": status.sentence, "label": status.label, "expected": status.expected}}
            | {"outputs": dict(view.outputs), "journey": journey, "jobs": jobs, "plugin_failures": failures},
            [],
        )
        return
    d = view.demand
    for row in journey:  # the customer by their id, where the journey says only "customer"
        if row["who"] == "customer":
            row["who"] = f"customer {d.customer_id}"
    out = console()
    out.print(f"[bold]#{d.id}[/bold] {d.summary}")
    out.print(
        f"{d.kind} demand from {d.customer_id}"
        + (f" for {d.service_key}" if d.service_key else "")
        + f" via {d.channel}: [bold]{d.state}[/bold], stage {d.stage}, priority {int(d.priority)}"
    )
    if d.waiting_for:
        out.print(f"waiting for: {d.waiting_for}")
    out.print(f"the customer reads: {status.text}", markup=False)
    emit("table", journey, ["elapsed", "stage", "channel", "who", "customer_sees", "behind_scenes"], "journey")
    if jobs:
        emit("table", jobs, ["id", "action", "state", "attempts", "error"], "jobs")
    if failures:
        emit("table", failures, ["plugin", "hook", "error"], "plugin failures (the demand was kept)")


@demand.command("list")
@click.option("--customer", default=None, help="Only this customer's demands.")
@click.option("--kind", type=click.Choice(["value", "failure", "information"]), default=None)
@click.option("--state", default=None, help="Only demands in this state.")
@click.option("--service", default=None, help="Only demands for this service.")
@click.option("--open", "open_only", is_flag=True, help="Only demands not yet closed.")
@click.option("--limit", type=int, default=50, show_default=True)
@FORMAT
@click.pass_context
def demand_list(
    ctx: click.Context,
    customer: str | None,
    kind: str | None,
    state: str | None,
    service: str | None,
    open_only: bool,
    limit: int,
    fmt: str,
) -> None:
    """List demands, newest first."""
    desk = open_desk(ctx)
    rows = [
        _demand_row(d)
        for d in desk.list_demands(
            customer=customer, kind=kind, state=state, service=service, open_only=open_only, limit=limit
        )
    ]
    emit(fmt, rows, ["id", "kind", "state", "stage", "customer", "service", "summary", "waiting_for"], "demands")


@demand.command("advance")
@click.argument("demand_id", type=int)
@click.argument(
    "stage",
    type=click.Choice(["discover", "engage", "acknowledge", "fulfil", "outcome", "confirm", "feedback", "share"]),
)
@click.option("--says", default="", help="What the customer sees.")
@click.option("--behind", default="", help="What happens behind the scenes.")
@click.option("--actor", default="agent", show_default=True)
@click.pass_context
def demand_advance(ctx: click.Context, demand_id: int, stage: str, says: str, behind: str, actor: str) -> None:
    """Move a demand's journey to STAGE with an event."""
    desk = open_desk(ctx)
    ev = desk.advance(demand_id, stage, customer_sees=says, behind_scenes=behind, actor=actor)
    click.echo(f"demand {demand_id}: stage {ev.stage} ({ev.moment} moment of truth)")


@demand.command("transition")
@click.argument("demand_id", type=int)
@click.argument("state")
@click.option("--says", default="", help="What the customer sees.")
@click.option("--actor", default="agent", show_default=True)
@click.pass_context
def demand_transition(ctx: click.Context, demand_id: int, state: str, says: str, actor: str) -> None:
    """Move a demand along its lifecycle to STATE (refused if the lifecycle does not allow it)."""
    from ..model import DemandState

    if state not in DemandState.__members__.values():
        raise click.BadParameter(f"unknown state {state!r}; one of {', '.join(DemandState)}", param_hint="STATE")
    desk = open_desk(ctx)
    d = desk.transition(demand_id, state, actor=actor, customer_sees=says)
    click.echo(f"demand {d.id}: {d.state}")


@demand.command("comment")
@click.argument("demand_id", type=int)
@click.argument("text")
@click.option("--actor", default="agent", show_default=True)
@click.pass_context
def demand_comment(ctx: click.Context, demand_id: int, text: str, actor: str) -> None:
    """Add a comment to a demand's journey."""
    open_desk(ctx).comment(demand_id, text, actor=actor)
    click.echo(f"demand {demand_id}: comment added")


@demand.command("resolve")
@click.argument("demand_id", type=int)
@click.argument("resolution")
@click.pass_context
def demand_resolve(ctx: click.Context, demand_id: int, resolution: str) -> None:
    """Resolve an incident (or fulfil a request, answer a query) and tell the customer."""
    d = open_desk(ctx).resolve(demand_id, resolution)
    click.echo(f"demand {d.id}: {d.state}")


@demand.command("approve")
@click.argument("demand_id", type=int)
@click.option("--as", "approver", required=True, help="The approver's customer id (who decides).")
@click.option("--note", default="", help="A note for the customer.")
@ON_BEHALF
@click.pass_context
def demand_approve(ctx: click.Context, demand_id: int, approver: str, note: str, on_behalf_of: str | None) -> None:
    """Approve a request that waits for approval; its plan carries on.

    With --on-behalf-of, --as records the answer for the approver the demand waits for
    (a deputy, an agent who took the call); the journey names both.
    """
    d = open_desk(ctx).approve(demand_id, approver, note, on_behalf_of=on_behalf_of)
    click.echo(f"demand {d.id}: {d.state}" + (f", waiting for {d.waiting_for}" if d.waiting_for else ""))


@demand.command("reject")
@click.argument("demand_id", type=int)
@click.option("--as", "approver", required=True, help="The approver's customer id.")
@click.option("--reason", required=True, help="Why, in words the customer understands.")
@ON_BEHALF
@click.pass_context
def demand_reject(ctx: click.Context, demand_id: int, approver: str, reason: str, on_behalf_of: str | None) -> None:
    """Reject a request that waits for approval (--on-behalf-of as for 'approve')."""
    d = open_desk(ctx).reject(demand_id, approver, reason, on_behalf_of=on_behalf_of)
    click.echo(f"demand {d.id}: {d.state}")


@demand.command("priority")
@click.argument("demand_id", type=int)
@click.argument("priority", type=click.IntRange(1, 4))
@click.option("--reason", required=True, help="Why it changes; kept on the demand's journey.")
@click.option("--actor", default="agent", show_default=True)
@click.pass_context
def demand_priority(ctx: click.Context, demand_id: int, priority: int, reason: str, actor: str) -> None:
    """Change a demand's priority (1 critical to 4 low); its service-level targets follow."""
    d = open_desk(ctx).set_priority(demand_id, priority, reason, actor=actor)
    click.echo(f"demand {d.id}: priority {int(d.priority)}")


@demand.command("assign")
@click.argument("demand_id", type=int)
@click.option("--team", default=None, help="The team that takes it (a [teams.KEY] key).")
@click.option("--agent", default=None, help="The agent who works on it: a member of the team ('' for none).")
@click.option("--reason", required=True, help="Why it moves; kept on the demand's journey.")
@click.option("--actor", default="agent", show_default=True)
@click.pass_context
def demand_assign(
    ctx: click.Context, demand_id: int, team: str | None, agent: str | None, reason: str, actor: str
) -> None:
    """Give a demand to another team or agent; an agent outside the team is refused (exit 2)."""
    d = open_desk(ctx).assign(demand_id, team=team, agent=agent, reason=reason, actor=actor)
    click.echo(f"demand {d.id}: team {d.team or '(none)'}, agent {d.assignee or '(none)'}")
