"""Property tests of the mailgate: any bytes, broken MIME, every charset, huge headers, nested
multiparts, bounces and auto-replies give one of the documented outcomes, never an exception,
and never a half-written demand.

The messages go through :meth:`Mailgate.ingest` in-process (the function that turns the bytes
into a decision), and a fiftieth as many through the real ``itsm email ingest``, whose exit status
must be 0, 65 or 75 with no traceback. ``tox -e fuzz`` runs 10,000 examples of each in-process
property (HYPOTHESIS_PROFILE=fuzz); the normal run a few dozen.
"""

from __future__ import annotations

import base64
import codecs
import contextlib
import os
import random
import subprocess
import sys
from collections.abc import Callable, Iterator
from email.message import EmailMessage
from email.policy import SMTP, default
from pathlib import Path

import pytest
from click.testing import CliRunner
from conftest import CORPUS
from hypothesis import example, given, settings
from hypothesis import strategies as st
from itsmcore import Desk
from itsmcore.cli import cli
from sqlalchemy import text as sql

from itsm_email.automatic import DEFAULT_AUTO_REPLY_SUBJECTS
from itsm_email.channel import EmailChannel
from itsm_email.gate import EX_DATAERR, EX_OK, EX_TEMPFAIL, Mailgate, Outcome
from itsm_email.inbound import parse

pytestmark = pytest.mark.fuzz

ACTIONS = {"created", "replied", "duplicate", "dropped", "bounced", "rejected", "failed"}
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

[[services]]
key = "crm"
name = "CRM"
kind = "failure"
description = "Customer records."
keywords = ["crm"]
"""
CORPUS_FILES = sorted(p.name for p in CORPUS.glob("*.eml"))

# --------------------------------------------------------------------------- strategies

#: Every codec Python knows under its common names, a few misspelt and unknown ones.
CHARSETS = sorted(
    {codecs.lookup(n).name for n in ("utf-8", "latin-1", "cp1252", "koi8-r", "iso2022_jp", "gb18030", "big5")}
    | {"us-ascii", "iso-8859-15", "windows-1251", "shift_jis", "euc-kr", "utf-16", "utf-7", "utf-32", "unknown-8bit"}
    | {"utf8", "UTF-8", "x-unknown", "", "charset", "utf-8'en'", "\x00", "é"}
)
ENCODINGS = ["7bit", "8bit", "binary", "base64", "quoted-printable", "x-uuencode", "BASE64", "bogus", ""]
ADDRESSES = [
    "steve@eagle5.example",
    "Steve@Eagle5.Example",
    "scott@eagle5.example",
    "stranger@elsewhere.example",
    "no-reply@vendor.example",
    "MAILER-DAEMON@mx.eagle5.example",
    "postmaster@eagle5.example",
    "support@eagle5.example",
    "support+1-0000000000@eagle5.example",
    "",
    "<>",
    "not an address",
    "@",
    '"Jones, Steve" <steve@eagle5.example>',
    "=?utf-8?b?U3RldmU=?= <steve@eagle5.example>",
    "Steve <steve@eagle5.example",
    "undisclosed-recipients:;",
]
HEADER_NAMES = [
    "From",
    "To",
    "Cc",
    "Subject",
    "Message-ID",
    "In-Reply-To",
    "References",
    "Date",
    "Reply-To",
    "Sender",
    "Return-Path",
    "Delivered-To",
    "Auto-Submitted",
    "Precedence",
    "X-Auto-Response-Suppress",
    "X-Autoreply",
    "X-Autorespond",
    "List-Id",
    "List-Unsubscribe",
    "X-Loop",
    "Authentication-Results",
    "Content-Type",
    "Content-Transfer-Encoding",
    "Content-Disposition",
    "MIME-Version",
    "X-MS-Exchange-Inbox-Rules-Loop",
    "Feedback-ID",
]
CONTENT_TYPES = [
    "text/plain",
    "text/html",
    "text/calendar",
    "application/octet-stream",
    "application/pdf",
    "image/png",
    "message/rfc822",
    "message/delivery-status",
    "message/disposition-notification",
    "multipart/mixed",
    "multipart/alternative",
    "multipart/report",
    "text",
    "/",
    "",
]


def _encoded_word(charset: str, how: str, raw: bytes) -> str:
    payload = base64.b64encode(raw).decode() if how in "bB" else "".join(f"={b:02X}" for b in raw)
    return f"=?{charset}?{how}?{payload}?="


@st.composite
def header_values(draw: st.DrawFn) -> str:
    """Header text: plain, control characters and NUL, encoded words in any charset, very long lines."""
    kind = draw(st.sampled_from(["text", "encoded", "address", "msgid", "long", "controls"]))
    if kind == "text":
        return draw(st.text(max_size=60))
    if kind == "encoded":
        words = [
            _encoded_word(draw(st.sampled_from(CHARSETS)), draw(st.sampled_from("bBqQx")), draw(st.binary(max_size=30)))
            for _ in range(draw(st.integers(1, 4)))
        ]
        return draw(st.sampled_from([" ", "", "\r\n "])).join(words)
    if kind == "address":
        return ", ".join(draw(st.lists(st.sampled_from(ADDRESSES), min_size=1, max_size=4)))
    if kind == "msgid":
        ids = draw(
            st.lists(
                st.sampled_from(["<a@b>", "<itsm.1.0123456789abcdef.0000000000@eagle5.example>", "<>"])
                | st.text(max_size=20),
                max_size=5,
            )
        )
        return " ".join(ids)
    if kind == "long":
        return draw(st.sampled_from(["x", "é", "=?utf-8?q?a?= ", "a,", "<x@y> "])) * draw(st.integers(1, 300))
    return "".join(draw(st.lists(st.characters(max_codepoint=0x9F), max_size=40)))


@st.composite
def headers(draw: st.DrawFn) -> list[tuple[str, str]]:
    out = [("From", draw(st.sampled_from(ADDRESSES[:4]) | header_values()))]
    names = st.sampled_from(HEADER_NAMES) | st.text(alphabet="abcXYZ-:\x00 ", min_size=1, max_size=12)
    out += draw(st.lists(st.tuples(names, header_values()), max_size=8))
    return out


def _head(pairs: list[tuple[str, str]], eol: bytes) -> bytes:
    return b"".join(f"{name}: {value}".encode("utf-8", "surrogateescape") + eol for name, value in pairs)


@st.composite
def leaves(draw: st.DrawFn) -> bytes:
    """One MIME part: a content type and charset, a transfer encoding, a body of any bytes."""
    ctype = draw(st.sampled_from(CONTENT_TYPES))
    params = ""
    if draw(st.booleans()):
        params += f'; charset="{draw(st.sampled_from(CHARSETS))}"'
    if draw(st.booleans()):
        params += f'; name="{draw(st.text(max_size=20))}"'
    pairs = [("Content-Type", ctype + params), ("Content-Transfer-Encoding", draw(st.sampled_from(ENCODINGS)))]
    if draw(st.booleans()):
        pairs.append(("Content-Disposition", f'attachment; filename="{draw(st.text(max_size=30))}"'))
    body = draw(
        st.binary(max_size=200)
        | st.text(max_size=200).map(lambda t: t.encode("utf-8", "surrogateescape"))
        | st.sampled_from(
            [b"<p>Hello</p><blockquote>old</blockquote>", b"=E9t=E9=\r\n", b"SGVsbG8=", b"begin 644 x\n`\nend\n"]
        )
    )
    return _head(pairs, b"\r\n") + b"\r\n" + body


def _multipart(parts: list[bytes], boundary: str, style: str, subtype: str) -> bytes:
    """A multipart body; ``style`` breaks it: no boundary parameter, no closing line, another boundary."""
    b = boundary.encode()
    param = {"missing": "", "wrong": '; boundary="not-the-one"', "empty": '; boundary=""'}.get(
        style, f'; boundary="{boundary}"'
    )
    head = f"Content-Type: multipart/{subtype}{param}\r\n\r\npreamble\r\n".encode()
    body = b"".join(b"--" + b + b"\r\n" + p + b"\r\n" for p in parts)
    close = b"" if style == "unclosed" else b"--" + b + b"--\r\nepilogue\r\n"
    return head + body + close


def mime_trees() -> st.SearchStrategy[bytes]:
    return st.recursive(
        leaves(),
        lambda children: st.builds(
            _multipart,
            st.lists(children, max_size=4),
            st.text(alphabet="abcXYZ0123'()+_,-./:=? ", min_size=1, max_size=70),
            st.sampled_from(["ok", "ok", "ok", "missing", "unclosed", "wrong", "empty"]),
            st.sampled_from(["mixed", "alternative", "related", "report; report-type=delivery-status", "digest"]),
        ),
        max_leaves=8,
    )


@st.composite
def deep_nests(draw: st.DrawFn) -> bytes:
    """Multiparts (or forwarded messages) nested up to hundreds of levels, closed or not."""
    depth = draw(st.integers(1, 400))
    closed = draw(st.booleans())
    forwards = draw(st.booleans())
    inner = b"Content-Type: text/plain\r\n\r\nthe innermost text\r\n"
    for i in range(depth):
        if forwards and i % 2:
            inner = b"Content-Type: message/rfc822\r\n\r\nSubject: fwd\r\n" + inner
            continue
        b = f"level{i}".encode()
        end = b"--" + b + b"--\r\n" if closed else b""
        inner = b'Content-Type: multipart/mixed; boundary="' + b + b'"\r\n\r\n--' + b + b"\r\n" + inner + b"\r\n" + end
    return inner


@st.composite
def raw_messages(draw: st.DrawFn) -> bytes:
    """An RFC 5322 message assembled byte by byte, so nothing repairs what it breaks."""
    eol = draw(st.sampled_from([b"\r\n", b"\n", b"\r"]))
    head = _head(draw(headers()), eol)
    body = draw(mime_trees() | deep_nests() | st.binary(max_size=300))
    return head + body if draw(st.booleans()) else head + eol + body


@st.composite
def stdlib_messages(draw: st.DrawFn) -> bytes:
    """A well-formed message made with the stdlib ``email`` package: text, HTML, attachments, forwards."""
    msg = EmailMessage(policy=default)
    msg["From"] = draw(st.sampled_from(ADDRESSES[:4]))
    msg["To"] = "support@eagle5.example"
    msg["Subject"] = draw(
        st.sampled_from(["", "Expensatron please", "CRM is down [#1]", "Re: (#2) thanks", "I need Expensatron"])
        | st.text(max_size=40).map(lambda t: " ".join(t.splitlines()))
    )
    if draw(st.booleans()):
        msg["Message-ID"] = draw(st.sampled_from(["<fuzz-1@eagle5.example>", "<fuzz-2@eagle5.example>"]))
    if draw(st.booleans()):
        msg["In-Reply-To"] = "<itsm.1.0123456789abcdef.0000000000@eagle5.example>"
    body = draw(
        st.text(max_size=300)
        | st.sampled_from(
            [
                "mobile_number: +44 7700 900123\nmobile_os: iOS\nreason: client visits",
                "Your phone's system: Android\n\nOn Mon, Steve wrote:\n> old text",
                "could I have Expensatron?",
            ]
        )
    )
    charset = draw(st.sampled_from(["utf-8", "latin-1", "cp1252", "koi8-r", "utf-16"]))
    try:
        msg.set_content(body, charset=charset)
    except (UnicodeEncodeError, LookupError):
        msg.set_content(body)
    if draw(st.booleans()):
        msg.add_alternative(f"<p>{body}</p><div class=gmail_quote>quoted</div>", subtype="html")
    for _ in range(draw(st.integers(0, 3))):
        name = draw(st.text(max_size=30) | st.just("../../etc/passwd") | st.just(".hidden"))
        with contextlib.suppress(ValueError):  # a file name the generator itself refuses (a line break in it)
            msg.add_attachment(
                draw(st.binary(max_size=100)), maintype="application", subtype="octet-stream", filename=name
            )
    for i, part in enumerate(msg.walk()):
        if part.is_multipart():
            part.set_boundary(f"=-fuzz-{i}-=")  # the generator's own would come from the random module
    try:
        return msg.as_bytes(policy=SMTP)
    except (UnicodeError, ValueError):  # a header value the generator itself refuses
        return msg.as_bytes(policy=SMTP.clone(utf8=True)) if msg["Subject"] else b""


def _automatic(name: str) -> bytes:
    return (CORPUS / name).read_bytes()


#: Bounces and auto-replies of the common mail systems: (headers to add, content type, subject).
AUTOMATIC_SHAPES: list[tuple[list[tuple[str, str]], str, str]] = [
    ([("Auto-Submitted", "auto-replied")], "text/plain", "Out of the office"),
    ([("Auto-Submitted", "auto-generated; reason=vacation")], "text/plain", "Hi"),
    ([("X-Auto-Response-Suppress", "All")], "text/plain", "Automatic reply: CRM"),
    ([("X-Auto-Response-Suppress", "DR, OOF")], "text/plain", "Hello"),
    ([("X-MS-Exchange-Inbox-Rules-Loop", "steve@eagle5.example")], "text/plain", "Hello"),
    ([("X-Autoreply", "yes")], "text/plain", "Away"),
    ([("Precedence", "auto_reply")], "text/plain", "Away"),
    ([("Precedence", "bulk")], "text/plain", "News"),
    ([("List-Id", "<it.eagle5.example>")], "text/plain", "Digest"),
    ([("List-Unsubscribe", "<mailto:u@x>")], "text/html", "Newsletter"),
    ([("Return-Path", "<>")], "text/plain", "Undelivered Mail Returned to Sender"),
    ([], "multipart/report; report-type=delivery-status", "Delivery Status Notification (Failure)"),
    ([], "multipart/report; report-type=disposition-notification", "Read: CRM"),
    ([], "message/delivery-status", "Mail delivery failed"),
    *[([], "text/plain", f"{prefix} CRM is down") for prefix in DEFAULT_AUTO_REPLY_SUBJECTS],
]


@st.composite
def automatic_messages(draw: st.DrawFn) -> tuple[bytes, bool]:
    """A bounce or auto-reply, and whether its giveaway is intact (then it must be dropped)."""
    extra, ctype, subject = draw(st.sampled_from(AUTOMATIC_SHAPES))
    sender = draw(st.sampled_from(["steve@eagle5.example", "MAILER-DAEMON@mx.eagle5.example", "stranger@x.example"]))
    pairs = [("From", sender), ("To", "support@eagle5.example"), ("Subject", subject), *extra]
    noise = draw(st.lists(st.tuples(st.sampled_from(HEADER_NAMES[4:12]), header_values()), max_size=3))
    pairs += noise
    boundary = "b0undary"
    if ctype.startswith("multipart/"):
        ctype += f'; boundary="{boundary}"'
        body = _multipart(
            [draw(leaves()), b"Content-Type: message/delivery-status\r\n\r\nAction: failed\r\n"],
            boundary,
            "ok",
            "mixed",
        )
        body = body.split(b"\r\n\r\n", 1)[1]
    else:
        body = draw(st.binary(max_size=200))
    pairs.append(("Content-Type", ctype))
    return _head(pairs, b"\r\n") + b"\r\n" + body, not noise


@st.composite
def mutated_corpus(draw: st.DrawFn) -> bytes:
    """A real message of the corpus with bytes flipped, cut, repeated or spliced into another."""
    data = bytearray(_automatic(draw(st.sampled_from(CORPUS_FILES))))
    for _ in range(draw(st.integers(1, 5))):
        how = draw(st.sampled_from(["flip", "cut", "insert", "repeat", "splice"]))
        at = draw(st.integers(0, max(0, len(data) - 1)))
        if how == "flip" and data:
            data[at] = draw(st.integers(0, 255))
        elif how == "cut":
            del data[at : at + draw(st.integers(1, 400))]
        elif how == "insert":
            data[at:at] = draw(
                st.binary(min_size=1, max_size=40) | st.sampled_from([b"\r\n", b"\n\n", b"--", b"=?", b"\x00"])
            )
        elif how == "repeat":
            data[at:at] = bytes(data[at : at + 200]) * draw(st.integers(1, 50))
        else:
            other = _automatic(draw(st.sampled_from(CORPUS_FILES)))
            data[at:] = other[draw(st.integers(0, len(other))) :]
    return bytes(data)


MESSAGES = st.one_of(raw_messages(), stdlib_messages(), mutated_corpus(), st.binary(max_size=500))

# --------------------------------------------------------------------------- the gate under test


@pytest.fixture
def config(deployment: Callable[..., Path]) -> Path:
    return deployment(
        preferred=False,
        services=SERVICES,
        unknown_senders="bounce",
        attachments_dir="attachments",
        max_demands_per_hour=1_000_000,
        max_message_bytes=2_000_000,
        timeout=1.0,
    )


@pytest.fixture
def gate(config: Path) -> Iterator[Mailgate]:
    with Desk.open(config) as desk:
        name, channel = next((n, c) for n, c in desk.channels().items() if isinstance(c, EmailChannel))
        yield Mailgate(desk, channel, name)


def half_written(desk: Desk) -> list[str]:
    """Demands without a journey, journey events without a demand: what a crash mid-write leaves."""
    with desk.engine.connect() as conn:
        lonely = conn.execute(
            sql("SELECT d.id FROM demands d WHERE NOT EXISTS (SELECT 1 FROM journey_events e WHERE e.demand_id = d.id)")
        ).all()
        orphans = conn.execute(
            sql("SELECT e.id FROM journey_events e WHERE NOT EXISTS (SELECT 1 FROM demands d WHERE d.id = e.demand_id)")
        ).all()
    return [f"demand {r[0]} has no journey" for r in lonely] + [f"event {r[0]} has no demand" for r in orphans]


def check(gate: Mailgate, raw: bytes) -> Outcome:
    outcome = gate.ingest(raw)  # anything raised fails the test: the MTA would get a traceback
    assert outcome.action in ACTIONS, outcome
    assert outcome.exit_code in (EX_OK, EX_DATAERR, EX_TEMPFAIL), outcome
    assert outcome.line and "\n" not in outcome.line and "Traceback" not in outcome.line, outcome
    if outcome.action in ("created", "replied"):
        assert outcome.demand_id is not None, outcome
        gate.desk.get(outcome.demand_id)
    assert not half_written(gate.desk)
    return outcome


# --------------------------------------------------------------------------- properties


@given(raw=MESSAGES)
@example(raw=b"")
@example(raw=b"\r\n")
@example(raw=b"From: steve@eagle5.example\r\nContent-Type: multipart/mixed\r\n\r\n--x\r\n\r\nhi\r\n--x--\r\n")
def test_parse_reads_anything(raw: bytes) -> None:
    """The reading alone, fast: every field a string or tuple of strings, no control characters."""
    mail = parse(raw)
    for value in (mail.subject, mail.sender_name, mail.text, mail.new_text, mail.message_id):
        assert isinstance(value, str)
        assert not any(ord(c) < 0x20 and c not in "\n\t" for c in value), repr(value)
    assert mail.message_id.startswith("<") and mail.message_id.endswith(">")
    for a in mail.attachments:
        assert a.filename and "/" not in a.filename and not a.filename.startswith(".")


@given(raw=MESSAGES)
def test_mailgate_decides_anything(gate: Mailgate, raw: bytes) -> None:
    check(gate, raw)


@given(shape=automatic_messages())
def test_bounces_and_auto_replies_create_nothing(gate: Mailgate, shape: tuple[bytes, bool]) -> None:
    raw, intact = shape
    outcome = check(gate, raw)
    if intact:
        assert outcome.action == "dropped", outcome


@given(raw=deep_nests())
def test_deep_nesting(gate: Mailgate, raw: bytes) -> None:
    head = b"From: steve@eagle5.example\r\nTo: support@eagle5.example\r\nSubject: nested\r\nMIME-Version: 1.0\r\n"
    check(gate, head + raw)


#: Headers read from the raw header lines (addresses for a reply address): a megabyte each is fine.
RAW_READ = ["To", "Cc", "Delivered-To", "X-Original-To", "X-Unknown"]


@given(
    name=st.sampled_from(RAW_READ),
    size=st.integers(1_000, 1_000_000),
    unit=st.sampled_from([b"a", b" ", b"\xe9", b"=?utf-8?q?x?= ", b"x@y.example, ", b"\r\n a"]),
)
def test_huge_headers(gate: Mailgate, name: str, size: int, unit: bytes) -> None:
    raw = b"From: steve@eagle5.example\r\nSubject: big\r\n" + name.encode() + b": "
    check(gate, raw + unit * (size // len(unit)) + b"\r\n\r\nhello\r\n")


@given(
    name=st.sampled_from(HEADER_NAMES),
    size=st.integers(100, 4_000),
    unit=st.sampled_from([b"a", b" ", b"\xe9", b"=?utf-8?q?x?= ", b"x@y.example, ", b"<x@y> ", b"\r\n a"]),
)
def test_long_headers(gate: Mailgate, name: str, size: int, unit: bytes) -> None:
    """Structured headers (addresses, Content-Type, Message-ID) are parsed by the stdlib in more than
    linear time: these stay within a few kilobytes."""
    raw = b"From: steve@eagle5.example\r\nSubject: long\r\n" + name.encode() + b": "
    check(gate, raw + unit * (size // len(unit)) + b"\r\n\r\nhello\r\n")


@given(
    name=st.sampled_from(["Content-Type", "Content-Disposition"]),
    size=st.integers(4_000, 200_000),
    unit=st.sampled_from([b"a=b; ", b'a="b\\"c"; ', b"filename*0=x; ", b"(", b"(x) "]),
)
def test_huge_parameter_headers(gate: Mailgate, name: str, size: int, unit: bytes) -> None:
    """MIME parameter headers are cut to size before the stdlib parses them, in every part."""
    value = b"text/plain; " if name == "Content-Type" else b"inline; "
    big = name.encode() + b": " + value + unit * (size // len(unit))
    check(gate, b"From: steve@eagle5.example\r\nSubject: big\r\n" + big + b"\r\n\r\nhello\r\n")
    part = b'Content-Type: multipart/mixed; boundary="b"\r\n\r\n--b\r\n' + big + b"\r\n\r\nhi\r\n--b--\r\n"
    check(gate, b"From: steve@eagle5.example\r\nSubject: big part\r\n" + part)


@pytest.mark.parametrize("name", ["Content-Type", "From", "Subject", "Message-ID", "Content-Disposition"])
def test_comments_nested_thousands_deep_are_dropped(name: str) -> None:
    """Found by reading the stdlib: it parses a comment by recursion, one level per "(" — a thousand
    levels in any structured header raised RecursionError."""
    deep = b"(" * 5_000 + b")" * 5_000
    head = b"From: steve@eagle5.example\r\n" if name != "From" else b""
    value = {"Content-Type": b"text/plain; " + deep, "From": b"steve@eagle5.example " + deep}.get(name, deep)
    mail = parse(head + name.encode() + b": " + value + b"\r\n\r\nhello\r\n")
    assert mail.sender == "steve@eagle5.example"
    assert mail.text.strip() == "hello"


def test_a_thirty_kilobyte_content_type_keeps_its_type_and_charset() -> None:
    raw = b"From: steve@eagle5.example\r\nContent-Type: text/plain; charset=utf-8; " + b"a=b; " * 6_000
    mail = parse(raw + b"\r\n\r\n" + "café".encode() + b"\r\n")
    assert mail.text.strip() == "café"
    assert mail.msg.get_content_type() == "text/plain"


def test_an_encoded_word_with_a_line_break_in_from_is_read() -> None:
    """Found by the fuzzer: a From whose encoded word decodes to CR made the header fallback raise."""
    for raw in (b"From: =??b?DQ==?=\r\n\r\nhi\r\n", b"From: =??b??=\r\n\r\nhi\r\n"):
        mail = parse(raw)
        assert mail.sender is None and mail.text.strip() == "hi"


def test_found_by_the_fuzzer(gate: Mailgate) -> None:
    """A charset label with a NUL in it, and a sender address that cannot be written back ("@")."""
    nul = b'From: steve@eagle5.example\r\nSubject: x\r\nContent-Type: text/plain; charset="\x00"\r\n\r\nhello\r\n'
    assert check(gate, nul).action == "created"
    assert "hello" in parse(nul).text
    at = b"From: =??b?QA==?=\r\n\r\nhi\r\n"
    assert check(gate, at).action == "dropped"


def test_every_corpus_message(gate: Mailgate) -> None:
    for name in CORPUS_FILES:
        check(gate, _automatic(name))
        check(gate, _automatic(name))  # and again: a duplicate


# --------------------------------------------------------------------------- the real command


def _cli_examples() -> int:
    return max(5, settings().max_examples // 50)


@settings(max_examples=_cli_examples())
@given(raw=MESSAGES)
def test_ingest_command_exits_with_its_documented_statuses(config: Path, raw: bytes) -> None:
    result = CliRunner().invoke(cli, ["-c", str(config), "email", "ingest"], input=raw)
    assert result.exception is None or isinstance(result.exception, SystemExit), result.output
    assert result.exit_code in (EX_OK, EX_DATAERR, EX_TEMPFAIL), result.output
    assert "Traceback" not in result.output
    assert len(result.stdout.strip().splitlines()) == 1, result.output  # one line for the MTA; logs go to stderr
    with Desk.open(config) as desk:
        assert not half_written(desk)


def test_ingest_in_a_process_of_its_own(config: Path) -> None:
    """A few through a real ``itsm`` process: nothing on stderr, a documented status."""
    rng = random.Random(18)
    samples = [_automatic(n) for n in CORPUS_FILES[:4]]
    samples += [
        bytes(rng.randrange(256) for _ in range(300)),
        b"",
        b"From: steve@eagle5.example\r\n\r\n" + b"x" * 3_000_000,
    ]
    env = {**os.environ, "ITSM_SECRET": "test-secret-not-for-production"}
    for raw in samples:
        proc = subprocess.run(
            [str(Path(sys.executable).with_name("itsm")), "-c", str(config), "email", "ingest"],
            input=raw,
            capture_output=True,
            env=env,
            timeout=120,
        )
        assert proc.returncode in (EX_OK, EX_DATAERR, EX_TEMPFAIL), proc
        assert b"Traceback" not in proc.stderr + proc.stdout, proc.stderr.decode(errors="replace")
    with Desk.open(config) as desk:
        assert not half_written(desk)
