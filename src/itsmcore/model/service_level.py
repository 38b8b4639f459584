"""Priorities and service levels: what ``itsm_prioritise`` decides and what a demand's clock promises."""

from __future__ import annotations

from datetime import datetime

import attrs

from .demand import Priority


@attrs.frozen(kw_only=True)
class Prioritisation:
    """A priority decided at intake (``itsm_prioritise``), with the facts it came from.

    ``impact`` and ``urgency`` are ``"high"``, ``"medium"`` or ``"low"`` (empty when a
    plugin decides otherwise); ``reason`` is recorded behind the scenes on the journey.
    """

    priority: Priority = attrs.field(converter=Priority)
    impact: str = ""
    urgency: str = ""
    reason: str = ""


@attrs.frozen(kw_only=True)
class ServiceTarget:
    """What a demand's service level promises now (``itsm_service_target``).

    ``due_at`` is when the resolution target falls, ``None`` while the clock is paused
    (the demand waits for the customer or an approver) or stopped; ``timezone`` is the
    calendar's, in which the customer is told the time ("by 3 pm tomorrow").
    """

    rule: str
    due_at: datetime | None
    timezone: str = "UTC"
    paused: bool = False
    breached: bool = False


@attrs.frozen(kw_only=True)
class ServiceClock:
    """One service-level clock of a demand, as the desk shows it (``Desk.service_clocks``).

    ``metric`` is ``"response"`` or ``"resolution"``; ``state`` is ``"running"``,
    ``"paused"`` (``paused_for`` says whom it waits for) or ``"stopped"``; ``due_at`` is when
    the target falls while it runs; ``used_secs`` the working time used so far, of
    ``target_secs``; ``breached_at`` when the target was missed, if it was.
    """

    metric: str
    rule: str
    state: str
    paused_for: str | None = None
    target_secs: float
    used_secs: float
    due_at: datetime | None = None
    breached_at: datetime | None = None
    stopped_at: datetime | None = None

    @property
    def breached(self) -> bool:
        return self.breached_at is not None
