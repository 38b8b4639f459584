"""Settings of the ``email`` channel: one ``[channels.NAME]`` table with ``use = "email"``."""

from __future__ import annotations

import attrs

from .automatic import DEFAULT_AUTO_REPLY_SUBJECTS

SECURITY = ("starttls", "tls", "none")
UNKNOWN_SENDERS = ("drop", "bounce")


def _port(value: object) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"port must be an integer, not {value!r}")
    if not 0 < value < 65536:
        raise ValueError(f"port must be between 1 and 65535, not {value}")
    return value


def _positive(_inst: object, attribute: attrs.Attribute, value: float) -> None:
    if value <= 0:
        raise ValueError(f"{attribute.name} must be greater than 0, not {value}")


def _email_address(_inst: object, attribute: attrs.Attribute, value: str) -> None:
    if value.count("@") != 1 or value.startswith("@") or value.endswith("@") or any(c.isspace() for c in value):
        raise ValueError(f"{attribute.name} must be an address like support@example.com, not {value!r}")


def _reply_to(_inst: object, attribute: attrs.Attribute, value: str | None) -> None:
    if value is not None and ("{token}" not in value or value.count("@") != 1):
        raise ValueError(
            f"{attribute.name} must be an address containing {{token}}, like support+{{token}}@example.com, "
            f"not {value!r}"
        )


@attrs.frozen(kw_only=True)
class EmailSettings:
    """How the channel reaches the SMTP server, how it signs its mail, and how it takes mail in."""

    # ----------------------------------------------------------------- outbound (SMTP)
    from_address: str = attrs.field(
        validator=_email_address, metadata={"doc": "Envelope and header sender, e.g. support@example.com."}
    )
    from_name: str | None = attrs.field(
        default=None, metadata={"doc": "Display name of the sender (default: the deployment's name)."}
    )
    host: str = attrs.field(default="localhost", metadata={"doc": "SMTP server to submit mail to."})
    port: int | None = attrs.field(
        default=None,
        converter=_port,
        metadata={"doc": "SMTP port (default: 587 for starttls, 465 for tls, 25 for none)."},
    )
    security: str = attrs.field(
        default="starttls",
        validator=attrs.validators.in_(SECURITY),
        metadata={"doc": "'starttls' (upgrade a plain connection), 'tls' (implicit TLS) or 'none'."},
    )
    username: str | None = attrs.field(default=None, metadata={"doc": "SMTP AUTH user; no AUTH when unset."})
    password_env: str | None = attrs.field(
        default=None, metadata={"doc": "Environment variable holding the SMTP password (never the password itself)."}
    )
    password_file: str | None = attrs.field(
        default=None,
        metadata={"doc": "File holding the SMTP password (relative to the config); used if the env var is unset."},
    )
    timeout: float = attrs.field(
        default=30.0, validator=_positive, metadata={"doc": "Seconds to wait for the SMTP or IMAP server."}
    )
    verify_tls: bool = attrs.field(
        default=True, metadata={"doc": "Check the server's certificate and host name (leave on outside tests)."}
    )
    ca_file: str | None = attrs.field(
        default=None,
        metadata={"doc": "PEM file of CA certificates to trust besides the system's (relative to the config)."},
    )
    reply_to: str | None = attrs.field(
        default=None,
        validator=_reply_to,
        metadata={
            "doc": "Reply-To pattern with {token}, e.g. support+{token}@example.com: the token names the demand "
            "and is signed, so replies thread back even from another client."
        },
    )
    subject_tag: str = attrs.field(
        default="[#{demand}]",
        metadata={"doc": "Appended to subjects of mail about a demand ({demand} is its number); '' for none."},
    )
    message_id_domain: str | None = attrs.field(
        default=None, metadata={"doc": "Right-hand side of Message-IDs we make (default: the from_address domain)."}
    )

    # ----------------------------------------------------------------- inbound
    unknown_senders: str = attrs.field(
        default="drop",
        validator=attrs.validators.in_(UNKNOWN_SENDERS),
        metadata={"doc": "Mail from an address no directory knows: 'drop' it, or 'bounce' a short explanation."},
    )
    unknown_sender_customer: str | None = attrs.field(
        default=None,
        metadata={"doc": "Customer id to file mail from unknown senders under instead (e.g. a 'guest' customer)."},
    )
    max_demands_per_hour: int = attrs.field(
        default=20,
        validator=_positive,
        metadata={"doc": "New demands one sender may open by email per hour; more are dropped (loop safety)."},
    )
    max_message_bytes: int = attrs.field(
        default=25 * 1024 * 1024,
        validator=_positive,
        metadata={
            "doc": "Larger messages are refused: 'email ingest' exits 65 so the MTA bounces them with the limit; "
            "'email poll' reports them and leaves them in the mailbox."
        },
    )
    attachments_dir: str | None = attrs.field(
        default="email-attachments",
        metadata={
            "doc": "Where attachments are kept, as DIR/<demand>/<name> (relative to the config); unset to only "
            "record their names and sizes in the journey."
        },
    )
    max_attachment_bytes: int = attrs.field(
        default=10 * 1024 * 1024,
        validator=_positive,
        metadata={"doc": "Attachments larger than this are not kept (their name and size are still recorded)."},
    )
    max_attachments: int = attrs.field(
        default=20, validator=_positive, metadata={"doc": "At most this many attachments are kept per message."}
    )
    auto_reply_subjects: tuple[str, ...] = attrs.field(
        default=DEFAULT_AUTO_REPLY_SUBJECTS,
        converter=tuple,
        metadata={
            "doc": "Subject prefixes (case-insensitive) of auto-replies and bounces sent without the standard "
            "headers, such as Outlook's localised 'Automatische Antwort:'; such mail is dropped. The default is "
            "the table in itsm_email/automatic.py; a list here replaces it."
        },
    )
    check_sender_authentication: bool = attrs.field(
        default=True,
        metadata={
            "doc": "Believe the SPF/DMARC verdict of a trusted receiving server (Authentication-Results): mail "
            "failing DMARC, or SPF without a passing DKIM signature, is not taken as from the customer it names "
            "and is never answered."
        },
    )
    trusted_authserv_ids: tuple[str, ...] = attrs.field(
        default=(),
        converter=tuple,
        metadata={
            "doc": "Host names (authserv-ids) of your receiving servers whose Authentication-Results are "
            "believed, e.g. ['mx1.example.com']; empty: only the topmost Authentication-Results header, the one "
            "the last receiving server added."
        },
    )

    # ----------------------------------------------------------------- IMAP poller
    imap_host: str | None = attrs.field(
        default=None, metadata={"doc": "IMAP server of the mailbox 'itsm email poll' reads."}
    )
    imap_port: int | None = attrs.field(
        default=None, converter=_port, metadata={"doc": "IMAP port (default: 993 for tls, 143 otherwise)."}
    )
    imap_security: str = attrs.field(
        default="tls",
        validator=attrs.validators.in_(SECURITY),
        metadata={"doc": "'tls' (implicit TLS), 'starttls' or 'none'."},
    )
    imap_username: str | None = attrs.field(default=None, metadata={"doc": "IMAP login."})
    imap_password_env: str | None = attrs.field(
        default=None, metadata={"doc": "Environment variable holding the IMAP password."}
    )
    imap_password_file: str | None = attrs.field(
        default=None, metadata={"doc": "File holding the IMAP password (relative to the config)."}
    )
    imap_folder: str = attrs.field(default="INBOX", metadata={"doc": "Folder to read unseen messages from."})
    imap_processed_folder: str | None = attrs.field(
        default=None,
        metadata={"doc": "Move handled messages here (created if missing); unset to leave them, marked seen."},
    )
    imap_poll_interval: float = attrs.field(
        default=60.0,
        validator=_positive,
        metadata={"doc": "Seconds between checks when the server offers no IDLE, and the longest IDLE wait."},
    )
    imap_idle: bool = attrs.field(default=True, metadata={"doc": "Wait with IMAP IDLE when the server offers it."})

    @property
    def smtp_port(self) -> int:
        if self.port is not None:
            return self.port
        return {"starttls": 587, "tls": 465, "none": 25}[self.security]

    @property
    def imap_port_or_default(self) -> int:
        if self.imap_port is not None:
            return self.imap_port
        return 993 if self.imap_security == "tls" else 143
