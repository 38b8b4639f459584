"""Answers and agents' replies go back by email, in the thread of the email that opened the demand."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from click.testing import CliRunner
from conftest import SmtpServer
from itsmcore import Desk
from itsmcore.cli import cli

#: Pat has an email address but no preferred channel: only the demand's own channel sends by email.
CUSTOMERS = """\
[[customers]]
id = "pat"
name = "Pat Quinn"
email = "pat@eagle5.example"
role = "sales"
department = "Sales"
"""


def pat_deployment(deployment: Callable[..., Path], smtp: SmtpServer | None) -> Path:
    config = deployment(smtp, preferred=False)
    (config.parent / "customers.toml").write_text(CUSTOMERS, encoding="utf-8")
    return config


def email_in(config: Path, message_id: str, subject: str, body: str) -> str:
    raw = (
        f"From: Pat Quinn <pat@eagle5.example>\nTo: support@eagle5.example\nSubject: {subject}\n"
        f"Message-ID: {message_id}\nDate: Mon, 3 Mar 2025 10:00:00 +0000\n"
        f"Content-Type: text/plain; charset=utf-8\n\n{body}\n"
    ).encode()
    r = CliRunner().invoke(cli, ["-c", str(config), "email", "ingest"], input=raw, catch_exceptions=False)
    assert r.output.startswith("created demand "), r.output
    return r.output.split()[2]


def test_an_emailed_question_gets_its_self_service_answer_by_email_in_the_same_thread(
    deployment: Callable[..., Path], smtp: SmtpServer
) -> None:
    config = pat_deployment(deployment, smtp)
    with Desk.open(config) as desk:
        desk.submit("value", "pat", "", service="expensatron", channel="portal")
    assert smtp.received == [], "Pat asked on the portal and prefers no channel: nothing is emailed"

    original = "<question-1@laptop.eagle5.example>"
    demand_id = int(email_in(config, original, "Any news on my request?", "Where is my Expensatron request?"))

    # the acknowledgement and the answer, both back by email in the question's thread
    ack, got = smtp.received
    assert str(ack.message()["Subject"]).startswith("We have your question")
    msg = got.message()
    assert got.rcpt_tos == ["pat@eagle5.example"]
    for m in (ack.message(), msg):
        assert str(m["In-Reply-To"]).strip() == original and original in m["References"]
    assert "Expensatron" in msg.get_body(preferencelist=("plain",)).get_content()
    with Desk.open(config) as desk:
        assert desk.get(demand_id).state == "answered"
        sent = [e.customer_sees for e in desk.journey(demand_id) if e.kind == "notification"]
        assert "We emailed the answer to pat@eagle5.example." in sent


def test_an_agents_reply_on_an_emailed_incident_is_emailed_and_a_note_is_not(
    deployment: Callable[..., Path], smtp: SmtpServer
) -> None:
    config = pat_deployment(deployment, smtp)
    original = "<printer-1@laptop.eagle5.example>"
    demand_id = int(email_in(config, original, "Printer jammed on floor 3", "It is jammed again."))
    [ack] = smtp.received  # an emailed report is acknowledged by email, in its thread
    assert str(ack.message()["In-Reply-To"]).strip() == original
    with Desk.open(config) as desk:
        desk.record_event(demand_id, actor="agent", behind_scenes="patrick: roller worn", kind="note")
        desk.comment(demand_id, "Is it the one by the window?", actor="agent", channel="portal")
        desk.comment(demand_id, "Yes it is.", actor="customer", channel="portal")
        journey = desk.journey(demand_id)
    [_ack, got] = smtp.received
    msg = got.message()
    assert str(msg["In-Reply-To"]).strip() == original
    assert msg.get_body(preferencelist=("plain",)).get_content().startswith("Is it the one by the window?")
    assert all("roller" not in r.data.decode() for r in smtp.received)
    assert "We emailed our reply to pat@eagle5.example." in [e.customer_sees for e in journey]


def test_a_reply_the_mail_server_refuses_is_not_said_to_be_sent(deployment: Callable[..., Path]) -> None:
    config = pat_deployment(deployment, None)  # nothing listens on the configured port
    demand_id = int(email_in(config, "<printer-2@laptop.eagle5.example>", "Printer jammed", "Jammed."))
    with Desk.open(config) as desk:
        desk.comment(demand_id, "On my way.", actor="agent")
        [job] = [j for j in desk.jobs(demand_id=demand_id) if j.params.get("purpose") == "reply"]
        assert job.state == "pending" and job.error, "left for a retry"
        assert not any(e.kind == "notification" and "reply" in e.customer_sees for e in desk.journey(demand_id))
