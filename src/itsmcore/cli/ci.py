"""``itsm ci ...``: configuration items, their relationships, and what an outage of one affects."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import click

from .base import FORMAT, emit, open_desk

if TYPE_CHECKING:
    from ..model import Impact


@click.group()
def ci() -> None:
    """Configuration items: their relationships and the impact of an outage (the CMDB)."""


def _impact_rows(impact: Impact) -> dict[str, Any]:
    return {
        "ci": impact.ci,
        "depth": impact.depth,
        "items": [{"ci": i.ci, "name": i.name, "depth": i.depth} for i in impact.items],
        "services": list(impact.services),
        "subscribers": list(impact.subscribers),
        "open_demands": list(impact.open_demands),
        "cycles": list(impact.cycles),
    }


def _print_impact(impact: Impact) -> None:
    reached = [i for i in impact.items if i.ci != impact.ci]
    click.echo(f"an outage of {impact.ci} (walked up to {impact.depth} relationships) affects:")
    click.echo(f"  items:        {', '.join(f'{i.ci} ({i.depth})' for i in reached) or 'no other item'}")
    click.echo(f"  services:     {', '.join(impact.services) or 'none'}")
    click.echo(
        f"  subscribers:  {len(impact.subscribers)}"
        + (f" ({', '.join(impact.subscribers)})" if impact.subscribers else "")
    )
    demands = ", ".join(f"#{d}" for d in impact.open_demands)
    click.echo(f"  open demands: {len(impact.open_demands)}" + (f" ({demands})" if demands else ""))
    if impact.cycles:
        click.secho(
            f"warning: the relationships go round in a cycle through {', '.join(impact.cycles)};"
            " the walk stopped there",
            fg="yellow",
            err=True,
        )


@ci.command("show")
@click.argument("ci_id", metavar="ID")
@click.option(
    "--depth", type=click.IntRange(1, 50), default=None, help="How many relationships away (default: [cmdb] depth, 5)."
)
@FORMAT
@click.pass_context
def ci_show(ctx: click.Context, ci_id: str, depth: int | None, fmt: str) -> None:
    """The item, its relationships (both ways) and what an outage of it affects."""
    desk = open_desk(ctx)
    item = desk.configuration_item(ci_id)
    rels = desk.relationships(ci_id)
    impact = desk.ci_impact(ci_id, depth)
    if fmt == "json":
        emit(
            fmt,
            {
                "id": item.id,
                "kind": str(item.kind),
                "name": item.name,
                "owner": item.owner,
                "attributes": dict(item.attributes),
                "relationships": [
                    {"ci": r.ci, "type": str(r.type), "target": r.target, "service": r.service, "origin": r.origin}
                    for r in rels
                ],
                "impact": _impact_rows(impact),
            },
            [],
        )
        return
    click.echo(f"{item.id}: {item.name} ({item.kind}, owner {item.owner or 'nobody'})")
    for r in rels:
        click.echo(f"  {r.ci} {r.type} {r.target or 'service ' + str(r.service)}    [{r.origin}]")
    if not rels:
        click.echo("  no relationships")
    _print_impact(impact)


@ci.command("impact")
@click.argument("ci_id", metavar="ID")
@click.option(
    "--depth", type=click.IntRange(1, 50), default=None, help="How many relationships away (default: [cmdb] depth, 5)."
)
@FORMAT
@click.pass_context
def ci_impact(ctx: click.Context, ci_id: str, depth: int | None, fmt: str) -> None:
    """What an outage of the item affects: items, services, their subscribers and open demands.

    Walks the relationships that point at the item (runs_on, depends_on, connects_to),
    then the services they provide; a cycle stops the walk and is named.
    """
    impact = open_desk(ctx).ci_impact(ci_id, depth)
    if fmt == "json":
        emit(fmt, _impact_rows(impact), [])
    else:
        _print_impact(impact)


@ci.command("sync")
@click.pass_context
def ci_sync(ctx: click.Context) -> None:
    """Reload the relationships from the config, the relationship file and plugins, now.

    The desk also reloads them whenever it opens and their sources changed (a fingerprint
    of every relationship). A relationship naming an unknown item, service or type
    refuses the whole set (exit 2, with the file, line and a close match); the
    relationships loaded before stay.
    """
    count = open_desk(ctx).sync_relationships(force=True)
    click.echo(f"relationships loaded: {count}")
