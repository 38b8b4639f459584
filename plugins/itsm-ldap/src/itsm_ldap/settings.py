"""Settings of ``[directory.NAME] use = "ldap"``: what cattrs builds from the config table.

This module imports nothing but attrs, so registering the component is cheap. Every
value is checked here, so a wrong setting is reported by ``itsm check`` with the file
and key path, before anything connects.
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import urlsplit

import attrs

NESTED_GROUP_MODES = ("auto", "ad", "walk", "off")
ATTRIBUTE_NAME = re.compile(r"^(?:[A-Za-z][A-Za-z0-9-]*|[0-9]+(?:\.[0-9]+)+)(?:;[A-Za-z0-9-]+)*$")

#: Defaults chosen when ``active_directory`` is true (given or detected) and a setting is left empty.
AD_USER_FILTER = "(&(objectCategory=person)(objectClass=user))"
AD_LOGIN_ATTRIBUTES = ("sAMAccountName", "userPrincipalName", "mail")
AD_ID_ATTRIBUTE = "sAMAccountName"
#: Defaults for every other LDAP server (OpenLDAP, 389-DS, FreeIPA, ...).
LDAP_USER_FILTER = "(objectClass=inetOrgPerson)"
#: Added to AD's user filter unless include_disabled is true: no account with ACCOUNTDISABLE (bit 2) set.
AD_ENABLED_ONLY = "(!(userAccountControl:1.2.840.113556.1.4.803:=2))"
LDAP_LOGIN_ATTRIBUTES = ("uid", "mail")
LDAP_ID_ATTRIBUTE = "uid"
DEFAULT_GROUP_FILTER = "(|(objectClass=groupOfNames)(objectClass=groupOfUniqueNames)(objectClass=group))"


def split_names(value: str) -> tuple[str, ...]:
    """``"displayName, cn"`` -> ``("displayName", "cn")``: a map entry's alternatives, first match wins."""
    return tuple(part.strip() for part in value.split(",") if part.strip())


def _check_url(attribute: str, value: str) -> None:
    parts = urlsplit(value)
    if parts.scheme.lower() not in ("ldap", "ldaps") or not parts.hostname:
        raise ValueError(f"{attribute}: expected ldap://HOST[:PORT] or ldaps://HOST[:PORT], got {value!r}")
    try:
        parts.port  # noqa: B018 - raises ValueError for a bad port
    except ValueError as e:
        raise ValueError(f"{attribute}: invalid port in {value!r}") from e
    if parts.path not in ("", "/") or parts.query:
        raise ValueError(f"{attribute}: give only scheme, host and port; put the base DN in base_dn ({value!r})")


def _url(_instance: Any, attribute: attrs.Attribute[Any], value: str) -> None:
    _check_url(attribute.name, value)


def _urls(_instance: Any, attribute: attrs.Attribute[Any], value: tuple[str, ...]) -> None:
    for v in value:
        _check_url(attribute.name, v)


def _filter(_instance: Any, attribute: attrs.Attribute[Any], value: str) -> None:
    if not value:
        return
    depth = 0
    escaped = False
    for ch in value:
        if escaped:
            escaped = False
        elif ch == "\\":
            escaped = True
        elif ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
            if depth < 0:
                break
    if not (value.startswith("(") and value.endswith(")")) or depth != 0:
        raise ValueError(
            f"{attribute.name}: expected an LDAP filter in parentheses such as '(objectClass=person)', got {value!r}"
        )


def _attribute_names(_instance: Any, attribute: attrs.Attribute[Any], value: Any) -> None:
    names = split_names(value) if isinstance(value, str) else tuple(value)
    for name in names:
        if not ATTRIBUTE_NAME.match(name):
            raise ValueError(f"{attribute.name}: {name!r} is not an LDAP attribute name")


def _login_attributes(instance: Any, attribute: attrs.Attribute[Any], value: tuple[str, ...]) -> None:
    _attribute_names(instance, attribute, value)
    if len(value) > 1 and all(len(v) == 1 for v in value):
        raise ValueError(f'{attribute.name}: expected a list of attribute names such as ["uid", "mail"]')


def _attribute_table(_instance: Any, attribute: attrs.Attribute[Any], value: dict[str, str]) -> None:
    for key, name in value.items():
        if not key:
            raise ValueError(f"{attribute.name}: empty key")
        if not ATTRIBUTE_NAME.match(name):
            raise ValueError(f"{attribute.name}.{key}: {name!r} is not an LDAP attribute name")


def _domains(_instance: Any, attribute: attrs.Attribute[Any], value: tuple[str, ...]) -> None:
    for name in value:
        if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9.-]*", name or ""):
            raise ValueError(
                f"{attribute.name}: {name!r} is not a domain name; expected a NetBIOS name such as 'CORP' or a DNS "
                "name such as 'corp.eagle5.example'"
            )


def _positive(_instance: Any, attribute: attrs.Attribute[Any], value: float) -> None:
    if value <= 0:
        raise ValueError(f"{attribute.name}: must be greater than 0, got {value!r}")


def _not_negative(_instance: Any, attribute: attrs.Attribute[Any], value: float) -> None:
    if value < 0:
        raise ValueError(f"{attribute.name}: must not be negative, got {value!r}")


@attrs.frozen(kw_only=True)
class AttributeMap:
    """Which LDAP attributes fill which customer fields.

    Each value is one attribute name or several separated by commas (the first one the
    entry has wins); an empty string leaves the field empty.
    """

    name: str = attrs.field(
        default="displayName,cn", validator=_attribute_names, metadata={"doc": "The customer's full name."}
    )
    email: str = attrs.field(default="mail", validator=_attribute_names, metadata={"doc": "Email address."})
    mobile: str = attrs.field(
        default="mobile", validator=_attribute_names, metadata={"doc": "Mobile number (for SMS channels)."}
    )
    role: str = attrs.field(
        default="title",
        validator=_attribute_names,
        metadata={"doc": "The customer's role, which service eligibility rules match (`eligible.roles`)."},
    )
    department: str = attrs.field(
        default="department,departmentNumber,ou",
        validator=_attribute_names,
        metadata={"doc": "Department (`eligible.departments`)."},
    )
    groups: str = attrs.field(
        default="memberOf",
        validator=_attribute_names,
        metadata={
            "doc": "Attribute listing the DNs of the customer's groups; the group's first RDN value (its CN) becomes "
            "the group name. Empty: find groups by searching group_base_dn for member=<customer DN> instead."
        },
    )
    manager: str = attrs.field(
        default="manager",
        validator=_attribute_names,
        metadata={"doc": "Attribute holding the manager's DN; the manager's id_attribute becomes Customer.manager."},
    )


@attrs.frozen(kw_only=True)
class DeviceSettings:
    """Configuration items (devices) kept in the directory, found by their owner's DN."""

    base_dn: str = attrs.field(metadata={"doc": "Where device entries live, e.g. 'ou=devices,dc=eagle5,dc=example'."})
    filter: str = attrs.field(
        default="(objectClass=device)",
        validator=_filter,
        metadata={"doc": "LDAP filter of device entries (AD: '(objectClass=computer)')."},
    )
    owner_attribute: str = attrs.field(
        default="owner",
        validator=_attribute_names,
        metadata={"doc": "Attribute of a device holding its owner's DN (AD: 'managedBy')."},
    )
    id_attribute: str = attrs.field(
        default="cn", validator=_attribute_names, metadata={"doc": "Attribute giving the configuration item id."}
    )
    name_attribute: str = attrs.field(
        default="description,cn",
        validator=_attribute_names,
        metadata={"doc": "Attribute(s) giving the item's display name (first present wins)."},
    )
    kind: str = attrs.field(
        default="device",
        validator=attrs.validators.in_(("device", "application")),
        metadata={"doc": "Kind of the items found: 'device' or 'application'."},
    )
    attributes: dict[str, str] = attrs.field(
        factory=dict,
        validator=_attribute_table,
        metadata={
            "doc": "Extra item attributes: item attribute name = LDAP attribute, e.g. { serial = 'serialNumber' }."
        },
    )


@attrs.frozen(kw_only=True)
class LdapDirectorySettings:
    """Settings of ``[directory.NAME] use = "ldap"`` (OpenLDAP, Active Directory and other LDAP v3 servers)."""

    url: str = attrs.field(
        validator=_url,
        metadata={"doc": "The server: 'ldap://HOST[:389]' or 'ldaps://HOST[:636]' (TLS from the start)."},
    )
    base_dn: str = attrs.field(metadata={"doc": "Where customers are searched, e.g. 'ou=people,dc=eagle5,dc=example'."})
    fallback_urls: tuple[str, ...] = attrs.field(
        default=(),
        validator=_urls,
        metadata={"doc": "Further servers (replicas, other domain controllers), tried in order when url is down."},
    )
    start_tls: bool = attrs.field(
        default=False,
        metadata={"doc": "Upgrade ldap:// connections with StartTLS before binding (refused if it fails)."},
    )
    ca_file: str | None = attrs.field(
        default=None,
        metadata={"doc": "PEM file of the CA(s) that signed the server certificate; default: the system's CAs."},
    )
    tls_verify: bool = attrs.field(
        default=True,
        metadata={
            "doc": "Check the server certificate and host name. Turn off only for a lab server, never in production."
        },
    )
    bind_dn: str | None = attrs.field(
        default=None,
        metadata={"doc": "DN of the service account used for searches; unset: search anonymously."},
    )
    bind_password_env: str | None = attrs.field(
        default=None, metadata={"doc": "Environment variable holding the service account's password."}
    )
    bind_password_file: str | None = attrs.field(
        default=None,
        metadata={
            "doc": "File holding the service account's password (relative to the config file); env wins if both."
        },
    )
    active_directory: bool | None = attrs.field(
        default=None,
        metadata={
            "doc": "Whether the server is Active Directory; unset: detected from the root DSE on first use. Decides "
            "the defaults of user_filter, login_attributes, id_attribute and nested_groups."
        },
    )
    user_filter: str = attrs.field(
        default="",
        validator=_filter,
        metadata={
            "doc": "LDAP filter selecting customer entries. Empty: '(objectClass=inetOrgPerson)', on AD "
            "'(&(objectCategory=person)(objectClass=user))'."
        },
    )
    login_attributes: tuple[str, ...] = attrs.field(
        default=(),
        validator=_login_attributes,
        metadata={
            "doc": "Attributes a customer may sign in with (any of them). Empty: ['uid', 'mail'], on AD "
            "['sAMAccountName', 'userPrincipalName', 'mail']."
        },
    )
    id_attribute: str = attrs.field(
        default="",
        validator=_attribute_names,
        metadata={"doc": "Attribute giving the customer id. Empty: 'uid', on AD 'sAMAccountName'."},
    )
    exclude_filter: str = attrs.field(
        default="",
        validator=_filter,
        metadata={
            "doc": "LDAP filter of entries that user_filter selects but that are not customers, such as service "
            "accounts: they are not listed, looked up, or let sign in. AD examples: '(servicePrincipalName=*)', "
            "'(sAMAccountName=svc-*)', '(memberOf=CN=Service Accounts,OU=Groups,DC=corp,DC=example)'; combine "
            "them with '(|...)'. Empty: nothing is excluded."
        },
    )
    domains: tuple[str, ...] = attrs.field(
        default=(),
        validator=_domains,
        metadata={
            "doc": "The domain's NetBIOS and DNS names, e.g. ['CORP', 'corp.eagle5.example']: on AD a login typed as "
            "DOMAIN\\name is accepted only when DOMAIN is one of them (case-insensitive). Empty: the DNS name "
            "spelt by base_dn's DC= parts only."
        },
    )
    attributes: AttributeMap = attrs.field(
        factory=AttributeMap, metadata={"doc": "Which LDAP attributes fill which customer fields (a table)."}
    )
    extra_attributes: dict[str, str] = attrs.field(
        factory=dict,
        validator=_attribute_table,
        metadata={
            "doc": "More attributes copied to Customer.attributes: name = LDAP attribute, e.g. "
            "{ employee_number = 'employeeNumber' }."
        },
    )
    group_base_dn: str | None = attrs.field(
        default=None,
        metadata={
            "doc": "Where groups live. When set, only groups under it count, and nested groups are searched there; "
            "unset: base_dn's whole tree is searched for parent groups."
        },
    )
    group_filter: str = attrs.field(
        default=DEFAULT_GROUP_FILTER, validator=_filter, metadata={"doc": "LDAP filter selecting group entries."}
    )
    member_attribute: str = attrs.field(
        default="member",
        validator=_attribute_names,
        metadata={
            "doc": "Attribute of a group listing member DNs ('member', or 'uniqueMember' for groupOfUniqueNames)."
        },
    )
    nested_groups: str = attrs.field(
        default="auto",
        validator=attrs.validators.in_(NESTED_GROUP_MODES),
        metadata={
            "doc": "Groups of groups: 'ad' asks Active Directory's in-chain matching rule (one query), 'walk' follows "
            "member links upwards (any server), 'off' keeps direct groups only, 'auto' is 'ad' on AD else 'walk'."
        },
    )
    nested_depth: int = attrs.field(
        default=8,
        validator=[_positive, attrs.validators.le(64)],
        metadata={"doc": "How many levels of groups 'walk' follows at most (cycles are detected anyway)."},
    )
    connect_timeout: float = attrs.field(
        default=5.0, validator=_positive, metadata={"doc": "Seconds to wait for a TCP connection to a server."}
    )
    receive_timeout: float = attrs.field(
        default=10.0,
        validator=_positive,
        metadata={"doc": "Seconds to wait for an answer to one operation (also sent to the server as its time limit)."},
    )
    pool_size: int = attrs.field(
        default=4,
        validator=[_positive, attrs.validators.le(64)],
        metadata={"doc": "Service-account connections kept open and shared between threads."},
    )
    pool_wait: float = attrs.field(
        default=5.0,
        validator=_positive,
        metadata={
            "doc": "Seconds a request waits for a free pooled connection before sign-in is reported unavailable."
        },
    )
    page_size: int = attrs.field(
        default=500,
        validator=[_positive, attrs.validators.le(10000)],
        metadata={
            "doc": "Entries per page when listing customers; at most the server's own limit (AD's MaxPageSize is "
            "1000), or the listing fails with a config error naming this setting."
        },
    )
    cache_seconds: float = attrs.field(
        default=60.0,
        validator=_not_negative,
        metadata={"doc": "How long a looked-up customer is reused before asking the server again; 0 disables caching."},
    )
    include_disabled: bool | None = attrs.field(
        default=None,
        metadata={
            "doc": "Whether disabled accounts are still listed and looked up, flagged with attributes.disabled = "
            "'true' and eligible for no service; they can never sign in either way. Unset: false on AD (the user "
            "filter gains '(!(userAccountControl:1.2.840.113556.1.4.803:=2))'), true elsewhere."
        },
    )
    devices: DeviceSettings | None = attrs.field(
        default=None,
        metadata={"doc": "Where to find customers' devices in the directory (a table); unset: no devices."},
    )

    def __attrs_post_init__(self) -> None:
        if self.start_tls and urlsplit(self.url).scheme.lower() == "ldaps":
            raise ValueError("start_tls: an ldaps:// url is encrypted already; use start_tls with ldap:// only")
        if (self.bind_password_env or self.bind_password_file) and not self.bind_dn:
            raise ValueError("bind_dn: a bind password source is set but no bind_dn to bind as")
