"""Preferences the customer controls (#20, item 2): channels in order, quiet hours, language, surveys."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, time
from pathlib import Path

import pytest
from click.testing import CliRunner

from itsmcore import Desk, InvalidInput, QuietHours
from itsmcore.cli import cli

#: Two more channels that reach everyone (the log channel writing files), so order can be seen.
CHANNELS = """
[channels.mail]
use = "log"
path = "mail.txt"
[channels.text]
use = "log"
path = "text.txt"
"""


class Clock:
    def __init__(self, now: datetime):
        self.now = now

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock(datetime(2026, 12, 7, 12, 0, tzinfo=UTC))  # a Monday, noon in London


@pytest.fixture
def config(eagle5: Callable[..., Path]) -> Path:
    return eagle5(extra=CHANNELS)


@pytest.fixture
def desk(config: Path, clock: Clock) -> Iterator[Desk]:
    with Desk.open(config, entry_points=False, clock=clock) as d:
        yield d


def last_channel(desk: Desk, customer: str) -> str:
    return str(desk.messages(customer=customer, limit=1)[0]["channel"])


def test_the_customers_channel_order_overrides_the_directory_and_is_audited(desk: Desk) -> None:
    before = desk.preferences("steve")
    assert before.source == "directory" and before.channels == ("email", "sms")  # neither is offered here
    assert desk.offered_channels("steve") == ["mail", "text"]
    desk.notify("steve", "Hello", "First")
    assert last_channel(desk, "steve") == "log", "no preferred channel can reach him: the default"

    prefs = desk.set_preferences("steve", by="steve", channels=["text", "mail"])
    assert (prefs.channels, prefs.source, prefs.updated_by) == (("text", "mail"), "customer", "steve")
    desk.notify("steve", "Hello", "Second")
    assert last_channel(desk, "steve") == "text"
    desk.set_preferences("steve", by="alice (for steve)", channels=["mail"])
    desk.notify("steve", "Hello", "Third")
    assert last_channel(desk, "steve") == "mail"
    changes = desk.preference_changes("steve")
    assert [(c.field, c.old, c.new, c.by) for c in changes] == [
        ("channels", "text, mail", "mail", "alice (for steve)"),
        ("channels", "email, sms", "text, mail", "steve"),
    ]
    assert desk.customer_profile("steve").preferences == desk.preferences("steve")


def test_a_channel_the_deployment_does_not_offer_is_refused_with_the_offered_ones(desk: Desk) -> None:
    with pytest.raises(InvalidInput, match="'chat' cannot reach Steve Jones; the channels offered are: mail, text"):
        desk.set_preferences("steve", by="steve", channels=["text", "chat"])
    with pytest.raises(InvalidInput, match="did you mean 'Europe/London'"):
        desk.set_preferences("steve", by="steve", quiet_hours="22:00-07:00", time_zone="Europe/Londn")
    with pytest.raises(InvalidInput, match="expected HH:MM-HH:MM"):
        desk.set_preferences("steve", by="steve", quiet_hours="10pm-7am")
    with pytest.raises(InvalidInput, match="unknown language 'xx-yy'"):
        desk.set_preferences("steve", by="steve", language="xx-yy")
    assert desk.preferences("steve").source == "directory", "nothing was stored"
    assert desk.preference_changes("steve") == []


def test_quiet_hours_hold_news_but_not_outages(desk: Desk, clock: Clock) -> None:
    desk.set_preferences("steve", by="steve", channels=["text"], quiet_hours="22:00-07:00", time_zone="Europe/London")
    clock.now = datetime(2026, 12, 7, 23, 30, tzinfo=UTC)  # 23:30 in London (GMT)
    sent = len(desk.messages(customer="steve"))
    desk.notify("steve", "Your order", "It shipped")
    job = desk.jobs(limit=1)[0]
    assert (job.state, job.attempts) == ("pending", 0), "held, and the wait costs no attempt"
    assert job.run_after == datetime(2026, 12, 8, 7, 0, tzinfo=UTC)
    assert len(desk.messages(customer="steve")) == sent

    desk.open_announcement("crm", "CRM is down for everyone")
    assert any(m["purpose"] == "announcement" for m in desk.messages(customer="steve")), "outages still go"

    clock.now = datetime(2026, 12, 8, 7, 1, tzinfo=UTC)
    desk.run_due_jobs()
    assert desk.job(job.id).state == "done"
    assert desk.messages(customer="steve", limit=1)[0]["body"].startswith("It shipped")


def test_quiet_hours_across_midnight_and_a_daylight_saving_change() -> None:
    quiet = QuietHours(start=time(22, 0), end=time(7, 0), time_zone="Europe/London")
    assert quiet.contains(datetime(2026, 1, 5, 23, 0, tzinfo=UTC))
    assert quiet.contains(datetime(2026, 1, 5, 6, 59, tzinfo=UTC))
    assert not quiet.contains(datetime(2026, 1, 5, 7, 0, tzinfo=UTC))
    assert not quiet.contains(datetime(2026, 1, 5, 21, 59, tzinfo=UTC))
    # the clocks go forward at 01:00 GMT on 29 March 2026: 07:00 BST is 06:00 UTC
    night = datetime(2026, 3, 28, 23, 30, tzinfo=UTC)
    assert quiet.ends_after(night) == datetime(2026, 3, 29, 6, 0, tzinfo=UTC)
    # and back at 01:00 UTC on 25 October: 22:00 BST the evening before is 21:00 UTC
    assert quiet.contains(datetime(2026, 10, 24, 21, 30, tzinfo=UTC))
    assert quiet.ends_after(datetime(2026, 10, 24, 21, 30, tzinfo=UTC)) == datetime(2026, 10, 25, 7, 0, tzinfo=UTC)
    daytime = QuietHours(start=time(12, 0), end=time(13, 0), time_zone="UTC")
    assert daytime.contains(datetime(2026, 1, 5, 12, 30, tzinfo=UTC))
    assert not daytime.contains(datetime(2026, 1, 5, 13, 30, tzinfo=UTC))
    assert not QuietHours(start=time(9), end=time(9)).contains(datetime(2026, 1, 5, 9, tzinfo=UTC))


def test_a_customer_who_opted_out_is_not_surveyed(desk: Desk) -> None:
    assert desk.survey_allowed("tony")[0]
    desk.set_preferences("tony", by="tony", surveys=False)
    assert desk.survey_allowed("tony") == (False, "the customer asked not to be surveyed")


def test_language_from_preferences_then_directory_then_default(
    eagle5: Callable[..., Path], caplog: pytest.LogCaptureFixture
) -> None:
    config = eagle5(extra=CHANNELS)
    customers = config.parent / "customers.toml"
    text = customers.read_text()
    text = text.replace('id = "tony"\n', 'id = "tony"\nlanguage = "fr"\n', 1)
    text = text.replace('id = "steve"\n', 'id = "steve"\nlanguage = "klingon-xx"\n', 1)
    customers.write_text(text)
    with Desk.open(config, entry_points=False) as desk:
        assert desk.preferences("tony").language == "fr"
        with caplog.at_level(logging.WARNING, logger="itsmcore.desk"):
            assert desk.preferences("steve").language == "en"
            assert desk.preferences("steve").language == "en"
        told = [r for r in caplog.records if "klingon-xx" in r.getMessage()]
        assert len(told) == 1, "an unknown code is recorded once, never shown to the customer"
        assert desk.set_preferences("tony", by="tony", language="de-CH").language == "de_CH"


def test_cli_shows_and_changes_preferences(config: Path) -> None:
    runner = CliRunner()
    r = runner.invoke(
        cli,
        [
            "-c",
            str(config),
            "customer",
            "preferences",
            "steve",
            "--channels",
            "text,mail",
            "--no-surveys",
            "--format",
            "json",
        ],
    )
    assert r.exit_code == 0, r.output
    shown = json.loads(r.output)
    assert shown["channels"] == ["text", "mail"] and shown["surveys"] is False
    assert shown["offered"] == ["mail", "text"]
    assert {c["field"] for c in shown["changes"]} == {"channels", "surveys"}
    r = runner.invoke(cli, ["-c", str(config), "customer", "preferences", "steve", "--channels", "chat"])
    assert r.exit_code != 0 and "the channels offered are: mail, text" in r.output
    r = runner.invoke(cli, ["-c", str(config), "customer", "show", "steve"])
    assert "text, mail; en; no surveys (their choice)" in r.output


def test_one_message_reads_the_customers_choices_once(desk: Desk) -> None:
    from sqlalchemy import event

    desk.set_preferences("steve", by="steve", channels=["text"], language="fr", quiet_hours="22:00-07:00")
    reads: list[str] = []

    def seen(_conn: object, _cursor: object, statement: str, *_: object) -> None:
        if statement.lstrip().upper().startswith("SELECT") and "customer_preferences" in statement:
            reads.append(statement)

    event.listen(desk.engine, "before_cursor_execute", seen)
    try:
        desk.notify("steve", "Hello", "Your order shipped")  # quiet hours, channel and language all asked
    finally:
        event.remove(desk.engine, "before_cursor_execute", seen)
    assert last_channel(desk, "steve") == "text"
    assert len(reads) == 1, reads
    assert desk.preferences("steve").language == "fr", "outside a message, a fresh read"
