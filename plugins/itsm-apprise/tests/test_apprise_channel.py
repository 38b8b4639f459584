"""The apprise channel, delivering through json:// and form:// to a real local HTTP server."""

from __future__ import annotations

import base64
import logging
import re
from pathlib import Path
from typing import Any
from urllib.parse import unquote

import pytest
from itsmcore import Channel, ChannelComponent, Customer, Link, Message, PermanentFailure, TemporaryFailure
from itsmcore.testing import ChannelContract, check_component_record, context_for, sample_customer

from itsm_apprise.channel import AppriseChannel, apprise_channel_component
from itsm_apprise.settings import AppriseSettings

TOKEN = "tok/9+Zq=secret-never-logged"

DOWNLOAD = Link(title="Download Expensatron", url="https://apps.eagle5.example/expensatron/download?os=iOS&x=1")
CONFIRM = Link(title="Yes, it works again", url="http://127.0.0.1:8000/confirm/abc.def?fixed=yes")


def channel(tmp_path: Path, url: str, **settings: Any) -> AppriseChannel:
    return AppriseChannel(AppriseSettings(url_template=url, **settings), context_for(tmp_path, name="sms"))


def message(customer: Customer | None = None, **changes: Any) -> Message:
    base: dict[str, Any] = {
        "recipient": customer or sample_customer(),
        "subject": "Expensatron is ready (#42)",
        "body": "Hi Steve, Expensatron is ready for you.",
        "links": (DOWNLOAD, CONFIRM),
        "demand_id": 42,
        "purpose": "outcome",
        "idempotency_key": "test:demand:42:outcome",
    }
    return Message(**(base | changes))


class TestAppriseChannelContract(ChannelContract):
    @pytest.fixture
    def channel(self, tmp_path: Path, receiver: Any) -> Channel:
        return channel(tmp_path, f"json://127.0.0.1:{receiver.port}/notify?:to={{mobile}}")

    def test_record(self) -> None:
        record = apprise_channel_component()
        assert isinstance(record, ChannelComponent)
        check_component_record(record)


def test_json_target_receives_title_body_links_and_address(tmp_path: Path, receiver: Any) -> None:
    ch = channel(tmp_path, f"json://127.0.0.1:{receiver.port}/sms/{{id}}?:to={{mobile}}&-ref=itsm")
    delivery = ch.send(message())
    assert delivery.address == "+447700900123" and delivery.reference == "test:demand:42:outcome"
    (got,) = receiver.received
    assert got.method == "POST" and got.route == "/sms/steve" and got.query == {"ref": ["itsm"]}
    payload = got.json()
    assert payload["title"] == "Expensatron is ready (#42)"
    assert payload["to"] == "+447700900123"
    assert payload["message"] == (
        "Hi Steve, Expensatron is ready for you.\n"
        "Download Expensatron: https://apps.eagle5.example/expensatron/download?os=iOS&x=1\n"
        "Yes, it works again: http://127.0.0.1:8000/confirm/abc.def?fixed=yes"
    )


def test_form_target_receives_the_same_fields(tmp_path: Path, receiver: Any) -> None:
    ch = channel(
        tmp_path, f"form://127.0.0.1:{receiver.port}/notify?:phone={{mobile}}", title="[{deployment}] {subject}"
    )
    ch.send(message(subject="Ihre Anfrage ✓", body="Café, naïve, 日本語"))
    form = receiver.received[0].form()
    assert form["title"] == "[test] Ihre Anfrage ✓"
    assert form["phone"] == "+447700900123"
    assert form["message"].startswith("Café, naïve, 日本語\n")
    assert DOWNLOAD.url in form["message"] and CONFIRM.url in form["message"]


def test_address_field_choices(tmp_path: Path, receiver: Any) -> None:
    url = f"json://127.0.0.1:{receiver.port}/chat?:to={{chat}}"
    chat = channel(tmp_path, url, address="chat", chat_attribute="teams")
    steve = sample_customer(attributes={"teams": "steve.j@teams"})
    assert chat.address_for(steve) == "steve.j@teams"
    assert chat.address_for(sample_customer()) is None
    chat.send(message(steve))
    assert receiver.received[0].json()["to"] == "steve.j@teams"

    by_email = channel(tmp_path, f"json://127.0.0.1:{receiver.port}/mail?:to={{email}}", address="email")
    assert by_email.address_for(sample_customer()) == "steve@eagle5.example"
    assert by_email.address_for(sample_customer(email=None)) is None

    by_mobile = channel(tmp_path, f"json://127.0.0.1:{receiver.port}/x/{{chat}}")
    assert by_mobile.address_for(sample_customer()) is None, "the URL needs {chat}, which Steve lacks"
    with pytest.raises(PermanentFailure, match="no chat"):
        by_mobile.send(message())
    with pytest.raises(PermanentFailure, match="has no mobile"):
        channel(tmp_path, url.replace("{chat}", "{mobile}")).send(message(sample_customer(mobile=None)))


def test_placeholder_values_are_percent_encoded(tmp_path: Path, receiver: Any) -> None:
    odd = sample_customer(id="a/b?c=d&e#f", mobile="+44 7700&to=evil")
    ch = channel(tmp_path, f"json://127.0.0.1:{receiver.port}/u/{{id}}?:to={{mobile}}")
    ch.send(message(odd))
    got = receiver.received[0]
    assert unquote(got.route) == "/u/a/b?c=d&e#f"
    assert got.query == {}
    assert got.json()["to"] == "+44 7700&to=evil"


def test_message_text_is_inserted_literally(tmp_path: Path, receiver: Any) -> None:
    ch = channel(tmp_path, f"json://127.0.0.1:{receiver.port}/n?:to={{mobile}}")
    body = "Your name: {subject} {{7*7}} ${__import__('os')} {env:HOME}\r\nX-Forged: 1\x1b[31m"
    ch.send(message(body=body, subject="{body}", links=()))
    payload = receiver.received[0].json()
    assert payload["title"] == "{body}"
    assert payload["message"] == "Your name: {subject} {{7*7}} ${__import__('os')} {env:HOME}\nX-Forged: 1[31m"


def test_html_and_markdown_formats(tmp_path: Path, receiver: Any) -> None:
    url = f"json://127.0.0.1:{receiver.port}/n?:to={{mobile}}&format=html"
    ch = channel(tmp_path, url, body_format="html", body="<p>{body}</p>{links}")
    ch.send(message(body="Fish & <chips>", links=(DOWNLOAD,)))
    html_msg = receiver.received[0].json()["message"]
    assert "<p>Fish &amp; &lt;chips&gt;</p>" in html_msg
    assert (
        '<a href="https://apps.eagle5.example/expensatron/download?os=iOS&amp;x=1">Download Expensatron</a>' in html_msg
    )

    md = channel(tmp_path, f"json://127.0.0.1:{receiver.port}/n?:to={{mobile}}&format=markdown", body_format="markdown")
    md.send(message(links=(DOWNLOAD,)))
    assert f"[Download Expensatron]({DOWNLOAD.url})" in receiver.received[1].json()["message"]


def test_max_length_cuts_the_text_but_keeps_links_whole(tmp_path: Path, receiver: Any) -> None:
    ch = channel(tmp_path, f"json://127.0.0.1:{receiver.port}/n?:to={{mobile}}", max_length=160)
    ch.send(message(body="word " * 100, links=(DOWNLOAD,)))
    text = receiver.received[0].json()["message"]
    assert len(text) <= 160 and text.endswith(f"Download Expensatron: {DOWNLOAD.url}") and "…" in text


# --------------------------------------------------------------------------- failures and secrets


def test_server_error_is_temporary(tmp_path: Path, receiver: Any) -> None:
    receiver.fail_next(500)
    ch = channel(tmp_path, f"json://127.0.0.1:{receiver.port}/n?:to={{mobile}}")
    with pytest.raises(TemporaryFailure, match="500"):
        ch.send(message())
    ch.send(message())  # the retry goes through
    assert len(receiver.received) == 2


def test_connection_refused_is_temporary(tmp_path: Path, closed_port: int) -> None:
    ch = channel(tmp_path, f"json://127.0.0.1:{closed_port}/n?:to={{mobile}}")
    with pytest.raises(TemporaryFailure, match="could not deliver"):
        ch.send(message())


def test_env_secret_is_used_but_never_logged(
    tmp_path: Path, receiver: Any, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    monkeypatch.setenv("APPRISE_TOKEN", TOKEN)
    ch = channel(
        tmp_path,
        f"json://itsm:{{env:APPRISE_TOKEN}}@127.0.0.1:{receiver.port}/hook/{{env:APPRISE_TOKEN}}?:to={{mobile}}",
    )
    ch.send(message())
    receiver.fail_next(503)
    with pytest.raises(TemporaryFailure) as info:
        ch.send(message())
    got = receiver.received[0]
    assert unquote(got.route) == f"/hook/{TOKEN}"
    assert got.headers["Authorization"] == "Basic " + base64.b64encode(f"itsm:{TOKEN}".encode()).decode()
    assert "apprise" in caplog.text.lower()  # Apprise did log, and what it logged is masked
    for text in (caplog.text, str(info.value), repr(ch), repr(ch.settings)):
        assert TOKEN not in text
        assert "9+Zq" not in text and "9%2BZq" not in text


def test_missing_env_secret_is_permanent(tmp_path: Path, receiver: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("NO_SUCH_APPRISE_TOKEN", raising=False)
    ch = channel(tmp_path, f"json://127.0.0.1:{receiver.port}/h/{{env:NO_SUCH_APPRISE_TOKEN}}")
    with pytest.raises(PermanentFailure, match="NO_SUCH_APPRISE_TOKEN"):
        ch.send(message())
    assert receiver.received == []


@pytest.mark.parametrize(
    "settings, problem",
    [
        ({"url_template": "json://h/{mobil}"}, "did you mean {mobile}"),
        ({"url_template": "json://h/{customer.__class__}"}, "unknown placeholder"),
        ({"url_template": "127.0.0.1/{mobile}"}, "not an Apprise URL"),
        ({"url_template": "json://h/{mobile", "address": "mobile"}, "lone"),
        ({"url_template": "json://h", "address": "pager"}, "address"),
        ({"url_template": "json://h", "title": "{env:X}"}, "unknown placeholder"),
        ({"url_template": "json://h", "body": "{bdy}"}, "did you mean {body}"),
        ({"url_template": "json://h", "body_format": "rtf"}, "body_format"),
    ],
)
def test_settings_are_checked(settings: dict[str, Any], problem: str) -> None:
    with pytest.raises(ValueError, match=re.escape(problem)):
        AppriseSettings(**settings)


def test_an_unknown_scheme_stops_the_channel_from_starting(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="did you mean 'json'"):
        channel(tmp_path, "jsno://127.0.0.1/{mobile}")
