"""``itsm demo``: the Eagle5 journeys, run on a throwaway copy of the example.

Everything runs in this process on SQLite: no outside server is needed. The example's
``plugins.toml`` uses the reference plugins (email, SMS through Apprise, an account
created through the HTTP action); each component that offers a ``sandbox`` is pointed at
a local stand-in on 127.0.0.1 that the demo starts itself (see
:meth:`~itsmcore.deployment.Deployment.sandboxed`), and at the end the demo says what
each stand-in received. ``itsm demo --core-only`` runs ``itsm.toml``: the core alone.
"""

from __future__ import annotations

import contextlib
import fnmatch
import functools
import re
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Callable, Iterator, Sequence
from datetime import timedelta
from importlib import resources
from importlib.resources.abc import Traversable
from pathlib import Path
from typing import Any

import attrs

from .deployment import Deployment, Sandbox
from .desk import Desk
from .errors import ConfigError, ConfigProblem, NotFound
from .plugins import hookimpl
from .store.engine import open_engine, resolve_url

DEMO_PASSWORD = "eagle5-demo"
#: The example's config with the reference plugins, and the one for the core alone.
PLUGINS_CONFIG = "plugins.toml"
CORE_CONFIG = "itsm.toml"


#: What a run of the example leaves behind; never copied, never packaged (see pyproject.toml).
LEFTOVERS = ("*.db", "*.db-*", ".itsm-secret", "__pycache__")


class ExampleNotFound(NotFound):
    """No example deployment where ``itsm demo`` looked: one line saying how to give one."""


def example_candidates() -> tuple[Traversable, ...]:
    """Where the bundled Eagle5 example may be, in the order :func:`example_dir` tries them.

    A wheel carries it as package data (``itsmcore/examples/eagle5``, mapped from the
    repository's ``examples/eagle5`` at build time), read through :mod:`importlib.resources`;
    an editable install has no such directory and uses the repository's copy beside
    ``src/``, the one source of both.
    """
    return (
        resources.files("itsmcore") / "examples" / "eagle5",
        Path(__file__).resolve().parents[2] / "examples" / "eagle5",
    )


def example_dir() -> Traversable:
    """The example ``itsm demo`` runs when no ``--example`` is given; one line saying what to do if missing."""
    candidates = example_candidates()
    for candidate in candidates:
        if (candidate / CORE_CONFIG).is_file():
            return candidate
    raise ExampleNotFound(
        f"the bundled Eagle5 example is missing from this installation (looked in {' and '.join(map(str, candidates))});"
        " pass --example DIR, a copy of examples/eagle5 from the itsmcore source"
    )


def copy_example(example: Traversable, into: Path, config_name: str = CORE_CONFIG) -> Path:
    """Copy ``example`` (a directory, or package data) into ``into``, without a run's leftovers.

    Returns the path of ``config_name`` in the copy. Walks the :class:`Traversable` rather
    than using :func:`shutil.copytree`, so package data that is not a plain directory (a
    zipped install) copies too.
    """
    if not (example / CORE_CONFIG).is_file():
        raise ExampleNotFound(
            f"{example} holds no example deployment (no {CORE_CONFIG}); pass --example DIR,"
            " a directory like examples/eagle5 from the itsmcore source"
        )
    target = into / example.name
    _copy_tree(example, target)
    return target / config_name


def _copy_tree(source: Traversable, target: Path) -> None:
    target.mkdir(parents=True, exist_ok=True)
    for entry in source.iterdir():
        if any(fnmatch.fnmatchcase(entry.name, pattern) for pattern in LEFTOVERS):
            continue
        if entry.is_dir():
            _copy_tree(entry, target / entry.name)
        else:
            (target / entry.name).write_bytes(entry.read_bytes())


_MISSING = re.compile(r"no installed plugin provides an? (\w+) named '([^']+)'")


def _bundled_plugin(use: str) -> str | None:
    """The bundled plugin (``itsm-email``) that registers component ``use``, from its sources; ``None`` if none."""
    plugins = Path(__file__).resolve().parents[2] / "plugins"
    if (plugins / f"itsm-{use}" / "pyproject.toml").exists():
        return f"itsm-{use}"
    needle = f'name="{use}"'
    for source in sorted(plugins.glob("itsm-*/src/*/*.py")):
        with contextlib.suppress(OSError, UnicodeDecodeError):
            if needle in source.read_text(encoding="utf-8"):
                return source.parents[2].name
    return None


def _install_hint(use: str) -> str:
    """How to get the plugin that provides component ``use``: a bundled one, else from the index."""
    bundled = _bundled_plugin(use)
    if bundled is not None:
        name = bundled
        how = f"uv pip install -e plugins/{bundled} (bash scripts/demo installs every bundled plugin)"
    else:
        name = f"itsm-{use}"
        how = f"pip install itsm-{use}"
    return f"the demo needs the plugin {name}: {how}; or run the core alone: itsm demo --core-only"


def explain_missing_plugins(error: ConfigError) -> ConfigError:
    """The same error, with a hint naming the plugin to install for each unknown component."""
    problems: list[ConfigProblem] = []
    for p in error.problems:
        m = _MISSING.search(p.message)
        problems.append(attrs.evolve(p, hint=_install_hint(m.group(2))) if m else p)
    return ConfigError(problems)


class HookTally:
    """An observer plugin as a vendor would write one: it counts what the journey hooks tell it.

    The demo ends by holding its counts against the store, to show the hook contract
    kept: every journey event reported once, every state change reported.
    """

    def __init__(self) -> None:
        self.events: dict[int, list[int | None]] = {}
        self.states: dict[int, list[str]] = {}
        self.stages = 0

    @hookimpl
    def itsm_event_recorded(self, demand: Any, event: Any) -> None:
        self.events.setdefault(demand.id, []).append(event.id)

    @hookimpl
    def itsm_demand_state_changed(self, demand: Any, previous: Any) -> None:
        self.states.setdefault(demand.id, []).append(f"{previous} -> {demand.state}")

    @hookimpl
    def itsm_stage_entered(self) -> None:
        self.stages += 1

    def report(self, desk: Desk) -> str:
        """One line: what the observer heard beside what the store holds; names any event it missed."""
        demands = desk.list_demands(limit=10_000)
        journeys = {d.id: desk.journey(d.id) for d in demands}
        missed = [
            f"#{did} event {e.id} ({e.kind})"
            for did, journey in journeys.items()
            for e in journey
            if self.events.get(did, []).count(e.id) != 1
        ]
        stored = sum(len(j) for j in journeys.values())
        heard = sum(len(v) for v in self.events.values())
        states = sum(len(v) for v in self.states.values())
        line = (
            f"An observer plugin heard {heard} of the {stored} journey events of {len(demands)} demands"
            f" (itsm_event_recorded), {states} state changes (itsm_demand_state_changed)"
            f" and {self.stages} stages entered (itsm_stage_entered)."
        )
        return line + (f" Missed or doubled: {', '.join(missed)}" if missed else " None was missed or doubled.")


@contextlib.contextmanager
def open_demo_desk(
    config: Path, *, sandbox: bool = True, plugins: Sequence[object] = ()
) -> Iterator[tuple[Desk, list[Sandbox]]]:
    """A desk on ``config`` whose components run against their local stand-ins (unless ``sandbox`` is off)."""
    try:
        deployment = Deployment.load(config, plugins=plugins)
    except ConfigError as e:
        raise explain_missing_plugins(e) from None
    with contextlib.ExitStack() as stack:
        sandboxes = stack.enter_context(deployment.sandboxed()) if sandbox else []
        engine = open_engine(resolve_url(deployment.config.deployment.database, deployment.config.base_dir))
        desk = Desk(deployment, engine)
        stack.callback(desk.close)
        yield desk, sandboxes


def journey_table(desk: Desk, demand_id: int, title: str) -> Any:
    from rich.table import Table

    table = Table(title=title, show_lines=True, expand=False)
    for col, width in (
        ("elapsed", 8),
        ("stage", 11),
        ("channel", 8),
        ("who", 14),
        ("what the customer sees", 44),
        ("behind the scenes", 44),
    ):
        table.add_column(col, max_width=width, overflow="fold")
    events = desk.journey(demand_id)
    start = events[0].at if events else None
    for ev in events:
        ms = (ev.at - start).total_seconds() * 1000 if start else 0.0
        elapsed = f"{ms:.0f} ms" if ms < 10_000 else f"{ms / 1000:.1f} s"
        table.add_row(elapsed, str(ev.stage), ev.channel, _who(ev), ev.customer_sees, ev.behind_scenes)
    return table


def _who(event: Any) -> str:
    """Who acted, as the demo's table says it: a person's name where the journey names one, else the role."""
    if event.by is None:
        return str(event.actor)
    who = event.by.name or event.by.login
    if event.on_behalf_of is not None:
        who += f" for {event.on_behalf_of.name or event.on_behalf_of.login}"
    return who


def value_journey(desk: Desk, say: Callable[[str], None]) -> int:
    """Steve finds Expensatron, asks for it with two answers, and has it within moments."""
    steve = desk.authenticate("steve", DEMO_PASSWORD)
    if steve is None:
        raise RuntimeError("Steve could not sign in with the demo password")
    say(f"Steve signs in as {steve.name} ({steve.role}, {steve.department}) and searches 'expenses'.")
    results = desk.search("expenses", customer=steve)
    best = results[0]
    may = "he may have it" if best.eligible else "he may not have it"
    say(f"Best match: {best.service.name} - {best.service.description} ({may}).")
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
    login = desk.show(d.id).outputs.get("login")
    if login:
        say(f"Expensatron's API created his account: he signs in as {login}.")
    say(f"Demand #{d.id} is {d.state}.")
    return d.id


def failure_journey(desk: Desk, say: Callable[[str], None]) -> int:
    """The CRM fails; monitoring announces it; Steve says it affects him, confirms the fix, scores 9."""
    from .model import Link

    # the CRM web app runs on crm-app-01: its outage is announced on every service the CMDB says it affects
    (ann,) = desk.open_ci_announcement(
        "crm-app-01",
        "The CRM web app does not load",
        description="Pages time out after you sign in.",
        workaround="Use the CRM mobile app meanwhile.",
        links=[Link(title="CRM mobile app", url="https://apps.eagle5.example/crm/mobile")],
        estimate="within two hours",
        source="monitoring",
    )
    say(
        f"Monitoring sees crm-app-01 fail, the server the CRM web app runs on; its impact opens announcement"
        f" {ann.id} on {ann.service_key}: {ann.title}. Subscribers: {', '.join(desk.subscribers('crm'))}."
    )
    steve_incident = desk.affects_me(ann.id, "steve")
    say(f"Steve clicks 'This affects me' in the portal (demand #{steve_incident}).")
    desk.notify(
        "steve",
        "CRM mobile app",
        f"Meanwhile: {ann.workaround}",
        demand_id=steve_incident,
        links=ann.workaround_links,
        channel="sms",
        purpose="workaround",
    )
    sms = desk.messages(customer="steve", demand_id=steve_incident, limit=1)
    via = sms[0]["channel"] if sms else "sms"
    say(f"He taps 'Text me the link': the workaround link goes out by {via}.")
    # Steve is the only one in the room with the problem; elsewhere, Tony sees the notice too
    tony = desk.affects_me(ann.id, "tony")
    say(f"In another office, Tony also clicks 'This affects me' (demand #{tony}).")
    hit = desk.ci_impact("crm-app-01")
    say(
        f"The CMDB: an outage of the server crm-app-01 affects {', '.join(hit.services)}, "
        f"{len(hit.subscribers)} subscribers and open demands {', '.join(f'#{d}' for d in hit.open_demands)}."
    )
    desk.resolve_announcement(ann.id, "The load balancer was replaced.")
    say("The CRM is fixed; every subscriber and affected customer is told.")
    try:
        token = _confirm_token(desk, "steve")
    except RuntimeError:
        pending = [j for j in desk.jobs(state="pending") if j.error]
        say(f"Steve got no confirm link: {len(pending)} message(s) wait for a retry ({_first_error(pending)}).")
        return steve_incident
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


def _first_error(jobs: list[Any]) -> str:
    return str(jobs[0].error).splitlines()[0][:160] if jobs else "no error recorded"


def _confirm_token(desk: Desk, customer: str) -> str:
    for m in desk.messages(customer=customer):
        for line in m["body"].splitlines():
            if "/confirm/" in line and "fixed=yes" in line:
                return line.split("/confirm/", 1)[1].split("?", 1)[0]
    raise RuntimeError(f"{customer} got no confirm link")


def information_journey(desk: Desk, say: Callable[[str], None]) -> int:
    """Steve asks for a smartphone and follows it like a parcel; "where is it?" is answered without a person."""
    phone = desk.submit("value", "steve", "", service="smartphone", answers={"reason": "visiting customers"}).demand
    say(f"Steve requested a smartphone (demand #{phone.id}); it needs Scott's approval.")
    say(f"Steve asks 'Where is the smartphone I requested?' -> {_asks(desk, 'Where is the smartphone I requested?')}")
    desk.approve(phone.id, "scott", "Enjoy!")
    say(f"Scott approves; Steve's request says: {desk.customer_status(phone.id).text}")
    (task,) = desk.tasks(demand_id=phone.id)
    with desk.acting_as("patrick") as agent:  # the service desk's Patrick works the task: named on each step
        for milestone in ("ordered", "dispatched"):
            desk.task_milestone(task.id, milestone)
            told = [e.customer_sees for e in desk.journey(phone.id) if e.kind == "milestone"][-1]
            say(f"{agent.name if agent else 'The desk'} marks task {task.id} {milestone}; Steve is told: {told}")
    say(f"Steve asks 'Where is my smartphone?' -> {_asks(desk, 'Where is my smartphone?')}")
    with desk.acting_as("patrick"):
        desk.task_milestone(task.id, "delivered")
    say(f"The phone is delivered; demand #{phone.id} is {desk.get(phone.id).state}.")
    return phone.id


#: The articles the demo writes with ``itsm kb new`` (files under the example's ``knowledge/``).
ARTICLES = ("crm-pipeline-report", "crm-mobile-app")


def knowledge_journey(desk: Desk, config: Path, say: Callable[[str], None]) -> int:
    """IT writes two articles with the command line; Steve finds one by searching (typo and all) and asking."""
    for key in ARTICLES:
        command = ["kb", "new", key, "--file", f"knowledge/{key}.md", "--publish", "--by", "patrick"]
        done = subprocess.run(
            [sys.executable, "-m", "itsmcore", "-c", str(config), *command],
            capture_output=True,
            text=True,
            cwd=config.parent,
            check=False,
        )
        result = (done.stdout or done.stderr).strip().splitlines()
        say(f"$ itsm {' '.join(command)}\n  {result[-1] if result else f'exit status {done.returncode}'}")
    found = desk.knowledge.search("crm reprot", customer="steve")
    say(
        "Steve searches 'crm reprot' (sic) in the portal; beside the CRM service he finds: "
        + ("; ".join(h.article.title for h in found[:2]) or "nothing")
    )
    q = desk.submit("information", "steve", "How do I run my pipeline report in the CRM?", channel="portal").demand
    answer = [e.customer_sees for e in desk.journey(q.id) if e.kind == "state"]
    say(f"Steve asks 'How do I run my pipeline report in the CRM?' -> {answer[0] if answer else 'routed to a person'}")
    return q.id


def change_journey(desk: Desk, say: Callable[[str], None]) -> int:
    """IT plans the quote-system upgrade; both approvers say yes; Steve asks whether it is done in time."""
    from .desk.changes import when

    now = desk.clock()
    start = (now + timedelta(days=2)).replace(hour=18, minute=0, second=0, microsecond=0)
    with desk.acting_as("patrick"):
        change = desk.new_change(
            "Quote system upgrade",
            start=start,
            end=start + timedelta(hours=4),
            items=["crm-app-01"],  # the quotes live in the CRM web app: its services come from the CMDB
            approvers=["scott", "susan"],
            risk="medium",
            description="Quotes cannot be made in the CRM during the window.",
            owner="patrick",
        )
    say(
        f"Patrick plans the quote system upgrade on crm-app-01 (change {change.id}, like 'itsm change new'); the CMDB"
        f" says it touches {', '.join(change.services)}. It waits for {', '.join(change.waiting_for())}."
    )
    desk.approve_change(change.id, "scott", "Fine, after the sales call.")
    approved = desk.approve_change(change.id, "susan")
    notice = desk.change_notice_due(approved)
    say(
        f"Scott and Susan approve it (change {change.id} is {approved.state}); the CRM's subscribers will be told on"
        f" {when(max(notice, now))}, again when it starts, and when it ends."
    )
    day = (start + timedelta(days=1)).strftime("%A")
    question = f"Will the quote system upgrade be completed by {day}?"
    q = desk.submit("information", "steve", question, channel="portal").demand
    answer = [e.customer_sees for e in desk.journey(q.id) if e.kind == "state"]
    say(f"Steve asks '{question}' -> {answer[0] if answer else 'routed to a person'}")
    return q.id


def problem_journey(desk: Desk, say: Callable[[str], None]) -> int:
    """The CRM's pipeline report keeps coming out empty: a problem, a known error and its article, the fix."""
    from .reports import Scope
    from .reports.repeats import repeat_incidents

    reports = (
        ("steve", "My CRM pipeline report is empty"),
        ("tony", "The pipeline report shows no deals"),
        ("steve", "Pipeline report empty again this morning"),
    )
    ids = [desk.submit("failure", who, text, service="crm", channel="portal").demand.id for who, text in reports]
    say(f"Steve and Tony report an empty CRM pipeline report, three times: {', '.join(f'#{i}' for i in ids)}.")
    suggested = repeat_incidents(desk, Scope(service="crm")).suggestions
    if suggested:
        say(f"'itsm report repeat-incidents' suggests: {suggested[0].command}")
    with desk.acting_as("patrick"):
        problem = desk.open_problem("The CRM pipeline report comes out empty", cis=["crm-app-01"], incidents=ids)
        say(
            f"Patrick opens problem {problem.id} on the server crm-app-01 (it reaches {', '.join(problem.services)})"
            f" with the {len(problem.incidents)} incidents linked."
        )
        desk.investigate_problem(problem.id)
        problem = desk.known_error(
            problem.id,
            root_cause="The nightly export on crm-app-01 stops at a locked row.",
            workaround="Run the report for yesterday; today's deals show after the export at 10 am.",
        )
    article = desk.knowledge.get(problem.article_key or "")
    say(f"A known error: {problem.root_cause} Its workaround is published as the article '{article.title}'.")
    found = desk.knowledge.search("pipeline report empty", customer="tony")
    say(
        "Tony searches 'pipeline report empty' and finds: "
        + ("; ".join(h.article.title for h in found[:2]) or "nothing")
    )
    with desk.acting_as("patrick"):
        desk.resolve_problem(problem.id, "The nightly export now skips locked rows.")
    say(f"Problem {problem.id} is resolved; Steve's #{ids[0]} says: {desk.customer_status(ids[0]).text}")
    return ids[0]


def _asks(desk: Desk, question: str) -> str:
    """Steve's question in the portal, and the answer he gets on the page."""
    q = desk.submit("information", "steve", question, channel="portal").demand
    answer = [e.customer_sees for e in desk.journey(q.id) if e.kind == "state"]
    return answer[0] if answer else "routed to a person"


def show_teamwork(desk: Desk, demand_id: int, say: Callable[..., None]) -> None:
    """The assignment of ``demand_id`` and, with the clock moved past its first-response target, its escalation."""
    from .builtin.service_levels import clocks, sweep

    d = desk.get(demand_id)
    for e in desk.journey(demand_id):
        if e.kind == "assignment":
            say(f"Assignment: {e.behind_scenes}", markup=False)
    due = next((c.due_at for c in clocks(desk, demand_id) if c.due_at is not None), None)
    if due is None or not desk.config.escalations:
        return
    real = desk.clock
    desk.clock = lambda: due + timedelta(minutes=1)  # nobody answered Tony in time
    try:
        sweep(desk)
    finally:
        desk.clock = real
    for e in desk.journey(demand_id):
        if e.kind == "escalation":
            say(f"Escalation: {e.behind_scenes}", markup=False)
    if d.team:
        say(f"'itsm queue {d.team}' lists the team's open work, what breaches first on top.", markup=False)


def run_demo(
    example: Path | None = None,
    *,
    keep: bool = False,
    console: Any = None,
    sandbox: bool = True,
    core_only: bool = False,
) -> list[int]:
    """Run the three journeys on a copy of ``example``; returns the demand ids shown.

    ``sandbox`` starts the components' local stand-ins (off: the config's own addresses
    are used, so its servers must be running); ``core_only`` runs ``itsm.toml`` instead
    of ``plugins.toml``.
    """
    from rich.console import Console

    console = console or Console()
    tmp = Path(tempfile.mkdtemp(prefix="itsm-demo-"))
    try:
        config = copy_example(example or example_dir(), tmp, CORE_CONFIG if core_only else PLUGINS_CONFIG)
        if not config.exists():  # an example of the core alone
            config = config.with_name(CORE_CONFIG)
        where = "SQLite, local stand-ins on 127.0.0.1" if sandbox and not core_only else "SQLite"
        console.print(f"[bold]Eagle5 demo[/bold] on a copy in {config.parent} ({where}; no outside servers)\n")
        tally = HookTally()
        with open_demo_desk(config, sandbox=sandbox, plugins=[tally]) as (desk, sandboxes):
            for box in sandboxes:
                console.print(f"{box.path} ({box.use}, plugin {box.plugin}) runs against a local stand-in")
            ids = []
            for title, journey in (
                ("Value demand: Steve gets Expensatron", value_journey),
                ("Failure demand: the CRM outage", failure_journey),
                ("Information demand: where is my smartphone?", information_journey),
                (
                    "Knowledge: IT writes two articles, Steve finds his answer",
                    functools.partial(knowledge_journey, config=config),
                ),
                ("Planned change: will the quote system upgrade be done in time?", change_journey),
                ("Problems: the pipeline report keeps coming out empty", problem_journey),
            ):
                console.rule(title)
                did = journey(desk, say=console.print)
                console.print(
                    journey_table(desk, did, f"Journey of demand #{did}: what Steve sees / behind the scenes")
                )
                ids.append(did)
            for box in sandboxes:  # a stand-in with a journey of its own (a customer writing in by chat)
                own = getattr(box.standin, "demo", None)
                if callable(own):
                    console.rule(str(getattr(box.standin, "demo_title", box.path)))
                    did = own(desk, lambda line: console.print(line, markup=False, soft_wrap=True))
                    if did is not None:
                        console.print(
                            journey_table(desk, did, f"Journey of demand #{did}: what Steve sees / behind the scenes")
                        )
                        ids.append(did)
            console.rule("Service levels: what Tony is promised")
            keyboard = desk.submit("failure", "tony", "My laptop's keyboard is broken", channel="portal")
            console.print(
                f"Tony reports a broken keyboard (priority {int(keyboard.demand.priority)}); he reads:"
                f" {keyboard.acknowledgement}",
                markup=False,
            )
            console.rule("Teams: who takes it, and who hears when it is late")
            show_teamwork(desk, keyboard.demand.id, console.print)
            console.rule("One view of the customer, and what Tony chose")
            prefs = desk.set_preferences(
                "tony", by="tony", quiet_hours="22:00-07:00", time_zone="Europe/London", surveys=False
            )
            profile = desk.customer_profile("tony")
            allowed, why = desk.survey_allowed("tony")
            console.print(
                f"Tony sets quiet hours ({prefs.quiet_hours}: news waits, outages still reach him) and asks not"
                f" to be surveyed; a survey now: {'allowed' if allowed else f'not sent ({why})'}.",
                markup=False,
            )
            for d in profile.open_demands:
                console.print(f"The desk sees Tony's #{d.id} ({d.channel}): {d.status}", markup=False)
            if desk.find_customer("camille") is not None:  # an example without the Lyon office skips it
                from .demo_lyon import lyon_journey

                console.rule("In Lyon, in French: Camille and the slow CRM")
                lyon = lyon_journey(desk, lambda line: console.print(line, markup=False, soft_wrap=True))
                if lyon is not None:
                    ids.append(lyon)
            if sandboxes:
                console.rule("What the stand-ins received")
                for box in sandboxes:
                    console.print(box.summary(), soft_wrap=True, markup=False, highlight=False)
            console.rule("What a plugin heard")
            console.print(tally.report(desk), soft_wrap=True, markup=False, highlight=False)
            return ids
    finally:
        if keep:
            console.print(f"kept: {tmp}")
        else:
            shutil.rmtree(tmp, ignore_errors=True)
