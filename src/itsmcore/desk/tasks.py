"""Tasks: the plan steps people do, followed by the customer the way a parcel is.

When a plan reaches a task step (``{ task = "Order and ship the phone", team = "logistics",
milestones = [...] }``), a task row is written in the transaction that reached it, and the
demand waits for it by name. The team starts it, reaches its milestones (each one on the
customer's journey, and a message unless the step says not to) and marks it done; the
last milestone or ``done`` carries the plan on, so a request is fulfilled only when the
thing has actually arrived.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

import attrs
from sqlalchemy import bindparam, select, update

from ..calendars import expected_by
from ..config import did_you_mean
from ..errors import Conflict, InvalidInput, NotFound
from ..i18n import N_, Translator, translator
from ..logs import log_context
from ..model import Actor, Demand, DemandState, HumanTask, Service, Stage, Task, TaskState
from ..status import customer_status
from ..store import rows
from ..store import tables as t
from ..store.sql import insert_ignore
from .context import KEEP, Context
from .fulfilment import Fulfilment
from .journey import Change, Journey
from .outbox import Outbox
from .teams import Teams

_T = t.tasks.c
_SELECT_TASK = select(t.tasks).where(_T.id == bindparam("b_id"))
_SELECT_DEMAND_TASKS = select(t.tasks).where(_T.demand_id == bindparam("b_demand")).order_by(_T.step.desc())


def _lower_first(text: str) -> str:
    return text[:1].lower() + text[1:]


class Tasks:
    """Opening tasks as plans reach them, and the team's moves on them: start, milestone, done, reassign."""

    def __init__(
        self,
        ctx: Context,
        journey: Journey,
        outbox: Outbox,
        fulfilment: Fulfilment,
        teams: Teams | None = None,
    ):
        self.ctx = ctx
        self.teams = teams
        self.journey = journey
        self.outbox = outbox
        self.fulfilment = fulfilment
        #: The customer's language, for what they read of a task: the desk plugs its preferences in here.
        self.translator_for: Callable[[str], Translator] = lambda customer_id: translator()

    # ------------------------------------------------------------------ reading

    def get(self, task_id: int) -> Task:
        with self.ctx.engine.connect() as conn:
            row = conn.execute(_SELECT_TASK, {"b_id": task_id}).first()
        if row is None:
            raise NotFound(f"unknown task {task_id}")
        return rows.task(row)

    def listing(
        self,
        *,
        state: TaskState | str | None = None,
        team: str | None = None,
        demand_id: int | None = None,
        open_only: bool = False,
        limit: int = 100,
    ) -> list[Task]:
        """Tasks, oldest first (the order a team works them in)."""
        q = select(t.tasks).order_by(_T.id).limit(limit)
        if state is not None:
            try:
                q = q.where(_T.state == str(TaskState(state)))
            except ValueError:
                raise InvalidInput(
                    f"unknown task state {state!r}; known: {', '.join(s.value for s in TaskState)}"
                ) from None
        if open_only:
            q = q.where(_T.state != str(TaskState.DONE))
        if team is not None:
            q = q.where(_T.team == team)
        if demand_id is not None:
            q = q.where(_T.demand_id == demand_id)
        with self.ctx.engine.connect() as conn:
            return [rows.task(r) for r in conn.execute(q)]

    def current(self, demand: Demand) -> Task | None:
        """The task a demand in fulfilment waits on (its latest, unless done), for the status model."""
        if demand.state != DemandState.IN_FULFILMENT:
            return None
        with self.ctx.engine.connect() as conn:
            row = conn.execute(_SELECT_DEMAND_TASKS, {"b_demand": demand.id}).first()
        task = rows.task(row) if row is not None else None
        return task if task is not None and task.state != TaskState.DONE else None

    def step_of(self, task: Task, demand: Demand) -> HumanTask | None:
        """The configured step behind a task (its milestones and their wording), if the plan still has it."""
        svc = self.ctx.services.get(demand.service_key or "")
        if svc is None or task.step >= len(svc.plan):
            return None
        return svc.plan[task.step].task

    def milestone_names(self, task_id: int) -> tuple[str, ...]:
        """The milestones the task's step names, in order (none once the plan no longer has the step)."""
        task = self.get(task_id)
        with self.ctx.engine.connect() as conn:
            row = conn.execute(select(t.demands.c.service_key).where(t.demands.c.id == task.demand_id)).first()
        svc = self.ctx.services.get((row.service_key if row else None) or "")
        if svc is None or task.step >= len(svc.plan) or svc.plan[task.step].task is None:
            return ()
        spec = svc.plan[task.step].task
        return tuple(m.name for m in spec.milestones) if spec is not None else ()

    # ------------------------------------------------------------------ opening

    def open(self, change: Change, demand: Demand, svc: Service, step: int, now: datetime) -> list[int]:
        """The plan reached a task step: write the task and let the demand wait for it (the fulfilment's opener)."""
        spec = svc.plan[step].task
        assert spec is not None
        team = spec.team.strip() or None
        # "3 working days" in the team's working time: the deployment's default calendar
        due = expected_by(self.ctx.calendar(), spec.expected, now)
        stmt = insert_ignore(change.conn, t.tasks, ["demand_id", "step"]).returning(_T.id)
        task_id = change.conn.execute(
            stmt,
            {
                "demand_id": demand.id,
                "step": step,
                "title": spec.task,
                "team": team,
                "state": str(TaskState.OPEN),
                "milestones": [],
                "assignee": None,
                "expected": spec.expected,
                "expected_at": due,
                "created_at": now,
                "updated_at": now,
            },
        ).scalar()
        if not task_id:  # the step before finished twice: the task is open already
            return []
        task = Task(
            id=task_id,
            demand_id=demand.id,
            step=step,
            title=spec.task,
            team=team,
            state=TaskState.OPEN,
            expected=spec.expected,
            expected_at=due,
            created_at=now,
            updated_at=now,
        )
        waiting = f"the {team} team to {_lower_first(spec.task)}" if team else _lower_first(spec.task)
        moved = change.demand(demand.id)
        waits = customer_status(
            attrs.evolve(moved, waiting_for=waiting, stage=Stage.FULFIL),
            service=svc,
            now=now,
            task=task,
            tr=self.translator_for(demand.customer_id),
        )
        change.record(
            demand.id,
            stage=Stage.FULFIL,
            waiting_for=waiting,
            actor=Actor.SYSTEM,
            customer_sees=waits.text,
            behind_scenes=f"task {task_id} ({spec.task}) opened for {team or 'no team'}"
            + (f", expected {spec.expected}" if spec.expected else ""),
            kind="task",
            at=now,
        )
        return []

    # ------------------------------------------------------------------ the team's moves

    def start(self, task_id: int, assignee: str | None = None, *, actor: str = Actor.AGENT) -> Task:
        """Someone takes the task: it is started, and theirs if ``assignee`` is given."""
        return self._move(task_id, "start", assignee=assignee, actor=actor)

    def reassign(
        self, task_id: int, *, assignee: str | None = None, team: str | None = None, actor: str = Actor.AGENT
    ) -> Task:
        """Give the task to another person or team; a done task cannot be."""
        if assignee is None and team is None:
            raise InvalidInput("say who takes the task: an assignee, a team, or both")
        teams = self.ctx.config.teams
        if team is not None and teams and team not in teams:
            raise InvalidInput(f"unknown team {team!r}; {did_you_mean(team, teams)}")
        return self._move(task_id, "reassign", assignee=assignee, team=team, actor=actor)

    def milestone(self, task_id: int, name: str, *, actor: str = Actor.AGENT) -> Task:
        """The task reached a milestone: the customer's journey says so (and a message, if the step wants one).

        The last of the step's milestones finishes the task and carries the plan on.
        """
        return self._move(task_id, "milestone", milestone=name, actor=actor)

    def done(self, task_id: int, *, actor: str = Actor.AGENT) -> Task:
        """The task is done: the plan goes on to its next step, or the demand is fulfilled."""
        return self._move(task_id, "done", actor=actor)

    def _move(self, task_id: int, what: str, *, actor: str, **kw: Any) -> Task:
        task = self.get(task_id)
        with log_context(demand_id=task.demand_id):
            with self.journey.begin() as change:
                change.demand(task.demand_id)  # locks the demand: one move on its tasks at a time
                row = change.conn.execute(_SELECT_TASK, {"b_id": task_id}).first()
                assert row is not None
                task = rows.task(row)
                if task.state == TaskState.DONE:
                    raise Conflict(
                        f"task {task_id} ({task.title}) is done; nothing more can be recorded on it",
                        state=str(TaskState.DONE),
                    )
                now = self.ctx.clock()
                if what == "start":
                    ids = self._start(change, task, kw["assignee"], actor, now)
                elif what == "reassign":
                    ids = self._reassign(change, task, kw["assignee"], kw["team"], actor, now)
                elif what == "milestone":
                    ids = self._milestone(change, task, kw["milestone"], actor, now)
                else:
                    ids = self._done(change, task, actor, now)
            self.outbox.wake(ids)
            return self.get(task_id)

    def _check_member(self, team: str | None, assignee: str | None) -> None:
        """An agent given a task must be in its team, when the team has members (a group or a list)."""
        if self.teams is None or not team or not assignee or team not in self.ctx.config.teams:
            return
        settings = self.ctx.config.teams[team]
        if settings.group or settings.members:
            self.teams.require_member(team, assignee)

    def _write(self, change: Change, task: Task, now: datetime, **values: Any) -> None:
        change.conn.execute(update(t.tasks).where(_T.id == task.id).values(updated_at=now, **values))

    def _start(self, change: Change, task: Task, assignee: str | None, actor: str, now: datetime) -> list[int]:
        if task.state == TaskState.STARTED and (assignee is None or assignee == task.assignee):
            raise Conflict(
                f"task {task.id} is started already" + (f" by {task.assignee}" if task.assignee else ""),
                state=str(task.state),
                allowed=["milestone", "done", "reassign"],
            )
        who = assignee or task.assignee
        self._check_member(task.team, assignee)
        self._write(change, task, now, state=str(TaskState.STARTED), assignee=who)
        change.record(
            task.demand_id,
            actor=actor,
            behind_scenes=f"task {task.id} ({task.title}) started" + (f" by {who}" if who else ""),
            kind="task",
            at=now,
        )
        return []

    def _reassign(
        self, change: Change, task: Task, assignee: str | None, team: str | None, actor: str, now: datetime
    ) -> list[int]:
        self._check_member(team if team is not None else task.team, assignee or task.assignee)
        values: dict[str, Any] = {}
        if assignee is not None:
            values["assignee"] = assignee or None
        if team is not None:
            values["team"] = team or None
        self._write(change, task, now, **values)
        to = ", ".join(f"{k} {v or '(none)'}" for k, v in values.items())
        change.record(
            task.demand_id, actor=actor, behind_scenes=f"task {task.id} reassigned: {to}", kind="task", at=now
        )
        return []

    def _milestone(self, change: Change, task: Task, name: str, actor: str, now: datetime) -> list[int]:
        demand = change.demand(task.demand_id)
        spec = self.step_of(task, demand)
        allowed = [m.name for m in spec.milestones] if spec is not None else []
        step = spec.milestone(name) if spec is not None else None
        if spec is None or step is None:
            listing = ", ".join(allowed) if allowed else "none (mark it done instead)"
            raise InvalidInput(f"task {task.id} has no milestone {name!r}; its milestones: {listing}")
        if task.reached(name):
            raise Conflict(
                f"task {task.id} reached {name!r} already",
                state=str(task.state),
                allowed=[m for m in allowed if not task.reached(m)],
            )
        reached = [
            *({"name": m.name, "at": m.at.isoformat()} for m in task.milestones),
            {"name": name, "at": now.isoformat()},
        ]
        self._write(change, task, now, milestones=reached, state=str(TaskState.STARTED))
        tr = self.translator_for(demand.customer_id)  # what the customer reads, in their language
        says = step.says or tr(N_("Your {item} was {milestone}."), item=spec.item, milestone=name)
        change.record(
            demand,
            stage=Stage.FULFIL,
            actor=actor,
            customer_sees=says,
            behind_scenes=f"task {task.id} ({task.title}) reached milestone {name!r}",
            kind="milestone",
            at=now,
        )
        ids: list[int] = []
        if all(task.reached(m) or m == name for m in allowed):  # the last one: the task is done
            ids.extend(self._done(change, task, actor, now))
        if step.notify and change.demand(demand.id).state != DemandState.FULFILLED:
            # (once fulfilled, the outcome message just queued tells them; one message is enough)
            ids.append(
                self.outbox.notify(
                    change.conn,
                    demand.id,
                    purpose="progress",
                    subject=tr(N_("#{id}: {title}"), id=demand.id, title=says.rstrip(".")),
                    body=says,
                    now=now,
                    key=f"{self.ctx.key_prefix}:task:{task.id}:milestone:{name}",
                )
            )
        return ids

    def _done(self, change: Change, task: Task, actor: str, now: datetime) -> list[int]:
        self._write(change, task, now, state=str(TaskState.DONE))
        demand = change.demand(task.demand_id)
        goes_on = demand.state == DemandState.IN_FULFILMENT
        change.record(
            demand,
            waiting_for=None if goes_on else KEEP,
            actor=actor,
            behind_scenes=f"task {task.id} ({task.title}) done"
            + ("" if goes_on else f"; the demand is {demand.state}, so the plan does not go on"),
            kind="task",
            at=now,
        )
        if not goes_on:
            return []
        return self.fulfilment.after_step(change, change.demand(demand.id), task.step, now)
