"""The builtin ``itsm_prioritise``: a demand's priority from the ``[priorities]`` matrix.

The impact is the service's (``service_impact``, else ``default_impact``); the urgency
the customer's role's (``role_urgency``: where VIPs go, else ``default_urgency``). A
vendor's implementation of the hook runs first; without a ``[priorities]`` table this one
has no opinion and the demand keeps the default priority.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..model import Prioritisation

if TYPE_CHECKING:
    from ..components import Intake
    from ..desk import Desk
    from ..model import Service


def prioritise(desk: Desk, intake: Intake, service: Service | None) -> Prioritisation | None:
    settings = desk.config.priorities
    if settings is None:
        return None
    key = service.key if service is not None else None
    if key is not None and key in settings.service_impact:
        impact, why_impact = settings.service_impact[key], f"the impact of {key}"
    else:
        impact, why_impact = settings.default_impact, "the default impact"
    role = intake.customer.role or ""
    if role in settings.role_urgency:
        urgency, why_urgency = settings.role_urgency[role], f"the urgency of role {role}"
    else:
        urgency, why_urgency = settings.default_urgency, "the default urgency"
    return Prioritisation(
        priority=settings.priority(impact, urgency),
        impact=impact,
        urgency=urgency,
        reason=f"impact {impact} ({why_impact}), urgency {urgency} ({why_urgency})",
    )
