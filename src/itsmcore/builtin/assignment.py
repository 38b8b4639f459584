"""The builtin ``itsm_assign``: the service's team, and an agent by the team's policy.

- ``by_service``: the team only; the demand waits in its queue for an agent to take it;
- ``round_robin``: the team's members in turn (the turn is kept in the store, so every
  process taking in demands shares it);
- ``least_open_work``: the member with the fewest open demands in the team (ties: the
  first by id).

A vendor's implementation of the hook runs first; a deployment without teams, or a demand
whose service names no team and no default team is set, gets no opinion from this one.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from sqlalchemy import update

from ..model import Assignment
from ..store import tables as t
from ..store.sql import insert_ignore

if TYPE_CHECKING:
    from ..components import Intake
    from ..desk import Desk
    from ..model import Service


def assign(desk: Desk, intake: Intake, service: Service | None, priority: int) -> Assignment | None:
    config = desk.config
    if not config.teams:
        return None
    if service is not None and service.team:
        team, why = service.team, f"the team of {service.key}"
    elif config.assignment.default_team:
        team, why = config.assignment.default_team, "the default team"
    else:
        return None
    policy = config.teams[team].assign or config.assignment.policy
    if policy == "by_service":
        return Assignment(team=team, reason=f"{why}; its queue")
    members = desk.team_members(team)
    if not members:
        return Assignment(team=team, reason=f"{why}; {policy} found no members, so its queue")
    if policy == "round_robin":
        agent = members[next_turn(desk, team) % len(members)]
        return Assignment(team=team, agent=agent, reason=f"{why}; round robin")
    loads = {w.agent: w.open for w in desk.workload(team) if w.agent in members}
    agent = min(members, key=lambda m: (loads.get(m, 0), m))
    return Assignment(team=team, agent=agent, reason=f"{why}; least open work ({loads.get(agent, 0)} open)")


def next_turn(desk: Desk, team: str) -> int:
    """The team's next turn (0, 1, 2, ...), taken in one statement so two processes never share one."""
    with desk.engine.begin() as conn:
        conn.execute(insert_ignore(conn, t.team_turns, ["team"]), {"team": team, "turn": 0})
        turn = conn.execute(
            update(t.team_turns)
            .where(t.team_turns.c.team == team)
            .values(turn=t.team_turns.c.turn + 1)
            .returning(t.team_turns.c.turn)
        ).scalar_one()
    return int(turn) - 1
