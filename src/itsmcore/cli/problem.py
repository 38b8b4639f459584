"""``itsm problem ...``: problems and known errors: open, link incidents, investigate, known error, resolve."""

from __future__ import annotations

from typing import Any

import click

from .base import FORMAT, emit, open_desk

STATES = click.Choice(["new", "investigating", "known_error", "resolved"])


def _ids(value: str | None) -> list[int]:
    """``12,14 15`` as demand ids."""
    out = []
    for part in (value or "").replace(",", " ").split():
        try:
            out.append(int(part.lstrip("#")))
        except ValueError:
            raise click.BadParameter(f"{part!r} is not a demand number, e.g. 12 or #12", param_hint="--link") from None
    return out


def _row(p: Any) -> dict[str, Any]:
    return {
        "id": p.id,
        "title": p.title,
        "state": str(p.state),
        "services": list(p.services),
        "cis": list(p.cis),
        "incidents": [i.demand_id for i in p.incidents],
        "announcements": list(p.announcements),
        "article": p.article_key,
        "opened_by": p.opened_by,
        "opened_at": p.opened_at.isoformat(timespec="seconds"),
    }


def _detail(p: Any) -> dict[str, Any]:
    return {
        **_row(p),
        "description": p.description,
        "root_cause": p.root_cause,
        "workaround": p.workaround,
        "resolution": p.resolution,
        "resolved_at": p.resolved_at.isoformat(timespec="seconds") if p.resolved_at else None,
        "allowed": sorted(str(s) for s in p.allowed),
        "incidents": [
            {
                "demand": i.demand_id,
                "service": i.service_key,
                "other_service": i.other_service,
                "linked_by": i.linked_by,
                "linked_at": i.linked_at.isoformat(timespec="seconds"),
            }
            for i in p.incidents
        ],
    }


def _print(p: Any) -> None:
    click.echo(f"problem {p.id}: {p.title} [{p.state}]")
    click.echo(f"  services:      {', '.join(p.services)}")
    if p.cis:
        click.echo(f"  items:         {', '.join(p.cis)}")
    if p.description:
        click.echo(f"  description:   {p.description}")
    if p.root_cause:
        click.echo(f"  root cause:    {p.root_cause}")
    if p.workaround:
        click.echo(f"  workaround:    {p.workaround}")
    if p.article_key:
        click.echo(f"  article:       {p.article_key} (itsm kb show {p.article_key})")
    for i in p.incidents:
        other = f"  (of {i.service_key or 'no service'}: another service)" if i.other_service else ""
        click.echo(f"  incident:      #{i.demand_id}{other}")
    if not p.incidents:
        click.echo("  incidents:     none linked ('itsm problem link ID DEMAND')")
    for a in p.announcements:
        click.echo(f"  announcement:  {a}")
    if p.resolution:
        click.echo(f"  resolution:    {p.resolution}")
    nxt = ", ".join(sorted(str(s) for s in p.allowed))
    click.echo(f"  next:          {nxt or 'nothing: it is resolved'}")


@click.group()
def problem() -> None:
    """Problems and known errors: the cause behind repeated incidents.

    A problem is about services or configuration items (an item reaches the services an
    outage of it affects). Link its incidents, investigate, record the root cause and the
    workaround as a known error (published as the knowledge article known-error-ID,
    and announced with --announce), and resolve it: the customers of its incidents are
    told and asked whether it works for them again. 'itsm report repeat-incidents'
    suggests problems to open.
    """


@problem.command("new")
@click.argument("title")
@click.option("--service", "services", multiple=True, help="A service it is about (repeat for more).")
@click.option(
    "--ci", "cis", multiple=True, help="A configuration item it is about; reaches the services it affects (repeat)."
)
@click.option("--description", default="", help="What keeps going wrong, in plain words.")
@click.option("--link", "link", default=None, metavar="IDS", help="Incidents to link at once, e.g. '12,14'.")
@click.option("-q", "--quiet", is_flag=True, help="Print only the new problem's number.")
@click.pass_context
def problem_new(
    ctx: click.Context,
    title: str,
    services: tuple[str, ...],
    cis: tuple[str, ...],
    description: str,
    link: str | None,
    quiet: bool,
) -> None:
    """Open a problem (name a service with --service, or a configuration item with --ci)."""
    p = open_desk(ctx).open_problem(title, services=services, cis=cis, description=description, incidents=_ids(link))
    if quiet:
        click.echo(p.id)
    else:
        click.echo(f"opened problem {p.id} on {', '.join(p.services)}: {p.title}")


@problem.command("list")
@click.option("--state", type=STATES, default=None, help="Only problems in this state.")
@click.option("--service", default=None, help="Only problems about this service (its key).")
@click.option("--all", "everything", is_flag=True, help="Resolved problems too.")
@FORMAT
@click.pass_context
def problem_list(ctx: click.Context, state: str | None, service: str | None, everything: bool, fmt: str) -> None:
    """Problems, newest first (open ones unless --all or --state)."""
    desk = open_desk(ctx)
    if service:
        desk.get_service(service)  # a typo names a close match
    found = desk.problems(state=state, service=service)
    if state is None and not everything:
        found = [p for p in found if str(p.state) != "resolved"]
    emit(fmt, [_row(p) for p in found], ["id", "title", "state", "services", "incidents", "article"], "Problems")


@problem.command("show")
@click.argument("problem_id", metavar="ID", type=int)
@FORMAT
@click.pass_context
def problem_show(ctx: click.Context, problem_id: int, fmt: str) -> None:
    """A problem: its services, items, incidents, announcements, root cause, workaround and article."""
    p = open_desk(ctx).problem(problem_id)
    if fmt == "json":
        emit(fmt, _detail(p), [])
    else:
        _print(p)


@problem.command("link")
@click.argument("problem_id", metavar="ID", type=int)
@click.argument("demands", metavar="DEMAND...", type=int, nargs=-1)
@click.option("--announcement", "announcements", type=int, multiple=True, help="Link an announcement too (repeat).")
@click.pass_context
def problem_link(ctx: click.Context, problem_id: int, demands: tuple[int, ...], announcements: tuple[int, ...]) -> None:
    """Link incidents (and announcements) to a problem.

    Only incidents can be linked, not requests or questions; an incident of a service
    the problem is not about is linked and shown as such. Each link is an event on the
    incident's journey.
    """
    if not demands and not announcements:
        raise click.UsageError("name an incident to link (DEMAND), or an announcement (--announcement)")
    desk = open_desk(ctx)
    p = desk.problem(problem_id)
    for d in demands:
        p = desk.link_problem_incident(problem_id, d)
        other = next((i for i in p.incidents if i.demand_id == d and i.other_service), None)
        note = f" (an incident of {other.service_key or 'no service'}, another service)" if other else ""
        click.echo(f"linked #{d} to problem {problem_id}{note}")
    for a in announcements:
        desk.link_problem_announcement(problem_id, a)
        click.echo(f"linked announcement {a} to problem {problem_id}")


@problem.command("unlink")
@click.argument("problem_id", metavar="ID", type=int)
@click.argument("demands", metavar="DEMAND...", type=int, nargs=-1, required=True)
@click.pass_context
def problem_unlink(ctx: click.Context, problem_id: int, demands: tuple[int, ...]) -> None:
    """Take incidents off a problem (an event on each incident's journey)."""
    desk = open_desk(ctx)
    for d in demands:
        desk.unlink_problem_incident(problem_id, d)
        click.echo(f"unlinked #{d} from problem {problem_id}")


@problem.command("investigate")
@click.argument("problem_id", metavar="ID", type=int)
@click.option("--root-cause", default=None, help="What is suspected so far.")
@click.pass_context
def problem_investigate(ctx: click.Context, problem_id: int, root_cause: str | None) -> None:
    """Start investigating the cause (from new, or back from known error)."""
    p = open_desk(ctx).investigate_problem(problem_id, root_cause=root_cause)
    click.echo(f"problem {p.id} is {p.state}")


@problem.command("known-error")
@click.argument("problem_id", metavar="ID", type=int)
@click.option("--root-cause", required=True, help="What causes it.")
@click.option("--workaround", required=True, help="What customers can do meanwhile (published as an article).")
@click.option("--announce", is_flag=True, help="Announce it to the subscribers of its services too.")
@click.option("--estimate", default="", help="With --announce: when a fix is expected, e.g. 'by Friday'.")
@click.pass_context
def problem_known_error(
    ctx: click.Context, problem_id: int, root_cause: str, workaround: str, announce: bool, estimate: str
) -> None:
    """Record the root cause and the workaround: a known error.

    The workaround is published as the knowledge article known-error-ID, about the
    problem's services, so customers find it in the portal's search and in self-service
    answers.
    """
    desk = open_desk(ctx)
    p = desk.known_error(problem_id, root_cause=root_cause, workaround=workaround)
    click.echo(f"problem {p.id} is a known error; its workaround is published as article {p.article_key}")
    if announce:
        for a in desk.announce_problem(problem_id, estimate=estimate):
            click.echo(f"announcement {a.id} opened for {a.service_key}")


@problem.command("resolve")
@click.argument("problem_id", metavar="ID", type=int)
@click.option("--resolution", required=True, help="What was fixed, in the customers' words.")
@click.pass_context
def problem_resolve(ctx: click.Context, problem_id: int, resolution: str) -> None:
    """Resolve a problem: its open incidents are resolved, their customers told and asked to confirm.

    As when an announcement is resolved: each customer gets a signed link to say whether
    it works again (or not, which reopens their incident), and is followed up when they
    do not answer. Its open announcements are resolved too.
    """
    desk = open_desk(ctx)
    before = desk.problem(problem_id)
    p = desk.resolve_problem(problem_id, resolution)
    told = len(before.incidents)
    click.echo(f"problem {p.id} is resolved; the customers of its {told} linked incident(s) are asked to confirm")
