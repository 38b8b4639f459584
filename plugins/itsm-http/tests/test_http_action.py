"""The http action against real HTTP servers on 127.0.0.1."""

from __future__ import annotations

import base64
import logging
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from itsmcore import (
    ActionComponent,
    ActionRequest,
    AlreadyDone,
    FulfilmentAction,
    NeedsCustomer,
    PermanentFailure,
    TemporaryFailure,
)
from itsmcore.testing import ActionContract, context_for, sample_customer

from itsm_http.action import HttpAction, http_action_component
from itsm_http.settings import HttpParams, HttpSettings
from itsm_http.standin import Standin

SECRET = "s3cr3t-token-9f8e7d"

Factory = Callable[..., ActionRequest]


def action(tmp_path: Path, **settings: Any) -> HttpAction:
    return HttpAction(HttpSettings(**settings), context_for(tmp_path, name="expensatron"))


class TestHttpActionContract(ActionContract):
    """The conformance kit, run against the Expensatron stand-in."""

    @pytest.fixture
    def action_component(self) -> ActionComponent:
        return http_action_component()

    @pytest.fixture
    def action(self, action_component: ActionComponent, tmp_path: Path, standin: Standin) -> FulfilmentAction:
        settings = HttpSettings(
            url=standin.url + "/api/accounts",
            body={"email": "{customer.email}", "name": "{customer.name}"},
            outputs={"login": "/account/login"},
            customer_sees="Your Expensatron login is {outputs.login}.",
        )
        built: FulfilmentAction = action_component.factory(settings, context_for(tmp_path))
        return built

    @pytest.fixture
    def action_request(self, request_for: Factory) -> Callable[[str], ActionRequest]:
        return lambda key: request_for(key=key)


# --------------------------------------------------------------------------- success


def test_success_maps_outputs_and_sends_the_idempotency_key(tmp_path: Path, api: Any, request_for: Factory) -> None:
    api.then(201, {"account": {"login": "steve.jones", "id": 7, "tags": ["a"]}})
    act = action(
        tmp_path,
        url=api.url + "/api/accounts",
        body={
            "email": "{customer.email}",
            "name": "{customer.name}",
            "demand": "{demand.id}",
            "os": "{answers.mobile_os}",
            "note": "Requested by {customer.first_name} (#{demand.id})",
            "fixed": True,
            "list": ["{service.key}", 1],
        },
        outputs={"login": "/account/login", "account_id": "account.id", "first_tag": "/account/tags/0"},
        customer_sees="Your Expensatron login is {outputs.login}.",
    )
    result = act.run(request_for(key="eagle5:demand:42:step:2"))
    assert dict(result.outputs) == {"login": "steve.jones", "account_id": 7, "first_tag": "a"}
    assert result.customer_sees == "Your Expensatron login is steve.jones."
    assert "POST http://127.0.0.1" in result.behind_scenes and "201" in result.behind_scenes
    assert result.notify is False
    (seen,) = api.requests
    assert seen.method == "POST" and seen.path == "/api/accounts"
    assert seen.header("Idempotency-Key") == "eagle5:demand:42:step:2"
    assert seen.header("Content-Type") == "application/json"
    assert seen.json() == {
        "email": "steve@eagle5.example",
        "name": "Steve Jones",
        "demand": 42,
        "os": "iOS",
        "note": "Requested by Steve (#42)",
        "fixed": True,
        "list": ["expensatron", 1],
    }


def test_step_params_override_settings(tmp_path: Path, api: Any, request_for: Factory) -> None:
    api.then(200, {"ok": True})
    act = action(tmp_path, url=api.url + "/wrong", headers={"X-Team": "it", "X-Base": "1"}, outputs={"ok": "/ok"})
    params = HttpParams(
        url=api.url + "/users/{customer.id}/groups/{answers.group}",
        method="put",
        headers={"X-Team": "{customer.department}"},
        notify=True,
        customer_sees="Added to {answers.group}",
    )
    result = act.run(request_for(params, answers={"group": "sales team/eu"}))
    (seen,) = api.requests
    assert seen.method == "PUT"
    assert seen.path == "/users/steve/groups/sales%20team%2Feu"
    assert seen.header("X-Team") == "Sales" and seen.header("X-Base") == "1"
    assert seen.body == b""
    assert result.outputs == {"ok": True}
    assert result.customer_sees == "Added to sales team/eu" and result.notify is True


def test_hostile_customer_name_reaches_the_api_literally(tmp_path: Path, api: Any, request_for: Factory) -> None:
    name = '"}, "admin": true, "x": {"'
    act = action(tmp_path, url=api.url + "/api/accounts", body={"name": "{customer.name}", "admin": False})
    act.run(request_for(customer=sample_customer(name=name)))
    assert api.requests[0].json() == {"name": name, "admin": False}


# --------------------------------------------------------------------------- failures


def test_4xx_is_permanent_with_the_servers_message_summarised(tmp_path: Path, api: Any, request_for: Factory) -> None:
    api.then(422, {"error": {"message": "email is already taken\r\nX-Forged: yes\x1b[31m " + "x" * 1000}})
    act = action(tmp_path, url=api.url + "/api/accounts", body={"email": "{customer.email}"})
    with pytest.raises(PermanentFailure) as info:
        act.run(request_for())
    text = str(info.value)
    assert "422" in text and "email is already taken" in text
    assert "\r" not in text and "\n" not in text and "\x1b" not in text
    assert len(text) < 400 and text.endswith("…")


def test_4xx_with_a_non_json_body(tmp_path: Path, api: Any, request_for: Factory) -> None:
    api.then(403, raw=b"<html><body>{{7*7}} Forbidden ${__import__('os')}</body></html>")
    with pytest.raises(PermanentFailure, match=r"403.*\{\{7\*7\}\} Forbidden \$\{__import__\('os'\)\}"):
        action(tmp_path, url=api.url + "/x").run(request_for())


def test_5xx_is_temporary(tmp_path: Path, api: Any, request_for: Factory) -> None:
    api.then(503, {"message": "maintenance"}, headers={"Retry-After": "30"})
    with pytest.raises(TemporaryFailure, match=r"503.*maintenance") as info:
        action(tmp_path, url=api.url + "/api/accounts").run(request_for())
    assert info.value.retry_after == 30.0


def test_in_step_retry_after_a_5xx_uses_the_same_key(tmp_path: Path, api: Any, request_for: Factory) -> None:
    api.then(502, {"error": "bad gateway"}).then(201)
    act = action(
        tmp_path, url=api.url + "/api/accounts", retries=2, retry_delay=0.01, outputs={"login": "/account/login"}
    )
    result = act.run(request_for(key="k-retry"))
    assert result.outputs == {"login": "steve.jones"}
    assert "after 2 tries" in result.behind_scenes
    assert [r.header("Idempotency-Key") for r in api.requests] == ["k-retry", "k-retry"]


def test_timeout_is_temporary(tmp_path: Path, api: Any, request_for: Factory) -> None:
    api.then(201, delay=30.0)
    act = action(tmp_path, url=api.url + "/slow", read_timeout=0.3)
    started = time.monotonic()
    with pytest.raises(TemporaryFailure, match="timed out waiting"):
        act.run(request_for())
    # it gave up on its own read timeout, long before the server answered (a generous margin:
    # only a client that waited for the answer takes 30 s)
    assert time.monotonic() - started < 25


def test_connection_refused_is_temporary(tmp_path: Path, closed_port: int, request_for: Factory) -> None:
    act = action(tmp_path, url=f"http://127.0.0.1:{closed_port}/api/accounts", connect_timeout=1.0)
    with pytest.raises(TemporaryFailure, match="ConnectError"):
        act.run(request_for())


def test_missing_output_field_is_permanent(tmp_path: Path, api: Any, request_for: Factory) -> None:
    api.then(201, {"account": {"id": 1}})
    act = action(tmp_path, url=api.url + "/a", outputs={"login": "/account/login"})
    with pytest.raises(PermanentFailure, match=r"output 'login' \(/account/login\).*'login'"):
        act.run(request_for())


def test_non_json_answer_with_outputs_is_permanent(tmp_path: Path, api: Any, request_for: Factory) -> None:
    api.then(200, raw=b"OK")
    with pytest.raises(PermanentFailure, match="not with JSON"):
        action(tmp_path, url=api.url + "/a", outputs={"login": "/login"}).run(request_for())


def test_unknown_answer_at_run_time_is_permanent_and_named(tmp_path: Path, api: Any, request_for: Factory) -> None:
    act = action(tmp_path, url=api.url + "/a", body={"cc": "{answers.cost_centre}"})
    with pytest.raises(PermanentFailure, match=r"\{answers.cost_centre\}"):
        act.run(request_for())
    assert api.requests == []


def test_redirect_is_permanent(tmp_path: Path, api: Any, request_for: Factory) -> None:
    api.then(301, {}, headers={"Location": "http://elsewhere.example/"})
    with pytest.raises(PermanentFailure, match="redirect"):
        action(tmp_path, url=api.url + "/a").run(request_for())


def test_no_url_is_permanent(tmp_path: Path, request_for: Factory) -> None:
    with pytest.raises(PermanentFailure, match="no url"):
        action(tmp_path).run(request_for())


# --------------------------------------------------------------------------- auth and secrets


def _assert_secret_nowhere(secret: str, act: HttpAction, caplog: pytest.LogCaptureFixture, *texts: str) -> None:
    assert secret not in repr(act)
    assert secret not in repr(act.settings)
    assert secret not in caplog.text
    for text in texts:
        assert secret not in text


def test_bearer_token_from_env(
    tmp_path: Path, api: Any, request_for: Factory, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    monkeypatch.setenv("EXPENSATRON_TOKEN", SECRET)
    api.then(201).then(500, {"message": "boom"}).then(401, {"message": "bad token"})
    act = action(tmp_path, url=api.url + "/a", auth="bearer", auth_env="EXPENSATRON_TOKEN", customer_sees="done")
    result = act.run(request_for())
    errors = []
    for _ in range(2):
        try:
            act.run(request_for())
        except (TemporaryFailure, PermanentFailure) as e:
            errors.append(f"{e!r} {e}")
    assert [r.header("Authorization") for r in api.requests] == [f"Bearer {SECRET}"] * 3
    _assert_secret_nowhere(SECRET, act, caplog, result.customer_sees, result.behind_scenes, *errors)


def test_basic_auth_from_file(tmp_path: Path, api: Any, request_for: Factory, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    (tmp_path / "expensatron.secret").write_text(SECRET + "\n")
    act = action(tmp_path, url=api.url + "/a", auth="basic", username="itsm", auth_file="expensatron.secret")
    result = act.run(request_for())
    expected = "Basic " + base64.b64encode(f"itsm:{SECRET}".encode()).decode()
    assert api.requests[0].header("Authorization") == expected
    _assert_secret_nowhere(SECRET, act, caplog, result.behind_scenes)


def test_api_key_header(tmp_path: Path, api: Any, request_for: Factory, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("EXP_KEY", SECRET)
    action(tmp_path, url=api.url + "/a", auth="api_key", auth_env="EXP_KEY", api_key_header="X-Api-Token").run(
        request_for()
    )
    assert api.requests[0].header("X-Api-Token") == SECRET
    assert api.requests[0].header("Authorization") is None


def test_missing_secret_is_permanent_and_says_where(
    tmp_path: Path, api: Any, request_for: Factory, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("NOT_SET_TOKEN", raising=False)
    with pytest.raises(PermanentFailure, match="NOT_SET_TOKEN"):
        action(tmp_path, url=api.url + "/a", auth="bearer", auth_env="NOT_SET_TOKEN").run(request_for())
    with pytest.raises(PermanentFailure, match="cannot read auth_file"):
        action(tmp_path, url=api.url + "/a", auth="bearer", auth_file="missing.secret").run(request_for())
    assert api.requests == []


@pytest.mark.parametrize(
    "settings, message",
    [
        ({"auth": "bearer"}, "auth_env"),
        ({"auth": "basic", "auth_env": "X"}, "username"),
        ({"auth": "oauth"}, "not one of"),
        ({"method": "BREW"}, "not one of"),
        ({"outputs": {"login": ""}}, "empty"),
        ({"headers": {"Bad Header": "x"}}, "header name"),
        ({"url": "http://x/{customer.emial}"}, "did you mean"),
        ({"read_timeout": 0.0}, "more than 0"),
    ],
)
def test_settings_are_checked_when_built(settings: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        HttpSettings(**settings)


# --------------------------------------------------------------------------- foreseen outcomes


def test_409_means_already_done_and_names_what_exists(tmp_path: Path, api: Any, request_for: Factory) -> None:
    api.then(409, {"error": {"message": "an account for steve@eagle5.example already exists"}, "login": "steve"})
    act = action(
        tmp_path,
        url=api.url + "/api/accounts",
        outputs={"login": "/login", "account_id": "/account/id"},
        already_done_sees="You already have an Expensatron account ({outputs.login}); nothing to set up.",
    )
    with pytest.raises(AlreadyDone) as info:
        act.run(request_for())
    assert info.value.message == "You already have an Expensatron account (steve); nothing to set up."
    assert dict(info.value.outputs) == {"login": "steve"}, "outputs the refusal does not carry are left out"


def test_409_fails_like_other_4xx_when_not_foreseen(tmp_path: Path, api: Any, request_for: Factory) -> None:
    api.then(409, {"error": {"message": "exists"}})
    with pytest.raises(PermanentFailure, match="409"):
        action(tmp_path, url=api.url + "/a", already_done_status=[]).run(request_for())


def test_422_on_an_answer_asks_the_customer_to_correct_it(tmp_path: Path, api: Any, request_for: Factory) -> None:
    api.then(422, {"error": {"message": "phone is not a mobile number"}}).then(422, {"error": {"message": "no"}})
    act = action(tmp_path, url=api.url + "/api/accounts", needs_customer_field="mobile_number")
    with pytest.raises(NeedsCustomer) as info:
        act.run(request_for())
    assert info.value.field == "mobile_number"
    assert (
        info.value.message == "Expensatron expenses app did not accept what you gave us: phone is not a mobile number."
    )
    worded = action(
        tmp_path,
        url=api.url + "/api/accounts",
        needs_customer_field="mobile_number",
        needs_customer_sees="Expensatron does not accept {answers.mobile_number} as a mobile number.",
    )
    with pytest.raises(NeedsCustomer, match=r"does not accept \+447700900123 as a mobile number"):
        worded.run(request_for())


@pytest.mark.parametrize("status", [200, 429, 500])
def test_foreseen_statuses_must_be_client_errors_no_retry_cures(status: int) -> None:
    with pytest.raises(ValueError, match="already_done_status"):
        HttpSettings(url="http://127.0.0.1/", already_done_status=[status])
