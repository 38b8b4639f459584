"""The ``apprise`` channel: messages to customers through any service Apprise can reach."""

from __future__ import annotations

import html
import logging
import os
import re
import threading
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import quote

from itsmcore import (
    N_,
    ChannelComponent,
    ComponentContext,
    Customer,
    Delivery,
    Message,
    PermanentFailure,
    TemporaryFailure,
    translator,
)

from .settings import AppriseSettings, check_scheme
from .templates import MESSAGE_FIELDS, URL_FIELDS, Template

log = logging.getLogger("itsm_apprise")

#: This plugin's message catalogs: how a link reads in a text message, in the recipient's language.
LOCALE_DIR = Path(__file__).parent / "locale"

#: Loggers that may print a URL (and so a token in it) while Apprise sends.
REDACTED_LOGGERS = ("apprise", "urllib3.connectionpool", "requests")
REDACTED = "[secret]"
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")

LINK_FORMATS = {
    "text": N_("{title}: {url}"),
    "markdown": "[{title}]({url})",
    "html": '<a href="{url}">{title}</a>',
}


class _Redactor(logging.Filter):
    """Replaces the secrets of sends in progress in every record of the loggers it guards."""

    def __init__(self) -> None:
        super().__init__("itsm_apprise.redactor")
        self._lock = threading.Lock()
        self._secrets: dict[str, int] = {}
        self._pattern: re.Pattern[str] | None = None

    def filter(self, record: logging.LogRecord) -> bool:
        with self._lock:
            pattern = self._pattern
        if pattern is not None:
            try:
                text = record.getMessage()
            except Exception:  # a malformed record: drop its arguments rather than risk printing them
                text = str(record.msg)
            record.msg, record.args = pattern.sub(REDACTED, text), ()
        return True

    def redact(self, text: str, secrets: set[str]) -> str:
        """``text`` with every spelling of ``secrets`` masked."""
        pattern = _compile(secrets)
        return pattern.sub(REDACTED, text) if pattern is not None else text

    def _recompile(self) -> None:
        self._pattern = _compile(set(self._secrets))

    @contextmanager
    def guarding(self, secrets: set[str]) -> Iterator[None]:
        secrets = {s for s in secrets if s}
        with self._lock:
            for s in secrets:
                self._secrets[s] = self._secrets.get(s, 0) + 1
            self._recompile()
        try:
            yield
        finally:
            with self._lock:
                for s in secrets:
                    self._secrets[s] -= 1
                    if not self._secrets[s]:
                        del self._secrets[s]
                self._recompile()

    def install(self) -> None:
        for name in REDACTED_LOGGERS:
            logger = logging.getLogger(name)
            if self not in logger.filters:
                logger.addFilter(self)


def _compile(secrets: set[str]) -> re.Pattern[str] | None:
    if not secrets:
        return None
    ordered = sorted(secrets, key=len, reverse=True)
    return re.compile("|".join(secret_pattern(s) for s in ordered))


REDACTOR = _Redactor()


class AppriseChannel:
    """Delivers a message to one customer through the Apprise URL the settings describe.

    The URL is built for each message from the customer's fields (percent-encoded) and
    from ``{env:NAME}`` secrets read at that moment; it is never logged, and the secrets
    are masked in whatever Apprise and its HTTP library log while sending.
    """

    def __init__(self, settings: AppriseSettings, context: ComponentContext):
        self.settings = settings
        self.context = context
        self.name = context.name
        check_scheme(settings.url_template)
        self.url = Template.parse(settings.url_template, URL_FIELDS, secrets=True)
        self.title = Template.parse(settings.title, MESSAGE_FIELDS)
        self.body = Template.parse(settings.body, MESSAGE_FIELDS)
        self.link_format = Template.parse(settings.link_format or LINK_FORMATS[settings.body_format], ("title", "url"))
        REDACTOR.install()

    def __repr__(self) -> str:
        return f"<AppriseChannel {self.name!r} address={self.settings.address}>"

    # ------------------------------------------------------------------ addresses

    def _fields(self, customer: Customer) -> dict[str, str]:
        chat = customer.attributes.get(self.settings.chat_attribute, "") if customer.attributes else ""
        fields = {
            "mobile": customer.mobile or "",
            "email": customer.email or "",
            "chat": str(chat or ""),
            "id": customer.id or "",
            "name": customer.name or "",
        }
        fields["address"] = fields[self.settings.address]
        return fields

    def address_for(self, customer: Customer) -> str | None:
        fields = self._fields(customer)
        if not fields["address"]:
            return None
        if any(not fields[f] for f in self.url.fields):
            return None  # the URL needs a field this customer lacks
        return fields["address"]

    # ------------------------------------------------------------------ sending

    def send(self, message: Message) -> Delivery:
        import apprise

        customer = message.recipient
        fields = self._fields(customer)
        address = self.address_for(customer)
        if address is None:
            missing = [f for f in ("address", *self.url.fields) if not fields[f]]
            what = self.settings.address if "address" in missing else missing[0]
            raise PermanentFailure(f"{customer.id} has no {what} for channel {self.name!r}")
        used: set[str] = set()
        url = self.url.render(fields, _url_value, secret=lambda env: self._secret(env, used))
        title, body = self._compose(message)
        with REDACTOR.guarding(used):
            notifier = apprise.Apprise()
            if not notifier.add(url):
                raise PermanentFailure(
                    f"channel {self.name!r}: Apprise cannot use the URL built from url_template for {customer.id}"
                    " (check the template; placeholders are percent-encoded)"
                )
            problems: list[str] = []
            with _capture(problems):
                result = notifier.notify(body=body, title=title, body_format=self.settings.body_format)
            ok = bool(result)
        if not ok:
            detail = "; ".join(dict.fromkeys(problems))[:300] or "the service did not accept the message"
            detail = REDACTOR.redact(detail, used)
            log.warning("%s: delivery to %s failed: %s", self.name, customer.id, detail)
            raise TemporaryFailure(f"channel {self.name!r} could not deliver to {address}: {detail}")
        log.info("%s: message %s delivered to %s", self.name, message.idempotency_key or "-", customer.id)
        return Delivery(address=address, reference=message.idempotency_key)

    def _secret(self, env: str, used: set[str]) -> str:
        value = os.environ.get(env)
        if not value:
            raise PermanentFailure(
                f"channel {self.name!r}: the environment variable {env} (used by url_template) is not set"
            )
        used.add(value)
        return value

    def _compose(self, message: Message) -> tuple[str, str]:
        fmt = self.settings.body_format
        esc = html.escape if fmt == "html" else _plain
        customer = message.recipient
        first = customer.name.split()[0] if customer.name and customer.name.split() else customer.id
        link_format = self.link_format
        if not self.settings.link_format and fmt == "text" and message.language != "en":
            # the body format's own way, in the recipient's language ("{title} : {url}" in French)
            tr = translator(message.language, (LOCALE_DIR,))
            link_format = Template.parse(tr.translations.gettext(LINK_FORMATS["text"]), ("title", "url"))
        links = "\n".join(link_format.render({"title": link.title, "url": link.url}, esc) for link in message.links)
        values = {
            "subject": message.subject,
            "demand_id": str(message.demand_id or ""),
            "name": customer.name or "",
            "first_name": first,
            "deployment": self.context.deployment,
            "purpose": message.purpose,
        }
        title = self.title.render(values, _plain)
        text = message.body
        body = self._body(values, text, links, esc)
        limit = self.settings.max_length
        if limit and len(body) > limit:
            overflow = len(body) - limit
            cut = max(0, len(text) - overflow - 1)
            body = self._body(values, text[:cut] + "…", links, esc)
        return title, body.strip()

    def _body(self, values: Mapping[str, str], text: str, links: str, esc: Callable[[str], str]) -> str:
        encoded = {k: esc(v) for k, v in values.items()} | {"body": esc(text), "links": links}
        return self.body.render(encoded, _as_is)


def _plain(value: str) -> str:
    """Text as it is, minus control characters that could forge lines in some gateways."""
    return _CONTROL.sub("", value)


def _as_is(value: str) -> str:
    return value


def _url_value(value: str) -> str:
    return quote(value, safe="")


def secret_pattern(secret: str) -> str:
    """A regular expression matching ``secret`` however a URL library spelled it.

    Apprise parses the URL it is given and rebuilds it, choosing its own characters to
    percent-encode; each character may therefore appear as itself or as ``%XX`` (and a
    space as ``+``), in any mixture.
    """
    out: list[str] = []
    for ch in secret:
        encoded = "".join(f"%{b:02X}" for b in ch.encode("utf-8"))
        options = [re.escape(ch), re.escape(encoded), re.escape(encoded.lower())]
        if ch == " ":
            options.append(r"\+")
        out.append("(?:" + "|".join(options) + ")")
    return "".join(out)


@contextmanager
def _capture(problems: list[str]) -> Iterator[None]:
    """Collect Apprise's warnings and errors during one send (they explain a failure)."""

    class _Collect(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            if record.levelno >= logging.WARNING:
                problems.append(_CONTROL.sub(" ", record.getMessage()))

    handler = _Collect(level=logging.WARNING)
    logger = logging.getLogger("apprise")
    logger.addHandler(handler)
    try:
        yield
    finally:
        logger.removeHandler(handler)


def apprise_channel_component() -> ChannelComponent:
    from .sandbox import apprise_sandbox

    return ChannelComponent(
        name="apprise",
        factory=AppriseChannel,
        settings=AppriseSettings,
        description="Messages through Apprise: SMS gateways, chat apps, push services and webhooks.",
        sandbox=apprise_sandbox,
    )
