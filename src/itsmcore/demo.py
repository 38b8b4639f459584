"""``itsm demo``: the Eagle5 journeys, run on a throwaway copy of the example.

Everything runs in this process on SQLite: no servers are needed. Plugins that talk to
outside systems (email, SMS, an account API) are pointed at stand-ins on 127.0.0.1
that the demo starts itself when those plugins are installed.
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Callable
from datetime import timedelta
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


def failure_journey(desk: Desk, say: Callable[[str], None]) -> int:
    """The CRM fails; monitoring announces it; Steve says it affects him, confirms the fix, scores 9."""
    from .model import Link

    ann = desk.open_announcement(
        "crm",
        "The CRM web app does not load",
        description="Pages time out after you sign in.",
        workaround="Use the CRM mobile app meanwhile.",
        links=[Link(title="CRM mobile app", url="https://apps.eagle5.example/crm/mobile")],
        estimate="within two hours",
        source="monitoring",
    )
    say(f"Monitoring opens announcement {ann.id}: {ann.title}. Subscribers: {', '.join(desk.subscribers('crm'))}.")
    steve_incident = desk.affects_me(ann.id, "steve")
    say(f"Steve clicks 'This affects me' in the portal (demand #{steve_incident}).")
    tony = desk.submit("failure", "tony", "CRM won't load", service="crm", channel="phone", actor="agent").demand
    say(f"Tony phones the service desk; his call is linked to the announcement (demand #{tony.id}).")
    desk.resolve_announcement(ann.id, "The load balancer was replaced.")
    say("The CRM is fixed; every subscriber and affected customer is told.")
    token = _confirm_token(desk, "steve")
    desk.confirm(token, True)
    say("Steve confirms it works through the link in his message.")
    survey = [m for m in desk.messages(customer="steve", demand_id=steve_incident) if m["purpose"] == "survey"]
    if survey:
        survey_token = survey[0]["body"].split("/survey/", 1)[1].split()[0]
        desk.answer_survey(9, token=survey_token, comment="Knew about it before I did. Nice.")
        say("He gives an NPS of 9.")
    later = desk.clock() + timedelta(hours=desk.config.announcements.follow_up_after_hours + 1)
    original = desk.clock
    desk.clock = lambda: later
    try:
        desk.run_due_jobs()
    finally:
        desk.clock = original
    led = desk.ledger(ann.id)
    say(
        f"Two days later Tony has not answered: followed up ({led.followed_up}). Ledger: notified {led.notified}, "
        f"affected {led.affected}, confirmed fixed {led.confirmed_fixed}, still broken {led.still_broken}, "
        f"no answer {led.no_answer}."
    )
    return steve_incident


def _confirm_token(desk: Desk, customer: str) -> str:
    for m in desk.messages(customer=customer):
        for line in m["body"].splitlines():
            if "/confirm/" in line and "fixed=yes" in line:
                return line.split("/confirm/", 1)[1].split("?", 1)[0]
    raise RuntimeError(f"{customer} got no confirm link")


def information_journey(desk: Desk, say: Callable[[str], None]) -> int:
    """Steve asked for a smartphone; later he asks where it is, and is answered without a person."""
    phone = desk.submit("value", "steve", "", service="smartphone", answers={"reason": "visiting customers"}).demand
    say(f"Steve requested a smartphone (demand #{phone.id}); it needs Scott's approval.")
    q = desk.submit("information", "steve", "Where is the smartphone I requested?", channel="portal").demand
    answer = [e.customer_sees for e in desk.journey(q.id) if e.kind == "state"]
    say(f"Steve asks 'Where is the smartphone I requested?' -> {answer[0] if answer else 'routed to a person'}")
    desk.approve(phone.id, "scott", "Enjoy!")
    say(f"Scott approves; demand #{phone.id} is {desk.get(phone.id).state}.")
    return q.id


def run_demo(example: Path | None = None, *, keep: bool = False, console: Any = None) -> list[int]:
    from rich.console import Console

    console = console or Console()
    tmp = Path(tempfile.mkdtemp(prefix="itsm-demo-"))
    try:
        config = copy_example(example or example_dir(), tmp)
        console.print(f"[bold]Eagle5 demo[/bold] on a copy in {config.parent} (SQLite, no servers)\n")
        with Desk.open(config) as desk:
            ids = []
            for title, journey in (
                ("Value demand: Steve gets Expensatron", value_journey),
                ("Failure demand: the CRM outage", failure_journey),
                ("Information demand: where is my smartphone?", information_journey),
            ):
                console.rule(title)
                did = journey(desk, console.print)
                console.print(
                    journey_table(desk, did, f"Journey of demand #{did}: what Steve sees / behind the scenes")
                )
                ids.append(did)
            return ids
    finally:
        if keep:
            console.print(f"kept: {tmp}")
        else:
            shutil.rmtree(tmp, ignore_errors=True)
