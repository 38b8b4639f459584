"""What every ``itsm`` command group shares: the root group, the global options, the desk, output, errors.

Group modules import from here only, so the command line has one-way imports:
``base`` <- each group module <- ``app`` (which attaches the groups) <- the package.

Nothing heavy is imported at module level: ``itsm --help`` must not load SQLAlchemy
(the desk) or rich. Errors the user can act on print one line per problem (no
traceback unless ``--debug``) through :func:`fail`, the one place an error becomes
output and an exit status.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn

import click

from ..errors import IneligibleCustomer, InvalidAnswers, ItsmError

if TYPE_CHECKING:
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
    "fail",
    "field_lines",
    "open_desk",
    "refusal_lines",
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


def fail(ctx: click.Context, error: ItsmError, lines: Sequence[str] | None = None) -> NoReturn:
    """End the command for ``error``: print it and exit with its kind's status. THE one place that does.

    The exit status is the error's ``exit_code`` (2 for config and plugin errors, 1 for the
    rest: invalid input, conflicts, not found, forbidden). ``lines`` replaces the default
    ``error: <message>`` lines when a command shows the problem its own way (see
    :func:`field_lines`). With ``--debug`` the error is raised again, for its traceback.
    """
    if ctx.obj and ctx.obj.get("debug"):
        raise error
    shown = lines if lines is not None else [f"error: {line}" for line in error_lines(error)]
    for line in shown:
        click.secho(line, fg="red", err=True)
    ctx.exit(error.exit_code)


# --------------------------------------------------------------------------- the root group


class ItsmGroup(click.Group):
    """The root group: adds plugin commands lazily and turns known errors into one line."""

    _plugins_loaded = False

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
        self._load_plugin_commands()
        return super().list_commands(ctx)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        cmd = super().get_command(ctx, cmd_name)
        if cmd is None:
            self._load_plugin_commands()
            cmd = super().get_command(ctx, cmd_name)
        return cmd

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except ItsmError as e:
            fail(ctx, e)


@click.group(cls=ItsmGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(None, "--version", package_name="itsmcore", prog_name="itsm")
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
    from ..logs import configure_logging

    ctx.ensure_object(dict)
    ctx.obj["config"] = config
    ctx.obj["debug"] = debug
    # Plugin commands read these (None: not asked for): a long-running one ('serve', 'worker')
    # logs at INFO when no level was asked for, and may take its format from its settings.
    ctx.obj["log_level"] = log_level.upper() if log_level else ("DEBUG" if debug else None)
    ctx.obj["log_format"] = log_format
    configure_logging(ctx.obj["log_level"] or "WARNING", log_format or "text")


# --------------------------------------------------------------------------- the desk and output


def open_desk(ctx: click.Context) -> Desk:
    """Open the deployment named by ``-c`` and close it when the command ends."""
    from ..desk import Desk

    desk = Desk.open(ctx.obj.get("config"))
    ctx.call_on_close(desk.close)
    return desk


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
