"""Reading one incoming message with the stdlib ``email`` package (``email.policy.default``).

:func:`parse` never raises on bad input: missing or malformed headers become defaults
(a Message-ID synthesised from a hash of the message, no date), undecodable text is
decoded leniently, and :func:`automatic_reason` says why a message must not be answered.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from collections.abc import Sequence
from datetime import datetime
from email import message_from_bytes, policy
from email.message import EmailMessage, Message
from email.utils import getaddresses, parseaddr, parsedate_to_datetime

import attrs

from .text import html_to_text, strip_quoted

_MSGID = re.compile(r"<[^<>\s@]+@[^<>\s]+>")


@attrs.frozen(kw_only=True)
class Attachment:
    filename: str
    content_type: str
    data: bytes

    @property
    def size(self) -> int:
        return len(self.data)


@attrs.frozen(kw_only=True)
class IncomingMail:
    """The facts of one message the mailgate needs."""

    sender: str | None
    sender_name: str
    subject: str
    message_id: str
    synthetic_id: bool
    in_reply_to: tuple[str, ...]
    references: tuple[str, ...]
    recipients: tuple[str, ...]
    date: datetime | None
    text: str
    new_text: str
    from_html: bool
    attachments: tuple[Attachment, ...]
    msg: EmailMessage = attrs.field(repr=False)


def _header(msg: Message, name: str) -> str:
    """A header as text; a malformed one yields its raw value rather than an exception."""
    try:
        value = msg.get(name)
    except Exception:
        raw = msg.get_all(name, failobj=[]) if hasattr(msg, "get_all") else []
        value = raw[0] if raw else None
    if value is None:
        return ""
    return " ".join(str(value).split())


def _all(msg: Message, name: str) -> list[str]:
    try:
        return [str(v) for v in msg.get_all(name, failobj=[])]
    except Exception:
        return []


def _sender(msg: Message) -> tuple[str | None, str]:
    for name in ("From", "Sender", "Reply-To"):
        try:
            header = msg[name]
            addresses = getattr(header, "addresses", None) if header is not None else None
            if addresses:
                addr = addresses[0]
                if addr.addr_spec and "@" in addr.addr_spec:
                    return addr.addr_spec.strip().lower(), addr.display_name or ""
        except Exception:
            pass
        raw = _header(msg, name)
        if raw:
            display, addr = parseaddr(raw)
            if "@" in addr:
                return addr.strip().lower(), display
    return None, ""


def message_ids(value: str) -> tuple[str, ...]:
    return tuple(dict.fromkeys(_MSGID.findall(value)))


def _synthetic_id(raw: bytes, msg: Message) -> str:
    """A stable Message-ID for a message that has none: the same message gets the same one."""
    h = hashlib.sha256()
    for name in ("From", "To", "Date", "Subject"):
        h.update(_header(msg, name).encode("utf-8", "replace") + b"\0")
    # the body, not the transport headers an MTA adds on each delivery
    sep = raw.find(b"\r\n\r\n")
    sep = raw.find(b"\n\n") if sep < 0 else sep
    h.update(raw[sep:] if sep >= 0 else raw)
    return f"<{h.hexdigest()[:32]}@synthesised.itsm-email.invalid>"


def _decode(part: Message) -> str:
    """The text of a text/* part; lenient about wrong or unknown charsets."""
    charset = (part.get_content_charset() or "us-ascii").lower()
    payload = part.get_payload(decode=True)
    if not isinstance(payload, bytes):
        payload = str(part.get_payload()).encode("utf-8", "replace")
    # Windows-1252 mail is routinely labelled ISO-8859-1 (the WHATWG rule: decode as 1252)
    if charset in ("iso-8859-1", "latin-1", "latin1", "us-ascii", "ascii"):
        charset = "cp1252"
    for candidate in (charset, "utf-8"):
        try:
            return payload.decode(candidate)
        except (LookupError, UnicodeDecodeError):
            continue
    return payload.decode("cp1252", "replace")


def _body(msg: EmailMessage) -> tuple[str, str, bool, Message | None]:
    """(full text, text without quoted history, came from HTML, the body part)."""
    try:
        part = msg.get_body(preferencelist=("plain", "html"))
    except Exception:
        part = None
    if part is None:
        if msg.get_content_maintype() == "text":
            part = msg
        else:
            return "", "", False, None
    text = _decode(part)
    if part.get_content_subtype() == "html":
        return html_to_text(text), strip_quoted(html_to_text(text, drop_quotes=True)), True, part
    return text, strip_quoted(text), False, part


def safe_filename(name: str | None, index: int) -> str:
    """A file name safe on any file system: no directories, no leading dots, no odd characters."""
    name = unicodedata.normalize("NFKC", name or "")
    name = name.replace("\\", "/").rsplit("/", 1)[-1]
    name = re.sub(r"[^\w.\-]+", "_", name).strip("._")
    if not name:
        name = f"attachment-{index}"
    stem, dot, ext = name.rpartition(".")
    if dot and len(ext) <= 10:
        return stem[:100] + "." + ext
    return name[:110]


def _attachments(msg: EmailMessage, body: Message | None) -> tuple[Attachment, ...]:
    out: list[Attachment] = []
    for part in msg.walk():
        if part is body or part.is_multipart():
            continue
        ctype = part.get_content_type()
        disposition = (part.get_content_disposition() or "").lower()
        filename = part.get_filename()
        # alternatives of the body (the HTML of a plain+HTML pair) are not attachments
        if (disposition != "attachment" and not filename) and (
            part.get_content_maintype() in ("text", "message") or ctype.startswith("multipart/")
        ):
            continue
        try:
            data = part.get_payload(decode=True)
        except Exception:
            data = None
        if not isinstance(data, bytes):
            data = str(part.get_payload()).encode("utf-8", "replace")
        out.append(Attachment(filename=safe_filename(filename, len(out) + 1), content_type=ctype, data=data))
    return tuple(out)


def parse(raw: bytes) -> IncomingMail:
    """Read ``raw`` (one RFC 5322 message) into :class:`IncomingMail`."""
    msg = message_from_bytes(raw, policy=policy.default)
    assert isinstance(msg, EmailMessage)
    sender, sender_name = _sender(msg)
    found = message_ids(_header(msg, "Message-ID"))
    synthetic = not found
    message_id = found[0] if found else _synthetic_id(raw, msg)
    date = None
    try:
        raw_date = _header(msg, "Date")
        date = parsedate_to_datetime(raw_date) if raw_date else None
    except (TypeError, ValueError, IndexError):
        date = None
    text, new_text, from_html, body_part = _body(msg)
    recipients: list[str] = []
    for name in ("To", "Cc", "Delivered-To", "X-Original-To", "Envelope-To"):
        for _n, addr in getaddresses(_all(msg, name)):
            if addr:
                recipients.append(addr.lower())
    return IncomingMail(
        sender=sender,
        sender_name=sender_name,
        subject=_header(msg, "Subject"),
        message_id=message_id,
        synthetic_id=synthetic,
        in_reply_to=message_ids(_header(msg, "In-Reply-To")),
        references=message_ids(" ".join(_all(msg, "References"))),
        recipients=tuple(dict.fromkeys(recipients)),
        date=date,
        text=text,
        new_text=new_text,
        from_html=from_html,
        attachments=_attachments(msg, body_part),
        msg=msg,
    )


def automatic_reason(msg: Message, *, own_addresses: Sequence[str] = (), loop_tag: str = "",
                     subject_prefixes: Sequence[str] = ()) -> str | None:  # fmt: skip
    """Why this message was sent by a machine and must create nothing, or ``None`` if a person sent it."""
    ctype = msg.get_content_type()
    if ctype == "multipart/report":
        report = (msg.get_param("report-type") or "report") if hasattr(msg, "get_param") else "report"
        kind = "bounce" if str(report).lower() == "delivery-status" else "report"
        return f"{kind} (multipart/report; report-type={report})"
    if ctype in ("message/delivery-status", "message/disposition-notification"):
        return f"bounce ({ctype})"
    auto = _header(msg, "Auto-Submitted")
    if auto and auto.split(";")[0].strip().lower() != "no":
        return f"auto-reply (Auto-Submitted: {auto})"
    return_path = _header(msg, "Return-Path")
    if return_path and return_path.replace(" ", "") in ("<>", "<<>>"):
        return "bounce (Return-Path: <>)"
    sender, _ = _sender(msg)
    local = (sender or "").split("@")[0]
    if local in ("mailer-daemon", "postmaster"):
        return f"bounce (from {sender})"
    precedence = _header(msg, "Precedence").lower()
    if precedence in ("bulk", "junk", "list", "auto_reply"):
        return f"bulk mail (Precedence: {precedence})"
    for name in ("X-Autoreply", "X-Autorespond", "X-Autoresponse", "X-Autogenerated"):
        value = _header(msg, name)
        if value and value.lower() not in ("no", "false"):
            return f"auto-reply ({name}: {value})"
    if _header(msg, "List-Id") or _header(msg, "List-Post"):
        return f"mailing-list copy (List-Id: {_header(msg, 'List-Id') or _header(msg, 'List-Post')})"
    if loop_tag and any(v.strip() == loop_tag for v in _all(msg, "X-Loop")):
        return "mail loop (our own X-Loop header)"
    if sender and sender in {a.lower() for a in own_addresses}:
        return f"mail loop (sent from our own address {sender})"
    subject = _header(msg, "Subject").lower()
    for prefix in subject_prefixes:
        if prefix and subject.startswith(prefix.lower()):
            return f"auto-reply (subject starts with {prefix!r})"
    return None
