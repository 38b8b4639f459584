"""The demo's Lyon journey: Camille reads an outage, its fix, the confirm link and the survey in French.

Her language comes from the directory (``language = "fr"`` in the example's
``customers.toml``); nothing in the journey names it: the desk renders every message in
the customer's language when it goes out.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from .desk import Desk

CUSTOMER = "camille"


def lyon_journey(desk: Desk, say: Callable[[str], None]) -> int | None:
    """The CRM is slow from Lyon: Camille is told, says it affects her, confirms the fix and gives an NPS of 10."""
    camille = desk.get_customer(CUSTOMER)
    prefs = desk.preferences(CUSTOMER)
    say(f"Camille Martin works in Eagle5's Lyon office; the directory gives her language: {prefs.language}.")
    desk.subscribe(CUSTOMER, "crm")
    ann = desk.open_announcement(
        "crm",
        # written by the Lyon office's IT team, for the people there
        "Le CRM est très lent depuis le bureau de Lyon",
        workaround="Utilisez l'application mobile du CRM en 4G.",
        estimate="avant 15 h",
        source="monitoring",
    )
    desk.run_due_jobs()
    _show(say, desk, "She is told", "announcement")
    did = desk.affects_me(ann.id, CUSTOMER)
    desk.run_due_jobs()
    say(f"She clicks « {desk.translator(camille)('This affects me')} » (demand #{did}).")
    _show(say, desk, "She reads", "acknowledgement", did)
    say(f"Where it stands for her: {desk.customer_status(did).text}")
    desk.resolve_announcement(ann.id, "Un lien réseau du bureau de Lyon a été remplacé.")
    desk.run_due_jobs()
    fixed = _show(say, desk, "When it is fixed", "announcement")
    token = next(
        (
            line.split("/confirm/", 1)[1].split("?", 1)[0]
            for line in (fixed or {}).get("body", "").splitlines()
            if "/confirm/" in line and "fixed=yes" in line
        ),
        None,
    )
    if token is None:
        say("Camille got no confirm link: the message waits for a retry.")
        return did
    yes = next(line for line in fixed["body"].splitlines() if "fixed=yes" in line).split(": http", 1)[0].strip()
    desk.confirm(token, True)
    desk.run_due_jobs()
    say(f"She confirms through the link « {yes} ».")
    survey = _show(say, desk, "Then", "survey", did)
    if survey:
        desk.answer_survey(10, token=survey["body"].split("/survey/", 1)[1].split()[0], comment="Rapide et clair.")
        say("She gives an NPS of 10.")
    return did


def _show(say: Callable[[str], None], desk: Desk, lead: str, purpose: str, demand_id: int | None = None) -> Any:
    """The newest message of ``purpose`` Camille got, printed as she reads it (links on their own lines)."""
    for m in desk.messages(customer=CUSTOMER, demand_id=demand_id):
        if m["purpose"] == purpose:
            body = "\n".join(f"    {line}" for line in str(m["body"]).splitlines())
            say(f"{lead} ({m['channel']}): « {m['subject']} »\n{body}")
            return m
    say(f"{lead}: no {purpose} message yet (it waits for a retry).")
    return None
