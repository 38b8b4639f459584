"""The mailgate through the CLI (`itsm -c PATH email ingest < message.eml`) with the corpus of real shapes."""

from __future__ import annotations

import datetime as dt
import re
import threading
from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from conftest import CORPUS, SmtpServer
from itsmcore import Desk
from itsmcore.cli import cli


def ingest(config: Path, raw: bytes, *extra: str) -> Result:
    return CliRunner().invoke(cli, ["-c", str(config), "email", "ingest", *extra], input=raw, catch_exceptions=False)


def eml(name: str) -> bytes:
    return (CORPUS / name).read_bytes()


@pytest.fixture
def config(deployment: Callable[..., Path]) -> Path:
    # replies/acks go to the portal inbox (customers without preferred channels): no SMTP needed
    return deployment(preferred=False)


def created(result: Result) -> int:
    assert result.exit_code == 0, result.output
    line = result.output.strip()
    assert line.startswith("created demand "), line
    return int(line.rsplit(" ", 1)[1])


def test_outlook_windows_1252_becomes_a_demand(config: Path) -> None:
    demand_id = created(ingest(config, eml("outlook_new.eml")))
    with Desk.open(config) as desk:
        d = desk.get(demand_id)
        assert d.customer_id == "steve", "Steve@Eagle5.example must map to steve, whatever the case"
        assert d.summary == "The CRM won't let me in"
        assert d.channel == "email"
        assert d.external_ref == "<AM0PR07MB4242A1B2C3D4E5F6@AM0PR07MB4242.eurprd07.prod.outlook.com>"
        assert "“access denied”" in d.details and "can’t" in d.details and "Sales – Eagle5" in d.details
        assert str(d.kind) in ("failure", "information", "value"), "the classify hook decides the kind"


def test_same_message_twice_is_one_demand(config: Path) -> None:
    first = created(ingest(config, eml("outlook_new.eml")))
    again = ingest(config, eml("outlook_new.eml"))
    assert again.exit_code == 0
    assert again.output.strip() == (
        f"duplicate: <AM0PR07MB4242A1B2C3D4E5F6@AM0PR07MB4242.eurprd07.prod.outlook.com> already opened demand {first}"
    )
    with Desk.open(config) as desk:
        assert len(desk.list_demands()) == 1


def test_gmail_reply_threads_by_references_and_drops_quotes(config: Path) -> None:
    demand_id = created(ingest(config, eml("outlook_new.eml")))
    r = ingest(config, eml("gmail_reply.eml"))
    assert r.exit_code == 0 and r.output.strip() == f"added reply to demand {demand_id}"
    with Desk.open(config) as desk:
        comments = [e for e in desk.journey(demand_id) if e.kind == "comment"]
        assert [c.customer_sees for c in comments] == ["It works again after the password reset — thanks!"]
        assert comments[0].actor == "customer" and comments[0].channel == "email"
        assert "<CAF7x+Qv0Lr9wZ3a_kGm1sQpT8bNcY2o=Hd4u@mail.gmail.com>" in comments[0].behind_scenes
    again = ingest(config, eml("gmail_reply.eml"))
    assert again.output.strip() == (
        f"duplicate: <CAF7x+Qv0Lr9wZ3a_kGm1sQpT8bNcY2o=Hd4u@mail.gmail.com> is already on demand {demand_id}"
    ), "the same reply twice must be recorded once"


class MeetingClock:
    """A desk clock that, once armed, holds each caller until both have arrived.

    The desk reads its clock after looking the Message-ID up and before writing the event,
    so two gates armed with it both find nothing and race on the write itself.
    """

    def __init__(self, barrier: threading.Barrier) -> None:
        self.barrier = barrier
        self.armed = threading.Event()

    def __call__(self) -> dt.datetime:
        if self.armed.is_set():
            self.barrier.wait(timeout=30)
        return dt.datetime.now(dt.UTC)


def test_one_reply_taken_in_by_two_pollers_at_once_is_recorded_once(config: Path) -> None:
    from itsm_email.channel import EmailChannel
    from itsm_email.gate import Mailgate, Outcome

    demand_id = created(ingest(config, eml("outlook_new.eml")))
    barrier = threading.Barrier(2)
    clocks = [MeetingClock(barrier), MeetingClock(barrier)]
    outcomes: list[Outcome] = []
    errors: list[BaseException] = []
    with Desk.open(config, clock=clocks[0]) as one, Desk.open(config, clock=clocks[1]) as two:

        def poll(desk: Desk, clock: MeetingClock) -> None:
            (name, channel), *_ = [(n, c) for n, c in desk.channels().items() if isinstance(c, EmailChannel)]
            clock.armed.set()
            try:
                outcomes.append(Mailgate(desk, channel, name).ingest(eml("gmail_reply.eml")))
            except BaseException as e:
                errors.append(e)
            finally:
                clock.armed.clear()

        threads = [threading.Thread(target=poll, args=pair) for pair in ((one, clocks[0]), (two, clocks[1]))]
        for th in threads:
            th.start()
        for th in threads:
            th.join(timeout=60)
        assert not errors, errors
        assert sorted(o.line for o in outcomes) == [
            f"added reply to demand {demand_id}",
            f"duplicate: <CAF7x+Qv0Lr9wZ3a_kGm1sQpT8bNcY2o=Hd4u@mail.gmail.com> is already on demand {demand_id}",
        ]
        comments = [e for e in one.journey(demand_id) if e.kind == "comment"]
        assert len(comments) == 1, "two pollers, one reply: one journey event"
        assert comments[0].external_ref == "<CAF7x+Qv0Lr9wZ3a_kGm1sQpT8bNcY2o=Hd4u@mail.gmail.com>"


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("outlook_reply.eml", "Still broken on my laptop, fine on the phone.\n\nSteve"),
        ("outlook_original_message.eml", "The serial number is 5CG1234XYZ."),
    ],
)
def test_outlook_replies_thread_by_subject_tag(config: Path, name: str, expected: str) -> None:
    demand_id = created(ingest(config, eml("outlook_new.eml")))
    assert demand_id == 1
    r = ingest(config, eml(name))
    assert r.output.strip() == "added reply to demand 1"
    with Desk.open(config) as desk:
        [comment] = [e for e in desk.journey(1) if e.kind == "comment"]
        assert comment.customer_sees == expected


def test_subject_tag_from_another_customer_opens_a_new_demand(config: Path) -> None:
    created(ingest(config, eml("outlook_new.eml")))
    forged = eml("outlook_reply.eml").replace(b"steve@eagle5.example>\nTo", b"scott@eagle5.example>\nTo")
    forged = forged.replace(b"From: Steve Jones <steve@", b"From: Scott Miller <scott@", 1)
    demand_id = created(ingest(config, forged))
    assert demand_id == 2


@pytest.mark.parametrize(
    ("name", "reason"),
    [
        ("out_of_office.eml", "dropped: auto-reply (Auto-Submitted: auto-replied)"),
        ("out_of_office_xautoreply.eml", "dropped: bulk mail (Precedence: auto_reply)"),
        ("bounce_dsn.eml", "dropped: bounce (multipart/report; report-type=delivery-status)"),
        ("bounce_no_autosubmitted.eml", "dropped: bounce (Return-Path: <>)"),
        ("mailing_list.eml", "dropped: bulk mail (Precedence: list)"),
        ("no_from.eml", "dropped: no sender address (From is missing or malformed)"),
        ("unknown_sender.eml", "dropped: unknown sender mallory@elsewhere.example"),
    ],
)
def test_machines_and_strangers_open_nothing(config: Path, name: str, reason: str) -> None:
    created(ingest(config, eml("outlook_new.eml")))
    r = ingest(config, eml(name))
    assert r.exit_code == 0
    assert r.output.strip() == reason
    with Desk.open(config) as desk:
        assert len(desk.list_demands()) == 1
        assert not [e for e in desk.journey(1) if e.kind == "comment"], "nothing may be added to the demand"


@pytest.mark.parametrize(
    "header",
    [b"Auto-Submitted: auto-generated", b"X-Autorespond: yes", b"List-Id: <sales.lists.eagle5.example>",
     b"Precedence: bulk", b"Precedence: junk", b"Return-Path: <>"],
)  # fmt: skip
def test_each_loop_header_drops(config: Path, header: bytes) -> None:
    raw = header + b"\n" + eml("outlook_new.eml")
    r = ingest(config, raw)
    assert r.exit_code == 0 and r.output.startswith("dropped: "), r.output


def test_auto_submitted_no_is_a_person(config: Path) -> None:
    created(ingest(config, b"Auto-Submitted: no\n" + eml("outlook_new.eml")))


def test_our_own_mail_coming_back_is_dropped(config: Path) -> None:
    raw = eml("phone_no_subject.eml").replace(
        b"From: Steve Jones <steve@eagle5.example>", b"From: support@eagle5.example"
    )
    r = ingest(config, raw)
    assert r.output.strip() == "dropped: mail loop (sent from our own address support@eagle5.example)"


def test_iso_2022_jp(config: Path) -> None:
    demand_id = created(ingest(config, eml("iso2022jp.eml")))
    with Desk.open(config) as desk:
        d = desk.get(demand_id)
        assert d.summary == "プリンターが動きません"
        assert "３階のプリンターが印刷できません。" in d.details


@pytest.mark.parametrize("name", ["windows1252.eml", "latin1_labelled_cp1252.eml"])
def test_windows_1252_even_when_labelled_latin_1(config: Path, name: str) -> None:
    demand_id = created(ingest(config, eml(name)))
    with Desk.open(config) as desk:
        d = desk.get(demand_id)
        assert "–" in d.details and "“" in d.details and "\x96" not in d.details
        if name == "windows1252.eml":
            assert d.summary == "Expensatron shows €0.00" and "€0.00" in d.details


def test_html_only(config: Path) -> None:
    demand_id = created(ingest(config, eml("html_only.eml")))
    with Desk.open(config) as desk:
        d = desk.get(demand_id)
        assert d.summary == "VPN – can't connect"
        assert 'The VPN client says "TLS handshake failed" & then quits.' in d.details
        assert "at home\nat the hotel" in d.details
        assert "alert" not in d.details and "font-family" not in d.details and "ignored title" not in d.details


def test_phone_without_subject_uses_the_first_line(config: Path) -> None:
    demand_id = created(ingest(config, eml("phone_no_subject.eml")))
    with Desk.open(config) as desk:
        assert desk.get(demand_id).summary == "Printer on floor 3 is jammed again"


def test_no_message_id_and_a_broken_date(config: Path) -> None:
    demand_id = created(ingest(config, eml("no_message_id_bad_date.eml")))
    with Desk.open(config) as desk:
        ref = desk.get(demand_id).external_ref
        assert ref and ref.endswith("@synthesised.itsm-email.invalid>")
    again = ingest(config, eml("no_message_id_bad_date.eml"))
    assert again.output.startswith("duplicate: "), "a synthesised Message-ID must be stable"


def test_attachment_kept_safely_and_recorded(config: Path) -> None:
    demand_id = created(ingest(config, eml("apple_mail_attachment.eml")))
    folder = config.parent / "email-attachments" / str(demand_id)
    files = list(folder.iterdir())
    assert [f.name for f in files] == ["Angebot_Scanner_Müller.pdf"], "no directories, no path tricks"
    assert files[0].read_bytes().startswith(b"%PDF-1.4")
    with Desk.open(config) as desk:
        d = desk.get(demand_id)
        assert str(d.kind) == "value", "'I need ...' is a request"
        [note] = [e for e in desk.journey(demand_id) if e.kind == "attachments"]
        assert "Angebot_Scanner_Müller.pdf (application/pdf, 78 bytes, kept as email-attachments/" in note.behind_scenes


def test_attachment_over_the_limit_is_recorded_not_kept(deployment: Callable[..., Path]) -> None:
    config = deployment(preferred=False, max_attachment_bytes=10)
    demand_id = created(ingest(config, eml("apple_mail_attachment.eml")))
    assert not (config.parent / "email-attachments" / str(demand_id)).exists()
    with Desk.open(config) as desk:
        [note] = [e for e in desk.journey(demand_id) if e.kind == "attachments"]
        assert "not kept: larger than 10 bytes" in note.behind_scenes


def test_rate_limit_per_sender(deployment: Callable[..., Path]) -> None:
    config = deployment(preferred=False, max_demands_per_hour=2)
    for i in range(2):
        raw = eml("phone_no_subject.eml").replace(b"AABBCCDDEEFF", f"{i:012d}".encode())
        created(ingest(config, raw))
    r = ingest(config, eml("phone_no_subject.eml"))
    assert r.exit_code == 0
    assert r.output.strip().startswith("dropped: rate limit (2 demands from steve@eagle5.example in the last hour")


def test_unknown_sender_bounced(deployment: Callable[..., Path], smtp: SmtpServer) -> None:
    config = deployment(smtp, preferred=False, unknown_senders="bounce")
    r = ingest(config, eml("unknown_sender.eml"))
    assert r.output.strip() == "bounced: unknown sender mallory@elsewhere.example"
    [got] = smtp.received
    msg = got.message()
    assert got.rcpt_tos == ["mallory@elsewhere.example"]
    assert msg["In-Reply-To"] == "<unknown-1@elsewhere.example>"
    assert msg["Auto-Submitted"] == "auto-generated"


def test_unknown_sender_filed_under_a_guest_customer(deployment: Callable[..., Path]) -> None:
    config = deployment(preferred=False, unknown_sender_customer="scott")
    demand_id = created(ingest(config, eml("unknown_sender.eml")))
    with Desk.open(config) as desk:
        d = desk.get(demand_id)
        assert d.customer_id == "scott" and d.details.startswith("From: Mallory <mallory@elsewhere.example>")


def test_store_unavailable_is_tempfail(deployment: Callable[..., Path]) -> None:
    config = deployment(preferred=False)
    text = re.sub(r'database = ".*"', 'database = "sqlite:///no/such/dir/itsm.db"', config.read_text())
    config.write_text(text)
    r = ingest(config, eml("outlook_new.eml"))
    assert r.exit_code == 75, r.output
    assert r.output.startswith("tempfail: store unavailable")


def test_broken_config_is_tempfail(deployment: Callable[..., Path]) -> None:
    config = deployment(preferred=False)
    config.write_text(config.read_text().replace('security = "none"', 'security = "ssl"'))
    r = ingest(config, eml("outlook_new.eml"))
    assert r.exit_code == 75, r.output


def test_empty_input_is_a_data_error(config: Path) -> None:
    r = ingest(config, b"")
    assert r.exit_code == 65 and r.output.strip() == "rejected: empty message"


def test_message_from_a_file_argument(config: Path) -> None:
    r = CliRunner().invoke(cli, ["-c", str(config), "email", "ingest", str(CORPUS / "outlook_new.eml")])
    created(r)
