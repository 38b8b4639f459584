"""Reviews: what a customer tells colleagues about a service once they have it (the ultimate moment of truth)."""

from __future__ import annotations

from datetime import datetime

import attrs

from ._convert import to_tuple

#: The rating scale: whole stars, as colleagues read them on the service page.
RATING_LOW = 1
RATING_HIGH = 5

#: Who an anonymous review is shown as to everyone but the service desk.
A_COLLEAGUE = "a colleague"


@attrs.frozen(kw_only=True)
class Review:
    """One customer's rating (1-5) and words about a service, after a value demand of theirs was fulfilled.

    ``author`` is the reviewer's name as the directory knows it; ``anonymous`` hides it
    from colleagues (:attr:`shown_as`) but never from the desk. A hidden review is kept,
    with who hid it and why, and shown only to the desk.
    """

    id: int
    demand_id: int
    service_key: str
    customer_id: str
    author: str
    rating: int
    text: str = ""
    anonymous: bool = False
    hidden: bool = False
    hidden_by: str | None = None
    hidden_reason: str = ""
    at: datetime

    @property
    def shown_as(self) -> str:
        """The reviewer's name as colleagues see it: theirs, or "a colleague" when they asked for that."""
        return A_COLLEAGUE if self.anonymous else self.author


@attrs.frozen(kw_only=True)
class ReviewSummary:
    """What colleagues read about a service: its average rating, how many reviews, the latest visible ones."""

    service_key: str
    count: int = 0
    average: float | None = None
    recent: tuple[Review, ...] = attrs.field(default=(), converter=to_tuple)
