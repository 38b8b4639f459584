"""The ``log`` channel: messages kept in the store, where journeys and the portal inbox show them."""

from __future__ import annotations

from pathlib import Path

import attrs

from ..components import ChannelComponent, ComponentContext, Delivery, Message
from ..model import Customer


@attrs.frozen(kw_only=True)
class LogChannelSettings:
    path: str | None = attrs.field(
        default=None, metadata={"doc": "Also append each message to this file (relative to the config)."}
    )


class LogChannel:
    """Delivers by recording: the desk stores every message it sends; this adds nothing but an optional file.

    It reaches every customer, so it is the fallback when no other channel can.
    """

    def __init__(self, settings: LogChannelSettings, context: ComponentContext):
        self.file: Path | None = context.path(settings.path) if settings.path else None
        # without a file it is the portal inbox alone: not a channel a customer would choose
        self.inbox = self.file is None

    def address_for(self, customer: Customer) -> str | None:
        return customer.id

    def send(self, message: Message) -> Delivery:
        if self.file is not None:
            with self.file.open("a", encoding="utf-8") as f:
                f.write(f"To: {message.recipient.id}\nSubject: {message.subject}\n\n{message.body}\n")
                for link in message.links:
                    f.write(f"{link.title}: {link.url}\n")
                f.write("\n")
        return Delivery(address=message.recipient.id, reference=message.idempotency_key)


def log_channel_component() -> ChannelComponent:
    return ChannelComponent(
        name="log",
        factory=LogChannel,
        settings=LogChannelSettings,
        description="Keep messages in the store (the portal inbox); optionally append them to a file.",
    )
