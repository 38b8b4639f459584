"""The desk's teams side, part of the :class:`~itsmcore.desk.Desk` facade: teams, assignment, queues.

One-line delegations to :class:`~itsmcore.desk.teams.Teams`, each what a CLI command, a
portal page or an API endpoint calls as it is.
"""

from __future__ import annotations

from ..model import Actor, Demand
from .teams import AgentLoad, QueueItem, Recount, TeamOverview, Teams, TeamView


class TeamDesk:
    """Teams and their work; :class:`~itsmcore.desk.Desk` builds the part these delegate to."""

    _teams: Teams

    def teams(self) -> list[TeamView]:
        """Every ``[teams.KEY]`` team, in config order, with its members."""
        return self._teams.listing()

    def team(self, key: str) -> TeamView:
        """One team; :class:`~itsmcore.errors.UnknownTeam` (with a close match) if there is none."""
        return self._teams.view(key)

    def team_members(self, key: str) -> tuple[str, ...]:
        """The directory ids of a team's agents: its directory group's members and those it lists."""
        return self._teams.members(key)

    def assign(
        self,
        demand_id: int,
        *,
        team: str | None = None,
        agent: str | None = None,
        reason: str,
        actor: str = Actor.AGENT,
    ) -> Demand:
        """Give a demand to another team and/or agent; ``reason`` is required and kept on its journey.

        An agent who is not in the team is refused (:class:`~itsmcore.errors.NotInTeam`,
        a 409 Conflict naming the team's members); ``agent=""`` takes the demand off its
        agent, back to the team's queue.
        """
        return self._teams.assign(demand_id, team=team, agent=agent, reason=reason, actor=actor)

    def queue(self, team: str | None = None, *, agent: str | None = None, limit: int = 50) -> list[QueueItem]:
        """A team's open demands (or an agent's: "my work"), the one whose service level falls due first on top."""
        return self._teams.queue(team, agent=agent, limit=limit)

    def workload(self, team: str) -> list[AgentLoad]:
        """Open and breached demands per member of a team, and the team's unassigned ones."""
        return self._teams.workload(team)

    def recount_workload(self) -> Recount:
        """Count every team's open work again from the demands (the counts the store keeps by triggers)."""
        return self._teams.recount()

    def team_overview(self, team: str, *, agent: str | None = None, limit: int = 50) -> TeamOverview:
        """A team's queue, ``agent``'s own work in it (none if not a member) and its workload, read together."""
        return self._teams.overview(team, agent=agent, limit=limit)
