"""Jobs: the durable work queue (messages, plan steps, fan-outs); list them and give a dead one another go."""

from __future__ import annotations

import json
from typing import Annotated, Any, Literal

import attrs
import msgspec
from itsmcore import Job

from .demands import Limit
from .routing import MAX_ID, Call, operation
from .shapes import when


@attrs.frozen(kw_only=True)
class JobQuery:
    state: Literal["pending", "running", "done", "dead"] | None = None
    demand: Annotated[int, msgspec.Meta(ge=1, le=MAX_ID, description="only this demand's")] | None = None
    limit: Limit = 100


@attrs.frozen(kw_only=True)
class JobOut:
    """A job; ``error`` says why the last attempt failed, ``dead`` jobs wait for a retry."""

    id: int
    demand_id: int | None
    customer_id: str | None
    announcement_id: int | None
    action: str
    step: int
    state: str
    attempts: int
    max_attempts: int
    run_after: str
    error: str | None
    result: dict[str, Any] | None
    created_at: str
    finished_at: str | None


@attrs.frozen(kw_only=True)
class JobList:
    jobs: list[JobOut]


def job_out(job: Job) -> JobOut:
    return JobOut(
        id=job.id,
        demand_id=job.demand_id,
        customer_id=job.customer_id,
        announcement_id=job.announcement_id,
        action=job.action,
        step=job.step,
        state=str(job.state),
        attempts=job.attempts,
        max_attempts=job.max_attempts,
        run_after=job.run_after.isoformat(),
        error=job.error,
        result=None if job.result is None else json.loads(json.dumps(dict(job.result), default=str)),
        created_at=job.created_at.isoformat(),
        finished_at=when(job.finished_at),
    )


@operation("GET", "/jobs", scope="agent", query=JobQuery, answer=JobList, summary="List jobs, newest first")
def list_jobs(call: Call) -> JobList:
    q: JobQuery = call.query
    return JobList(jobs=[job_out(j) for j in call.desk.jobs(state=q.state, demand_id=q.demand, limit=q.limit)])


@operation("GET", "/jobs/{jid}", scope="agent", answer=JobOut, summary="A job")
def read_job(call: Call) -> JobOut:
    return job_out(call.desk.job(call.id("jid")))


@operation(
    "POST",
    "/jobs/{jid}/retry",
    scope="agent",
    answer=JobOut,
    conflict=True,
    summary="Give a dead job another go (409 for any other): a demand it held up carries on",
)
def retry_job(call: Call) -> JobOut:
    return job_out(call.desk.retry_job(call.id("jid")))
