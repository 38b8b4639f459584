"""The email channel's sandbox: an SMTP sink on 127.0.0.1 that ``itsm demo`` points the channel at."""

from __future__ import annotations

import smtplib
from pathlib import Path

import attrs
import itsmcore
import pytest

from itsm_email.channel import email_channel_component
from itsm_email.settings import EmailSettings

pytest.importorskip("aiosmtpd", reason="aiosmtpd is not installed (pip install itsm-email[sandbox])")


def test_the_sandbox_points_the_channel_at_a_local_smtp_sink(tmp_path: Path) -> None:
    record = email_channel_component()
    assert record.sandbox is not None
    settings = EmailSettings(
        from_address="support@eagle5.example",
        host="smtp.far-away.example",
        port=587,
        username="itsm-mailer",
        password_env="ITSM_SMTP_PASSWORD_NOT_SET",
    )
    ctx = itsmcore.ComponentContext(name="email", deployment="Eagle5", base_dir=tmp_path)
    sink = record.sandbox(settings, ctx)
    with sink as overrides:
        assert overrides["host"] == "127.0.0.1" and overrides["security"] == "none" and overrides["username"] is None
        chan = record.factory(attrs.evolve(settings, **overrides), ctx)
        steve = itsmcore.Customer(id="steve", name="Steve Jones", email="steve@eagle5.example")
        delivery = chan.send(
            itsmcore.Message(recipient=steve, subject="We have your request", body="Thanks.", demand_id=1)
        )
        assert delivery.address == "steve@eagle5.example"
        assert len(sink.messages) == 1
        got = sink.messages[0]
        assert got["To"].addresses[0].addr_spec == "steve@eagle5.example"
        assert got["Subject"].startswith("We have your request")
        assert sink.recipients() == ["steve@eagle5.example"]
        assert sink.summary().startswith(f"SMTP sink (channels.email, 127.0.0.1:{sink.port}) got 1 message for ")
        port = sink.port
    with pytest.raises(OSError), smtplib.SMTP("127.0.0.1", port, timeout=2):
        pass  # stopped on exit


def test_the_summary_of_an_empty_sink(tmp_path: Path) -> None:
    record = email_channel_component()
    settings = EmailSettings(from_address="support@eagle5.example")
    ctx = itsmcore.ComponentContext(name="mail", deployment="Eagle5", base_dir=tmp_path)
    assert record.sandbox is not None
    sink = record.sandbox(settings, ctx)
    with sink:
        assert sink.summary() == f"SMTP sink (channels.mail, 127.0.0.1:{sink.port}) got 0 messages"
