"""Service-status announcements and the customers they concern."""

from __future__ import annotations

import enum
from datetime import datetime

import attrs

from ._convert import to_tuple
from .service import Link


class AnnouncementState(enum.StrEnum):
    OPEN = "open"
    RESOLVED = "resolved"


@attrs.frozen(kw_only=True)
class Announcement:
    """A notice to a service's subscribers: what is wrong, the workaround, an estimate."""

    id: int
    service_key: str
    title: str
    description: str = ""
    workaround: str = ""
    workaround_links: tuple[Link, ...] = attrs.field(default=(), converter=to_tuple)
    estimate: str = ""
    state: AnnouncementState = AnnouncementState.OPEN
    source: str = "agent"
    opened_at: datetime
    updated_at: datetime
    resolved_at: datetime | None = None
    resolution: str = ""
