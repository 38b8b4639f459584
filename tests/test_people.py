"""Who did what (every agent's event names the person) and finding a customer by typing.

Through the public API and the ``itsm`` command, on the run's database (SQLite, or
PostgreSQL with ``ITSM_TEST_DATABASE=postgresql``).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner

from itsmcore import Demand, Desk, Identity, InvalidInput, JourneyEvent, NotFound, hookimpl
from itsmcore.cli import cli


class Events:
    """A plugin written before events named people: it keeps working, and sees them."""

    def __init__(self) -> None:
        self.seen: list[JourneyEvent] = []

    @hookimpl
    def itsm_event_recorded(self, desk: Desk, demand: Demand, event: JourneyEvent) -> None:
        self.seen.append(event)


@pytest.fixture
def config(eagle5: Callable[..., Path]) -> Path:
    return eagle5()


@pytest.fixture
def events() -> Events:
    return Events()


@pytest.fixture
def desk(config: Path, events: Events) -> Iterator[Desk]:
    with Desk.open(config, entry_points=False, plugins=[events]) as d:
        yield d


def run(config: Path, *args: str, env: dict[str, str] | None = None) -> object:
    return CliRunner().invoke(cli, ["-c", str(config), *args], env=env or {}, catch_exceptions=False)


def incident(desk: Desk) -> int:
    return desk.submit("failure", "steve", "The CRM will not load").demand.id


# ---------------------------------------------------------------- who did what


def test_an_agent_acting_is_named_on_each_of_their_events_and_to_the_hooks(desk: Desk, events: Events) -> None:
    did = incident(desk)
    with desk.acting_as("patrick") as me:
        assert me == Identity("patrick", "Patrick Hale")
        desk.comment(did, "Looking at it now.", actor="agent")
        desk.set_priority(did, 1, "the whole sales team is blocked")
        desk.resolve(did, "Restarted the CRM web server.")
    journey = desk.journey(did)
    theirs = [e for e in journey if e.actor == "agent"]
    assert len(theirs) >= 3
    assert all(e.by == Identity("patrick", "Patrick Hale") for e in theirs)
    assert all(e.who == "Patrick Hale (patrick)" for e in theirs)
    # the customer's and the system's own events name no agent
    assert all(e.by is None for e in journey if e.actor in ("customer", "system"))
    # hooks get the same events, with the person
    seen = {e.id: e for e in events.seen}
    assert all(seen[e.id].by == e.by for e in journey)


def test_an_agent_event_without_any_identity_is_recorded_with_the_role_alone(desk: Desk) -> None:
    did = incident(desk)
    ev = desk.comment(did, "Looking at it.", actor="agent")
    assert ev.by is None and ev.who == "agent"
    assert desk.journey(did)[-1].by is None


def test_acting_as_a_login_nobody_knows_is_refused_with_close_matches(desk: Desk) -> None:
    with pytest.raises(NotFound, match=r"unknown agent 'patrik'.*did you mean 'patrick'"), desk.acting_as("patrik"):
        pass
    with pytest.raises(InvalidInput, match="give the agent's login"), desk.acting_as("  "):
        pass
    with desk.acting_as("ops-bot", known=False) as who:
        assert who == Identity("ops-bot", "")
        assert str(who) == "ops-bot"


def test_an_approval_on_someones_behalf_records_both_people(desk: Desk, events: Events) -> None:
    did = desk.submit("value", "steve", "", service="smartphone", answers={"reason": "visiting customers"}).demand.id
    desk.approve(did, "patrick", "Scott said yes on the phone.", on_behalf_of="scott")
    (ev,) = [e for e in desk.journey(did) if e.kind == "approved"]
    assert ev.by == Identity("patrick", "Patrick Hale")
    assert ev.on_behalf_of == Identity("scott", "Scott Miller")
    assert ev.who == "Patrick Hale (patrick) for Scott Miller (scott)"
    assert [e.on_behalf_of for e in events.seen if e.id == ev.id] == [ev.on_behalf_of]


def test_the_approver_deciding_themselves_is_recorded_alone(desk: Desk) -> None:
    did = desk.submit("value", "steve", "", service="smartphone", answers={"reason": "visiting customers"}).demand.id
    desk.reject(did, "scott", "Use the pool phone this quarter.")
    (ev,) = [e for e in desk.journey(did) if e.kind == "state" and e.behind_scenes.startswith("rejected")]
    assert ev.by == Identity("scott", "Scott Miller") and ev.on_behalf_of is None


def test_the_cli_records_the_named_agent_and_demand_show_says_who(config: Path) -> None:
    with Desk.open(config) as desk:
        did = incident(desk)
    r = run(config, "--agent", "patrick", "demand", "comment", str(did), "On it.")
    assert r.exit_code == 0, r.output
    r = run(config, "demand", "show", str(did))
    assert "Patrick Hale (patrick)" in r.output and "customer steve" in r.output
    data = json.loads(run(config, "demand", "show", str(did), "--format", "json").output)
    (mine,) = [e for e in data["journey"] if e["actor"] == "agent"]
    assert mine["by"] == {"login": "patrick", "name": "Patrick Hale"} and mine["on_behalf_of"] is None


def test_the_cli_takes_the_agent_from_ITSM_AGENT_else_the_system_login(config: Path) -> None:
    with Desk.open(config) as desk:
        did = incident(desk)
    assert run(config, "demand", "comment", str(did), "One.", env={"ITSM_AGENT": "patrick"}).exit_code == 0
    r = run(config, "demand", "comment", str(did), "Two.", env={"ITSM_AGENT": "", "LOGNAME": "opsuser"})
    assert r.exit_code == 0, r.output
    with Desk.open(config) as desk:
        agents = [e.by for e in desk.journey(did) if e.actor == "agent"]
    assert agents == [Identity("patrick", "Patrick Hale"), Identity("opsuser", "")]


def test_the_cli_refuses_an_agent_the_directory_does_not_know_and_records_nothing(config: Path) -> None:
    with Desk.open(config) as desk:
        did = incident(desk)
        before = len(desk.journey(did))
    r = run(config, "--agent", "patrik", "demand", "comment", str(did), "On it.")
    assert r.exit_code != 0
    assert "unknown agent 'patrik'" in r.output and "did you mean 'patrick'" in r.output
    assert "Traceback" not in r.output
    with Desk.open(config) as desk:
        assert len(desk.journey(did)) == before


def test_the_cli_records_an_approval_on_behalf_of_the_approver(config: Path) -> None:
    with Desk.open(config) as desk:
        did = desk.submit("value", "steve", "", service="smartphone", answers={"reason": "travel"}).demand.id
    r = run(config, "demand", "approve", str(did), "--as", "patrick", "--on-behalf-of", "scott")
    assert r.exit_code == 0, r.output
    data = json.loads(run(config, "demand", "show", str(did), "--format", "json").output)
    (ev,) = [e for e in data["journey"] if e["who"] == "Patrick Hale (patrick) for Scott Miller (scott)"]
    assert ev["on_behalf_of"] == {"login": "scott", "name": "Scott Miller"}
