"""``itsm init``, ``itsm check`` and ``itsm plugins``: create a deployment, validate it, see its plugins.

Top-level commands, not a group: they are the first three a new user types.
"""

from __future__ import annotations

from pathlib import Path

import click

from .base import FORMAT, emit


@click.command()
@click.argument("directory", type=click.Path(file_okay=False, path_type=Path))
@click.option("--name", default=None, help="Deployment name (default: the directory's name).")
@click.option("--force", is_flag=True, help="Write into a directory that already has an itsm.toml.")
def init(directory: Path, name: str | None, force: bool) -> None:
    """Create a working deployment in DIRECTORY: itsm.toml, a catalog and a directory of customers."""
    from ..scaffold import write_deployment

    password = write_deployment(directory, name=name, force=force)
    click.echo(f"Created a deployment in {directory}/")
    click.echo(f"  check it:   itsm -c {directory}/itsm.toml check")
    click.echo(
        f"  try it:     itsm -c {directory}/itsm.toml demand submit --kind failure --customer alice --summary 'VPN drops'"
    )
    click.echo(f"The sample customers' password is: {password}  (stored only as scrypt hashes)")


@click.command()
@click.pass_context
def check(ctx: click.Context) -> None:
    """Validate the config and the plugins it names; print a summary. Exit 2 on errors."""
    from ..deployment import Deployment

    dep = Deployment.load(ctx.obj.get("config"))
    cfg = dep.config
    dep.start_all()
    customers = sum(1 for b in dep.directories() for _ in b.list_customers())
    click.echo(f"deployment {cfg.deployment.name!r}: OK ({cfg.path})")
    from ..store.engine import resolve_url, safe_url

    click.echo(f"  database:   {safe_url(resolve_url(cfg.deployment.database, cfg.base_dir))}")
    for table in ("directory", "channels", "actions", "surveys"):
        items = cfg.family(table)
        if items:
            listing = ", ".join(f"{n} ({c.use})" for n, c in items.items())
            click.echo(f"  {table + ':':<11} {listing}")
    click.echo(f"  customers:  {customers}")
    click.echo(
        f"  services:   {len(cfg.services)}" + (f" ({', '.join(s.key for s in cfg.services)})" if cfg.services else "")
    )
    click.echo(f"  runner:     {cfg.runner.use}")
    click.echo(f"  plugins:    {', '.join(p.name for p in dep.host.info())}")


@click.command()
@FORMAT
@click.pass_context
def plugins(ctx: click.Context, fmt: str) -> None:
    """List each plugin with its version, the hooks it implements and its components."""
    from ..config import find_config, read_config
    from ..plugins import PluginHost

    path = find_config(ctx.obj.get("config"))
    config = read_config(path) if path.exists() else None
    host = PluginHost.for_config(config)
    rows = [
        {
            "id": p.name,
            "distribution": p.distribution or "",
            "version": p.version or "",
            "contract": p.contract or "",
            "hooks": list(p.hooks),
            "components": [f"{fam}:{name}" for fam, name in p.components],
        }
        for p in host.info()
    ]
    emit(fmt, rows, ["id", "distribution", "version", "contract", "hooks", "components"], "plugins")
