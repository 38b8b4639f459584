"""Priorities: impact by urgency from the ``[priorities]`` matrix at intake, a vendor's ``itsm_prioritise``
first, agents' changes with their reason on the journey, and a failing plugin that never costs the demand."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import CliRunner

from itsmcore import Desk, Prioritisation, hookimpl
from itsmcore.cli import cli
from itsmcore.errors import ConfigError, Conflict, InvalidInput


def acknowledged(desk: Desk, demand_id: int) -> str:
    """What the acknowledgement event says behind the scenes (the priority and where it came from)."""
    return next(e.behind_scenes for e in desk.journey(demand_id) if e.kind == "acknowledged")


PRIORITIES = """
[priorities]
matrix = [[1, 2, 3], [2, 3, 4], [3, 4, 4]]
default_impact = "low"
service_impact = { crm = "high" }
role_urgency = { sales_manager = "high" }
"""


@pytest.fixture
def config(write_deployment: Callable[..., Path]) -> Path:
    return write_deployment(PRIORITIES)


def test_the_matrix_decides_from_the_services_impact_and_the_customers_role(config: Path) -> None:
    with Desk.open(config, entry_points=False) as desk:
        steve = desk.submit("failure", "steve", "The CRM is down", service="crm").demand
        scott = desk.submit("failure", "scott", "The CRM is down", service="crm").demand
        other = desk.submit("failure", "steve", "My printer jams").demand
        given = desk.submit("failure", "steve", "The CRM is slow", service="crm", priority=4).demand
        assert (steve.priority, scott.priority, other.priority, given.priority) == (2, 1, 4, 4)
        ack = acknowledged(desk, scott.id)
        assert "priority 1 (by builtin: impact high (the impact of crm), urgency high (the urgency of role" in ack
        assert "given by customer" in acknowledged(desk, given.id)


def test_without_a_priorities_table_only_the_keyword_guess_sets_a_priority(
    write_deployment: Callable[..., Path],
) -> None:
    with Desk.open(write_deployment(), entry_points=False) as desk:
        assert desk.submit("failure", "scott", "The CRM is down", service="crm").demand.priority == 2
        assert desk.submit("failure", "scott", "The CRM is slow", service="crm").demand.priority == 3
        assert desk.submit("value", "scott", "A new mouse").demand.priority == 3


class Trading:
    @hookimpl
    def itsm_prioritise(self, desk, intake, service):  # type: ignore[no-untyped-def]
        if intake.kind == "failure" and intake.customer.id == "steve":
            return Prioritisation(priority=1, reason="the trading floor")
        return None


class Broken:
    @hookimpl
    def itsm_prioritise(self, desk, intake, service):  # type: ignore[no-untyped-def]
        raise RuntimeError("matrix service unreachable")


def test_a_vendors_prioritise_runs_before_the_builtin(config: Path) -> None:
    with Desk.open(config, entry_points=False, plugins=[Trading()]) as desk:
        d = desk.submit("failure", "steve", "The CRM is down", service="crm").demand
        assert d.priority == 1
        assert "the trading floor" in acknowledged(desk, d.id)
        # no opinion: the builtin matrix decides
        assert desk.submit("failure", "scott", "The CRM is down", service="crm").demand.priority == 1


def test_a_priority_plugin_that_raises_leaves_the_default_and_is_recorded(
    write_deployment: Callable[..., Path],
) -> None:
    # a plugin registered later runs first: Broken is asked before the builtin, which has no table here
    with Desk.open(write_deployment(), entry_points=False, plugins=[Broken()]) as desk:
        d = desk.submit("value", "steve", "A new mouse").demand
        assert d.priority == 3
        failures = desk.plugin_failures(d.id)
        assert [(f.hook, "matrix service unreachable" in f.error) for f in failures] == [("itsm_prioritise", True)]
        behind = [e.behind_scenes for e in desk.journey(d.id) if e.kind == "priority"]
        assert (
            len(behind) == 1
            and "failed in itsm_prioritise" in behind[0]
            and "priority 3 (the default) kept" in behind[0]
        )


def test_after_a_priority_plugin_raises_the_next_one_decides(config: Path) -> None:
    with Desk.open(config, entry_points=False, plugins=[Broken()]) as desk:
        d = desk.submit("failure", "steve", "The CRM is down", service="crm").demand
        assert d.priority == 2  # the builtin matrix, asked next
        assert [f.hook for f in desk.plugin_failures(d.id)] == ["itsm_prioritise"]
        assert any("priority 2 decided without it" in e.behind_scenes for e in desk.journey(d.id))


def test_agents_change_the_priority_with_a_reason_on_the_journey(config: Path) -> None:
    with Desk.open(config, entry_points=False) as desk:
        d = desk.submit("failure", "steve", "The CRM is down", service="crm").demand
        with pytest.raises(InvalidInput, match="say why"):
            desk.set_priority(d.id, 1, " ")
        changed = desk.set_priority(d.id, 1, "the whole sales floor is affected", actor="patrick")
        assert changed.priority == 1 and desk.get(d.id).priority == 1
        last = desk.journey(d.id)[-1]
        assert (last.kind, last.actor, last.customer_sees) == ("priority", "patrick", "")
        assert last.behind_scenes == "priority 2 -> 1 by patrick: the whole sales floor is affected"
        with pytest.raises(Conflict, match="priority 1 already"):
            desk.set_priority(d.id, 1, "again")
        with pytest.raises(InvalidInput, match="unknown priority"):
            desk.set_priority(d.id, 7, "too high")


def test_the_command_line_changes_a_priority(config: Path) -> None:
    with Desk.open(config, entry_points=False) as desk:
        d = desk.submit("failure", "steve", "The CRM is down", service="crm").demand
    runner = CliRunner()
    result = runner.invoke(cli, ["-c", str(config), "demand", "priority", str(d.id), "1", "--reason", "VIP"])
    assert result.exit_code == 0, result.output
    assert "priority 1" in result.output
    result = runner.invoke(cli, ["-c", str(config), "demand", "priority", str(d.id), "2"])
    assert result.exit_code == 2 and "--reason" in result.output


@pytest.mark.no_database
@pytest.mark.parametrize(
    ("table", "where", "says"),
    [
        ("[priorities]\nmatrix = [[1, 2], [2, 3]]\n", "priorities.matrix", "expected 3 rows"),
        ("[priorities]\nmatrix = [[1, 2, 3], [2, 3, 4], [3, 4, 9]]\n", "priorities.matrix", "from 1 (critical) to 4"),
        ('[priorities]\nservice_impact = { crn = "high" }\n', "priorities.service_impact.crn", "did you mean 'crm'"),
        ('[priorities]\nrole_urgency = { vip = "urgent" }\n', "priorities.role_urgency", "expected one of high"),
    ],
)
def test_a_bad_priorities_table_is_a_config_error(
    write_deployment: Callable[..., Path], table: str, where: str, says: str
) -> None:
    config = write_deployment(table, database="sqlite:///x.db")
    with pytest.raises(ConfigError) as e:
        Desk.open(config, entry_points=False, migrate=False)
    text = str(e.value)
    assert where in text and says in text and "itsm.toml" in text
    result = CliRunner().invoke(cli, ["-c", str(config), "check"])
    assert result.exit_code == 2 and where in result.output
