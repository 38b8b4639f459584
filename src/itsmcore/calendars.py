"""Working time: business-hours calendars and the arithmetic every "working" figure uses.

A :class:`WorkingCalendar` knows when an office works: its time zone, working days and
hours, the public holidays of its country (and subdivision) from the ``holidays``
package, and extra closure days. It answers two questions, both in constant-ish time
whatever the span:

- :meth:`~WorkingCalendar.add`: the moment ``seconds`` of working time after ``start``
  (a due date);
- :meth:`~WorkingCalendar.between`: the working seconds between two moments (a clock).

Each year is laid out once as sorted arrays of working windows in epoch seconds, with the
working time accrued up to the end of each window; a question is two binary searches.
The windows are computed in the calendar's time zone day by day, so a daylight-saving
change moves them as it moves the office's clocks, and a working day is as long on the
day the clocks change as on any other (23 or 25 hours only for a calendar working round
the clock). The module imports nothing of the project's and ``holidays`` only when a
calendar with a country first lays out a year.
"""

from __future__ import annotations

import re
from bisect import bisect_left, bisect_right
from collections.abc import Iterable
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

#: Day names as written in a config, Monday first.
DAY_NAMES = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")

_RANGE = re.compile(r"^\s*(\d{1,2}):(\d{2})\s*-\s*(\d{1,2}):(\d{2})\s*$")
#: "3 working days", "4 working hours", "2 days", "90 minutes": an expectation as configured.
_EXPECTED = re.compile(r"^\s*(\d{1,4}(?:\.\d+)?)\s+(working\s+|business\s+)?(day|hour|minute)s?\b", re.IGNORECASE)
#: The farthest a calendar lays out: a question beyond this is refused rather than looped on.
_MAX_YEARS = 60


def parse_hours(text: str) -> tuple[tuple[int, int], ...]:
    """``"09:00-12:30, 13:30-17:30"`` as ``((540, 750), (810, 1050))``: minutes of the day; ValueError otherwise."""
    out: list[tuple[int, int]] = []
    for part in text.split(","):
        m = _RANGE.match(part)
        if not m:
            raise ValueError(
                f"expected working hours like 09:00-17:30 (or several: 08:00-12:00, 13:00-17:00), got {text!r}"
            )
        h1, m1, h2, m2 = (int(g) for g in m.groups())
        start, end = h1 * 60 + m1, h2 * 60 + m2
        if h1 > 23 or m1 > 59 or m2 > 59 or end > 24 * 60 or end <= start:
            raise ValueError(f"{part.strip()!r} is not a range of the day (from 00:00 to 24:00, start before end)")
        if out and start < out[-1][1]:
            raise ValueError(f"{part.strip()!r} overlaps or comes before the range before it")
        out.append((start, end))
    return tuple(out)


class WorkingCalendar:
    """When an office works; see the module's docstring. Build once and reuse: years are laid out lazily and kept."""

    def __init__(
        self,
        name: str,
        *,
        timezone: str = "UTC",
        days: Iterable[str] = DAY_NAMES[:5],
        hours: str = "09:00-17:00",
        country: str = "",
        subdivision: str = "",
        closed: Iterable[date] = (),
    ):
        self.name = name
        self.timezone = timezone
        self.zone = ZoneInfo(timezone)
        self.days = frozenset(DAY_NAMES.index(d) for d in days)
        self.hours = parse_hours(hours)
        self.country = country
        self.subdivision = subdivision
        self.closed = frozenset(closed)
        if not self.days or not self.hours:
            raise ValueError(f"calendar {name!r} has no working time")
        #: The working time of a full working day, in seconds: what "1 working day" means.
        self.day_seconds = float(sum(end - start for start, end in self.hours) * 60)
        self._first_year = 0
        self._last_year = -1
        self._starts: list[float] = []
        self._ends: list[float] = []
        self._cum: list[float] = []  # working seconds from the first window's start to each window's end

    def __repr__(self) -> str:
        where = f", {self.country}{'-' + self.subdivision if self.subdivision else ''}" if self.country else ""
        return f"<WorkingCalendar {self.name} ({self.timezone}{where})>"

    # ------------------------------------------------------------------ layout

    def holidays(self, year: int) -> dict[date, str]:
        """The public holidays of the calendar's country in ``year`` (none without a country)."""
        if not self.country:
            return {}
        import holidays as _holidays

        found = _holidays.country_holidays(self.country, subdiv=self.subdivision or None, years=year)
        return dict(found.items())

    def _year_windows(self, year: int) -> tuple[list[float], list[float]]:
        holidays = self.holidays(year)
        starts: list[float] = []
        ends: list[float] = []
        day = date(year, 1, 1)
        one = timedelta(days=1)
        while day.year == year:
            if day.weekday() in self.days and day not in holidays and day not in self.closed:
                for a, b in self.hours:
                    starts.append(self._epoch(day, a))
                    ends.append(self._epoch(day, b))
            day += one
        return starts, ends

    def _epoch(self, day: date, minute: int) -> float:
        if minute >= 24 * 60:
            day, minute = day + timedelta(days=1), minute - 24 * 60
        local = datetime.combine(day, time(minute // 60, minute % 60), tzinfo=self.zone)
        return local.timestamp()

    def _cover(self, year: int) -> None:
        """Lay out every year from the first laid out to ``year`` (or from ``year`` to the last)."""
        if self._first_year <= year <= self._last_year:
            return
        if self._last_year < self._first_year:  # nothing yet
            first, last = year - 1, year + 1
        else:
            first, last = min(self._first_year, year), max(self._last_year, year)
        if last - first > _MAX_YEARS:
            raise ValueError(f"calendar {self.name!r}: {year} is too far from the years already in use")
        starts: list[float] = []
        ends: list[float] = []
        for y in range(first, last + 1):
            if self._first_year <= y <= self._last_year:
                lo = bisect_left(self._starts, datetime(y, 1, 1, tzinfo=self.zone).timestamp())
                hi = bisect_left(self._starts, datetime(y + 1, 1, 1, tzinfo=self.zone).timestamp())
                starts += self._starts[lo:hi]
                ends += self._ends[lo:hi]
            else:
                year_starts, year_ends = self._year_windows(y)
                starts += year_starts
                ends += year_ends
        cum: list[float] = []
        total = 0.0
        for a, b in zip(starts, ends, strict=True):
            total += b - a
            cum.append(total)
        self._starts, self._ends, self._cum = starts, ends, cum
        self._first_year, self._last_year = first, last

    def _year_of(self, epoch: float) -> int:
        return datetime.fromtimestamp(epoch, self.zone).year

    # ------------------------------------------------------------------ questions

    def add(self, start: datetime, seconds: float) -> datetime:
        """The moment ``seconds`` of working time after ``start`` (UTC); ``start`` itself for 0 or less.

        Starting outside working hours counts from the next opening; a result that lands
        exactly on a closing time is that closing time (not the next opening).
        """
        if seconds <= 0:
            return start
        e = start.timestamp()
        self._ensure(e)
        while True:
            ends, cum = self._ends, self._cum
            i = bisect_right(ends, e)
            s_i = self._starts[i]
            target = cum[i] - (ends[i] - s_i) + (e - s_i if e > s_i else 0.0) + seconds
            j = bisect_left(cum, target, lo=i)
            if j < len(ends):
                return datetime.fromtimestamp(ends[j] - (cum[j] - target), UTC)
            self._cover(self._last_year + 1 + int(seconds // (self.day_seconds * 200)))

    def add_days(self, start: datetime, days: float) -> datetime:
        """``days`` working days after ``start``: that many of the calendar's full working days of working time."""
        return self.add(start, days * self.day_seconds)

    def between(self, start: datetime, end: datetime) -> float:
        """Working seconds from ``start`` to ``end`` (0 when ``end`` is not after ``start``)."""
        if end <= start:
            return 0.0
        return self._accrued(end.timestamp()) - self._accrued(start.timestamp())

    def _accrued(self, e: float) -> float:
        """Working seconds from the first laid-out window's start to ``e``."""
        self._ensure(e)
        i = bisect_right(self._ends, e)
        s_i = self._starts[i]
        return self._cum[i] - (self._ends[i] - s_i) + (e - s_i if e > s_i else 0.0)

    def _ensure(self, e: float) -> None:
        """Lay out years until ``e`` falls after the first window's start and before the last window's end."""
        while not (self._starts and self._starts[0] <= e < self._ends[-1]):
            year = self._year_of(e)
            if self._last_year < self._first_year:
                self._cover(year)
            elif year <= self._first_year:
                self._cover(self._first_year - 1)
            else:
                self._cover(self._last_year + 1)

    def is_working(self, at: datetime) -> bool:
        """Whether ``at`` falls in working hours."""
        e = at.timestamp()
        self._ensure(e)
        i = bisect_right(self._ends, e)
        return i < len(self._ends) and self._starts[i] <= e

    def is_working_day(self, day: date) -> bool:
        """Whether ``day`` has working hours (a working weekday, not a holiday, not closed)."""
        return day.weekday() in self.days and day not in self.closed and day not in self.holidays(day.year)


#: The calendar used when a deployment declares none: Monday to Friday, all day, in UTC,
#: no holidays (what "3 working days" meant before calendars could be configured).
WEEKDAYS = "weekdays"


def weekdays_calendar() -> WorkingCalendar:
    return WorkingCalendar(WEEKDAYS, timezone="UTC", days=DAY_NAMES[:5], hours="00:00-24:00")


def expected_by(calendar: WorkingCalendar, expected: str, start: datetime) -> datetime | None:
    """The moment an expectation ("3 working days", "4 working hours", "2 days") works out to from ``start``.

    Working days and hours are counted in ``calendar``'s working time; plain days, hours
    and minutes are wall-clock time. ``None`` for words that are not a number of them.
    """
    m = _EXPECTED.match(expected)
    if m is None:
        return None
    amount, working, unit = float(m.group(1)), bool(m.group(2)), m.group(3).lower()
    if not working:
        return start + timedelta(**{f"{unit}s": amount})
    if unit == "day":
        return calendar.add_days(start, amount)
    return calendar.add(start, amount * (3600 if unit == "hour" else 60))
