"""Business-hours calendars: working time across weekends, public holidays, closure days and daylight-saving
changes (tested at the boundaries), the config's errors, and the tasks' "3 working days" counted in them."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner

from itsmcore import Desk
from itsmcore.calendars import WorkingCalendar, expected_by, weekdays_calendar
from itsmcore.cli import cli
from itsmcore.errors import ConfigError

H = 3600.0


def london() -> WorkingCalendar:
    return WorkingCalendar(
        "london",
        timezone="Europe/London",
        hours="09:00-17:30",
        country="GB",
        subdivision="ENG",
        closed=[date(2026, 12, 24)],
    )


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


@pytest.mark.no_database
@pytest.mark.parametrize(
    ("start", "hours", "due"),
    [
        # inside one day; ending exactly at closing time is closing time
        (utc(2026, 3, 2, 9), 1, utc(2026, 3, 2, 10)),
        (utc(2026, 3, 2, 9), 8.5, utc(2026, 3, 2, 17, 30)),
        # before opening counts from opening; after closing from the next working day's opening
        (utc(2026, 3, 2, 6), 1, utc(2026, 3, 2, 10)),
        (utc(2026, 3, 2, 18), 1, utc(2026, 3, 3, 10)),
        # over a weekend
        (utc(2026, 3, 6, 17), 1, utc(2026, 3, 9, 9, 30)),
        # across the change to summer time (Sunday 29 March 2026, 01:00 UTC): Monday opens at 08:00 UTC
        (utc(2026, 3, 27, 16), 3, utc(2026, 3, 30, 9, 30)),
        (utc(2026, 3, 27, 17, 29), 1 / 60, utc(2026, 3, 27, 17, 30)),
        (utc(2026, 3, 27, 17, 30), 1 / 60, utc(2026, 3, 30, 8, 1)),
        # and back to winter time (Sunday 25 October 2026): Friday closes 16:30 UTC, Monday opens 09:00 UTC
        (utc(2026, 10, 23, 16, 29), 2 / 60, utc(2026, 10, 26, 9, 1)),
        # Easter: Good Friday 3 April and Easter Monday 6 April are bank holidays in England
        (utc(2026, 4, 2, 16), 1, utc(2026, 4, 7, 8, 30)),
        (utc(2026, 4, 2, 16, 29), 1 / 60, utc(2026, 4, 2, 16, 30)),
        (utc(2026, 4, 2, 16, 30), 1 / 60, utc(2026, 4, 7, 8, 1)),
        # the extra closure day (24 December), then Christmas and Boxing Day (observed on Monday 28th)
        (utc(2026, 12, 23, 17), 1, utc(2026, 12, 29, 9, 30)),
        # zero and below: the start itself
        (utc(2026, 3, 7, 12), 0, utc(2026, 3, 7, 12)),
    ],
)
def test_due_dates_across_weekends_holidays_and_clock_changes(start: datetime, hours: float, due: datetime) -> None:
    cal = london()
    assert cal.add(start, hours * H) == due
    if hours > 0:  # and back: the working time between them is the target
        assert cal.between(start, due) == pytest.approx(hours * H)


@pytest.mark.no_database
def test_working_time_between_counts_only_working_hours() -> None:
    cal = london()
    # Thursday 2 April 09:00 BST to Tuesday 7 April 10:00 BST: 8.5 hours, the Easter weekend, 1 hour
    assert cal.between(utc(2026, 4, 2, 8), utc(2026, 4, 7, 9)) == 9.5 * H
    assert cal.between(utc(2026, 4, 7, 9), utc(2026, 4, 2, 8)) == 0
    # the week of the change to summer time has five full days
    assert cal.between(utc(2026, 3, 23), utc(2026, 3, 28)) == 5 * 8.5 * H
    assert cal.between(utc(2026, 3, 30), utc(2026, 4, 4)) == 4 * 8.5 * H  # Good Friday off
    assert not cal.is_working(utc(2026, 4, 3, 10)) and cal.is_working(utc(2026, 4, 2, 10))
    assert not cal.is_working_day(date(2026, 12, 24)) and cal.is_working_day(date(2026, 12, 23))


@pytest.mark.no_database
def test_a_round_the_clock_day_is_23_or_25_hours_on_the_changes() -> None:
    cal = WorkingCalendar(
        "ops", timezone="Europe/London", days=["mon", "tue", "wed", "thu", "fri", "sat", "sun"], hours="00:00-24:00"
    )
    assert cal.between(datetime(2026, 3, 29, tzinfo=cal.zone), datetime(2026, 3, 30, tzinfo=cal.zone)) == 23 * H
    assert cal.between(datetime(2026, 10, 25, tzinfo=cal.zone), datetime(2026, 10, 26, tzinfo=cal.zone)) == 25 * H
    assert cal.add(utc(2026, 3, 28, 12), 24 * H) == utc(2026, 3, 29, 12)


@pytest.mark.no_database
def test_long_targets_and_far_years_lay_out_more_years() -> None:
    cal = london()
    due = cal.add(utc(2026, 12, 31, 12), 250 * 8.5 * H)  # about a working year
    assert utc(2027, 12, 1) < due < utc(2028, 2, 1)
    assert cal.between(utc(2026, 12, 31, 12), due) == pytest.approx(250 * 8.5 * H)
    assert cal.add(utc(2019, 6, 3, 9), H) == utc(2019, 6, 3, 10)  # 10:00 to 11:00 BST
    assert cal.add(utc(2019, 6, 3, 8), H) == utc(2019, 6, 3, 9)


@pytest.mark.no_database
def test_expectations_in_working_days_hours_and_plain_days() -> None:
    cal, monday = london(), utc(2026, 3, 2, 10)
    assert expected_by(cal, "3 working days", monday) == utc(2026, 3, 5, 10)
    assert expected_by(cal, "2 working hours to set up", monday) == utc(2026, 3, 2, 12)
    assert expected_by(cal, "2 days", monday) == monday + timedelta(days=2)
    assert expected_by(cal, "soon", monday) is None
    # without a configured calendar, working days are Monday to Friday, all day, in UTC
    assert expected_by(weekdays_calendar(), "3 working days", utc(2026, 3, 6, 10)) == utc(2026, 3, 11, 10)


CALENDAR = """
[calendars.london]
timezone = "Europe/London"
hours = "09:00-17:30"
country = "GB"
subdivision = "ENG"
closed = [2026-03-03]
"""


@pytest.mark.no_database
@pytest.mark.parametrize(
    ("table", "where", "says"),
    [
        (
            '[calendars.london]\ntimezone = "Europe/Londn"\n',
            "calendars.london.timezone",
            "did you mean 'Europe/London'",
        ),
        ('[calendars.london]\ncountry = "XG"\n', "calendars.london.country", "unknown country 'XG'"),
        (
            '[calendars.london]\ncountry = "GB"\nsubdivision = "ENGL"\n',
            "calendars.london.subdivision",
            "did you mean 'ENG'",
        ),
        ('[calendars.london]\nhours = "9-17"\n', "calendars.london.hours", "expected working hours like 09:00-17:30"),
        ('[calendars.london]\ndays = ["mon", "fry"]\n', "calendars.london.days", "expected day names"),
        ('[calendars.london]\nclosed = ["24 December"]\n', "calendars.london.closed[0]", "expected a date"),
    ],
)
def test_a_bad_calendar_is_a_config_error_naming_file_and_key(
    write_deployment: Callable[..., Path], table: str, where: str, says: str
) -> None:
    config = write_deployment(table, database="sqlite:///x.db")
    with pytest.raises(ConfigError) as e:
        Desk.open(config, entry_points=False, migrate=False)
    assert where in str(e.value) and says in str(e.value) and "itsm.toml" in str(e.value)
    result = CliRunner().invoke(cli, ["-c", str(config), "check"])
    assert result.exit_code == 2, result.output
    assert where in result.output and says in result.output


def test_a_tasks_working_days_are_counted_in_the_default_calendar(eagle5: Callable[..., Path]) -> None:
    # Steve's phone is ordered on Thursday 2 April 2026, before Easter: 3 working days skip
    # Good Friday, Easter Monday and the office's closure on Wednesday 8 April
    config = eagle5()  # the example's calendar is the London office's; it closes on 8 April here
    text = config.read_text()
    config.write_text(text.replace('subdivision = "ENG"\n', 'subdivision = "ENG"\nclosed = [2026-04-08]\n', 1))
    now = [utc(2026, 4, 2, 9)]
    with Desk.open(config, entry_points=False, clock=lambda: now[0]) as desk:
        assert desk.calendar().name == "london"
        phone = desk.submit("value", "steve", "", service="smartphone", answers={"reason": "visits"}).demand
        desk.approve(phone.id, "scott")
        (task,) = desk.tasks(demand_id=phone.id)
        assert task.expected == "3 working days"
        assert task.expected_at == utc(2026, 4, 10, 9)  # Friday 10 April, 10:00 BST: the hour it began
        assert (
            "expected by Friday 10 April" in desk.customer_status(phone.id).text
            or "Friday 10 April" in desk.customer_status(phone.id).text
        )
