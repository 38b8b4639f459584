"""The apprise channel's sandbox: a webhook receiver on 127.0.0.1 that ``itsm demo`` points the channel at."""

from __future__ import annotations

import urllib.request
from pathlib import Path

import attrs
import itsmcore
import pytest

from itsm_apprise.channel import apprise_channel_component
from itsm_apprise.settings import AppriseSettings


def test_the_sandbox_receives_what_the_channel_sends(tmp_path: Path) -> None:
    record = apprise_channel_component()
    assert record.sandbox is not None
    settings = AppriseSettings(
        url_template="json://sms.far-away.example/send/{env:SMS_TOKEN_NOT_SET}?:to={mobile}",
        title="{deployment}: {subject}",
    )
    ctx = itsmcore.ComponentContext(name="sms", deployment="Eagle5", base_dir=tmp_path)
    box = record.sandbox(settings, ctx)
    with box as overrides:
        assert overrides["url_template"] == f"json://127.0.0.1:{box.port}/sms?:to={{address}}"
        chan = record.factory(attrs.evolve(settings, **overrides), ctx)
        steve = itsmcore.Customer(id="steve", name="Steve Jones", mobile="+447700900123")
        link = itsmcore.Link(title="CRM mobile app", url="https://apps.eagle5.example/crm/mobile")
        chan.send(itsmcore.Message(recipient=steve, subject="CRM mobile app", body="Meanwhile: use it.", links=[link]))
        assert len(box.received) == 1
        got = box.received[0]
        assert got["path"].startswith("/sms")
        assert got["to"] == "+447700900123"
        assert got["title"] == "Eagle5: CRM mobile app"
        assert "https://apps.eagle5.example/crm/mobile" in got["message"]
        assert box.summary() == (
            "webhook stand-in (channels.sms) got 1 message for +447700900123; titles: 'Eagle5: CRM mobile app'"
        )
        port = box.port
    with pytest.raises(OSError):
        urllib.request.urlopen(f"http://127.0.0.1:{port}/sms", data=b"{}", timeout=2)
