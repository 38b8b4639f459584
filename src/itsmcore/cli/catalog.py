"""``itsm catalog ...``: the service catalog, searched as a customer would and listed."""

from __future__ import annotations

import click

from .base import FORMAT, emit, open_desk


@click.group()
def catalog() -> None:
    """The service catalog: search it as a customer would."""


@catalog.command("search")
@click.argument("query")
@click.option("--as", "as_customer", default=None, help="Show whether this customer can have each result.")
@click.option("--limit", type=int, default=10, show_default=True)
@FORMAT
@click.pass_context
def catalog_search(ctx: click.Context, query: str, as_customer: str | None, limit: int, fmt: str) -> None:
    """Search the catalog (tolerant of typos and word forms), best match first."""
    desk = open_desk(ctx)
    rows = [
        {
            "id": e.service.key,
            "name": e.service.name,
            "category": e.service.category,
            "description": e.service.description,
            "eligible": e.eligible,
            "reason": e.reason,
            "next_step": e.next_step,
            "matched": e.matched,
            "score": round(e.score, 3),
        }
        for e in desk.search(query, customer=as_customer, limit=limit)
    ]
    if fmt == "table" and not rows:
        click.echo(f"Nothing matches {query!r}. Try other words, or report a problem with 'demand submit'.")
        return
    for r in rows:
        r["can_have"] = "yes" if r["eligible"] else f"no: {r['reason']} {r['next_step']}".strip()
    if fmt == "json":
        for r in rows:
            r.pop("can_have")
    emit(fmt, rows, ["id", "name", "category", "can_have"], f"catalog: {query}")


@catalog.command("list")
@FORMAT
@click.pass_context
def catalog_list(ctx: click.Context, fmt: str) -> None:
    """List every service of the catalog."""
    from ..deployment import Deployment

    dep = Deployment.load(ctx.obj.get("config"))
    rows = [
        {
            "id": s.key,
            "name": s.name,
            "kind": str(s.kind),
            "category": s.category,
            "asks": [a.name for a in s.asks],
            "plan": [p.action for p in s.plan],
        }
        for s in dep.config.services
    ]
    emit(fmt, rows, ["id", "name", "kind", "category", "asks", "plan"], "catalog")
