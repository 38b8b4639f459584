"""The mailgate: one incoming message becomes a demand, a reply on a demand, or nothing (and why).

Used by ``itsm email ingest`` (a message piped in by the MTA) and ``itsm email poll``
(messages read from an IMAP folder). Every outcome is one line a postmaster can read.
"""

from __future__ import annotations

import logging
import re
from datetime import UTC, timedelta
from email.headerregistry import Address
from pathlib import Path
from typing import TYPE_CHECKING

import attrs
import itsmcore

from .inbound import Attachment, IncomingMail, automatic_reason, parse

if TYPE_CHECKING:
    from itsmcore import Customer, Desk

    from .channel import EmailChannel

log = logging.getLogger("itsm_email.gate")

EX_OK = 0
EX_DATAERR = 65
EX_TEMPFAIL = 75

_PREFIX = re.compile(r"^\s*((re|aw|sv|vs|fw|fwd|wg|tr|rv|antw)\s*(\[\d+\])?\s*:\s*)+", re.IGNORECASE)
_ANSWER_LINE = re.compile(r"^\s*([A-Za-z][\w .-]{0,60}?)\s*[:=]\s*(.+?)\s*$")
MAX_DETAILS = 20_000


@attrs.frozen(kw_only=True)
class Outcome:
    """What the mailgate did with one message. ``action`` is one word; ``line`` is for the log."""

    action: str  # created | replied | duplicate | dropped | bounced | rejected
    line: str
    demand_id: int | None = None
    exit_code: int = EX_OK


class StoreDown(Exception):
    """The desk's store cannot be used now; the message must be retried later (EX_TEMPFAIL)."""


def is_store_error(exc: BaseException) -> bool:
    """Whether ``exc`` means the database is unavailable (so the MTA should retry), not bad mail."""
    if isinstance(exc, itsmcore.StoreUnavailable):
        return True
    module = type(exc).__module__ or ""
    if module.startswith("sqlalchemy") and type(exc).__name__ in (
        "OperationalError",
        "InterfaceError",
        "DisconnectionError",
        "TimeoutError",
        "InternalError",
    ):
        return True
    return module.startswith(("sqlite3", "psycopg")) and type(exc).__name__ in ("OperationalError", "InterfaceError")


def clean_subject(subject: str, tag_pattern: re.Pattern[str] | None) -> str:
    s = tag_pattern.sub("", subject) if tag_pattern else subject
    return " ".join(_PREFIX.sub("", s).split())


class Mailgate:
    """Takes mail in for one email channel of one desk."""

    def __init__(self, desk: Desk, channel: EmailChannel, channel_name: str):
        self.desk = desk
        self.channel = channel
        self.name = channel_name
        self.settings = channel.settings
        tag = self.settings.subject_tag
        if tag and "{demand}" in tag:
            before, after = tag.split("{demand}", 1)
            self.subject_tag: re.Pattern[str] | None = re.compile(re.escape(before) + r"(\d{1,12})" + re.escape(after))
        else:
            self.subject_tag = None

    # ------------------------------------------------------------------ entry point

    def ingest(self, raw: bytes) -> Outcome:
        """Handle one message. Raises :class:`StoreDown` when it must be retried later."""
        try:
            return self._ingest(raw)
        except Exception as e:
            if is_store_error(e):
                raise StoreDown(str(e).splitlines()[0] if str(e) else type(e).__name__) from e
            raise

    def _ingest(self, raw: bytes) -> Outcome:
        s = self.settings
        if not raw.strip():
            return Outcome(action="rejected", line="rejected: empty message", exit_code=EX_DATAERR)
        if len(raw) > s.max_message_bytes:
            return Outcome(
                action="dropped", line=f"dropped: message too large ({len(raw):,} bytes; limit {s.max_message_bytes:,})"
            )
        mail = parse(raw)
        reason = automatic_reason(
            mail.msg,
            own_addresses=[s.from_address],
            loop_tag=self.channel.loop_tag(),
            subject_prefixes=s.auto_reply_subjects,
        )
        if reason:
            return Outcome(action="dropped", line=f"dropped: {reason}")
        if mail.sender is None:
            return Outcome(action="dropped", line="dropped: no sender address (From is missing or malformed)")

        existing = self.desk.find_by_external_ref(mail.message_id)
        if existing is not None:
            return Outcome(
                action="duplicate",
                line=f"duplicate: {mail.message_id} already opened demand {existing.id}",
                demand_id=existing.id,
            )

        customer = self.desk.customer_by_email(mail.sender)
        on_behalf = False
        if customer is None and s.unknown_sender_customer:
            customer = self.desk.find_customer(s.unknown_sender_customer)
            on_behalf = customer is not None
        if customer is None:
            return self._unknown_sender(mail)

        demand_id, how = self._thread(mail, customer)
        if demand_id is not None and not on_behalf:
            return self._reply(mail, demand_id, how)
        return self._new_demand(mail, customer, on_behalf)

    # ------------------------------------------------------------------ threading

    def _thread(self, mail: IncomingMail, customer: Customer) -> tuple[int | None, str]:
        """The demand this message answers, and how we know; only the demand's own customer may reply."""
        candidates: list[tuple[int, str]] = []
        for ref in (*mail.in_reply_to, *reversed(mail.references)):
            ours = self.channel.demand_of_message_id(ref)
            if ours is not None:
                candidates.append((ours, f"In-Reply-To/References {ref}"))
                continue
            known = self.desk.find_by_external_ref(ref)
            if known is not None:
                candidates.append((known.id, f"References {ref}"))
        pattern = self.channel.reply_pattern()
        if pattern is not None:
            for addr in mail.recipients:
                m = pattern.fullmatch(addr)
                if m:
                    d = self.channel.demand_of_token(m.group(1))
                    if d is not None:
                        candidates.append((d, f"reply address {addr}"))
        if self.subject_tag is not None:
            m = self.subject_tag.search(mail.subject)
            if m:
                candidates.append((int(m.group(1)), f"subject tag {m.group(0)}"))
        for demand_id, how in candidates:
            try:
                demand = self.desk.get(demand_id)
            except itsmcore.NotFound:
                continue
            if demand.customer_id == customer.id:
                return demand_id, how
            log.info("%s refers to demand %s of another customer; taken as a new demand", mail.message_id, demand_id)
        return None, ""

    # ------------------------------------------------------------------ replies

    def _reply(self, mail: IncomingMail, demand_id: int, how: str) -> Outcome:
        # The Message-ID is the event's external_ref: one index lookup here, and the store's
        # unique index settles two pollers taking in the same reply at once.
        known = self.desk.find_event_by_external_ref(mail.message_id)
        if known is not None:
            return _already_on(mail, known.demand_id)
        text = mail.new_text.strip()
        if not text and not mail.attachments:
            return Outcome(
                action="dropped", line=f"dropped: reply to demand {demand_id} has no new text", demand_id=demand_id
            )
        files = self._keep_attachments(demand_id, mail.attachments)
        behind = f"reply by email from {mail.sender} ({mail.message_id}), threaded by {how}"
        if files:
            behind += f"; attachments: {files}"
        event, recorded = self.desk.record_event_once(
            demand_id,
            channel=self.name,
            actor="customer",
            kind="comment",
            customer_sees=text or "(attachments only)",
            behind_scenes=behind,
            effort=1,
            external_ref=mail.message_id,
        )
        if not recorded:  # another poller recorded it a moment ago; its hooks told whoever needs to know
            return _already_on(mail, event.demand_id)
        return Outcome(action="replied", line=f"added reply to demand {demand_id}", demand_id=demand_id)

    # ------------------------------------------------------------------ new demands

    def _recent_demands(self, customer: Customer) -> int:
        limit = self.settings.max_demands_per_hour
        since = self.desk.clock() - timedelta(hours=1)
        n = 0
        for d in self.desk.list_demands(customer=customer.id, limit=limit + 50):
            created = d.created_at if d.created_at.tzinfo else d.created_at.replace(tzinfo=UTC)
            if created < since:
                break
            if d.channel == self.name:
                n += 1
        return n

    def _new_demand(self, mail: IncomingMail, customer: Customer, on_behalf: bool) -> Outcome:
        s = self.settings
        recent = self._recent_demands(customer)
        if recent >= s.max_demands_per_hour:
            return Outcome(
                action="dropped",
                line=f"dropped: rate limit ({recent} demands from {mail.sender} in the last hour; "
                f"max_demands_per_hour = {s.max_demands_per_hour})",
            )
        summary = clean_subject(mail.subject, self.subject_tag)
        body = mail.text.strip()
        if not summary:
            first = next((line.strip() for line in body.splitlines() if line.strip()), "")
            summary = first[:120]
        if not summary and mail.attachments:
            summary = f"Attachments from {mail.sender_name or mail.sender}"
        if not summary:
            return Outcome(action="dropped", line="dropped: no subject and no text")
        details = body[:MAX_DETAILS]
        if on_behalf:
            who = str(Address(display_name=mail.sender_name, addr_spec=mail.sender or ""))
            details = f"From: {who}\n\n{details}"
        answers: dict[str, str] | None = None
        for _attempt in range(2):
            try:
                receipt = self.desk.submit(
                    None,
                    customer,
                    summary,
                    details=details,
                    answers=answers,
                    channel=self.name,
                    external_ref=mail.message_id,
                )
                break
            except itsmcore.InvalidAnswers as e:
                found = _answers_from_text(body, e.errors)
                if answers is None and found:
                    answers = found
                    continue
                return self._reject(mail, customer, _missing_facts(summary, e.errors))
            except itsmcore.IneligibleCustomer as e:
                return self._reject(mail, customer, f"{e.reason} {e.next_step}".strip())
        if receipt.duplicate:
            return Outcome(
                action="duplicate",
                line=f"duplicate: {mail.message_id} already opened demand {receipt.demand.id}",
                demand_id=receipt.demand.id,
            )
        demand_id = receipt.demand.id
        if mail.attachments:
            files = self._keep_attachments(demand_id, mail.attachments)
            self.desk.record_event(
                demand_id,
                channel=self.name,
                actor="customer",
                kind="attachments",
                customer_sees=f"You sent {len(mail.attachments)} attachment(s).",
                behind_scenes=f"attachments of {mail.message_id}: {files}",
            )
        return Outcome(action="created", line=f"created demand {demand_id}", demand_id=demand_id)

    # ------------------------------------------------------------------ refusals

    def _unknown_sender(self, mail: IncomingMail) -> Outcome:
        if self.settings.unknown_senders == "bounce":
            sent = self._explain(
                mail,
                None,
                "We could not take your message in: this address is not known to the service desk. "
                "Please write from the address your organisation knows you by, or contact the service desk.",
            )
            if sent:
                return Outcome(action="bounced", line=f"bounced: unknown sender {mail.sender}")
        return Outcome(action="dropped", line=f"dropped: unknown sender {mail.sender}")

    def _reject(self, mail: IncomingMail, customer: Customer, reason: str) -> Outcome:
        self._explain(mail, customer, reason)
        return Outcome(action="rejected", line=f"rejected: {reason}")

    def _explain(self, mail: IncomingMail, customer: Customer | None, text: str) -> bool:
        """Tell the sender, by email, why nothing was opened. Returns whether it was sent."""
        address = mail.sender or ""
        recipient = customer or itsmcore.Customer(id=address, name=mail.sender_name or address, email=address)
        try:
            self.channel.send_reply(recipient, address, f"Re: {mail.subject}".strip(), text, mail.message_id)
            return True
        except (itsmcore.TemporaryFailure, itsmcore.PermanentFailure) as e:
            log.warning("could not send the explanation to %s: %s", address, e)
            return False

    # ------------------------------------------------------------------ attachments

    def _keep_attachments(self, demand_id: int, attachments: tuple[Attachment, ...]) -> str:
        """Store attachments (within the limits) and describe each for the journey."""
        s = self.settings
        notes: list[str] = []
        base = self.channel.context.path(s.attachments_dir) if s.attachments_dir else None
        for i, a in enumerate(attachments):
            size = f"{a.size:,} bytes"
            if base is None:
                notes.append(f"{a.filename} ({a.content_type}, {size})")
            elif i >= s.max_attachments:
                notes.append(f"{a.filename} ({size}, not kept: more than {s.max_attachments} attachments)")
            elif a.size > s.max_attachment_bytes:
                notes.append(f"{a.filename} ({size}, not kept: larger than {s.max_attachment_bytes:,} bytes)")
            else:
                folder = base / str(demand_id)
                folder.mkdir(parents=True, exist_ok=True)
                path = _unique(folder, a.filename)
                with path.open("xb") as f:
                    f.write(a.data)
                rel = (
                    path.relative_to(self.channel.context.base_dir)
                    if path.is_relative_to(self.channel.context.base_dir)
                    else path
                )
                notes.append(f"{a.filename} ({a.content_type}, {size}, kept as {rel})")
        return "; ".join(notes)


def _already_on(mail: IncomingMail, demand_id: int) -> Outcome:
    return Outcome(
        action="duplicate", line=f"duplicate: {mail.message_id} is already on demand {demand_id}", demand_id=demand_id
    )


def _unique(folder: Path, name: str) -> Path:
    path = folder / name
    stem, dot, ext = name.rpartition(".")
    if not dot:
        stem, ext = name, ""
    n = 2
    while path.exists():
        path = folder / (f"{stem}-{n}.{ext}" if ext else f"{stem}-{n}")
        n += 1
    return path


def _answers_from_text(body: str, wanted: dict[str, str]) -> dict[str, str]:
    """Facts given as ``name: value`` lines, for the asks the desk said are missing."""
    keys = {k.lower().replace("_", " "): k for k in wanted}
    found: dict[str, str] = {}
    for line in body.splitlines():
        m = _ANSWER_LINE.match(line)
        if m:
            key = " ".join(m.group(1).lower().replace("_", " ").split())
            if key in keys and keys[key] not in found:
                found[keys[key]] = m.group(2)
    return found


def _missing_facts(summary: str, errors: dict[str, str]) -> str:
    lines = "; ".join(f"{k}: {v}" for k, v in errors.items())
    return (
        f"we need a few more facts for {summary!r} ({lines}). Reply with one line per fact, "
        f"like '{next(iter(errors), 'name')}: ...', or use the portal"
    )
