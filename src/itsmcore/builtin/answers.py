"""Self-service answers to information demand: the customer's own demands, then knowledge."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from ..components import Answer
from ..model import Demand, DemandKind, DemandState

if TYPE_CHECKING:
    from ..desk import Desk

_WORD = re.compile(r"[a-z0-9]+")
_STOP = {"the", "i", "my", "a", "an", "is", "where", "what", "when", "how", "to", "of", "for", "it", "do", "did"}


def _words(text: str) -> set[str]:
    return {w for w in _WORD.findall(text.lower()) if w not in _STOP}


def _status(desk: Desk, d: Demand) -> str:
    name = next((s.name for s in desk.services if s.key == d.service_key), d.summary)
    when = d.created_at.strftime("%d %b")
    if d.state == DemandState.AWAITING_APPROVAL:
        return f"Your request #{d.id} for {name} (made {when}) is waiting for approval from {d.waiting_for}."
    if d.state == DemandState.STUCK:
        return f"Your request #{d.id} for {name} hit a problem on our side; the service desk is on it."
    if d.state in (DemandState.FULFILLED, DemandState.CLOSED):
        return f"Your request #{d.id} for {name} is done."
    if d.state == DemandState.IN_FULFILMENT:
        return f"Your request #{d.id} for {name} (made {when}) is being set up: {d.waiting_for or 'in progress'}."
    return f"Your request #{d.id} for {name} (made {when}) is {str(d.state).replace('_', ' ')}."


def answer_query(desk: Desk, demand: Demand) -> Answer | None:
    """Answer from the status of the customer's own requests, else from knowledge articles."""
    words = _words(f"{demand.summary} {demand.details}")
    if not words:
        return None
    own = [
        d for d in desk.list_demands(customer=demand.customer_id, kind=DemandKind.VALUE, limit=50) if d.id != demand.id
    ]
    for d in own:
        svc = next((s for s in desk.services if s.key == d.service_key), None)
        names = _words(d.summary)
        if svc is not None:
            names |= _words(svc.name) | {k.lower() for k in svc.keywords} | {svc.key}
        if words & names:
            return Answer(text=_status(desk, d), source=f"status of demand {d.id}", about=d.id)
    best, article = 0, None
    for a in desk.config.knowledge:
        score = len(words & (_words(a.title) | {k.lower() for k in a.keywords}))
        if score > best:
            best, article = score, a
    if article is not None:
        return Answer(text=f"{article.title}: {article.body}", source=f"knowledge article {article.key}")
    return None
