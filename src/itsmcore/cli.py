"""The ``itsm`` command line: thin click commands over :class:`itsmcore.desk.Desk`.

Nothing heavy is imported at module level: ``itsm --help`` must not load SQLAlchemy.
Errors the user can act on print one line per problem (no traceback unless
``--debug``); config and plugin errors exit with status 2, others with 1.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from . import __version__
from . import newplugin as _newplugin

if TYPE_CHECKING:
    from .desk import Desk

LOG_LEVELS = ["DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"]

FORMAT = click.option(
    "--format",
    "fmt",
    type=click.Choice(["table", "json"]),
    default="table",
    show_default=True,
    help="Output as a table or as JSON.",
)


class ItsmGroup(click.Group):
    """The root group: adds plugin commands lazily and turns known errors into one line."""

    _plugins_loaded = False

    def _load_plugin_commands(self) -> None:
        if ItsmGroup._plugins_loaded:
            return
        ItsmGroup._plugins_loaded = True
        from .errors import PluginError
        from .plugins import PluginHost

        try:
            host = PluginHost.for_config(None)
            host.register_commands(self)
        except PluginError as e:
            click.echo(f"warning: {e}", err=True)

    def list_commands(self, ctx: click.Context) -> list[str]:
        self._load_plugin_commands()
        return super().list_commands(ctx)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        cmd = super().get_command(ctx, cmd_name)
        if cmd is None:
            self._load_plugin_commands()
            cmd = super().get_command(ctx, cmd_name)
        return cmd

    def invoke(self, ctx: click.Context) -> Any:
        from .errors import ItsmError

        try:
            return super().invoke(ctx)
        except ItsmError as e:
            if ctx.obj and ctx.obj.get("debug"):
                raise
            for line in str(e).splitlines() or [type(e).__name__]:
                click.secho(f"error: {line}", fg="red", err=True)
            ctx.exit(getattr(e, "exit_code", 1))


@click.group(cls=ItsmGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, "--version", prog_name="itsm")
@click.option(
    "-c",
    "--config",
    "config",
    type=click.Path(dir_okay=False, path_type=Path),
    envvar="ITSM_CONFIG",
    help="The deployment config (default: ./itsm.toml, or $ITSM_CONFIG).",
)
@click.option("--debug", is_flag=True, help="Show tracebacks instead of one-line errors (and log at DEBUG).")
@click.option(
    "--log-level",
    type=click.Choice(LOG_LEVELS, case_sensitive=False),
    envvar="ITSM_LOG_LEVEL",
    default=None,
    help="Log lines from this level up, to stderr (default: WARNING; INFO for 'serve' and 'worker').",
)
@click.option(
    "--log-format",
    type=click.Choice(["text", "json"]),
    envvar="ITSM_LOG_FORMAT",
    default=None,
    help="Log lines as text (the default) or as one JSON object per line; each names its demand and job.",
)
@click.pass_context
def cli(ctx: click.Context, config: Path | None, debug: bool, log_level: str | None, log_format: str | None) -> None:
    """itsmcore: a pluggable IT service desk built around the customer's experience.

    Start with 'itsm init DIR', then 'itsm -c DIR/itsm.toml check'.
    """
    from .logs import configure_logging

    ctx.ensure_object(dict)
    ctx.obj["config"] = config
    ctx.obj["debug"] = debug
    # Plugin commands read these (None: not asked for): a long-running one ('serve', 'worker')
    # logs at INFO when no level was asked for, and may take its format from its settings.
    ctx.obj["log_level"] = log_level.upper() if log_level else ("DEBUG" if debug else None)
    ctx.obj["log_format"] = log_format
    configure_logging(ctx.obj["log_level"] or "WARNING", log_format or "text")


def open_desk(ctx: click.Context) -> Desk:
    """Open the deployment named by ``-c`` and close it when the command ends."""
    from .desk import Desk

    desk = Desk.open(ctx.obj.get("config"))
    ctx.call_on_close(desk.close)
    return desk


def _console() -> Any:
    from rich.console import Console

    return Console(soft_wrap=False, width=None if sys.stdout.isatty() else 160)


def emit(fmt: str, rows: Sequence[dict[str, Any]] | dict[str, Any], columns: Sequence[str], title: str = "") -> None:
    """Print rows as a rich table or JSON (a list of objects, or one object)."""
    if fmt == "json":
        click.echo(json.dumps(rows, indent=2, default=str, ensure_ascii=False))
        return
    from rich.table import Table

    items = [rows] if isinstance(rows, dict) else list(rows)
    table = Table(title=title or None, show_lines=False)
    for col in columns:
        table.add_column(col.replace("_", " "))
    for row in items:
        table.add_row(*[_cell(row.get(c)) for c in columns])
    _console().print(table)


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, list | tuple):
        return ", ".join(str(v) for v in value)
    return str(value)


# --------------------------------------------------------------------------- init / check / plugins


@cli.command()
@click.argument("directory", type=click.Path(file_okay=False, path_type=Path))
@click.option("--name", default=None, help="Deployment name (default: the directory's name).")
@click.option("--force", is_flag=True, help="Write into a directory that already has an itsm.toml.")
def init(directory: Path, name: str | None, force: bool) -> None:
    """Create a working deployment in DIRECTORY: itsm.toml, a catalog and a directory of customers."""
    from .scaffold import write_deployment

    password = write_deployment(directory, name=name, force=force)
    click.echo(f"Created a deployment in {directory}/")
    click.echo(f"  check it:   itsm -c {directory}/itsm.toml check")
    click.echo(
        f"  try it:     itsm -c {directory}/itsm.toml demand submit --kind failure --customer alice --summary 'VPN drops'"
    )
    click.echo(f"The sample customers' password is: {password}  (stored only as scrypt hashes)")


@cli.command()
@click.pass_context
def check(ctx: click.Context) -> None:
    """Validate the config and the plugins it names; print a summary. Exit 2 on errors."""
    from .deployment import Deployment

    dep = Deployment.load(ctx.obj.get("config"))
    cfg = dep.config
    dep.start_all()
    customers = sum(1 for b in dep.directories() for _ in b.list_customers())
    click.echo(f"deployment {cfg.deployment.name!r}: OK ({cfg.path})")
    from .store.engine import resolve_url, safe_url

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


@cli.command()
@FORMAT
@click.pass_context
def plugins(ctx: click.Context, fmt: str) -> None:
    """List each plugin with its version, the hooks it implements and its components."""
    from .config import find_config, read_config
    from .plugins import PluginHost

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


# --------------------------------------------------------------------------- db


from .history import history  # noqa: E402  (click and the model; the desk loads when it runs)
from .report_commands import report  # noqa: E402  (click only; the reports load when one runs)

cli.add_command(report)
cli.add_command(history)


@cli.group()
def plugin() -> None:
    """Tools for plugin authors: scaffold a new plugin distribution."""


plugin.add_command(_newplugin.plugin_new)  # itsm plugin new NAME --kind channel|directory|action|survey


@cli.group()
def db() -> None:
    """Database schema: upgrade and inspect."""


@db.command("upgrade")
@click.option("--revision", default="head", show_default=True, help="Target schema revision.")
@click.pass_context
def db_upgrade(ctx: click.Context, revision: str) -> None:
    """Apply the shipped migrations to the deployment's database."""
    from .config import read_config
    from .store.engine import current_revision, make_engine, resolve_url, safe_url, upgrade

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
    from .config import read_config
    from .store.engine import SCHEMA_REVISION, current_revision, make_engine, resolve_url

    cfg = read_config(ctx.obj.get("config"))
    engine = make_engine(resolve_url(cfg.deployment.database, cfg.base_dir))
    rev = current_revision(engine)
    engine.dispose()
    click.echo(f"{rev or 'empty'} (this itsmcore: {SCHEMA_REVISION})")


# --------------------------------------------------------------------------- demands


def _demand_row(d: Any) -> dict[str, Any]:
    return {
        "id": d.id,
        "kind": str(d.kind),
        "state": str(d.state),
        "stage": str(d.stage),
        "customer": d.customer_id,
        "service": d.service_key,
        "channel": d.channel,
        "priority": int(d.priority),
        "summary": d.summary,
        "waiting_for": d.waiting_for,
        "created_at": d.created_at.isoformat(timespec="seconds"),
        "updated_at": d.updated_at.isoformat(timespec="seconds"),
    }


@cli.group()
def demand() -> None:
    """Submit, list and show demands (requests, incidents and queries)."""


def _answers(values: Iterable[str]) -> dict[str, str]:
    out = {}
    for v in values:
        name, sep, value = v.partition("=")
        if not sep or not name:
            raise click.BadParameter(f"expected NAME=VALUE, got {v!r}", param_hint="--answer")
        out[name.strip()] = value
    return out


@demand.command("submit")
@click.option(
    "--kind",
    type=click.Choice(["value", "failure", "information"]),
    help="value = a request, failure = an incident, information = a query. Omit to classify.",
)
@click.option("--customer", required=True, help="The customer's id in the directory.")
@click.option("--service", default=None, help="Catalog service key.")
@click.option("--summary", default="", help="What the customer needs, in their words.")
@click.option("--details", default="", help="More detail.")
@click.option(
    "--answer", "answers", multiple=True, metavar="NAME=VALUE", help="An answer to one of the service's asks."
)
@click.option("--channel", default="cli", show_default=True, help="The channel the demand came through.")
@click.option(
    "--actor", default="customer", show_default=True, help="customer, or agent when recorded on their behalf."
)
@FORMAT
@click.pass_context
def demand_submit(
    ctx: click.Context,
    kind: str | None,
    customer: str,
    service: str | None,
    summary: str,
    details: str,
    answers: tuple[str, ...],
    channel: str,
    actor: str,
    fmt: str,
) -> None:
    """Submit a demand and print the acknowledgement the customer sees."""
    from .errors import IneligibleCustomer, InvalidAnswers

    desk = open_desk(ctx)
    try:
        receipt = desk.submit(
            kind,
            customer,
            summary,
            service=service,
            details=details,
            answers=_answers(answers),
            channel=channel,
            actor=actor,
        )
    except InvalidAnswers as e:
        for name, msg in e.errors.items():
            click.secho(f"{name}: {msg}", fg="red", err=True)
        ctx.exit(1)
    except IneligibleCustomer as e:
        click.secho(e.reason, fg="red", err=True)
        if e.next_step:
            click.echo(e.next_step, err=True)
        ctx.exit(1)
    d = desk.get(receipt.demand.id)
    if fmt == "json":
        row = _demand_row(d) | {
            "acknowledgement": receipt.acknowledgement,
            "links": [{"title": x.title, "url": x.url} for x in receipt.links],
        }
        emit(fmt, row, [])
        return
    click.echo(receipt.acknowledgement)
    for link in receipt.links:
        click.echo(f"  {link.title}: {link.url}")
    click.echo(f"demand {d.id}: {d.kind}, {d.state}, stage {d.stage}")


def _event_rows(events: Iterable[Any], start: Any = None) -> list[dict[str, Any]]:
    rows = []
    for ev in events:
        start = start or ev.at
        rows.append(
            {
                "id": ev.id,
                "at": ev.at.isoformat(timespec="seconds"),
                "elapsed": _elapsed((ev.at - start).total_seconds()),
                "stage": str(ev.stage),
                "moment": str(ev.moment),
                "channel": ev.channel,
                "actor": ev.actor,
                "customer_sees": ev.customer_sees,
                "behind_scenes": ev.behind_scenes,
                "effort": ev.effort,
            }
        )
    return rows


def _elapsed(seconds: float) -> str:
    if seconds < 1:
        return f"{seconds * 1000:.0f} ms"
    if seconds < 120:
        return f"{seconds:.1f} s"
    if seconds < 7200:
        return f"{seconds / 60:.0f} min"
    if seconds < 172800:
        return f"{seconds / 3600:.1f} h"
    return f"{seconds / 86400:.1f} d"


@demand.command("show")
@click.argument("demand_id", type=int)
@FORMAT
@click.pass_context
def demand_show(ctx: click.Context, demand_id: int, fmt: str) -> None:
    """Show a demand with its journey: what the customer sees beside what happens behind the scenes."""
    desk = open_desk(ctx)
    view = desk.show(demand_id)
    journey = _event_rows(view.journey)
    jobs = [
        {"id": j.id, "action": j.action, "state": str(j.state), "attempts": j.attempts, "error": j.error or ""}
        for j in view.jobs
    ]
    failures = [{"plugin": f.plugin, "hook": f.hook, "error": f.error} for f in view.failures]
    if fmt == "json":
        emit(
            fmt,
            _demand_row(view.demand)
            | {"outputs": dict(view.outputs), "journey": journey, "jobs": jobs, "plugin_failures": failures},
            [],
        )
        return
    d = view.demand
    console = _console()
    console.print(f"[bold]#{d.id}[/bold] {d.summary}")
    console.print(
        f"{d.kind} demand from {d.customer_id}"
        + (f" for {d.service_key}" if d.service_key else "")
        + f" via {d.channel}: [bold]{d.state}[/bold], stage {d.stage}, priority {int(d.priority)}"
    )
    if d.waiting_for:
        console.print(f"waiting for: {d.waiting_for}")
    emit("table", journey, ["elapsed", "stage", "channel", "customer_sees", "behind_scenes"], "journey")
    if jobs:
        emit("table", jobs, ["id", "action", "state", "attempts", "error"], "jobs")
    if failures:
        emit("table", failures, ["plugin", "hook", "error"], "plugin failures (the demand was kept)")


@demand.command("list")
@click.option("--customer", default=None, help="Only this customer's demands.")
@click.option("--kind", type=click.Choice(["value", "failure", "information"]), default=None)
@click.option("--state", default=None, help="Only demands in this state.")
@click.option("--service", default=None, help="Only demands for this service.")
@click.option("--open", "open_only", is_flag=True, help="Only demands not yet closed.")
@click.option("--limit", type=int, default=50, show_default=True)
@FORMAT
@click.pass_context
def demand_list(
    ctx: click.Context,
    customer: str | None,
    kind: str | None,
    state: str | None,
    service: str | None,
    open_only: bool,
    limit: int,
    fmt: str,
) -> None:
    """List demands, newest first."""
    desk = open_desk(ctx)
    rows = [
        _demand_row(d)
        for d in desk.list_demands(
            customer=customer, kind=kind, state=state, service=service, open_only=open_only, limit=limit
        )
    ]
    emit(fmt, rows, ["id", "kind", "state", "stage", "customer", "service", "summary", "waiting_for"], "demands")


@demand.command("advance")
@click.argument("demand_id", type=int)
@click.argument(
    "stage",
    type=click.Choice(["discover", "engage", "acknowledge", "fulfil", "outcome", "confirm", "feedback", "share"]),
)
@click.option("--says", default="", help="What the customer sees.")
@click.option("--behind", default="", help="What happens behind the scenes.")
@click.option("--actor", default="agent", show_default=True)
@click.pass_context
def demand_advance(ctx: click.Context, demand_id: int, stage: str, says: str, behind: str, actor: str) -> None:
    """Move a demand's journey to STAGE with an event."""
    desk = open_desk(ctx)
    ev = desk.advance(demand_id, stage, customer_sees=says, behind_scenes=behind, actor=actor)
    click.echo(f"demand {demand_id}: stage {ev.stage} ({ev.moment} moment of truth)")


@demand.command("transition")
@click.argument("demand_id", type=int)
@click.argument("state")
@click.option("--says", default="", help="What the customer sees.")
@click.option("--actor", default="agent", show_default=True)
@click.pass_context
def demand_transition(ctx: click.Context, demand_id: int, state: str, says: str, actor: str) -> None:
    """Move a demand along its lifecycle to STATE (refused if the lifecycle does not allow it)."""
    from .model import DemandState

    if state not in DemandState.__members__.values():
        raise click.BadParameter(f"unknown state {state!r}; one of {', '.join(DemandState)}", param_hint="STATE")
    desk = open_desk(ctx)
    d = desk.transition(demand_id, state, actor=actor, customer_sees=says)
    click.echo(f"demand {d.id}: {d.state}")


@demand.command("comment")
@click.argument("demand_id", type=int)
@click.argument("text")
@click.option("--actor", default="agent", show_default=True)
@click.pass_context
def demand_comment(ctx: click.Context, demand_id: int, text: str, actor: str) -> None:
    """Add a comment to a demand's journey."""
    open_desk(ctx).comment(demand_id, text, actor=actor)
    click.echo(f"demand {demand_id}: comment added")


@demand.command("resolve")
@click.argument("demand_id", type=int)
@click.argument("resolution")
@click.pass_context
def demand_resolve(ctx: click.Context, demand_id: int, resolution: str) -> None:
    """Resolve an incident (or fulfil a request, answer a query) and tell the customer."""
    d = open_desk(ctx).resolve(demand_id, resolution)
    click.echo(f"demand {d.id}: {d.state}")


@demand.command("approve")
@click.argument("demand_id", type=int)
@click.option("--as", "approver", required=True, help="The approver's customer id.")
@click.option("--note", default="", help="A note for the customer.")
@click.pass_context
def demand_approve(ctx: click.Context, demand_id: int, approver: str, note: str) -> None:
    """Approve a request that waits for approval; its plan carries on."""
    d = open_desk(ctx).approve(demand_id, approver, note)
    click.echo(f"demand {d.id}: {d.state}" + (f", waiting for {d.waiting_for}" if d.waiting_for else ""))


@demand.command("reject")
@click.argument("demand_id", type=int)
@click.option("--as", "approver", required=True, help="The approver's customer id.")
@click.option("--reason", required=True, help="Why, in words the customer understands.")
@click.pass_context
def demand_reject(ctx: click.Context, demand_id: int, approver: str, reason: str) -> None:
    """Reject a request that waits for approval."""
    d = open_desk(ctx).reject(demand_id, approver, reason)
    click.echo(f"demand {d.id}: {d.state}")


# --------------------------------------------------------------------------- catalog


@cli.group()
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
    from .deployment import Deployment

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


# --------------------------------------------------------------------------- customers


def _customer_row(c: Any, items: Sequence[Any] = ()) -> dict[str, Any]:
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


@cli.group()
def customer() -> None:
    """Customers as the directory knows them."""


@customer.command("list")
@FORMAT
@click.pass_context
def customer_list(ctx: click.Context, fmt: str) -> None:
    """List every customer in the directory."""
    from .deployment import Deployment, Directory

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
    from .config import did_you_mean
    from .deployment import Deployment, Directory
    from .errors import UnknownCustomer

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
    emit("table", [{"field": k, "value": _cell(v)} for k, v in row.items()], ["field", "value"], f"customer {c.id}")
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
    from .builtin.directory import hash_password

    click.echo(hash_password(password))


# --------------------------------------------------------------------------- jobs


def _job_row(j: Any) -> dict[str, Any]:
    return {
        "id": j.id,
        "demand": j.demand_id,
        "action": j.action,
        "state": str(j.state),
        "attempts": j.attempts,
        "run_after": j.run_after.isoformat(timespec="seconds"),
        "error": j.error or "",
        "key": j.key,
    }


@cli.group()
def jobs() -> None:
    """Durable jobs: fulfilment steps and notifications."""


@jobs.command("list")
@click.option("--state", type=click.Choice(["pending", "running", "done", "dead"]), default=None)
@click.option("--demand", "demand_id", type=int, default=None, help="Only this demand's jobs.")
@click.option("--limit", type=int, default=50, show_default=True)
@FORMAT
@click.pass_context
def jobs_list(ctx: click.Context, state: str | None, demand_id: int | None, limit: int, fmt: str) -> None:
    """List jobs, newest first."""
    rows = [_job_row(j) for j in open_desk(ctx).jobs(state=state, demand_id=demand_id, limit=limit)]
    emit(fmt, rows, ["id", "demand", "action", "state", "attempts", "run_after", "error"], "jobs")


@jobs.command("retry")
@click.argument("job_ids", type=int, nargs=-1, required=True)
@click.pass_context
def jobs_retry(ctx: click.Context, job_ids: tuple[int, ...]) -> None:
    """Give dead jobs another go; a stuck demand resumes."""
    desk = open_desk(ctx)
    for jid in job_ids:
        j = desk.retry_job(jid)
        click.echo(f"job {j.id} ({j.action}): {j.state}" + (f" - {j.error}" if j.error else ""))


@jobs.command("run")
@click.option(
    "--watch",
    type=click.FloatRange(min=0.05),
    default=None,
    metavar="SECONDS",
    help="Keep running: look for due jobs every SECONDS until interrupted (Ctrl-C or SIGTERM ends cleanly).",
)
@click.option(
    "--batch",
    type=click.IntRange(min=1),
    default=50,
    show_default=True,
    help="Jobs claimed at a time; lower it when jobs are slow, so several processes share them.",
)
@click.pass_context
def jobs_run(ctx: click.Context, watch: float | None, batch: int) -> None:
    """Run every job that is due now (retries whose backoff has passed, jobs left by a crash).

    With --watch this is a worker process for deployments without Celery
    ([runner] use = "deferred"): start as many as you like, on PostgreSQL each claims
    its own jobs (FOR UPDATE SKIP LOCKED), so none runs a job another has taken.
    """
    desk = open_desk(ctx)
    if watch is None:
        click.echo(f"ran {desk.run_due_jobs(batch=batch)} job(s)")
        return
    if ctx.obj.get("log_level") is None:  # a long-running process: say what it does unless told otherwise
        from .logs import configure_logging

        configure_logging("INFO", ctx.obj.get("log_format") or "text")
    total = _watch_jobs(desk, watch, batch)
    click.echo(f"stopped: ran {total} job(s)")


def _watch_jobs(desk: Desk, interval: float, batch: int) -> int:
    """Run :func:`itsmcore.jobs.watch` until SIGINT/SIGTERM; the batch in hand is finished first (a second stops now)."""
    import signal

    from .jobs import watch

    stopping = False

    def stop(_signum: int, _frame: object) -> None:
        nonlocal stopping
        if stopping:
            raise KeyboardInterrupt
        stopping = True

    previous = {sig: signal.signal(sig, stop) for sig in (signal.SIGINT, signal.SIGTERM)}
    click.echo(f"running due jobs every {interval:g}s; Ctrl-C stops")
    try:
        return watch(desk, interval=interval, batch=batch, stopping=lambda: stopping)
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


@jobs.command("stats")
@FORMAT
@click.pass_context
def jobs_stats(ctx: click.Context, fmt: str) -> None:
    """Count jobs by state."""
    stats = open_desk(ctx).job_stats()
    emit(fmt, [{"id": k, "state": k, "count": v} for k, v in sorted(stats.items())], ["state", "count"], "jobs")


# --------------------------------------------------------------------------- announcements


def _links(values: Iterable[str]) -> list[Any]:
    from .model import Link

    out = []
    for v in values:
        title, sep, url = v.partition("=")
        if not sep or not url.strip():
            raise click.BadParameter(f"expected TITLE=URL, got {v!r}", param_hint="--link")
        out.append(Link(title=title.strip(), url=url.strip()))
    return out


def _announcement_row(a: Any) -> dict[str, Any]:
    return {
        "id": a.id,
        "service": a.service_key,
        "state": str(a.state),
        "title": a.title,
        "description": a.description,
        "workaround": a.workaround,
        "links": [{"title": x.title, "url": x.url} for x in a.workaround_links],
        "estimate": a.estimate,
        "source": a.source,
        "opened_at": a.opened_at.isoformat(timespec="seconds"),
        "resolved_at": a.resolved_at.isoformat(timespec="seconds") if a.resolved_at else None,
        "resolution": a.resolution,
    }


@cli.group()
def announcement() -> None:
    """Service-status announcements: open, update, resolve, and see who is affected."""


@announcement.command("open")
@click.option("--service", required=True, help="The service that is failing.")
@click.option("--title", required=True, help="What is wrong, in the customer's words.")
@click.option("--description", default="", help="More detail: who is affected, what they see.")
@click.option("--workaround", default="", help="What to do meanwhile.")
@click.option("--link", "links", multiple=True, metavar="TITLE=URL", help="A link for the workaround.")
@click.option("--estimate", default="", help="When it should be fixed, e.g. 'by 3 pm'.")
@click.option("--source", default="agent", show_default=True, help="Who opened it (agent, or a monitoring tool).")
@FORMAT
@click.pass_context
def announcement_open(
    ctx: click.Context,
    service: str,
    title: str,
    description: str,
    workaround: str,
    links: tuple[str, ...],
    estimate: str,
    source: str,
    fmt: str,
) -> None:
    """Open an announcement; every subscriber of the service is told through their preferred channel."""
    desk = open_desk(ctx)
    a = desk.open_announcement(
        service,
        title,
        description=description,
        workaround=workaround,
        links=_links(links),
        estimate=estimate,
        source=source,
    )
    if fmt == "json":
        emit(fmt, _announcement_row(a), [])
    else:
        click.echo(f"announcement {a.id} opened for {a.service_key}: {a.title}")


@announcement.command("update")
@click.argument("announcement_id", type=int)
@click.option("--description", default=None)
@click.option("--workaround", default=None)
@click.option("--link", "links", multiple=True, metavar="TITLE=URL", help="Replace the workaround links.")
@click.option("--estimate", default=None)
@click.pass_context
def announcement_update(
    ctx: click.Context,
    announcement_id: int,
    description: str | None,
    workaround: str | None,
    links: tuple[str, ...],
    estimate: str | None,
) -> None:
    """Update an open announcement; everyone concerned is told."""
    a = open_desk(ctx).update_announcement(
        announcement_id,
        description=description,
        workaround=workaround,
        links=_links(links) if links else None,
        estimate=estimate,
    )
    click.echo(f"announcement {a.id} updated")


@announcement.command("resolve")
@click.argument("announcement_id", type=int)
@click.option("--resolution", required=True, help="What was fixed, in plain words.")
@click.pass_context
def announcement_resolve(ctx: click.Context, announcement_id: int, resolution: str) -> None:
    """Announce the fix; affected customers get a link to confirm it works for them."""
    a = open_desk(ctx).resolve_announcement(announcement_id, resolution)
    click.echo(f"announcement {a.id} resolved")


@announcement.command("affects-me")
@click.argument("announcement_id", type=int)
@click.option("--customer", required=True, help="The customer it affects.")
@click.option("--channel", default="cli", show_default=True)
@click.pass_context
def announcement_affects_me(ctx: click.Context, announcement_id: int, customer: str, channel: str) -> None:
    """Record that an open announcement affects a customer ("This affects me")."""
    did = open_desk(ctx).affects_me(announcement_id, customer, channel)
    click.echo(f"{customer} is affected by announcement {announcement_id} (demand {did})")


@announcement.command("confirm")
@click.argument("token")
@click.option("--fixed/--still-broken", default=True, help="The customer's answer.")
@click.pass_context
def announcement_confirm(ctx: click.Context, token: str, fixed: bool) -> None:
    """Answer a confirm link (TOKEN is the link or its last part)."""
    did = open_desk(ctx).confirm(token, fixed)
    click.echo(f"demand {did}: " + ("confirmed fixed" if fixed else "still broken, reopened"))


@announcement.command("show")
@click.argument("announcement_id", type=int)
@FORMAT
@click.pass_context
def announcement_show(ctx: click.Context, announcement_id: int, fmt: str) -> None:
    """Show an announcement and its ledger: notified, affected, confirmed fixed, still broken, no answer."""
    led = open_desk(ctx).ledger(announcement_id)
    counts = {
        "subscribers": led.subscribers,
        "notified": led.notified,
        "unreachable": led.unreachable,
        "affected": led.affected,
        "confirmed_fixed": led.confirmed_fixed,
        "still_broken": led.still_broken,
        "no_answer": led.no_answer,
        "followed_up": led.followed_up,
    }
    row = _announcement_row(led.announcement) | {"ledger": counts}
    if fmt == "json":
        emit(fmt, row, [])
        return
    a = led.announcement
    click.echo(f"announcement {a.id} ({a.state}) for {a.service_key}: {a.title}")
    if a.workaround:
        click.echo(f"workaround: {a.workaround}")
    emit(
        "table",
        [{"what": k.replace("_", " "), "customers": v} for k, v in counts.items()],
        ["what", "customers"],
        "ledger",
    )


@announcement.command("list")
@click.option("--open", "open_only", is_flag=True, help="Only open announcements.")
@FORMAT
@click.pass_context
def announcement_list(ctx: click.Context, open_only: bool, fmt: str) -> None:
    """List announcements, newest first."""
    rows = [_announcement_row(a) for a in open_desk(ctx).announcements(open_only=open_only)]
    emit(fmt, rows, ["id", "service", "state", "title", "opened_at"], "announcements")


@cli.group()
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


@cli.group()
def survey() -> None:
    """Survey answers (NPS, CSAT, CES, or a plugin's method)."""


@survey.command("answer")
@click.option("--customer", default=None, help="Who answers (not needed with --token).")
@click.option("--score", type=int, required=True)
@click.option("--method", default=None, help="Survey method (default: the deployment's).")
@click.option("--comment", default="")
@click.option("--demand", "demand_id", type=int, default=None, help="The demand it is about (transactional).")
@click.option("--token", default=None, help="The signed survey link or its last part.")
@click.option("--tracker", is_flag=True, help="A tracker survey (over time), not about one demand.")
@click.pass_context
def survey_answer(
    ctx: click.Context,
    customer: str | None,
    score: int,
    method: str | None,
    comment: str,
    demand_id: int | None,
    token: str | None,
    tracker: bool,
) -> None:
    """Record a survey answer (refused when outside the method's scale)."""
    r = open_desk(ctx).answer_survey(
        score,
        customer=customer,
        method=method,
        comment=comment,
        demand_id=demand_id,
        token=token,
        mode="tracker" if tracker else "transactional",
        channel="cli",
    )
    click.echo(f"survey answer {r.id}: {r.method} {r.score} from {r.customer_id}")


# --------------------------------------------------------------------------- demo


@cli.command()
@click.option(
    "--example",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="The example deployment to run (default: the bundled Eagle5 example).",
)
@click.option("--keep", is_flag=True, help="Keep the temporary copy and print where it is.")
@click.option(
    "--sandbox/--no-sandbox",
    default=True,
    show_default=True,
    help="Start a local stand-in on 127.0.0.1 for each plugin component that offers one (SMTP sink, "
    "webhook, API stand-in). --no-sandbox uses the addresses in the config: their servers must be running.",
)
@click.option("--core-only", is_flag=True, help="Run the example's itsm.toml: the core alone, no plugins.")
def demo(example: Path | None, keep: bool, sandbox: bool, core_only: bool) -> None:
    """Run the Eagle5 journeys on a copy of the example in a temporary directory (SQLite, no outside servers).

    The example's plugins.toml uses the email, Apprise and HTTP plugins; the demo points each at a
    stand-in it starts on 127.0.0.1 and, at the end, prints what every stand-in received.
    """
    from .demo import run_demo

    run_demo(example, keep=keep, console=_console(), sandbox=sandbox, core_only=core_only)


# --------------------------------------------------------------------------- entry point


def main(argv: Sequence[str] | None = None) -> None:
    """Console script entry point."""
    cli.main(args=list(argv) if argv is not None else None, prog_name="itsm")
