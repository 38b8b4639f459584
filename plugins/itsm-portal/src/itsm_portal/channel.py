"""The ``portal`` channel: messages for the portal inbox.

The desk keeps every message it sends in its store; the portal shows a customer's
messages on their home page and beside each demand. Sending is therefore only a
matter of saying where the message went: every customer with an id can read it.
"""

from __future__ import annotations

from itsmcore import ComponentContext, Customer, Delivery, Message

from .settings import PortalSettings


class PortalChannel:
    """Reaches every customer through their portal inbox."""

    #: the portal inbox: never offered to customers as a channel to choose
    inbox = True

    def __init__(self, settings: PortalSettings, context: ComponentContext):
        self.settings = settings
        self.context = context

    def address_for(self, customer: Customer) -> str | None:
        return customer.id or None

    def send(self, message: Message) -> Delivery:
        return Delivery(address=message.recipient.id, reference=message.idempotency_key or "")
