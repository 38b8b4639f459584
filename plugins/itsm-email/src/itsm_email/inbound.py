"""Reading one incoming message with the stdlib ``email`` package (``email.policy.default``).

:func:`parse` never raises on bad input: missing or malformed headers become defaults
(a Message-ID synthesised from a hash of the message, no date), undecodable text is
decoded leniently, control characters are removed from every header and body, and the
work is bounded: at most :data:`MAX_PARTS` MIME parts, :data:`MAX_DEPTH` levels and
:data:`MAX_RECIPIENTS` recipients are looked at, and header values are cut to size before the
stdlib's structured parse (:data:`BOUNDED`), so a hostile message costs no more than a
normal one. What could not be read is said in :attr:`IncomingMail.notes`.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from collections.abc import Iterator
from datetime import datetime
from email import message_from_bytes, policy
from email.message import EmailMessage, Message
from email.parser import BytesHeaderParser
from email.policy import EmailPolicy
from email.utils import getaddresses, parseaddr, parsedate_to_datetime

import attrs

from .automatic import all_headers as _all
from .automatic import header as _header
from .text import clean_body, clean_header, html_to_text, strip_quoted

_MSGID = re.compile(r"<[^<>\s@]+@[^<>\s]+>")
#: Multipart containers and enclosed messages a message may declare before its parts are not read
#: (the ``email`` parser recurses once per level; a thousand levels would exhaust the stack).
MAX_CONTAINERS = 100
#: MIME parts looked at, and how deep.
MAX_PARTS = 500
MAX_DEPTH = 30
#: Recipient addresses looked at for a reply address (the MTA's Delivered-To first).
MAX_RECIPIENTS = 1000
_CONTAINER = re.compile(rb"boundary\s*=|message/(?:rfc822|global)", re.IGNORECASE)
_BOUNDARY_LINE = re.compile(rb"^--([^\s]{1,70})[ \t]*\r?$", re.MULTILINE)
#: Labels senders put on text that is often really UTF-8 or Windows-1252.
_LOOSE_LABELS = {"", "us-ascii", "ascii", "iso-8859-1", "latin-1", "latin1", "iso_8859-1", "windows-1252", "cp1252"}
_ENCLOSED = ("message/rfc822", "message/global")
#: Characters of a MIME parameter header (Content-Type, Content-Disposition) read: real ones fit a
#: line of 998, and the stdlib parses them at about 30 µs a character.
MAX_PARAMETER_HEADER = 2_000
#: Comments nested deeper than this are dropped from a header before it is parsed (the stdlib
#: parser recurses once per level: a thousand would exhaust the stack).
MAX_COMMENT_DEPTH = 8
_PARAMETER_HEADERS = frozenset({"content-type", "content-disposition"})


def tame_header(name: str, value: str) -> str:
    """``value`` as the structured parse may safely read it: a MIME parameter header cut after its
    last whole parameter within :data:`MAX_PARAMETER_HEADER`, and deeply nested comments dropped."""
    if name.lower() in _PARAMETER_HEADERS and len(value) > MAX_PARAMETER_HEADER:
        cut = value[:MAX_PARAMETER_HEADER]
        value = cut[: cut.rfind(";")] if ";" in cut else cut
    if value.count("(") > MAX_COMMENT_DEPTH:
        depth = deepest = 0
        for ch in value:
            depth += ch == "("
            deepest = max(deepest, depth)
            depth -= ch == ")" and depth > 0
        if deepest > MAX_COMMENT_DEPTH:
            value = _uncommented(value)
    return value


def _uncommented(value: str) -> str:
    out, depth = [], 0
    for ch in value:
        if ch == "(":
            depth += 1
        elif ch == ")" and depth:
            depth -= 1
        elif not depth:
            out.append(ch)
    return "".join(out)


class _BoundedPolicy(EmailPolicy):
    """``policy.default``, with each header value passed through :func:`tame_header` before the
    structured parse: the parts of a message inherit it, so their headers are bounded too."""

    def header_fetch_parse(self, name: str, value: str) -> str:
        if not hasattr(value, "name"):
            value = tame_header(name, value)
        return super().header_fetch_parse(name, value)


#: The policy every incoming message is read with.
BOUNDED = _BoundedPolicy()


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
    """The facts of one message the mailgate needs, every text already free of control characters."""

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
    #: What could not be read, in words for the journey (empty for a well-formed message).
    notes: tuple[str, ...] = ()
    #: A hash of who sent it and what it says: tells a resent message from another one reusing its Message-ID.
    digest: str = ""
    msg: EmailMessage = attrs.field(repr=False)


def _sender(msg: Message) -> tuple[str | None, str]:
    for name in ("From", "Sender", "Reply-To"):
        try:
            header = msg[name]
            addresses = getattr(header, "addresses", None) if header is not None else None
            if addresses:
                addr = addresses[0]
                spec = clean_header(addr.addr_spec or "")
                if spec and "@" in spec:
                    return spec.replace(" ", "").lower(), clean_header(addr.display_name or "")
        except Exception:
            pass
        raw = _header(msg, name)
        if raw:
            display, addr = parseaddr(raw)
            if "@" in addr:
                return addr.strip().lower(), clean_header(display)
    return None, ""


def message_ids(value: str) -> tuple[str, ...]:
    return tuple(dict.fromkeys(_MSGID.findall(value)))


def _raw_headers(raw: bytes) -> Message:
    """The header section with values as written: cheap to read even with ten thousand recipients."""
    try:
        return BytesHeaderParser(policy=policy.compat32).parsebytes(raw)
    except Exception:
        return Message()


def _raw_values(headers: Message, name: str) -> list[str]:
    return [" ".join(str(v).split()) for v in headers.get_all(name, failobj=[])]


def _synthetic_id(raw: bytes, msg: Message, headers: Message) -> str:
    """A stable Message-ID for a message that has none: the same message gets the same one."""
    h = hashlib.sha256()
    for name in ("From", "To", "Date", "Subject"):
        value = _header(msg, name) if name != "To" else clean_header(" ".join(_raw_values(headers, "To")))
        h.update(value.encode("utf-8", "replace") + b"\0")
    # the body, not the transport headers an MTA adds on each delivery
    sep = raw.find(b"\r\n\r\n")
    sep = raw.find(b"\n\n") if sep < 0 else sep
    h.update(raw[sep:] if sep >= 0 else raw)
    return f"<{h.hexdigest()[:32]}@synthesised.itsm-email.invalid>"


def decode_text(payload: bytes, label: str | None) -> str:
    """Text from bytes in a declared charset, trusting the bytes over the label.

    Strict UTF-8 comes first for the labels mailers put on anything (us-ascii, ISO-8859-1,
    Windows-1252, none): valid UTF-8 is almost never an accident, while 8-bit UTF-8 labelled
    us-ascii is common. Windows-1252 is next (the WHATWG rule for ISO-8859-1 labels); a
    specific label (ISO-2022-JP, KOI8-R) is tried first as it is.
    """
    label = (label or "").lower()
    candidates = ["utf-8", "cp1252"] if label in _LOOSE_LABELS else [label, "utf-8", "cp1252"]
    for candidate in candidates:
        try:
            return payload.decode(candidate)
        except (LookupError, ValueError):  # ValueError: a label Python cannot look up (a NUL in it)
            continue
    return payload.decode("cp1252", "replace")


def _payload(part: Message) -> bytes:
    try:
        data = part.get_payload(decode=True)
    except Exception:
        data = None
    if isinstance(data, bytes):
        return data
    return str(part.get_payload()).encode("utf-8", "surrogateescape")


def _decode(part: Message) -> str:
    """The text of a text/* part; lenient about wrong or unknown charsets."""
    return clean_body(decode_text(_payload(part), part.get_content_charset()))


def _leaves(root: Message) -> Iterator[Message]:
    """Every non-container part, depth first, without recursion and within the limits.

    An enclosed message (a forward as message/rfc822) is one leaf: it is kept whole.
    """
    stack: list[tuple[Message, int]] = [(root, 0)]
    seen = 0
    while stack and seen < MAX_PARTS:
        part, depth = stack.pop()
        seen += 1
        if part.is_multipart() and part.get_content_type() not in _ENCLOSED:
            if depth < MAX_DEPTH:
                children = part.get_payload()
                if isinstance(children, list):
                    stack.extend((c, depth + 1) for c in reversed(children) if isinstance(c, Message))
            continue
        yield part


def _repair(msg: EmailMessage, notes: list[str]) -> EmailMessage:
    """The message to read parts from: ``msg``, or its body re-read when a multipart lost its boundary.

    Without a boundary parameter the parser gives up on the parts and keeps the body as one
    string. When the body shows its boundary (a ``--xyz`` line closed by ``--xyz--``) the parts
    are read with it; otherwise the body is taken as plain text, so nothing the sender wrote is lost.
    """
    if msg.get_content_maintype() != "multipart" or msg.is_multipart():
        return msg
    data = _payload(msg)
    for m in _BOUNDARY_LINE.finditer(data):
        boundary = m.group(1)[:-2] if m.group(1).endswith(b"--") else m.group(1)
        if b"--" + boundary + b"--" in data:
            head = b'Content-Type: multipart/mixed; boundary="' + boundary + b'"\r\n\r\n'
            inner = message_from_bytes(head + data, policy=BOUNDED)
            if isinstance(inner, EmailMessage) and inner.is_multipart():
                notes.append("its multipart body had no boundary parameter; the parts were read by the boundary found")
                return inner
        break
    notes.append("its multipart body had no boundary parameter; the body was read as plain text")
    text = EmailMessage(policy=BOUNDED)
    text.set_payload(data)
    text["Content-Type"] = 'text/plain; charset="unknown-8bit"'
    return text


def _body(msg: EmailMessage) -> tuple[str, str, bool, Message | None]:
    """(full text, text without quoted history, came from HTML, the body part)."""
    try:
        part = msg.get_body(preferencelist=("plain", "html"))
    except Exception:
        part = None
    if part is None:
        if msg.get_content_maintype() == "text" and msg.get_content_type() != "text/calendar":
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


def _enclosed_bytes(part: Message) -> bytes:
    """An enclosed message (a forward) as the bytes of an .eml file."""
    inner = part.get_payload(0) if part.is_multipart() else None
    if isinstance(inner, Message):
        try:
            return inner.as_bytes()
        except Exception:
            return str(inner).encode("utf-8", "surrogateescape")
    return _payload(part)


def _attachments(root: Message, body: Message | None) -> tuple[Attachment, ...]:
    """Files the sender attached, forwarded messages (.eml) and calendar invitations (.ics).

    Alternatives of the body (the HTML of a plain+HTML pair) are not attachments; a
    text/calendar part is, even as an alternative: it is the meeting an invitation is about.
    """
    out: list[Attachment] = []
    for part in _leaves(root):
        if part is body:
            continue
        ctype = part.get_content_type()
        disposition = (part.get_content_disposition() or "").lower()
        try:
            filename = part.get_filename()
        except Exception:
            filename = None
        if ctype in _ENCLOSED:
            inner = part.get_payload(0) if part.is_multipart() else None
            subject = _header(inner, "Subject") if isinstance(inner, Message) else ""
            name = filename or f"{subject or 'forwarded message'}.eml"
            data = _enclosed_bytes(part)
        elif ctype == "text/calendar":
            name = filename or "invitation.ics"
            data = _payload(part)
        elif disposition != "attachment" and not filename and part.get_content_maintype() in ("text", "message"):
            continue
        elif ctype.startswith("multipart/"):
            continue  # a container below the depth limit: not read
        else:
            name = filename or ""
            data = _payload(part)
        out.append(Attachment(filename=safe_filename(clean_header(name), len(out) + 1), content_type=ctype, data=data))
    return tuple(out)


def _recipients(headers: Message) -> tuple[str, ...]:
    """Addresses the message was delivered or sent to, the MTA's own headers first.

    Read from the raw header lines: the structured header objects of ``policy.default`` take
    seconds for a To of ten thousand addresses.
    """
    out: dict[str, None] = {}
    for name in ("Delivered-To", "X-Original-To", "Envelope-To", "To", "Cc"):
        for _n, addr in getaddresses(_raw_values(headers, name)):
            if addr and len(out) < MAX_RECIPIENTS:
                out[clean_header(addr).lower()] = None
    return tuple(out)


def _digest(sender: str | None, subject: str, text: str, attachments: tuple[Attachment, ...]) -> str:
    h = hashlib.sha256()
    for piece in (sender or "", subject, text):
        h.update(piece.encode("utf-8", "replace") + b"\0")
    for a in attachments:
        h.update(hashlib.sha256(a.data).digest())
    return h.hexdigest()


def parse(raw: bytes) -> IncomingMail:
    """Read ``raw`` (one RFC 5322 message) into :class:`IncomingMail`."""
    notes: list[str] = []
    containers = len(_CONTAINER.findall(raw))
    if containers > MAX_CONTAINERS:
        # Only the headers: reading the parts of a message nested this deep would exhaust the stack.
        msg = BytesHeaderParser(policy=BOUNDED).parsebytes(raw)
        notes.append(
            f"it declares {containers:,} MIME containers (the limit is {MAX_CONTAINERS}); its parts were not read"
        )
    else:
        msg = message_from_bytes(raw, policy=BOUNDED)
    assert isinstance(msg, EmailMessage)
    headers = _raw_headers(raw)
    sender, sender_name = _sender(msg)
    found = message_ids(_header(msg, "Message-ID"))
    synthetic = not found
    message_id = found[0] if found else _synthetic_id(raw, msg, headers)
    date = None
    try:
        raw_date = _header(msg, "Date")
        date = parsedate_to_datetime(raw_date) if raw_date else None
    except (TypeError, ValueError, IndexError):
        date = None
    attachments: tuple[Attachment, ...] = ()
    if containers > MAX_CONTAINERS:
        text, new_text, from_html = "", "", False
    else:
        root = _repair(msg, notes)
        text, new_text, from_html, body_part = _body(root)
        attachments = _attachments(root, body_part)
    subject = _header(msg, "Subject")
    return IncomingMail(
        sender=sender,
        sender_name=sender_name,
        subject=subject,
        message_id=message_id,
        synthetic_id=synthetic,
        in_reply_to=message_ids(_header(msg, "In-Reply-To")),
        references=message_ids(" ".join(_all(msg, "References"))),
        recipients=_recipients(headers),
        date=date,
        text=text,
        new_text=new_text,
        from_html=from_html,
        attachments=attachments,
        notes=tuple(notes),
        digest=_digest(sender, subject, text, attachments),
        msg=msg,
    )
