"""The escalations plugin: the hooks of :mod:`itsmcore.builtin.escalations`.

Registered by the plugin host (as ``escalations``) only for a deployment with
``[[escalations]]`` rules. A vendor replaces it by leaving the rules out and implementing
the same hooks (``itsm_event_recorded`` for the service-level sweep's warnings and
breaches, ``itsm_job_finished`` for dead jobs).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..hookspecs import CONTRACT_VERSION
from ..plugins import hookimpl
from . import escalations

if TYPE_CHECKING:
    from ..desk import Desk
    from ..model import Demand, JourneyEvent
    from ..model.job import Job

ITSM_CONTRACT = CONTRACT_VERSION


@hookimpl
def itsm_event_recorded(desk: Desk, demand: Demand, event: JourneyEvent) -> None:
    escalations.on_event(desk, demand, event)


@hookimpl
def itsm_job_finished(desk: Desk, job: Job) -> None:
    escalations.on_job(desk, job)
