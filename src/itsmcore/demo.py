"""``itsm demo``: the Eagle5 journeys, run on a throwaway copy of the example.

Everything runs in this process on SQLite: no servers are needed. Plugins that talk to
outside systems (email, SMS, an account API) are pointed at stand-ins on 127.0.0.1
that the demo starts itself when those plugins are installed.
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

from .desk import Desk

DEMO_PASSWORD = "eagle5-demo"


def example_dir() -> Path:
    """The bundled Eagle5 example: inside the package when installed, else in the source tree."""
    for candidate in (
        Path(__file__).parent / "_examples" / "eagle5",
        Path(__file__).resolve().parents[2] / "examples" / "eagle5",
    ):
        if (candidate / "itsm.toml").exists():
            return candidate
    raise FileNotFoundError("the Eagle5 example is not installed; pass --example DIR")


def copy_example(example: Path, into: Path) -> Path:
    target = into / example.name
    shutil.copytree(example, target, ignore=shutil.ignore_patterns("*.db", "*.db-*", ".itsm-secret", "__pycache__"))
    return target / "itsm.toml"


def journey_table(desk: Desk, demand_id: int, title: str) -> Any:
    from rich.table import Table

    table = Table(title=title, show_lines=True, expand=False)
    for col, width in (
        ("elapsed", 8),
        ("stage", 11),
        ("channel", 8),
        ("what the customer sees", 48),
        ("behind the scenes", 48),
    ):
        table.add_column(col, max_width=width, overflow="fold")
    events = desk.journey(demand_id)
    start = events[0].at if events else None
    for ev in events:
        ms = (ev.at - start).total_seconds() * 1000 if start else 0.0
        elapsed = f"{ms:.0f} ms" if ms < 10_000 else f"{ms / 1000:.1f} s"
        table.add_row(elapsed, str(ev.stage), ev.channel, ev.customer_sees, ev.behind_scenes)
    return table


def value_journey(desk: Desk, say: Callable[[str], None]) -> int:
    """Steve finds Expensatron, asks for it with two answers, and has it within moments."""
    steve = desk.authenticate("steve", DEMO_PASSWORD)
    if steve is None:
        raise RuntimeError("Steve could not sign in with the demo password")
    say(f"Steve signs in as {steve.name} ({steve.role}, {steve.department}) and searches 'expenses'.")
    results = desk.search("expenses", customer=steve)
    best = results[0]
    say(f"Best match: {best.service.name} - {best.service.description} (he can have it: {best.eligible}).")
    receipt = desk.submit(
        "value",
        steve,
        best.service.name,
        service=best.service.key,
        answers={"mobile_number": "+44 7700 900123", "mobile_os": "iOS"},
        channel="portal",
        discovery="searched 'expenses' in the portal",
    )
    say(f"On screen: {receipt.acknowledgement}")
    for link in receipt.links:
        say(f"  {link.title}: {link.url}")
    d = desk.get(receipt.demand.id)
    say(f"Demand #{d.id} is {d.state}.")
    return d.id


def run_demo(example: Path | None = None, *, keep: bool = False, console: Any = None) -> list[int]:
    from rich.console import Console

    console = console or Console()
    tmp = Path(tempfile.mkdtemp(prefix="itsm-demo-"))
    try:
        config = copy_example(example or example_dir(), tmp)
        console.print(f"[bold]Eagle5 demo[/bold] on a copy in {config.parent} (SQLite, no servers)\n")
        with Desk.open(config) as desk:
            console.rule("Value demand: Steve gets Expensatron")
            did = value_journey(desk, console.print)
            console.print(journey_table(desk, did, f"Journey of demand #{did}: what Steve sees / behind the scenes"))
            sent = desk.messages(demand_id=did)
            console.print(
                f"{len(sent)} message(s) sent: "
                + "; ".join(f"{m['purpose']} by {m['channel']}" for m in reversed(sent))
            )
            return [did]
    finally:
        if keep:
            console.print(f"kept: {tmp}")
        else:
            shutil.rmtree(tmp, ignore_errors=True)
