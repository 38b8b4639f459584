"""A deployment with `[channels.email] use = "email"` pointed at aiosmtpd: notify, then take the reply in."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from click.testing import CliRunner
from conftest import SmtpServer
from itsmcore import Desk
from itsmcore.cli import cli


def test_value_demand_notification_and_reply(deployment: Callable[..., Path], smtp: SmtpServer) -> None:
    config = deployment(smtp)
    with Desk.open(config) as desk:
        receipt = desk.submit("value", "steve", "I need Expensatron", service="expensatron", channel="portal")
        demand_id = receipt.demand.id
        [sent] = desk.messages(demand_id=demand_id)
        assert sent["channel"] == "email" and sent["address"] == "steve@eagle5.example"

    [got] = smtp.received
    assert got.rcpt_tos == ["steve@eagle5.example"] and got.mail_from == "support@eagle5.example"
    msg = got.message()
    assert msg["Message-ID"] == sent["reference"], "the Message-ID is the delivery's reference"
    assert msg["Auto-Submitted"] == "auto-generated"
    assert msg["Subject"].endswith(f"[#{demand_id}]")
    assert str(msg["From"]) == "Eagle5 IT <support@eagle5.example>"
    assert str(msg["Reply-To"]).startswith(f"support+{demand_id}-")
    assert msg["X-Itsm-Demand"] == str(demand_id)
    assert msg.get_body(preferencelist=("html",)) is not None
    assert "Expensatron" in msg.get_body(preferencelist=("plain",)).get_content()

    # Steve answers from his phone: In-Reply-To our Message-ID, to the Reply-To address
    reply = (
        f"From: Steve Jones <steve@eagle5.example>\n"
        f"To: {msg['Reply-To']}\n"
        f"Subject: Re: {msg['Subject']}\n"
        f"Message-ID: <reply-1@phone.eagle5.example>\n"
        f"In-Reply-To: {msg['Message-ID']}\n"
        f"References: {msg['References']} {msg['Message-ID']}\n"
        f"Date: Mon, 3 Mar 2025 10:00:00 +0000\n"
        f"Content-Type: text/plain; charset=utf-8\n\n"
        f"Thanks! My phone is an iPhone 15, if that matters.\n\n"
        f"Sent from my iPhone\n\n"
        f"> {msg.get_body(preferencelist=('plain',)).get_content().splitlines()[0]}\n"
    ).encode()
    r = CliRunner().invoke(cli, ["-c", str(config), "email", "ingest"], input=reply, catch_exceptions=False)
    assert r.exit_code == 0 and r.output.strip() == f"added reply to demand {demand_id}"
    with Desk.open(config) as desk:
        [comment] = [e for e in desk.journey(demand_id) if e.kind == "comment"]
        assert comment.customer_sees == "Thanks! My phone is an iPhone 15, if that matters."
        assert comment.channel == "email" and comment.actor == "customer"
        assert len(desk.list_demands()) == 1


def test_notification_threads_to_the_email_that_opened_the_demand(
    deployment: Callable[..., Path], smtp: SmtpServer
) -> None:
    config = deployment(smtp)
    raw = (Path(__file__).parent / "corpus" / "outlook_new.eml").read_bytes()
    r = CliRunner().invoke(cli, ["-c", str(config), "email", "ingest"], input=raw, catch_exceptions=False)
    assert r.output.startswith("created demand ")
    original = "<AM0PR07MB4242A1B2C3D4E5F6@AM0PR07MB4242.eurprd07.prod.outlook.com>"
    acks = [m.message() for m in smtp.received]
    assert acks, "the acknowledgement goes out by email (Steve prefers email)"
    assert str(acks[0]["In-Reply-To"]).strip() == original
    assert original in acks[0]["References"]


def test_a_reply_to_the_token_address_alone_threads(deployment: Callable[..., Path], smtp: SmtpServer) -> None:
    config = deployment(smtp)
    with Desk.open(config) as desk:
        demand_id = desk.submit("failure", "steve", "Printer jammed", channel="portal").demand.id
    reply_to = str(smtp.received[0].message()["Reply-To"])
    raw = (
        f"From: steve@eagle5.example\nTo: {reply_to}\nSubject: one more thing\n"
        f"Message-ID: <token-only@eagle5.example>\n\nIt is the one by the window.\n"
    ).encode()
    r = CliRunner().invoke(cli, ["-c", str(config), "email", "ingest"], input=raw, catch_exceptions=False)
    assert r.output.strip() == f"added reply to demand {demand_id}"
    forged = raw.replace(reply_to.split("+")[1][:4].encode(), b"9999").replace(b"token-only", b"forged")
    r = CliRunner().invoke(cli, ["-c", str(config), "email", "ingest"], input=forged, catch_exceptions=False)
    assert r.output.startswith("created demand "), "a forged token must not thread"


def test_smtp_down_leaves_the_job_for_retry(deployment: Callable[..., Path]) -> None:
    config = deployment(None)  # nothing listens on the configured port
    with Desk.open(config) as desk:
        demand_id = desk.submit("failure", "steve", "Printer jammed", channel="portal").demand.id
        [job] = [j for j in desk.jobs(demand_id=demand_id) if j.action == "notify"]
        assert job.state == "pending" and "unreachable" in (job.error or "")
