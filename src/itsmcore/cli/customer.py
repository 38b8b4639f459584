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
    """Show one customer with roles, groups and devices."""
    from ..config import did_you_mean
    from ..deployment import Deployment, Directory
    from ..errors import UnknownCustomer

    dep = Deployment.load(ctx.obj.get("config"))
    directory = Directory(dep.directories())
    c = directory.get_customer(customer_id)
    if c is None:
        raise UnknownCustomer(customer_id, did_you_mean(customer_id, [x.id for x in directory.list_customers()]))
    manager = directory.get_customer(c.manager) if c.manager else None
    row = _customer_row(c, directory.configuration_items(c.id), manager.name if manager else None)
    if fmt == "json":
        emit(fmt, row, [])
        return
    devices = row.pop("devices")
    row["manager"] = _person(row["manager"], row.pop("manager_name"))
    row["disabled"] = "yes: the directory has switched this account off" if row["disabled"] else "no"
    emit("table", [{"field": k, "value": cell(v)} for k, v in row.items()], ["field", "value"], f"customer {c.id}")
    if devices:
        emit(
            "table",
            [{"id": d["id"], "kind": d["kind"], "name": d["name"]} for d in devices],
            ["id", "kind", "name"],
            "devices",
        )


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
