"""Deliveries against a real receiver: signed, in order per demand, retried, dead, disabled, restarted."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

from click.testing import CliRunner
from itsmcore import Desk
from itsmcore.cli import cli
from standardwebhooks import Webhook

from itsm_webhooks.hub import Webhooks
from itsm_webhooks.receiver import Receiver


def _itsm(config: Path, *args: str) -> tuple[int, str, str]:
    r = CliRunner().invoke(cli, ["-c", str(config), *args])
    return r.exit_code, r.stdout, r.stderr


def _verified(receiver: Receiver, secret: str) -> list[dict[str, object]]:
    """Every body the receiver got, each checked against its Standard Webhooks signature."""
    hook = Webhook(secret)
    return [hook.verify(r.body, r.headers) for r in receiver.received]


def test_every_event_is_delivered_signed_once_and_in_order(
    desk: Desk, hub: Webhooks, receiver: Receiver, drain: Callable[..., None]
) -> None:
    _, secret = hub.add("all", receiver.url, ["*"])
    d = desk.submit("failure", "steve", "The CRM is down", service="crm").demand
    desk.comment(d.id, "Still down after a restart", actor="steve")
    desk.resolve(d.id, "Restarted the CRM service")
    drain(desk)
    bodies = _verified(receiver, secret)
    ids = [r.headers["webhook-id"] for r in receiver.received]
    assert len(set(ids)) == len(ids), "each message once"
    assert {b["type"] for b in bodies} >= {
        "demand.received",
        "demand.state_changed",
        "demand.stage_entered",
        "demand.event_recorded",
    }
    journey_ids = [b["data"]["event"]["id"] for b in bodies if b["type"] == "demand.event_recorded"]  # type: ignore[index]
    assert journey_ids == sorted(journey_ids) and journey_ids == [e.id for e in desk.journey(d.id)], "in order"
    log = hub.deliveries("all", limit=1000)
    assert {r["state"] for r in log} == {"delivered"} and len(log) == len(bodies)
    last = bodies[-1]["data"]
    assert last["demand"]["state"] == "resolved"  # type: ignore[index]


def test_filters_by_event_type_service_and_kind(
    desk: Desk, hub: Webhooks, receiver: Receiver, drain: Callable[..., None]
) -> None:
    other = Receiver().start()
    try:
        hub.add("crm-only", receiver.url, ["demand.received"], services=["crm"])
        hub.add("value-only", other.url, ["demand.received"], kinds=["value"])
        desk.submit("failure", "steve", "The CRM is down", service="crm")
        desk.submit("value", "steve", "A new laptop please", service="laptop")
        drain(desk)
        assert [b.json()["data"]["demand"]["service"] for b in receiver.received] == ["crm"]
        assert [b.json()["data"]["demand"]["kind"] for b in other.received] == ["value"]
    finally:
        other.stop()


def test_a_failing_receiver_gets_retries_and_later_events_wait_their_turn(
    desk: Desk, hub: Webhooks, receiver: Receiver, drain: Callable[..., None]
) -> None:
    hub.add("states", receiver.url, ["demand.received", "demand.state_changed"])
    receiver.script.extend(["fail", "fail"])
    d = desk.submit("failure", "steve", "The CRM is down", service="crm").demand
    desk.resolve(d.id, "Restarted")
    drain(desk)
    types = [r.json()["type"] for r in receiver.received]
    assert types == ["demand.received", "demand.received", "demand.received", "demand.state_changed"], (
        "the state change waited until the first message got through"
    )
    first = hub.deliveries("states")[-1]
    assert first["state"] == "delivered" and first["attempts"] == 3
    assert [a["status"] for a in hub.attempts(int(first["id"]))] == [500, 500, 200]


def test_after_max_attempts_the_delivery_is_dead_in_itsm_jobs_and_can_be_redelivered(
    config: Path,
    desk: Desk,
    hub: Webhooks,
    receiver: Receiver,
    drain: Callable[..., None],
) -> None:
    hub.add("received", receiver.url, ["demand.received", "demand.state_changed"])
    receiver.script.extend(["fail"] * 3)
    d = desk.submit("failure", "steve", "The CRM is down", service="crm").demand
    desk.resolve(d.id, "Restarted")
    drain(desk)
    log = hub.deliveries("received")
    assert [(r["event"], r["state"]) for r in log] == [
        ("demand.state_changed", "delivered"),
        ("demand.received", "failed"),
    ], "the dead one does not hold up the rest of its demand"
    code, out, _ = _itsm(config, "jobs", "list", "--state", "dead", "--format", "json")
    assert code == 0
    dead = json.loads(out)
    assert [j["action"] for j in dead] == ["webhooks.deliver"] and "500" in dead[0]["error"]

    failed_id = log[1]["id"]
    code, out, err = _itsm(config, "webhook", "redeliver", "--failed", "received")
    assert code == 0, err
    drain(desk)
    assert hub.deliveries("received")[1]["state"] == "delivered"
    again = [r for r in receiver.received if r.json()["type"] == "demand.received"]
    assert len({r.headers["webhook-id"] for r in again}) == 1, "the same webhook-id when sent again"
    code, out, _ = _itsm(config, "webhook", "deliveries", "received", "--message", str(failed_id), "--format", "json")
    assert [a["status"] for a in json.loads(out)] == [500, 500, 500, 200]


def test_a_receiver_that_times_out_is_tried_again(
    desk: Desk, hub: Webhooks, receiver: Receiver, drain: Callable[..., None]
) -> None:
    hub.add("slow", receiver.url, ["demand.received"])
    receiver.script.append("slow")
    desk.submit("failure", "steve", "The CRM is down", service="crm")
    drain(desk)
    (msg,) = hub.deliveries("slow")
    assert msg["state"] == "delivered"
    assert "no answer within 1s" in hub.attempts(int(msg["id"]))[0]["error"]


def test_a_410_gone_disables_the_subscription(
    config: Path,
    desk: Desk,
    hub: Webhooks,
    receiver: Receiver,
    drain: Callable[..., None],
) -> None:
    hub.add("gone", receiver.url, ["demand.received", "demand.state_changed"])
    receiver.script.append("gone")
    d = desk.submit("failure", "steve", "The CRM is down", service="crm").demand
    desk.resolve(d.id, "Restarted")
    drain(desk)
    assert len(receiver.received) == 1, "nothing more is sent to a receiver that said Gone"
    sub = hub.subscription("gone")
    assert not sub.enabled and "410" in sub.disabled_reason
    assert {r["state"] for r in hub.deliveries("gone")} == {"failed", "cancelled"}
    assert desk.jobs(state="dead") == [], "not an error of ours: nothing dead"
    code, out, _ = _itsm(config, "webhook", "list", "--format", "json")
    assert json.loads(out)[0]["enabled"] is False
    code, out, _ = _itsm(config, "webhook", "enable", "gone")
    assert code == 0
    desk.submit("failure", "steve", "Down again", service="crm")
    drain(desk)
    assert len(receiver.received) == 2


def test_a_receiver_that_restarts_gets_everything(
    desk: Desk, hub: Webhooks, receiver: Receiver, drain: Callable[..., None]
) -> None:
    hub.add("restart", receiver.url, ["demand.received"])
    receiver.stop()
    desk.submit("failure", "steve", "The CRM is down", service="crm")
    desk.run_due_jobs()
    (msg,) = hub.deliveries("restart")
    assert msg["state"] == "queued" and "could not post" in str(msg["error"])
    receiver.start()  # on the same port
    drain(desk)
    assert hub.deliveries("restart")[0]["state"] == "delivered" and len(receiver.received) == 1


def test_a_redirect_is_not_followed(desk: Desk, hub: Webhooks, receiver: Receiver, drain: Callable[..., None]) -> None:
    hub.add("moved", receiver.url, ["demand.received"])
    receiver.script.append("redirect")
    desk.submit("failure", "steve", "The CRM is down", service="crm")
    drain(desk)
    assert [r.path for r in receiver.received] == ["/hooks"], "never posted to where it pointed"
    (msg,) = hub.deliveries("moved")
    assert msg["state"] == "failed" and "redirects are not followed" in str(msg["error"])
    assert "not followed" in (desk.jobs(state="dead")[0].error or "")


def test_a_10_mb_answer_is_read_only_up_to_the_limit(
    desk: Desk, hub: Webhooks, receiver: Receiver, drain: Callable[..., None]
) -> None:
    hub.add("huge", receiver.url, ["demand.received"])
    receiver.script.append("huge")
    desk.submit("failure", "steve", "The CRM is down", service="crm")
    drain(desk)
    (msg,) = hub.deliveries("huge")
    assert msg["state"] == "delivered"
    (attempt,) = hub.attempts(int(msg["id"]))
    assert attempt["status"] == 200 and len(str(attempt["response"])) <= 200


def test_rotation_signs_with_both_secrets_until_the_overlap_ends(
    desk: Desk, hub: Webhooks, receiver: Receiver, drain: Callable[..., None]
) -> None:
    _, old = hub.add("rotating", receiver.url, ["demand.received"])
    new = hub.rotate("rotating")
    desk.submit("failure", "steve", "The CRM is down", service="crm")
    drain(desk)
    (got,) = receiver.received
    assert len(got.headers["webhook-signature"].split(" ")) == 2
    Webhook(old).verify(got.body, got.headers)
    Webhook(new).verify(got.body, got.headers)


def test_itsm_webhook_test_posts_now_and_says_what_came_back(
    config: Path,
    make_config: Callable[..., Path],
    receiver: Receiver,
    drain: Callable[..., None],
    wait_for: Callable[..., object],
) -> None:
    code, out, err = _itsm(config, "webhook", "add", "ops", receiver.url, "--event", "demand.received")
    assert code == 0, err
    secret = out.split("(shown once; the receiver verifies webhook-signature with it): ")[1].strip()
    code, out, err = _itsm(config, "webhook", "test", "ops")
    assert code == 0 and "answered 200" in out, err
    (got,) = _verified(receiver, secret)
    assert got["type"] == "webhook.test"
    receiver.script.append("fail")
    code, out, err = _itsm(config, "webhook", "test", "ops")
    assert code == 1 and "answered 500" in err
    code, out, _ = _itsm(config, "webhook", "deliveries", "ops", "--format", "json")
    assert [(r["event"], r["state"]) for r in json.loads(out)] == [
        ("webhook.test", "failed"),
        ("webhook.test", "delivered"),
    ]
    wait_for(lambda: len(receiver.received) == 2)


def test_a_dead_delivery_retried_with_itsm_jobs_retry_is_sent(
    config: Path, desk: Desk, hub: Webhooks, receiver: Receiver, drain: Callable[..., None]
) -> None:
    hub.add("retry", receiver.url, ["demand.received"])
    receiver.script.append("redirect")  # failed for good at once: dead
    desk.submit("failure", "steve", "The CRM is down", service="crm")
    drain(desk)
    (dead,) = desk.jobs(state="dead")
    code, _, err = _itsm(config, "jobs", "retry", str(dead.id))
    assert code == 0, err
    drain(desk)
    assert desk.job(dead.id).state == "done"
    assert hub.deliveries("retry")[0]["state"] == "delivered" and len(receiver.received) == 2
