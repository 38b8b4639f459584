"""Teams: who they are, their queue (what falls due first on top), the workload per agent; assigning a demand."""

from __future__ import annotations

from typing import Annotated, Any

import attrs
import msgspec

from .demands import Limit
from .routing import Call, Text, operation
from .shapes import DemandOut, demand_out, when


@attrs.frozen(kw_only=True)
class TeamOut:
    """A ``[teams.KEY]`` team: its lead and members are directory ids."""

    key: str
    name: str
    description: str
    lead: str | None
    group: str | None
    members: list[str]


@attrs.frozen(kw_only=True)
class TeamList:
    teams: list[TeamOut]


@attrs.frozen(kw_only=True)
class QueueQuery:
    agent: Annotated[str | None, msgspec.Meta(description="only this agent's work (their directory id)")] = None
    limit: Limit = 50


@attrs.frozen(kw_only=True)
class QueueEntry:
    """A demand in the queue and its service-level clock that falls due first (null: none running)."""

    demand: DemandOut
    due_at: str | None
    metric: str | None
    breached: bool


@attrs.frozen(kw_only=True)
class Queue:
    """Breached demands first, then by the clock that falls due first, then by priority and age."""

    team: str
    entries: list[QueueEntry]


@attrs.frozen(kw_only=True)
class Load:
    """One agent's open and breached demands; ``agent`` null for the team's unassigned ones."""

    agent: str | None
    name: str
    open: int
    breached: int


@attrs.frozen(kw_only=True)
class Workload:
    team: str
    agents: list[Load]


@attrs.frozen(kw_only=True)
class Assign:
    """Give a demand to a team and/or one of its agents (``agent`` "" takes it off its agent); the reason is kept."""

    reason: Text
    team: str | None = None
    agent: Annotated[str | None, msgspec.Meta(description="a member of the team (their directory id)")] = None


def team_out(t: Any) -> TeamOut:
    return TeamOut(
        key=t.key,
        name=t.name,
        description=t.description,
        lead=t.lead,
        group=t.group,
        members=list(t.members),
    )


@operation("GET", "/teams", scope="read", answer=TeamList, summary="The teams, in config order, with their members")
def teams(call: Call) -> TeamList:
    return TeamList(teams=[team_out(t) for t in call.desk.teams()])


@operation(
    "GET",
    "/teams/{team}/queue",
    scope="agent",
    query=QueueQuery,
    answer=Queue,
    summary="A team's open demands (or one agent's), what breaches first on top",
)
def queue(call: Call) -> Queue:
    q: QueueQuery = call.query
    key = call.path["team"]
    call.desk.team(key)  # UnknownTeam: 404 with a close match
    items = call.desk.queue(key, agent=q.agent, limit=q.limit)
    return Queue(
        team=key,
        entries=[
            QueueEntry(
                demand=demand_out(i.demand, call.desk.customer_status(i.demand)),
                due_at=when(i.due_at),
                metric=i.metric,
                breached=i.breached,
            )
            for i in items
        ],
    )


@operation(
    "GET", "/teams/{team}/workload", scope="agent", answer=Workload, summary="Open and breached demands per agent"
)
def workload(call: Call) -> Workload:
    key = call.path["team"]
    loads = call.desk.workload(key)
    return Workload(
        team=key, agents=[Load(agent=x.agent, name=x.name, open=x.open, breached=x.breached) for x in loads]
    )


@operation(
    "POST",
    "/demands/{did}/assign",
    scope="agent",
    body=Assign,
    answer=DemandOut,
    conflict=True,
    summary="Give a demand to a team or agent (409 names the team's members when the agent is not one)",
)
def assign(call: Call) -> DemandOut:
    """Recorded on the journey, behind the scenes, with the reason and the token's name as the actor."""
    b: Assign = call.body
    demand = call.desk.assign(call.id("did"), team=b.team, agent=b.agent, reason=b.reason, actor=call.actor)
    return demand_out(demand, call.desk.customer_status(demand))
