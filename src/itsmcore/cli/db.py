"""``itsm db ...``: the database schema, upgraded and inspected without opening the desk."""

from __future__ import annotations

import click


@click.group()
def db() -> None:
    """Database schema: upgrade and inspect."""


@db.command("upgrade")
@click.option("--revision", default="head", show_default=True, help="Target schema revision.")
@click.pass_context
def db_upgrade(ctx: click.Context, revision: str) -> None:
    """Apply the shipped migrations to the deployment's database."""
    from ..config import read_config
    from ..store.engine import current_revision, make_engine, resolve_url, safe_url, upgrade

    cfg = read_config(ctx.obj.get("config"))
    url = resolve_url(cfg.deployment.database, cfg.base_dir)
    engine = make_engine(url)
    before = current_revision(engine)
    upgrade(engine, revision)
    after = current_revision(engine)
    engine.dispose()
    click.echo(f"{safe_url(url)}: schema {before or 'empty'} -> {after}")


@db.command("current")
@click.pass_context
def db_current(ctx: click.Context) -> None:
    """Print the database's schema revision."""
    from ..config import read_config
    from ..store.engine import SCHEMA_REVISION, current_revision, make_engine, resolve_url

    cfg = read_config(ctx.obj.get("config"))
    engine = make_engine(resolve_url(cfg.deployment.database, cfg.base_dir))
    rev = current_revision(engine)
    engine.dispose()
    click.echo(f"{rev or 'empty'} (this itsmcore: {SCHEMA_REVISION})")


@db.command("recount")
@click.pass_context
def db_recount(ctx: click.Context) -> None:
    """Count each team's open work again from the demands.

    The store keeps a team's open demands per agent, and each service-level clock's team
    and agent, by triggers as demands change. After they were off (the tables restored
    alone, a bulk edit with triggers disabled) this counts them again; writers wait while
    it runs. Says how many counts were off.
    """
    from .base import open_desk

    found = open_desk(ctx).recount_workload()
    click.echo(
        f"workload: {found.open:,} open demands in {found.teams} team(s); {found.counts_off} count(s) were off;"
        f" {found.clocks_moved} clock(s) had another team or agent"
    )
