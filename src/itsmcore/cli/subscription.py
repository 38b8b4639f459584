"""``itsm subscription ...``: which customers use which service, so announcements reach them."""

from __future__ import annotations

import click

from .base import FORMAT, emit, open_desk


@click.group()
def subscription() -> None:
    """Which customers use which service (for announcements)."""


@subscription.command("add")
@click.option("--customer", required=True)
@click.option("--service", required=True)
@click.pass_context
def subscription_add(ctx: click.Context, customer: str, service: str) -> None:
    """Subscribe a customer to a service's announcements."""
    open_desk(ctx).subscribe(customer, service)
    click.echo(f"{customer} subscribed to {service}")


@subscription.command("remove")
@click.option("--customer", required=True)
@click.option("--service", required=True)
@click.pass_context
def subscription_remove(ctx: click.Context, customer: str, service: str) -> None:
    """Unsubscribe a customer (remembered: the CMDB will not add them back)."""
    open_desk(ctx).unsubscribe(customer, service)
    click.echo(f"{customer} unsubscribed from {service}")


@subscription.command("list")
@click.argument("service")
@FORMAT
@click.pass_context
def subscription_list(ctx: click.Context, service: str, fmt: str) -> None:
    """List a service's subscribers (explicit, from fulfilled requests, and from the CMDB)."""
    rows = [{"id": c} for c in open_desk(ctx).subscribers(service)]
    emit(fmt, rows, ["id"], f"subscribers of {service}")
