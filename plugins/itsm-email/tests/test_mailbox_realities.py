"""What a corporate service-desk mailbox really receives, and what a mature desk does with each.

Every case goes through `itsm -c PATH email ingest` (or the IMAP poller against Dovecot); mail the
desk sends back is caught by aiosmtpd, so "nobody was mailed" is checked on a real SMTP server.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from email import message_from_bytes, policy
from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from conftest import CORPUS, ImapServer, SmtpServer
from itsmcore import Desk
from itsmcore.cli import cli

from itsm_email.automatic import AUTO_REPLY_SUBJECTS, authentication_failure, is_no_reply

#: Expensatron asks for facts, as in the Eagle5 catalog; the CRM is for the CRM group only.
SERVICES = """
[[services]]
key = "expensatron"
name = "Expensatron expenses app"
kind = "value"
description = "Submit expenses and receipts from your phone."
keywords = ["expenses", "receipts", "expensatron"]
asks = ["mobile_number", "mobile_os", "reason"]

[[services]]
key = "crm-licence"
name = "CRM licence"
kind = "value"
description = "A licence for the CRM."
keywords = ["crm licence"]
eligible = { groups = ["crm-admins"], explain = "the CRM administrators" }
"""


def ingest(config: Path, raw: bytes) -> Result:
    return CliRunner().invoke(cli, ["-c", str(config), "email", "ingest"], input=raw, catch_exceptions=False)


def eml(name: str) -> bytes:
    return (CORPUS / name).read_bytes()


def created(result: Result) -> int:
    assert result.exit_code == 0, result.output
    m = re.match(r"created demand (\d+)", result.output.strip())
    assert m, result.output
    return int(m.group(1))


def demands(config: Path) -> int:
    with Desk.open(config) as desk:
        return len(desk.list_demands())


@pytest.fixture
def config(deployment: Callable[..., Path]) -> Path:
    return deployment(preferred=False, services=SERVICES)


# --------------------------------------------------------------------------- automatic replies


def test_a_threaded_german_outlook_out_of_office_is_not_the_customers_comment(config: Path) -> None:
    demand_id = created(ingest(config, eml("outlook_new.eml")))
    r = ingest(config, eml("outlook_ooo_de_threaded.eml"))
    assert r.exit_code == 0
    assert r.output.strip() == "dropped: auto-reply (X-Auto-Response-Suppress: All)"
    with Desk.open(config) as desk:
        assert not [e for e in desk.journey(demand_id) if e.kind == "comment"]


@pytest.mark.parametrize(
    ("name", "prefix"),
    [
        ("outlook_ooo_nl_subject_only.eml", "Automatisch antwoord:"),
        ("outlook_ooo_fr_subject_only.eml", "Réponse automatique :"),
    ],
)
def test_localised_out_of_office_subjects_alone_are_enough(config: Path, name: str, prefix: str) -> None:
    created(ingest(config, eml("outlook_new.eml")))
    r = ingest(config, eml(name))
    assert r.output.strip() == f"dropped: auto-reply (subject starts with {prefix!r})"
    assert demands(config) == 1


@pytest.mark.parametrize(
    "header",
    [b"X-MS-Exchange-Inbox-Rules-Loop: steve@eagle5.example", b"X-MS-Exchange-Generated-Message-Source: Mailbox Rules Agent",
     b"X-Auto-Response-Suppress: OOF, AutoReply", b"List-Unsubscribe: <mailto:leave@news.example>",
     b"List-Unsubscribe-Post: List-Unsubscribe=One-Click", b"Feedback-ID: a:b:c"],
)  # fmt: skip
def test_microsoft_and_bulk_headers_drop(config: Path, header: bytes) -> None:
    r = ingest(config, header + b"\n" + eml("outlook_new.eml"))
    assert r.exit_code == 0 and r.output.startswith("dropped: "), r.output
    assert demands(config) == 0


def test_receipt_suppression_alone_is_a_person(config: Path) -> None:
    created(ingest(config, b"X-Auto-Response-Suppress: DR, RN\n" + eml("outlook_new.eml")))


def test_a_person_writing_about_out_of_office_reaches_the_desk(config: Path) -> None:
    raw = eml("phone_no_subject.eml").replace(b"Subject:", b"X-Old-Subject:")
    raw = b"Subject: Out of office assistant won't turn on\n" + raw
    created(ingest(config, raw))


def test_the_subject_table_covers_the_major_clients_and_names_its_sources() -> None:
    prefixes = {p for p, _lang, _source in AUTO_REPLY_SUBJECTS}
    assert {"Automatic reply:", "Automatische Antwort:", "Automatisch antwoord:", "Réponse automatique :"} <= prefixes
    assert all(source for _p, _lang, source in AUTO_REPLY_SUBJECTS)


def test_a_newsletter_is_not_filed_even_for_the_guest_customer(deployment: Callable[..., Path]) -> None:
    config = deployment(preferred=False, services=SERVICES, unknown_sender_customer="scott")
    r = ingest(config, eml("newsletter.eml"))
    assert r.output.strip().startswith("dropped: bulk mail (List-Unsubscribe: ")
    assert demands(config) == 0


# --------------------------------------------------------------------------- whom the desk may answer


@pytest.fixture
def bouncing(deployment: Callable[..., Path], smtp: SmtpServer) -> Path:
    return deployment(smtp, preferred=False, services=SERVICES, unknown_senders="bounce")


def test_the_desks_own_reply_address_is_a_loop(bouncing: Path, smtp: SmtpServer) -> None:
    r = ingest(bouncing, eml("own_reply_address.eml"))
    assert (
        r.output.strip() == "dropped: mail loop (sent from our own reply address support+7-k3j9x0aq2m@eagle5.example)"
    )
    assert smtp.received == [], "the desk must not mail itself"


def test_no_explanation_to_a_no_reply_sender(bouncing: Path, smtp: SmtpServer) -> None:
    r = ingest(bouncing, eml("noreply_sender.eml"))
    assert r.output.strip() == "dropped: unknown sender no-reply@travel.example (not answered: a no-reply address)"
    assert smtp.received == []


@pytest.mark.parametrize("address", ["no-reply@x.example", "noreply+abc@x.example", "do_not_reply@x.example",
                                     "bounces+123@x.example", "DoNotReply@x.example"])  # fmt: skip
def test_no_reply_addresses(address: str) -> None:
    assert is_no_reply(address)
    assert not is_no_reply("noreen@x.example")


def test_dmarc_failed_mail_from_steve_is_not_steves_and_nobody_is_mailed(bouncing: Path, smtp: SmtpServer) -> None:
    r = ingest(bouncing, eml("dmarc_fail_steve.eml"))
    assert r.output.strip() == "dropped: sender not verified (dmarc=fail per mx.eagle5.example): steve@eagle5.example"
    assert demands(bouncing) == 0
    assert smtp.received == []


def test_dmarc_failed_mail_from_a_stranger_gets_no_explanation(bouncing: Path, smtp: SmtpServer) -> None:
    r = ingest(bouncing, eml("dmarc_fail_stranger.eml"))
    assert r.output.strip().startswith("dropped: sender not verified (dmarc=fail per mx.eagle5.example)")
    assert smtp.received == []


def test_a_forged_message_is_filed_under_the_guest_marked_unverified(deployment: Callable[..., Path]) -> None:
    config = deployment(preferred=False, services=SERVICES, unknown_sender_customer="scott")
    demand_id = created(ingest(config, eml("dmarc_fail_steve.eml")))
    with Desk.open(config) as desk:
        d = desk.get(demand_id)
        assert d.customer_id == "scott", "never attributed to the customer it claims to be"
        assert d.details.startswith(
            "From: Steve Jones <steve@eagle5.example> (not verified: dmarc=fail per mx.eagle5.example)"
        )


def test_only_trusted_hosts_verdicts_count(deployment: Callable[..., Path]) -> None:
    config = deployment(preferred=False, services=SERVICES, trusted_authserv_ids=["mx1.eagle5.example"])
    demand_id = created(ingest(config, eml("dmarc_fail_steve.eml")))
    with Desk.open(config) as desk:
        assert desk.get(demand_id).customer_id == "steve", "mx.eagle5.example is not one of ours here"


def test_switching_the_check_off(deployment: Callable[..., Path]) -> None:
    config = deployment(preferred=False, services=SERVICES, check_sender_authentication=False)
    created(ingest(config, eml("dmarc_fail_steve.eml")))


@pytest.mark.parametrize(
    ("results", "failure"),
    [
        ("mx.e; spf=fail smtp.mailfrom=e; dkim=pass header.d=e; dmarc=pass", None),
        ("mx.e; spf=fail smtp.mailfrom=e; dkim=pass header.d=e", None),
        ("mx.e; spf=fail smtp.mailfrom=e", "spf=fail per mx.e"),
        ("mx.e; spf=softfail smtp.mailfrom=e", None),
        ("mx.e; spf=pass (sender (nested) ok) smtp.mailfrom=e; dmarc=fail", "dmarc=fail per mx.e"),
        ("mx.e; none", None),
    ],
)
def test_authentication_results(results: str, failure: str | None) -> None:
    msg = message_from_bytes(f"Authentication-Results: {results}\nFrom: a@e\n\nx\n".encode(), policy=policy.default)
    assert authentication_failure(msg, ()) == failure


def test_only_the_topmost_header_counts_without_trusted_hosts() -> None:
    raw = b"Authentication-Results: mx.e; dmarc=pass\nAuthentication-Results: mx.e; dmarc=fail\nFrom: a@e\n\nx\n"
    assert authentication_failure(message_from_bytes(raw, policy=policy.default), ()) is None


# --------------------------------------------------------------------------- clean text in, clean text out


def test_control_characters_are_neither_stored_nor_sent(deployment: Callable[..., Path], smtp: SmtpServer) -> None:
    config = deployment(smtp, services=SERVICES)  # Steve prefers email: the acknowledgement is mailed
    raw = eml("phone_no_subject.eml").replace(b"Subject:", b"X-Old:")
    raw = b"Subject: Printer\x00 jammed\x1b[31m again\x07\n" + raw.replace(b"jammed", b"jam\x00med\x1b[0m", 1)
    demand_id = created(ingest(config, raw))
    with Desk.open(config) as desk:
        d = desk.get(demand_id)
        assert d.summary == "Printer jammed [31m again"
        assert not re.search(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]", d.summary + d.details)
    [ack] = smtp.received
    assert b"\x00" not in ack.data and b"\x1b" not in ack.data and b"\x07" not in ack.data
    assert str(ack.message()["Subject"]).startswith("We have your problem")


def test_8bit_utf8_labelled_us_ascii_is_read_as_utf8(config: Path) -> None:
    demand_id = created(ingest(config, eml("utf8_labelled_ascii.eml")))
    with Desk.open(config) as desk:
        d = desk.get(demand_id)
        assert "graue Streifen – bitte prüfen." in d.details and "Grüße" in d.details
        assert "Ã" not in d.details


# --------------------------------------------------------------------------- threading and identity


def test_a_subject_naming_the_demand_in_parentheses_threads(config: Path) -> None:
    demand_id = created(ingest(config, eml("outlook_new.eml")))
    r = ingest(config, eml("reply_paren_tag.eml"))
    assert r.output.strip() == f"added reply to demand {demand_id}"
    with Desk.open(config) as desk:
        [comment] = [e for e in desk.journey(demand_id) if e.kind == "comment"]
        assert comment.customer_sees == "It is working again since the restart."
        assert "subject tag (#1)" in comment.behind_scenes


def test_a_reused_message_id_from_another_sender_is_taken_in_as_new(config: Path) -> None:
    first = created(ingest(config, eml("outlook_new.eml")))
    other = eml("phone_no_subject.eml").replace(
        b"<A1B2C3D4-E5F6-4711-8899-AABBCCDDEEFF@eagle5.example>",
        b"<AM0PR07MB4242A1B2C3D4E5F6@AM0PR07MB4242.eurprd07.prod.outlook.com>",
    )
    other = other.replace(b"From: Steve Jones <steve@eagle5.example>", b"From: Scott Miller <scott@eagle5.example>")
    r = ingest(config, other)
    second = created(r)
    assert second != first and "Message-ID reused" in r.output
    with Desk.open(config) as desk:
        d = desk.get(second)
        assert d.customer_id == "scott" and d.summary == "Printer on floor 3 is jammed again"
        [note] = [e for e in desk.journey(second) if e.kind == "note"]
        assert f"already used by demand {first} (another sender)" in note.behind_scenes
    again = ingest(config, other)
    assert again.output.strip().startswith("duplicate: "), "the same reused message twice is still one demand"
    assert demands(config) == 2


def test_a_reused_message_id_with_other_words_is_taken_in_as_new(config: Path) -> None:
    created(ingest(config, eml("outlook_new.eml")))
    changed = eml("outlook_new.eml").replace(b"Subject: The CRM won't let me in", b"Subject: VPN drops every hour")
    second = created(ingest(config, changed))
    with Desk.open(config) as desk:
        assert desk.get(second).summary == "VPN drops every hour"
        assert "(other content)" in next(e for e in desk.journey(second) if e.kind == "note").behind_scenes


# --------------------------------------------------------------------------- parts that used to be lost


def test_a_forwarded_message_is_kept_as_an_eml(config: Path) -> None:
    demand_id = created(ingest(config, eml("forwarded_message.eml")))
    [kept] = (config.parent / "email-attachments" / str(demand_id)).iterdir()
    assert kept.name == "Urgent_unpaid_invoice.eml"
    inner = message_from_bytes(kept.read_bytes(), policy=policy.default)
    assert inner["Message-ID"] == "<phish-1@lookalike.example>"
    with Desk.open(config) as desk:
        d = desk.get(demand_id)
        assert d.details == "Is this phishing? The original is attached."
        [note] = [e for e in desk.journey(demand_id) if e.kind == "attachments"]
        assert "Urgent_unpaid_invoice.eml (message/rfc822," in note.behind_scenes


def test_a_calendar_invitation_is_kept_and_noted(config: Path) -> None:
    demand_id = created(ingest(config, eml("calendar_invite.eml")))
    [kept] = (config.parent / "email-attachments" / str(demand_id)).iterdir()
    assert kept.name == "invitation.ics" and b"SUMMARY:Laptop handover" in kept.read_bytes()
    with Desk.open(config) as desk:
        assert desk.get(demand_id).details == "Can we do the laptop handover on Thursday at 10:00?"
        [note] = [e for e in desk.journey(demand_id) if e.kind == "attachments"]
        assert "invitation.ics (text/calendar," in note.behind_scenes


def test_a_multipart_without_boundary_keeps_its_body(config: Path) -> None:
    demand_id = created(ingest(config, eml("multipart_no_boundary.eml")))
    with Desk.open(config) as desk:
        assert desk.get(demand_id).details.startswith("The scanner on floor 2 has been offline since this morning.")


def test_a_multipart_without_boundary_parameter_is_read_by_its_boundary_lines(config: Path) -> None:
    raw = eml("multipart_no_boundary.eml").replace(
        b"The scanner on floor 2 has been offline since this morning.\n",
        b"--lost\nContent-Type: text/plain; charset=utf-8\n\nOffline since 8:00.\n--lost\n"
        b"Content-Type: application/octet-stream\nContent-Disposition: attachment; filename=log.txt\n\nE42\n--lost--\n",
    )
    demand_id = created(ingest(config, raw))
    with Desk.open(config) as desk:
        assert desk.get(demand_id).details.startswith("Offline since 8:00.")
    assert (config.parent / "email-attachments" / str(demand_id) / "log.txt").read_bytes().strip() == b"E42"


# --------------------------------------------------------------------------- requests by email


def test_facts_in_name_value_lines_are_the_requests_answers(config: Path) -> None:
    demand_id = created(ingest(config, eml("expensatron_request.eml")))
    with Desk.open(config) as desk:
        d = desk.get(demand_id)
        assert str(d.kind) == "value" and d.service_key == "expensatron"
        assert d.answers == {
            "mobile_number": "+447700900456",
            "mobile_os": "Android",
            "reason": "client visits every week",
        }


def test_an_incomplete_request_is_answered_in_its_thread_with_what_to_send(
    deployment: Callable[..., Path], smtp: SmtpServer
) -> None:
    config = deployment(smtp, preferred=False, services=SERVICES)
    # Scott has no phone on record, so nothing prefills his phone's system
    raw = re.sub(rb"Your phone's system: android\n", b"", eml("expensatron_request.eml"))
    raw = raw.replace(b"From: Steve Jones <steve@", b"From: Scott Miller <scott@")
    r = ingest(config, raw)
    assert r.exit_code == 0
    assert r.output.strip().startswith("rejected: incomplete request for Expensatron expenses app (mobile_os: ")
    assert r.output.strip().endswith("explained to scott@eagle5.example")
    assert demands(config) == 0
    [got] = smtp.received
    msg = got.message()
    assert got.rcpt_tos == ["scott@eagle5.example"]
    assert str(msg["In-Reply-To"]).strip() == "<request-0001@laptop.eagle5.example>"
    assert str(msg["Subject"]) == "Re: Expensatron please"
    text = msg.get_body(preferencelist=("plain",)).get_content().replace("\r\n", "\n")
    assert "- Your phone's system: Please tell us your phone's system." in text
    assert "\nYour phone's system: iOS\n" in text, "an example line the customer can copy"
    # Steve sends the facts again, as asked, and the request is taken in
    again = raw.replace(b"request-0001", b"request-0002").replace(b"reason:", b"Your phone's system: iOS\nreason:")
    demand_id = created(ingest(config, again))
    with Desk.open(config) as desk:
        assert desk.get(demand_id).answers["mobile_os"] == "iOS"


def test_an_ineligible_request_is_refused_with_the_reason_and_what_to_do(
    deployment: Callable[..., Path], smtp: SmtpServer
) -> None:
    config = deployment(smtp, preferred=False, services=SERVICES)
    raw = (
        b"From: Steve Jones <steve@eagle5.example>\nTo: support@eagle5.example\nSubject: CRM licence\n"
        b"Message-ID: <licence-1@laptop.eagle5.example>\nContent-Type: text/plain; charset=utf-8\n\n"
        b"Hi, could I get a CRM licence please?\n"
    )
    r = ingest(config, raw)
    assert r.output.strip().startswith("rejected: steve may not have crm-licence: CRM licence is available to")
    assert demands(config) == 0, "an ineligible request is not filed as a failure"
    [got] = smtp.received
    msg = got.message()
    assert str(msg["In-Reply-To"]).strip() == "<licence-1@laptop.eagle5.example>"
    text = msg.get_body(preferencelist=("plain",)).get_content()
    assert "CRM licence is available to the CRM administrators." in text
    assert "What you can do: Ask your manager, Scott, to request it for you." in text


def test_a_broken_service_is_still_a_failure(config: Path) -> None:
    raw = (
        b"From: Steve Jones <steve@eagle5.example>\nTo: support@eagle5.example\nSubject: Expensatron\n"
        b"Message-ID: <broken-1@laptop.eagle5.example>\n\nI need Expensatron for tomorrow but it won't start.\n"
    )
    demand_id = created(ingest(config, raw))
    with Desk.open(config) as desk:
        assert str(desk.get(demand_id).kind) == "failure"


# --------------------------------------------------------------------------- bad input


def test_a_50_mb_message_is_refused_for_the_mta_to_bounce(config: Path) -> None:
    raw = eml("outlook_new.eml") + b"x" * (50 * 1024 * 1024)
    r = ingest(config, raw)
    assert r.exit_code == 65
    assert r.output.strip() == f"rejected: message too large ({len(raw):,} bytes; the limit is 26,214,400 bytes)"
    assert demands(config) == 0


def test_ten_thousand_recipients(config: Path) -> None:
    to = ", ".join(f"Person {i} <person{i}@eagle5.example>" for i in range(10_000))
    raw = eml("outlook_new.eml").replace(b'To: "Eagle5 IT" <support@eagle5.example>', f"To: {to}".encode())
    demand_id = created(ingest(config, raw))
    with Desk.open(config) as desk:
        assert desk.get(demand_id).summary == "The CRM won't let me in"


def test_a_thousand_nested_mime_parts_are_bounded(config: Path) -> None:
    head = b"From: steve@eagle5.example\nSubject: Nested\nMessage-ID: <nest@e.example>\n"
    body = b"Content-Type: multipart/mixed; boundary=b0\n\n"
    for i in range(1, 1000):
        body += b"--b%d\nContent-Type: multipart/mixed; boundary=b%d\n\n" % (i - 1, i)
    body += b"--b999\nContent-Type: text/plain\n\ndeep\n--b999--\n"
    body += b"".join(b"--b%d--\n" % i for i in range(998, -1, -1))
    demand_id = created(ingest(config, head + body))
    with Desk.open(config) as desk:
        d = desk.get(demand_id)
        assert d.summary == "Nested"
        assert "declares 1,000 MIME containers (the limit is 100); its parts were not read" in d.details


# --------------------------------------------------------------------------- through the IMAP poller


def test_the_poller_applies_the_same_rules(
    deployment: Callable[..., Path], dovecot: ImapServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    from test_imap import append, flags, imap_settings

    monkeypatch.setenv("TEST_IMAP_PASSWORD", dovecot.password)
    config = deployment(preferred=False, services=SERVICES, max_message_bytes=1500, **imap_settings(dovecot))
    append(dovecot, "outlook_ooo_nl_subject_only.eml", "newsletter.eml", "calendar_invite.eml",
           "dmarc_fail_steve.eml", "outlook_new.eml")  # fmt: skip
    deadline = time.monotonic() + 60
    while True:  # Dovecot may index the appended mail a moment late on a busy machine
        r = CliRunner().invoke(cli, ["-c", str(config), "email", "poll", "--once"], catch_exceptions=False)
        assert r.exit_code == 0, r.output
        lines = r.output.splitlines()
        if len(lines) == 5 or time.monotonic() > deadline:
            break
        time.sleep(0.2)
    assert lines[0] == "uid 1: dropped: auto-reply (subject starts with 'Automatisch antwoord:')"
    assert lines[1].startswith("uid 2: dropped: bulk mail (List-Unsubscribe: ")
    assert lines[2] == "uid 3: created demand 1"
    assert lines[3] == "uid 4: dropped: sender not verified (dmarc=fail per mx.eagle5.example): steve@eagle5.example"
    assert re.fullmatch(r"uid 5: rejected: message too large \(\d[\d,]+ bytes; the limit is 1,500 bytes\)", lines[4])
    assert all("\\Seen" in f for f in flags(dovecot)), "a refused message is handled, not retried forever"
    assert (config.parent / "email-attachments" / "1" / "invitation.ics").exists()
