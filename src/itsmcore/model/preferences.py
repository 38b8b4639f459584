"""What a customer chose about being contacted: channels in order, quiet hours, language, surveys.

Stored choices override what the directory says (:class:`Preferences` ``source`` tells which);
the desk applies them to every message it sends.
"""

from __future__ import annotations

from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

import attrs

from ._convert import to_tuple


@attrs.frozen(kw_only=True)
class QuietHours:
    """A daily span in the customer's time zone when non-urgent messages wait (``22:00``-``07:00`` spans midnight).

    Wall-clock times: across a daylight-saving change the span is the same on the clock,
    so it lasts an hour more or less that night.
    """

    start: time
    end: time
    time_zone: str = "UTC"

    def __str__(self) -> str:
        return f"{self.start:%H:%M}-{self.end:%H:%M} {self.time_zone}"

    def contains(self, at: datetime) -> bool:
        """Whether ``at`` (aware) falls inside the quiet hours."""
        local = at.astimezone(ZoneInfo(self.time_zone)).time()
        if self.start == self.end:
            return False
        if self.start < self.end:
            return self.start <= local < self.end
        return local >= self.start or local < self.end

    def ends_after(self, at: datetime) -> datetime:
        """When the quiet hours around ``at`` end (aware, UTC); ``at`` itself when it is not quiet."""
        if not self.contains(at):
            return at
        zone = ZoneInfo(self.time_zone)
        local = at.astimezone(zone)
        day = local.date() if local.time() < self.end else local.date() + timedelta(days=1)
        end = datetime.combine(day, self.end, tzinfo=zone)
        # a wall-clock end that does not exist (the hour skipped in spring) is read as the hour after
        return end.astimezone(ZoneInfo("UTC"))


@attrs.frozen(kw_only=True)
class Preferences:
    """One customer's contact preferences as the desk applies them.

    ``channels`` in the order to try (the customer's choice, else the directory's);
    ``language`` the one messages and pages should use (the customer's choice, then the
    directory, then the deployment's default; an unknown code falls back); ``surveys``
    False when the customer asked not to be surveyed. ``source`` is ``"customer"`` once they
    chose anything, else ``"directory"``.
    """

    customer_id: str
    channels: tuple[str, ...] = attrs.field(default=(), converter=to_tuple)
    quiet_hours: QuietHours | None = None
    language: str = "en"
    surveys: bool = True
    source: str = "directory"
    updated_at: datetime | None = None
    updated_by: str | None = None


@attrs.frozen(kw_only=True)
class PreferenceChange:
    """One change a customer (or an agent for them) made: kept as an audit entry, outside any journey."""

    customer_id: str
    field: str
    old: str
    new: str
    by: str
    at: datetime
