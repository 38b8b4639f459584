"""A team's workload as the store keeps it: the counts follow every change to a demand, by the desk or
by a bulk write past it, with concurrent writers, after an upgrade of a filled database; and the queue's
demands without a running clock, in order, when fewer than a page have one."""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import delete, func, insert, select, update

from itsmcore import Desk
from itsmcore.desk import teams as teams_module
from itsmcore.desk.teams import WORK_STATES
from itsmcore.store import tables as t
from tests.test_assignment import MONDAY, Clock, deployment  # noqa: F401 (the fixture)
from tests.test_report_rollup import _migrate


def counted(desk: Desk, team: str) -> dict[str | None, int]:
    """The workload's open counts, as the desk shows them (agents with none left out)."""
    return {w.agent: w.open for w in desk.workload(team) if w.open}


def direct(desk: Desk, team: str) -> dict[str | None, int]:
    """The same counted from the demands themselves, the slow way."""
    d = t.demands.c
    with desk.engine.connect() as conn:
        found = conn.execute(
            select(d.assignee, func.count()).where(d.team == team, d.state.in_(t.WORK_STATES)).group_by(d.assignee)
        ).all()
    return {a: int(n) for a, n in found}


def test_the_work_states_are_spelled_alike_in_the_store() -> None:
    assert tuple(str(s) for s in WORK_STATES) == t.WORK_STATES


def test_the_counts_follow_every_change_by_the_desk_or_past_it(deployment: Callable[..., Path]) -> None:  # noqa: F811
    with Desk.open(deployment(), entry_points=False, clock=Clock()) as desk:
        ids = [desk.submit("failure", "steve", f"CRM down {i}", service="crm").demand.id for i in range(6)]
        assert counted(desk, "apps") == {"ada": 3, "bob": 3} == direct(desk, "apps")
        desk.assign(ids[0], agent="bob", reason="knows the CRM")  # ada 2, bob 4
        desk.assign(ids[1], team="service-desk", reason="a desk question")  # to the other team, no agent
        desk.resolve(ids[2], "Fixed.")  # no longer work
        desk.transition(ids[3], "in_progress", actor="bob")  # still work: the same count
        assert counted(desk, "apps") == direct(desk, "apps") == {"ada": 1, "bob": 3}
        assert counted(desk, "service-desk") == direct(desk, "service-desk") == {None: 1}
        assert desk.team_overview("apps").workload == tuple(desk.workload("apps"))

        # writes past the desk (an import, a clean-up script): the store's triggers keep the counts too
        d = t.demands.c
        with desk.engine.begin() as conn:
            row = conn.execute(select(t.demands).where(d.id == ids[4])).mappings().one()
            copies = [{**row, "id": None, "external_ref": None, "assignee": a} for a in ("ada", "carol", None)]
            conn.execute(insert(t.demands), [{k: v for k, v in c.items() if k != "id"} for c in copies])
            conn.execute(update(t.demands).where(d.id == ids[5]).values(state="cancelled"))
            conn.execute(update(t.demands).where(d.id == ids[4]).values(team=None))
            copy = conn.execute(select(func.max(d.id)).where(d.assignee == "ada")).scalar_one()
            conn.execute(delete(t.demands).where(d.id == copy))
        assert counted(desk, "apps") == direct(desk, "apps") == {"bob": 2, "carol": 1, None: 1}
        # carol holds work in the team without being a member: listed after the members
        assert [w.agent for w in desk.workload("apps")] == ["ada", "bob", "carol", None]


def test_concurrent_writers_and_readers_keep_the_counts(
    deployment: Callable[..., Path],  # noqa: F811
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Intakes, reassignments and resolutions from several threads while others read (and, on PostgreSQL,
    fold the changes in at every read): the counts equal the demands' own at the end."""
    monkeypatch.setattr(teams_module, "FOLD_AT", 1)
    errors: list[BaseException] = []
    with Desk.open(deployment(), entry_points=False) as desk:

        def write(n: int) -> None:
            try:
                for i in range(8):
                    demand = desk.submit("failure", "steve", f"CRM {n}-{i}", service="crm").demand
                    if i % 3 == 1:
                        desk.assign(demand.id, agent="bob" if demand.assignee == "ada" else "ada", reason="swap")
                    elif i % 3 == 2:
                        desk.resolve(demand.id, "Fixed.")
            except BaseException as e:
                errors.append(e)

        def read() -> None:
            try:
                for _ in range(20):
                    desk.workload("apps")
            except BaseException as e:
                errors.append(e)

        threads = [threading.Thread(target=write, args=(n,)) for n in range(4)]
        threads += [threading.Thread(target=read) for _ in range(2)]
        for th in threads:
            th.start()
        for th in threads:
            th.join(timeout=300)
        assert not errors, errors
        assert not any(th.is_alive() for th in threads)
        assert counted(desk, "apps") == direct(desk, "apps")
        assert sum(counted(desk, "apps").values()) == 4 * 8 - 4 * 2  # two of each eight resolved


def test_upgrading_a_filled_database_counts_its_open_work(
    deployment: Callable[..., Path],  # noqa: F811
) -> None:
    """Migration 0024 fills the counts from the demands already open."""
    with Desk.open(deployment(), entry_points=False) as desk:
        ids = [desk.submit("failure", "steve", f"CRM down {i}", service="crm").demand.id for i in range(5)]
        desk.resolve(ids[0], "Fixed.")
        before = direct(desk, "apps")
        _migrate(desk, "0023")
        with desk.engine.begin() as conn:  # changed while the counts did not exist
            conn.execute(update(t.demands).where(t.demands.c.id == ids[1]).values(assignee="carol"))
        _migrate(desk, "head")
        assert direct(desk, "apps") != before
        assert counted(desk, "apps") == direct(desk, "apps")
        desk.resolve(ids[2], "Fixed.")  # and kept from there on
        assert counted(desk, "apps") == direct(desk, "apps")
        # the clocks know their demand's team again: the queue still puts them by due date
        queue = desk.queue("apps")
        assert [q.demand.id for q in queue] == ids[1:2] + ids[3:] and all(q.due_at for q in queue)


def test_a_clock_follows_its_demand_to_another_team(deployment: Callable[..., Path]) -> None:  # noqa: F811
    """The queue finds a team's (or an agent's) running clocks by the team and agent each carries: moved
    with the demand."""
    with Desk.open(deployment(), entry_points=False, clock=Clock()) as desk:
        moved, stays = (desk.submit("failure", "steve", f"CRM {i}", service="crm").demand.id for i in range(2))
        desk.assign(moved, team="service-desk", reason="a desk question")
        desk_queue = desk.queue("service-desk")
        assert [q.demand.id for q in desk_queue] == [moved] and desk_queue[0].metric == "response"
        assert [q.demand.id for q in desk.queue("apps")] == [stays]
        with desk.engine.begin() as conn:  # moved back past the desk: the trigger follows it too
            conn.execute(update(t.demands).where(t.demands.c.id == moved).values(team="apps"))
        assert [(q.demand.id, q.metric) for q in desk.queue("apps")] == [(moved, "response"), (stays, "response")]
        assert desk.queue("service-desk") == []
        # and its agent: an agent's queue reads the running clocks of their own demands
        holder = desk.get(stays).assignee
        other = "bob" if holder == "ada" else "ada"
        desk.assign(stays, agent=other, reason="back from holiday")
        theirs = desk.queue("apps", agent=other)
        assert stays in [q.demand.id for q in theirs] and all(q.due_at is not None for q in theirs)
        assert stays in [q.demand.id for q in desk.queue(agent=other)]
        assert stays not in [q.demand.id for q in desk.queue(agent=holder)]


def test_the_queue_shows_open_work_without_a_clock_by_priority_and_age(
    deployment: Callable[..., Path],  # noqa: F811
) -> None:
    """Requests have no service level here: after the incidents with a running clock come the rest,
    by priority and age, a page at a time however few have a clock."""
    clock = Clock()
    with Desk.open(deployment(), entry_points=False, clock=clock) as desk:
        timed = desk.submit("failure", "steve", "CRM down", service="crm").demand.id
        rest = []
        for i in range(5):
            clock.now = MONDAY + timedelta(minutes=i + 1)
            rest.append(desk.submit("failure", "steve", f"CRM question {i}", service="crm").demand.id)
        desk.set_priority(rest[3], 1, reason="the whole floor")
        # stop the clocks of the later five (waiting for the customer): they have none running
        with desk.engine.begin() as conn:
            c = t.service_level_clocks.c
            conn.execute(update(t.service_level_clocks).where(c.demand_id.in_(rest)).values(state="paused"))
        queue = desk.queue("apps", limit=4)
        assert [q.demand.id for q in queue] == [timed, rest[3], rest[0], rest[1]]
        assert queue[0].due_at is not None and all(q.due_at is None for q in queue[1:])
        everything = desk.queue("apps", limit=50)
        assert [q.demand.id for q in everything] == [timed, rest[3], rest[0], rest[1], rest[2], rest[4]]
        assert len({q.demand.id for q in everything}) == 6


def test_itsm_db_recount_mends_counts_kept_while_the_triggers_were_off(
    deployment: Callable[..., Path],  # noqa: F811
) -> None:
    """Counts and clocks set wrong past the triggers (as a restore without them would leave them) are counted
    again from the demands by `itsm db recount`, which says how many were off."""
    from click.testing import CliRunner

    from itsmcore.cli import cli

    config = deployment()
    with Desk.open(config, entry_points=False) as desk:
        ids = [desk.submit("failure", "steve", f"CRM down {i}", service="crm").demand.id for i in range(3)]
        right = counted(desk, "apps")
        with desk.engine.begin() as conn:
            conn.execute(delete(t.workload_changes))
            conn.execute(delete(t.team_workload))
            conn.execute(insert(t.team_workload).values(team="apps", assignee="ada", open=40))
            conn.execute(
                update(t.service_level_clocks)
                .where(t.service_level_clocks.c.demand_id == ids[0])
                .values(team="service-desk", assignee=None)
            )
        assert counted(desk, "apps") != right
        assert ids[0] not in [q.demand.id for q in desk.queue("apps") if q.due_at]  # its clocks went astray
    r = CliRunner().invoke(cli, ["-c", str(config), "db", "recount"])
    assert r.exit_code == 0, r.output
    assert "3 open demands in 1 team(s); 2 count(s) were off; 2 clock(s) had another team or agent" in r.output
    with Desk.open(config, entry_points=False) as desk:
        assert counted(desk, "apps") == right == direct(desk, "apps")
        assert [q.demand.id for q in desk.queue("apps") if q.due_at] == ids
        again = desk.recount_workload()
        assert (again.counts_off, again.clocks_moved, again.open) == (0, 0, 3)
