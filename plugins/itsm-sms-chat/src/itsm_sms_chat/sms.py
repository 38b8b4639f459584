"""The ``twilio-sms`` channel: texts through a Twilio-compatible API, texts in from its webhook.

Outbound, each message is posted to ``API/2010-04-01/Accounts/SID/Messages.json`` (form
fields ``To``, ``From``, ``Body``; HTTP basic auth with the account id and the auth token).
Inbound, the provider posts each text to ``/channels/NAME/incoming`` (served by
``itsm serve``), signed with ``X-Twilio-Signature``; the answer is TwiML, empty unless a
stranger is told politely that the number is not known.
"""

from __future__ import annotations

import contextlib
import logging
from datetime import timedelta
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl
from xml.sax.saxutils import escape

import itsmcore
from itsmcore import (
    ChannelComponent,
    ComponentContext,
    Customer,
    Delivery,
    Message,
    PermanentFailure,
    TemporaryFailure,
)

from .conversation import Handled, take_in
from .settings import SmsSettings
from .signatures import sms_signature_ok
from .web import BodyTooLarge, CustomerIndex, phone_key, read_body

if TYPE_CHECKING:
    from itsmcore import Desk
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import Response

log = logging.getLogger("itsm_sms_chat.sms")

#: Told to a number no customer has (unknown_senders = "reply").
UNKNOWN_SENDER = (
    "Sorry, we do not recognise this number, so we could not take your message. "
    "Please contact the service desk or use the portal."
)
CONFIRM_HINT = "Reply YES if it is sorted, or NO if not."
#: Words carriers and providers act on themselves (opting out of texts, asking for help): never a demand.
PROVIDER_KEYWORDS = frozenset(
    {"stop", "stopall", "unsubscribe", "cancel", "end", "quit", "start", "unstop", "help", "info"}
)
REF_PREFIX = "sms:"


def thread_ref(sender: str, sid: str) -> str:
    """The reference of an incoming text: the number it came from and the provider's message id."""
    return f"{REF_PREFIX}{sender}:{sid}"


def number_of(ref: str | None) -> str | None:
    """The number an incoming text's reference names (to answer on the same number), else ``None``."""
    if ref and ref.startswith(REF_PREFIX):
        number = ref[len(REF_PREFIX) :].rsplit(":", 1)[0]
        return number or None
    return None


def stranger_key(desk: Desk, sender: str) -> str:
    """The key under which today's answer to an unknown sender is kept (one answer a day each)."""
    return f"stranger:{sender}:{desk.clock():%Y-%m-%d}"


def twiml(text: str | None = None) -> str:
    body = f"<Message>{escape(text)}</Message>" if text else ""
    return f'<?xml version="1.0" encoding="UTF-8"?><Response>{body}</Response>'


class SmsChannel:
    """Texts customers at their directory ``mobile`` and takes their texts in."""

    def __init__(self, settings: SmsSettings, context: ComponentContext):
        self.settings = settings
        self.context = context
        self.name = context.name
        self.customers = CustomerIndex(lambda c: phone_key(c.mobile))

    def __repr__(self) -> str:
        return f"<SmsChannel {self.name!r} from {self.settings.from_number}>"

    def _token(self) -> str | None:
        try:
            return self.context.secret(self.settings.auth_token_env, self.settings.auth_token_file)
        except OSError as e:
            log.error("%s: cannot read auth_token_file: %s", self.name, e)
            return None

    # ------------------------------------------------------------------ outbound

    def address_for(self, customer: Customer) -> str | None:
        return phone_key(customer.mobile) or None

    def compose(self, message: Message) -> str:
        """The text of one SMS: the message, its links one per line, and for an outcome how to confirm it."""
        tail = [f"{link.title}: {link.url}" for link in message.links]
        if message.purpose == "outcome":
            tail.append(CONFIRM_HINT)
        after = "".join(f"\n{line}" for line in tail)
        text = message.body.strip()
        room = self.settings.max_length - len(after)
        if len(text) > room:
            text = text[: max(0, room - 1)].rstrip() + "…"
        return (text + after).strip()

    def send(self, message: Message) -> Delivery:
        import httpx

        to = number_of(message.thread_ref) or self.address_for(message.recipient)
        if not to:
            raise PermanentFailure(f"{message.recipient.id} has no mobile number for channel {self.name!r}")
        token = self._token()
        if not token:
            raise PermanentFailure(
                f"channel {self.name!r}: no auth token (set the environment variable {self.settings.auth_token_env})"
            )
        s = self.settings
        url = f"{s.api_url.rstrip('/')}/2010-04-01/Accounts/{s.account_sid}/Messages.json"
        form = {"To": to, "From": s.from_number, "Body": self.compose(message)}
        try:
            r = httpx.post(url, data=form, auth=(s.account_sid, token), timeout=s.timeout)
        except httpx.HTTPError as e:
            raise TemporaryFailure(
                f"channel {self.name!r}: the SMS API could not be reached: {type(e).__name__}"
            ) from e
        if r.status_code == 429 or r.status_code >= 500:
            raise TemporaryFailure(f"channel {self.name!r}: the SMS API answered {r.status_code}: {_problem(r)}")
        if r.status_code >= 400:
            raise PermanentFailure(f"channel {self.name!r}: the SMS API refused the text to {to}: {_problem(r)}")
        sid = ""
        with contextlib.suppress(ValueError, AttributeError):
            sid = str(r.json().get("sid") or "")
        log.info("%s: text %s sent to %s", self.name, sid or "-", message.recipient.id)
        return Delivery(address=to, reference=sid or message.idempotency_key)

    # ------------------------------------------------------------------ inbound

    def web_app(self, desk: Desk) -> Starlette:
        """The webhook: ``POST /incoming`` (mounted by the portal at ``/channels/NAME/incoming``)."""
        from starlette.applications import Starlette
        from starlette.routing import Route

        async def incoming(request: Request) -> Response:
            return await self.incoming(desk, request)

        return Starlette(routes=[Route("/incoming", incoming, methods=["POST"])])

    def signed_urls(self, desk: Desk, request: Request) -> list[str]:
        """The URLs a signature may be over: the configured one, the public one, the one requested."""
        query = f"?{request.url.query}" if request.url.query else ""
        urls = [self.settings.webhook_url] if self.settings.webhook_url else []
        urls.append(desk.config.deployment.public_url.rstrip("/") + request.url.path + query)
        urls.append(str(request.url))
        return urls

    async def incoming(self, desk: Desk, request: Request) -> Response:
        from starlette.concurrency import run_in_threadpool
        from starlette.responses import PlainTextResponse, Response

        try:
            body = await read_body(request, self.settings.max_body_bytes)
        except BodyTooLarge:
            log.warning("%s: refused a webhook body over %d bytes", self.name, self.settings.max_body_bytes)
            return PlainTextResponse("request body too large", status_code=413)
        token = self._token()
        if not token:
            log.error(
                "%s: no auth token to check signatures with (%s is not set)", self.name, self.settings.auth_token_env
            )
            return PlainTextResponse("not configured", status_code=503, headers={"Retry-After": "60"})
        params = parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True)
        given = request.headers.get("x-twilio-signature", "")
        if not any(sms_signature_ok(token, url, params, given) for url in self.signed_urls(desk, request)):
            log.warning("%s: refused an incoming text with a bad or missing signature", self.name)
            return PlainTextResponse("bad signature", status_code=403)
        form = dict(params)
        sid = form.get("MessageSid") or form.get("SmsSid") or ""
        # Body may be empty (a picture alone); it must be there
        missing = [f for f, v in (("MessageSid", sid), ("From", form.get("From")), ("Body", "Body" in form)) if not v]
        if missing:
            return PlainTextResponse(f"missing form field(s): {', '.join(missing)}", status_code=400)
        try:
            reply = await run_in_threadpool(self.take, desk, sid, form["From"], form["Body"])
        except itsmcore.StoreUnavailable:
            return PlainTextResponse("unavailable, try again", status_code=503, headers={"Retry-After": "30"})
        return Response(twiml(reply), media_type="text/xml")

    def take(self, desk: Desk, sid: str, sender: str, text: str) -> str | None:
        """Handle one verified text; returns what to answer in the webhook's response (only to strangers)."""
        if desk.inbound_seen(self.name, sid):
            log.info("%s: %s was taken in before (a retry); nothing done", self.name, sid)
            return None
        customer = self.customers.find(desk, phone_key(sender))
        reply: str | None = None
        if text.strip().lower() in PROVIDER_KEYWORDS:
            handled = Handled(action="ignored", detail="a keyword the provider answers itself")
        elif customer is None:
            handled = Handled(action="unknown")
            # once a day per number: an automatic sender answering our answer would start a loop
            if self.settings.unknown_senders == "reply" and desk.remember_inbound(
                self.name, stranger_key(desk, sender)
            ):
                reply = UNKNOWN_SENDER
        else:
            handled = take_in(
                desk,
                self.name,
                customer,
                text,
                ref=thread_ref(phone_key(sender) or sender, sid),
                thread=None,
                window=timedelta(hours=self.settings.reply_window_hours),
                portal_hint=desk.config.deployment.public_url,
            )
        desk.remember_inbound(self.name, sid)
        who = customer.id if customer is not None else "an unknown number"
        log.info("%s: %s from %s: %s%s", self.name, sid, who, handled.action, _on(handled))
        return reply


def _on(handled: Handled) -> str:
    return f" (demand {handled.demand_id})" if handled.demand_id is not None else ""


def _problem(r: Any) -> str:
    try:
        data = r.json()
        return str(data.get("message") or data.get("error") or data)[:200]
    except ValueError:
        return (r.text or "").strip()[:200] or "no explanation"


def sms_channel_component() -> ChannelComponent:
    from .standin import sms_sandbox

    return ChannelComponent(
        name="twilio-sms",
        factory=SmsChannel,
        settings=SmsSettings,
        description="SMS both ways through a Twilio-compatible API: texts out, and a signed webhook taking texts in.",
        sandbox=sms_sandbox,
    )
