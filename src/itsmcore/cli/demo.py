"""``itsm demo``: the Eagle5 journeys on a throwaway copy of the example (a top-level command)."""

from __future__ import annotations

from pathlib import Path

import click

from .base import console


@click.command()
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
    from ..demo import run_demo

    run_demo(example, keep=keep, console=console(), sandbox=sandbox, core_only=core_only)
