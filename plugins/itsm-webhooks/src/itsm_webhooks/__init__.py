"""itsm-webhooks: outbound webhooks, signed per the Standard Webhooks spec, delivered through the outbox.

A subscription names the events it wants (``demand.received``, ``demand.state_changed``,
...), optionally only for some services and demand kinds. Each event becomes one message
per matching subscription, delivered by a durable job of the core's outbox: retried with
backoff, in order per demand, dead after ``[webhooks] max_attempts`` and visible in
``itsm jobs``. ``itsm webhook add|list|test|deliveries|redeliver|rotate`` manages them.
"""

from __future__ import annotations

__version__ = "0.1.0"
