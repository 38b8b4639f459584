"""Teams and assignment: teams from directory groups, a policy at intake (by service, round robin, least
open work), a vendor's policy first, a failing one never costing the demand, reassignment with a reason,
the queue by what breaches first, the workload; the CLI's queue and assign; and the config's errors."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner

from itsmcore import Assignment, Desk, hookimpl
from itsmcore.builtin.service_levels import sweep
from itsmcore.cli import cli
from itsmcore.errors import ConfigError, Conflict, InvalidInput, NotFound, UnknownTeam

MONDAY = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)

AGENTS = """
[[customers]]
id = "ada"
name = "Ada Byron"
email = "ada@eagle5.example"
role = "engineer"
groups = ["it", "it-apps"]
manager = "carol"

[[customers]]
id = "bob"
name = "Bob Stone"
email = "bob@eagle5.example"
role = "engineer"
groups = ["it", "it-apps"]
manager = "carol"

[[customers]]
id = "carol"
name = "Carol Reed"
email = "carol@eagle5.example"
role = "it_manager"
groups = ["it"]
"""

TEAMS = """
[teams.apps]
name = "Applications"
group = "it-apps"
lead = "carol"
assign = "round_robin"

[teams.service-desk]
name = "Service desk"
group = "service-desk"
members = ["carol"]

[assignment]
policy = "by_service"
default_team = "service-desk"

[[service_levels]]
name = "incidents"
kinds = ["failure"]
response = "1h"
resolution = "1d"
"""

CRM_TEAM = 'kind = "failure"\nteam = "apps"\n'


class Clock:
    def __init__(self, now: datetime = MONDAY) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def deployment(write_deployment: Callable[..., Path]) -> Callable[..., Path]:
    """A deployment with the apps and service-desk teams; ``extra`` adds config, the CRM is the apps team's."""

    def make(extra: str = "", teams: str = TEAMS) -> Path:
        from tests.conftest import SERVICES

        path = write_deployment(teams + extra, services=SERVICES.replace('kind = "failure"\n', CRM_TEAM))
        customers = path.parent / "customers.toml"
        customers.write_text(customers.read_text() + AGENTS)
        return path

    return make


def behind(desk: Desk, demand_id: int, kind: str = "assignment") -> list[str]:
    return [e.behind_scenes for e in desk.journey(demand_id) if e.kind == kind]


def test_teams_come_from_directory_groups_and_round_robin_takes_turns(deployment: Callable[..., Path]) -> None:
    with Desk.open(deployment(), entry_points=False) as desk:
        assert desk.team_members("apps") == ("ada", "bob")
        assert desk.team_members("service-desk") == ("carol", "patrick")
        assert desk.team("apps").lead == "carol"
        got = [desk.submit("failure", "steve", f"CRM down {i}", service="crm").demand for i in range(4)]
        assert [(d.team, d.assignee) for d in got] == [("apps", "ada"), ("apps", "bob")] * 2
        assert behind(desk, got[0].id) == ["assigned to team apps, agent ada by builtin: the team of crm; round robin"]
        # a demand whose service names no team: the default team's queue (by_service: no agent)
        other = desk.submit("failure", "steve", "My screen flickers").demand
        assert (other.team, other.assignee) == ("service-desk", None)
        assert desk.get(other.id).team == "service-desk"


def test_least_open_work_picks_the_agent_with_the_fewest_open_demands(deployment: Callable[..., Path]) -> None:
    with Desk.open(deployment(teams=TEAMS.replace("round_robin", "least_open_work")), entry_points=False) as desk:
        first = desk.submit("failure", "steve", "CRM down", service="crm").demand
        second = desk.submit("failure", "steve", "CRM slow", service="crm").demand
        assert {first.assignee, second.assignee} == {"ada", "bob"}
        desk.resolve(first.id, "Fixed.")  # its agent has no open work now
        third = desk.submit("failure", "steve", "CRM login", service="crm").demand
        assert third.assignee == first.assignee
        loads = {w.agent: w.open for w in desk.workload("apps")}
        assert loads == {"ada": 1, "bob": 1, None: 0}


def test_a_vendors_policy_runs_first_and_a_failing_one_never_costs_the_demand(
    deployment: Callable[..., Path],
) -> None:
    class Vip:
        @hookimpl
        def itsm_assign(self, desk, intake, service, priority):  # type: ignore[no-untyped-def]
            if intake.summary.startswith("boom"):
                raise RuntimeError("the skills service is down")
            if intake.summary.startswith("outsider"):
                return Assignment(team="apps", agent="steve")
            return Assignment(team="apps", agent="bob", reason="the CRM expert")

    with Desk.open(deployment(), entry_points=False, plugins=[Vip()]) as desk:
        d = desk.submit("failure", "steve", "CRM down", service="crm").demand
        assert (d.team, d.assignee) == ("apps", "bob")
        assert "the CRM expert" in behind(desk, d.id)[0]

        lost = desk.submit("failure", "steve", "boom: CRM down", service="crm").demand
        assert (lost.team, lost.assignee) == ("apps", None)  # the service's team: in its queue
        (line,) = behind(desk, lost.id)
        assert "failed in itsm_assign (RuntimeError: the skills service is down)" in line
        assert "team apps (the service's team)" in line
        assert [f.hook for f in desk.plugin_failures(lost.id)] == ["itsm_assign"]
        assert lost.id in [q.demand.id for q in desk.queue("apps")]

        # an agent from outside the team is a failure of the policy too: the demand still goes to the team
        odd = desk.submit("failure", "steve", "outsider: CRM", service="crm").demand
        assert (odd.team, odd.assignee) == ("apps", None)
        assert "'steve' is not in team apps" in behind(desk, odd.id)[0]


def test_reassign_with_a_reason_and_refuse_an_agent_outside_the_team(deployment: Callable[..., Path]) -> None:
    with Desk.open(deployment(), entry_points=False) as desk:
        d = desk.submit("failure", "steve", "CRM down", service="crm").demand
        with pytest.raises(Conflict) as refused:
            desk.assign(d.id, agent="patrick", reason="he knows it")
        assert "'patrick' is not in team apps (Applications); its members: ada, bob" in str(refused.value)
        assert refused.value.http_status == 409
        with pytest.raises(InvalidInput):
            desk.assign(d.id, agent="bob", reason=" ")
        with pytest.raises(NotFound) as unknown:
            desk.assign(d.id, team="aps", reason="wrong team")
        assert "did you mean 'apps'?" in str(unknown.value)
        assert desk.get(d.id).assignee == "ada"  # nothing changed

        moved = desk.assign(d.id, team="service-desk", agent="patrick", reason="it is a password reset", actor="carol")
        assert (moved.team, moved.assignee) == ("service-desk", "patrick")
        assert behind(desk, d.id)[-1] == (
            "reassigned by carol from team apps, agent ada to team service-desk, agent patrick: it is a password reset"
        )
        assert all(not e.customer_sees for e in desk.journey(d.id) if e.kind == "assignment")
        back = desk.assign(d.id, team="apps", reason="needs the CRM admin")
        assert (back.team, back.assignee) == ("apps", None)  # a new team without an agent: its queue


def test_the_queue_puts_what_breaches_first_on_top(deployment: Callable[..., Path]) -> None:
    clock = Clock()
    with Desk.open(deployment(), entry_points=False, clock=clock) as desk:
        ids = []
        for i in range(3):
            clock.now = MONDAY + timedelta(minutes=10 * i)
            ids.append(desk.submit("failure", "steve", f"CRM {i}", service="crm").demand.id)
        clock.now = MONDAY + timedelta(minutes=30)
        desk.transition(ids[0], "in_progress", actor="ada")  # responded: its resolution clock falls due later
        clock.now = MONDAY + timedelta(hours=1, minutes=15)  # demand 1's response target (10:10) passed
        sweep(desk)
        queue = desk.queue("apps")
        assert [q.demand.id for q in queue] == [ids[1], ids[2], ids[0]]
        assert queue[0].breached and queue[0].metric == "response"
        mine = desk.queue(agent="bob")
        assert [q.demand.id for q in mine] == [ids[1]]
        assert {w.agent: (w.open, w.breached) for w in desk.workload("apps")} == {
            "ada": (2, 0),
            "bob": (1, 1),
            None: (0, 0),
        }
        # what a team's page shows, read together: the same queue, bob's own work, the same workload
        page = desk.team_overview("apps", agent="bob", limit=2)
        assert page.team.key == "apps" and [q.demand.id for q in page.queue] == [ids[1], ids[2]]
        assert [q.demand.id for q in page.mine] == [ids[1]]
        assert list(page.workload) == desk.workload("apps")
        assert desk.team_overview("apps", agent="steve").mine == ()  # not in the team: no work of his here
        with pytest.raises(UnknownTeam, match=r"unknown team 'aps'.*apps"):
            desk.team_overview("aps")


def test_cli_queue_workload_and_assign(deployment: Callable[..., Path]) -> None:
    config = deployment()
    runner = CliRunner()
    with Desk.open(config, entry_points=False) as desk:
        d = desk.submit("failure", "steve", "CRM down", service="crm").demand
    r = runner.invoke(cli, ["-c", str(config), "queue", "apps", "--format", "json"])
    assert r.exit_code == 0, r.output
    (row,) = json.loads(r.output)
    assert (row["id"], row["agent"], row["summary"]) == (d.id, "ada", "CRM down")
    r = runner.invoke(cli, ["-c", str(config), "queue", "apps", "--workload"])
    assert r.exit_code == 0 and "Ada Byron" in r.output, r.output

    r = runner.invoke(cli, ["-c", str(config), "demand", "assign", str(d.id), "--agent", "patrick", "--reason", "x"])
    assert r.exit_code == 2
    assert "its members: ada, bob" in r.output
    r = runner.invoke(cli, ["-c", str(config), "queue", "ap"])
    assert r.exit_code == 2 and "did you mean 'apps'?" in r.output
    r = runner.invoke(
        cli, ["-c", str(config), "demand", "assign", str(d.id), "--agent", "bob", "--reason", "ada is away"]
    )
    assert r.exit_code == 0, r.output
    assert "team apps, agent bob" in r.output
    r = runner.invoke(cli, ["-c", str(config), "queue", "--agent", "bob", "--format", "json"])
    assert [x["id"] for x in json.loads(r.output)] == [d.id]


@pytest.mark.parametrize(
    ("extra", "where", "says"),
    [
        ('[teams.x]\nassign = "round_robbin"\n', "teams.x.assign", "did you mean 'round_robin'?"),
        ('[assignment]\ndefault_team = "servce-desk"\n', "assignment.default_team", "did you mean 'service-desk'?"),
        ('[assignment]\npolicy = "random"\n', "assignment.policy", "known: by_service"),
    ],
)
def test_unknown_teams_and_policies_are_config_errors(
    write_deployment: Callable[..., Path], extra: str, where: str, says: str
) -> None:
    path = write_deployment('[teams.service-desk]\ngroup = "service-desk"\n' + extra)
    with pytest.raises(ConfigError) as e:
        Desk.open(path, entry_points=False)
    text = str(e.value)
    assert where in text and says in text and "itsm.toml" in text
    r = CliRunner().invoke(cli, ["-c", str(path), "check"])
    assert r.exit_code == 2


def test_a_service_naming_an_unknown_team_is_a_config_error(write_deployment: Callable[..., Path]) -> None:
    from tests.conftest import SERVICES

    path = write_deployment(
        '[teams.apps]\ngroup = "it-apps"\n',
        services=SERVICES.replace('kind = "failure"\n', 'kind = "failure"\nteam = "app"\n'),
    )
    with pytest.raises(ConfigError) as e:
        Desk.open(path, entry_points=False)
    assert "services[1].team" in str(e.value) and "did you mean 'apps'?" in str(e.value)


def test_existing_teams_for_tasks_stay_valid_and_assign_nothing(write_deployment: Callable[..., Path]) -> None:
    path = write_deployment('[teams.logistics]\nname = "Logistics"\nnotify = ["patrick"]\n')
    with Desk.open(path, entry_points=False) as desk:
        d = desk.submit("failure", "steve", "CRM down", service="crm").demand
        assert (d.team, d.assignee) == (None, None)
        assert behind(desk, d.id) == []


def test_a_policy_answering_something_else_than_an_assignment_costs_nothing(deployment: Callable[..., Path]) -> None:
    class Odd:
        @hookimpl
        def itsm_assign(self):  # type: ignore[no-untyped-def]
            return {"team": "apps"}

    with Desk.open(deployment(), entry_points=False, plugins=[Odd()]) as desk:
        d = desk.submit("failure", "steve", "CRM down", service="crm").demand
        assert (d.team, d.assignee) == ("apps", None)
        assert "expected an Assignment or None" in behind(desk, d.id)[0]
