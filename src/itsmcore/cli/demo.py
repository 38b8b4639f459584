"""``itsm demo``: the Eagle5 journeys on a throwaway copy of the example (a top-level command)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from .base import console

#: The generated history ``--workshop`` plays: about two months of a 300-person company.
CUSTOMERS, DEMANDS, DAYS = 300, 400, 60
#: The service whose workshop pack ``--workshop`` writes.
WORKSHOP_SERVICE = "smartphone"


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
@click.option(
    "--workshop",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Then play two months of generated history (the example's history.toml) and write the smartphone "
    "service's workshop pack into this directory: as-is and to-be maps, trends, customers' comments, as HTML "
    "and A3 PDFs (when Chromium is installed).",
)
def demo(example: Path | None, keep: bool, sandbox: bool, core_only: bool, workshop: Path | None) -> None:
    """Run the Eagle5 journeys on a copy of the example in a temporary directory (SQLite, no outside servers).

    The example's plugins.toml uses the email, Apprise and HTTP plugins; the demo points each at a
    stand-in it starts on 127.0.0.1 and, at the end, prints what every stand-in received.
    """
    from ..demo import run_demo

    out = console()
    run_demo(example, keep=keep, console=out, sandbox=sandbox, core_only=core_only)
    if workshop is None:
        out.print(
            "\nNext: [bold]itsm demo --workshop workshop/[/bold] plays two months of history and writes the "
            "smartphone service's workshop pack (journey maps, trends, comments) to print for a workshop."
        )
        return
    workshop_pack(example, workshop, out)


def workshop_pack(example: Path | None, directory: Path, out: Any) -> None:
    """Play the example's generated history on a temporary copy and write the smartphone workshop pack."""
    import shutil
    import tempfile

    from ..demo import copy_example, example_dir
    from ..desk import Desk
    from ..history import make_history
    from ..progress import progress_bar
    from ..reports import Scope
    from ..reports.workshop import write_workshop

    tmp = Path(tempfile.mkdtemp(prefix="itsm-demo-history-"))
    try:
        config = copy_example(example or example_dir(), tmp, "history.toml")
        if not config.is_file():
            raise click.UsageError(f"the example has no history.toml ({config.name}): no history to make a pack from")
        out.rule(f"Workshop pack: the {WORKSHOP_SERVICE} service")
        with progress_bar("playing the history (days)", total=DAYS) as bar:
            summary = make_history(
                config, customers=CUSTOMERS, demands=DEMANDS, days=DAYS, progress=lambda n: bar.update(completed=n)
            )
        out.print(
            f"{summary.customers:,} generated customers, {sum(summary.by_kind.values()):,} demands and "
            f"{summary.surveys:,} survey answers over {DAYS} days"
        )
        with Desk.open(config) as desk, progress_bar("workshop pack", total=7) as bar:
            desk.get_service(WORKSHOP_SERVICE)  # an example without it: a clear error with a close match
            pack = write_workshop(
                desk,
                Scope(service=WORKSHOP_SERVICE),
                directory,
                progress=lambda step: bar.advance(description=f"workshop: {step}"),
            )
        for path in (*pack.pages, *pack.pdfs):
            out.print(f"wrote {path}", markup=False, highlight=False)
        if not pack.pdfs:
            out.print(pack.skipped, markup=False, highlight=False)
        out.print(f"Open {directory / pack.pages[0].name} in a browser, or print the PDFs on A3.", markup=False)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
