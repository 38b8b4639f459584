"""Survey responses and knowledge articles."""

from __future__ import annotations

from datetime import datetime

import attrs

from ._convert import to_tuple


@attrs.frozen(kw_only=True)
class SurveyResponse:
    """One answer to a survey method (NPS, CSAT, CES or a vendor's own).

    ``mode`` is ``"transactional"`` (after an outcome, tied to a demand) or
    ``"tracker"`` (over time, not tied to one demand).
    """

    id: int | None = None
    method: str
    customer_id: str
    score: int
    comment: str = ""
    demand_id: int | None = None
    service_key: str | None = None
    channel: str = ""
    mode: str = "transactional"
    at: datetime


@attrs.frozen(kw_only=True)
class KnowledgeArticle:
    """A plain-language answer the desk can offer before a person is needed."""

    key: str = attrs.field(metadata={"doc": "The article's id; unique."})
    title: str = attrs.field(metadata={"doc": "Its title, in the customer's words."})
    body: str = attrs.field(metadata={"doc": "The answer itself, in plain language."})
    keywords: tuple[str, ...] = attrs.field(
        default=(), converter=to_tuple, metadata={"doc": "Words a customer's question may use for it."}
    )
    service_key: str | None = attrs.field(default=None, metadata={"doc": "The service it is about, if any."})
