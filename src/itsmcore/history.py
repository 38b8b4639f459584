"""A realistic history for a deployment, made through the public API so reports have something to show.

Months of demands from a few thousand generated customers: requests (one service
with a slow manager approval), incidents, questions and chases, an announced outage
that some customers click "This affects me" on and others phone about, confirmations
and survey answers whose scores follow how the journey went. Every step goes
through :class:`~itsmcore.desk.Desk` with a clock that moves, so the journey events
carry believable times.
"""

from __future__ import annotations

import functools
import heapq
import random
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from .errors import IneligibleCustomer, InvalidAnswers, ItsmError
from .model import DemandKind, DemandState

if TYPE_CHECKING:
    from .desk import Desk

DEPARTMENTS = {
    "Sales": ("sales", ["sales", "crm-users"]),
    "Finance": ("finance", ["finance"]),
    "Engineering": ("engineer", ["engineering"]),
    "Operations": ("operations", ["operations", "crm-users"]),
    "HR": ("hr", ["hr"]),
}
FIRST = [
    "Alex",
    "Sam",
    "Jo",
    "Chris",
    "Pat",
    "Robin",
    "Kim",
    "Lee",
    "Max",
    "Charlie",
    "Morgan",
    "Jamie",
    "Taylor",
    "Casey",
    "Drew",
    "Avery",
    "Quinn",
    "Riley",
]
LAST = [
    "Smith",
    "Patel",
    "Jones",
    "Khan",
    "Brown",
    "Garcia",
    "Nowak",
    "Silva",
    "Müller",
    "Rossi",
    "Kowalski",
    "Dubois",
    "Haddad",
    "Tanaka",
    "Okafor",
]
INCIDENTS = [
    "printer jam on floor 3",
    "laptop will not start",
    "cannot print",
    "VPN drops every hour",
    "outlook keeps asking for my password",
    "monitor flickers",
    "wifi slow in meeting room",
]
QUESTIONS = [
    "how do I claim expenses?",
    "how do I connect to the VPN from home?",
    "who decides the parking rota?",
    "how do I book a meeting room?",
]


class Clock:
    """A clock the generator moves forward; the desk stamps events with it."""

    def __init__(self, start: datetime):
        self.now = start

    def __call__(self) -> datetime:
        return self.now


def write_customers(path: Path, n: int, seed: int = 5) -> list[str]:
    """A TOML directory of ``n`` customers in five departments, each with a manager, some with a phone and the CRM."""
    rnd = random.Random(seed)
    lines = ["# Generated customers for the Eagle5 history (no passwords: they cannot sign in)."]
    ids: list[str] = []
    devices: list[str] = []
    managers = {d: f"mgr-{d.lower()}" for d in DEPARTMENTS}
    for i in range(n):
        dept = list(DEPARTMENTS)[i % len(DEPARTMENTS)] if i >= len(DEPARTMENTS) else list(DEPARTMENTS)[i]
        role, groups = DEPARTMENTS[dept]
        cid = managers[dept] if i < len(DEPARTMENTS) else f"c{i:05d}"
        name = f"{rnd.choice(FIRST)} {rnd.choice(LAST)}"
        lines += [
            "",
            "[[customers]]",
            f'id = "{cid}"',
            f'name = "{name}"',
            f'email = "{cid}@eagle5.example"',
            f'mobile = "+4477009{i:05d}"',
            f'role = "{role if i >= len(DEPARTMENTS) else role + "_manager"}"',
            f'department = "{dept}"',
            f"groups = {groups + (['managers'] if i < len(DEPARTMENTS) else [])!r}".replace("'", '"'),
            f'preferred_channels = ["{rnd.choice(["email", "email", "sms"])}"]',
        ]
        if i >= len(DEPARTMENTS):
            lines.append(f'manager = "{managers[dept]}"')
        ids.append(cid)
        if dept == "Sales" or rnd.random() < 0.5:
            os_name = rnd.choice(["iOS", "Android"])
            devices += [
                "",
                "[[devices]]",
                f'id = "ci-phone-{cid}"',
                f'name = "{os_name} phone"',
                'kind = "device"',
                f'owner = "{cid}"',
                f'attributes = {{ os = "{os_name}", number = "+4477009{i:05d}" }}',
            ]
        if "crm-users" in groups:
            devices += [
                "",
                "[[devices]]",
                f'id = "ci-crm-{cid}"',
                'name = "CRM app"',
                'kind = "application"',
                f'owner = "{cid}"',
                'attributes = { service = "crm" }',
            ]
    path.write_text("\n".join(lines + devices) + "\n", encoding="utf-8")
    return ids


@dataclass(order=True)
class _Step:
    at: datetime
    n: int
    run: Callable[[], object] = field(compare=False)


@dataclass
class Summary:
    customers: int = 0
    surveys: int = 0
    skipped: int = 0
    by_kind: dict[str, int] = field(default_factory=dict)


def generate(
    desk: Desk,
    clock: Clock,
    customers: list[str],
    *,
    demands: int = 2500,
    days: int = 120,
    seed: int = 11,
    progress: Callable[[int], None] | None = None,
) -> Summary:
    """Play ``demands`` customer contacts over ``days`` through ``desk``; returns what was made.

    ``progress`` is told how many whole days of the history have been played, as they pass.
    """
    rnd = random.Random(seed)
    start = clock.now
    queue: list[_Step] = []
    counter = iter(range(10**9))
    summary = Summary(customers=len(customers))

    def later(delay: timedelta, run: Callable[[], object]) -> None:
        heapq.heappush(queue, _Step(clock.now + delay, next(counter), run))

    def survey(demand_id: int, customer: str, journey_hours: float, trouble: bool) -> None:
        if rnd.random() > 0.45:
            return  # most people do not answer
        # quick, smooth journeys earn promoters; slow or troubled ones detractors
        base = 9.5 - min(6.0, journey_hours / 24) - (3 if trouble else 0)
        score = max(0, min(10, round(rnd.gauss(base, 1.4))))
        comment = ""
        if score <= 6:
            comment = rnd.choice(["Took far too long.", "Nobody told me what was happening.", "Had to chase twice."])
        elif score >= 9 and rnd.random() < 0.3:
            comment = rnd.choice(["Quick and easy, thanks!", "Had it within minutes."])
        try:
            desk.answer_survey(score, customer=customer, demand_id=demand_id, comment=comment, channel="email")
            summary.surveys += 1
        except ItsmError:
            pass  # governance said no (one survey per period): as in life

    def confirm(demand_id: int, customer: str, hours: float, trouble: bool = False) -> None:
        d = desk.get(demand_id)
        if d.state not in (DemandState.FULFILLED, DemandState.RESOLVED, DemandState.ANSWERED):
            return
        if rnd.random() < 0.7:
            desk.confirm_demand(demand_id, customer, True, channel="email")
            survey(demand_id, customer, hours, trouble)

    def request(customer: str) -> None:
        service = rnd.choices(["expensatron", "smartphone", "desktop-pc"], weights=[5, 3, 2])[0]
        try:
            svc = desk.get_service(service)
            cust = desk.get_customer(customer)
            answers: dict[str, Any] = dict(desk.prefill(svc, cust))
            for ask in svc.asks:
                answers.setdefault(ask.name, ask.choices[0] if ask.choices else "for my work")
            receipt = desk.submit(
                DemandKind.VALUE,
                customer,
                "",
                service=service,
                answers=answers,
                channel=rnd.choice(["portal", "portal", "portal", "email", "phone"]),
                discovery="catalog search" if rnd.random() < 0.6 else None,
            )
        except (IneligibleCustomer, InvalidAnswers):
            summary.skipped += 1
            return
        d = receipt.demand
        if d.state == DemandState.AWAITING_APPROVAL:
            # the slow step: managers take from hours to over a week
            wait = timedelta(hours=rnd.choice([2, 6, 20, 30, 50, 80, 120, 200]))
            if rnd.random() < 0.35:  # the customer chases before the manager answers
                later(wait / 2, lambda: chase(customer, service))

            def approve() -> None:
                manager = desk.get_customer(customer).manager or customer
                desk.approve(d.id, manager, "ok")
                hours = (clock.now - d.created_at).total_seconds() / 3600
                later(timedelta(hours=rnd.uniform(24, 72)), lambda: fulfil_and_confirm(d.id, customer, hours + 48))

            later(wait, approve)
        else:
            later(timedelta(hours=rnd.uniform(0.1, 4)), lambda: confirm(d.id, customer, 0.2))

    def fulfil_and_confirm(demand_id: int, customer: str, hours: float) -> None:
        d = desk.get(demand_id)
        if d.state not in (DemandState.FULFILLED, DemandState.CLOSED):
            try:
                desk.resolve(demand_id, "Delivered to your desk.")
            except ItsmError:
                return
        later(timedelta(hours=rnd.uniform(1, 30)), lambda: confirm(demand_id, customer, hours, trouble=hours > 96))

    def chase(customer: str, service: str) -> None:
        desk.submit(DemandKind.INFORMATION, customer, f"where is my {service.replace('-', ' ')}?", channel="email")

    def incident(customer: str) -> None:
        text = rnd.choice(INCIDENTS)
        d = desk.submit(
            DemandKind.FAILURE, customer, text, channel=rnd.choice(["phone", "portal", "email", "chat"])
        ).demand
        hours = rnd.choice([0.5, 1, 2, 4, 8, 26, 50])
        if hours > 24 and rnd.random() < 0.4:
            later(
                timedelta(hours=hours / 2),
                lambda: desk.comment(d.id, "Any news? Still broken.", actor="customer", channel="email"),
            )

        def fix() -> None:
            desk.resolve(d.id, "Fixed: " + text)
            later(timedelta(hours=rnd.uniform(0.5, 20)), lambda: confirm(d.id, customer, hours))

        later(timedelta(hours=hours), fix)

    def question(customer: str) -> None:
        d = desk.submit(
            DemandKind.INFORMATION, customer, rnd.choice(QUESTIONS), channel=rnd.choice(["portal", "chat"])
        ).demand
        if desk.get(d.id).state == DemandState.IN_PROGRESS:
            later(timedelta(hours=rnd.uniform(1, 30)), lambda: desk.resolve(d.id, "The facilities team decides it."))

    def outage() -> None:
        ann = desk.open_announcement(
            "crm", "The CRM does not load", workaround="Use the CRM mobile app", estimate="by 3 pm", source="monitoring"
        )
        users = [
            c for c in customers if any(ci.attributes.get("service") == "crm" for ci in desk.configuration_items(c))
        ]
        for c in rnd.sample(users, min(len(users), 120)):
            later(timedelta(minutes=rnd.uniform(5, 90)), functools.partial(affected, ann.id, c, rnd.random() < 0.6))
        later(timedelta(hours=3), lambda: desk.resolve_announcement(ann.id, "The load balancer was replaced."))

    def affected(announcement_id: int, customer: str, click: bool) -> None:
        if click:  # "This affects me" on the portal
            desk.affects_me(announcement_id, customer)
        else:  # a call to the desk
            desk.submit(DemandKind.FAILURE, customer, "CRM is down", service="crm", channel="phone")

    kinds = [(request, 55), (incident, 28), (question, 17)]
    staff = [c for c in customers if not c.startswith("mgr-")] or customers  # managers approve, they do not ask
    for _ in range(demands):
        when = timedelta(seconds=rnd.uniform(0, days * 86400))
        when = _working_hours(start + when) - start
        act = rnd.choices([k for k, _ in kinds], weights=[w for _, w in kinds])[0]
        who = rnd.choice(staff)
        heapq.heappush(queue, _Step(start + when, next(counter), functools.partial(act, who)))
    heapq.heappush(queue, _Step(start + timedelta(days=days * 0.6, hours=10), next(counter), outage))

    played = 0
    while queue:
        step = heapq.heappop(queue)
        clock.now = max(clock.now, step.at)
        try:
            step.run()
        except ItsmError:
            summary.skipped += 1
        if progress and (clock.now - start).days > played:
            played = (clock.now - start).days
            progress(min(played, days))
    from sqlalchemy import func, select

    from .store import tables as t

    with desk.engine.connect() as conn:  # counted where they are, not loaded to be counted
        for kind, n in conn.execute(select(t.demands.c.kind, func.count()).group_by(t.demands.c.kind)):
            summary.by_kind[kind] = int(n)
    return summary


def _working_hours(when: datetime) -> datetime:
    """Move a moment into office hours (Mon-Fri, 8-18) the way contacts cluster."""
    while when.weekday() >= 5:
        when += timedelta(days=1)
    if when.hour < 8:
        when = when.replace(hour=8)
    elif when.hour >= 18:
        when = when.replace(hour=8) + timedelta(days=1)
        return _working_hours(when)
    return when


def default_start(days: int) -> datetime:
    """Office hours ``days`` ago, so the history ends about now."""
    now = datetime.now(UTC).replace(microsecond=0)
    return (now - timedelta(days=days + 1)).replace(hour=8, minute=0, second=0)


def make_history(
    config: Path,
    *,
    customers: int = 2000,
    demands: int = 2500,
    days: int = 120,
    customers_file: str = "history-customers.toml",
    seed: int = 11,
    progress: Callable[[int], None] | None = None,
) -> Summary:
    """Write the generated customers next to ``config`` (which must list that file as a directory), then play."""
    from .desk import Desk

    ids = write_customers(config.parent / customers_file, customers, seed=seed)
    clock = Clock(default_start(days))
    with Desk.open(config, clock=clock) as desk:
        return generate(desk, clock, ids, demands=demands, days=days, seed=seed, progress=progress)


@click.group()
def history() -> None:
    """Generated history for trying the experience reports."""


@history.command("generate")
@click.option("--customers", default=2000, show_default=True, help="How many customers to generate.")
@click.option("--demands", default=2500, show_default=True, help="How many customer contacts to play.")
@click.option("--days", default=120, show_default=True, help="Over how many days, ending about now.")
@click.option("--seed", default=11, show_default=True, help="Random seed: the same seed gives the same history.")
@click.option(
    "--customers-file",
    default="history-customers.toml",
    show_default=True,
    help="Where to write the generated customers (next to the config; the config must list it as a directory).",
)
@click.option("--quiet", "-q", is_flag=True, help="No progress bar (there is none when stderr is not a terminal).")
@click.pass_context
def generate_command(
    ctx: click.Context, customers: int, demands: int, days: int, seed: int, customers_file: str, quiet: bool
) -> None:
    """Play months of requests, incidents, questions, an outage and surveys through the desk."""
    from .config import find_config
    from .progress import progress_bar

    config = find_config(ctx.obj.get("config"))
    with progress_bar("playing the history (days)", total=days, quiet=quiet) as bar:
        summary = make_history(
            config,
            customers=customers,
            demands=demands,
            days=days,
            customers_file=customers_file,
            seed=seed,
            progress=lambda n: bar.update(completed=n),
        )
    kinds = ", ".join(f"{n:,} {k}" for k, n in sorted(summary.by_kind.items()))
    click.echo(
        f"history: {summary.customers:,} customers, {sum(summary.by_kind.values()):,} demands ({kinds}), "
        f"{summary.surveys:,} survey answers"
    )
