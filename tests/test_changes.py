"""Planned changes: recorded, approved by every approver once, announced ahead of the window, asked about.

Through the Eagle5 example (the CRM and its servers), the desk's public API and the command
line, on the run's database (SQLite, or PostgreSQL).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

from click.testing import CliRunner

from itsmcore import ChangeState, Conflict
from itsmcore.cli import cli
from itsmcore.desk import Desk

#: A Friday; the upgrade is planned for the Wednesday after.
NOW = datetime(2026, 12, 4, 9, 0, tzinfo=UTC)
START = datetime(2026, 12, 9, 18, 0, tzinfo=UTC)
END = datetime(2026, 12, 9, 22, 0, tzinfo=UTC)


class Clock:
    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


def run(config: Path, *args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli, ["-c", str(config), *args])
    return result.exit_code, result.stdout, result.stderr


def _new(config: Path, *extra: str) -> tuple[int, str, str]:
    return run(
        config,
        "change",
        "new",
        "Quote system upgrade",
        "--service",
        "crm",
        "--start",
        "2026-12-09 18:00",
        "--end",
        "2026-12-09 22:00",
        "--approver",
        "scott",
        "--approver",
        "patrick",
        "--risk",
        "medium",
        *extra,
    )


def test_every_approver_decides_once_and_subscribers_hear_before_during_and_after(
    eagle5: Callable[..., Path],
) -> None:
    config = eagle5()
    code, out, err = _new(config, "--format", "json")
    assert code == 0, out + err
    cid = json.loads(out)["id"]
    assert json.loads(out)["waiting_for"] == ["scott", "patrick"]
    code, out, err = run(config, "change", "approve", str(cid), "--as", "scott", "--note", "fine by me")
    assert code == 0 and "waiting for patrick" in out, out + err
    # the same approver twice: refused, naming when they decided, and nothing changes
    code, out, err = run(config, "change", "approve", str(cid), "--as", "scott")
    assert code != 0 and "scott already approved change" in err and "once" in err
    # someone who is not an approver
    code, out, err = run(config, "change", "approve", str(cid), "--as", "steve")
    assert code != 0 and "not an approver" in err and "scott, patrick" in err
    code, out, err = run(config, "change", "approve", str(cid), "--as", "nina", "--on-behalf-of", "patrick")
    assert code == 0 and "approved" in out, out + err
    code, out, err = run(config, "change", "show", str(cid), "--format", "json")
    shown = json.loads(out)
    assert shown["state"] == "approved"
    assert [(d["approver"], d["on_behalf_of"], d["approved"]) for d in shown["decisions"]] == [
        ("scott", None, True),
        ("nina", "patrick", True),
    ]
    assert shown["decisions"][0]["note"] == "fine by me"
    clock = Clock(START - timedelta(hours=49))
    with Desk.open(config, clock=clock) as desk:
        desk.run_due_jobs()
        assert desk.announcements(open_only=True, service="crm") == []  # not yet: 48 hours ahead
        clock.now = START - timedelta(hours=47)
        desk.run_due_jobs()
        (ann,) = desk.announcements(open_only=True, service="crm")
        assert ann.title == "Planned work: Quote system upgrade"
        assert "Wed 9 Dec 18:00 UTC to Wed 9 Dec 22:00 UTC" in ann.description
        assert desk.ledger(ann.id).subscribers >= 2
        assert desk.get_change(cid).announcements == (ann.id,)
        clock.now = START
        assert desk.start_change(cid).state == ChangeState.IN_PROGRESS
        assert "has started" in desk.announcements(open_only=True, service="crm")[0].description
        clock.now = END - timedelta(minutes=10)
        done = desk.complete_change(cid, "Quotes now open in a second.")
        assert done.state == ChangeState.COMPLETED and done.ended_at == clock.now
        assert desk.announcements(open_only=True, service="crm") == []
        assert "is finished" in next(a for a in desk.announcements() if a.id == ann.id).resolution
        # finished: any further step is refused, naming what is allowed (nothing)
        try:
            desk.cancel_change(cid)
        except Conflict as e:
            assert e.allowed == [] and "nothing (it is finished)" in str(e)
        else:
            raise AssertionError("a completed change was cancelled")
    code, out, err = run(config, "change", "calendar", "--from", "2026-12-07", "--days", "7", "--format", "json")
    assert code == 0 and [c["id"] for c in json.loads(out)] == [cid], out + err


def test_a_failure_reported_before_the_work_begins_is_not_the_planned_work(eagle5: Callable[..., Path]) -> None:
    """The notice goes out two days ahead; a report in between is a failure of its own, not "known".

    Linked to the planned work, Steve would read that his report was known and fixed when the
    work ends, two days later, for work that had not begun and that did not cause it. From the
    window's start (or the work's, if begun early) a report is the work's, and the customer reads
    when it should end. A customer who presses "This affects me" on the notice links it himself.
    """
    config = eagle5()
    code, out, err = _new(config, "--format", "json")
    assert code == 0, out + err
    cid = json.loads(out)["id"]
    for approver in ("scott", "patrick"):
        assert run(config, "change", "approve", str(cid), "--as", approver)[0] == 0
    clock = Clock(START - timedelta(hours=47))
    with Desk.open(config, clock=clock) as desk:
        desk.run_due_jobs()
        (notice,) = desk.announcements(open_only=True, service="crm")
        assert "planned from Wed 9 Dec 18:00 UTC to Wed 9 Dec 22:00 UTC" in notice.description
        assert notice.estimate == "", "nothing is broken yet: nothing to expect fixed"
        early = desk.submit("failure", "steve", "The CRM will not save a contact", service="crm", channel="portal")
        assert early.demand.announcement_id is None and early.demand.cause != "announced_outage"
        assert "We know about this" not in early.acknowledgement
        assert "Planned work" not in desk.customer_status(early.demand.id).sentence
        assert not desk.ledger(notice.id).affected
        # pressing "This affects me" on the notice: the customer's own link
        chosen = desk.submit(
            "failure", "tony", "Quotes will be down", service="crm", channel="portal", announcement_id=notice.id
        )
        assert chosen.demand.announcement_id == notice.id
        # the window opens (nobody has started the work yet): a report now is the work's
        clock.now = START + timedelta(minutes=5)
        during = desk.submit("failure", "steve", "Quotes do not open", service="crm", channel="portal")
        assert during.demand.announcement_id == notice.id
        assert "We know about this: Planned work: Quote system upgrade." in during.acknowledgement
        # the work is started: the customers it touches read when it should end
        desk.start_change(cid)
        status = desk.customer_status(during.demand.id)
        assert "We know about this: Planned work: Quote system upgrade." in status.sentence
        assert status.expected == "We expect it fixed by Wed 9 Dec 22:00 UTC."


def test_one_no_rejects_and_a_change_without_customer_impact_is_not_announced(eagle5: Callable[..., Path]) -> None:
    config = eagle5()
    clock = Clock(NOW)
    with Desk.open(config, clock=clock) as desk:
        c = desk.new_change(
            "Database patch",
            start=START,
            end=END,
            items=["crm-db-01"],  # its services come from the impact walk
            approvers=["scott"],
            customer_impact=False,
        )
        assert c.services == ("crm",) and c.items == ("crm-db-01",)
        assert desk.approve_change(c.id, "scott").state == ChangeState.APPROVED
        clock.now = END
        desk.run_due_jobs()
        desk.start_change(c.id)
        assert desk.announcements(service="crm") == []
        other = desk.new_change("Quote system upgrade", start=START, end=END, services=["crm"], approvers=["scott"])
        rejected = desk.reject_change(other.id, "scott", "Not during the quarter's close.")
        assert rejected.state == ChangeState.REJECTED
        assert rejected.decisions[0].note == "Not during the quarter's close."
        assert other.id not in [x.id for x in desk.change_calendar(START - timedelta(days=1), 3)]


def test_bad_changes_are_refused_clearly_and_nothing_is_kept(eagle5: Callable[..., Path]) -> None:
    config = eagle5()
    # a window that ends before it starts: both times named
    code, out, err = run(
        config,
        "change",
        "new",
        "Quote system upgrade",
        "--service",
        "crm",
        "--start",
        "2026-12-09 18:00",
        "--end",
        "2026-12-09 17:00",
        "--approver",
        "scott",
    )
    assert code != 0 and "Wed 9 Dec 17:00 UTC" in err and "Wed 9 Dec 18:00 UTC" in err, err
    # an unknown service or item: a close match
    code, _, err = run(
        config, "change", "new", "x", "--service", "crmm", "--start", "2026-12-09", "--end", "2026-12-10",
        "--approver", "scott",
    )  # fmt: skip
    assert code != 0 and "did you mean 'crm'" in err, err
    code, _, err = run(
        config, "change", "new", "x", "--ci", "crm-app-02", "--start", "2026-12-09", "--end", "2026-12-10",
        "--approver", "scott",
    )  # fmt: skip
    assert code != 0 and "did you mean 'crm-app-01'" in err, err
    code, out, _ = run(config, "change", "list", "--format", "json")
    assert json.loads(out) == []
    # a step the change cannot take from where it is: the allowed ones listed
    code, out, err = _new(config)
    assert code == 0, out + err
    code, _, err = run(config, "change", "start", "1")
    assert code != 0 and "is proposed and cannot become in_progress" in err and "approved, cancelled, rejected" in err
    code, _, err = run(config, "change", "reject", "1", "--as", "scott", "--reason", " ")
    assert code != 0 and "please say why" in err


def _answer(desk: Desk, demand_id: int) -> str:
    """What the customer was told as the answer (the event that answered the question)."""
    return next(e.customer_sees for e in desk.journey(demand_id) if "answered by self-service" in e.behind_scenes)


def test_steve_asks_whether_the_quote_system_upgrade_is_done_by_thursday(eagle5: Callable[..., Path]) -> None:
    config = eagle5()
    clock = Clock(NOW)
    with Desk.open(config, clock=clock) as desk:
        c = desk.new_change(
            "Quote system upgrade", start=START, end=END, services=["crm"], approvers=["scott", "patrick"]
        )
        asked = desk.submit("information", "steve", "Will the quote system upgrade be completed by Thursday?")
        said = _answer(desk, asked.demand.id)
        assert "not approved yet" in said and "Wed 9 Dec 18:00 UTC to Wed 9 Dec 22:00 UTC" in said
        desk.approve_change(c.id, "scott")
        desk.approve_change(c.id, "patrick")
        asked = desk.submit("information", "steve", "Will the quote system upgrade be completed by Thursday?")
        assert desk.get(asked.demand.id).state == "answered"
        said = _answer(desk, asked.demand.id)
        assert said == (
            "Quote system upgrade is approved and planned for Wed 9 Dec 18:00 UTC to Wed 9 Dec 22:00 UTC. "
            "So yes, it is planned to be done by Thursday."
        )
        answer = desk.suggest_answer("steve", "Will the quote system upgrade be done by Tuesday?")
        assert answer is not None and "So no, it is planned to finish after Tuesday." in answer.text
        # a question about using the service is not answered from the change
        for how_to in ("How do I get a quote in the CRM?", "How do I upgrade the CRM app on my phone?"):
            answer = desk.suggest_answer("steve", how_to)
            assert answer is None or "Quote system upgrade" not in answer.text, how_to
        answer = desk.suggest_answer("steve", "Is the CRM upgrade done by Thursday?")
        assert answer is not None and answer.text.startswith("Quote system upgrade is approved")
        clock.now = START + timedelta(hours=1)
        desk.start_change(c.id)
        answer = desk.suggest_answer("steve", "Is the quote system upgrade finished?")
        assert answer is not None and answer.text.startswith("Quote system upgrade is under way now")


def test_a_bad_changes_table_names_the_file_and_key_and_exits_2(write_deployment: Callable[..., Path]) -> None:
    config = write_deployment("[changes]\nnotice_houres = 12\n")
    code, out, err = run(config, "check")
    assert code == 2, out + err
    assert "changes.notice_houres" in err and "did you mean 'notice_hours'" in err and str(config) in err
    config = write_deployment('[changes]\nnotice_hours = "two days"\n', name="second")
    code, out, err = run(config, "check")
    assert code == 2 and "changes.notice_hours" in err and "expected a number of hours" in err, out + err


def test_approvers_are_asked_and_reminded_once_and_a_late_approval_is_announced_at_once(
    eagle5: Callable[..., Path],
) -> None:
    config = eagle5()
    clock = Clock(NOW)
    with Desk.open(config, clock=clock) as desk:
        c = desk.new_change(
            "Quote system upgrade", start=START, end=END, services=["crm"], approvers=["scott", "susan"]
        )
        desk.run_due_jobs()
        for who in ("scott", "susan"):
            (asked,) = [m for m in desk.messages(customer=who) if m["purpose"] == "approval"]
            assert "Quote system upgrade" in asked["subject"]
        desk.approve_change(c.id, "scott")
        clock.now = NOW + timedelta(hours=desk.config.approvals.remind_after_hours + 1)
        desk.run_due_jobs()
        assert [m for m in desk.messages(customer="susan") if m["purpose"] == "approval_reminder"]
        assert not [m for m in desk.messages(customer="scott") if m["purpose"] == "approval_reminder"]
        # approved less than notice_hours before the window: the subscribers are told at once
        clock.now = START - timedelta(hours=3)
        desk.approve_change(c.id, "susan")
        desk.run_due_jobs()
        (ann,) = desk.announcements(open_only=True, service="crm")
        assert desk.get_change(c.id).announcements == (ann.id,)
        # called off after the notice: the announcement is resolved saying nothing changes
        desk.cancel_change(c.id, "The supplier postponed it.")
        (done,) = [a for a in desk.announcements() if a.id == ann.id]
        assert str(done.state) == "resolved" and "called off, so nothing changes for you" in done.resolution
