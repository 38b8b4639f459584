"""What a customer's text means for the desk: a new demand, a reply, an answer, a confirmation.

Shared by the SMS and chat channels once a message is verified and its sender is known.
Every change goes through the public :class:`itsmcore.Desk` API, so the demand, its journey
and the messages it causes are written in one transaction before anything is sent: a channel
that fails while replying delays the reply (the job is retried), it never loses the demand.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

import attrs
import itsmcore

if TYPE_CHECKING:
    from itsmcore import Customer, Demand, Desk

log = logging.getLogger("itsm_sms_chat")

MAX_SUMMARY = 120
MAX_DETAILS = 4000
_TAG = re.compile(r"(?<![\w#])#(\d{1,12})\b")
_NEW = re.compile(r"^\s*new\b[\s:,-]*", re.IGNORECASE)
_WORDS = re.compile(r"[^\w\s']+")
#: Short answers to "is it sorted?", after lower-casing and dropping punctuation.
YES = frozenset(
    {"yes", "y", "yep", "yeah", "yes thanks", "yes thank you", "fixed", "sorted", "it works", "works", "ok", "👍"}
)
NO = frozenset({"no", "n", "nope", "not fixed", "still broken", "not sorted", "not yet", "no still broken", "👎"})
#: States in which a demand waits for its customer to say whether it is sorted.
CONFIRMABLE = frozenset({"fulfilled", "resolved", "answered"})
OPEN_ENDED = frozenset({"closed", "cancelled", "rejected"})


@attrs.frozen(kw_only=True)
class Handled:
    """What one incoming message did: ``action`` is one word, ``demand_id`` the demand it touched."""

    action: str  # created | replied | confirmed | reopened | duplicate | refused | empty | unknown | ignored
    demand_id: int | None = None
    detail: str = ""


def yes_or_no(text: str) -> bool | None:
    """``True`` for a short "yes, it is sorted", ``False`` for "no", ``None`` for anything else."""
    words = " ".join(_WORDS.sub(" ", text.lower()).split())
    stripped = text.strip()
    if words in YES or stripped in YES:
        return True
    if words in NO or stripped in NO:
        return False
    return None


def summary_of(text: str) -> str:
    first = next((line.strip() for line in text.splitlines() if line.strip()), "")
    return first if len(first) <= MAX_SUMMARY else first[: MAX_SUMMARY - 1].rstrip() + "…"


def _aware(at: datetime) -> datetime:
    return at if at.tzinfo else at.replace(tzinfo=UTC)


def recent_thread(desk: Desk, channel: str, customer: Customer, window: timedelta) -> Demand | None:
    """The open demand our last message on ``channel`` to ``customer`` was about, if it went within ``window``."""
    since = desk.clock() - window
    for m in desk.messages(customer=customer.id, limit=50):
        if _aware(m["at"]) < since:
            return None
        if m["channel"] != channel or m["demand_id"] is None:
            continue
        try:
            demand = desk.get(int(m["demand_id"]))
        except itsmcore.NotFound:
            continue
        if str(demand.state) not in OPEN_ENDED:
            return demand
    return None


def tagged(desk: Desk, customer: Customer, text: str) -> Demand | None:
    """The customer's own demand a ``#42`` in the text names, if any."""
    for m in _TAG.finditer(text):
        try:
            demand = desk.get(int(m.group(1)))
        except itsmcore.NotFound:
            continue
        if demand.customer_id == customer.id:
            return demand
    return None


def take_in(
    desk: Desk,
    channel: str,
    customer: Customer,
    text: str,
    *,
    ref: str,
    thread: Demand | None,
    window: timedelta | None,
    portal_hint: str = "",
) -> Handled:
    """Take one message from a known ``customer`` in on ``channel``.

    ``thread`` is the demand the message answers when the channel knows it (a chat thread);
    otherwise a ``#42`` in the text, then the open demand our last message was about within
    ``window`` (``None``: never), decide; a message starting with NEW opens a new demand.
    ``ref`` is the provider's id of the message: the same message taken in twice is kept once.
    """
    text = text.strip()
    if not text:
        return Handled(action="empty")
    if thread is None:
        fresh = _NEW.match(text)
        if fresh:
            text = text[fresh.end() :].strip() or text
        else:
            thread = tagged(desk, customer, text)
            if thread is None and window is not None:
                thread = recent_thread(desk, channel, customer, window)
    if thread is not None and thread.customer_id == customer.id:
        return _on_demand(desk, channel, customer, thread, text, ref)
    return _new_demand(desk, channel, customer, text, ref, portal_hint)


def _on_demand(desk: Desk, channel: str, customer: Customer, demand: Demand, text: str, ref: str) -> Handled:
    answer = yes_or_no(text)
    if answer is not None and (str(demand.state) in CONFIRMABLE or demand.announcement_id is not None):
        if desk.find_event_by_external_ref(ref) is None:
            try:
                carried_on = desk.confirm_demand(demand.id, customer.id, answer, channel=channel)
            except itsmcore.ItsmError as e:  # not waiting for a confirmation after all: a comment then
                log.info("%s: %r on demand %s is taken as a comment: %s", channel, text, demand.id, e)
            else:
                desk.record_event(
                    carried_on,
                    channel=channel,
                    actor="customer",
                    kind="note",
                    behind_scenes=f"confirmation by {channel}: {text!r}",
                    external_ref=ref,
                )
                return Handled(action="confirmed" if answer else "reopened", demand_id=carried_on)
        else:
            return Handled(action="duplicate", demand_id=demand.id)
    before = desk.find_event_by_external_ref(ref)
    if before is not None:
        return Handled(action="duplicate", demand_id=before.demand_id)
    desk.comment(demand.id, text[:MAX_DETAILS], actor="customer", channel=channel, external_ref=ref)
    return Handled(action="replied", demand_id=demand.id)


def _new_demand(desk: Desk, channel: str, customer: Customer, text: str, ref: str, portal_hint: str) -> Handled:
    try:
        receipt = desk.submit(
            None,
            customer,
            summary_of(text),
            details=text[:MAX_DETAILS],
            channel=channel,
            external_ref=ref,
        )
    except itsmcore.InvalidAnswers as e:
        return _refuse(desk, channel, customer, _incomplete(desk, text, e.errors, portal_hint), "incomplete")
    except itsmcore.IneligibleCustomer as e:
        why = f"We have not opened your request: {e.reason}"
        if e.next_step:
            why += f" What you can do: {e.next_step}"
        return _refuse(desk, channel, customer, why, "ineligible")
    if receipt.duplicate:
        return Handled(action="duplicate", demand_id=receipt.demand.id)
    return Handled(action="created", demand_id=receipt.demand.id)


def _incomplete(desk: Desk, text: str, errors: Mapping[str, Any], portal_hint: str) -> str:
    facts = ", ".join(str(k).replace("_", " ") for k in errors)
    return (
        f"Thank you. Before we can start on {summary_of(text)!r} we need a few details ({facts})."
        + (f" The portal asks for them: {portal_hint}" if portal_hint else "")
        + " Nothing has been opened yet."
    )


def _refuse(desk: Desk, channel: str, customer: Customer, text: str, why: str) -> Handled:
    """Tell the customer why nothing was opened, as a durable message back on ``channel``."""
    desk.notify(customer.id, "We could not open your request", text, channel=channel, purpose="reply")
    return Handled(action="refused", detail=why)
