"""The event types a subscription may name, and the JSON each one carries.

Every payload has the Standard Webhooks shape ``{"type", "timestamp", "data"}``. A demand's
events carry the demand; journey events carry the event as well. ``*`` subscribes to all.
"""

from __future__ import annotations

import difflib
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from itsmcore import Announcement, Demand, JourneyEvent, SurveyResponse

#: Each event type and when it is sent.
EVENT_TYPES: Mapping[str, str] = {
    "demand.received": "A demand was taken in (from any channel).",
    "demand.state_changed": "A demand moved along its lifecycle; data.previous_state is where it was.",
    "demand.stage_entered": "A demand's journey entered another stage.",
    "demand.event_recorded": "Any event was recorded on a demand's journey.",
    "task.updated": "A person's task of a demand's plan was opened, started, reassigned, reached a milestone or done.",
    "approval.decided": "An approver approved or rejected a demand.",
    "announcement.published": "An announcement was opened, updated or resolved; data.change says which.",
    "survey.answered": "A customer answered a survey.",
}

ALL = "*"


def unknown_event_problem(name: str) -> tuple[str, str] | None:
    """``None`` for a known event type (or ``*``), else (what is wrong, the did-you-mean hint)."""
    if name == ALL or name in EVENT_TYPES:
        return None
    close = difflib.get_close_matches(name, list(EVENT_TYPES), n=1, cutoff=0.6)
    listing = ", ".join(EVENT_TYPES)
    hint = f"did you mean {close[0]!r}? Known: {listing}, or * for all" if close else f"known: {listing}, or * for all"
    return f"unknown event type {name!r}", hint


def _iso(at: datetime | None) -> str | None:
    if at is None:
        return None
    return (at if at.tzinfo else at.replace(tzinfo=UTC)).isoformat(timespec="seconds")


def demand_data(demand: Demand) -> dict[str, Any]:
    return {
        "id": demand.id,
        "kind": str(demand.kind),
        "state": str(demand.state),
        "stage": str(demand.stage),
        "service": demand.service_key,
        "priority": int(demand.priority),
        "customer": demand.customer_id,
        "summary": demand.summary,
        "channel": demand.channel,
        "waiting_for": demand.waiting_for,
        "external_ref": demand.external_ref,
        "created_at": _iso(demand.created_at),
        "updated_at": _iso(demand.updated_at),
        "resolved_at": _iso(demand.resolved_at),
    }


def event_data(event: JourneyEvent) -> dict[str, Any]:
    return {
        "id": event.id,
        "kind": event.kind,
        "stage": str(event.stage),
        "channel": event.channel,
        "actor": event.actor,
        "customer_sees": event.customer_sees,
        "behind_scenes": event.behind_scenes,
        "at": _iso(event.at),
    }


def announcement_data(announcement: Announcement, change: str) -> dict[str, Any]:
    return {
        "change": change,
        "announcement": {
            "id": announcement.id,
            "service": announcement.service_key,
            "title": announcement.title,
            "description": announcement.description,
            "workaround": announcement.workaround,
            "estimate": announcement.estimate,
            "state": str(announcement.state),
            "opened_at": _iso(announcement.opened_at),
            "updated_at": _iso(announcement.updated_at),
            "resolved_at": _iso(announcement.resolved_at),
        },
    }


def survey_data(response: SurveyResponse) -> dict[str, Any]:
    return {
        "response": {
            "id": response.id,
            "method": response.method,
            "customer": response.customer_id,
            "score": response.score,
            "comment": response.comment,
            "demand": response.demand_id,
            "service": response.service_key,
            "channel": response.channel,
            "mode": response.mode,
        }
    }


def journey_types(event: JourneyEvent) -> list[str]:
    """The event types one journey event is sent as, besides ``demand.stage_entered``."""
    out = ["demand.event_recorded"]
    if event.kind in ("task", "milestone"):
        out.append("task.updated")
    if event.kind == "approved" or event.behind_scenes.startswith("rejected by "):
        out.append("approval.decided")
    return out


def payload(event_type: str, at: datetime, data: Mapping[str, Any]) -> dict[str, Any]:
    return {"type": event_type, "timestamp": _iso(at), "data": dict(data)}
