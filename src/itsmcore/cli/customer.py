"""``itsm customer ...``: customers as the directory knows them, and their sign-in."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import click

from .base import FORMAT, cell, emit, open_desk


def _customer_row(c: Any, items: Sequence[Any] = (), manager_name: str | None = None) -> dict[str, Any]:
    """One customer (and their devices, when given) as plain values: a table row, or JSON for scripts.

    ``disabled`` is the directory's flag (``attributes.disabled``): an agent must see that an
    account is switched off before acting for it. ``manager_name`` is the manager as people
    know them; ``manager`` stays the id, for scripts.
    """
    return {
        "id": c.id,
        "name": c.name,
        "disabled": str(c.attributes.get("disabled", "")).lower() == "true",
        "email": c.email,
        "mobile": c.mobile,
        "role": c.role,
        "department": c.department,
        "groups": list(c.groups),
        "manager": c.manager,
        "manager_name": manager_name,
        "preferred_channels": list(c.preferred_channels),
        "devices": [{"id": ci.id, "kind": str(ci.kind), "name": ci.name, **dict(ci.attributes)} for ci in items],
    }


@click.group()
def customer() -> None:
    """Customers as the directory knows them."""


@customer.command("list")
@FORMAT
@click.pass_context
def customer_list(ctx: click.Context, fmt: str) -> None:
    """List every customer in the directory."""
    from ..deployment import Deployment, Directory

    dep = Deployment.load(ctx.obj.get("config"))
    customers = sorted(Directory(dep.directories()).list_customers(), key=lambda c: c.id)
    names = {c.id: c.name for c in customers}
    rows = [_customer_row(c, manager_name=names.get(c.manager) if c.manager else None) for c in customers]
    for r in rows:
        r.pop("devices")
    if fmt != "json":
        for r in rows:
            r["manager"] = _person(r["manager"], r["manager_name"])
            r["disabled"] = "disabled" if r["disabled"] else ""
    emit(fmt, rows, ["id", "name", "disabled", "email", "role", "department", "groups", "manager"], "customers")


def _person(customer_id: str | None, name: str | None) -> str | None:
    """Someone as a table shows them: "Scott Miller (scott)", or the id alone when the name is unknown."""
    if customer_id is None:
        return None
    return f"{name} ({customer_id})" if name and name != customer_id else customer_id


@customer.command("show")
@click.argument("customer_id")
@FORMAT
@click.pass_context
def customer_show(ctx: click.Context, customer_id: str, fmt: str) -> None:
    """Show one customer whole: identity and devices, subscriptions, open and recent demands on every
    channel with the sentence the customer reads, announcements affecting them, survey answers and
    their trend, and reviews."""
    from ..config import did_you_mean
    from ..errors import UnknownCustomer

    desk = open_desk(ctx)
    if desk.find_customer(customer_id) is None:
        raise UnknownCustomer(customer_id, did_you_mean(customer_id, [x.id for x in desk.list_customers()]))
    p = desk.customer_profile(customer_id)
    row = _customer_row(p.customer, p.items, p.manager.name if p.manager else None)
    row |= profile_fields(p)
    if fmt == "json":
        emit(fmt, row, [])
        return
    row["manager"] = _person(row["manager"], row.pop("manager_name"))
    row["disabled"] = "yes: the directory has switched this account off" if row["disabled"] else "no"
    facts = ["id", "name", "disabled", "email", "mobile", "role", "department", "groups", "manager"]
    facts += ["preferred_channels", "contact", "subscriptions", "channels", "trend"]
    row["contact"] = _contact(row["preferences"])
    row["channels"] = [f"{ch} {n}" for ch, n in row["channels"].items()]
    emit("table", [{"field": k, "value": cell(row[k])} for k in facts], ["field", "value"], f"customer {p.customer.id}")
    sections = [
        ("devices", ["id", "kind", "name"]),
        ("open_demands", ["id", "service", "channel", "status"]),
        ("recent_demands", ["id", "service", "channel", "status"]),
        ("announcements", ["id", "service", "title"]),
        ("survey_answers", ["method", "score", "comment", "demand", "at"]),
        ("reviews", ["service", "rating", "text", "at"]),
    ]
    for key, columns in sections:
        if row[key]:
            emit("table", row[key], columns, key.replace("_", " "))


def profile_fields(p: Any) -> dict[str, Any]:
    """The parts of a :class:`~itsmcore.CustomerProfile` beyond the directory entry, as plain values."""

    def demand(d: Any) -> dict[str, Any]:
        return {
            "id": d.id,
            "kind": d.kind,
            "summary": d.summary,
            "service": d.service_key,
            "channel": d.channel,
            "state": d.state,
            "status": d.status,
            "created_at": d.created_at.isoformat(),
        }

    prefs = p.preferences
    return {
        "preferences": preferences_fields(prefs) if prefs is not None else None,
        "subscriptions": list(p.subscriptions),
        "channels": dict(p.channels),
        "open_demands": [demand(d) for d in p.open_demands],
        "recent_demands": [demand(d) for d in p.recent_demands],
        "announcements": [
            {"id": a.id, "service": a.service_key, "title": a.title, "state": str(a.state)} for a in p.announcements
        ],
        "survey_answers": [
            {
                "method": a.method,
                "score": a.score,
                "comment": a.comment,
                "demand": a.demand_id,
                "service": a.service_key,
                "at": a.at.isoformat(timespec="minutes"),
            }
            for a in p.survey_answers
        ],
        "trend": str(p.trend),
        "reviews": [
            {"service": r.service_key, "rating": r.rating, "text": r.text, "at": r.at.isoformat(timespec="minutes")}
            for r in p.reviews
        ],
    }


def preferences_fields(prefs: Any) -> dict[str, Any]:
    """A :class:`~itsmcore.Preferences` as plain values."""
    return {
        "channels": list(prefs.channels),
        "quiet_hours": str(prefs.quiet_hours) if prefs.quiet_hours else None,
        "language": prefs.language,
        "surveys": prefs.surveys,
        "source": prefs.source,
        "updated_at": prefs.updated_at.isoformat(timespec="seconds") if prefs.updated_at else None,
        "updated_by": prefs.updated_by,
    }


def _contact(prefs: dict[str, Any] | None) -> str:
    """The preferences in one line: "email, sms; quiet 22:00-07:00 Europe/Paris; fr; no surveys (their choice)"."""
    if prefs is None:
        return ""
    parts = [", ".join(prefs["channels"]) or "the default channel"]
    if prefs["quiet_hours"]:
        parts.append(f"quiet {prefs['quiet_hours']}")
    parts.append(prefs["language"])
    if not prefs["surveys"]:
        parts.append("no surveys")
    chosen = " (their choice)" if prefs["source"] == "customer" else " (from the directory)"
    return "; ".join(parts) + chosen


@customer.command("preferences")
@click.argument("customer_id")
@click.option("--channels", help="Channels in order, comma-separated (from those that can reach the customer).")
@click.option("--quiet-hours", metavar="HH:MM-HH:MM", help='When non-urgent messages wait ("" clears them).')
@click.option("--time-zone", help="Time zone of the quiet hours (e.g. Europe/Paris; default UTC).")
@click.option("--language", help="Language of customer-facing text (en, fr, de_CH).")
@click.option("--surveys/--no-surveys", default=None, help="Whether the customer may be asked for feedback.")
@click.option("--by", default=None, help="Who makes the change (default: the customer, for a change they asked for).")
@FORMAT
@click.pass_context
def customer_preferences(
    ctx: click.Context,
    customer_id: str,
    channels: str | None,
    quiet_hours: str | None,
    time_zone: str | None,
    language: str | None,
    surveys: bool | None,
    by: str | None,
    fmt: str,
) -> None:
    """Show a customer's contact preferences, or change them with the options.

    Stored choices override the directory; every change is kept with who made it (listed
    below the preferences). Outage announcements and their workarounds still go out in
    quiet hours, as do messages about a critical demand.
    """
    desk = open_desk(ctx)
    changing = any(v is not None for v in (channels, quiet_hours, time_zone, language, surveys))
    if changing:
        prefs = desk.set_preferences(
            customer_id,
            by=by or customer_id,
            channels=channels.split(",") if channels is not None else None,
            quiet_hours=quiet_hours,
            time_zone=time_zone,
            language=language,
            surveys=surveys,
        )
    else:
        prefs = desk.preferences(customer_id)
    row = preferences_fields(prefs) | {"offered": desk.offered_channels(customer_id)}
    changes = [
        {"field": c.field, "old": c.old, "new": c.new, "by": c.by, "at": c.at.isoformat(timespec="seconds")}
        for c in desk.preference_changes(customer_id, limit=10)
    ]
    if fmt == "json":
        emit(fmt, row | {"changes": changes}, [])
        return
    title = f"preferences of {customer_id}"
    emit("table", [{"field": k, "value": cell(v)} for k, v in row.items()], ["field", "value"], title)
    if changes:
        emit("table", changes, ["at", "field", "old", "new", "by"], "changes")


@customer.command("search")
@click.argument("text")
@click.option("--limit", type=click.IntRange(1, 50), default=20, show_default=True, help="At most this many.")
@FORMAT
@click.pass_context
def customer_search(ctx: click.Context, text: str, limit: int, fmt: str) -> None:
    """Find customers by part of their name, login, email or phone number.

    Each word of TEXT must start a word of theirs, case and accents ignored ("jos mul"
    finds José Müller); digits find a phone number by its start or its last four or more.
    TEXT needs two letters or digits at least. Results are by name; when as many as
    --limit come back, type more to narrow them down. The search reads an index of the
    directories, rebuilt by itself when their number of customers changes and by
    'itsm customer index'.
    """
    found = open_desk(ctx).search_customers(text, limit=limit)
    rows = [{"id": m.id, "name": m.name, "email": m.email, "phone": m.phone, "role": m.role} for m in found]
    if fmt != "json" and not rows:
        click.echo(f"no customer matches {text!r}")
        return
    emit(fmt, rows, ["id", "name", "email", "phone", "role"], f"customers matching {text!r}")
    if fmt != "json" and len(rows) == limit:
        click.echo(f"(the first {limit}: type more of the name to narrow them down)")


@customer.command("index")
@click.pass_context
def customer_index(ctx: click.Context) -> None:
    """Rebuild the customer search index from the directories (after editing customers).

    Searches rebuild it by themselves when the directories list a different number of
    customers than it holds; a changed name, email or phone needs this command.
    """
    n = open_desk(ctx).index_customers()
    click.echo(f"{n} customer(s) indexed for search")


@customer.command("unlock")
@click.argument("login")
@click.pass_context
def customer_unlock(ctx: click.Context, login: str) -> None:
    """Let LOGIN sign in again now: forget its failed sign-ins (the [security] limit).

    LOGIN is any spelling the customer signs in with (id, email address, DOMAIN\\name),
    or their customer id: failures are counted per directory entry, so all of them go.
    Every web process sees the change at once.
    """
    n = open_desk(ctx).unlock_sign_in(login)
    click.echo(f"{login}: {n} failed sign-in(s) forgotten" if n else f"{login}: no failed sign-ins to forget")


@customer.command("sign-out")
@click.argument("customer_id")
@click.pass_context
def customer_sign_out(ctx: click.Context, customer_id: str) -> None:
    """End every portal session of CUSTOMER_ID at once (a lost laptop, a changed password).

    Their browsers are signed out on their next page; they can sign in again as usual.
    """
    n = open_desk(ctx).end_sessions(customer_id)
    click.echo(f"{customer_id}: {n} session(s) ended" if n else f"{customer_id}: no live sessions")


@customer.command("hash-password")
@click.password_option(help="The password to hash (prompted when omitted).")
def customer_hash_password(password: str) -> None:
    """Print a scrypt hash to put in a file directory's `password` field."""
    from ..builtin.directory import hash_password

    click.echo(hash_password(password))
