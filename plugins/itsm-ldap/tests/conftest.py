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
import threading
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
# objectCategory holds a DN as on AD: "(objectCategory=person)" is AD's shorthand, which OpenLDAP cannot match.
attributetype ( 1.2.840.113556.1.4.782 NAME 'objectCategory'
    EQUALITY distinguishedNameMatch
    SYNTAX 1.3.6.1.4.1.1466.115.121.1.12 SINGLE-VALUE )
attributetype ( 1.2.840.113556.1.4.771 NAME 'servicePrincipalName'
    EQUALITY caseIgnoreMatch SUBSTR caseIgnoreSubstringsMatch
    SYNTAX 1.3.6.1.4.1.1466.115.121.1.15 )
objectclass ( 1.3.6.1.4.1.32473.1.2.2 NAME 'user' SUP top AUXILIARY
    MAY ( objectCategory $ servicePrincipalName ) )
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
{limits}
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
            CONFIG.format(
                dir=self.root, suffix=SUFFIX, rootdn=ROOT_DN, rootpw=ROOT_PASSWORD, service=SERVICE_DN, limits=""
            ),
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

    def make(server: Slapd, replace: dict[str, Any] | None = None, **changes: Any) -> Any:
        record = ldap_directory_component()
        table = replace if replace is not None else settings_table(server, **changes)
        settings = CONVERTER.structure(table, record.settings)
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


# ---------------------------------------------------------------------------- an Active Directory-shaped server

AD_SUFFIX = "DC=corp,DC=eagle5,DC=example"
AD_STAFF = f"OU=Staff,{AD_SUFFIX}"
AD_CONTRACTORS = f"OU=Contractors,{AD_SUFFIX}"
AD_GROUPS = f"OU=Groups,{AD_SUFFIX}"
AD_SERVICE_DN = f"CN=svc-itsm,OU=Service Accounts,{AD_SUFFIX}"
AD_REFERRAL = f"OU=Elsewhere,{AD_SUFFIX}"
AD_PERSON = f"CN=Person,CN=Schema,CN=Configuration,{AD_SUFFIX}"
AD_BULK_USERS = 2500
AD_HOARDED_GROUPS = 5000
AD_PAGE_LIMIT = 1000  # like AD's MaxPageSize: a bigger page is refused with adminLimitExceeded
AD_PASSWORDS = {
    "sjones": "Expenses-on-the-go-9",
    "smiller": "Manager-of-sales-4",
    "dleft": "Disabled-but-right-7",
    "alee": "Comma-in-my-name-3",
    "jnunez": "Acentos-y-eñes-8",
    "svc-itsm": SERVICE_PASSWORD,
}


def _ldif_line(name: str, value: str) -> str:
    """One LDIF line; values that are not plain ASCII are base64, as LDIF requires."""
    if value.isascii() and value == value.strip() and not value.startswith((":", "<")):
        return f"{name}: {value}"
    return f"{name}:: {base64.b64encode(value.encode()).decode()}"


def _ldif(dn: str, values: dict[str, Any]) -> str:
    lines = [_ldif_line("dn", dn)]
    for name, value in values.items():
        for v in value if isinstance(value, list) else [value]:
            lines.append(_ldif_line(name, str(v)))
    return "\n".join(lines) + "\n"


def ad_user(rdn: str, ou: str, sam: str, **values: Any) -> tuple[str, dict[str, Any]]:
    dn = f"CN={rdn},{ou}"
    entry: dict[str, Any] = {
        "objectClass": ["inetOrgPerson", "eagle5Account", "user"],
        "cn": values.pop("cn", rdn),
        "sn": values.pop("sn", rdn.split()[-1]),
        "sAMAccountName": sam,
        "userPrincipalName": f"{sam}@corp.eagle5.example",
        "userAccountControl": values.pop("userAccountControl", "512"),
        "objectCategory": AD_PERSON,
    }
    if sam in AD_PASSWORDS:
        entry["userPassword"] = ssha(AD_PASSWORDS[sam])
    entry.update(values)
    return dn, entry


def ad_entries(port: int) -> list[tuple[str, dict[str, Any]]]:
    """The AD-shaped tree: two OU trees of people, groups (nested), a service account, 2,500 more users,
    one account in 5,000 groups, and an OU that refers to itself (a referral loop)."""
    ou = ["objectClass", "organizationalUnit"]
    out: list[tuple[str, dict[str, Any]]] = [
        (AD_SUFFIX, {"objectClass": ["dcObject", "organization"], "dc": "corp", "o": "Eagle5 Corp"}),
    ]
    for name in ("Staff", "Contractors", "Groups", "Service Accounts"):
        out.append((f"OU={name},{AD_SUFFIX}", {ou[0]: ou[1], "ou": name}))
    out.append((f"OU=Bulk,{AD_STAFF}", {ou[0]: ou[1], "ou": "Bulk"}))
    out.append((f"OU=Many,{AD_GROUPS}", {ou[0]: ou[1], "ou": "Many"}))
    out.append(
        (
            AD_REFERRAL,
            {
                "objectClass": ["referral", "extensibleObject"],
                "ou": "Elsewhere",
                "ref": f"ldap://127.0.0.1:{port}/{AD_REFERRAL}",  # refers to itself
            },
        )
    )
    sales, managers, commercial = (f"CN={g},{AD_GROUPS}" for g in ("Sales", "Managers", "Commercial"))
    steve, scott = f"CN=Steve Jones,{AD_STAFF}", f"CN=Scott Miller,{AD_STAFF}"
    dana, ann = f"CN=Dana Left,{AD_STAFF}", f"CN=Lee\\, Ann,{AD_CONTRACTORS}"
    hoarder = f"CN=Hoarder,{AD_STAFF}"
    many = [f"CN=g{i:04d},OU=Many,{AD_GROUPS}" for i in range(AD_HOARDED_GROUPS)]
    everything = f"CN=Everything,{AD_GROUPS}"
    out += [
        ad_user(
            "Scott Miller",
            AD_STAFF,
            "smiller",
            displayName="Scott Miller",
            mail="scott@eagle5.example",
            title="sales_manager",
            memberOf=[managers],
        ),
        ad_user(
            "Steve Jones",
            AD_STAFF,
            "sjones",
            displayName="Steve Jones",
            mail="steve@eagle5.example",
            title="sales",
            manager=scott,
            memberOf=[sales],
        ),
        ad_user(
            "Dana Left",
            AD_STAFF,
            "dleft",
            mail="dana@eagle5.example",
            title="sales",
            manager=scott,
            userAccountControl="514",
            memberOf=[sales],
        ),
        ad_user("Lee\\, Ann", AD_CONTRACTORS, "alee", cn="Lee, Ann", sn="Lee", displayName="Ann Lee", memberOf=[sales]),
        ad_user("José Núñez", AD_CONTRACTORS, "jnunez", displayName="José Núñez", mail="jose@eagle5.example"),
        ad_user(
            "svc-itsm",
            f"OU=Service Accounts,{AD_SUFFIX}",
            "svc-itsm",
            sn="itsm",
            servicePrincipalName="HTTP/itsm.corp.eagle5.example",
            userAccountControl="66048",
        ),
        ad_user("Hoarder", AD_STAFF, "hoarder", memberOf=many),
        (sales, {"objectClass": "groupOfNames", "cn": "Sales", "member": [steve, dana, ann], "memberOf": commercial}),
        (managers, {"objectClass": "groupOfNames", "cn": "Managers", "member": scott, "memberOf": commercial}),
        (commercial, {"objectClass": "groupOfNames", "cn": "Commercial", "member": [sales, managers]}),
        (everything, {"objectClass": "groupOfNames", "cn": "Everything", "member": many}),
    ]
    out += [
        (dn, {"objectClass": "groupOfNames", "cn": f"g{i:04d}", "member": hoarder, "memberOf": everything})
        for i, dn in enumerate(many)
    ]
    out += [
        ad_user(f"User {i:04d}", f"OU=Bulk,{AD_STAFF}", f"user{i:04d}", mail=f"user{i:04d}@eagle5.example")
        for i in range(AD_BULK_USERS)
    ]
    return out


class AdSlapd(Slapd):
    """A slapd shaped like Active Directory: AD's attributes, a 1,000-entry page limit, loaded offline."""

    def create(self) -> None:
        self.root.mkdir(parents=True, exist_ok=True)
        (self.root / "db").mkdir()
        (self.root / "eagle5.schema").write_text(SCHEMA, encoding="utf-8")
        for name in ("cert.pem", "key.pem"):  # no TLS here: an empty pair keeps the shared config valid
            (self.root / name).write_text("", encoding="utf-8")
        config = CONFIG.format(
            dir=self.root,
            suffix=AD_SUFFIX,
            rootdn=f"CN=admin,{AD_SUFFIX}",
            rootpw=ROOT_PASSWORD,
            service=AD_SERVICE_DN,
            limits=f"limits * size.pr={AD_PAGE_LIMIT} size.prtotal=unlimited size.soft={AD_PAGE_LIMIT} "
            "size.hard=unlimited",
        )
        config = "\n".join(line for line in config.splitlines() if not line.startswith("TLSCertificate"))
        self.conf.write_text(config + "\nindex cn eq\n", encoding="utf-8")
        seed = self.root / "seed.ldif"
        seed.write_text("\n".join(_ldif(dn, values) for dn, values in ad_entries(self.port)), encoding="utf-8")
        done = subprocess.run(
            [binary("slapadd"), "-q", "-f", str(self.conf), "-l", str(seed)], capture_output=True, text=True
        )
        if done.returncode != 0:
            raise RuntimeError(f"slapadd failed: {done.stderr}")

    def start(self) -> None:
        self.proc = subprocess.Popen(
            [binary("slapd"), "-d", "0", "-f", str(self.conf), "-h", f"{self.url}/"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        try:
            wait_for_port(self.port)
        except RuntimeError:
            self.stop()
            raise


@pytest.fixture(scope="session")
def ad_slapd(tmp_path_factory: pytest.TempPathFactory) -> Iterator[AdSlapd]:
    """The AD-shaped directory on a real slapd for the whole session."""
    need_binaries("slapd", "slapadd")
    server = AdSlapd(tmp_path_factory.mktemp("ad-slapd"))
    server.create()
    server.start()
    yield server
    server.stop()


def ad_table(server: Slapd, **changes: Any) -> dict[str, Any]:
    """``[directory.corp]`` for the AD-shaped server, as an integrator would write it for AD."""
    table: dict[str, Any] = {
        "url": server.url,
        "bind_dn": AD_SERVICE_DN,
        "bind_password_env": SERVICE_PASSWORD_ENV,
        "base_dn": AD_SUFFIX,
        "group_base_dn": AD_GROUPS,
        "active_directory": True,
        "user_filter": "(objectClass=user)",  # AD's default leans on objectCategory=person, which only AD expands
        "nested_groups": "walk",
        "domains": ["EAGLE5"],
        "connect_timeout": 3,
        "receive_timeout": 5,
    }
    table.update(changes)
    return {k: v for k, v in table.items() if v is not None}


@pytest.fixture
def make_ad_directory(make_directory: Callable[..., Any], ad_slapd: AdSlapd) -> Callable[..., Any]:
    """An LdapDirectory on the AD-shaped server (the whole table is given, not the Eagle5 defaults)."""

    def make(**changes: Any) -> Any:
        return make_directory(ad_slapd, replace=ad_table(ad_slapd, **changes))

    return make


class HungServer:
    """A TCP listener on 127.0.0.1 that accepts connections and never answers: a hung domain controller."""

    def __init__(self) -> None:
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.port = int(self.sock.getsockname()[1])
        self.accepted: list[socket.socket] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    @property
    def url(self) -> str:
        return f"ldap://127.0.0.1:{self.port}"

    def _serve(self) -> None:
        self.sock.settimeout(0.2)
        while not self._stop.is_set():
            try:
                conn, _ = self.sock.accept()
            except OSError:
                continue
            self.accepted.append(conn)

    def close(self) -> None:
        self._stop.set()
        self._thread.join(timeout=10)
        for conn in self.accepted:
            conn.close()
        self.sock.close()


@pytest.fixture
def hung_server() -> Iterator[HungServer]:
    server = HungServer()
    yield server
    server.close()
