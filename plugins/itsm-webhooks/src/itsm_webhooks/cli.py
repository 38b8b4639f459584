"""``itsm webhook add|list|test|deliveries|redeliver|rotate|enable``: outbound webhooks, thin over :mod:`.hub`."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import click

if TYPE_CHECKING:
    from .hub import Webhooks

FORMAT = click.option(
    "--format", "fmt", type=click.Choice(["table", "json"]), default="table", show_default=True, help="Output format."
)


def _hub(ctx: click.Context) -> Webhooks:
    import itsmcore

    from .hub import configured, for_desk

    desk = itsmcore.open_desk(ctx)
    if not configured(desk):
        raise click.UsageError(
            f"{desk.config.path.name} has no [webhooks] table: add one (it may be empty) to switch webhooks on"
        )
    return for_desk(desk)


def _emit(fmt: str, rows: Sequence[dict[str, Any]], columns: Sequence[str]) -> None:
    if fmt == "json":
        click.echo(json.dumps(list(rows), indent=2, default=str, ensure_ascii=False))
        return
    if not rows:
        click.echo("(none)")
        return
    cells = [[("" if r.get(c) is None else str(r.get(c))).replace("\n", " ") for c in columns] for r in rows]
    widths = [max(len(c), *(len(row[i]) for row in cells)) for i, c in enumerate(columns)]
    click.echo("  ".join(c.ljust(w) for c, w in zip(columns, widths, strict=True)).rstrip())
    for row in cells:
        click.echo("  ".join(v.ljust(w) for v, w in zip(row, widths, strict=True)).rstrip())


@click.group("webhook")
def webhook_group() -> None:
    """Outbound webhooks: subscriptions, their deliveries, tests and secrets."""


@webhook_group.command("add")
@click.argument("name")
@click.argument("url")
@click.option(
    "--event",
    "events",
    multiple=True,
    required=True,
    help="An event type to send (repeat for more; * for all). See the plugin's README for the list.",
)
@click.option("--service", "services", multiple=True, help="Only demands (and announcements) of this service.")
@click.option("--kind", "kinds", multiple=True, help="Only demands of this kind: value, failure, information.")
@click.pass_context
def add(
    ctx: click.Context, name: str, url: str, events: tuple[str, ...], services: tuple[str, ...], kinds: tuple[str, ...]
) -> None:
    """Subscribe URL to events; prints the signing secret once (give it to the receiver)."""
    sub, secret = _hub(ctx).add(name, url, events, services=services, kinds=kinds)
    click.echo(f"subscription {sub.name}: {', '.join(sub.events)} -> {sub.url}")
    click.echo(f"signing secret (shown once; the receiver verifies webhook-signature with it): {secret}")


@webhook_group.command("list")
@FORMAT
@click.pass_context
def list_(ctx: click.Context, fmt: str) -> None:
    """List subscriptions: events, filters, whether they are on (never their secrets)."""
    rows = [
        {
            "name": sub.name,
            "url": sub.url,
            "events": ",".join(sub.events),
            "services": ",".join(sub.services),
            "kinds": ",".join(sub.kinds),
            "enabled": sub.enabled,
            "disabled_reason": sub.disabled_reason,
            "source": sub.source,
        }
        for sub in _hub(ctx).subscriptions()
    ]
    _emit(fmt, rows, ["name", "url", "events", "services", "kinds", "enabled", "disabled_reason"])


@webhook_group.command("test")
@click.argument("name")
@click.pass_context
def test(ctx: click.Context, name: str) -> None:
    """Post a webhook.test message to NAME now and say how the receiver answered (exit 1 if it did not take it)."""
    outcome = _hub(ctx).test(name)
    if outcome.ok:
        click.echo(f"{name}: the receiver answered {outcome.status} in {outcome.duration_ms} ms")
        return
    click.echo(f"{name}: not delivered: {outcome.error}", err=True)
    ctx.exit(1)


@webhook_group.command("deliveries")
@click.argument("name")
@click.option("--state", type=click.Choice(["waiting", "queued", "delivered", "failed", "cancelled"]), default=None)
@click.option("--limit", type=click.IntRange(min=1), default=50, show_default=True)
@click.option("--message", "message_id", type=int, default=None, help="Every attempt of this message instead.")
@FORMAT
@click.pass_context
def deliveries(ctx: click.Context, name: str, state: str | None, limit: int, message_id: int | None, fmt: str) -> None:
    """The delivery log of subscription NAME, newest first (or one message's attempts)."""
    hub = _hub(ctx)
    if message_id is not None:
        hub.subscription(name)
        _emit(fmt, hub.attempts(message_id), ["attempt", "at", "status", "duration_ms", "error", "response"])
        return
    rows = hub.deliveries(name, state=state, limit=limit)
    _emit(fmt, rows, ["id", "event", "demand", "state", "attempts", "status", "error", "created_at"])


@webhook_group.command("redeliver")
@click.argument("message_ids", type=int, nargs=-1)
@click.option("--failed", "failed_of", metavar="NAME", default=None, help="Every failed message of subscription NAME.")
@click.pass_context
def redeliver(ctx: click.Context, message_ids: tuple[int, ...], failed_of: str | None) -> None:
    """Send messages again with the same webhook-id (ids from 'itsm webhook deliveries')."""
    hub = _hub(ctx)
    ids = list(message_ids)
    if failed_of:
        ids += [r["id"] for r in hub.deliveries(failed_of, state="failed", limit=10_000)]
    if not ids:
        raise click.UsageError("name the messages to send again, or --failed NAME")
    jobs = hub.redeliver(ids)
    click.echo(f"queued {len(jobs)} message(s) again (jobs {', '.join(map(str, jobs))})")


@webhook_group.command("rotate")
@click.argument("name")
@click.pass_context
def rotate(ctx: click.Context, name: str) -> None:
    """Give NAME a new secret; the old one keeps signing beside it for [webhooks] rotation_overlap_hours."""
    hub = _hub(ctx)
    secret = hub.rotate(name)
    hours = hub.settings.rotation_overlap_hours
    click.echo(f"new signing secret for {name} (shown once): {secret}")
    click.echo(f"messages carry signatures with both secrets for {hours:g} hour(s); then the new one only")


@webhook_group.command("enable")
@click.argument("name")
@click.pass_context
def enable(ctx: click.Context, name: str) -> None:
    """Switch NAME on again (after its receiver answered 410 Gone); missed events are not resent."""
    sub = _hub(ctx).enable(name)
    click.echo(f"subscription {sub.name} is on")
