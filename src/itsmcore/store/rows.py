"""Rows to model objects: one mapper per table, the only place that knows both shapes."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from ..model import (
    Announcement,
    AnnouncementState,
    Demand,
    DemandKind,
    DemandState,
    Identity,
    JourneyEvent,
    Link,
    Priority,
    ReachedMilestone,
    Stage,
    Task,
    TaskState,
)
from ..model.job import Job, JobState


def aware(value: datetime | None) -> datetime | None:
    """A stored timestamp as an aware UTC datetime (SQLite hands them back naive)."""
    if value is not None and value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value


class RowView:
    """Attribute access over a dict of column values, so rows just written map like rows read."""

    def __init__(self, values: Mapping[str, Any], **extra: Any):
        self.__dict__.update(values, **extra)


def demand(row: Any) -> Demand:
    return Demand(
        id=row.id,
        kind=DemandKind(row.kind),
        customer_id=row.customer_id,
        summary=row.summary,
        channel=row.channel,
        state=DemandState(row.state),
        stage=Stage(row.stage),
        service_key=row.service_key,
        details=row.details,
        answers=row.answers or {},
        priority=Priority(row.priority),
        external_ref=row.external_ref,
        caused_by=row.caused_by,
        cause=row.cause,
        announcement_id=row.announcement_id,
        waiting_for=row.waiting_for,
        team=row.team,
        assignee=row.assignee,
        created_at=aware(row.created_at),  # type: ignore[arg-type]
        updated_at=aware(row.updated_at),  # type: ignore[arg-type]
        resolved_at=aware(row.resolved_at),
    )


def event(row: Any) -> JourneyEvent:
    return JourneyEvent(
        id=row.id,
        demand_id=row.demand_id,
        stage=Stage(row.stage),
        channel=row.channel,
        actor=row.actor,
        customer_sees=row.customer_sees,
        behind_scenes=row.behind_scenes,
        effort=row.effort,
        at=aware(row.at),  # type: ignore[arg-type]
        kind=row.kind,
        # rows just written by intake are dicts without the column
        external_ref=getattr(row, "external_ref", None),
        by=identity(getattr(row, "actor_login", None), getattr(row, "actor_name", None)),
        on_behalf_of=identity(getattr(row, "for_login", None), getattr(row, "for_name", None)),
    )


def identity(login: str | None, name: str | None) -> Identity | None:
    """A stored login and name as an :class:`Identity` (``None`` when no person is recorded)."""
    return Identity(login, name or "") if login else None


def identity_columns(by: Identity | None, on_behalf_of: Identity | None) -> dict[str, str | None]:
    """The journey_events columns that record who acted and for whom."""
    return {
        "actor_login": by.login if by else None,
        "actor_name": by.name if by else None,
        "for_login": on_behalf_of.login if on_behalf_of else None,
        "for_name": on_behalf_of.name if on_behalf_of else None,
    }


def job(row: Any) -> Job:
    return Job(
        id=row.id,
        demand_id=row.demand_id,
        customer_id=row.customer_id,
        announcement_id=row.announcement_id,
        action=row.action,
        step=row.step,
        params=row.params or {},
        key=row.key,
        state=JobState(row.state),
        attempts=row.attempts,
        max_attempts=row.max_attempts,
        run_after=aware(row.run_after),  # type: ignore[arg-type]
        lease_until=aware(row.lease_until),
        error=row.error,
        result=row.result,
        created_at=aware(row.created_at),  # type: ignore[arg-type]
        finished_at=aware(row.finished_at),
    )


def announcement(row: Any) -> Announcement:
    return Announcement(
        id=row.id,
        service_key=row.service_key,
        title=row.title,
        description=row.description,
        workaround=row.workaround,
        workaround_links=tuple(Link(title=x["title"], url=x["url"]) for x in (row.workaround_links or [])),
        estimate=row.estimate,
        state=AnnouncementState(row.state),
        source=row.source,
        opened_at=aware(row.opened_at),  # type: ignore[arg-type]
        updated_at=aware(row.updated_at),  # type: ignore[arg-type]
        resolved_at=aware(row.resolved_at),
        resolution=row.resolution,
    )


def task(row: Any) -> Task:
    return Task(
        id=row.id,
        demand_id=row.demand_id,
        step=row.step,
        title=row.title,
        team=row.team,
        state=TaskState(row.state),
        milestones=tuple(
            ReachedMilestone(name=m["name"], at=aware(datetime.fromisoformat(m["at"])))  # type: ignore[arg-type]
            for m in row.milestones or []
        ),
        assignee=row.assignee,
        expected=row.expected or "",
        expected_at=aware(row.expected_at),
        created_at=aware(row.created_at),  # type: ignore[arg-type]
        updated_at=aware(row.updated_at),  # type: ignore[arg-type]
    )
