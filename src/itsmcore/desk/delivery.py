"""Delivery: choosing a channel for a customer and sending a message through it.

What a message carries besides its text (a survey link, a confirm link) is added by
link providers the desk registers, so delivery knows nothing of surveys or outages.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, insert, select

from ..components import ActionResult, Channel, Message
from ..errors import Deferred
from ..i18n import N_, Translator, translator
from ..model import Customer, Demand, Link, Priority
from ..model.job import Job
from ..store import tables as t
from .context import KEEP, Context, Keep
from .customers import Customers

#: Adds links to a notify job's message: (job, recipient, demand) -> links.
LinkProvider = Callable[[Job, Customer, "Demand | None"], Sequence[Link]]

INSERT_MESSAGE = insert(t.messages)
_SELECT_EXTERNAL_REF = select(t.demands.c.external_ref).where(t.demands.c.id == bindparam("b_id"))


#: How a customer says a message reached them, by the channel's name in the config ("We emailed you").
_SENT_BY = {"email": "email", "mail": "email", "sms": "text", "text": "text"}
#: What a message was, for the purposes a customer has a word for; other messages are quoted.
_SENT_WHAT = {"answer": "answer", "reply": "reply"}
#: The sentences, by (how it was sent, what it was): "log" is the portal inbox, "" a channel without a name.
_SENT = {
    ("log", "answer"): N_("We left the answer in your messages on the portal."),
    ("log", "reply"): N_("We left our reply in your messages on the portal."),
    ("log", ""): N_("We left you a message on the portal{said}"),
    ("", "answer"): N_("We sent you the answer."),
    ("", "reply"): N_("We sent you our reply."),
    ("", ""): N_("We sent you a message{said}"),
    ("email", "answer"): N_("We emailed the answer to {address}."),
    ("email", "reply"): N_("We emailed our reply to {address}."),
    ("email", ""): N_("We emailed you at {address}{said}"),
    ("text", "answer"): N_("We texted the answer to {address}."),
    ("text", "reply"): N_("We texted our reply to {address}."),
    ("text", ""): N_("We texted you at {address}{said}"),
}


def sent_words(channel: str, address: str, purpose: str, text: str, tr: Translator | None = None) -> str:
    """What the journey tells the customer was sent where ("We emailed the answer to steve@example.com.").

    Only a channel the customer knows by name is named, with the address it went to;
    the ``log`` channel is the portal inbox, and no component's name is ever shown.
    ``tr`` is the customer's language (English by default).
    """
    tr = tr or translator()
    how = "log" if channel == "log" else _SENT_BY.get(channel, "")
    what = _SENT_WHAT.get(purpose, "")
    said = f": {text}" if text else "."
    return tr(_SENT[how, what], address=address, said=said)


class Delivery:
    """Sends messages through the deployment's channels and keeps each one in the store."""

    def __init__(self, ctx: Context, customers: Customers):
        self.ctx = ctx
        self.customers = customers
        self._channels: dict[str, Channel] | None = None
        self.link_providers: list[LinkProvider] = []
        # the customer's channels in order (their stored choice over the directory's), and when a
        # message of a purpose may go to them (None: now): the desk plugs its preferences in here
        self.channel_order: Callable[[Customer], Sequence[str]] = lambda c: c.preferred_channels
        self.hold_until: Callable[[Customer, str, bool], datetime | None] = lambda c, purpose, urgent: None
        #: The customer's language: a job's message kept as ``say`` (see :mod:`itsmcore.i18n`) is rendered in it.
        self.translator_for: Callable[[Customer], Translator] = lambda c: translator()
        #: A block within which those three read the customer's stored choices once (see ``run_notify``).
        self.reading: Callable[[], AbstractContextManager[object]] = contextlib.nullcontext

    def run_notify(self, job: Job, demand: Demand | None) -> tuple[ActionResult, dict[str, Any]]:
        """Send a notify job's message; the messages row is for the caller to write when the job is marked done."""
        with self.reading():  # quiet hours, channels and language: one read of the customer's choices
            return self._notify(job, demand)

    def _notify(self, job: Job, demand: Demand | None) -> tuple[ActionResult, dict[str, Any]]:
        p = job.params
        customer = self.customers.get(job.customer_id or (demand.customer_id if demand else ""))
        purpose = p.get("purpose", "notification")
        urgent = demand is not None and demand.priority is Priority.CRITICAL
        held = self.hold_until(customer, purpose, urgent)
        if held is not None:
            raise Deferred(held, f"{customer.id}'s quiet hours: the {purpose} waits until {held:%H:%M} UTC")
        channel = p.get("channel") or self.reply_channel(customer, p.get("via", "")) or None
        links = tuple(Link(title=x["title"], url=x["url"]) for x in p.get("links", []))
        for provide in self.link_providers:
            links += tuple(provide(job, customer, demand))
        subject, text = p.get("subject", ""), p.get("text", "")
        tr = self.translator_for(customer)
        said = p.get("say")
        if not tr.english:
            if said:
                subject, text = tr.render(said.get("subject", subject)), tr.render(said.get("text", text))
            links = tuple(Link(title=tr(x.title), url=x.url) for x in links)
        name, address, note, row = self._send(
            customer,
            subject=subject,
            text=text,
            links=links,
            channel=channel,
            demand_id=job.demand_id,
            purpose=p.get("purpose", "notification"),
            key=job.key,
            job_id=job.id,
            thread_ref=demand.external_ref if demand is not None else None,
            language=tr.locale,
        )
        behind = f"{purpose} sent by {name} to {address}" + (f" ({note})" if note else "")
        told = sent_words(name, address, purpose, text, tr)
        return ActionResult(customer_sees=told, behind_scenes=behind, links=links, channel=name), row

    def reply_channel(self, customer: Customer, came_by: str) -> str | None:
        """``came_by`` when it is a channel that can send to ``customer``, else ``None`` (their preferences decide).

        An answer goes back the way the question came: a customer who emailed is answered
        by email, in the same thread, whatever channel they prefer for news.
        """
        chan = self.channels().get(came_by) if came_by and came_by != "log" else None
        return came_by if chan is not None and chan.address_for(customer) else None

    def deliver(
        self,
        customer: Customer,
        *,
        subject: str,
        text: str,
        links: Sequence[Link] = (),
        channel: str | None = None,
        demand_id: int | None = None,
        purpose: str = "notification",
        key: str = "",
        job_id: int | None = None,
        thread_ref: str | Keep | None = KEEP,
    ) -> tuple[str, str, str]:
        """Send one message now and keep it in the store; returns (channel, address, fallback note).

        Jobs call this; other code should queue a message with :meth:`notify` so it is durable.
        """
        name, address, note, row = self._send(
            customer,
            subject=subject,
            text=text,
            links=links,
            channel=channel,
            demand_id=demand_id,
            purpose=purpose,
            key=key,
            job_id=job_id,
            thread_ref=thread_ref,
        )
        with self.ctx.engine.begin() as conn:
            conn.execute(INSERT_MESSAGE, row)
        return name, address, note

    def _send(
        self,
        customer: Customer,
        *,
        subject: str,
        text: str,
        links: Sequence[Link],
        channel: str | None,
        demand_id: int | None,
        purpose: str,
        key: str,
        job_id: int | None,
        thread_ref: str | Keep | None,
        language: str = "en",
    ) -> tuple[str, str, str, dict[str, Any]]:
        """Send one message; returns (channel, address, note) and the messages row for the caller to write.

        Split from :meth:`deliver` so a notify job writes the row in the transaction that ends the job.
        """
        name, chan, address, note = self.channel_for(customer, channel)
        ref: str | None = None
        if not isinstance(thread_ref, Keep):
            ref = thread_ref  # the caller knows the demand already
        elif demand_id is not None:
            with self.ctx.engine.connect() as conn:
                ref = conn.execute(_SELECT_EXTERNAL_REF, {"b_id": demand_id}).scalar_one_or_none()
        message = Message(
            recipient=customer,
            subject=subject,
            body=text,
            links=tuple(links),
            demand_id=demand_id,
            reply_token=f"#{demand_id}" if demand_id else None,
            purpose=purpose,
            idempotency_key=key,
            thread_ref=ref,
            language=language,
        )
        delivery = chan.send(message)
        tr = translator(language)  # the inbox's copy punctuates its links as the language does
        row = {
            "fallback": bool(note),
            "demand_id": demand_id,
            "job_id": job_id,
            "channel": name,
            "customer_id": customer.id,
            "address": delivery.address or address or "",
            "purpose": purpose,
            "subject": subject,
            "body": text + "".join("\n" + tr(N_("{title}: {url}"), title=x.title, url=x.url) for x in links),
            "reference": delivery.reference,
            "at": self.ctx.clock(),
        }
        return name, delivery.address or address or "", note, row

    def messages(
        self, *, customer: str | None = None, demand_id: int | None = None, limit: int = 100
    ) -> list[dict[str, Any]]:
        """Messages sent (newest first): the portal inbox and the audit trail of notifications."""
        q = select(t.messages).order_by(t.messages.c.id.desc()).limit(limit)
        if customer:
            q = q.where(t.messages.c.customer_id == customer)
        if demand_id is not None:
            q = q.where(t.messages.c.demand_id == demand_id)
        with self.ctx.engine.connect() as conn:
            return [dict(r._mapping) for r in conn.execute(q)]

    def channels(self) -> dict[str, Channel]:
        if self._channels is None:
            self._channels = self.ctx.deployment.channels()
        return self._channels

    def channel_for(self, customer: Customer, wanted: str | None = None) -> tuple[str, Channel, str | None, str]:
        """The channel to reach a customer: ``wanted``, else their preferences, else the default.

        Returns (name, channel, address, fallback note). The note is empty when the
        wanted or a preferred channel reached them; otherwise it says why the default
        channel (or, failing that, the ``log`` channel: the portal inbox) was used, and
        the message is counted as a fallback.
        """
        chans = self.channels()
        first = [wanted] if wanted else list(self.channel_order(customer))
        for name in first:
            if name in chans:
                addr = chans[name].address_for(customer)
                if addr:
                    return name, chans[name], addr, ""
        tried = ", ".join(first)
        default = self.ctx.config.deployment.default_channel
        for name in (default, "log"):
            if name in chans:
                addr = chans[name].address_for(customer)
                if addr:
                    note = (
                        f"{customer.id} cannot be reached by {tried}; sent by {name}"
                        + (" (the portal inbox)" if name == "log" else "")
                        if first
                        else ""
                    )
                    return name, chans[name], addr, note
        return "log", chans["log"], customer.id, f"{customer.id} has no reachable channel; kept in the portal inbox"
