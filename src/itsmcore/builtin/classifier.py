"""The builtin classifier: plain keyword rules, run after every plugin's classifier."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from ..components import Classification, Intake
from ..model import DemandKind, Priority

if TYPE_CHECKING:
    from ..desk import Desk

_WORD = re.compile(r"[a-z0-9]+")
_QUESTION = {"where", "when", "how", "what", "status", "why", "who", "which", "update"}
_REQUEST = {"need", "request", "want", "access", "install", "order", "new", "give", "get"}
_URGENT = {"down", "outage", "everyone", "nobody", "urgent", "all", "production", "critical"}


def classify(desk: Desk, intake: Intake) -> Classification | None:
    """Guess kind, service and priority from the words of the summary and details."""
    text = f"{intake.summary} {intake.details}".lower()
    words = set(_WORD.findall(text))
    kind = None
    if intake.kind is None:
        if words & _QUESTION or intake.summary.rstrip().endswith("?"):
            kind = DemandKind.INFORMATION
        elif words & _REQUEST and not words & {"broken", "error", "fails", "failing", "cannot", "can", "t"}:
            kind = DemandKind.VALUE
        else:
            kind = DemandKind.FAILURE
    service = None
    if intake.service_key is None:
        best = 0
        for s in desk.services:
            names = set(_WORD.findall(s.name.lower())) | {k.lower() for k in s.keywords} | {s.key.lower()}
            score = len(words & names)
            if score > best:
                best, service = score, s.key
    priority = None
    # with a [priorities] table the matrix decides (itsm_prioritise); the keywords are only a guess
    if (intake.kind or kind) == DemandKind.FAILURE and desk.config.priorities is None:
        priority = Priority.HIGH if words & _URGENT else Priority.MEDIUM
    if kind is None and service is None and priority is None:
        return None
    return Classification(kind=kind, service_key=service, priority=priority, reason="keyword rules")
