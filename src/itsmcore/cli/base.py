"""What every ``itsm`` command group shares: the root group, the global options, the desk, output, errors.

Group modules import from here only, so the command line has one-way imports:
``base`` <- each group module <- ``app`` (which attaches the groups) <- the package.

Nothing heavy is imported at module level: ``itsm --help`` must not load SQLAlchemy
(the desk) or rich. Errors the user can act on print one line per problem (no
traceback unless ``--debug``) through :func:`fail`, the one place an error becomes
output and an exit status; :func:`explain` decides what that output and status are,
for any exception, so that no command (a plugin's included) ends in a traceback.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn

import click

from ..errors import ConfigError, ConfigProblem, IneligibleCustomer, InvalidAnswers, ItsmError, StoreUnavailable

if TYPE_CHECKING:
    from importlib.metadata import EntryPoint

    from click.shell_completion import CompletionItem

    from ..desk import Desk

__all__ = [
    "FORMAT",
    "LOG_LEVELS",
    "ItsmGroup",
    "cell",
    "cli",
    "console",
    "emit",
    "error_lines",
    "explain",
    "fail",
    "field_lines",
    "open_desk",
    "refusal_lines",
    "summary",
    "version_lines",
]

LOG_LEVELS = ["DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"]

#: The ``--format table|json`` option of every command that prints records.
FORMAT = click.option(
    "--format",
    "fmt",
    type=click.Choice(["table", "json"]),
    default="table",
    show_default=True,
    help="Output as a table or as JSON.",
)


# --------------------------------------------------------------------------- errors


def error_lines(error: ItsmError) -> list[str]:
    """The lines that tell the user what went wrong: the message, one line per problem.

    The message is written for the person who must act; a :class:`~itsmcore.errors.Conflict`
    (an :class:`~itsmcore.errors.IllegalTransition` among them) already names the state the
    thing is in and what is allowed from there, so nothing is added to it.
    """
    return str(error).splitlines() or [type(error).__name__]


def field_lines(error: InvalidAnswers) -> list[str]:
    """Each field's problem on its own line, named by the field, as a form shows it beside the field."""
    return [f"{name}: {message}" for name, message in error.errors.items()]


def refusal_lines(error: IneligibleCustomer) -> list[str]:
    """Why the customer may not have the service, then what they can do about it, each on its own line."""
    return [error.reason, *([error.next_step] if error.next_step else [])]


#: Exceptions click turns into its own output and exit status (usage errors, ``ctx.exit``,
#: an aborted prompt, a broken pipe it silences): they pass through the root group
#: untouched. ``Exit`` and ``Abort`` are ``RuntimeError``s, so they are let through first.
_CLICK_OWN = (click.ClickException, click.exceptions.Exit, click.Abort, EOFError, BrokenPipeError)

#: The exit status of a command interrupted with Ctrl-C, as a shell reports it (128 + SIGINT).
INTERRUPTED = 130


def debugging(ctx: click.Context) -> bool:
    """Whether ``--debug`` (or ``ITSM_DEBUG``) was given: read from the root's parameters,
    which are set before any command runs, so it holds even if the root callback failed."""
    root = ctx.find_root()
    return bool(root.params.get("debug") or (isinstance(root.obj, dict) and root.obj.get("debug")))


def explain(ctx: click.Context, error: BaseException) -> tuple[list[str], int]:
    """The lines to print and the exit status for ``error``, whatever it is.

    An :class:`~itsmcore.errors.ItsmError` says what is wrong itself and carries its exit
    status. Failures of the environment rather than of itsm get a specific line: a database
    that cannot be opened or written (named by its URL, exit 1), a file that cannot be read
    (named by its path; exit 2 when it is the config). Ctrl-C ends quietly with 130.
    Anything else is a bug: one ``internal error`` line that says how to see the traceback.
    """
    if isinstance(error, ItsmError):
        return [f"error: {line}" for line in error_lines(error)], error.exit_code
    if isinstance(error, KeyboardInterrupt):
        return ["interrupted"], INTERRUPTED
    if isinstance(error, Exception):
        known = _environment_error(ctx, error)
        if known is not None:
            return explain(ctx, known)
        if isinstance(error, OSError) and error.filename is not None:
            return [f"error: {os.fsdecode(error.filename)}: {error.strerror or error}"], 1
    return [f"internal error: {summary(error)}; run again with --debug for the traceback"], 1


def summary(error: BaseException) -> str:
    """``error`` in one line: its type and the first line of its message (if it has one)."""
    message = (str(error).strip().splitlines() or [""])[0]
    return f"{type(error).__name__}: {message}" if message else type(error).__name__


def _environment_error(ctx: click.Context, error: Exception) -> ItsmError | None:
    """``error`` as the itsm error it stands for, when it comes from the environment, else ``None``.

    Only the modules already loaded are looked at: an error of SQLAlchemy or sqlite3 can
    only have been raised if the command imported them, and ``--help`` must not import them.
    """
    if _is_database_error(error):
        orig = getattr(error, "orig", None) or error
        reason = (str(orig).strip().splitlines() or [type(orig).__name__])[0]
        url = _database_url(ctx)
        return StoreUnavailable(f"cannot use database {url}: {reason}" if url else f"cannot use the database: {reason}")
    if isinstance(error, OSError) and error.filename is not None:
        config = _config_path(ctx)
        where = Path(os.fsdecode(error.filename)).absolute()
        if config is not None and where in (config, config.parent):
            return ConfigError([ConfigProblem(str(where), "", f"cannot read: {error.strerror or error}")])
    return None


def _is_database_error(error: Exception) -> bool:
    """A database that cannot be opened, read or written: an operational error (locked,
    read-only, unreachable) or a bare ``DatabaseError`` (not a database, corrupt). Integrity
    and programming errors are bugs, not the environment, and are left out."""
    sa_exc = sys.modules.get("sqlalchemy.exc")
    if sa_exc is not None and (isinstance(error, sa_exc.OperationalError) or type(error) is sa_exc.DatabaseError):
        return True
    sqlite3 = sys.modules.get("sqlite3")
    return sqlite3 is not None and (isinstance(error, sqlite3.OperationalError) or type(error) is sqlite3.DatabaseError)


def _config_path(ctx: click.Context) -> Path | None:
    """The config file this command uses (``-c``, ``$ITSM_CONFIG`` or ``./itsm.toml``), absolute."""
    from ..config import find_config

    obj = ctx.find_root().obj
    try:
        return find_config(obj.get("config") if isinstance(obj, dict) else None).absolute()
    except OSError:  # the working directory itself is gone
        return None


def _database_url(ctx: click.Context) -> str | None:
    """The deployment's database as a URL without its password, or ``None`` if the config cannot say."""
    config = _config_path(ctx)
    if config is None:
        return None
    try:
        from ..config import read_config
        from ..store.engine import resolve_url, safe_url

        cfg = read_config(config)
        return safe_url(resolve_url(cfg.deployment.database, cfg.base_dir))
    except Exception:  # naming the database is a courtesy; the error being reported matters more
        return None


def fail(ctx: click.Context, error: BaseException, lines: Sequence[str] | None = None) -> NoReturn:
    """End the command for ``error``: print it and exit with its status. THE one place that does.

    The lines and the status come from :func:`explain`: for an
    :class:`~itsmcore.errors.ItsmError` its ``exit_code`` (2 for config and plugin errors,
    1 for the rest: invalid input, conflicts, not found, forbidden). ``lines`` replaces the
    default lines when a command shows the problem its own way (see :func:`field_lines`).
    With ``--debug`` the error is raised again, for its traceback; an interrupt prints its
    traceback and still exits 130, as click would otherwise turn it into "Aborted!".
    """
    if debugging(ctx):
        if not isinstance(error, KeyboardInterrupt):
            raise error
        import traceback

        traceback.print_exception(error)
    shown, status = explain(ctx, error)
    for line in lines if lines is not None else shown:
        click.secho(line, fg="red", err=True)
    ctx.exit(status)


# --------------------------------------------------------------------------- the root group


def _docstring_of(target: str) -> str:
    """The docstring of ``module:function`` read from the module's source, without importing it.

    The first line of a click command's help is its function's docstring (or its
    ``help=``); parsing the file costs a millisecond where importing the plugin costs its
    whole import graph. Empty when the source cannot be found or read.
    """
    import ast
    import importlib.util

    module, _, attr = target.partition(":")
    top, *rest = module.split(".")
    try:
        spec = importlib.util.find_spec(top)  # a top-level name: found, not imported
        if spec is None:
            return ""
        if rest:
            if not spec.submodule_search_locations:
                return ""
            path = Path(next(iter(spec.submodule_search_locations)), *rest[:-1], rest[-1] + ".py")
        else:
            path = Path(spec.origin or "")
        tree = ast.parse(path.read_text(encoding="utf-8"))
    except (OSError, SyntaxError, ValueError, ImportError):
        return ""
    for node in tree.body:
        if isinstance(node, ast.FunctionDef) and node.name == attr:
            for deco in node.decorator_list:  # only @click.command(...) / @group.group(...), not options
                func = deco.func if isinstance(deco, ast.Call) else None
                name = func.attr if isinstance(func, ast.Attribute) else func.id if isinstance(func, ast.Name) else ""
                if isinstance(deco, ast.Call) and name in ("command", "group"):
                    for kw in deco.keywords:
                        if kw.arg in ("short_help", "help") and isinstance(kw.value, ast.Constant):
                            return str(kw.value.value)
            return ast.get_docstring(node) or ""
    return ""


#: The entry point group a distribution declares its commands in: ``serve = "pkg.commands:serve"``.
COMMANDS_GROUP = "itsm.commands"


class ItsmGroup(click.Group):
    """The root group: plugin commands found without importing their plugins; known errors in one line.

    A plugin's commands come from its distribution's ``itsm.commands`` entry points; the
    plugin is imported only when one of its commands runs (or shows its own ``--help``), so
    ``itsm --help`` and shell completion stay fast however many plugins are installed. The
    listing's one-line help is read from the command's source without running it. Commands
    added through the older ``itsm_register_commands`` hook still run; finding them means
    importing every plugin, so that happens only for a name nothing else provides.
    """

    _plugins_loaded = False

    def _entry_points(self) -> dict[str, EntryPoint]:
        found = getattr(self, "_eps", None)
        if found is None:
            from importlib import metadata

            found = {}
            for ep in metadata.entry_points(group=COMMANDS_GROUP):
                if ep.name not in self.commands:  # a built-in command is never replaced
                    found.setdefault(ep.name, ep)
            self._eps: dict[str, EntryPoint] = found
        return found

    def _load_entry_point(self, name: str) -> click.Command | None:
        ep = self._entry_points().pop(name)
        dist = ep.dist.name if ep.dist else "its distribution"
        try:
            cmd = ep.load()
        except Exception as e:  # one broken plugin must not take the other commands down
            click.secho(f"warning: command {name!r} of {dist} failed to import: {type(e).__name__}: {e}", err=True)
            return None
        if not isinstance(cmd, click.Command):
            click.secho(f"warning: command {name!r} of {dist} is {cmd!r}, not a click command", err=True)
            return None
        self.add_command(cmd, name)
        return cmd

    def _load_plugin_commands(self) -> None:
        """Let plugins add their commands (``itsm_register_commands``), once, when a command is looked up."""
        if ItsmGroup._plugins_loaded:
            return
        ItsmGroup._plugins_loaded = True
        from ..errors import PluginError
        from ..plugins import PluginHost

        try:
            host = PluginHost.for_config(None)
            host.register_commands(self)
        except PluginError as e:
            click.echo(f"warning: {e}", err=True)

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*self.commands, *self._entry_points()})

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        cmd = super().get_command(ctx, cmd_name)
        if cmd is None and cmd_name in self._entry_points():
            cmd = self._load_entry_point(cmd_name)
        if cmd is None:
            self._load_plugin_commands()
            cmd = super().get_command(ctx, cmd_name)
        return cmd

    def _short_help(self, name: str, limit: int = 45) -> str:
        """A command's one-line help; for a plugin command not yet imported, read from its source."""
        cmd = self.commands.get(name)
        if cmd is not None:
            return cmd.get_short_help_str(limit)
        ep = self._entry_points()[name]
        text = _docstring_of(ep.value) or (ep.dist.metadata["Summary"] if ep.dist else "") or ""
        return click.Command(name, help=text).get_short_help_str(limit)

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        names = [n for n in self.list_commands(ctx) if n not in self.commands or not self.commands[n].hidden]
        if names:
            limit = formatter.width - 6 - max(len(n) for n in names)
            with formatter.section("Commands"):
                formatter.write_dl([(n, self._short_help(n, limit)) for n in names])

    def shell_complete(self, ctx: click.Context, incomplete: str) -> list[CompletionItem]:
        from click.shell_completion import CompletionItem

        items = [
            CompletionItem(n, help=self._short_help(n))
            for n in self.list_commands(ctx)
            if n.startswith(incomplete) and (n not in self.commands or not self.commands[n].hidden)
        ]
        return items + click.Command.shell_complete(self, ctx, incomplete)

    def invoke(self, ctx: click.Context) -> Any:
        """Run the command; every command, built in or a plugin's, ends here if it raises.

        Click's own exceptions pass (see ``_CLICK_OWN``); anything else becomes one line
        through :func:`fail`.
        """
        try:
            return super().invoke(ctx)
        except _CLICK_OWN:
            raise
        except (Exception, KeyboardInterrupt) as e:
            fail(ctx, e)


def version_lines() -> list[str]:
    """The core's version and hook contract, then each installed plugin distribution with its own.

    A plugin is any distribution with entry points in the group ``itsm``; its contract is the
    ``ITSM_CONTRACT`` of each entry point's target, read the way the plugin host reads it
    (plugins keep their module's top level light, so loading it is cheap). One that cannot
    be loaded is listed with the reason, not raised: ``--version`` is what people paste
    into a bug report, so it must work when a plugin is broken.
    """
    from importlib import metadata

    from ..hookspecs import CONTRACT_VERSION
    from ..plugins import ENTRY_POINT_GROUP

    # The installed distribution's version: the package itself is above the command line's layer.
    lines = [f"itsm, version {metadata.version('itsmcore')} (hook contract {CONTRACT_VERSION})"]
    by_distribution: dict[str, list[EntryPoint]] = {}
    for ep in sorted(metadata.entry_points(group=ENTRY_POINT_GROUP), key=lambda e: e.name):
        release = f"{ep.dist.name} {ep.dist.version}" if ep.dist else ep.value
        by_distribution.setdefault(release, []).append(ep)
    for release, eps in sorted(by_distribution.items(), key=lambda item: item[0].lower()):
        if len(eps) == 1:
            lines.append(f"{release} ({_declared_contract(eps[0])})")
        else:  # one distribution, several plugins: name each
            lines.append(f"{release} ({'; '.join(f'{ep.name}: {_declared_contract(ep)}' for ep in eps)})")
    return lines


def _declared_contract(ep: EntryPoint) -> str:
    """What ``ep``'s plugin says about the hook contract, for :func:`version_lines`."""
    try:
        plugin = ep.load()
    except Exception as e:  # listed, not raised: see version_lines
        return f"cannot be loaded: {summary(e)}"
    contract = getattr(plugin, "ITSM_CONTRACT", None)
    return f"contract {contract}" if contract is not None else "no contract declared"


def _show_version(ctx: click.Context, _param: click.Parameter, value: bool) -> None:
    """``--version``: the versions (:func:`version_lines`), then exit before any command runs."""
    if not value or ctx.resilient_parsing:
        return
    for line in version_lines():
        click.echo(line)
    ctx.exit()


@click.group(cls=ItsmGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.option(
    "--version",
    is_flag=True,
    expose_value=False,
    is_eager=True,
    callback=_show_version,
    help="Show the versions of itsm and of each installed plugin, with their hook contracts, and exit.",
)
@click.option(
    "-c",
    "--config",
    "config",
    # Not checked by click: the config reader says what is wrong with the file (unreadable,
    # a directory) in one line, exit 2, as it does for every other config problem.
    type=click.Path(readable=False, path_type=Path),
    envvar="ITSM_CONFIG",
    help="The deployment config (default: ./itsm.toml, or $ITSM_CONFIG).",
)
@click.option(
    "--debug",
    is_flag=True,
    envvar="ITSM_DEBUG",
    help="Show tracebacks instead of one-line errors, and log at DEBUG (or set ITSM_DEBUG=1).",
)
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
@click.option(
    "--agent",
    "agent",
    metavar="LOGIN",
    envvar="ITSM_AGENT",
    default=None,
    help="The agent acting, by directory login, recorded on the journey as who did what (or set"
    " ITSM_AGENT; default: your operating-system login, recorded as it is).",
)
@click.pass_context
def cli(
    ctx: click.Context,
    config: Path | None,
    debug: bool,
    log_level: str | None,
    log_format: str | None,
    agent: str | None,
) -> None:
    """itsmcore: a pluggable IT service desk built around the customer's experience.

    Start with 'itsm init DIR', then 'itsm -c DIR/itsm.toml check'.
    """
    from ..logs import configure_logging

    ctx.ensure_object(dict)
    ctx.obj["config"] = config
    ctx.obj["debug"] = debug
    # Plugin commands read these (None: not asked for): a long-running one ('serve', 'worker')
    # logs at INFO when no level was asked for, and may take its format from its settings.
    ctx.obj["log_level"] = log_level.upper() if log_level else ("DEBUG" if debug else None)
    ctx.obj["log_format"] = log_format
    ctx.obj["agent"] = agent
    configure_logging(ctx.obj["log_level"] or "WARNING", log_format or "text")


# --------------------------------------------------------------------------- the desk and output


def open_desk(ctx: click.Context) -> Desk:
    """Open the deployment named by ``-c`` and close it when the command ends."""
    from ..desk import Desk

    desk = Desk.open(ctx.obj.get("config"))
    ctx.call_on_close(desk.close)
    # who the agent's events name: --agent / ITSM_AGENT must be a login the directory knows (a
    # typo is refused, naming close matches); else the operating system's login, as it is
    agent = ctx.obj.get("agent")
    if agent:
        ctx.with_resource(desk.acting_as(agent))
    else:
        ctx.with_resource(desk.acting_as(_os_login(), known=False))
    return desk


def refresh_journeys(desk: Desk, quiet: bool) -> int:
    """Bring the journey rollup up to date, with a bar of its steps (a first refresh reads every event).

    Returns how many events it read (see :func:`itsmcore.reports.refresh_rollup`).
    """
    from ..progress import progress_bar
    from ..reports import refresh_rollup
    from ..reports.rollup import STEPS

    with progress_bar(f"journey rollup: {STEPS[0]}", total=len(STEPS), quiet=quiet) as bar:
        upcoming = iter(STEPS[1:])
        return refresh_rollup(desk, lambda _done: bar.advance(description=f"journey rollup: {next(upcoming, 'done')}"))


def _os_login() -> str:
    """The operating system's name for whoever runs ``itsm`` ("unknown" when it has none)."""
    import getpass

    try:
        return getpass.getuser() or "unknown"
    except (OSError, KeyError):
        return "unknown"


def console() -> Any:
    """A rich console for stdout; piped output gets a fixed width so tables do not wrap at 80 columns."""
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
        table.add_row(*[cell(row.get(c)) for c in columns])
    console().print(table)


def cell(value: Any) -> str:
    """One value as table text: empty for ``None``, lists joined with commas."""
    if value is None:
        return ""
    if isinstance(value, list | tuple):
        return ", ".join(str(v) for v in value)
    return str(value)
