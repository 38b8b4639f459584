"""Hook implementations of itsm-webhooks: the delivery job's handler and the events that become messages.

Quiet unless the deployment's config has a ``[webhooks]`` table: then each journey hook
turns its event into messages for the subscriptions that want it. The journey hooks run
after the demand's transaction committed (the hook contract), so the messages and their
jobs are written in a transaction of their own right after it; from there on the outbox
makes the delivery durable.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import attrs
from itsmcore import ActionResult, JobHandlerComponent, hookimpl

from . import events as ev

if TYPE_CHECKING:
    from itsmcore import (
        Announcement,
        ComponentContext,
        Demand,
        DemandState,
        Desk,
        Job,
        JourneyEvent,
        SurveyResponse,
    )

ITSM_CONTRACT = "1.2"


@attrs.frozen
class DeliverySettings:
    """What a sandbox changes: every delivery goes to ``redirect_to`` (a local stand-in) instead."""

    redirect_to: str = ""


@attrs.frozen
class Deliver:
    """The ``webhooks.deliver`` job handler."""

    settings: DeliverySettings

    def run(self, job: Job, desk: Desk) -> ActionResult | None:
        from .hub import for_desk

        return for_desk(desk).deliver(job, redirect_to=self.settings.redirect_to)


class _Sandbox:
    """A local receiver for ``itsm demo``: every delivery goes there; ``summary()`` says what it got."""

    def __init__(self) -> None:
        from .receiver import Receiver

        self.receiver = Receiver()

    def __enter__(self) -> Mapping[str, Any]:
        self.receiver.start()
        return {"redirect_to": self.receiver.url}

    def __exit__(self, *exc: object) -> None:
        self.receiver.stop()

    def summary(self) -> str:
        return self.receiver.summary()


def _sandbox(_settings: DeliverySettings, _ctx: ComponentContext) -> _Sandbox:
    return _Sandbox()


def deliver_component() -> JobHandlerComponent:
    return JobHandlerComponent(
        name="webhooks.deliver",
        factory=lambda settings, _ctx: Deliver(settings),
        settings=DeliverySettings,
        description="Post one webhook message to its subscription's receiver, signed (Standard Webhooks).",
        max_attempts=8,
        config_table="webhooks",
        sandbox=_sandbox,
    )


@hookimpl
def itsm_job_handlers() -> list[JobHandlerComponent]:
    return [deliver_component()]


def _publish(desk: Desk, event_type: str, data: dict[str, Any], demand: Demand | None = None, **kw: Any) -> None:
    from .hub import configured, for_desk

    if not configured(desk):
        return
    if demand is not None:
        kw.update(demand_id=demand.id, service=demand.service_key, kind=str(demand.kind))
    for_desk(desk).publish(event_type, data, **kw)


@hookimpl
def itsm_desk_opened(desk: Desk) -> None:
    from .hub import configured, for_desk

    if configured(desk):
        for_desk(desk)  # creates the tables and takes in the subscriptions the config declares


@hookimpl
def itsm_demand_received(desk: Desk, demand: Demand) -> None:
    _publish(desk, "demand.received", {"demand": ev.demand_data(demand)}, demand)


@hookimpl
def itsm_demand_state_changed(desk: Desk, demand: Demand, previous: DemandState) -> None:
    _publish(desk, "demand.state_changed", {"demand": ev.demand_data(demand), "previous_state": str(previous)}, demand)


@hookimpl
def itsm_stage_entered(desk: Desk, demand: Demand, event: JourneyEvent) -> None:
    _publish(desk, "demand.stage_entered", {"demand": ev.demand_data(demand), "event": ev.event_data(event)}, demand)


@hookimpl
def itsm_event_recorded(desk: Desk, demand: Demand, event: JourneyEvent) -> None:
    from .hub import configured

    if not configured(desk):
        return
    data = {"demand": ev.demand_data(demand), "event": ev.event_data(event)}
    for event_type in ev.journey_types(event):
        _publish(desk, event_type, data, demand)


@hookimpl
def itsm_announcement_published(desk: Desk, announcement: Announcement, change: str) -> None:
    _publish(
        desk,
        "announcement.published",
        ev.announcement_data(announcement, change),
        service=announcement.service_key,
    )


@hookimpl
def itsm_survey_answered(desk: Desk, response: SurveyResponse) -> None:
    _publish(
        desk, "survey.answered", ev.survey_data(response), demand_id=response.demand_id, service=response.service_key
    )


@hookimpl
def itsm_job_finished(desk: Desk, job: Job) -> None:
    from .hub import DELIVER, configured, for_desk

    if job.action == DELIVER and str(job.state) == "dead" and configured(desk):
        for_desk(desk).job_dead(job)
