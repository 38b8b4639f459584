"""SMS both ways: Steve texts a problem, answers a question and confirms the fix; strangers and forgeries change nothing."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

from conftest import SMS_TOKEN, Server, wait_for
from itsmcore import Desk

from itsm_sms_chat.signatures import sms_signature
from itsm_sms_chat.standin import StandIn

STEVE = "+447700900123"
OURS = "+447700900999"


def webhook(server: Server) -> str:
    return f"{server.url}/channels/sms/incoming"


def test_steve_raises_answers_and_confirms_by_sms_on_his_own_number(
    desk: Desk, server: Server, standin: StandIn
) -> None:
    status, body = standin.text_in(webhook(server), SMS_TOKEN, "+44 7700 900123", "My laptop will not start", to=OURS)
    assert status == 200 and body.endswith("<Response></Response>")
    (demand,) = desk.list_demands(customer="steve")
    assert demand.channel == "sms" and demand.summary == "My laptop will not start"
    ack = wait_for(lambda: standin.texts, "the acknowledgement by SMS")[0]
    assert ack["To"] == STEVE and ack["From"] == OURS and f"(#{demand.id})" in ack["Body"]
    assert standin.auth[0].startswith("Basic ")  # account id and auth token

    # the service desk asks a question; it goes back by SMS, and Steve's answer lands on the demand
    desk.comment(demand.id, "Does the power light come on?", actor="agent")
    wait_for(lambda: any("power light" in t["Body"] for t in standin.texts), "the question by SMS")
    assert standin.text_in(webhook(server), SMS_TOKEN, STEVE, "No, nothing at all")[0] == 200
    answer = [e for e in desk.journey(demand.id) if e.kind == "comment" and e.actor == "customer"]
    assert [e.customer_sees for e in answer] == ["No, nothing at all"] and answer[0].channel == "sms"

    # fixed: the outcome says how to confirm, and "Yes" by SMS closes the demand
    desk.resolve(demand.id, "We replaced the battery.")
    outcome = wait_for(lambda: [t for t in standin.texts if "battery" in t["Body"]], "the outcome by SMS")[0]
    assert "Reply YES" in outcome["Body"] and outcome["To"] == STEVE
    assert standin.text_in(webhook(server), SMS_TOKEN, STEVE, "Yes!")[0] == 200
    assert str(desk.get(demand.id).state) == "closed"
    assert len(desk.list_demands(customer="steve")) == 1  # every text went to the one demand


def test_a_stranger_is_answered_politely_and_a_stop_opens_nothing(desk: Desk, server: Server, standin: StandIn) -> None:
    status, body = standin.text_in(webhook(server), SMS_TOKEN, "+15005550006", "hello, my printer is broken")
    assert status == 200 and "we do not recognise this number" in body and "<Message>" in body
    status, body = standin.text_in(webhook(server), SMS_TOKEN, "+15005550006", "hello?")
    assert status == 200 and "<Message>" not in body  # once a day: an auto-responder cannot start a loop
    # opting out is the provider's business: a customer's STOP opens nothing
    status, body = standin.text_in(webhook(server), SMS_TOKEN, STEVE, "STOP")
    assert status == 200 and "<Message>" not in body
    assert desk.list_demands() == [] and standin.texts == []


def test_forged_incomplete_and_huge_posts_are_refused_and_change_nothing(desk: Desk, server: Server) -> None:
    import httpx

    url = webhook(server)
    form = {"MessageSid": "SM1", "From": STEVE, "To": OURS, "Body": "Please reset my password"}
    bad = httpx.post(url, data=form, headers={"X-Twilio-Signature": sms_signature("not-the-token", url, form.items())})
    unsigned = httpx.post(url, data=form)
    missing = {"MessageSid": "SM2", "To": OURS, "Body": "no sender"}
    incomplete = httpx.post(
        url, data=missing, headers={"X-Twilio-Signature": sms_signature(SMS_TOKEN, url, missing.items())}
    )
    huge = {"MessageSid": "SM3", "From": STEVE, "Body": "x" * 200_000}
    too_big = httpx.post(url, data=huge, headers={"X-Twilio-Signature": sms_signature(SMS_TOKEN, url, huge.items())})
    assert (bad.status_code, unsigned.status_code, incomplete.status_code, too_big.status_code) == (403, 403, 400, 413)
    assert "From" in incomplete.text
    assert desk.list_demands() == [] and desk.messages() == []


def test_an_sms_api_failure_while_answering_never_loses_the_demand(
    desk: Desk, server: Server, standin: StandIn
) -> None:
    standin.fail_next(500)
    status, _ = standin.text_in(webhook(server), SMS_TOKEN, STEVE, "The VPN drops every hour")
    assert status == 200
    (demand,) = desk.list_demands(customer="steve")
    (job,) = [j for j in desk.jobs(demand_id=demand.id) if j.action == "notify"]
    assert job.state == "pending" and "answered 500" in (job.error or "") and standin.texts == []
    later = desk.clock() + timedelta(hours=1)
    desk.clock = lambda: later
    desk.run_due_jobs()
    assert desk.job(job.id).state == "done" and standin.texts[0]["To"] == STEVE


def test_check_names_a_bad_setting_with_its_key_path(config: Path, itsm_deployment_factory: Any) -> None:
    from click.testing import CliRunner
    from itsmcore.cli import cli

    ok = CliRunner().invoke(cli, ["-c", str(config), "check"])
    assert ok.exit_code == 0, ok.output
    assert "sms (twilio-sms)" in ok.output and "chat (slack-chat)" in ok.output
    base = '[channels.sms]\nuse = "twilio-sms"\naccount_sid = "AC1"\n'
    for extra, says in (
        ('from_number = "07700 900999"\n', "international form"),
        ('from_number = "+447700900999"\nreply_windw_hours = 4\n', "reply_window_hours"),
    ):
        out = CliRunner().invoke(cli, ["-c", str(itsm_deployment_factory(base + extra)), "check"])
        assert out.exit_code == 2 and "channels.sms" in out.output and says in out.output, out.output
