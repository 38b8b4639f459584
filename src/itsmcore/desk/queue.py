"""The job queue: listing jobs, claiming them for a runner, handing back, and retrying dead ones.

A claim is one conditional ``UPDATE ... RETURNING``: only one claimer can win, on
SQLite and PostgreSQL alike. It carries a lease; a job whose runner died is claimed
again once the lease has expired, unless that was its last attempt (then it is dead).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import Integer, and_, bindparam, func, or_, select, update

from ..errors import Conflict, NotFound
from ..model import Demand
from ..model.job import Job, JobState
from ..store import rows
from ..store import tables as t
from .context import KEEP, Context, Keep
from .fulfilment import Fulfilment
from .journey import Journey
from .outbox import Outbox

_OUTSTANDING = (
    select(func.count())
    .select_from(t.jobs)
    .where(
        or_(
            t.jobs.c.state == "running",
            and_(t.jobs.c.state == "pending", t.jobs.c.run_after <= bindparam("b_now", type_=t.jobs.c.run_after.type)),
        )
    )
)
_SELECT_JOB = select(t.jobs).where(t.jobs.c.id == bindparam("b_id"))
_SELECT_DEMANDS = select(t.demands).where(t.demands.c.id.in_(bindparam("b_ids", expanding=True)))
_DUE_JOBS = (
    select(t.jobs.c.id)
    .where(
        or_(
            and_(t.jobs.c.state == "pending", t.jobs.c.run_after <= bindparam("b_now")),
            and_(t.jobs.c.state == "running", t.jobs.c.lease_until < bindparam("b_now")),
        )
    )
    .order_by(t.jobs.c.run_after, t.jobs.c.id)
    .limit(bindparam("b_limit", type_=Integer))
)
_CLAIM = (
    update(t.jobs)
    .where(
        t.jobs.c.id == bindparam("b_id"),
        or_(
            and_(t.jobs.c.state == "pending", t.jobs.c.run_after <= bindparam("b_now")),
            and_(
                t.jobs.c.state == "running",
                t.jobs.c.lease_until < bindparam("b_now"),
                t.jobs.c.attempts < t.jobs.c.max_attempts,
            ),
        ),
    )
    .values(
        state="running",
        lease_until=bindparam("b_lease", type_=t.jobs.c.lease_until.type),
        attempts=t.jobs.c.attempts + 1,
    )
    .returning(*t.jobs.c)
)
_BURY = (
    update(t.jobs)
    .where(
        t.jobs.c.id == bindparam("b_id"),
        t.jobs.c.state == "running",
        t.jobs.c.lease_until < bindparam("b_now"),
        t.jobs.c.attempts >= t.jobs.c.max_attempts,
    )
    .values(
        state="dead",
        finished_at=bindparam("b_now", type_=t.jobs.c.finished_at.type),
        lease_until=None,
        error="its runner stopped during the last attempt (lease expired)",
    )
)
# The batch claim: the subquery picks the due rows, locking them and skipping rows other
# runners hold (PostgreSQL; SQLite renders no FOR UPDATE and runs one writer at a time).
_DUE = t.jobs.alias("due")
_CLAIM_DUE = (
    update(t.jobs)
    .where(
        t.jobs.c.id.in_(
            select(_DUE.c.id)
            .where(
                or_(
                    and_(_DUE.c.state == "pending", _DUE.c.run_after <= bindparam("b_now")),
                    and_(
                        _DUE.c.state == "running",
                        _DUE.c.lease_until < bindparam("b_now"),
                        _DUE.c.attempts < _DUE.c.max_attempts,
                    ),
                )
            )
            .order_by(_DUE.c.run_after, _DUE.c.id)
            .limit(bindparam("b_limit", type_=Integer))
            .with_for_update(skip_locked=True)
        )
    )
    .values(
        state="running",
        lease_until=bindparam("b_lease", type_=t.jobs.c.lease_until.type),
        attempts=t.jobs.c.attempts + 1,
    )
    .returning(*t.jobs.c)
)
# _BURY for every job whose runner died on its last attempt; locked rows are another runner's to bury.
_BURY_DUE = (
    update(t.jobs)
    .where(
        t.jobs.c.id.in_(
            select(_DUE.c.id)
            .where(
                _DUE.c.state == "running",
                _DUE.c.lease_until < bindparam("b_now"),
                _DUE.c.attempts >= _DUE.c.max_attempts,
            )
            .with_for_update(skip_locked=True)
        )
    )
    .values(
        state="dead",
        finished_at=bindparam("b_now", type_=t.jobs.c.finished_at.type),
        lease_until=None,
        error="its runner stopped during the last attempt (lease expired)",
    )
)
_RELEASE = (
    update(t.jobs)
    .where(
        t.jobs.c.id.in_(bindparam("b_ids", expanding=True)),
        t.jobs.c.state == "running",
        t.jobs.c.lease_until == bindparam("b_lease", type_=t.jobs.c.lease_until.type),
    )
    .values(state="pending", attempts=t.jobs.c.attempts - 1, lease_until=None)
)


class JobQueue:
    def __init__(self, ctx: Context, journey: Journey, outbox: Outbox, fulfilment: Fulfilment):
        self.ctx = ctx
        self.journey = journey
        self.outbox = outbox
        self.fulfilment = fulfilment

    def jobs(self, *, state: str | None = None, demand_id: int | None = None, limit: int = 100) -> list[Job]:
        q = select(t.jobs).order_by(t.jobs.c.id.desc()).limit(limit)
        if state:
            q = q.where(t.jobs.c.state == state)
        if demand_id is not None:
            q = q.where(t.jobs.c.demand_id == demand_id)
        with self.ctx.engine.connect() as conn:
            return [rows.job(r) for r in conn.execute(q)]

    def job(self, job_id: int) -> Job:
        with self.ctx.engine.connect() as conn:
            row = conn.execute(_SELECT_JOB, {"b_id": job_id}).first()
        if row is None:
            raise NotFound(f"unknown job {job_id}")
        return rows.job(row)

    def stats(self) -> dict[str, int]:
        with self.ctx.engine.connect() as conn:
            return {r[0]: r[1] for r in conn.execute(select(t.jobs.c.state, func.count()).group_by(t.jobs.c.state))}

    def retry(self, job_id: int) -> Job:
        """Give a dead job another go (``itsm jobs retry``); a stuck demand resumes."""
        job = self.job(job_id)
        if job.state != JobState.DEAD:
            raise Conflict(f"job {job_id} is {job.state}; only dead jobs can be retried", state=str(job.state))
        now = self.ctx.clock()
        with self.journey.begin() as change:
            done = change.conn.execute(
                update(t.jobs)
                .where(t.jobs.c.id == job_id, t.jobs.c.state == "dead")
                .values(state="pending", attempts=0, run_after=now, error=None, finished_at=None, lease_until=None)
            )
            if done.rowcount != 1:  # another operator retried it a moment ago
                raise Conflict(f"job {job_id} was retried meanwhile; only dead jobs can be retried", state="pending")
            if job.demand_id is not None:
                self.fulfilment.job_retried(change, job, now)
        self.outbox.wake([job_id])
        return self.job(job_id)

    def claim(self, job_id: int, now: datetime | None = None) -> Job | None:
        """Claim a due job and return it as claimed (one statement: UPDATE ... RETURNING), else ``None``."""
        now = now or self.ctx.clock()
        with self.ctx.engine.begin() as conn:
            claimed = conn.execute(_CLAIM, {"b_id": job_id, "b_now": now, "b_lease": now + self.ctx.lease}).first()
            if claimed is not None:
                return rows.job(claimed)
            # a runner that died on its last attempt: the job is dead, visibly, not taken over forever
            conn.execute(_BURY, {"b_id": job_id, "b_now": now})
            return None

    def outstanding(self, now: datetime | None = None) -> int:
        """Jobs running or due now, counted in one statement: one snapshot, so a job moving from
        due to running between two questions cannot make the queue look idle."""
        t_now = now or self.ctx.clock()
        with self.ctx.engine.connect() as conn:
            return int(conn.execute(_OUTSTANDING, {"b_now": t_now}).scalar_one())

    def due(self, limit: int = 100) -> list[int]:
        """Ids of jobs due now, oldest first, without claiming them (what a sweep hands to workers)."""
        with self.ctx.engine.connect() as conn:
            return list(conn.execute(_DUE_JOBS, {"b_now": self.ctx.clock(), "b_limit": limit}).scalars())

    def claim_due(
        self, limit: int, now: datetime | None = None, *, with_demands: bool = True
    ) -> list[tuple[Job, Demand | Keep | None]]:
        """Claim a batch; with ``with_demands``, also read the demands of its notify jobs in one SELECT.

        A notify job needs its demand (customer, thread) before it sends; reading them
        with the claim saves a query per job. Other jobs read theirs when they run
        (``KEEP`` says "not read").
        """
        if limit <= 0:
            return []
        now = now or self.ctx.clock()
        demands: dict[int, Demand] = {}
        with self.ctx.engine.begin() as conn:
            conn.execute(_BURY_DUE, {"b_now": now})
            found = conn.execute(_CLAIM_DUE, {"b_now": now, "b_lease": now + self.ctx.lease, "b_limit": limit}).all()
            jobs = sorted(map(rows.job, found), key=lambda j: (j.run_after, j.id))  # RETURNING keeps no order
            if with_demands:
                ids = {j.demand_id for j in jobs if j.action == "notify" and j.step < 0 and j.demand_id is not None}
                if ids:
                    demands = {r.id: rows.demand(r) for r in conn.execute(_SELECT_DEMANDS, {"b_ids": sorted(ids)})}
        claimed: list[tuple[Job, Demand | Keep | None]] = []
        for job in jobs:
            demand: Demand | Keep | None = KEEP
            if with_demands and job.action == "notify" and job.step < 0:
                # a missing demand is left for the notify handler to fail the job over
                demand = None if job.demand_id is None else demands.get(job.demand_id, KEEP)
            claimed.append((job, demand))
        return claimed

    def release(self, job_ids: Sequence[int], lease_until: datetime) -> None:
        """Hand back claimed jobs not started before their lease ended, their attempt uncounted (if still ours)."""
        with self.ctx.engine.begin() as conn:
            conn.execute(_RELEASE, {"b_ids": list(job_ids), "b_lease": lease_until})
