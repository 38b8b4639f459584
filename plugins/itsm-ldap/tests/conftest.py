"""A real OpenLDAP slapd holding Eagle5's directory, started on 127.0.0.1 for the tests.

The base structure is loaded offline with slapadd; people and groups are then added
over LDAP as the root DN, so the memberof overlay maintains memberOf as it would in
production. A small schema lends OpenLDAP Active Directory's account attributes
(sAMAccountName, userPrincipalName, userAccountControl, department) *with* equality
matching rules, as an auxiliary class. TLS uses a self-signed certificate made with
the openssl command for 127.0.0.1.
"""

from __future__ import annotations

import base64
import hashlib
import os
import shutil
import signal
import socket
import subprocess
import textwrap
import time
from collections.abc import Callable, Iterator
from importlib import metadata
from pathlib import Path
from typing import Any

import pytest

pytest_plugins = ["itsmcore.testing"]

SUFFIX = "dc=eagle5,dc=example"
ROOT_DN = f"cn=admin,{SUFFIX}"
ROOT_PASSWORD = "root-secret-for-tests"
SERVICE_DN = f"cn=itsm,ou=services,{SUFFIX}"
SERVICE_PASSWORD = "service-account-secret"
SERVICE_PASSWORD_ENV = "ITSM_LDAP_TEST_BIND_PASSWORD"
PEOPLE = f"ou=people,{SUFFIX}"
GROUPS = f"ou=groups,{SUFFIX}"
DEVICES = f"ou=devices,{SUFFIX}"

PASSWORDS = {
    "steve": "Expenses-on-the-go-9",
    "scott": "Manager-of-sales-4",
    "dana": "Disabled-but-right-7",
    "ivan": "It-helpdesk-2",
}

SCHEMA = """\
# Active Directory's account attributes (AD's own OIDs) with matching rules OpenLDAP can use.
attributetype ( 1.2.840.113556.1.4.221 NAME 'sAMAccountName'
    EQUALITY caseIgnoreMatch SUBSTR caseIgnoreSubstringsMatch
    SYNTAX 1.3.6.1.4.1.1466.115.121.1.15 SINGLE-VALUE )
attributetype ( 1.2.840.113556.1.4.656 NAME 'userPrincipalName'
    EQUALITY caseIgnoreMatch SUBSTR caseIgnoreSubstringsMatch
    SYNTAX 1.3.6.1.4.1.1466.115.121.1.15 SINGLE-VALUE )
attributetype ( 1.2.840.113556.1.4.8 NAME 'userAccountControl'
    EQUALITY integerMatch
    SYNTAX 1.3.6.1.4.1.1466.115.121.1.27 SINGLE-VALUE )
attributetype ( 1.2.840.113556.1.2.141 NAME 'department'
    EQUALITY caseIgnoreMatch SUBSTR caseIgnoreSubstringsMatch
    SYNTAX 1.3.6.1.4.1.1466.115.121.1.15 SINGLE-VALUE )
objectclass ( 1.3.6.1.4.1.32473.1.2.1 NAME 'eagle5Account' SUP top AUXILIARY
    MAY ( sAMAccountName $ userPrincipalName $ userAccountControl $ department ) )
"""

CONFIG = """\
include /etc/ldap/schema/core.schema
include /etc/ldap/schema/cosine.schema
include /etc/ldap/schema/inetorgperson.schema
include /etc/ldap/schema/nis.schema
include {dir}/eagle5.schema

pidfile {dir}/slapd.pid
argsfile {dir}/slapd.args
modulepath /usr/lib/ldap
moduleload back_mdb
moduleload memberof

TLSCertificateFile {dir}/cert.pem
TLSCertificateKeyFile {dir}/key.pem

# Like many servers in the field, accept "DN with no password" as an anonymous bind: the backend must refuse it.
allow bind_anon_dn

access to dn.base="" by * read
access to dn.base="cn=Subschema" by * read

database mdb
suffix "{suffix}"
rootdn "{rootdn}"
rootpw {rootpw}
directory {dir}/db
maxsize 33554432
index objectClass eq
index uid,mail,sAMAccountName,userPrincipalName eq
index member eq

overlay memberof

access to attrs=userPassword
    by anonymous auth
    by self write
    by * none
access to *
    by dn.exact="{service}" read
    by self read
    by * none
"""


def ssha(password: str) -> str:
    salt = os.urandom(8)
    digest = hashlib.sha1(password.encode() + salt).digest()
    return "{SSHA}" + base64.b64encode(digest + salt).decode()


SEED = f"""\
dn: {SUFFIX}
objectClass: dcObject
objectClass: organization
dc: eagle5
o: Eagle5

dn: {PEOPLE}
objectClass: organizationalUnit
ou: people

dn: {GROUPS}
objectClass: organizationalUnit
ou: groups

dn: {DEVICES}
objectClass: organizationalUnit
ou: devices

dn: ou=services,{SUFFIX}
objectClass: organizationalUnit
ou: services

dn: {SERVICE_DN}
objectClass: organizationalRole
objectClass: simpleSecurityObject
cn: itsm
userPassword: {{password}}
"""


def person(uid: str, **attrs: Any) -> tuple[str, list[str], dict[str, Any]]:
    values = {"uid": uid, "userPassword": ssha(PASSWORDS[uid]), **attrs}
    return f"uid={uid},{PEOPLE}", ["inetOrgPerson", "eagle5Account"], values


def group(cn: str, *members: str) -> tuple[str, list[str], dict[str, Any]]:
    return f"cn={cn},{GROUPS}", ["groupOfNames"], {"cn": cn, "member": list(members)}


def dn_of(uid: str) -> str:
    return f"uid={uid},{PEOPLE}"


def gdn(cn: str) -> str:
    return f"cn={cn},{GROUPS}"


ENTRIES = [
    person(
        "scott",
        cn="Scott Miller",
        sn="Miller",
        displayName="Scott Miller",
        mail="scott@eagle5.example",
        title="sales_manager",
        department="Sales",
        sAMAccountName="smiller",
        userPrincipalName="smiller@corp.eagle5.example",
        userAccountControl="512",
        employeeNumber="1000",
    ),
    person(
        "steve",
        cn="Steve Jones",
        sn="Jones",
        displayName="Steve Jones",
        mail="steve@eagle5.example",
        mobile="+447700900123",
        title="sales",
        department="Sales",
        manager=dn_of("scott"),
        sAMAccountName="sjones",
        userPrincipalName="sjones@corp.eagle5.example",
        userAccountControl="512",
        employeeNumber="1001",
    ),
    person(
        "dana",
        cn="Dana Left",
        sn="Left",
        mail="dana@eagle5.example",
        title="sales",
        department="Sales",
        manager=dn_of("scott"),
        sAMAccountName="dleft",
        userPrincipalName="dleft@corp.eagle5.example",
        userAccountControl="514",  # NORMAL_ACCOUNT | ACCOUNTDISABLE
    ),
    person(
        "ivan",
        cn="Ivan Petrov",
        sn="Petrov",
        mail="ivan@eagle5.example",
        departmentNumber="IT",
        title="engineer",
        sAMAccountName="ipetrov",
        userPrincipalName="ipetrov@corp.eagle5.example",
        userAccountControl="66048",  # NORMAL_ACCOUNT | DONT_EXPIRE_PASSWORD
    ),
    group("sales", dn_of("steve"), dn_of("dana")),
    group("managers", dn_of("scott")),
    group("commercial", gdn("sales"), gdn("managers")),
    group("it", dn_of("ivan")),
    group("everyone", gdn("commercial"), gdn("it")),
    # a cycle: loop-a contains loop-b contains loop-a
    group("loop-b", dn_of("ivan")),
    group("loop-a", gdn("loop-b")),
    (
        f"cn=ci-phone-steve,{DEVICES}",
        ["device"],
        {"cn": "ci-phone-steve", "description": "Steve's iPhone", "serialNumber": "F2LXK1", "owner": dn_of("steve")},
    ),
    (
        f"cn=ci-laptop-steve,{DEVICES}",
        ["device"],
        {"cn": "ci-laptop-steve", "serialNumber": "PF3A9", "owner": dn_of("steve")},
    ),
]
#: Added after ENTRIES: closes the loop (loop-b is a member of loop-a; now loop-a of loop-b too).
LATE_MEMBERS = [(gdn("loop-b"), gdn("loop-a"))]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_for_port(port: int, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.02)
    raise RuntimeError(f"slapd did not listen on 127.0.0.1:{port} within {timeout} s")


def need_binaries(*names: str) -> None:
    missing = [n for n in names if shutil.which(n) is None and not Path("/usr/sbin", n).exists()]
    if not missing:
        return
    reason = (
        f"{', '.join(missing)} not installed: apt-get install -y --no-install-recommends slapd ldap-utils openssl "
        "(with `echo 'slapd slapd/no_configuration boolean true' | debconf-set-selections` first)"
    )
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(reason)
    pytest.skip(reason)


def binary(name: str) -> str:
    return shutil.which(name) or str(Path("/usr/sbin", name))


class Slapd:
    """One throwaway slapd: config, certificate and data in ``root``, listening on ldap:// and ldaps://."""

    def __init__(self, root: Path):
        self.root = root
        self.port = free_port()
        self.tls_port = free_port()
        self.proc: subprocess.Popen[bytes] | None = None
        self.conf = root / "slapd.conf"
        self.cert = root / "cert.pem"

    @property
    def url(self) -> str:
        return f"ldap://127.0.0.1:{self.port}"

    @property
    def ldaps_url(self) -> str:
        return f"ldaps://127.0.0.1:{self.tls_port}"

    def create(self) -> None:
        self.root.mkdir(parents=True, exist_ok=True)
        (self.root / "db").mkdir()
        subprocess.run(
            [
                "openssl",
                "req",
                "-x509",
                "-newkey",
                "rsa:2048",
                "-nodes",
                "-days",
                "2",
                "-subj",
                "/CN=127.0.0.1",
                "-addext",
                "subjectAltName=IP:127.0.0.1,DNS:localhost",
                "-keyout",
                str(self.root / "key.pem"),
                "-out",
                str(self.cert),
            ],
            check=True,
            capture_output=True,
        )
        (self.root / "eagle5.schema").write_text(SCHEMA, encoding="utf-8")
        self.conf.write_text(
            CONFIG.format(dir=self.root, suffix=SUFFIX, rootdn=ROOT_DN, rootpw=ROOT_PASSWORD, service=SERVICE_DN),
            encoding="utf-8",
        )
        seed = self.root / "seed.ldif"
        seed.write_text(SEED.format(password=ssha(SERVICE_PASSWORD)), encoding="utf-8")
        done = subprocess.run(
            [binary("slapadd"), "-q", "-f", str(self.conf), "-l", str(seed)], capture_output=True, text=True
        )
        if done.returncode != 0:
            raise RuntimeError(f"slapadd failed: {done.stderr}")

    def start(self) -> None:
        urls = f"{self.url}/ {self.ldaps_url}/"
        self.proc = subprocess.Popen(
            [binary("slapd"), "-d", "0", "-f", str(self.conf), "-h", urls],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        try:
            wait_for_port(self.port)
            wait_for_port(self.tls_port)
        except RuntimeError:
            self.stop()
            raise

    def stop(self) -> None:
        if self.proc is None:
            return
        self.proc.send_signal(signal.SIGINT)
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        if self.proc.stderr:
            self.proc.stderr.close()
        self.proc = None

    def populate(self) -> None:
        import ldap3

        conn = ldap3.Connection(
            ldap3.Server("127.0.0.1", port=self.port), user=ROOT_DN, password=ROOT_PASSWORD, auto_bind=True
        )
        try:
            for dn, classes, values in ENTRIES:
                if not conn.add(dn, classes, values):
                    raise RuntimeError(f"adding {dn} failed: {conn.result}")
            for group_dn, member in LATE_MEMBERS:
                if not conn.modify(group_dn, {"member": [(ldap3.MODIFY_ADD, [member])]}):
                    raise RuntimeError(f"adding {member} to {group_dn} failed: {conn.result}")
        finally:
            conn.unbind()


def make_slapd(root: Path) -> Slapd:
    need_binaries("slapd", "slapadd", "openssl")
    server = Slapd(root)
    server.create()
    server.start()
    server.populate()
    return server


@pytest.fixture(scope="session")
def slapd(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Slapd]:
    """Eagle5's directory on a real slapd for the whole session."""
    server = make_slapd(tmp_path_factory.mktemp("slapd"))
    yield server
    server.stop()


@pytest.fixture
def own_slapd(tmp_path: Path) -> Iterator[Slapd]:
    """A slapd of the test's own, which the test may stop and start again."""
    server = make_slapd(tmp_path / "slapd")
    yield server
    server.stop()


@pytest.fixture(autouse=True)
def _service_password(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(SERVICE_PASSWORD_ENV, SERVICE_PASSWORD)


def settings_table(server: Slapd, **changes: Any) -> dict[str, Any]:
    """The config table of ``[directory.corp]`` for ``server`` (what an integrator writes), with changes."""
    table: dict[str, Any] = {
        "url": server.url,
        "bind_dn": SERVICE_DN,
        "bind_password_env": SERVICE_PASSWORD_ENV,
        "base_dn": PEOPLE,
        "group_base_dn": GROUPS,
        "login_attributes": ["uid", "mail", "sAMAccountName", "userPrincipalName"],
        "extra_attributes": {"employee_number": "employeeNumber", "upn": "userPrincipalName"},
        "connect_timeout": 3,
        "receive_timeout": 5,
        "devices": {"base_dn": DEVICES, "attributes": {"serial": "serialNumber"}},
    }
    table.update(changes)
    return {k: v for k, v in table.items() if v is not None}


@pytest.fixture
def make_directory(tmp_path: Path) -> Iterator[Callable[..., Any]]:
    """Build an LdapDirectory the way a deployment does: config table -> settings (cattrs) -> factory."""
    from itsmcore.config import CONVERTER
    from itsmcore.testing import context_for

    from itsm_ldap.plugin import ldap_directory_component

    built: list[Any] = []

    def make(server: Slapd, **changes: Any) -> Any:
        record = ldap_directory_component()
        settings = CONVERTER.structure(settings_table(server, **changes), record.settings)
        directory = record.factory(settings, context_for(tmp_path, "corp"))
        built.append(directory)
        return directory

    yield make
    for directory in built:
        directory.close()


def toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, list):
        return "[" + ", ".join(toml_value(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{ " + ", ".join(f"{k} = {toml_value(v)}" for k, v in value.items()) + " }"
    raise TypeError(value)


@pytest.fixture
def write_deployment(tmp_path: Path, itsm_database_url: str) -> Callable[..., Path]:
    """Write itsm.toml for a deployment whose only directory is ``[directory.corp] use = "ldap"``."""

    def write(server: Slapd | None = None, services: str = "", **changes: Any) -> Path:
        table = settings_table(server, **changes) if server is not None else changes
        lines = [f"{k} = {toml_value(v)}" for k, v in table.items()]
        config = tmp_path / "itsm.toml"
        # Only this plugin (and the builtins): other installed plugins must not decide these tests.
        others = sorted({ep.name for ep in metadata.entry_points(group="itsm")} - {"ldap"})
        head = textwrap.dedent(
            f"""\
            [deployment]
            name = "Eagle5 LDAP"
            database = "{itsm_database_url}"

            [plugins]
            disable = {toml_value(others)}

            [directory.corp]
            use = "ldap"
            """
        )
        config.write_text(head + "\n".join(lines) + "\n\n" + textwrap.dedent(services), encoding="utf-8")
        return config

    return write
