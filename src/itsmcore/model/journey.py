"""Journey stages, moments of truth and journey events.

A journey is the ordered list of events of one demand. Each event says *what the
customer sees* beside *what happens behind the scenes*, so a journey map can be
drawn from the store without anyone writing it by hand.
"""

from __future__ import annotations

import enum
from datetime import datetime

import attrs


class MomentOfTruth(enum.StrEnum):
    """The four moments at which a customer forms a judgement of IT."""

    ZERO = "zero"  # discovery: before the customer talks to IT at all
    FIRST = "first"  # exploration: the first contact and its acknowledgement
    SECOND = "second"  # consumption: the service is delivered and used
    ULTIMATE = "ultimate"  # shared engagement: feedback and word of mouth


class Stage(enum.StrEnum):
    """Where a journey is. The order of the members is the order of a journey."""

    DISCOVER = "discover"
    ENGAGE = "engage"
    ACKNOWLEDGE = "acknowledge"
    FULFIL = "fulfil"
    OUTCOME = "outcome"
    CONFIRM = "confirm"
    FEEDBACK = "feedback"
    SHARE = "share"

    @property
    def moment(self) -> MomentOfTruth:
        """The moment of truth this stage belongs to."""
        return _MOMENTS[self]

    @property
    def position(self) -> int:
        """0-based position in the canonical journey order."""
        return _ORDER[self]


_MOMENTS: dict[Stage, MomentOfTruth] = {
    Stage.DISCOVER: MomentOfTruth.ZERO,
    Stage.ENGAGE: MomentOfTruth.FIRST,
    Stage.ACKNOWLEDGE: MomentOfTruth.FIRST,
    Stage.FULFIL: MomentOfTruth.SECOND,
    Stage.OUTCOME: MomentOfTruth.SECOND,
    Stage.CONFIRM: MomentOfTruth.SECOND,
    Stage.FEEDBACK: MomentOfTruth.ULTIMATE,
    Stage.SHARE: MomentOfTruth.ULTIMATE,
}
_ORDER: dict[Stage, int] = {stage: i for i, stage in enumerate(Stage)}


class Actor(enum.StrEnum):
    """Who caused an event. A plugin is recorded by its own name instead."""

    CUSTOMER = "customer"
    AGENT = "agent"
    SYSTEM = "system"


@attrs.frozen
class Identity:
    """The person (or integration) behind an event: a login and the name people know them by.

    ``login`` is the agent's id in the directory, or an API token's name for what an
    integration does; ``name`` is their display name (empty when the directory does not
    know the login). Events keep both, so the journey still says who acted after the
    directory changes.
    """

    login: str
    name: str = ""

    def __str__(self) -> str:
        return f"{self.name} ({self.login})" if self.name and self.name != self.login else self.login


@attrs.frozen(kw_only=True)
class JourneyEvent:
    """One step of a demand's journey.

    ``actor`` is ``"customer"``, ``"agent"``, ``"system"`` or the name of the plugin
    that acted. ``effort`` counts what the customer had to do at this step (fields
    typed, clicks, contacts made): the raw material of the customer effort figures.
    ``external_ref`` names what caused the event outside the desk (an email's Message-ID);
    no two events share one, so the same thing taken in twice is recorded once.
    ``by`` names the person behind an agent's (or an integration's) event: the signed-in
    agent on the portal's desk, the agent running ``itsm``, the API token; ``None`` for the
    customer's and the system's own events, and for an agent's event recorded without an
    identity (the Python API used without :meth:`~itsmcore.desk.Desk.acting_as`).
    ``on_behalf_of`` names the person ``by`` acted for (the approver whose answer an agent
    records), else ``None``.
    """

    demand_id: int
    stage: Stage
    channel: str
    actor: str
    customer_sees: str = ""
    behind_scenes: str = ""
    effort: int = 0
    at: datetime
    kind: str = "note"
    id: int | None = None
    external_ref: str | None = None
    by: Identity | None = None
    on_behalf_of: Identity | None = None

    @property
    def who(self) -> str:
        """Who acted, in words for the desk: "Jo Agent (jo) for Scott Manager (scott)", else the role."""
        who = str(self.by) if self.by is not None else self.actor
        return f"{who} for {self.on_behalf_of}" if self.on_behalf_of is not None else who

    @property
    def moment(self) -> MomentOfTruth:
        return self.stage.moment
