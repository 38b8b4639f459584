"""Requests by email: which service a message asks for, and the facts it gives as ``name: value`` lines.

The portal shows a service's form; by email the customer writes "Could I have Expensatron?
mobile_number: +44 7700 900123". This module reads that much and no more: a service counts as
asked for when the message names it and either reads like a request or gives facts the
service asks for. Anything less certain is left to the desk's classifier.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping

from itsmcore import Ask, AskType, DemandKind, Service

_FACT_LINE = re.compile(r"^\s*([^\W\d_][\w '\u2019.-]{0,60}?)\s*[:=]\s*(\S.*?)\s*$")

#: Wording of a request, per language (compared on case-folded text with straight apostrophes).
REQUEST_WORDING: tuple[str, ...] = (
    # en
    "i need", "i'd need", "i'd like", "i would like", "i want", "can i have", "can i get", "could i have",
    "could i get", "may i have", "please give me", "set me up", "sign me up", "access to", "request for",
    "requesting", "i request", "please install", "please order",
    # de
    "ich brauche", "ich benötige", "ich hätte gern", "ich möchte", "bitte um", "beantrage",
    # fr
    "j'ai besoin", "je voudrais", "je souhaite", "pourrais-je avoir", "je demande",
    # nl
    "ik heb nodig", "ik wil graag", "graag", "aanvragen", "aanvraag",
    # es
    "necesito", "quisiera", "solicito",
)  # fmt: skip

#: Wording of a question about something asked for before ("where is my Expensatron request?").
QUESTION_WORDING: tuple[str, ...] = (
    "where is", "where's", "when will", "when do", "status of", "any news", "any update", "what happened",
    "wo ist", "wann", "stand meiner", "où en est", "quand", "waar is", "wanneer", "dónde está", "cuándo",
)  # fmt: skip

#: Wording of something broken: such a message is a failure, whatever service it names.
FAILURE_WORDING: tuple[str, ...] = (
    "error", "broken", "doesn't work", "does not work", "not working", "won't", "can't", "cannot", "unable",
    "fails", "failed", "failing", "crash", "stopped working", "outage",
    "kaputt", "funktioniert nicht", "geht nicht", "fehler",
    "ne marche pas", "ne fonctionne pas", "erreur", "panne",
    "werkt niet", "storing", "no funciona",
)  # fmt: skip

_EXAMPLES = {AskType.PHONE: "+44 7700 900123", AskType.EMAIL: "name@example.com"}


def _norm(text: str) -> str:
    return " ".join(text.casefold().replace("\u2019", "'").replace("_", " ").replace("-", " ").split())


def _key(text: str) -> str:
    key = _norm(text).rstrip("?.: ")
    return key[5:] if key.startswith("your ") else key


def _has(text: str, phrase: str) -> bool:
    return re.search(r"(?<!\w)" + re.escape(phrase) + r"(?!\w)", text) is not None


def ask_keys(ask: Ask) -> set[str]:
    """What a customer may write before the colon for this ask: its name or its label."""
    keys = {_key(ask.name)}
    if ask.label:
        keys.add(_key(ask.label))
    return keys


def read_facts(text: str, services: Iterable[Service]) -> dict[str, str]:
    """``{ask name: value}`` for each ``name: value`` line naming an ask of some service (first one wins)."""
    by_key: dict[str, str] = {}
    for service in services:
        for ask in service.asks:
            for key in ask_keys(ask):
                by_key.setdefault(key, ask.name)
    found: dict[str, str] = {}
    for line in text.splitlines():
        m = _FACT_LINE.match(line)
        if m:
            name = by_key.get(_key(m.group(1)))
            if name is not None and name not in found:
                found[name] = m.group(2)[:4000]
    return found


def _prose(text: str, facts: Mapping[str, str], services: Iterable[Service]) -> str:
    """The text without its fact lines (a ``mobile_os: iOS`` line names no service)."""
    keys = {k for s in services for a in s.asks for k in ask_keys(a)}
    kept = []
    for line in text.splitlines():
        m = _FACT_LINE.match(line)
        if not (m and _key(m.group(1)) in keys):
            kept.append(line)
    return _norm("\n".join(kept))


def _named(service: Service, text: str) -> int:
    """How many of the service's names (key, name, keywords) the text says, as whole words."""
    names = {_norm(service.key), _norm(service.name), *(_norm(k) for k in service.keywords)}
    return sum(1 for n in names if n and _has(text, n))


def requested_service(summary: str, text: str, facts: Mapping[str, str], services: Iterable[Service]) -> Service | None:
    """The request service this message asks for, or ``None`` when that is not clear.

    A service counts when the message names it and gives facts it asks for, or names it in the
    subject or first three lines in the words of a request with no words of a failure or a
    question ("I need Expensatron", not "Expensatron won't start" or "Where is my Expensatron?"). Two such services and no facts to tell them
    apart is not clear.
    """
    services = [s for s in services if s.kind == DemandKind.VALUE]
    body = _prose(text, facts, services)
    opening = _prose("\n".join([line for line in text.splitlines() if line.strip()][:3]), facts, services)
    head = f"{_norm(summary)}\n{opening}"
    whole = f"{_norm(summary)}\n{body}"
    wants = any(_has(whole, w) for w in REQUEST_WORDING) and not any(
        _has(whole, w) for w in (*FAILURE_WORDING, *QUESTION_WORDING)
    )
    ranked: list[tuple[int, int, Service]] = []
    for s in services:
        given = sum(1 for a in s.asks if a.name in facts)
        if (given and _named(s, whole)) or (wants and _named(s, head)):
            ranked.append((given, _named(s, whole), s))
    ranked.sort(key=lambda r: (r[0], r[1]), reverse=True)
    if not ranked or (len(ranked) > 1 and ranked[0][:2] == ranked[1][:2]):
        return None
    return ranked[0][2]


def example(ask: Ask) -> str:
    """A sample value to show in "reply with a line like ..."."""
    if ask.type == AskType.CHOICE and ask.choices:
        return ask.choices[0]
    return _EXAMPLES.get(ask.type, "...")


def label(ask: Ask) -> str:
    return ask.label or ask.name.replace("_", " ").capitalize()
