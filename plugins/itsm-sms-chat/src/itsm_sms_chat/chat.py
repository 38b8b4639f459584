"""The ``slack-chat`` channel: posts through a Slack-compatible Web API, messages in from its Events API.

Outbound, ``chat.postMessage`` (a bearer token): in the thread a demand began in when it
began in chat, else to the customer directly (their chat user id, a direct message).
Inbound, the platform posts events to ``/channels/NAME/events`` (served by ``itsm serve``),
signed with ``X-Slack-Signature`` over ``v0:TIMESTAMP:BODY``; a stale timestamp, a bad
signature or an event id seen before changes nothing.
"""

from __future__ import annotations

import json
import logging
import re
import time
from datetime import timedelta
from typing import TYPE_CHECKING, Any

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

from .conversation import CONFIRMABLE, Handled, recent_thread, take_in, yes_or_no
from .settings import ChatSettings
from .signatures import chat_signature_ok
from .sms import stranger_key
from .web import BodyTooLarge, CustomerIndex, read_body

if TYPE_CHECKING:
    from itsmcore import Demand, Desk
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import Response

log = logging.getLogger("itsm_sms_chat.chat")

UNKNOWN_SENDER = (
    "Sorry, we could not match your chat account to anyone the service desk knows, so we did not take this in. "
    "Please contact the service desk or use the portal."
)
CONFIRM_HINT = "Reply yes in this thread if it is sorted, or no if not."
REF_PREFIX = "chat:"
#: Web API errors worth retrying; any other error is permanent.
TEMPORARY_ERRORS = frozenset({"ratelimited", "service_unavailable", "internal_error", "fatal_error", "request_timeout"})
#: How long a top-level "yes" or "no" may follow our message about a finished demand.
CONFIRM_WINDOW = timedelta(hours=72)


_MENTION = re.compile(r"<@[A-Z0-9]+(?:\|[^>]*)?>")


def plain_text(text: str) -> str:
    """A message's text as the customer wrote it: without mentions of the app, with ``&amp;`` and friends undone."""
    text = _MENTION.sub("", text)
    text = text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")
    return re.sub(r"[ \t]+", " ", text).strip()


def thread_ref(channel: str, ts: str) -> str:
    """The reference of a chat message (and of the thread it roots): its conversation and timestamp."""
    return f"{REF_PREFIX}{channel}:{ts}"


def parse_ref(ref: str | None) -> tuple[str, str] | None:
    if ref and ref.startswith(REF_PREFIX):
        channel, _, ts = ref[len(REF_PREFIX) :].partition(":")
        if channel and ts:
            return channel, ts
    return None


class ChatChannel:
    """Reaches customers by their chat user id (a directory attribute) and takes their messages in."""

    def __init__(self, settings: ChatSettings, context: ComponentContext):
        self.settings = settings
        self.context = context
        self.name = context.name
        self.customers = CustomerIndex(self._chat_id)

    def __repr__(self) -> str:
        return f"<ChatChannel {self.name!r}>"

    def _chat_id(self, customer: Customer) -> str:
        return str((customer.attributes or {}).get(self.settings.chat_attribute) or "").strip()

    def _secret(self, env: str, file: str | None) -> str | None:
        try:
            return self.context.secret(env, file)
        except OSError as e:
            log.error("%s: cannot read %s: %s", self.name, file, e)
            return None

    # ------------------------------------------------------------------ outbound

    def address_for(self, customer: Customer) -> str | None:
        return self._chat_id(customer) or None

    def compose(self, message: Message) -> str:
        lines = [message.body.strip(), *(f"<{link.url}|{link.title}>" for link in message.links)]
        if message.purpose == "outcome":
            lines.append(CONFIRM_HINT)
        return "\n".join(line for line in lines if line)

    def post(self, channel: str, text: str, thread_ts: str | None = None) -> dict[str, Any]:
        """Post ``text`` with ``chat.postMessage``; the API's answer, or Temporary/PermanentFailure."""
        import httpx

        token = self._secret(self.settings.bot_token_env, self.settings.bot_token_file)
        if not token:
            raise PermanentFailure(
                f"channel {self.name!r}: no bot token (set the environment variable {self.settings.bot_token_env})"
            )
        payload: dict[str, Any] = {"channel": channel, "text": text, "unfurl_links": False}
        if thread_ts:
            payload["thread_ts"] = thread_ts
        url = f"{self.settings.api_url.rstrip('/')}/chat.postMessage"
        try:
            r = httpx.post(
                url, json=payload, headers={"Authorization": f"Bearer {token}"}, timeout=self.settings.timeout
            )
        except httpx.HTTPError as e:
            raise TemporaryFailure(
                f"channel {self.name!r}: the chat API could not be reached: {type(e).__name__}"
            ) from e
        if r.status_code == 429 or r.status_code >= 500:
            raise TemporaryFailure(f"channel {self.name!r}: the chat API answered {r.status_code}")
        try:
            data = r.json()
        except ValueError:
            data = {}
        if r.status_code >= 400 or not isinstance(data, dict) or not data.get("ok"):
            error = str(data.get("error") if isinstance(data, dict) else "") or f"HTTP {r.status_code}"
            failure = TemporaryFailure if error in TEMPORARY_ERRORS else PermanentFailure
            raise failure(f"channel {self.name!r}: the chat API refused the message: {error}")
        return data

    def send(self, message: Message) -> Delivery:
        address = self.address_for(message.recipient)
        thread = parse_ref(message.thread_ref)
        if thread is None and not address:
            raise PermanentFailure(f"{message.recipient.id} has no chat id for channel {self.name!r}")
        channel, thread_ts = thread if thread is not None else (str(address), None)
        data = self.post(channel, self.compose(message), thread_ts)
        posted = thread_ref(str(data.get("channel") or channel), str(thread_ts or data.get("ts") or ""))
        log.info("%s: message posted to %s for %s", self.name, posted, message.recipient.id)
        return Delivery(address=address or channel, reference=posted)

    # ------------------------------------------------------------------ inbound

    def web_app(self, desk: Desk) -> Starlette:
        """The Events API endpoint: ``POST /events`` (mounted by the portal at ``/channels/NAME/events``)."""
        from starlette.applications import Starlette
        from starlette.routing import Route

        async def events(request: Request) -> Response:
            return await self.events(desk, request)

        return Starlette(routes=[Route("/events", events, methods=["POST"])])

    async def events(self, desk: Desk, request: Request) -> Response:
        from starlette.concurrency import run_in_threadpool
        from starlette.responses import JSONResponse, PlainTextResponse

        try:
            body = await read_body(request, self.settings.max_body_bytes)
        except BodyTooLarge:
            log.warning("%s: refused an event body over %d bytes", self.name, self.settings.max_body_bytes)
            return PlainTextResponse("request body too large", status_code=413)
        secret = self._secret(self.settings.signing_secret_env, self.settings.signing_secret_file)
        if not secret:
            log.error("%s: no signing secret (%s is not set)", self.name, self.settings.signing_secret_env)
            return PlainTextResponse("not configured", status_code=503, headers={"Retry-After": "60"})
        problem = chat_signature_ok(
            secret,
            request.headers.get("x-slack-request-timestamp", ""),
            body,
            request.headers.get("x-slack-signature", ""),
            time.time(),
            self.settings.replay_window_seconds,
        )
        if problem:
            log.warning("%s: refused an event: %s", self.name, problem)
            return PlainTextResponse("bad or stale signature", status_code=403)
        try:
            payload = json.loads(body)
        except ValueError:
            return PlainTextResponse("the body is not JSON", status_code=400)
        if not isinstance(payload, dict):
            return PlainTextResponse("the body is not a JSON object", status_code=400)
        if payload.get("type") == "url_verification":
            challenge = payload.get("challenge")
            if not isinstance(challenge, str) or not challenge:
                return PlainTextResponse("url_verification without a challenge", status_code=400)
            return JSONResponse({"challenge": challenge})
        if payload.get("type") != "event_callback":
            return JSONResponse({"ok": True, "ignored": str(payload.get("type"))[:64]})
        event = payload.get("event")
        event_id = payload.get("event_id")
        if not isinstance(event, dict) or not isinstance(event_id, str) or not event_id:
            return PlainTextResponse("event_callback without event or event_id", status_code=400)
        if event.get("bot_id") or event.get("subtype") or event.get("type") not in ("message", "app_mention"):
            return JSONResponse({"ok": True, "ignored": "not a person's message"})  # our own posts come back too
        fields = {k: event.get(k) for k in ("user", "channel", "ts")}
        missing = [k for k, v in fields.items() if not isinstance(v, str) or not v]
        if missing or not isinstance(event.get("text", ""), str):
            return PlainTextResponse(f"message event without {', '.join(missing) or 'text'}", status_code=400)
        try:
            handled = await run_in_threadpool(self.take, desk, event_id, event)
        except itsmcore.StoreUnavailable:
            return PlainTextResponse("unavailable, try again", status_code=503, headers={"Retry-After": "30"})
        return JSONResponse({"ok": True, "action": handled.action})

    def take(self, desk: Desk, event_id: str, event: dict[str, Any]) -> Handled:
        """Handle one verified message event (at most once per event id)."""
        if desk.inbound_seen(self.name, event_id):
            log.info("%s: event %s was taken in before (a retry or a replay); nothing done", self.name, event_id)
            return Handled(action="duplicate")
        user, channel, ts = str(event["user"]), str(event["channel"]), str(event["ts"])
        text = plain_text(str(event.get("text") or ""))
        root = str(event.get("thread_ts") or "") or None
        customer = self.customers.find(desk, user)
        if customer is None:
            handled = Handled(action="unknown")
            if self.settings.unknown_senders == "reply" and desk.remember_inbound(self.name, stranger_key(desk, user)):
                try:
                    self.post(channel, UNKNOWN_SENDER, root or ts)
                except (TemporaryFailure, PermanentFailure) as e:
                    log.warning("%s: could not answer unknown chat user %s: %s", self.name, user, e)
        else:
            thread = self.thread_of(desk, customer, channel, root) if root and root != ts else None
            if thread is None and root is None and yes_or_no(text) is not None:
                recent = recent_thread(desk, self.name, customer, CONFIRM_WINDOW)
                thread = recent if recent is not None and str(recent.state) in CONFIRMABLE else None
            handled = take_in(
                desk,
                self.name,
                customer,
                text,
                ref=thread_ref(channel, ts) if thread is not None or root is None else thread_ref(channel, root),
                thread=thread,
                window=None,
                portal_hint=desk.config.deployment.public_url,
            )
        desk.remember_inbound(self.name, event_id)
        who = customer.id if customer is not None else f"unknown chat user {user}"
        log.info("%s: event %s from %s: %s", self.name, event_id, who, handled.action)
        return handled

    def thread_of(self, desk: Desk, customer: Customer, channel: str, root: str) -> Demand | None:
        """The demand a chat thread belongs to: one that began there, or one we posted its first message about."""
        ref = thread_ref(channel, root)
        demand = desk.find_by_external_ref(ref)
        if demand is not None:
            return demand
        for m in desk.messages(customer=customer.id, limit=200):
            if m["channel"] == self.name and m["reference"] == ref and m["demand_id"] is not None:
                try:
                    return desk.get(int(m["demand_id"]))
                except itsmcore.NotFound:
                    return None
        return None


def chat_channel_component() -> ChannelComponent:
    from .standin import chat_sandbox

    return ChannelComponent(
        name="slack-chat",
        factory=ChatChannel,
        settings=ChatSettings,
        description="Chat both ways through a Slack-compatible API: messages out in threads, signed events in.",
        sandbox=chat_sandbox,
    )
