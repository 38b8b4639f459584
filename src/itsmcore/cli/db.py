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
