"""Real servers for the email plugin's tests: aiosmtpd in-process and a throwaway Dovecot IMAP server."""

from __future__ import annotations

import datetime as dt
import ipaddress
import json
import os
import shutil
import signal
import socket
import ssl
import subprocess
import tempfile
import textwrap
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import attrs
import pytest

pytest_plugins = ["itsmcore.testing"]


def pytest_configure(config: pytest.Config) -> None:
    # imported here, not above: pytest rewrites the kit's asserts once it has registered it
    from itsmcore.testing.profiles import use_hypothesis_profiles

    use_hypothesis_profiles()  # the property tests' profiles (HYPOTHESIS_PROFILE=fuzz for tox -e fuzz)


IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")
CORPUS = Path(__file__).parent / "corpus"
SMTP_USER = "itsm-mailer"
SMTP_PASSWORD = "s3cret-for-tests-only"
IMAP_USER = "support"
IMAP_PASSWORD = "imap-pass-for-tests"


def missing(reason: str) -> None:
    """Skip on a laptop; fail in CI, where everything must be installed."""
    if IN_CI:
        pytest.fail(f"CI=true but {reason}; .ci/run must install it")
    pytest.skip(reason)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


# --------------------------------------------------------------------------- TLS


@attrs.frozen
class Cert:
    cert: Path
    key: Path

    def server_context(self) -> ssl.SSLContext:
        ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        ctx.load_cert_chain(self.cert, self.key)
        return ctx


@pytest.fixture(scope="session")
def tls_cert(tmp_path_factory: pytest.TempPathFactory) -> Cert:
    """A self-signed certificate for 127.0.0.1 and localhost, made with `cryptography`."""
    try:
        from cryptography import x509
        from cryptography.hazmat.primitives import hashes, serialization
        from cryptography.hazmat.primitives.asymmetric import ec
        from cryptography.x509.oid import NameOID
    except ImportError:
        missing("the 'cryptography' package is not installed (pip install itsm-email[test])")
        raise
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1")), x509.DNSName("localhost")]),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    d = tmp_path_factory.mktemp("tls")
    (d / "cert.pem").write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    (d / "key.pem").write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    return Cert(cert=d / "cert.pem", key=d / "key.pem")


# --------------------------------------------------------------------------- SMTP (aiosmtpd)


@attrs.define
class Received:
    mail_from: str
    rcpt_tos: list[str]
    data: bytes
    login: str | None

    def message(self) -> Any:
        from email import message_from_bytes, policy

        return message_from_bytes(self.data, policy=policy.default)


@attrs.define
class SmtpServer:
    host: str
    port: int
    received: list[Received]
    rejects: dict[str, str]
    controller: Any


class _Handler:
    def __init__(self, received: list[Received], rejects: dict[str, str]):
        self.received = received
        self.rejects = rejects

    async def handle_RCPT(self, server: Any, session: Any, envelope: Any, address: str, rcpt_options: Any) -> str:
        if address in self.rejects:
            return self.rejects[address]
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        data = session.auth_data if session.authenticated else None
        login = data.decode() if isinstance(data, bytes) else data
        self.received.append(
            Received(
                mail_from=envelope.mail_from,
                rcpt_tos=list(envelope.rcpt_tos),
                data=bytes(envelope.original_content or envelope.content),
                login=login,
            )
        )
        return "250 Message accepted for delivery"


def _authenticator(server: Any, session: Any, envelope: Any, mechanism: str, auth_data: Any) -> Any:
    from aiosmtpd.smtp import AuthResult, LoginPassword

    if (
        isinstance(auth_data, LoginPassword)
        and auth_data.login == SMTP_USER.encode()
        and auth_data.password == SMTP_PASSWORD.encode()
    ):
        return AuthResult(success=True, auth_data=auth_data.login)
    return AuthResult(success=False, handled=False)


@pytest.fixture
def smtp_factory(tls_cert: Cert) -> Iterator[Callable[..., SmtpServer]]:
    """Start aiosmtpd on 127.0.0.1: ``smtp_factory(security="none"|"starttls"|"tls", auth=False)``."""
    try:
        from aiosmtpd.controller import Controller
    except ImportError:
        missing("aiosmtpd is not installed (pip install itsm-email[test])")
        raise
    started: list[Any] = []

    def start(security: str = "none", auth: bool = False) -> SmtpServer:
        received: list[Received] = []
        rejects: dict[str, str] = {}
        port = free_port()
        kwargs: dict[str, Any] = {"hostname": "127.0.0.1", "port": port}
        if auth:
            kwargs.update(authenticator=_authenticator, auth_require_tls=security == "starttls")
        if security == "starttls":
            kwargs.update(tls_context=tls_cert.server_context(), require_starttls=True)
        elif security == "tls":
            kwargs.update(ssl_context=tls_cert.server_context())
        controller = Controller(_Handler(received, rejects), **kwargs)
        controller.start()
        started.append(controller)
        return SmtpServer(host="127.0.0.1", port=port, received=received, rejects=rejects, controller=controller)

    yield start
    for c in started:
        c.stop()


@pytest.fixture
def smtp(smtp_factory: Callable[..., SmtpServer]) -> SmtpServer:
    """A plain SMTP server without AUTH (the simplest relay)."""
    return smtp_factory()


# --------------------------------------------------------------------------- IMAP (Dovecot)


@attrs.define
class ImapServer:
    host: str
    port: int
    user: str
    password: str


DOVECOT_CONF = """\
protocols = imap
listen = 127.0.0.1
base_dir = {root}/run
state_dir = {root}/state
instance_name = itsm-test-{port}
log_path = {root}/dovecot.log
ssl = no
disable_plaintext_auth = no
auth_failure_delay = 0
first_valid_uid = 1
first_valid_gid = 1
auth_mechanisms = plain login
mail_location = maildir:{root}/mail/%u
default_internal_user = dovecot
default_login_user = dovenull
passdb {{
  driver = passwd-file
  args = scheme=PLAIN username_format=%u {root}/passwd
}}
userdb {{
  driver = static
  args = uid=dovecot gid=dovecot home={root}/mail/%u
}}
service imap-login {{
  inet_listener imap {{
    address = 127.0.0.1
    port = {port}
  }}
  inet_listener imaps {{
    port = 0
  }}
}}
"""


def _wait_for_mailbox(port: int, deadline: float, root: Path) -> None:
    """The port opens before the auth process is ready: wait until a login can open and write the INBOX."""
    import imaplib

    while True:
        try:
            conn = imaplib.IMAP4("127.0.0.1", port, timeout=2)
            try:
                conn.login(IMAP_USER, IMAP_PASSWORD)
                typ, _ = conn.select("INBOX")
                if typ == "OK":
                    return
            finally:
                conn.shutdown()
        except (OSError, imaplib.IMAP4.error):
            pass
        if time.monotonic() > deadline:
            log = (root / "dovecot.log").read_text() if (root / "dovecot.log").exists() else ""
            pytest.fail(f"dovecot started but the mailbox cannot be opened:\n{log}")
        time.sleep(0.05)


@pytest.fixture
def dovecot() -> Iterator[ImapServer]:
    """A throwaway Dovecot with one mailbox (user ``support``), listening on 127.0.0.1."""
    binary = shutil.which("dovecot") or ("/usr/sbin/dovecot" if Path("/usr/sbin/dovecot").exists() else None)
    if binary is None:
        missing("dovecot is not installed (apt-get install dovecot-imapd)")
    # Not under pytest's temp root: the dovecot user must traverse every parent, and pytest sets
    # its root back to 0700 whenever another pytest session of the same user starts.
    root = Path(tempfile.mkdtemp(prefix="itsm-dovecot-"))
    root.chmod(0o711)
    for sub in ("run", "state", "mail"):
        (root / sub).mkdir(parents=True)
    shutil.chown(root / "mail", "dovecot", "dovecot")
    (root / "passwd").write_text(f"{IMAP_USER}:{{PLAIN}}{IMAP_PASSWORD}\n")
    port = free_port()
    conf = root / "dovecot.conf"
    conf.write_text(DOVECOT_CONF.format(root=root, port=port))
    proc = subprocess.Popen([str(binary), "-F", "-c", str(conf)], stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 60  # generous: on a loaded machine its auth service starts late
    while True:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                break
        except OSError:
            if proc.poll() is not None or time.monotonic() > deadline:
                out = proc.stdout.read().decode() if proc.stdout and proc.poll() is not None else ""
                log = (root / "dovecot.log").read_text() if (root / "dovecot.log").exists() else ""
                proc.kill()
                pytest.fail(f"dovecot did not start: {out}\n{log}")
            time.sleep(0.05)
    _wait_for_mailbox(port, deadline, root)
    yield ImapServer(host="127.0.0.1", port=port, user=IMAP_USER, password=IMAP_PASSWORD)
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
    if proc.stdout:
        proc.stdout.close()
    shutil.rmtree(root, ignore_errors=True)


# --------------------------------------------------------------------------- deployments


CUSTOMERS_WITH_EMAIL = """\
[[customers]]
id = "steve"
name = "Steve Jones"
email = "steve@eagle5.example"
mobile = "+447700900123"
role = "sales"
department = "Sales"
groups = ["sales"]
manager = "scott"
preferred_channels = ["email"]

[[customers]]
id = "scott"
name = "Scott Miller"
email = "scott@eagle5.example"
role = "sales_manager"
department = "Sales"
groups = ["sales", "managers"]
"""

SERVICES = """
[[services]]
key = "expensatron"
name = "Expensatron expenses app"
kind = "value"
description = "Submit expenses and receipts from your phone."
keywords = ["expenses", "receipts", "expensatron"]
"""


def only_this_plugin() -> str:
    """A [plugins] table disabling every other installed entry-point plugin, so these tests see only ours."""
    from importlib.metadata import entry_points

    others = sorted({ep.name for ep in entry_points(group="itsm")} - {"email"})
    return f"\n[plugins]\ndisable = {json.dumps(others)}\n" if others else ""


def email_table(smtp: SmtpServer | None = None, **extra: Any) -> str:
    """A ``[channels.email]`` table pointing at ``smtp`` (or at a closed port)."""
    settings: dict[str, Any] = {
        "use": "email",
        "host": "127.0.0.1",
        "port": smtp.port if smtp else free_port(),
        "security": "none",
        "from_address": "support@eagle5.example",
        "from_name": "Eagle5 IT",
        "reply_to": "support+{token}@eagle5.example",
        "timeout": 5.0,
    }
    settings.update(extra)
    lines = ["", "[channels.email]"] + [f"{k} = {json.dumps(v)}" for k, v in settings.items()]
    return "\n".join(lines) + "\n"


@pytest.fixture
def deployment(itsm_deployment_factory: Callable[..., Path]) -> Callable[..., Path]:
    """``deployment(smtp=None, preferred=True, **email_settings)``: a config with an email channel."""

    def make(smtp: SmtpServer | None = None, *, preferred: bool = True, services: str = SERVICES, **kw: Any) -> Path:
        config = itsm_deployment_factory(only_this_plugin() + textwrap.dedent(services) + email_table(smtp, **kw))
        if preferred:
            (config.parent / "customers.toml").write_text(CUSTOMERS_WITH_EMAIL, encoding="utf-8")
        return config

    return make


@pytest.fixture(autouse=True)
def _test_secret(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ITSM_SECRET", "test-secret-not-for-production")
