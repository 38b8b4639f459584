"""Self-service answers to information demand: knowledge first, the customer's own demand when they ask about it.

A question about planned work on a service ("will the quote system upgrade be done by
Thursday?") is answered from the change calendar: the change's window and state, in the
one sentence :func:`itsmcore.desk.changes.change_sentence` gives.

A question about how to do something is answered from knowledge even when the customer
has a request for the same service: "how do I claim my expenses?" wants the expenses
article, not the status of their Expensatron request. Only a question that refers to the
customer's own demand ("where is my phone?", "status of #12", "my request") gets its
status, and only a demand that is theirs: someone else's id says nothing about it.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import TYPE_CHECKING

from ..components import Answer
from ..errors import NotFound
from ..markdown import plain
from ..model import Demand, DemandKind, DemandState, Link
from ..model.knowledge import Article

if TYPE_CHECKING:
    from ..desk import Desk

_WORD = re.compile(r"[a-z0-9]+")
_STOP = frozenset(
    {
        *("the", "i", "my", "me", "a", "an", "is", "are", "was", "where", "what", "when", "how", "to", "of"),
        *("for", "it", "do", "did", "does", "can", "could", "on", "in", "at", "and", "or", "with", "about"),
        *("please", "you", "your", "we", "our", "this", "that", "be", "have", "has"),
    }
)
#: A demand id the customer names: "#12".
_DEMAND_ID = re.compile(r"#\s*(\d{1,12})\b")
#: Wording that asks about a demand already made rather than how to do something.
_ABOUT_MINE = re.compile(
    r"\b(where(?:'s|\s+is|\s+are)|status|progress|update\s+on|any\s+news|still\s+waiting|waiting\s+for"
    r"|when\s+will|when\s+do\s+i\s+get|has\s+my|have\s+my|arrived?|my\s+(?:request|order|ticket|report|case))\b",
    re.IGNORECASE,
)
#: Wording that names no service: with one open demand, it can only be that one.
_ANY_OF_MINE = re.compile(r"\bmy\s+(?:request|order|ticket|report|case)\b", re.IGNORECASE)
#: Share of the question's words an article must cover when it matches one word only.
_ENOUGH = 0.5
#: Articles the knowledge search offers to choose the answer from.
CANDIDATES = 10
#: How much of an article's text an answer carries (the link opens the whole of it).
ANSWER_CHARS = 600


def _words(text: str) -> set[str]:
    """Content words, singular: "expenses" finds an article keyed "expense" and the other way round."""
    return {_singular(w) for w in _WORD.findall(text.lower()) if w not in _STOP}


def _singular(word: str) -> str:
    return word[:-1] if len(word) > 3 and word.endswith("s") and not word.endswith("ss") else word


def _base(desk: Desk) -> str:
    return desk.config.deployment.public_url.rstrip("/")


def _status(desk: Desk, d: Demand) -> str:
    name = next((s.name for s in desk.services if s.key == d.service_key), d.summary)
    noun = "report" if d.kind == DemandKind.FAILURE else "request"
    when = d.created_at.strftime("%d %b")
    if d.state == DemandState.AWAITING_APPROVAL:
        return f"Your {noun} #{d.id} for {name} (made {when}) is waiting for approval from {d.waiting_for}."
    if d.state == DemandState.STUCK:
        return f"Your {noun} #{d.id} for {name} hit a problem on our side; the service desk is on it."
    if d.state in (DemandState.FULFILLED, DemandState.RESOLVED, DemandState.CLOSED):
        return f"Your {noun} #{d.id} for {name} is done."
    if d.state == DemandState.IN_FULFILMENT:
        # the status model says where it is (a task's latest milestone, what it waits for), as every channel does
        return f"Your {noun} #{d.id} for {name} (made {when}): {desk.customer_status(d).text}"
    return f"Your {noun} #{d.id} for {name} (made {when}) is {str(d.state).replace('_', ' ')}."


def _status_answer(desk: Desk, d: Demand) -> Answer:
    return Answer(
        text=_status(desk, d),
        links=(Link(title=f"Follow #{d.id}", url=f"{_base(desk)}/demands/{d.id}"),),
        source=f"status of demand {d.id}",
        about=d.id,
    )


def _own_demand(desk: Desk, demand: Demand, demand_id: int) -> Demand | None:
    """The demand with this id if it is the customer's; for anyone else's, nothing, not even that it exists."""
    if demand_id == demand.id:
        return None
    try:
        named = desk.get(demand_id)
    except NotFound:
        return None
    return named if named.customer_id == demand.customer_id else None


def _asked_about(desk: Desk, demand: Demand, text: str, words: set[str]) -> Demand | None:
    """The customer's own demand the wording points at: one whose service or summary the question names."""
    own = [
        d
        for d in desk.list_demands(customer=demand.customer_id, limit=50)
        if d.id != demand.id and d.kind != DemandKind.INFORMATION
    ]
    services = {s.key: s for s in desk.services}
    named = []
    for d in own:
        names = _words(d.summary)
        svc = services.get(d.service_key or "")
        if svc is not None:
            names |= _words(svc.name) | _words(" ".join(svc.keywords)) | {svc.key}
        if words & names:
            named.append(d)
    # the open one first (that is what a customer chases), then the newest
    named.sort(key=lambda d: (d.is_open, d.created_at, d.id), reverse=True)
    if named:
        return named[0]
    open_ = [d for d in own if d.is_open]
    if len(open_) == 1 and _ANY_OF_MINE.search(text):
        return open_[0]
    return None


def _best_article(articles: Sequence[Article], words: set[str]) -> Article | None:
    """The article covering most of the question: two words, or one that is half the question.

    The candidates come from the knowledge search (published, in the customer's audience,
    typos forgiven); an answer is only given when the article's title and keywords cover
    the question this well, so a question is not closed by a loosely related article.
    """
    best, article = 0, None
    for a in articles:
        score = len(words & (_words(a.title) | _words(" ".join(a.keywords))))
        if score > best:
            best, article = score, a
    if article is None or (best < 2 and best / len(words) < _ENOUGH):
        return None
    return article


def answer_query(desk: Desk, demand: Demand) -> Answer | None:
    """Status when the question is about the customer's own demand, else the best article, else a person."""
    text = f"{demand.summary} {demand.details}"
    words = _words(_DEMAND_ID.sub(" ", text))
    named = _DEMAND_ID.search(text)
    if named is not None:
        mine = _own_demand(desk, demand, int(named.group(1)))
        if mine is not None:
            return _status_answer(desk, mine)
    elif _ABOUT_MINE.search(text):
        mine = _asked_about(desk, demand, text, words)
        if mine is not None:
            return _status_answer(desk, mine)
    if not words:
        return None
    planned = desk.change_answer(text, demand.customer_id)  # "will the quote system upgrade be done by Thursday?"
    if planned is not None:
        change, sentence = planned
        return Answer(text=sentence, source=f"planned change {change.id}")
    found = desk.knowledge.search(text, customer=demand.customer_id, limit=CANDIDATES)
    article = _best_article([h.article for h in found], words)
    if article is None:
        return None
    return Answer(
        text=f"{article.title}: {plain(article.body, ANSWER_CHARS)}",
        links=(Link(title=article.title, url=f"{_base(desk)}/knowledge/{article.key}"),),
        source=f"knowledge article {article.key}",
        article=article.key,
    )
