"""The ``email`` channel: notifications over SMTP that thread replies back to their demand."""

from __future__ import annotations

import logging
import re
import secrets
import smtplib
import ssl
from email.headerregistry import Address
from email.message import EmailMessage
from pathlib import Path

from itsmcore import (
    ChannelComponent,
    ComponentContext,
    Customer,
    Delivery,
    Message,
    PermanentFailure,
    TemporaryFailure,
    translator,
)

from . import compose, threads
from .settings import EmailSettings
from .text import clean_header

#: This plugin's message catalogs: the footer and how a link reads, in the recipient's language.
LOCALE_DIR = Path(__file__).parent / "locale"

log = logging.getLogger("itsm_email.channel")

_ADDRESS = re.compile(r"^[^@\s<>(),;:\"\[\]\\]+@[^@\s<>(),;:\"\[\]\\]+\.[^@\s<>(),;:\"\[\]\\]+$")


def valid_address(value: str | None) -> bool:
    return bool(value) and bool(_ADDRESS.match(value or ""))


def tls_context(settings: EmailSettings, context: ComponentContext) -> ssl.SSLContext:
    ctx = ssl.create_default_context(cafile=str(context.path(settings.ca_file)) if settings.ca_file else None)
    if not settings.verify_tls:
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
    return ctx


class EmailChannel:
    """Sends each message as multipart plain text + HTML through one SMTP server.

    Headers: ``Auto-Submitted: auto-generated`` (so responders stay quiet), a Message-ID
    that is stable across retries and signed for its demand (kept as the delivery's
    reference), ``In-Reply-To``/``References`` to the email that opened the demand when
    there was one, and a ``Reply-To`` carrying a signed token when ``reply_to`` is set.
    """

    def __init__(self, settings: EmailSettings, context: ComponentContext):
        self.settings = settings
        self.context = context
        self.domain = settings.message_id_domain or settings.from_address.rsplit("@", 1)[1]
        self._secret: bytes | None = None

    # ------------------------------------------------------------------ secrets

    @property
    def secret(self) -> bytes:
        """The deployment's signing secret: the same one the desk signs its links with."""
        if self._secret is None:
            self._secret = self.context.signing_secret()
        return self._secret

    def smtp_password(self) -> str | None:
        try:
            return self.context.secret(env=self.settings.password_env, file=self.settings.password_file)
        except OSError as e:
            raise PermanentFailure(f"cannot read the SMTP password file: {e.strerror}") from None

    # ------------------------------------------------------------------ addresses and threading

    def address_for(self, customer: Customer) -> str | None:
        email = (customer.email or "").strip()
        return email if valid_address(email) else None

    def sender(self) -> str:
        name = self.settings.from_name or self.context.deployment
        return str(Address(display_name=name, addr_spec=self.settings.from_address))

    def reply_address(self, demand_id: int | None) -> str | None:
        if not self.settings.reply_to or not demand_id:
            return None
        return self.settings.reply_to.replace("{token}", threads.reply_token(self.secret, demand_id))

    def reply_pattern(self) -> re.Pattern[str] | None:
        """Matches our Reply-To addresses, capturing the token."""
        if not self.settings.reply_to:
            return None
        before, after = self.settings.reply_to.split("{token}", 1)
        return re.compile(re.escape(before) + r"([0-9A-Za-z-]{3,40})" + re.escape(after), re.IGNORECASE)

    def message_id(self, message: Message) -> str:
        key = message.idempotency_key or secrets.token_hex(16)
        return threads.message_id(self.secret, message.demand_id, key, self.domain)

    def demand_of_message_id(self, value: str) -> int | None:
        return threads.demand_from_message_id(self.secret, value)

    def demand_of_token(self, token: str) -> int | None:
        return threads.demand_from_token(self.secret, token)

    def loop_tag(self) -> str:
        return f"itsm {self.settings.from_address}"

    @staticmethod
    def _original(message: Message) -> str | None:
        """The Message-ID of the email that opened the demand, when it came by email."""
        ref = message.thread_ref
        return ref if ref and ref.startswith("<") and "@" in ref else None

    def subject(self, message: Message) -> str:
        subject = " ".join(message.subject.split())
        tag = self.settings.subject_tag.replace("{demand}", str(message.demand_id)) if message.demand_id else ""
        if tag and tag not in subject:
            subject = f"{subject} {tag}".strip()
        return subject

    # ------------------------------------------------------------------ sending

    def build(self, message: Message, address: str) -> EmailMessage:
        original = self._original(message)
        references: list[str] = []
        if original:
            references.append(original)
        if message.demand_id:
            references.append(threads.thread_root(self.secret, message.demand_id, self.domain))
        recipient = str(Address(display_name=clean_header(message.recipient.name or ""), addr_spec=address))
        extra = {"X-Itsm-Purpose": message.purpose}
        if message.demand_id:
            extra["X-Itsm-Demand"] = str(message.demand_id)
        tr = translator(message.language, (LOCALE_DIR,))
        return compose.build(
            sender=self.sender(),
            recipient=recipient,
            subject=self.subject(message),
            body=message.body,
            links=message.links,
            html_override=message.html,
            message_id=self.message_id(message),
            reply_to=self.reply_address(message.demand_id),
            in_reply_to=original or (references[0] if references else None),
            references=references,
            footer=(
                tr("Reply to this email to add to your request #{id}.", id=message.demand_id)
                if message.demand_id
                else tr("{deployment} service desk", deployment=self.context.deployment)
            ),
            link_line=lambda link: tr("{title}: {url}", title=link.title, url=link.url),
            language=tr.locale,
            loop_tag=self.loop_tag(),
            extra=extra,
        )

    def send(self, message: Message) -> Delivery:
        address = self.address_for(message.recipient)
        if address is None:
            raise PermanentFailure(f"customer {message.recipient.id} has no usable email address")
        mail = self.build(message, address)
        self.submit(mail, [address])
        return Delivery(address=address, reference=str(mail["Message-ID"]))

    def send_reply(self, recipient: Customer, address: str, subject: str, text: str, in_reply_to: str) -> Delivery:
        """An automatic answer to one incoming message that opened nothing (why, and what to do)."""
        message = Message(
            recipient=recipient,
            subject=subject,
            body=text,
            purpose="mailgate-reply",
            idempotency_key=f"mailgate-reply:{in_reply_to}",
        )
        mail = self.build(message, address)
        del mail["In-Reply-To"], mail["References"]
        mail["In-Reply-To"] = in_reply_to
        mail["References"] = in_reply_to
        self.submit(mail, [address])
        return Delivery(address=address, reference=str(mail["Message-ID"]))

    def submit(self, mail: EmailMessage, recipients: list[str]) -> None:
        """Hand ``mail`` to the SMTP server; map its answers onto Temporary/PermanentFailure."""
        s = self.settings
        where = f"{s.host}:{s.smtp_port}"
        try:
            smtp = self._connect()
        except (ConnectionRefusedError, TimeoutError) as e:
            raise TemporaryFailure(f"SMTP server {where} unreachable: {e}") from None
        except ssl.SSLError as e:
            raise PermanentFailure(f"TLS with SMTP server {where} failed: {e}; check ca_file / verify_tls") from None
        except smtplib.SMTPException as e:
            raise _failure(e, where) from None
        except OSError as e:
            raise TemporaryFailure(f"SMTP server {where} unreachable: {e}") from None
        try:
            refused = smtp.send_message(mail, from_addr=s.from_address, to_addrs=recipients)
        except smtplib.SMTPRecipientsRefused as e:
            codes = [code for code, _msg in e.recipients.values()]
            text = "; ".join(f"{addr}: {code} {_text(msg)}" for addr, (code, msg) in e.recipients.items())
            if codes and all(400 <= c < 500 for c in codes):
                raise TemporaryFailure(f"SMTP server {where} deferred the recipient: {text}") from None
            raise PermanentFailure(f"SMTP server {where} rejected the recipient: {text}") from None
        except smtplib.SMTPException as e:
            raise _failure(e, where) from None
        except (TimeoutError, OSError) as e:
            raise TemporaryFailure(f"SMTP server {where} failed during sending: {e}") from None
        finally:
            try:
                smtp.quit()
            except Exception:
                smtp.close()
        if refused:
            log.warning("SMTP server %s refused some recipients: %s", where, refused)

    def _connect(self) -> smtplib.SMTP:
        s = self.settings
        host, port = s.host, s.smtp_port
        smtp: smtplib.SMTP
        if s.security == "tls":
            smtp = smtplib.SMTP_SSL(host, port, timeout=s.timeout, context=tls_context(s, self.context))
        else:
            smtp = smtplib.SMTP(host, port, timeout=s.timeout)
        try:
            smtp.ehlo_or_helo_if_needed()
            if s.security == "starttls":
                if not smtp.has_extn("starttls"):
                    raise PermanentFailure(
                        f"SMTP server {host}:{port} does not offer STARTTLS; set security = 'tls' or 'none'"
                    )
                smtp.starttls(context=tls_context(s, self.context))
                smtp.ehlo()
            if s.username:
                password = self.smtp_password()
                if password is None:
                    raise PermanentFailure("SMTP username is set but no password: set password_env or password_file")
                smtp.login(s.username, password)
        except BaseException:
            smtp.close()
            raise
        return smtp


def _text(msg: bytes | str) -> str:
    return msg.decode("utf-8", "replace") if isinstance(msg, bytes) else str(msg)


def _failure(e: smtplib.SMTPException, where: str) -> Exception:
    code = getattr(e, "smtp_code", None)
    text = _text(getattr(e, "smtp_error", b"")) or str(e)
    if isinstance(e, smtplib.SMTPServerDisconnected):
        return TemporaryFailure(f"SMTP server {where} closed the connection: {e}")
    if isinstance(e, smtplib.SMTPAuthenticationError) and code and code >= 500:
        return PermanentFailure(f"SMTP server {where} refused the login ({code} {text}); check username and password")
    if isinstance(code, int) and 400 <= code < 500:
        return TemporaryFailure(f"SMTP server {where} answered {code} {text}")
    if isinstance(code, int) and code >= 500:
        return PermanentFailure(f"SMTP server {where} answered {code} {text}")
    return TemporaryFailure(f"SMTP server {where}: {e}")


def email_channel_component() -> ChannelComponent:
    from .sandbox import email_sandbox

    return ChannelComponent(
        name="email",
        factory=EmailChannel,
        settings=EmailSettings,
        description="Email over SMTP, with replies threaded back to the demand (itsm email ingest / poll).",
        sandbox=email_sandbox,
    )


__all__ = ["EmailChannel", "email_channel_component", "valid_address"]
