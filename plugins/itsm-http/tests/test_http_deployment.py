"""End to end: a deployment whose service plan creates the customer's Expensatron account."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import itsmcore
import pytest
from click.testing import CliRunner
from itsmcore import ConfigError, DemandState
from itsmcore.cli import cli

from itsm_http.standin import Standin

TOKEN = "tok-7c1d2e-never-log-me"

ACTIONS = """
[actions.expensatron]
use = "http"
url = "@URL@/api/accounts"
body = { email = "{customer.email}", name = "{customer.name}", phone = "{answers.mobile_number}" }
outputs = { login = "/account/login" }
customer_sees = "Your Expensatron account is ready: sign in as {outputs.login}."
auth = "bearer"
auth_env = "EXPENSATRON_TOKEN"
read_timeout = 2.0

[[services]]
key = "expensatron"
name = "Expensatron expenses app"
keywords = ["expenses"]
asks = ["mobile_number"]
plan = [
  { action = "expensatron" },
]
"""


class Clock:
    """A clock the test moves forward, so a retry with backoff is due without waiting."""

    def __init__(self) -> None:
        self.now = datetime.now(UTC)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


@pytest.fixture
def token(monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setenv("EXPENSATRON_TOKEN", TOKEN)
    return TOKEN


@pytest.fixture
def open_desk(itsm_deployment_factory: Callable[..., Path]) -> Iterator[Callable[..., Any]]:
    opened: list[Any] = []

    def make(extra: str, clock: Clock | None = None) -> Any:
        path = itsm_deployment_factory(extra)
        desk = itsmcore.Desk.open(path, clock=clock) if clock else itsmcore.Desk.open(path)
        opened.append(desk)
        return desk

    yield make
    for desk in opened:
        desk.close()


def test_request_creates_the_account_and_the_customer_sees_the_login(open_desk: Callable[..., Any], token: str) -> None:
    standin = Standin(token=token).start()
    try:
        desk = open_desk(ACTIONS.replace("@URL@", standin.url))
        receipt = desk.submit("value", "steve", "", service="expensatron", answers={"mobile_number": "+447700900123"})
        view = desk.show(receipt.demand.id)
        assert view.demand.state == DemandState.FULFILLED, [j.error for j in view.jobs]
        assert standin.accounts == [{"id": 1, "login": "steve", "email": "steve@eagle5.example", "name": "Steve Jones"}]
        assert view.outputs["login"] == "steve"
        sees = [e.customer_sees for e in view.journey]
        assert "Your Expensatron account is ready: sign in as steve." in sees
        step = next(e for e in view.journey if "sign in as" in e.customer_sees)
        assert step.actor == "http" and "POST" in step.behind_scenes and "201" in step.behind_scenes
        everything = json.dumps(
            [[e.customer_sees, e.behind_scenes] for e in view.journey] + [j.error or "" for j in view.jobs]
        )
        assert token not in everything
        assert standin.seen_keys and all(k == standin.seen_keys[0] for k in standin.seen_keys)

        # what the integrator sees through the CLI
        config = str(desk.config.path)
        out = CliRunner().invoke(cli, ["-c", config, "demand", "show", str(receipt.demand.id), "--format", "json"])
        assert out.exit_code == 0, out.output
        shown = json.loads(out.output)
        assert shown["outputs"] == {"login": "steve"}
        assert token not in out.output
    finally:
        standin.stop()


def test_5xx_then_success_is_retried_by_the_desk_with_the_same_key(
    open_desk: Callable[..., Any], token: str, api: Any
) -> None:
    api.then(503, {"message": "Expensatron is restarting"}).then(201, {"account": {"login": "steve.j"}})
    clock = Clock()
    desk = open_desk(ACTIONS.replace("@URL@", api.url), clock)
    receipt = desk.submit("value", "steve", "", service="expensatron", answers={"mobile_number": "+447700900123"})
    (job,) = [j for j in desk.jobs(demand_id=receipt.demand.id) if j.action == "expensatron"]
    assert job.state == "pending" and "503" in (job.error or "") and "restarting" in (job.error or "")
    assert desk.get(receipt.demand.id).state != DemandState.FULFILLED

    clock.advance(3600)
    desk.run_due_jobs()
    job = desk.job(job.id)
    assert job.state == "done" and job.attempts == 2
    assert desk.get(receipt.demand.id).state == DemandState.FULFILLED
    keys = [r.header("Idempotency-Key") for r in api.requests]
    assert len(keys) == 2 and keys[0] == keys[1] and keys[0]
    assert [r.header("Authorization") for r in api.requests] == [f"Bearer {token}"] * 2
    assert "sign in as steve.j" in " ".join(e.customer_sees for e in desk.journey(receipt.demand.id))


def test_4xx_ends_the_job_dead_and_the_demand_visibly_stuck(
    open_desk: Callable[..., Any], token: str, api: Any
) -> None:
    api.then(422, {"error": {"message": "mobile number is not allowed"}})
    desk = open_desk(ACTIONS.replace("@URL@", api.url))
    receipt = desk.submit("value", "steve", "", service="expensatron", answers={"mobile_number": "+447700900123"})
    view = desk.show(receipt.demand.id)
    (job,) = [j for j in view.jobs if j.action == "expensatron"]
    assert job.state == "dead" and "422" in (job.error or "") and "mobile number is not allowed" in (job.error or "")
    assert view.demand.state == DemandState.STUCK
    assert len(api.requests) == 1
    assert any("A person from the service desk is on it" in e.customer_sees for e in view.journey)


def test_422_on_a_foreseen_answer_waits_for_the_customer_and_their_correction_goes_on(
    open_desk: Callable[..., Any], token: str, api: Any
) -> None:
    api.then(422, {"error": {"message": "mobile number is not allowed"}}).then(201, {"account": {"login": "steve"}})
    actions = ACTIONS.replace("@URL@", api.url).replace(
        "read_timeout = 2.0", 'read_timeout = 2.0\nneeds_customer_field = "mobile_number"'
    )
    desk = open_desk(actions)
    receipt = desk.submit("value", "steve", "", service="expensatron", answers={"mobile_number": "+447700900123"})
    demand = desk.get(receipt.demand.id)
    assert demand.state == DemandState.IN_FULFILMENT and demand.waiting_for == "your corrected mobile number"
    told = [e.customer_sees for e in desk.journey(demand.id) if e.kind == "needs_customer"]
    assert told and "did not accept what you gave us: mobile number is not allowed" in told[0]
    desk.customer_corrected(demand.id, {"mobile_number": "+447700900124"})
    assert desk.get(demand.id).state == DemandState.FULFILLED
    first, second = (r.header("Idempotency-Key") for r in api.requests)
    assert first != second, "the corrected request is a new one"
    assert api.requests[1].json()["phone"] == "+447700900124"


def test_a_plan_step_can_use_the_http_component_directly(open_desk: Callable[..., Any], standin: Standin) -> None:
    desk = open_desk(
        f"""
        [[services]]
        key = "expensatron"
        name = "Expensatron"

        [[services.plan]]
        action = "http"
        url = "{standin.url}/api/accounts"
        body = {{ email = "{{customer.email}}" }}
        outputs = {{ login = "account.login" }}
        customer_sees = "Login: {{outputs.login}}"
        notify = true
        """
    )
    receipt = desk.submit("value", "steve", "", service="expensatron")
    view = desk.show(receipt.demand.id)
    assert view.demand.state == DemandState.FULFILLED, [j.error for j in view.jobs]
    assert view.outputs == {"login": "steve"}
    assert any(m["body"].startswith("Login: steve") for m in desk.messages(demand_id=receipt.demand.id))


def test_unknown_placeholder_is_a_config_error_naming_the_step(itsm_deployment_factory: Callable[..., Path]) -> None:
    path = itsm_deployment_factory(
        """
        [[services]]
        key = "expensatron"
        name = "Expensatron"
        plan = [{ action = "http", url = "http://127.0.0.1:9/x", body = { email = "{customer.emial}" } }]
        """
    )
    with pytest.raises(ConfigError) as info:
        itsmcore.Desk.open(path).close()
    text = str(info.value)
    assert "services[0].plan[0]" in text and "customer.emial" in text and "customer.email" in text

    out = CliRunner().invoke(cli, ["-c", str(path), "check"])
    assert out.exit_code == 2 and "customer.emial" in out.output


def test_settings_errors_name_the_actions_table(itsm_deployment_factory: Callable[..., Path]) -> None:
    path = itsm_deployment_factory(
        """
        [actions.expensatron]
        use = "http"
        url = "http://127.0.0.1:9/x"
        auth = "bearer"
        """
    )
    out = CliRunner().invoke(cli, ["-c", str(path), "check"])
    assert out.exit_code == 2
    assert "actions.expensatron" in out.output and "auth_env" in out.output


def test_an_existing_account_counts_as_done_and_the_customer_is_told(open_desk: Callable[..., Any], token: str) -> None:
    standin = Standin(token=token).start()
    try:
        actions = ACTIONS.replace("@URL@", standin.url).replace(
            "read_timeout = 2.0",
            'read_timeout = 2.0\nalready_done_sees = "You already have an Expensatron account ({customer.id}); '
            'nothing to set up."',
        )
        desk = open_desk(actions)
        first = desk.submit("value", "steve", "", service="expensatron", answers={"mobile_number": "+447700900123"})
        again = desk.submit("value", "steve", "", service="expensatron", answers={"mobile_number": "+447700900123"})
        assert desk.get(first.demand.id).state == DemandState.FULFILLED
        view = desk.show(again.demand.id)
        assert view.demand.state == DemandState.FULFILLED, [j.error for j in view.jobs]
        assert "You already have an Expensatron account (steve); nothing to set up." in [
            e.customer_sees for e in view.journey
        ]
        assert len(standin.accounts) == 1
    finally:
        standin.stop()
