"""The customer's preferences page: channels in order, quiet hours, surveys, subscriptions; refusals keep what was typed."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from conftest import API_TOKEN, TOKENS_ENV, csrf_of, make_eagle5
from itsmcore import Desk
from starlette.testclient import TestClient

#: Two channels that can reach everyone (log channels writing files), so a choice can be seen.
CHANNELS = """
[channels.mail]
use = "log"
path = "mail.txt"
[channels.text]
use = "log"
path = "text.txt"
"""


@pytest.fixture
def eagle5(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv(TOKENS_ENV, f"monitoring:{API_TOKEN}")
    monkeypatch.delenv("ITSM_SECRET", raising=False)
    return make_eagle5(tmp_path / "eagle5", extra=CHANNELS)


def save(c: TestClient, **form: object) -> object:
    data = {"csrf": csrf_of(c, "/preferences"), "shown": ["crm", "expensatron"], **form}
    return c.post("/preferences", data=data)


def test_the_page_needs_a_signed_in_customer(client: TestClient) -> None:
    r = client.get("/preferences")
    assert r.status_code in (302, 303) and "/signin" in r.headers["location"]


def test_choosing_channels_quiet_hours_surveys_and_subscriptions(
    sign_in: Callable[..., TestClient], desk: Desk
) -> None:
    desk.subscribe("steve", "crm")
    desk.subscribe("steve", "expensatron")
    c = sign_in("steve")
    page = c.get("/preferences")
    assert page.status_code == 200
    assert 'value="mail"' in page.text and 'value="text"' in page.text
    assert "portal inbox" not in page.text, "the inbox is always there: not a choice"
    assert 'name="subscribe" value="crm" checked' in page.text
    assert 'name="subscribe" value="smartphone"' not in page.text, "nothing of his uses it"
    desk.subscribe("steve", "smartphone")  # meanwhile, elsewhere: not on the page he is sending

    r = save(
        c,
        channel=["text", "mail", ""],
        quiet_start="22:00",
        quiet_end="07:00",
        time_zone="Europe/London",
        subscribe=["expensatron"],
    )
    assert r.status_code == 303, getattr(r, "text", "")[:500]  # type: ignore[attr-defined]
    prefs = desk.preferences("steve")
    assert prefs.channels == ("text", "mail")
    assert str(prefs.quiet_hours) == "22:00-07:00 Europe/London"
    assert prefs.surveys is False, "the box was not ticked"
    assert prefs.updated_by == "steve"
    subs = desk.customer_profile("steve").subscriptions
    assert "crm" not in subs and "expensatron" in subs
    assert "smartphone" in subs, "a service the page did not show is left as it is"
    again = c.get("/preferences")
    assert "Your preferences are saved." in again.text and 'value="22:00"' in again.text
    assert "quiet hours set to" in again.text


def test_a_refusal_is_shown_on_its_field_and_keeps_what_was_typed(
    sign_in: Callable[..., TestClient], desk: Desk
) -> None:
    c = sign_in("steve")
    r = save(c, channel=["text"], quiet_start="22:00", quiet_end="07:00", time_zone="Europe/Londn", surveys="yes")
    assert r.status_code == 422  # type: ignore[attr-defined]
    text = r.text  # type: ignore[attr-defined]
    assert "did you mean &#39;Europe/London&#39;" in text or "did you mean 'Europe/London'" in text
    assert 'value="Europe/Londn"' in text and 'value="22:00"' in text
    assert desk.preferences("steve").source == "directory" and desk.preference_changes("steve") == []

    r = save(c, channel=["chat"], surveys="yes")
    assert r.status_code == 422  # type: ignore[attr-defined]
    assert "the channels offered are: mail, text" in r.text  # type: ignore[attr-defined]


def test_a_post_without_the_form_token_changes_nothing(sign_in: Callable[..., TestClient], desk: Desk) -> None:
    c = sign_in("steve")
    r = c.post("/preferences", data={"channel": "text", "surveys": "yes"})
    assert r.status_code == 403
    assert desk.preferences("steve").source == "directory"
