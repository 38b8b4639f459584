"""Teams and assignment: who owns each demand, the team's queue by what breaches first, and the workload.

A team (``[teams.KEY]``) has members: the directory's members of its ``group`` and those
it lists. At intake ``itsm_assign`` gives each demand a team and perhaps an agent
(:meth:`Teams.decide`); an agent reassigns it with a reason (:meth:`Teams.assign`), on the
journey behind the scenes. The queue orders a team's open work by the service-level
clock that falls due first (breached ones at the top), then by priority and age.
"""

from __future__ import annotations

import functools
import time
from collections.abc import Sequence
from datetime import datetime
from typing import Any

import attrs
from sqlalchemy import (
    ColumnElement,
    CompoundSelect,
    Connection,
    Select,
    bindparam,
    func,
    literal,
    literal_column,
    select,
    text,
    union_all,
)

from ..components import Intake as IntakeRecord
from ..config import did_you_mean
from ..errors import Conflict, InvalidInput, NotInTeam, UnknownTeam
from ..logs import log_context
from ..model import Actor, Assignment, Demand, DemandState, Service
from ..store import rows
from ..store import tables as t
from .context import Context
from .customers import Customers
from .journey import Journey

#: States in which a demand is work for its team: not yet done (or waiting for the customer to confirm).
WORK_STATES = (
    DemandState.NEW,
    DemandState.AWAITING_APPROVAL,
    DemandState.IN_FULFILMENT,
    DemandState.STUCK,
    DemandState.IN_PROGRESS,
)

#: How long a team's members, read from the directory, are kept before they are read again.
MEMBERS_TTL = 60.0

_D = t.demands.c
_C = t.service_level_clocks.c
#: A demand is open work: the states written out in the statement, as the partial index spells them,
#: so that the planners see it applies (a bound list hides that from SQLite, and from PostgreSQL's
#: generic plans).
_IN_WORK = _D.state.in_([literal_column(f"'{s}'") for s in t.WORK_STATES])
_RUNNING = _C.state == literal_column("'running'")
#: A demand's agent as the workload counts key it: '' for none (written out, so that the select list
#: and the GROUP BY are one expression to PostgreSQL).
_AGENT_OR_NONE = func.coalesce(_D.assignee, literal_column("''"))


def _shown(limit: int) -> int:
    """How many of a queue one read gives: 1 to 500."""
    return max(1, min(int(limit), 500))


@functools.cache
def _queue_statements(by_team: bool, by_agent: bool) -> tuple[Select[Any], Select[Any]]:
    """The queue's two reads for one shape of question, built once: the demands with a running
    clock by the time it falls due, then the rest by priority and age (``b_team``, ``b_agent``,
    ``b_limit``, ``b_seen`` bound at each call)."""
    mine: list[ColumnElement[bool]] = [_IN_WORK]
    if by_team:
        mine.append(_D.team == bindparam("b_team"))
    if by_agent:
        mine.append(_D.assignee == bindparam("b_agent"))
    # an agent's running clocks (each carries its demand's agent and team) by due date, in the
    # team when one is asked (one index on both): not a walk of the team's clocks for theirs,
    # which a plan made without knowing the agent (PostgreSQL's generic one) could pick; else
    # the team's running clocks by due date, until a page of its open work
    owner: list[ColumnElement[bool]] = []
    if by_agent:
        owner.append(_C.assignee == bindparam("b_agent"))
    if by_team:
        owner.append(_C.team == bindparam("b_team"))
    timed = (
        select(
            t.demands,
            _C.due_at.label("clock_due"),
            _C.metric.label("clock_metric"),
            _C.breached_at.label("clock_breached"),
        )
        .select_from(t.service_level_clocks.join(t.demands, _D.id == _C.demand_id))
        .where(_RUNNING, *owner, *mine)
        .order_by(_C.due_at, _C.demand_id)
        .limit(bindparam("b_limit"))
    )
    # the rest, once the first read has given every demand with a running clock (``b_seen``): no
    # look at the clocks, and the partial index on (team, priority, created_at, id) gives the order
    rest = (
        select(t.demands)
        .where(*mine, _D.id.not_in(bindparam("b_seen", expanding=True)))
        .order_by(_D.priority, _D.created_at, _D.id)
        .limit(bindparam("b_limit"))
    )
    return timed, rest


#: PostgreSQL: a read that finds this many workload changes not yet folded in folds them (see :func:`_fold`).
FOLD_AT = 64

_W = t.team_workload.c
_X = t.workload_changes.c


@functools.cache
def _workload_statement() -> CompoundSelect:
    """A team's workload in one statement (``b_team``): rows of (0, agent or '', open, changes summed)
    from the kept counts, and (1, agent, breached) from the breached clocks of its open demands."""
    kept = select(_W.assignee.label("agent"), _W.open.label("n"), literal(0).label("changes")).where(
        _W.team == bindparam("b_team")
    )
    pending = select(_X.assignee, _X.delta, literal(1)).where(_X.team == bindparam("b_team"))
    both = union_all(kept, pending).subquery()
    opened = select(literal(0).label("what"), both.c.agent, func.sum(both.c.n), func.sum(both.c.changes)).group_by(
        both.c.agent
    )
    breached = (
        select(literal(1), _D.assignee, func.count(func.distinct(_D.id)), literal(0))
        .select_from(t.service_level_clocks.join(t.demands, _D.id == _C.demand_id))
        .where(_C.breached_at.is_not(None), _D.team == bindparam("b_team"), _IN_WORK)
        .group_by(_D.assignee)
    )
    return union_all(opened, breached)


@functools.cache
def _recount_before() -> Select[Any]:
    """Every kept count with the changes not yet folded in, per team and agent ('' for none)."""
    both = union_all(
        select(_W.team, _W.assignee, _W.open.label("n")),
        select(_X.team, _X.assignee, _X.delta),
    ).subquery()
    return select(both.c.team, both.c.assignee, func.sum(both.c.n).label("n")).group_by(both.c.team, both.c.assignee)


def _fold(conn: Connection, team: str) -> None:
    """Fold a team's workload changes into its counts, in one statement (PostgreSQL, where the triggers
    append changes; the reads' connection commits each statement). Concurrent folds are safe: a change
    is deleted, and so added, once; the counts are locked in one order, the agents'."""
    conn.execute(
        text(
            """
            WITH moved AS (DELETE FROM workload_changes WHERE team = :team RETURNING assignee, delta)
            INSERT INTO team_workload (team, assignee, open)
            SELECT :team, assignee, SUM(delta) FROM moved GROUP BY assignee ORDER BY assignee
            ON CONFLICT (team, assignee) DO UPDATE SET open = team_workload.open + excluded.open
            """
        ),
        {"team": team},
    )


@attrs.frozen(kw_only=True)
class TeamView:
    """A team as the desk shows it: its key, name, lead and members (directory ids)."""

    key: str
    name: str
    description: str
    lead: str | None
    group: str | None
    members: tuple[str, ...]


@attrs.frozen(kw_only=True)
class QueueItem:
    """One demand in a queue, with the clock that falls due first (``None``: no running clock)."""

    demand: Demand
    due_at: datetime | None = None
    metric: str | None = None
    breached: bool = False


@attrs.frozen(kw_only=True)
class AgentLoad:
    """One line of a team's workload: an agent (``None``: not assigned yet) and their open demands."""

    agent: str | None
    name: str
    open: int
    breached: int


@attrs.frozen(kw_only=True)
class TeamOverview:
    """What a team's page shows: the team, its queue, one agent's own work in it, and the workload."""

    team: TeamView
    queue: tuple[QueueItem, ...]
    mine: tuple[QueueItem, ...]
    workload: tuple[AgentLoad, ...]


@attrs.frozen(kw_only=True)
class Recount:
    """What a recount (``itsm db recount``) found: teams and open demands counted, counts that were off, clocks
    moved to their demand's team or agent."""

    teams: int
    open: int
    counts_off: int
    clocks_moved: int


@attrs.frozen(kw_only=True)
class Decision:
    """What assignment decided at intake: the team, the agent, the journey's wording, and failures to keep."""

    team: str | None
    agent: str | None
    note: str
    failures: tuple[tuple[str, str, BaseException], ...] = ()


class Teams:
    """Teams, their members, assignment at intake and by hand, queues and workloads."""

    def __init__(self, ctx: Context, customers: Customers, journey: Journey):
        self.ctx = ctx
        self.customers = customers
        self.journey = journey
        self._members: dict[str, tuple[float, tuple[str, ...]]] = {}

    # ------------------------------------------------------------------ teams and members

    def check(self, key: str) -> str:
        """``key`` if it is a team; :class:`UnknownTeam` with a close match otherwise."""
        if key not in self.ctx.config.teams:
            raise UnknownTeam(f"unknown team {key!r}; {did_you_mean(key, self.ctx.config.teams)}")
        return key

    def members(self, key: str) -> tuple[str, ...]:
        """The directory ids of the team's agents: its group's members and those it lists, sorted."""
        settings = self.ctx.config.teams[self.check(key)]
        cached = self._members.get(key)
        now = time.monotonic()
        if cached is not None and now - cached[0] < MEMBERS_TTL:
            return cached[1]
        found = set(settings.members)
        if settings.group:
            found.update(c.id for c in self.customers.all() if settings.group in c.groups)
        members = tuple(sorted(found))
        self._members[key] = (now, members)
        return members

    def view(self, key: str) -> TeamView:
        settings = self.ctx.config.teams[self.check(key)]
        return TeamView(
            key=key,
            name=settings.name or key,
            description=settings.description,
            lead=settings.lead or None,
            group=settings.group or None,
            members=self.members(key),
        )

    def listing(self) -> list[TeamView]:
        return [self.view(k) for k in self.ctx.config.teams]

    def require_member(self, team: str, agent: str) -> None:
        members = self.members(team)
        if agent not in members:
            name = self.ctx.config.teams[team].name or team
            listing = ", ".join(members) if members else "none (give it a group or members)"
            raise NotInTeam(f"{agent!r} is not in team {team} ({name}); its members: {listing}")

    def home_team(self, service: Service | None) -> str | None:
        """The team a demand for ``service`` belongs to: the service's, else the default team, else none."""
        if service is not None and service.team:
            return service.team
        return self.ctx.config.assignment.default_team or None

    # ------------------------------------------------------------------ at intake

    def decide(self, intake: IntakeRecord, service: Service | None, priority: int) -> Decision:
        """Ask ``itsm_assign``; check what it says; fall back to the service's team if it fails."""
        ctx = self.ctx
        failures: list[tuple[str, str, BaseException]] = []
        decided = ctx.host.assign(ctx.desk, intake, service, priority, lambda p, h, e: failures.append((p, h, e)))
        if decided is not None and not failures:  # after a failure, the service's team decides (below)
            plugin, chosen = decided
            try:
                if not isinstance(chosen, Assignment):
                    raise InvalidInput(f"itsm_assign returned {chosen!r}; expected an Assignment or None")
                self.check(chosen.team)
                if chosen.agent:
                    self.require_member(chosen.team, chosen.agent)
            except (UnknownTeam, NotInTeam, InvalidInput) as e:
                failures.append((plugin, "itsm_assign", e))
            else:
                to = f"team {chosen.team}" + (f", agent {chosen.agent}" if chosen.agent else "")
                why = f": {chosen.reason}" if chosen.reason else ""
                return Decision(
                    team=chosen.team,
                    agent=chosen.agent or None,
                    note=f"assigned to {to} by {plugin}{why}",
                    failures=tuple(failures),
                )
        home = self.home_team(service)
        if failures:
            to = f"team {home} (the service's team)" if home else "no team"
            return Decision(team=home, agent=None, note=f"assigned to {to}", failures=tuple(failures))
        if home is None:
            return Decision(team=None, agent=None, note="")
        return Decision(team=home, agent=None, note=f"assigned to team {home}")

    # ------------------------------------------------------------------ by hand

    def assign(
        self,
        demand_id: int,
        *,
        team: str | None = None,
        agent: str | None = None,
        reason: str,
        actor: str = Actor.AGENT,
    ) -> Demand:
        """Give a demand to another team or agent (``agent=""`` takes it off its agent); the reason is kept."""
        reason = (reason or "").strip()
        if not reason:
            raise InvalidInput("say why it is reassigned: the reason is kept on the demand's journey")
        if team is None and agent is None:
            raise InvalidInput("say who takes the demand: a team, an agent, or both")
        if team is not None:
            self.check(team)
        with log_context(demand_id=demand_id):
            with self.journey.begin() as change:
                demand = change.demand(demand_id)
                if not demand.is_open:
                    raise Conflict(f"demand {demand_id} is {demand.state}; nobody works on it now", state=demand.state)
                to_team = team if team is not None else demand.team
                if agent:
                    if to_team is None:
                        raise InvalidInput(f"demand {demand_id} has no team: give it one with the agent")
                    self.require_member(to_team, agent)
                # a new team without a named agent: the demand waits in the new team's queue
                to_agent = (
                    (agent or None) if agent is not None else (demand.assignee if team in (None, demand.team) else None)
                )
                if to_team == demand.team and to_agent == demand.assignee:
                    raise Conflict(
                        f"demand {demand_id} is with team {to_team}"
                        + (f", agent {to_agent}" if to_agent else "")
                        + " already",
                        state=str(demand.state),
                    )
                was = f"team {demand.team or '(none)'}, agent {demand.assignee or '(none)'}"
                now = f"team {to_team or '(none)'}, agent {to_agent or '(none)'}"
                change.record(
                    demand,
                    team=to_team,
                    assignee=to_agent,
                    actor=actor,
                    behind_scenes=f"reassigned by {actor} from {was} to {now}: {reason}",
                    kind="assignment",
                )
            return change.demands()[demand_id]

    # ------------------------------------------------------------------ queues

    def queue(self, team: str | None = None, *, agent: str | None = None, limit: int = 50) -> list[QueueItem]:
        """Open work of a team (or an agent's, or both), what breaches first at the top.

        First the demands with a running service-level clock, by the time it falls due
        (those past it, breached, first); then the rest by priority and age. Two indexed
        reads, however many demands are open.
        """
        if team is not None:
            self.check(team)
        if team is None and agent is None:
            raise InvalidInput("say whose queue: a team, an agent, or both")
        with self.ctx.reads.connect() as conn:
            return self._queue(conn, team, agent, _shown(limit))

    def _queue(self, conn: Connection, team: str | None, agent: str | None, limit: int) -> list[QueueItem]:
        timed, rest = _queue_statements(team is not None, agent is not None)
        params = {"b_team": team, "b_agent": agent}
        out: list[QueueItem] = []
        seen: set[int] = set()
        now = self.ctx.clock()
        # a demand has at most two clocks: twice ``limit`` rows are enough for ``limit`` demands,
        # and fewer rows than that are every running clock of the queue
        for r in conn.execute(timed, {**params, "b_limit": 2 * limit}):
            if r.id in seen:
                continue
            seen.add(r.id)
            due = rows.aware(r.clock_due)
            out.append(
                QueueItem(
                    demand=rows.demand(r),
                    due_at=due,
                    metric=r.clock_metric,
                    breached=r.clock_breached is not None or (due is not None and due <= now),
                )
            )
            if len(out) == limit:
                return out
        # a clock started between the two reads shows its demand in the first part only
        more = conn.execute(rest, {**params, "b_limit": limit - len(out), "b_seen": sorted(seen) or [0]})
        out.extend(QueueItem(demand=rows.demand(r)) for r in more if r.id not in seen)
        return out

    def workload(self, team: str) -> list[AgentLoad]:
        """Each member's open demands in the team (and the team's unassigned ones), with those breached."""
        members = self.members(team)
        with self.ctx.reads.connect() as conn:
            return self._workload(conn, team, members)

    def overview(self, team: str, *, agent: str | None = None, limit: int = 50) -> TeamOverview:
        """A team's queue, ``agent``'s own work in it and the workload, read together.

        What a team's page shows at once, over one connection: one trip to the store's pool
        rather than three, and the agent's work left out (empty) when the agent is not in
        the team or, by the workload, holds nothing open in it. (Counting the workload on a
        second connection beside the queue's reads was measured: no faster on two cores.)
        """
        view = self.view(team)
        limit = _shown(limit)
        with self.ctx.reads.connect() as conn:
            workload = self._workload(conn, team, view.members)
            queue = self._queue(conn, team, None, limit)
            # the agent's own work, read only when the workload says they hold some here
            holds = agent is not None and agent in view.members and any(w.agent == agent and w.open for w in workload)
            mine = self._queue(conn, team, agent, limit) if holds else []
        return TeamOverview(team=view, queue=tuple(queue), mine=tuple(mine), workload=tuple(workload))

    def _workload(self, conn: Connection, team: str, members: Sequence[str]) -> list[AgentLoad]:
        # the open counts as the demands' triggers keep them (team_workload, and on PostgreSQL the
        # changes not yet folded in), in one statement with the breached ones, which come from the
        # few breached clocks (a partial index): no look at each of the team's open demands
        opened: dict[str | None, int] = {}
        breached: dict[str | None, int] = {}
        changes = 0
        for what, agent, n, pending in conn.execute(_workload_statement(), {"b_team": team}):
            if what:
                breached[agent] = int(n)
            else:
                opened[agent or None] = int(n)
                changes += int(pending)
        if changes >= FOLD_AT:
            _fold(conn, team)
        counts = {a: (n, breached.get(a, 0)) for a, n in opened.items() if n > 0 or breached.get(a)}
        out = [
            AgentLoad(
                agent=m,
                name=self.customers.display(m),
                open=counts.get(m, (0, 0))[0],
                breached=counts.get(m, (0, 0))[1],
            )
            for m in members
        ]
        for agent, (n, b) in sorted(counts.items(), key=lambda kv: (kv[0] is None, kv[0] or "")):
            if agent is not None and agent not in members:  # left the team, still holds work
                out.append(AgentLoad(agent=agent, name=self.customers.display(agent), open=n, breached=b))
        n, b = counts.get(None, (0, 0))
        out.append(AgentLoad(agent=None, name="(not assigned)", open=n, breached=b))
        return out

    def recount(self) -> Recount:
        """Count every team's open work again from the demands, and each running clock's team and agent.

        What the store's triggers keep as demands change: needed only after the triggers were
        off (a restore of the tables alone, a bulk edit with triggers disabled). Writers to
        demands wait while it runs, so that no change is counted twice or missed.
        """
        c = t.service_level_clocks
        with self.ctx.engine.begin() as conn:
            if conn.dialect.name == "postgresql":
                conn.execute(text("LOCK TABLE demands IN SHARE MODE"))
            before = {
                (r.team, r.assignee): int(r.n) for r in conn.execute(_recount_before(), {}).mappings() if int(r.n)
            }
            conn.execute(t.workload_changes.delete())
            conn.execute(t.team_workload.delete())
            conn.execute(
                t.team_workload.insert().from_select(
                    ["team", "assignee", "open"],
                    select(_D.team, _AGENT_OR_NONE, func.count())
                    .where(_D.team.is_not(None), _IN_WORK)
                    .group_by(_D.team, _AGENT_OR_NONE),
                )
            )
            after = {(r.team, r.assignee): int(r.open) for r in conn.execute(select(t.team_workload)) if r.open}
            team_of = select(_D.team).where(_D.id == c.c.demand_id).scalar_subquery()
            agent_of = select(_D.assignee).where(_D.id == c.c.demand_id).scalar_subquery()
            moved = conn.execute(
                c.update()
                .where(c.c.team.is_distinct_from(team_of) | c.c.assignee.is_distinct_from(agent_of))
                .values(team=team_of, assignee=agent_of)
            ).rowcount
        off = sum(1 for k in before.keys() | after.keys() if before.get(k, 0) != after.get(k, 0))
        return Recount(
            teams=len({team for team, _ in after}), open=sum(after.values()), counts_off=off, clocks_moved=int(moved)
        )

    def open_counts(self, team: str, agents: Sequence[str]) -> dict[str, int]:
        """Open demands per agent in the team (0 for those with none): what ``least_open_work`` compares."""
        if not agents:
            return {}
        with self.ctx.reads.connect() as conn:
            found = {
                agent: int(n)
                for what, agent, n, _ in conn.execute(_workload_statement(), {"b_team": team})
                if not what and agent
            }
        return {a: found.get(a, 0) for a in agents}


__all__ = [
    "WORK_STATES",
    "AgentLoad",
    "Decision",
    "NotInTeam",
    "QueueItem",
    "Recount",
    "TeamOverview",
    "TeamView",
    "Teams",
    "UnknownTeam",
]
