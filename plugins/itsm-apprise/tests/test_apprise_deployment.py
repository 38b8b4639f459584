"""End to end: a deployment whose ``sms`` channel is Apprise, and a customer who prefers SMS."""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any

import itsmcore
import pytest
from click.testing import CliRunner
from itsmcore import DemandState
from itsmcore.cli import cli

TOKEN = "sms-gw-7b1c0e-do-not-log"

CUSTOMERS = """
[[customers]]
id = "steve"
name = "Steve Jones"
email = "steve@eagle5.example"
mobile = "+447700900123"
role = "sales"
preferred_channels = ["sms"]

[[customers]]
id = "nora"
name = "Nora Hale"
email = "nora@eagle5.example"
role = "sales"
preferred_channels = ["sms"]
"""

CONFIG = """
[channels.sms]
use = "apprise"
url_template = "json://127.0.0.1:@PORT@/sms/{env:SMS_GATEWAY_TOKEN}?:to={mobile}"
title = "{deployment}: {subject}"

[[services]]
key = "expensatron"
name = "Expensatron expenses app"
keywords = ["expenses"]
quick_start = [{ title = "Expensatron in two minutes", url = "https://apps.eagle5.example/expensatron/quick-start" }]
plan = [
  { action = "notify.send_link", channel = "sms", url = "https://apps.eagle5.example/expensatron/download", title = "Download Expensatron" },
]
"""


@pytest.fixture
def deployment(itsm_deployment_factory: Callable[..., Path], receiver: Any, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("SMS_GATEWAY_TOKEN", TOKEN)
    path = itsm_deployment_factory(CONFIG.replace("@PORT@", str(receiver.port)), name="Eagle5")
    (path.parent / "customers.toml").write_text(CUSTOMERS, encoding="utf-8")
    return path


def test_value_demand_notifications_arrive_by_sms(
    deployment: Path, receiver: Any, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    with itsmcore.Desk.open(deployment) as desk:
        receipt = desk.submit("value", "steve", "", service="expensatron", channel="portal")
        view = desk.show(receipt.demand.id)
        assert view.demand.state == DemandState.FULFILLED, [j.error for j in view.jobs]
        sent = desk.messages(demand_id=receipt.demand.id)

    arrived = [r.json() for r in receiver.received]
    assert {r.route.rsplit("/", 1)[0] for r in receiver.received} == {"/sms"}
    assert all(a["to"] == "+447700900123" for a in arrived)
    titles = [a["title"] for a in arrived]
    assert any(t.startswith("Eagle5: We have your request") for t in titles), titles
    bodies = "\n".join(a["message"] for a in arrived)
    assert "Download Expensatron: https://apps.eagle5.example/expensatron/download" in bodies
    assert "Expensatron in two minutes: https://apps.eagle5.example/expensatron/quick-start" in bodies
    assert len(arrived) == len(sent) >= 3
    assert {m["channel"] for m in sent} == {"sms"} and {m["address"] for m in sent} == {"+447700900123"}
    assert not any(m["fallback"] for m in sent)
    assert TOKEN not in caplog.text
    assert all(TOKEN not in (e.behind_scenes + e.customer_sees) for e in view.journey)


def test_a_customer_without_a_mobile_falls_back_to_the_portal_inbox(deployment: Path, receiver: Any) -> None:
    with itsmcore.Desk.open(deployment) as desk:
        receipt = desk.submit("value", "nora", "", service="expensatron", channel="portal")
        sent = desk.messages(demand_id=receipt.demand.id)
    assert receiver.received == []
    assert sent and {m["channel"] for m in sent} == {"log"} and all(m["fallback"] for m in sent)


def test_gateway_down_is_retried_until_it_arrives(deployment: Path, receiver: Any) -> None:
    receiver.fail_next(503)
    with itsmcore.Desk.open(deployment) as desk:
        receipt = desk.submit("value", "steve", "", service="expensatron", channel="portal")
        jobs = desk.jobs(demand_id=receipt.demand.id)
        failed = [j for j in jobs if j.error and "503" in j.error]
        assert failed and failed[0].state == "pending", [(j.action, j.state, j.error) for j in jobs]
        assert TOKEN not in (failed[0].error or "")


def test_check_lists_the_channel_and_reports_bad_settings(deployment: Path, itsm_deployment_factory: Any) -> None:
    ok = CliRunner().invoke(cli, ["-c", str(deployment), "check"])
    assert ok.exit_code == 0, ok.output
    assert "sms (apprise)" in ok.output

    bad = itsm_deployment_factory('[channels.sms]\nuse = "apprise"\nurl_template = "json://127.0.0.1/{mobil}"\n')
    out = CliRunner().invoke(cli, ["-c", str(bad), "check"])
    assert out.exit_code == 2
    assert "channels.sms" in out.output and "{mobil}" in out.output and "{mobile}" in out.output
