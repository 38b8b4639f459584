"""Escalation rules: a service-level breach to the team lead, a late approval (in working hours) to the
approver's manager, a dead job to a named team; each recorded on the journey and sent, once per demand and
person however often the sweep runs; and the config's errors (an unknown team, a missing ``after``)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner

from itsmcore import ActionComponent, ActionRequest, ActionResult, ComponentContext, Desk, NoSettings, hookimpl
from itsmcore.builtin.escalations import sweep as escalation_sweep
from itsmcore.builtin.service_levels import sweep
from itsmcore.cli import cli
from itsmcore.errors import ConfigError, PermanentFailure

from .test_assignment import AGENTS, TEAMS

MONDAY = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)

SERVICES = """
[[services]]
key = "crm"
name = "CRM"
kind = "failure"
team = "apps"

[[services]]
key = "laptop"
name = "A new laptop"
kind = "value"
team = "service-desk"
plan = [{ action = "approval", approver = "manager" }]
"""

VPN = """
[[services]]
key = "vpn"
name = "VPN token"
kind = "value"
team = "service-desk"
plan = [{ action = "test.always_fails" }]
"""

RULES = """
[calendars.office]
timezone = "UTC"
hours = "09:00-17:00"

[[escalations]]
name = "breach to the lead"
when = "breach"
to = "lead"

[[escalations]]
name = "late approval"
when = "approval"
after = "4h"
to = "manager"

[[escalations]]
name = "dead job"
when = "dead_job"
to = "team"
team = "apps"
"""


class Clock:
    def __init__(self, now: datetime = MONDAY) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


class AlwaysFails:
    @hookimpl
    def itsm_fulfilment_actions(self) -> list[ActionComponent]:
        class Action:
            def __init__(self, _settings: object, _context: ComponentContext) -> None:
                pass

            def run(self, request: ActionRequest) -> ActionResult:
                raise PermanentFailure("the token server refused the request")

        return [ActionComponent(name="test.always_fails", factory=Action, params=NoSettings, description="fails")]


def _write(write_deployment: Callable[..., Path], services: str) -> Path:
    path = write_deployment(TEAMS + RULES, services=services)
    customers = path.parent / "customers.toml"
    # Scott, who approves Steve's requests, reports to Carol
    text = customers.read_text().replace(
        'groups = ["sales", "managers"]', 'groups = ["sales", "managers"]\nmanager = "carol"'
    )
    customers.write_text(text + AGENTS)
    return path


@pytest.fixture
def config(write_deployment: Callable[..., Path]) -> Path:
    return _write(write_deployment, SERVICES)


@pytest.fixture
def config_with_vpn(write_deployment: Callable[..., Path]) -> Path:
    """With a service whose plan runs an action that always fails (given as a plugin to the desk)."""
    return _write(write_deployment, SERVICES + VPN)


def escalations(desk: Desk, demand_id: int) -> list[str]:
    return [e.behind_scenes for e in desk.journey(demand_id) if e.kind == "escalation"]


def told(desk: Desk, person: str) -> list[str]:
    return [m["subject"] for m in desk.messages(customer=person) if "escalated" in m["subject"]]


def test_a_breach_escalates_to_the_team_lead_once(config: Path) -> None:
    clock = Clock()
    with Desk.open(config, entry_points=False, clock=clock) as desk:
        d = desk.submit("failure", "steve", "CRM down", service="crm").demand
        clock.now = MONDAY + timedelta(minutes=50)
        sweep(desk)  # a warning: no rule on warnings
        assert escalations(desk, d.id) == []
        clock.now = MONDAY + timedelta(hours=1, minutes=1)
        sweep(desk)
        (line,) = escalations(desk, d.id)
        assert line.startswith("escalated to carol (the lead of team apps) by rule 'breach to the lead': service level")
        assert told(desk, "carol") == [f"#{d.id} escalated to you: CRM down"]
        for _ in range(2):  # swept again, and the breach seen again: nobody is told twice
            clock.now += timedelta(hours=1)
            sweep(desk)
        assert len(escalations(desk, d.id)) == 1 and len(told(desk, "carol")) == 1
        assert all(not e.customer_sees for e in desk.journey(d.id) if e.kind == "escalation")


def test_a_late_approval_escalates_to_the_approvers_manager_in_working_hours(config: Path) -> None:
    clock = Clock(datetime(2026, 3, 6, 15, 0, tzinfo=UTC))  # a Friday, 3 pm
    with Desk.open(config, entry_points=False, clock=clock) as desk:
        d = desk.submit("value", "steve", "", service="laptop").demand
        assert desk.get(d.id).state == "awaiting_approval"
        clock.now = datetime(2026, 3, 9, 9, 0, tzinfo=UTC)  # Monday 9 am: 2 working hours, the weekend not counted
        assert escalation_sweep(desk).escalated == 0
        clock.now = datetime(2026, 3, 9, 11, 30, tzinfo=UTC)
        assert escalation_sweep(desk).escalated == 1
        (line,) = escalations(desk, d.id)
        assert "escalated to carol (the manager of the approver scott) by rule 'late approval'" in line
        assert "more than 4h" in line
        assert escalation_sweep(desk).escalated == 0  # once per demand and person
        assert told(desk, "carol") == [f"#{d.id} escalated to you: A new laptop"]


def test_a_dead_job_escalates_to_a_named_team(config_with_vpn: Path) -> None:
    with Desk.open(config_with_vpn, entry_points=False, plugins=[AlwaysFails()]) as desk:
        d = desk.submit("value", "steve", "", service="vpn").demand
        assert [j.state for j in desk.jobs(demand_id=d.id) if j.action == "test.always_fails"] == ["dead"]
        lines = escalations(desk, d.id)
        # the apps team has no notify list: its lead is told
        assert lines == ["escalated to carol (team apps) by rule 'dead job': job " + lines[0].split("job ", 1)[1]]
        assert "the token server refused the request" in lines[0]


def test_the_cli_sweep_runs_the_escalations(config: Path) -> None:
    with Desk.open(config, entry_points=False) as desk:
        desk.submit("value", "steve", "", service="laptop")
    r = CliRunner().invoke(cli, ["-c", str(config), "sla", "sweep"])
    assert r.exit_code == 0, r.output
    assert "0 escalation(s) of late approvals recorded" in r.output


@pytest.mark.parametrize(
    ("rule", "where", "says"),
    [
        ('when = "breach"\nto = "team"\nteam = "aps"', "escalations[0].team", "did you mean 'apps'?"),
        ('when = "breach"\nto = "team"', "escalations[0].team", "missing"),
        ('when = "approval"\nto = "manager"', "escalations[0].after", "missing"),
        ('when = "breach"\nto = "manager"\nafter = "4h"', "escalations[0].after", "only rules on approvals wait"),
        ('when = "breech"\nto = "lead"', "escalations[0].when", "did you mean 'breach'?"),
        ('when = "breach"\nto = "boss"', "escalations[0].to", "known: lead, manager, team"),
    ],
)
def test_a_bad_rule_is_a_config_error(write_deployment: Callable[..., Path], rule: str, where: str, says: str) -> None:
    path = write_deployment(TEAMS + "\n[[escalations]]\n" + rule + "\n")
    with pytest.raises(ConfigError) as e:
        Desk.open(path, entry_points=False)
    assert where in str(e.value) and says in str(e.value), str(e.value)
    assert CliRunner().invoke(cli, ["-c", str(path), "check"]).exit_code == 2
