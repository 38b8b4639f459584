"""The ``ldap`` directory backend: customers, sign-in, groups and devices from LDAP or Active Directory.

Sign-in is search-then-bind: the service account (or an anonymous connection) finds
the one entry whose login attributes match what the customer typed, every value
escaped, then a separate connection binds as that entry's DN with the password. An
empty password is refused before anything is sent, because LDAP treats a bind with a
DN and no password as an anonymous bind that "succeeds".

A server that cannot be reached raises :class:`itsmcore.TemporaryFailure` with a
message naming the directory and the server, so the portal can say that sign-in is
unavailable rather than that the password is wrong.
"""

from __future__ import annotations

import logging
import re
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from typing import Any

import attrs
import ldap3  # type: ignore[import-untyped,unused-ignore]
from itsmcore import (
    CIKind,
    ComponentContext,
    ConfigurationItem,
    Customer,
    PermanentFailure,
    TemporaryFailure,
)
from ldap3.core import exceptions as lex  # type: ignore[import-untyped,unused-ignore]
from ldap3.utils.conv import escape_filter_chars  # type: ignore[import-untyped,unused-ignore]

from .groups import GroupResolver, ParentCache, normalize_dn
from .pool import ConnectionPool
from .servers import TEMPORARY_CODES, Servers, unbind
from .settings import (
    AD_ENABLED_ONLY,
    AD_ID_ATTRIBUTE,
    AD_LOGIN_ATTRIBUTES,
    AD_USER_FILTER,
    LDAP_ID_ATTRIBUTE,
    LDAP_LOGIN_ATTRIBUTES,
    LDAP_USER_FILTER,
    LdapDirectorySettings,
    split_names,
)

log = logging.getLogger(__name__)

INVALID_CREDENTIALS = 49
NO_SUCH_OBJECT = 32
SIZE_LIMIT_EXCEEDED = 4
ADMIN_LIMIT_EXCEEDED = 11
REFERRAL = 10
#: How long a login looked up for the sign-in count is reused by the sign-in that follows (same thread).
RESOLVED_SECONDS = 5.0
PAGED_RESULTS = "1.2.840.113556.1.4.319"
AD_CAPABILITY = "1.2.840.113556.1.4.800"  # LDAP_CAP_ACTIVE_DIRECTORY_OID
ACCOUNTDISABLE = 0x2  # userAccountControl bit
#: What Active Directory's "data NNN" in an invalidCredentials message means (logged, never shown to the customer).
AD_BIND_REASONS = {
    "525": "no such user",
    "52e": "wrong password",
    "530": "not permitted to sign in at this time",
    "531": "not permitted to sign in at this workstation",
    "532": "password expired",
    "533": "account disabled",
    "701": "account expired",
    "773": "password must be changed",
    "775": "account locked out",
}
STATE_ATTRIBUTES = ("userAccountControl", "pwdAccountLockedTime", "nsAccountLock")
DC_PART = re.compile(r"^\s*dc\s*=\s*(.+?)\s*$", re.IGNORECASE)
MAX_LOGIN_LENGTH = 256
MAX_PASSWORD_LENGTH = 1024

Entry = tuple[str, dict[str, list[str]]]  # (dn, {lower-cased attribute name: values})


@attrs.frozen
class Profile:
    """The settings that depend on whether the server is Active Directory, resolved once.

    ``user_filter`` is the filter every customer search uses: the configured (or default)
    filter with ``exclude_filter`` and, unless disabled accounts are included on AD, the
    disabled-bit clause folded in. ``decisions`` says what was chosen and why, for
    ``itsm check`` and the log.
    """

    active_directory: bool
    user_filter: str
    login_attributes: tuple[str, ...]
    id_attribute: str
    nested_groups: str
    include_disabled: bool = True
    domains: tuple[str, ...] = ()
    decisions: tuple[str, ...] = ()


class _TtlCache:
    """Customers by lower-cased id, forgotten after ``ttl`` seconds."""

    def __init__(self, ttl: float):
        self.ttl = ttl
        self._lock = threading.Lock()
        self._data: dict[str, tuple[float, Customer]] = {}

    def get(self, key: str) -> Customer | None:
        if self.ttl <= 0:
            return None
        with self._lock:
            hit = self._data.get(key.casefold())
            if hit is None or hit[0] < time.monotonic():
                return None
            return hit[1]

    def put(self, customer: Customer) -> None:
        if self.ttl <= 0:
            return
        with self._lock:
            self._data[customer.id.casefold()] = (time.monotonic() + self.ttl, customer)

    def drop(self, key: str) -> None:
        with self._lock:
            self._data.pop(key.casefold(), None)


def _first(attrs_: dict[str, list[str]], names: Iterable[str]) -> str | None:
    for name in names:
        for value in attrs_.get(name.lower(), ()):
            if value.strip():
                return value.strip()
    return None


def _all(attrs_: dict[str, list[str]], names: Iterable[str]) -> list[str]:
    out: list[str] = []
    for name in names:
        out.extend(v for v in attrs_.get(name.lower(), ()) if v.strip())
    return out


class LdapDirectory:
    """Customers from an LDAP directory (OpenLDAP, Active Directory, 389-DS, ...)."""

    def __init__(self, settings: LdapDirectorySettings, context: ComponentContext):
        self.settings = settings
        self.label = f"directory {context.name!r}"
        try:
            self._bind_password = context.secret(env=settings.bind_password_env, file=settings.bind_password_file)
        except OSError as e:
            raise ValueError(f"bind_password_file: cannot read {settings.bind_password_file!r}: {e.strerror}") from e
        if settings.bind_dn and not self._bind_password:
            where = " or ".join(
                x
                for x in (
                    f"environment variable {settings.bind_password_env}" if settings.bind_password_env else "",
                    f"file {settings.bind_password_file}" if settings.bind_password_file else "",
                )
                if x
            )
            raise ValueError(
                f"bind_dn is set but no password was found ({where or 'set bind_password_env or bind_password_file'})"
            )
        self._ca_file: str | None = None
        if settings.ca_file:
            ca = context.path(settings.ca_file)
            if not ca.is_file():
                raise ValueError(f"ca_file: {ca} does not exist")
            self._ca_file = str(ca)
        self._servers = Servers(settings, self.label, self._ca_file)
        if not (settings.start_tls or all(s.ssl for s in self._servers.servers)):
            log.warning(
                "%s: %s sends passwords in clear text; use ldaps:// or start_tls = true outside a lab",
                self.label,
                settings.url,
            )
        self._pool: ConnectionPool[Any] = ConnectionPool(
            self._service_connection,
            unbind,
            size=settings.pool_size,
            wait=settings.pool_wait,
            stale_errors=(lex.LDAPCommunicationError, lex.LDAPSessionTerminatedByServerError),
            is_usable=lambda c: not c.closed,
            retry_on=self._retry_on,
            label=self.label,
        )
        self._resolved = threading.local()  # the last login looked up by sign_in_entry in this thread
        self._profile: Profile | None = None
        self._profile_lock = threading.Lock()
        self._cache = _TtlCache(settings.cache_seconds)
        self._parents = ParentCache(settings.cache_seconds)
        self._manager_ids: dict[str, tuple[float, str | None]] = {}
        self._map = settings.attributes

    # ------------------------------------------------------------------ connections

    def _service_connection(self) -> Any:
        conn, ok = self._servers.connect(self.settings.bind_dn, self._bind_password)
        if ok:
            return conn
        result = dict(conn.result or {})
        unbind(conn)
        code = result.get("result")
        if code in TEMPORARY_CODES:
            raise TemporaryFailure(
                f"{self.label}: the LDAP server answered {TEMPORARY_CODES[code]!r}; try again shortly"
            )
        who = f"the service account {self.settings.bind_dn!r}" if self.settings.bind_dn else "an anonymous bind"
        raise PermanentFailure(
            f"{self.label}: {who} was refused ({result.get('description', code)}); check bind_dn and its password"
        )

    def _retry_on(self, conn: Any, e: BaseException) -> bool:
        """Whether an operation that failed with ``e`` on ``conn`` is worth one more try on a new connection.

        A connection the server dropped is: the next one is fresh. A server that did not
        answer in time is passed over for a while, and the operation retried only when
        another server may answer; retrying the same hung server would double the wait.
        """
        if isinstance(e, TimeoutError) or "timed out" in str(e).lower():
            self._servers.mark_down(conn.server)
            return self._servers.another_up(conn.server)
        return True

    def _run(self, fn: Callable[[Any], Any]) -> Any:
        """Run ``fn(connection)`` on a pooled connection, turning LDAP failures into the core's errors."""
        try:
            return self._pool.run(fn)
        except (TemporaryFailure, PermanentFailure):
            raise
        except lex.LDAPCommunicationError as e:
            if isinstance(e, TimeoutError) or "timed out" in str(e).lower():
                raise TemporaryFailure(
                    f"{self.label}: the LDAP server {self._servers.describe(e)}; sign-in and customer lookups are unavailable "
                    "until it answers"
                ) from e
            raise TemporaryFailure(
                f"{self.label}: lost the connection to the LDAP server ({self._servers.describe(e)}); sign-in and customer "
                "lookups are unavailable until it answers"
            ) from e
        except lex.LDAPException as e:
            raise PermanentFailure(f"{self.label}: LDAP error: {type(e).__name__}: {e}") from e

    def close(self) -> None:
        """Unbind the pooled connections."""
        self._pool.close()

    # ------------------------------------------------------------------ searching

    def _search(
        self,
        conn: Any,
        base: str,
        flt: str,
        attributes: Sequence[str] | None,
        *,
        scope: str = ldap3.SUBTREE,
        size_limit: int = 0,
        missing_ok: bool = False,
    ) -> list[Entry]:
        conn.search(
            base,
            flt,
            search_scope=scope,
            attributes=list(attributes) if attributes else ldap3.NO_ATTRIBUTES,
            size_limit=size_limit,
            time_limit=int(self.settings.receive_timeout) or 1,
        )
        self._check(conn, base, missing_ok=missing_ok)
        return self._entries(conn)

    def _check(self, conn: Any, base: str, *, missing_ok: bool = False, paged: bool = False) -> None:
        """Turn a search's result code into the core's errors: temporary only when waiting can help."""
        result = conn.result or {}
        code = result.get("result", 0)
        if code in (0, SIZE_LIMIT_EXCEEDED):
            return
        if code == NO_SUCH_OBJECT:
            if missing_ok:
                return
            raise PermanentFailure(f"{self.label}: {base!r} does not exist on the LDAP server; check base_dn")
        if code == ADMIN_LIMIT_EXCEEDED and paged:
            raise PermanentFailure(
                f"{self.label}: page_size = {self.settings.page_size} is more than the LDAP server allows per page "
                "(it answered 'administrative limit exceeded'); set page_size to its limit or less (Active "
                "Directory: 1000)"
            )
        if code == REFERRAL:
            where = ", ".join(str(r) for r in (result.get("referrals") or ())) or "another server"
            raise PermanentFailure(
                f"{self.label}: {base!r} is held by another server (the LDAP server referred to {where}); referrals "
                "are not followed: point url at the server holding it, or base_dn at this server's part of the tree"
            )
        if code == 3:
            raise TemporaryFailure(
                f"{self.label}: the LDAP server did not answer within {self.settings.receive_timeout:g} s (its time "
                "limit was exceeded); try again shortly"
            )
        if code in TEMPORARY_CODES:
            raise TemporaryFailure(
                f"{self.label}: the LDAP server answered {TEMPORARY_CODES[code]!r}; try again shortly"
            )
        raise PermanentFailure(
            f"{self.label}: LDAP search under {base!r} failed: {result.get('description', code)} "
            f"{result.get('message', '')}".rstrip()
        )

    @staticmethod
    def _entries(conn: Any) -> list[Entry]:
        out: list[Entry] = []
        for item in conn.response or ():
            if item.get("type") != "searchResEntry":
                continue
            values: dict[str, list[str]] = {}
            for name, raw in (item.get("raw_attributes") or {}).items():
                values.setdefault(name.lower(), []).extend(
                    v.decode("utf-8", errors="replace") if isinstance(v, bytes) else str(v) for v in raw
                )
            out.append((item["dn"], values))
        return out

    def _paged(self, conn: Any, base: str, flt: str, attributes: Sequence[str]) -> list[Entry]:
        out: list[Entry] = []
        cookie: Any = None
        while True:
            conn.search(
                base,
                flt,
                search_scope=ldap3.SUBTREE,
                attributes=list(attributes),
                paged_size=self.settings.page_size,
                paged_cookie=cookie,
                time_limit=int(self.settings.receive_timeout) or 1,
            )
            self._check(conn, base, paged=True)
            out.extend(self._entries(conn))
            control = ((conn.result or {}).get("controls") or {}).get(PAGED_RESULTS) or {}
            cookie = (control.get("value") or {}).get("cookie")
            if not cookie:
                return out

    def _dns(self, conn: Any) -> Callable[[str, str], list[str]]:
        def search(base: str, flt: str) -> list[str]:
            return [dn for dn, _ in self._search(conn, base, flt, None, missing_ok=True)]

        return search

    # ------------------------------------------------------------------ profile

    def profile(self) -> Profile:
        """Filter, login and id attributes and nesting mode, with Active Directory detected if not configured."""
        if self._profile is not None:
            return self._profile
        with self._profile_lock:
            if self._profile is None:
                self._profile = self._resolve_profile()
                for line in self._profile.decisions:
                    log.info("%s: %s", self.label, line)
            return self._profile

    def _resolve_profile(self) -> Profile:
        s = self.settings
        ad = s.active_directory
        how = "set by active_directory"
        if ad is None:
            ad = bool(self._run(self._detect_ad))
            how = "detected from the root DSE"
        default = "AD's default" if ad else "the default"
        nested = s.nested_groups if s.nested_groups != "auto" else ("ad" if ad else "walk")
        include_disabled = s.include_disabled if s.include_disabled is not None else not ad
        base_filter = s.user_filter or (AD_USER_FILTER if ad else LDAP_USER_FILTER)
        clauses = [base_filter]
        if s.exclude_filter:
            clauses.append(f"(!{s.exclude_filter})")
        if ad and not include_disabled:
            clauses.append(AD_ENABLED_ONLY)  # asked of the server: disabled accounts never leave it
        user_filter = clauses[0] if len(clauses) == 1 else "(&" + "".join(clauses) + ")"
        logins = s.login_attributes or (AD_LOGIN_ATTRIBUTES if ad else LDAP_LOGIN_ATTRIBUTES)
        id_attribute = s.id_attribute or (AD_ID_ATTRIBUTE if ad else LDAP_ID_ATTRIBUTE)
        domains = tuple(d.casefold() for d in s.domains)
        spelt = ".".join(m.group(1) for part in s.base_dn.split(",") if (m := DC_PART.match(part)))
        if not domains and spelt:
            domains = (spelt.casefold(),)
        decisions = [
            f"Active Directory: {'yes' if ad else 'no'} ({how})",
            f"user filter: {user_filter}"
            + ("" if s.user_filter else f" ({default}{', with exclude_filter' if s.exclude_filter else ''})"),
            f"login attributes: {', '.join(logins)}" + ("" if s.login_attributes else f" ({default})"),
            f"id attribute: {id_attribute}" + ("" if s.id_attribute else f" ({default})"),
            f"nested groups: {nested}" + (f" (auto: {'AD' if ad else 'not AD'})" if s.nested_groups == "auto" else ""),
            "disabled accounts: "
            + ("listed, flagged disabled, eligible for nothing" if include_disabled else "left out")
            + ("" if s.include_disabled is not None else f" ({default}; set include_disabled to change it)"),
        ]
        if ad:
            decisions.append(
                "DOMAIN\\name logins accepted for: "
                + (", ".join(domains) or "no domain")
                + ("" if s.domains else " (from base_dn; add the NetBIOS name to domains, e.g. domains = ['CORP'])")
            )
        return Profile(
            active_directory=ad,
            user_filter=user_filter,
            login_attributes=logins,
            id_attribute=id_attribute,
            nested_groups=nested,
            include_disabled=include_disabled,
            domains=domains,
            decisions=tuple(decisions),
        )

    def _detect_ad(self, conn: Any) -> bool:
        entries = self._search(
            conn,
            "",
            "(objectClass=*)",
            ["supportedCapabilities", "forestFunctionality"],
            scope=ldap3.BASE,
            missing_ok=True,
        )
        if not entries:
            return False
        values = entries[0][1]
        return AD_CAPABILITY in values.get("supportedcapabilities", ()) or "forestfunctionality" in values

    def _groups(self, profile: Profile) -> GroupResolver:
        return GroupResolver(
            search_base=self.settings.base_dn,
            group_base_dn=self.settings.group_base_dn,
            group_filter=self.settings.group_filter,
            member_attribute=self.settings.member_attribute,
            mode=profile.nested_groups,
            depth=self.settings.nested_depth,
            cache=self._parents,
            label=self.label,
        )

    def _attributes(self, profile: Profile) -> list[str]:
        m = self._map
        names = {profile.id_attribute, *profile.login_attributes, *STATE_ATTRIBUTES}
        for value in (m.name, m.email, m.mobile, m.role, m.department, m.groups, m.manager):
            names.update(split_names(value))
        names.update(self.settings.extra_attributes.values())
        return sorted(names, key=str.lower)

    def _user_filter(self, profile: Profile, clause: str) -> str:
        return f"(&{profile.user_filter}{clause})"

    # ------------------------------------------------------------------ entries -> customers

    @staticmethod
    def disabled(values: dict[str, list[str]]) -> bool:
        """Whether the entry is a disabled or locked account (AD, OpenLDAP ppolicy, 389-DS/FreeIPA)."""
        for raw in values.get("useraccountcontrol", ()):
            try:
                if int(raw) & ACCOUNTDISABLE:
                    return True
            except ValueError:
                continue
        if values.get("pwdaccountlockedtime"):
            return True
        return any(v.strip().lower() == "true" for v in values.get("nsaccountlock", ()))

    def _manager_id(self, conn: Any, profile: Profile, dn: str, known: dict[str, str]) -> str | None:
        key = normalize_dn(dn)
        if key in known:
            return known[key]
        hit = self._manager_ids.get(key)
        if hit is not None and hit[0] > time.monotonic():
            return hit[1]
        entries = self._search(conn, dn, "(objectClass=*)", [profile.id_attribute], scope=ldap3.BASE, missing_ok=True)
        manager = _first(entries[0][1], [profile.id_attribute]) if entries else None
        if manager is None:
            log.info("%s: manager %s of a customer is not in the directory", self.label, dn)
        if self.settings.cache_seconds > 0:
            self._manager_ids[key] = (time.monotonic() + self.settings.cache_seconds, manager)
        return manager

    def _customer(self, conn: Any, profile: Profile, entry: Entry, known: dict[str, str]) -> Customer | None:
        dn, values = entry
        cid = _first(values, [profile.id_attribute])
        if cid is None:
            log.debug("%s: %s has no %s; skipped", self.label, dn, profile.id_attribute)
            return None
        m = self._map
        group_attrs = split_names(m.groups)
        listed = _all(values, group_attrs) if group_attrs else None
        groups = self._groups(profile).names(self._dns(conn), dn, listed)
        manager_dn = _first(values, split_names(m.manager))
        manager = self._manager_id(conn, profile, manager_dn, known) if manager_dn else None
        attributes = {"dn": dn}
        for key, ldap_name in sorted(self.settings.extra_attributes.items()):
            value = _first(values, [ldap_name])
            if value is not None:
                attributes[key] = value
        if self.disabled(values):
            attributes["disabled"] = "true"
        return Customer(
            id=cid,
            name=_first(values, split_names(m.name)) or cid,
            email=_first(values, split_names(m.email)),
            mobile=_first(values, split_names(m.mobile)),
            role=_first(values, split_names(m.role)),
            department=_first(values, split_names(m.department)),
            groups=groups,
            manager=manager,
            attributes=attributes,
        )

    def _find(self, conn: Any, profile: Profile, clause: str) -> list[Entry]:
        return self._search(
            conn, self.settings.base_dn, self._user_filter(profile, clause), self._attributes(profile), size_limit=2
        )

    def _one(self, profile: Profile, clause: str, what: str) -> Customer | None:
        def lookup(conn: Any) -> Customer | None:
            entries = self._find(conn, profile, clause)
            if len(entries) != 1:
                if entries:
                    log.warning("%s: %s matches more than one entry; none is used", self.label, what)
                return None
            if self.disabled(entries[0][1]) and not profile.include_disabled:
                return None
            return self._customer(conn, profile, entries[0], {})

        customer: Customer | None = self._run(lookup)
        if customer is not None:
            self._cache.put(customer)
        return customer

    # ------------------------------------------------------------------ the protocol

    def get_customer(self, customer_id: str) -> Customer | None:
        """The customer whose id attribute is ``customer_id`` (cached for cache_seconds), or ``None``."""
        customer_id = (customer_id or "").strip()
        if not customer_id or len(customer_id) > MAX_LOGIN_LENGTH:
            return None
        cached = self._cache.get(customer_id)
        if cached is not None:
            return cached
        profile = self.profile()
        clause = f"({profile.id_attribute}={escape_filter_chars(customer_id)})"
        return self._one(profile, clause, f"customer id {customer_id!r}")

    def find_by_email(self, email: str) -> Customer | None:
        """The customer with this email address, or ``None`` (also when two entries share it)."""
        email = (email or "").strip()
        mail_attrs = split_names(self._map.email)
        if not email or not mail_attrs or len(email) > MAX_LOGIN_LENGTH:
            return None
        profile = self.profile()
        value = escape_filter_chars(email)
        clause = "(|" + "".join(f"({a}={value})" for a in mail_attrs) + ")"
        return self._one(profile, clause, f"email {email!r}")

    def list_customers(self) -> Iterable[Customer]:
        """Every customer under base_dn matching user_filter, read in pages."""
        profile = self.profile()

        def listing(conn: Any) -> list[Customer]:
            entries = self._paged(conn, self.settings.base_dn, profile.user_filter, self._attributes(profile))
            known: dict[str, str] = {}
            for dn, values in entries:
                cid = _first(values, [profile.id_attribute])
                if cid is not None:
                    known[normalize_dn(dn)] = cid
            out: list[Customer] = []
            for entry in entries:
                if self.disabled(entry[1]) and not profile.include_disabled:
                    continue
                c = self._customer(conn, profile, entry, known)
                if c is not None:
                    out.append(c)
            return out

        customers: list[Customer] = self._run(listing)
        for c in customers:
            self._cache.put(c)
        return customers

    def _login_value(self, profile: Profile, login: str) -> str | None:
        """What to look ``login`` up as: ``CORP\\steve`` -> ``steve`` when CORP is one of the domains, else ``None``.

        Only on AD, where ``DOMAIN\\name`` is a way to type a login; a prefix naming some
        other domain signs in nobody, rather than being dropped and letting ``X\\steve``
        guess Steve's password with an allowance of its own.
        """
        if not profile.active_directory or "\\" not in login:
            return login
        domain, name = login.split("\\", 1)
        if domain.strip().casefold() not in profile.domains or not name.strip():
            log.info("%s: sign-in refused: domain %r is not one of domains", self.label, domain)
            return None
        return name.strip()

    def _login_entries(self, login: str) -> list[Entry]:
        """The entries ``login`` names (one, to sign anyone in), reusing the lookup sign_in_entry just made."""
        login = (login or "").strip()
        recent = getattr(self._resolved, "hit", None)
        self._resolved.hit = None
        if recent is not None and recent[0] == login and recent[1] > time.monotonic():
            return list(recent[2])
        if not login or len(login) > MAX_LOGIN_LENGTH or "\x00" in login:
            return []
        profile = self.profile()
        value = self._login_value(profile, login)
        if value is None:
            return []
        escaped = escape_filter_chars(value)
        clause = "(|" + "".join(f"({a}={escaped})" for a in profile.login_attributes) + ")"

        def find(conn: Any) -> list[Entry]:
            return self._find(conn, profile, clause)

        entries: list[Entry] = self._run(find)
        return entries

    def sign_in_entry(self, login: str) -> str | None:
        """The customer id (else the DN) of the one entry ``login`` names, or ``None``; no password is checked.

        The desk counts failed sign-ins per entry with it, so ``steve``, ``CORP\\steve``,
        the UPN and the mail address share one allowance. The entries found are reused by
        the :meth:`authenticate` that follows in the same thread, so signing in still
        costs one search.
        """
        entries = self._login_entries(login)
        self._resolved.hit = ((login or "").strip(), time.monotonic() + RESOLVED_SECONDS, tuple(entries))
        if len(entries) != 1:
            return None
        dn, values = entries[0]
        return _first(values, [self.profile().id_attribute]) or normalize_dn(dn)

    def authenticate(self, login: str, password: str) -> Customer | None:
        """The customer if ``password`` binds as the one entry ``login`` names and the account is enabled."""
        if not password or len(password) > MAX_PASSWORD_LENGTH or "\x00" in password:
            self._resolved.hit = None
            return None  # an empty password would be an anonymous bind: refuse it before asking the server
        profile = self.profile()
        entries = self._login_entries(login)
        if len(entries) != 1:
            if entries:
                log.warning("%s: sign-in refused: login %r matches more than one entry", self.label, login)
            else:
                log.info("%s: sign-in refused: no customer with login %r", self.label, login)
            return None
        dn, values = entries[0]
        if self.disabled(values):
            log.info("%s: sign-in refused: account %s is disabled", self.label, dn)
            return None
        if not self._bind_as(dn, password):
            return None

        def build(conn: Any) -> Customer | None:
            return self._customer(conn, profile, entries[0], {})

        customer: Customer | None = self._run(build)
        if customer is not None:
            self._cache.put(customer)
        return customer

    def _bind_as(self, dn: str, password: str) -> bool:
        conn, ok = self._servers.connect(dn, password)
        if ok:
            unbind(conn)
            return True
        result = dict(conn.result or {})
        unbind(conn)
        code = result.get("result")
        if code in TEMPORARY_CODES:
            raise TemporaryFailure(
                f"{self.label}: the LDAP server answered {TEMPORARY_CODES[code]!r}; sign-in unavailable"
            )
        reason = str(result.get("description") or code)
        message = str(result.get("message") or "")
        if code == INVALID_CREDENTIALS and ", data " in message:
            sub = message.split(", data ", 1)[1][:3].lower()
            reason = AD_BIND_REASONS.get(sub, reason)
        log.info("%s: sign-in refused for %s: %s", self.label, dn, reason)
        return False

    def check(self) -> list[str]:
        """What ``itsm check`` prints: the AD/non-AD decisions, and what the user and group queries find.

        Both queries are run against the server, so a filter that matches nothing (the
        AD filter on a server that is not AD, a base_dn in the wrong OU) is a warning
        before the first customer finds the portal empty, not a silent "customers: 0".
        """
        profile = self.profile()
        lines = list(profile.decisions)
        s = self.settings

        def count_users(conn: Any) -> int:
            return len(self._paged(conn, s.base_dn, profile.user_filter, [profile.id_attribute]))

        users: int = self._run(count_users)
        lines.append(f"user filter matches {users} entr{'y' if users == 1 else 'ies'} under {s.base_dn}")
        if users == 0:
            hint = (
                " (objectCategory=person works on Active Directory only: on another server set active_directory = "
                "false or user_filter)"
                if profile.active_directory and not s.user_filter
                else ""
            )
            lines.append(f"warning: user_filter {profile.user_filter} matches nothing under base_dn {s.base_dn}{hint}")
        group_base = s.group_base_dn or s.base_dn

        def count_groups(conn: Any) -> int:
            return len(self._search(conn, group_base, s.group_filter, None, size_limit=1, missing_ok=True))

        groups: int = self._run(count_groups)
        lines.append(f"group query {'finds groups' if groups else 'finds no group'} under {group_base}")
        if not groups:
            lines.append(
                f"warning: group_filter {s.group_filter} matches no group under {group_base}: eligibility by "
                "group admits nobody; check group_base_dn and group_filter"
            )
        return lines

    def configuration_items(self, customer_id: str) -> Sequence[ConfigurationItem]:
        """Devices whose owner attribute names this customer's DN; empty when no ``devices`` table is set."""
        devices = self.settings.devices
        if devices is None:
            return ()
        customer = self.get_customer(customer_id)
        if customer is None:
            return ()
        owner_dn = customer.attributes["dn"]
        owner_attr = split_names(devices.owner_attribute)[0]
        flt = f"(&{devices.filter}({owner_attr}={escape_filter_chars(owner_dn)}))"
        wanted = sorted(
            {*split_names(devices.id_attribute), *split_names(devices.name_attribute), *devices.attributes.values()},
            key=str.lower,
        )

        def items(conn: Any) -> list[ConfigurationItem]:
            out: list[ConfigurationItem] = []
            for dn, values in self._search(conn, devices.base_dn, flt, wanted, missing_ok=True):
                ci_id = _first(values, split_names(devices.id_attribute)) or dn
                extra = {k: v for k, name in sorted(devices.attributes.items()) if (v := _first(values, [name]))}
                out.append(
                    ConfigurationItem(
                        id=ci_id,
                        kind=CIKind(devices.kind),
                        name=_first(values, split_names(devices.name_attribute)) or ci_id,
                        owner=customer.id,
                        attributes={"dn": dn, **extra},
                    )
                )
            return sorted(out, key=lambda ci: ci.id)

        result: list[ConfigurationItem] = self._run(items)
        return tuple(result)
