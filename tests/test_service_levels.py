"""Service levels: clocks in working time started at intake, stopped by the first response and the outcome,
paused while an approver decides, re-targeted by a priority change; the sweep's warning and breach (each once,
on the journey, told to the rule's people); the customer's status; the report; and the config's errors."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner

from itsmcore import Desk
from itsmcore.builtin.service_levels import clocks, sweep
from itsmcore.cli import cli
from itsmcore.errors import ConfigError

MONDAY = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)  # 09:00 in London (GMT)

LEVELS = """
[calendars.london]
timezone = "Europe/London"
hours = "09:00-17:30"
country = "GB"
subdivision = "ENG"

[[service_levels]]
name = "incidents"
kinds = ["failure"]
response = "1h"
resolution = "1d"
notify = ["patrick"]

[[service_levels]]
name = "CRM priority 1"
services = ["crm"]
priorities = [1]
response = "15m"
resolution = "4h"
warn_at = 0.5
notify = ["patrick"]
"""


class Clock:
    def __init__(self, now: datetime = MONDAY) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def config(write_deployment: Callable[..., Path]) -> Path:
    return write_deployment(LEVELS)


def test_a_report_gets_clocks_the_customer_hears_the_target_and_the_sweep_warns_then_breaches(config: Path) -> None:
    clock = Clock()
    with Desk.open(config, entry_points=False, clock=clock) as desk:
        receipt = desk.submit("failure", "steve", "The CRM is slow", service="crm")
        d = receipt.demand
        assert d.priority == 3
        assert "We aim to fix this by 5:30 pm today." in receipt.acknowledgement
        response, resolution = clocks(desk, d.id)
        assert (response.rule, response.target_secs, response.due_at) == (
            "incidents",
            3600,
            MONDAY + timedelta(hours=1),
        )
        assert (resolution.target_secs, resolution.due_at) == (8.5 * 3600, datetime(2026, 3, 2, 17, 30, tzinfo=UTC))

        clock.now = MONDAY + timedelta(minutes=40)
        desk.transition(d.id, "in_progress", actor="patrick")
        response = clocks(desk, d.id)[0]
        assert response.state == "stopped" and response.breached_at is None

        clock.now = datetime(2026, 3, 2, 15, 0, tzinfo=UTC)
        assert sweep(desk).warnings == 0
        clock.now = datetime(2026, 3, 2, 15, 30, tzinfo=UTC)  # three quarters of 8.5 hours: 15:22:30
        assert (sweep(desk).warnings, sweep(desk).warnings) == (1, 0)
        events = [e for e in desk.journey(d.id) if e.kind == "service_level"]
        assert len(events) == 1 and events[0].customer_sees == ""
        assert "service level warning: 75% of the resolution target of 8.5 working hours (incidents)" in (
            events[0].behind_scenes
        )
        assert "told patrick" in events[0].behind_scenes
        assert "it falls at Mon 02 Mar 17:30 GMT" in events[0].behind_scenes, "named in the calendar's zone"
        told = [m for m in desk.messages(customer="patrick") if m["purpose"] == "service_level"]
        assert len(told) == 1 and "at risk" in told[0]["subject"]

        clock.now = datetime(2026, 3, 2, 17, 31, tzinfo=UTC)
        assert "We aim" not in desk.customer_status(d.id).text  # missed: no promise repeated
        result = sweep(desk)
        assert (result.warnings, result.breaches) == (0, 1)
        assert sweep(desk).breaches == 0
        clock.now = datetime(2026, 3, 3, 10, 0, tzinfo=UTC)
        desk.resolve(d.id, "Fixed: the CRM's cache was full.")
        resolution = clocks(desk, d.id)[1]
        assert resolution.state == "stopped"
        assert resolution.breached_at == datetime(2026, 3, 2, 17, 30, tzinfo=UTC)

    runner = CliRunner()
    result = runner.invoke(cli, ["-c", str(config), "report", "service-levels", "--format", "json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    overall = {r["metric"]: r for r in data["rows"] if r["dimension"] == "overall"}
    assert (overall["response"]["met"], overall["response"]["attainment"]) == (1, 1.0)
    assert (overall["resolution"]["breached"], overall["resolution"]["attainment"]) == (1, 0.0)
    assert [b["demand"] for b in data["breaches"]] == [d.id]
    for fmt, marker in (("table", "attainment"), ("csv", "dimension,value,metric"), ("html", "<table>")):
        result = runner.invoke(cli, ["-c", str(config), "report", "service-levels", "--format", fmt])
        assert result.exit_code == 0 and marker in result.output, result.output
    result = runner.invoke(cli, ["-c", str(config), "sla", "show", str(d.id)])
    assert result.exit_code == 0 and "incidents" in result.output


def test_a_priority_change_retargets_the_clocks_under_the_rule_that_now_matches(config: Path) -> None:
    clock = Clock()
    with Desk.open(config, entry_points=False, clock=clock) as desk:
        d = desk.submit("failure", "steve", "The CRM is slow", service="crm").demand
        clock.now = MONDAY + timedelta(hours=1)
        desk.set_priority(d.id, 1, "the sales floor is stuck", actor="patrick")
        response, resolution = clocks(desk, d.id)
        assert (resolution.rule, resolution.target_secs, resolution.priority) == ("CRM priority 1", 4 * 3600, 1)
        # an hour of the four is used: due three working hours from now
        assert resolution.due_at == MONDAY + timedelta(hours=4)
        assert response.state == "running" and response.elapsed == 3600 and response.due_at == clock.now
        assert "We aim to fix this by 1 pm today." in desk.customer_status(d.id).text


def test_a_clock_across_the_change_to_summer_time_and_easter(config: Path) -> None:
    clock = Clock(datetime(2026, 4, 2, 15, 0, tzinfo=UTC))  # Thursday 2 April, 16:00 in London (BST)
    with Desk.open(config, entry_points=False, clock=clock) as desk:
        d = desk.submit("failure", "steve", "The CRM is slow", service="crm").demand
        desk.set_priority(d.id, 1, "outage", actor="patrick")
        # 1.5 hours on Thursday, Good Friday and Easter Monday off: Tuesday 7 April 11:30 BST
        assert clocks(desk, d.id)[1].due_at == datetime(2026, 4, 7, 10, 30, tzinfo=UTC)
        assert "We aim to fix this by 11:30 am on Tuesday." in desk.customer_status(d.id).text
    clock = Clock(datetime(2026, 3, 27, 16, 0, tzinfo=UTC))  # Friday 27 March 16:00 GMT; summer time on Sunday
    with Desk.open(config, entry_points=False, clock=clock) as desk:
        d = desk.submit("failure", "steve", "The CRM is slow", service="crm").demand
        desk.set_priority(d.id, 1, "outage", actor="patrick")
        # 1.5 hours on Friday, 2.5 on Monday from 09:00 BST (08:00 UTC)
        assert clocks(desk, d.id)[1].due_at == datetime(2026, 3, 30, 10, 30, tzinfo=UTC)


def test_the_clocks_pause_while_an_approver_decides(eagle5: Callable[..., Path]) -> None:
    clock = Clock()  # the example's "requests" rule: a resolution within 5 working days
    with Desk.open(eagle5(), entry_points=False, clock=clock) as desk:
        phone = desk.submit("value", "steve", "", service="smartphone", answers={"reason": "visits"}).demand
        resolution = clocks(desk, phone.id)[1]
        assert desk.get(phone.id).state == "awaiting_approval"
        assert (resolution.rule, resolution.state, resolution.paused_for) == ("requests", "paused", "approver")
        assert "We aim" not in desk.customer_status(phone.id).text
        clock.now = MONDAY + timedelta(hours=3)
        desk.approve(phone.id, "scott")
        resolution = clocks(desk, phone.id)[1]
        assert resolution.state == "running" and resolution.running_since == clock.now and resolution.elapsed == 0
        # all 42.5 working hours still to go: 5.5 today, 34 Tuesday to Friday, 3 next Monday
        assert resolution.due_at == datetime(2026, 3, 9, 12, 0, tzinfo=UTC)


def test_without_rules_nothing_is_kept_and_nothing_promised(write_deployment: Callable[..., Path]) -> None:
    with Desk.open(write_deployment(), entry_points=False) as desk:
        d = desk.submit("failure", "steve", "The CRM is slow", service="crm").demand
        assert clocks(desk, d.id) == [] and "We aim" not in desk.customer_status(d.id).text
        assert "service_levels" not in {p.name for p in desk.host.info()}


def test_itsm_check_says_which_rule_applies_and_warns_of_equal_overlaps(write_deployment: Callable[..., Path]) -> None:
    config = write_deployment(
        LEVELS + '\n[[service_levels]]\nname = "failures again"\nkinds = ["failure"]\nresolution = "2d"\n',
        database="sqlite:///x.db",
    )
    result = CliRunner().invoke(cli, ["-c", str(config), "check"])
    assert result.exit_code == 0, result.output
    assert "crm (failure): P1 CRM priority 1  ·  P2-P4 incidents" in result.output
    assert "'failures again' also matches crm failure demands of priority 2" in result.output
    assert "calendars:  london (Europe/London, GB-ENG, mon tue wed thu fri 09:00-17:30; default)" in result.output


@pytest.mark.no_database
@pytest.mark.parametrize(
    ("rule", "where", "says"),
    [
        ('resolution = "-4h"', "service_levels[0].resolution", "cannot be shorter than zero"),
        ('resolution = "366d"', "service_levels[0].resolution", "cannot be longer than a year"),
        ('resolution = "9000h"', "service_levels[0].resolution", "cannot be longer than a year"),
        ('resolution = "4 hours"', "service_levels[0].resolution", "expected working time like 30m"),
        ('resolution = "4h"\nservices = ["cmr"]', "service_levels[0].services[0]", "did you mean 'crm'"),
        ('resolution = "4h"\ncalendar = "paris"', "service_levels[0].calendar", "no calendar 'paris'"),
        ('resolution = "4h"\nwarn_at = 1.5', "service_levels[0].warn_at", "between 0 and 1"),
        ('name = "empty"', "service_levels[0]", "a rule without targets"),
    ],
)
def test_a_bad_rule_is_a_config_error(write_deployment: Callable[..., Path], rule: str, where: str, says: str) -> None:
    config = write_deployment(f"\n[[service_levels]]\n{rule}\n", database="sqlite:///x.db")
    with pytest.raises(ConfigError) as e:
        Desk.open(config, entry_points=False, migrate=False)
    assert where in str(e.value) and says in str(e.value) and "itsm.toml" in str(e.value)
    result = CliRunner().invoke(cli, ["-c", str(config), "check"])
    assert result.exit_code == 2 and where in result.output


def test_a_breach_names_its_target_in_words(config: Path) -> None:
    clock = Clock()
    with Desk.open(config, entry_points=False, clock=clock) as desk:
        d = desk.submit("failure", "steve", "The CRM is slow", service="crm").demand
        clock.now = MONDAY + timedelta(hours=1, minutes=5)  # nobody answered within the hour
        assert sweep(desk).breaches == 1
        (event,) = [e for e in desk.journey(d.id) if e.kind == "service_level"]
        assert "the response target of 1 working hour (incidents) passed" in event.behind_scenes
