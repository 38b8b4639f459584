"""``itsm init``, ``itsm check`` and ``itsm plugins``: create a deployment, validate it, see its plugins.

Top-level commands, not a group: they are the first three a new user types.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import click

from .base import FORMAT, emit, fail

if TYPE_CHECKING:
    from ..model import PlanStep
    from ..settings import Config


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
    """Validate the config and the plugins it names; print a summary. Exit 2 on errors.

    Before loading any plugin it holds each plugin distribution's itsmcore range against
    this core: a plugin installed with --no-deps, or before an upgrade of the core, is
    named with both versions rather than failing later in some other way.
    """
    from ..config import read_config
    from ..deployment import Deployment
    from ..plugins import core_requirement_mismatches

    config_path = ctx.obj.get("config")
    mismatches = core_requirement_mismatches(disable=read_config(config_path).plugins.disable)
    _warn_duplicates()
    if mismatches:
        errors = [m.as_error() for m in mismatches]
        fail(ctx, errors[0], [f"error: {e}" for e in errors])
    dep = Deployment.load(config_path)
    cfg = dep.config
    dep.start_all()
    from ..desk.cmdb import declared_relationships

    def hook_failed(plugin: str, hook: str, exc: BaseException) -> None:
        click.secho(f"warning: plugin {plugin} failed in {hook}: {exc}", fg="yellow", err=True)

    relationships = declared_relationships(dep, hook_failed)
    from ..desk.changes import changes_settings

    changes_settings(cfg.extra, str(cfg.path))  # [changes]: a bad key or value exits 2 naming it
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
    for name, backend in zip(cfg.family("directory"), dep.directories(), strict=False):
        checker = getattr(backend, "check", None)
        for line in checker() if checker is not None else ():
            if line.startswith("warning: "):
                click.secho(f"warning: directory {name}: {line.removeprefix('warning: ')}", fg="yellow", err=True)
            else:
                click.echo(f"  {name}: {line}")
    click.echo(
        f"  services:   {len(cfg.services)}" + (f" ({', '.join(s.key for s in cfg.services)})" if cfg.services else "")
    )
    planned = [s for s in cfg.services if s.plan]
    if planned:
        click.echo("  plans:      (what each step runs)")
        for service in planned:
            click.echo(f"    {service.key}: " + "  ·  ".join(_step_label(step) for step in service.plan))
    if cfg.calendars:
        default = cfg.default_calendar
        click.echo(
            "  calendars:  "
            + ", ".join(
                f"{name} ({c.timezone}, {'-'.join(filter(None, [c.country, c.subdivision])) or 'no holidays'},"
                f" {' '.join(c.days)} {c.hours}{'; default' if name == default else ''})"
                for name, c in cfg.calendars.items()
            )
        )
    if cfg.service_levels:
        lines, overlaps = service_level_lines(cfg)
        click.echo("  service levels: (the rule each service's demands get, by priority)")
        for line in lines:
            click.echo(f"    {line}")
        for overlap in overlaps:
            click.secho(f"warning: {overlap}", fg="yellow", err=True)
    click.echo(f"  runner:     {cfg.runner.use}")
    click.echo(f"  plugins:    {', '.join(p.name for p in dep.host.info())}")
    if relationships:
        click.echo(f"  relationships: {len(relationships)} (configuration items and services; 'itsm ci impact ID')")


def service_level_lines(cfg: Config) -> tuple[list[str], list[str]]:
    """Which ``[[service_levels]]`` rule applies to each service's demands, by priority; and equal rules that overlap.

    A service is shown for its own kind; demands without a service for every kind a rule names.
    """
    lines: list[str] = []
    overlaps: list[str] = []
    targets: list[tuple[str | None, str]] = [(s.key, str(s.kind)) for s in cfg.services]
    kinds = sorted({k for r in cfg.service_levels for k in r.kinds} or {"failure", "value", "information"})
    targets += [(None, k) for k in kinds]
    for service, kind in targets:
        runs: list[tuple[list[int], str]] = []
        for priority in (1, 2, 3, 4):
            found = cfg.service_level(service, kind, priority)
            name = found[1].name if found else "none"
            if found:
                ties = [
                    r.name
                    for r in cfg.service_levels
                    if r is not found[1]
                    and r.specificity == found[1].specificity
                    and r.matches(service, kind, priority)
                ]
                if ties:
                    overlaps.append(
                        f"service levels: {', '.join(repr(t) for t in ties)} also match{'es' if len(ties) == 1 else ''}"
                        f" {service or '(no service)'} {kind} demands of priority {priority} and are as specific as"
                        f" {name!r}, which applies (the first in the file)"
                    )
            if runs and runs[-1][1] == name:
                runs[-1][0].append(priority)
            else:
                runs.append(([priority], name))
        if all(name == "none" for _ps, name in runs):
            continue
        parts = [f"P{ps[0]}" + (f"-P{ps[-1]}" if len(ps) > 1 else "") + f" {name}" for ps, name in runs]
        lines.append(f"{service or '(no service)'} ({kind}): " + "  ·  ".join(parts))
    return lines, overlaps


@click.command()
@FORMAT
@click.pass_context
def plugins(ctx: click.Context, fmt: str) -> None:
    """List each plugin with its version, the hooks it implements and its components."""
    from ..config import find_config, read_config
    from ..plugins import PluginHost, core_requirement_mismatches

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
    # On stderr, so that --format json stays one JSON document.
    _warn_duplicates()
    for mismatch in core_requirement_mismatches(disable=config.plugins.disable if config else ()):
        click.secho(f"warning: {mismatch}", fg="yellow", err=True)


def _step_label(step: PlanStep) -> str:
    """A plan step as ``check`` shows it: the task and its team, or the action and its table."""
    if step.task is not None:
        return f"task {step.task.task!r} ({step.task.team or 'no team'})"
    if step.source.startswith("actions."):
        return f"{step.action} → [{step.source}]"
    return f"{step.action} (default settings)"


def _warn_duplicates() -> None:
    """One line per distribution installed twice: which copy Python uses is an accident of sys.path."""
    from ..plugins import duplicate_distributions

    for duplicate in duplicate_distributions():
        click.secho(f"warning: {duplicate}", fg="yellow", err=True)
