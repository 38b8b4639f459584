"""Problems and known errors: the cause behind repeated incidents, and what to do meanwhile."""

from __future__ import annotations

import enum
from datetime import datetime

import attrs

from ._convert import to_tuple


class ProblemState(enum.StrEnum):
    """Where a problem stands: found, being investigated, its cause known (a known error), fixed."""

    NEW = "new"
    INVESTIGATING = "investigating"
    KNOWN_ERROR = "known_error"
    RESOLVED = "resolved"


#: The states a problem may move to from each state; a resolved problem stays resolved.
PROBLEM_MOVES: dict[ProblemState, frozenset[ProblemState]] = {
    ProblemState.NEW: frozenset({ProblemState.INVESTIGATING, ProblemState.KNOWN_ERROR, ProblemState.RESOLVED}),
    ProblemState.INVESTIGATING: frozenset({ProblemState.KNOWN_ERROR, ProblemState.RESOLVED}),
    ProblemState.KNOWN_ERROR: frozenset({ProblemState.INVESTIGATING, ProblemState.RESOLVED}),
    ProblemState.RESOLVED: frozenset(),
}


@attrs.frozen(kw_only=True)
class ProblemIncident:
    """An incident linked to a problem; ``other_service`` when it is of a service the problem is not about."""

    demand_id: int
    service_key: str | None = None
    other_service: bool = False
    linked_by: str = ""
    linked_at: datetime


@attrs.frozen(kw_only=True)
class Problem:
    """A problem record: the services and configuration items it is about, its incidents and announcements.

    ``root_cause`` and ``workaround`` are the desk's words; a known error's workaround is
    published as the knowledge article ``article_key``.
    """

    id: int
    title: str
    description: str = ""
    services: tuple[str, ...] = attrs.field(default=(), converter=to_tuple)
    cis: tuple[str, ...] = attrs.field(default=(), converter=to_tuple)
    root_cause: str = ""
    workaround: str = ""
    state: ProblemState = ProblemState.NEW
    article_key: str | None = None
    resolution: str = ""
    opened_by: str = ""
    opened_at: datetime
    updated_at: datetime
    resolved_at: datetime | None = None
    incidents: tuple[ProblemIncident, ...] = attrs.field(default=(), converter=to_tuple)
    announcements: tuple[int, ...] = attrs.field(default=(), converter=to_tuple)

    @property
    def allowed(self) -> frozenset[ProblemState]:
        """The states it may move to next."""
        return PROBLEM_MOVES[self.state]
