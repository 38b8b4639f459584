"""``itsm customer ...``: customers as the directory knows them, and their sign-in."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import click

from .base import FORMAT, cell, emit, open_desk


def _customer_row(c: Any, items: Sequence[Any] = ()) -> dict[str, Any]:
    """One customer (and their devices, when given) as plain values: a table row, or JSON for scripts."""
    return {
        "id": c.id,
        "name": c.name,
        "email": c.email,
        "mobile": c.mobile,
        "role": c.role,
        "department": c.department,
        "groups": list(c.groups),
        "manager": c.manager,
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
    rows = [_customer_row(c) for c in sorted(Directory(dep.directories()).list_customers(), key=lambda c: c.id)]
    for r in rows:
        r.pop("devices")
    emit(fmt, rows, ["id", "name", "email", "role", "department", "groups", "manager"], "customers")


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
    row = _customer_row(c, directory.configuration_items(c.id))
    if fmt == "json":
        emit(fmt, row, [])
        return
    devices = row.pop("devices")
    emit("table", [{"field": k, "value": cell(v)} for k, v in row.items()], ["field", "value"], f"customer {c.id}")
    if devices:
        emit(
            "table",
            [{"id": d["id"], "kind": d["kind"], "name": d["name"]} for d in devices],
            ["id", "kind", "name"],
            "devices",
        )


@customer.command("unlock")
@click.argument("login")
@click.pass_context
def customer_unlock(ctx: click.Context, login: str) -> None:
    """Let LOGIN sign in again now: forget its failed sign-ins (the [security] limit).

    LOGIN is what the customer types to sign in (an id or an email address, counted
    separately). Every web process sees the change at once.
    """
    n = open_desk(ctx).unlock_sign_in(login)
    click.echo(f"{login}: {n} failed sign-in(s) forgotten" if n else f"{login}: no failed sign-ins to forget")


@customer.command("hash-password")
@click.password_option(help="The password to hash (prompted when omitted).")
def customer_hash_password(password: str) -> None:
    """Print a scrypt hash to put in a file directory's `password` field."""
    from ..builtin.directory import hash_password

    click.echo(hash_password(password))
