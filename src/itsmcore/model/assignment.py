"""Assignment: which team owns a demand, and which of its agents, as a policy decides at intake."""

from __future__ import annotations

import attrs


@attrs.frozen(kw_only=True)
class Assignment:
    """What an ``itsm_assign`` implementation decides for a new demand.

    ``team`` is a ``[teams.KEY]`` key; ``agent`` a directory id of one of its members, or
    ``None`` to leave the demand in the team's queue; ``reason`` is kept on the journey,
    behind the scenes ("round robin in service-desk").
    """

    team: str
    agent: str | None = None
    reason: str = ""
