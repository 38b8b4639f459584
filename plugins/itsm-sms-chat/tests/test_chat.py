"""Chat both ways: Steve raises a demand in a DM and confirms the fix in its thread; forged, stale and replayed events change nothing."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
from conftest import CHAT_SECRET, STEVE_CHAT, Server, wait_for
from itsmcore import Desk

from itsm_sms_chat.signatures import chat_signature
from itsm_sms_chat.standin import StandIn

DM = "D0STEVE"


def events(server: Server) -> str:
    return f"{server.url}/channels/chat/events"


def post(server: Server, payload: Any, *, secret: str = CHAT_SECRET, at: float | None = None) -> httpx.Response:
    raw = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
    stamp = str(int(time.time() if at is None else at))
    headers = {
        "Content-Type": "application/json",
        "X-Slack-Request-Timestamp": stamp,
        "X-Slack-Signature": chat_signature(secret, stamp, raw),
    }
    return httpx.post(events(server), content=raw, headers=headers)


def message(
    event_id: str, text: str, ts: str, *, user: str = STEVE_CHAT, thread_ts: str | None = None
) -> dict[str, Any]:
    event = {"type": "message", "channel_type": "im", "channel": DM, "user": user, "text": text, "ts": ts}
    if thread_ts:
        event["thread_ts"] = thread_ts
    return {"type": "event_callback", "event_id": event_id, "event_time": int(time.time()), "event": event}


def test_url_verification_answers_the_challenge(server: Server) -> None:
    r = post(server, {"type": "url_verification", "challenge": "3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P"})
    assert r.status_code == 200 and r.json() == {"challenge": "3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P"}


def test_steve_raises_a_demand_in_chat_and_confirms_the_fix_in_its_thread(
    desk: Desk, server: Server, standin: StandIn
) -> None:
    r = post(server, message("Ev1", "The CRM shows an error when I save a contact", "1700000000.000100"))
    assert r.status_code == 200 and r.json()["action"] == "created"
    (demand,) = desk.list_demands(customer="steve")
    assert demand.channel == "chat"
    ack = wait_for(lambda: standin.posts, "the acknowledgement in chat")[0]
    assert (ack["channel"], ack["thread_ts"]) == (DM, "1700000000.000100") and f"(#{demand.id})" in ack["text"]
    assert standin.auth[0] == "Bearer xoxb-test"

    desk.resolve(demand.id, "We fixed the contact form.")
    outcome = wait_for(lambda: [p for p in standin.posts if "contact form" in p["text"]], "the outcome in chat")[0]
    assert outcome["thread_ts"] == "1700000000.000100" and "Reply yes in this thread" in outcome["text"]
    r = post(server, message("Ev2", "yes", "1700000500.000200", thread_ts="1700000000.000100"))
    assert r.json()["action"] == "confirmed" and str(desk.get(demand.id).state) == "closed"


def test_forged_stale_malformed_and_huge_events_are_refused(desk: Desk, server: Server) -> None:
    event = message("Ev3", "Please reset my password", "1700000000.000300")
    assert post(server, event, secret="not-the-secret").status_code == 403
    assert post(server, event, at=time.time() - 6 * 60).status_code == 403  # outside the 5-minute window
    assert httpx.post(events(server), json=event).status_code == 403  # unsigned
    assert post(server, b"{not json").status_code == 400
    assert post(server, {"type": "event_callback", "event": {"type": "message"}}).status_code == 400
    assert post(server, {"type": "event_callback", "event_id": "Ev4", "event": {"type": "message"}}).status_code == 400
    assert post(server, message("Ev5", "x" * 100_000, "1700000000.000500")).status_code == 413
    assert desk.list_demands() == [] and desk.messages() == []


def test_a_replayed_event_is_recognised_after_a_restart(
    config: Path, desk: Desk, serve: Callable[[Desk], Server], standin: StandIn
) -> None:
    first = serve(desk)
    stranger = message("Ev6", "hi, who is this?", "1700000000.000600", user="U0STRANGER")
    assert post(first, stranger).json()["action"] == "unknown"
    (polite,) = standin.posts  # answered in the stranger's thread, nothing recorded
    assert "could not match your chat account" in polite["text"] and polite["thread_ts"] == "1700000000.000600"
    assert post(first, message("Ev7", "My monitor flickers", "1700000000.000700")).json()["action"] == "created"
    first.stop()

    with Desk.open(config) as again:  # a new process would open the store the same way
        second = serve(again)
        assert post(second, stranger).json()["action"] == "duplicate"
        assert post(second, message("Ev7", "My monitor flickers", "1700000000.000700")).json()["action"] == "duplicate"
        assert len(again.list_demands()) == 1
    assert len([p for p in standin.posts if "could not match" in p["text"]]) == 1
