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

from . import facts
from .automatic import authentication_failure, automatic_reason, is_no_reply
from .inbound import Attachment, IncomingMail, parse

if TYPE_CHECKING:
    from itsmcore import Customer, Demand, Desk, JourneyEvent, Service

    from .channel import EmailChannel

log = logging.getLogger("itsm_email.gate")

EX_OK = 0
EX_DATAERR = 65
EX_TEMPFAIL = 75

_PREFIX = re.compile(r"^\s*((re|aw|sv|vs|fw|fwd|wg|tr|rv|antw)\s*(\[\d+\])?\s*:\s*)+", re.IGNORECASE)
MAX_DETAILS = 20_000
#: Subject tags in the forms customers' clients and colleagues write them: "[#42]" and "(#42)".
_ANY_TAG = re.compile(r"[\[(]#(\d{1,12})[\])]")


@attrs.frozen(kw_only=True)
class Outcome:
    """What the mailgate did with one message. ``action`` is one word; ``line`` is for the log."""

    action: str  # created | replied | duplicate | dropped | bounced | rejected | failed
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
    return " ".join(_PREFIX.sub("", _ANY_TAG.sub("", s)).split())


@attrs.frozen
class Reference:
    """What a message is taken in under: its Message-ID, or a derived one when another message used it first."""

    external_ref: str
    note: str = ""


def reused_reference(mail: IncomingMail) -> str:
    """A reference for a message whose Message-ID an earlier, different message already has.

    Derived from the content, so the same message delivered twice still gets one reference.
    """
    local, _, domain = mail.message_id.strip("<>").rpartition("@")
    ref = f"<reused.{mail.digest[:16]}.{local}@{domain}>"
    return ref if len(ref) <= 500 else f"<reused.{mail.digest[:32]}@synthesised.itsm-email.invalid>"


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

    def too_large(self, size: int) -> Outcome | None:
        """The refusal of a message of ``size`` bytes, or ``None`` when it is within the limit.

        EX_DATAERR makes the MTA bounce it to its sender with this line, so a person who sent
        a huge attachment learns the limit instead of waiting for an answer.
        """
        limit = self.settings.max_message_bytes
        if size <= limit:
            return None
        return Outcome(
            action="rejected",
            line=f"rejected: message too large ({size:,} bytes; the limit is {limit:,} bytes)",
            exit_code=EX_DATAERR,
        )

    def _ingest(self, raw: bytes) -> Outcome:
        s = self.settings
        if not raw.strip():
            return Outcome(action="rejected", line="rejected: empty message", exit_code=EX_DATAERR)
        refused = self.too_large(len(raw))
        if refused is not None:
            return refused
        mail = parse(raw)
        own = self.channel.reply_pattern()
        reason = automatic_reason(
            mail.msg,
            sender=mail.sender,
            own_addresses=[s.from_address],
            own_patterns=[own] if own is not None else [],
            loop_tag=self.channel.loop_tag(),
            subject_prefixes=s.auto_reply_subjects,
        )
        if reason:
            return Outcome(action="dropped", line=f"dropped: {reason}")
        if mail.sender is None:
            return Outcome(action="dropped", line="dropped: no sender address (From is missing or malformed)")

        # A sender whose domain says it did not send this is nobody we know, whoever it names.
        forged = authentication_failure(mail.msg, s.trusted_authserv_ids) if s.check_sender_authentication else None
        customer = None if forged else self.desk.customer_by_email(mail.sender)
        on_behalf = False
        if customer is None and s.unknown_sender_customer:
            customer = self.desk.find_customer(s.unknown_sender_customer)
            on_behalf = customer is not None
        if customer is None:
            return self._unknown_sender(mail, forged)

        ref = self._reference(mail, customer, on_behalf, forged)
        if isinstance(ref, Outcome):
            return ref
        demand_id, how = self._thread(mail, customer)
        if demand_id is not None and not on_behalf:
            return self._reply(mail, demand_id, how, ref)
        return self._new_demand(mail, customer, on_behalf, ref, forged)

    # ------------------------------------------------------------------ the same message again

    def _reference(
        self, mail: IncomingMail, customer: Customer, on_behalf: bool, forged: str | None
    ) -> Reference | Outcome:
        """The reference to take ``mail`` in under, or the duplicate outcome when it was taken in before.

        A Message-ID is only as unique as the sender's software makes it: a second message that
        reuses one, from someone else or with other words, is taken in under a derived reference
        with a note, never reported as a duplicate of the first and lost.
        """
        existing = self.desk.find_by_external_ref(mail.message_id)
        if existing is None:
            return Reference(mail.message_id)
        if self._same_demand(existing, mail, customer, on_behalf, forged):
            return Outcome(
                action="duplicate",
                line=f"duplicate: {mail.message_id} already opened demand {existing.id}",
                demand_id=existing.id,
            )
        ref = reused_reference(mail)
        again = self.desk.find_by_external_ref(ref)
        if again is not None:
            return Outcome(
                action="duplicate",
                line=f"duplicate: {mail.message_id} (reused, taken in as {ref}) already opened demand {again.id}",
                demand_id=again.id,
            )
        why = "another sender" if existing.customer_id != customer.id or on_behalf else "other content"
        return Reference(
            ref,
            note=f"Message-ID {mail.message_id} was already used by demand {existing.id} ({why}); taken in as {ref}",
        )

    def _same_demand(
        self, demand: Demand, mail: IncomingMail, customer: Customer, on_behalf: bool, forged: str | None
    ) -> bool:
        summary, details = self._draft(mail, on_behalf, forged)
        return demand.customer_id == customer.id and demand.details == details and demand.summary in (summary, "")

    @staticmethod
    def _same_event(event: JourneyEvent, mail: IncomingMail) -> bool:
        text = mail.new_text.strip() or "(attachments only)"
        return event.customer_sees == text and f"from {mail.sender} (" in (event.behind_scenes or "")

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
            # the configured tag, and "(#42)"/"[#42]" as people and other clients rewrite it
            for m in (*self.subject_tag.finditer(mail.subject), *_ANY_TAG.finditer(mail.subject)):
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

    def _reply(self, mail: IncomingMail, demand_id: int, how: str, ref: Reference) -> Outcome:
        # The Message-ID is the event's external_ref: one index lookup here, and the store's
        # unique index settles two pollers taking in the same reply at once.
        known = self.desk.find_event_by_external_ref(ref.external_ref)
        if known is not None:
            if self._same_event(known, mail) or ref.external_ref != mail.message_id:
                return _already_on(mail, known.demand_id)
            ref = Reference(
                reused_reference(mail),
                note=f"Message-ID {mail.message_id} was already used by a message on demand {known.demand_id}",
            )
            again = self.desk.find_event_by_external_ref(ref.external_ref)
            if again is not None:
                return _already_on(mail, again.demand_id)
            ref = attrs.evolve(ref, note=f"{ref.note}; taken in as {ref.external_ref}")
        text = mail.new_text.strip()
        if not text and not mail.attachments:
            return Outcome(
                action="dropped", line=f"dropped: reply to demand {demand_id} has no new text", demand_id=demand_id
            )
        files = self._keep_attachments(demand_id, mail.attachments)
        behind = f"reply by email from {mail.sender} ({mail.message_id}), threaded by {how}"
        if files:
            behind += f"; attachments: {files}"
        for note in (*mail.notes, ref.note):
            if note:
                behind += f"; {note}"
        event, recorded = self.desk.record_event_once(
            demand_id,
            channel=self.name,
            actor="customer",
            kind="comment",
            customer_sees=text or "(attachments only)",
            behind_scenes=behind,
            effort=1,
            external_ref=ref.external_ref,
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

    def _draft(self, mail: IncomingMail, on_behalf: bool, forged: str | None) -> tuple[str, str]:
        """The summary and details a new demand from ``mail`` gets."""
        summary = clean_subject(mail.subject, self.subject_tag)
        body = mail.text.strip()
        if not summary:
            first = next((line.strip() for line in body.splitlines() if line.strip()), "")
            summary = first[:120]
        if not summary and mail.attachments:
            summary = f"Attachments from {mail.sender_name or mail.sender}"
        details = body[:MAX_DETAILS]
        if on_behalf:
            who = str(Address(display_name=mail.sender_name, addr_spec=mail.sender or ""))
            if forged:
                who += f" (not verified: {forged})"
            details = f"From: {who}\n\n{details}"
        if mail.notes:
            details += "".join(f"\n\n[The message could not be read in full: {note}.]" for note in mail.notes)
        return summary, details

    def _new_demand(
        self, mail: IncomingMail, customer: Customer, on_behalf: bool, ref: Reference, forged: str | None
    ) -> Outcome:
        s = self.settings
        recent = self._recent_demands(customer)
        if recent >= s.max_demands_per_hour:
            return Outcome(
                action="dropped",
                line=f"dropped: rate limit ({recent} demands from {mail.sender} in the last hour; "
                f"max_demands_per_hour = {s.max_demands_per_hour})",
            )
        summary, details = self._draft(mail, on_behalf, forged)
        if not summary:
            return Outcome(action="dropped", line="dropped: no subject and no text")
        services = self.desk.services
        given = facts.read_facts(mail.new_text, services)
        # The guest customer of unknown senders asks for nothing; their mail goes to the desk as it is.
        service = None if on_behalf else facts.requested_service(summary, mail.new_text, given, services)
        answers = _answers_for(service, given) if service is not None else None
        for _attempt in range(2):
            try:
                receipt = self.desk.submit(
                    None,
                    customer,
                    summary,
                    service=service.key if service is not None else None,
                    details=details,
                    answers=answers,
                    channel=self.name,
                    external_ref=ref.external_ref,
                )
                break
            except itsmcore.InvalidAnswers as e:
                if service is None:
                    # the classifier chose a service that asks for facts: which one, from what it misses
                    service = _service_asking(services, e.errors)
                    if service is not None and answers is None:
                        answers = _answers_for(service, given)
                        continue
                return self._refuse_incomplete(mail, customer, summary, service, e.errors, forged)
            except itsmcore.IneligibleCustomer as e:
                return self._refuse_ineligible(mail, customer, e, forged)
        if receipt.duplicate:
            return Outcome(
                action="duplicate",
                line=f"duplicate: {mail.message_id} already opened demand {receipt.demand.id}",
                demand_id=receipt.demand.id,
            )
        demand_id = receipt.demand.id
        if ref.note:
            self.desk.record_event(
                demand_id,
                channel=self.name,
                actor="system",
                kind="note",
                customer_sees="",
                behind_scenes=ref.note,
            )
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
        line = f"created demand {demand_id}"
        if ref.note:
            line = f"created demand {demand_id} (Message-ID reused; taken in as {ref.external_ref})"
        return Outcome(action="created", line=line, demand_id=demand_id)

    # ------------------------------------------------------------------ refusals

    def _unknown_sender(self, mail: IncomingMail, forged: str | None) -> Outcome:
        if forged:
            # not answered: the address belongs to someone who did not write this
            return Outcome(action="dropped", line=f"dropped: sender not verified ({forged}): {mail.sender}")
        if self.settings.unknown_senders == "bounce":
            why_not = self._why_not_answer(mail)
            if why_not:
                return Outcome(
                    action="dropped", line=f"dropped: unknown sender {mail.sender} (not answered: {why_not})"
                )
            sent = self._explain(
                mail,
                None,
                "We could not take your message in: this address is not known to the service desk. "
                "Please write from the address your organisation knows you by, or contact the service desk.",
            )
            if sent:
                return Outcome(action="bounced", line=f"bounced: unknown sender {mail.sender}")
        return Outcome(action="dropped", line=f"dropped: unknown sender {mail.sender}")

    def _refuse_ineligible(
        self, mail: IncomingMail, customer: Customer, e: itsmcore.IneligibleCustomer, forged: str | None
    ) -> Outcome:
        try:
            name = self.desk.get_service(e.service_key).name
        except itsmcore.NotFound:
            name = e.service_key
        text = (
            f"Thank you for your request for {name}. We have not opened it: {e.reason}\n\n"
            f"What you can do: {e.next_step or 'ask the service desk if you need it for your work.'}"
        )
        return self._reject(mail, customer, text, f"{customer.id} may not have {e.service_key}: {e.reason}", forged)

    def _refuse_incomplete(
        self,
        mail: IncomingMail,
        customer: Customer,
        summary: str,
        service: Service | None,
        errors: dict[str, str],
        forged: str | None,
    ) -> Outcome:
        asks = {a.name: a for a in service.asks} if service is not None else {}
        lines = []
        examples = []
        for name, problem in errors.items():
            ask = asks.get(name)
            label = facts.label(ask) if ask is not None else name
            lines.append(f"- {label}: {problem}")
            examples.append(f"{label}: {facts.example(ask) if ask is not None else '...'}")
        what = service.name if service is not None else repr(summary)
        text = (
            f"Thank you for your request for {what}. Before we can start, we need a few facts from you:\n\n"
            + "\n".join(lines)
            + "\n\nPlease send them again in a new email with the same subject, one line each, like this:\n\n"
            + "\n".join(examples)
            + "\n\nNothing has been opened yet; the portal asks for the same facts if you prefer it."
        )
        missing = "; ".join(f"{k}: {v}" for k, v in errors.items())
        return self._reject(mail, customer, text, f"incomplete request for {what} ({missing})", forged)

    def _reject(self, mail: IncomingMail, customer: Customer, text: str, line: str, forged: str | None) -> Outcome:
        why_not = f"sender not verified, {forged}" if forged else self._why_not_answer(mail)
        if why_not:
            return Outcome(action="rejected", line=f"rejected: {line} (not answered: {why_not})")
        sent = self._explain(mail, customer, text)
        told = f"explained to {mail.sender}" if sent else "the explanation could not be sent"
        return Outcome(action="rejected", line=f"rejected: {line}; {told}")

    def _why_not_answer(self, mail: IncomingMail) -> str | None:
        """Why no explanation may go back to this sender, or ``None``.

        Nobody reads a no-reply address, and the desk's own addresses would start a loop.
        (A forged sender is never answered either: the address belongs to someone who did not write.)
        """
        address = mail.sender or ""
        if not address:
            return "no sender address"
        if is_no_reply(address):
            return "a no-reply address"
        own = self.channel.reply_pattern()
        if address == self.settings.from_address.lower() or (own is not None and own.fullmatch(address)):
            return "our own address"
        return None

    def _explain(self, mail: IncomingMail, customer: Customer | None, text: str) -> bool:
        """Tell the sender, by email in their message's thread, why nothing was opened. Returns whether it was sent."""
        address = mail.sender or ""
        recipient = customer or itsmcore.Customer(id=address, name=mail.sender_name or address, email=address)
        try:
            self.channel.send_reply(recipient, address, f"Re: {mail.subject}".strip(), text, mail.message_id)
            return True
        except (itsmcore.TemporaryFailure, itsmcore.PermanentFailure, ValueError) as e:
            # ValueError: an address the email package will not write in a header (From: "@")
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


def _answers_for(service: Service, given: dict[str, str]) -> dict[str, str] | None:
    """The facts the message gave that ``service`` asks for (``None`` when none: the desk prefills)."""
    names = {a.name for a in service.asks}
    answers = {k: v for k, v in given.items() if k in names}
    return answers or None


def _service_asking(services: tuple[Service, ...], errors: dict[str, str]) -> Service | None:
    """The one request service asking for every fact in ``errors``, if only one does."""
    found = [s for s in services if set(errors) <= {a.name for a in s.asks}]
    return found[0] if len(found) == 1 else None
