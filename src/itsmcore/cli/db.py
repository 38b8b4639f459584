"""``itsm db ...``: the database schema, upgraded and inspected without opening the desk."""

from __future__ import annotations

import click


@click.group()
def db() -> None:
    """Database schema: upgrade and inspect."""


@db.command("upgrade")
@click.option("--revision", default="head", show_default=True, help="Target schema revision.")
@click.option(
    "--rollup/--no-rollup",
    default=True,
    show_default=True,
    help="At the newest schema, bring the journey rollup up to date too.",
)
@click.option("--quiet", "-q", is_flag=True, help="No progress bar (there is none when stderr is not a terminal).")
@click.pass_context
def db_upgrade(ctx: click.Context, revision: str, rollup: bool, quiet: bool) -> None:
    """Apply the shipped migrations to the deployment's database.

    At the newest schema it then brings the journey rollup up to date, so that one a
    migration emptied (or a history imported before the upgrade) is built now, in the
    upgrade's window, rather than by the first report after it: about 8 s per million
    journey events, with a bar of its steps. On SQLite, writers wait while it is built.
    """
    import time

    from ..config import read_config
    from ..store.engine import SCHEMA_REVISION, current_revision, make_engine, resolve_url, safe_url, upgrade

    cfg = read_config(ctx.obj.get("config"))
    url = resolve_url(cfg.deployment.database, cfg.base_dir)
    engine = make_engine(url)
    before = current_revision(engine)
    upgrade(engine, revision)
    after = current_revision(engine)
    engine.dispose()
    click.echo(f"{safe_url(url)}: schema {before or 'empty'} -> {after}")
    if not rollup or after != SCHEMA_REVISION:
        return
    from .base import open_desk, refresh_journeys

    started = time.monotonic()
    folded = refresh_journeys(open_desk(ctx), quiet)
    if folded:
        click.echo(f"journey rollup: {folded:,} events folded in {time.monotonic() - started:.1f} s")


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
