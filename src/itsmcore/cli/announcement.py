"""``itsm announcement ...``: service-status announcements and the ledger of who they reached."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

import click

from .base import FORMAT, emit, open_desk

if TYPE_CHECKING:
    from ..desk import Desk

#: The ``--quiet`` option of the commands that tell customers.
QUIET = click.option(
    "--quiet", "-q", is_flag=True, help="No progress bar (there is none when stderr is not a terminal)."
)


@contextmanager
def telling(desk: Desk, quiet: bool, total: Callable[[], int | None]) -> Iterator[None]:
    """A bar of the customers told while this process runs the fan-out itself (the inline runner).

    With another runner the jobs run elsewhere and the command returns at once: no bar.
    ``total`` (how many will be told, when known) is asked only when a bar is drawn.
    """
    from ..jobs import InlineRunner, on_job_ended
    from ..progress import progress_bar, shows_progress

    if not isinstance(desk.runner, InlineRunner) or not shows_progress(quiet):
        yield
        return
    with (
        progress_bar("telling customers", total=total(), quiet=quiet) as bar,
        on_job_ended(lambda job: bar.advance() if job.action == "notify" else None),
    ):
        yield


def _links(values: Iterable[str]) -> list[Any]:
    """Parse repeated ``--link TITLE=URL`` values; a link without a URL is a usage error (exit 2)."""
    from ..model import Link

    out = []
    for v in values:
        title, sep, url = v.partition("=")
        if not sep or not url.strip():
            raise click.BadParameter(f"expected TITLE=URL, got {v!r}", param_hint="--link")
        out.append(Link(title=title.strip(), url=url.strip()))
    return out


def _audience(desk: Desk, announcement_id: int) -> int | None:
    """At most how many customers an update or resolution of the announcement tells (subscribers and affected)."""
    led = desk.ledger(announcement_id)
    return led.subscribers + led.affected


def _announcement_row(a: Any) -> dict[str, Any]:
    """One announcement as plain values: a table row, or JSON for scripts."""
    return {
        "id": a.id,
        "service": a.service_key,
        "state": str(a.state),
        "title": a.title,
        "description": a.description,
        "workaround": a.workaround,
        "links": [{"title": x.title, "url": x.url} for x in a.workaround_links],
        "estimate": a.estimate,
        "source": a.source,
        "opened_at": a.opened_at.isoformat(timespec="seconds"),
        "resolved_at": a.resolved_at.isoformat(timespec="seconds") if a.resolved_at else None,
        "resolution": a.resolution,
    }


@click.group()
def announcement() -> None:
    """Service-status announcements: open, update, resolve, and see who is affected."""


@announcement.command("open")
@click.option("--service", default=None, help="The service that is failing.")
@click.option(
    "--ci",
    default=None,
    metavar="ID",
    help="Or a configuration item that is failing: every service its outage affects is announced.",
)
@click.option("--title", required=True, help="What is wrong, in the customer's words.")
@click.option("--description", default="", help="More detail: who is affected, what they see.")
@click.option("--workaround", default="", help="What to do meanwhile.")
@click.option("--link", "links", multiple=True, metavar="TITLE=URL", help="A link for the workaround.")
@click.option("--estimate", default="", help="When it should be fixed, e.g. 'by 3 pm'.")
@click.option("--source", default="agent", show_default=True, help="Who opened it (agent, or a monitoring tool).")
@FORMAT
@QUIET
@click.pass_context
def announcement_open(
    ctx: click.Context,
    service: str | None,
    ci: str | None,
    title: str,
    description: str,
    workaround: str,
    links: tuple[str, ...],
    estimate: str,
    source: str,
    fmt: str,
    quiet: bool,
) -> None:
    """Open an announcement; every subscriber of the service is told through their preferred channel.

    Name the failing service with --service, or a configuration item with --ci: then one
    announcement opens on every service its outage affects (see 'itsm ci impact').
    With the inline runner the telling happens before the command returns, with a
    progress bar on a terminal; with another runner it is queued for the workers.
    """
    if (service is None) == (ci is None):
        raise click.UsageError("name either --service or --ci")
    desk = open_desk(ctx)
    if ci is not None:
        with telling(desk, quiet, lambda: len(desk.ci_impact(ci).subscribers)):
            opened = desk.open_ci_announcement(
                ci,
                title,
                description=description,
                workaround=workaround,
                links=_links(links),
                estimate=estimate,
                source=source,
            )
        if fmt == "json":
            emit(fmt, [_announcement_row(a) for a in opened], [])
        else:
            for a in opened:
                click.echo(f"announcement {a.id} opened for {a.service_key}: {a.title}")
        return
    assert service is not None
    with telling(desk, quiet, lambda: len(desk.subscribers(service))):
        a = desk.open_announcement(
            service,
            title,
            description=description,
            workaround=workaround,
            links=_links(links),
            estimate=estimate,
            source=source,
        )
    if fmt == "json":
        emit(fmt, _announcement_row(a), [])
    else:
        click.echo(f"announcement {a.id} opened for {a.service_key}: {a.title}")


@announcement.command("update")
@click.argument("announcement_id", type=int)
@click.option("--description", default=None)
@click.option("--workaround", default=None)
@click.option("--link", "links", multiple=True, metavar="TITLE=URL", help="Replace the workaround links.")
@click.option("--estimate", default=None)
@QUIET
@click.pass_context
def announcement_update(
    ctx: click.Context,
    announcement_id: int,
    description: str | None,
    workaround: str | None,
    links: tuple[str, ...],
    estimate: str | None,
    quiet: bool,
) -> None:
    """Update an open announcement; everyone concerned is told (a progress bar on a terminal)."""
    desk = open_desk(ctx)
    with telling(desk, quiet, lambda: _audience(desk, announcement_id)):
        a = desk.update_announcement(
            announcement_id,
            description=description,
            workaround=workaround,
            links=_links(links) if links else None,
            estimate=estimate,
        )
    click.echo(f"announcement {a.id} updated")


@announcement.command("resolve")
@click.argument("announcement_id", type=int)
@click.option("--resolution", required=True, help="What was fixed, in plain words.")
@QUIET
@click.pass_context
def announcement_resolve(ctx: click.Context, announcement_id: int, resolution: str, quiet: bool) -> None:
    """Announce the fix; affected customers get a link to confirm it works for them (a progress bar on a terminal)."""
    desk = open_desk(ctx)
    with telling(desk, quiet, lambda: _audience(desk, announcement_id)):
        a = desk.resolve_announcement(announcement_id, resolution)
    click.echo(f"announcement {a.id} resolved")


@announcement.command("affects-me")
@click.argument("announcement_id", type=int)
@click.option("--customer", required=True, help="The customer it affects.")
@click.option("--channel", default="cli", show_default=True)
@click.pass_context
def announcement_affects_me(ctx: click.Context, announcement_id: int, customer: str, channel: str) -> None:
    """Record that an open announcement affects a customer ("This affects me")."""
    did = open_desk(ctx).affects_me(announcement_id, customer, channel)
    click.echo(f"{customer} is affected by announcement {announcement_id} (demand {did})")


@announcement.command("confirm")
@click.argument("token")
@click.option("--fixed/--still-broken", default=True, help="The customer's answer.")
@click.pass_context
def announcement_confirm(ctx: click.Context, token: str, fixed: bool) -> None:
    """Answer a confirm link (TOKEN is the link or its last part)."""
    did = open_desk(ctx).confirm(token, fixed)
    click.echo(f"demand {did}: " + ("confirmed fixed" if fixed else "still broken, reopened"))


@announcement.command("show")
@click.argument("announcement_id", type=int)
@FORMAT
@click.pass_context
def announcement_show(ctx: click.Context, announcement_id: int, fmt: str) -> None:
    """Show an announcement and its ledger: notified, affected, confirmed fixed, still broken, no answer."""
    led = open_desk(ctx).ledger(announcement_id)
    counts = {
        "subscribers": led.subscribers,
        "notified": led.notified,
        "unreachable": led.unreachable,
        "affected": led.affected,
        "confirmed_fixed": led.confirmed_fixed,
        "still_broken": led.still_broken,
        "no_answer": led.no_answer,
        "followed_up": led.followed_up,
    }
    row = _announcement_row(led.announcement) | {"ledger": counts}
    if fmt == "json":
        emit(fmt, row, [])
        return
    a = led.announcement
    click.echo(f"announcement {a.id} ({a.state}) for {a.service_key}: {a.title}")
    if a.workaround:
        click.echo(f"workaround: {a.workaround}")
    emit(
        "table",
        [{"what": k.replace("_", " "), "customers": v} for k, v in counts.items()],
        ["what", "customers"],
        "ledger",
    )


@announcement.command("list")
@click.option("--open", "open_only", is_flag=True, help="Only open announcements.")
@FORMAT
@click.pass_context
def announcement_list(ctx: click.Context, open_only: bool, fmt: str) -> None:
    """List announcements, newest first."""
    rows = [_announcement_row(a) for a in open_desk(ctx).announcements(open_only=open_only)]
    emit(fmt, rows, ["id", "service", "state", "title", "opened_at"], "announcements")
