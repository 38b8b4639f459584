"""The outbound channel against a real SMTP server (aiosmtpd): contract, headers, TLS, AUTH, failures."""

from __future__ import annotations

import socket
from collections.abc import Callable
from pathlib import Path

import itsmcore
import pytest
from conftest import SMTP_PASSWORD, SMTP_USER, Cert, SmtpServer, free_port
from itsmcore import Link, Message, PermanentFailure, TemporaryFailure
from itsmcore.testing import ChannelContract, check_component_record, context_for, sample_customer

from itsm_email.channel import EmailChannel, email_channel_component
from itsm_email.settings import EmailSettings


def make_channel(tmp_path: Path, server: SmtpServer | None, **changes: object) -> EmailChannel:
    base: dict[str, object] = {
        "host": "127.0.0.1",
        "port": server.port if server else free_port(),
        "security": "none",
        "from_address": "support@eagle5.example",
        "reply_to": "support+{token}@eagle5.example",
        "timeout": 3.0,
    }
    return EmailChannel(EmailSettings(**(base | changes)), context_for(tmp_path))  # type: ignore[arg-type]


def message(**changes: object) -> Message:
    base: dict[str, object] = {
        "recipient": sample_customer(),
        "subject": "We have your request #42",
        "body": "Thanks, we have your request for <Expensatron> & co (#42).",
        "demand_id": 42,
        "reply_token": "#42",
        "purpose": "acknowledgement",
        "idempotency_key": "test:demand:42:acknowledgement",
        "links": (Link(title="Quick start", url="https://apps.example/start?a=1&b=<2>"),),
    }
    return Message(**(base | changes))  # type: ignore[arg-type]


class TestEmailChannelContract(ChannelContract):
    @pytest.fixture
    def channel(self, tmp_path: Path, smtp: SmtpServer) -> EmailChannel:
        return make_channel(tmp_path, smtp)

    def test_record(self) -> None:
        check_component_record(email_channel_component())


def test_headers_and_multipart(tmp_path: Path, smtp: SmtpServer) -> None:
    chan = make_channel(tmp_path, smtp, from_name="Eagle5 IT")
    delivery = chan.send(message())
    assert delivery.address == "steve@eagle5.example"
    [got] = smtp.received
    assert got.mail_from == "support@eagle5.example" and got.rcpt_tos == ["steve@eagle5.example"]
    msg = got.message()
    assert msg["Message-ID"] == delivery.reference
    assert msg["Auto-Submitted"] == "auto-generated"
    assert msg["Subject"] == "We have your request #42 [#42]"
    assert str(msg["From"]) == "Eagle5 IT <support@eagle5.example>"
    assert chan.demand_of_message_id(delivery.reference) == 42
    reply_to = str(msg["Reply-To"])
    assert reply_to.startswith("support+42-") and reply_to.endswith("@eagle5.example")
    token = reply_to.split("+", 1)[1].split("@")[0]
    assert chan.demand_of_token(token) == 42
    assert chan.demand_of_token(token[:-1] + ("x" if token[-1] != "x" else "y")) is None, "forged token accepted"
    assert msg.get_content_type() == "multipart/alternative"
    text = msg.get_body(preferencelist=("plain",)).get_content()
    html = msg.get_body(preferencelist=("html",)).get_content()
    assert "<Expensatron> & co" in text and "https://apps.example/start?a=1&b=<2>" in text
    assert "&lt;Expensatron&gt; &amp; co" in html and "<Expensatron>" not in html
    assert 'href="https://apps.example/start?a=1&amp;b=&lt;2&gt;"' in html
    assert msg["References"] and msg["In-Reply-To"]


def test_message_id_is_stable_across_retries(tmp_path: Path, smtp: SmtpServer) -> None:
    chan = make_channel(tmp_path, smtp)
    first = chan.send(message())
    second = chan.send(message())
    third = chan.send(message(idempotency_key="test:demand:42:other"))
    assert first.reference == second.reference != third.reference


def test_unicode_subject_and_name_are_encoded(tmp_path: Path, smtp: SmtpServer) -> None:
    chan = make_channel(tmp_path, smtp)
    chan.send(message(subject="Ihre Anfrage für Expensatron ✓", recipient=sample_customer(name="Jürgen Groß")))
    msg = smtp.received[0].message()
    assert msg["Subject"].startswith("Ihre Anfrage für Expensatron ✓")
    assert msg["To"].addresses[0].display_name == "Jürgen Groß"
    assert all(b < 128 for b in smtp.received[0].data), "headers and bodies must be 7-bit encoded on the wire"


def test_starttls_with_auth(tmp_path: Path, smtp_factory: Callable[..., SmtpServer], tls_cert: Cert,
                            monkeypatch: pytest.MonkeyPatch) -> None:  # fmt: skip
    server = smtp_factory(security="starttls", auth=True)
    monkeypatch.setenv("TEST_SMTP_PASSWORD", SMTP_PASSWORD)
    chan = make_channel(
        tmp_path, server, security="starttls", username=SMTP_USER, password_env="TEST_SMTP_PASSWORD",
        ca_file=str(tls_cert.cert),
    )  # fmt: skip
    chan.send(message())
    assert server.received[0].login == SMTP_USER


def test_implicit_tls_with_password_file(
    tmp_path: Path, smtp_factory: Callable[..., SmtpServer], tls_cert: Cert
) -> None:
    server = smtp_factory(security="tls", auth=True)
    (tmp_path / "smtp.pass").write_text(SMTP_PASSWORD + "\n")
    chan = make_channel(
        tmp_path, server, security="tls", username=SMTP_USER, password_file="smtp.pass", ca_file=str(tls_cert.cert)
    )
    chan.send(message())
    assert server.received[0].login == SMTP_USER


def test_untrusted_certificate_is_permanent(tmp_path: Path, smtp_factory: Callable[..., SmtpServer]) -> None:
    server = smtp_factory(security="starttls")
    with pytest.raises(PermanentFailure, match=r"TLS|certificate"):
        make_channel(tmp_path, server, security="starttls").send(message())
    assert not server.received


def test_wrong_password_is_permanent(tmp_path: Path, smtp_factory: Callable[..., SmtpServer],
                                     monkeypatch: pytest.MonkeyPatch) -> None:  # fmt: skip
    server = smtp_factory(auth=True)
    monkeypatch.setenv("TEST_SMTP_PASSWORD", "wrong")
    chan = make_channel(tmp_path, server, username=SMTP_USER, password_env="TEST_SMTP_PASSWORD")
    with pytest.raises(PermanentFailure, match="535"):
        chan.send(message())
    assert not server.received


def test_rejected_recipient_is_permanent(tmp_path: Path, smtp: SmtpServer) -> None:
    smtp.rejects["steve@eagle5.example"] = "550 5.1.1 No such user"
    with pytest.raises(PermanentFailure, match="550"):
        make_channel(tmp_path, smtp).send(message())


def test_deferred_recipient_is_temporary(tmp_path: Path, smtp: SmtpServer) -> None:
    smtp.rejects["steve@eagle5.example"] = "450 4.2.1 Mailbox busy, try later"
    with pytest.raises(TemporaryFailure, match="450"):
        make_channel(tmp_path, smtp).send(message())


def test_connection_refused_is_temporary(tmp_path: Path) -> None:
    with pytest.raises(TemporaryFailure, match="unreachable"):
        make_channel(tmp_path, None).send(message())


def test_silent_server_times_out_temporarily(tmp_path: Path) -> None:
    with socket.socket() as listener:  # accepts TCP, never greets
        listener.bind(("127.0.0.1", 0))
        listener.listen(1)
        port = listener.getsockname()[1]
        chan = EmailChannel(
            EmailSettings(host="127.0.0.1", port=port, security="none", from_address="support@eagle5.example",
                          timeout=0.5),
            context_for(tmp_path),
        )  # fmt: skip
        with pytest.raises(TemporaryFailure):
            chan.send(message())


def test_unreachable_customer(tmp_path: Path) -> None:
    chan = make_channel(tmp_path, None)
    assert chan.address_for(itsmcore.Customer(id="x", name="X")) is None
    assert chan.address_for(itsmcore.Customer(id="x", name="X", email="not an address")) is None


def test_settings_validation() -> None:
    with pytest.raises(ValueError, match="security"):
        EmailSettings(from_address="a@b.example", security="ssl")
    with pytest.raises(ValueError, match="token"):
        EmailSettings(from_address="a@b.example", reply_to="support@b.example")
    with pytest.raises(ValueError, match="from_address"):
        EmailSettings(from_address="support")
    assert EmailSettings(from_address="a@b.example", security="tls").smtp_port == 465
