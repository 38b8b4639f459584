"""The service-levels plugin: the hooks of :mod:`itsmcore.builtin.service_levels`.

Registered by the plugin host (as ``service_levels``) only for a deployment with
``[[service_levels]]`` rules, so a deployment without them pays nothing for its journey
events. A vendor replaces it by leaving the rules out and implementing the same hooks.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..hookspecs import CONTRACT_VERSION
from ..plugins import hookimpl
from . import service_levels

if TYPE_CHECKING:
    from ..desk import Desk
    from ..model import Demand, JourneyEvent, ServiceTarget

ITSM_CONTRACT = CONTRACT_VERSION


@hookimpl
def itsm_demand_received(desk: Desk, demand: Demand) -> None:
    service_levels.start(desk, demand)


@hookimpl
def itsm_event_recorded(desk: Desk, demand: Demand, event: JourneyEvent) -> None:
    service_levels.observe(desk, demand, event)


@hookimpl(trylast=True)
def itsm_service_target(desk: Desk, demand: Demand) -> ServiceTarget | None:
    return service_levels.target(desk, demand)
