"""The ``file`` directory: customers, groups and devices from a TOML or CSV file.

Loaded once when the deployment opens, into dictionaries, because the desk asks the
directory on every demand. Passwords are stored as scrypt hashes only; a plaintext
password in the file is a config error.
"""

from __future__ import annotations

import base64
import csv
import functools
import hashlib
import hmac
import os
import secrets
import tomllib
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import attrs

from ..components import ComponentContext, DirectoryComponent
from ..config import did_you_mean
from ..errors import ConfigError, ConfigProblem
from ..model import CIKind, ConfigurationItem, Customer

SCRYPT_N, SCRYPT_R, SCRYPT_P = 2**14, 8, 1


def hash_password(password: str) -> str:
    """``scrypt$n$r$p$salt$hash`` (base64): what the ``password`` field of a customer holds."""
    salt = os.urandom(16)
    digest = hashlib.scrypt(password.encode(), salt=salt, n=SCRYPT_N, r=SCRYPT_R, p=SCRYPT_P, dklen=32)
    return (
        f"scrypt${SCRYPT_N}${SCRYPT_R}${SCRYPT_P}${base64.b64encode(salt).decode()}${base64.b64encode(digest).decode()}"
    )


def _parse_hash(stored: str) -> tuple[int, int, int, bytes, bytes] | None:
    parts = stored.split("$")
    if len(parts) != 6 or parts[0] != "scrypt":
        return None
    try:
        n, r, p = int(parts[1]), int(parts[2]), int(parts[3])
        salt, digest = base64.b64decode(parts[4], validate=True), base64.b64decode(parts[5], validate=True)
    except ValueError:
        return None
    if n < 2 or n & (n - 1) or not (salt and digest):
        return None
    return n, r, p, salt, digest


@functools.cache
def _dummy_hash() -> str:
    """A hash of a random password, checked against when there is no real one (made once)."""
    return hash_password(secrets.token_urlsafe(16))


def verify_password(password: str, stored: str) -> bool:
    """Constant-time check of ``password`` against a stored scrypt hash."""
    parsed = _parse_hash(stored)
    if parsed is None or not password:
        return False
    n, r, p, salt, digest = parsed
    try:
        candidate = hashlib.scrypt(password.encode(), salt=salt, n=n, r=r, p=p, dklen=len(digest), maxmem=2**27)
    except ValueError:
        return False
    return hmac.compare_digest(candidate, digest)


@attrs.frozen(kw_only=True)
class FileDirectorySettings:
    """Settings of ``[directory.NAME] use = "file"``."""

    path: str = attrs.field(metadata={"doc": "TOML or CSV file of customers (and devices, in TOML)."})
    devices: str | None = attrs.field(
        default=None, metadata={"doc": "Optional separate TOML or CSV file of configuration items (the CMDB)."}
    )


CUSTOMER_KEYS = (
    "id",
    "name",
    "email",
    "mobile",
    "role",
    "department",
    "groups",
    "manager",
    "preferred_channels",
    "language",
    "password",
    "disabled",
    "attributes",
)
DEVICE_KEYS = ("id", "kind", "name", "owner", "attributes")
LIST_KEYS = ("groups", "preferred_channels")


class FileDirectory:
    """Customers and configuration items kept in files next to the config."""

    def __init__(self, settings: FileDirectorySettings, context: ComponentContext):
        self.path = context.path(settings.path)
        self.customers: dict[str, Customer] = {}
        self.passwords: dict[str, str] = {}
        self.disabled: set[str] = set()
        self.by_email: dict[str, str] = {}
        self.items: dict[str, list[ConfigurationItem]] = {}
        problems: list[ConfigProblem] = []
        customers, devices = self._read(self.path, "customers", problems)
        if settings.devices:
            dev_path = context.path(settings.devices)
            extra, more = self._read(dev_path, "devices", problems)
            devices += more + extra
        for path, where, raw in customers:
            self._add_customer(path, where, raw, problems)
        for path, where, raw in devices:
            self._add_device(path, where, raw, problems)
        for cid, c in self.customers.items():
            if c.manager and c.manager not in self.customers:
                problems.append(
                    ConfigProblem(
                        str(self.path),
                        f"customers[{cid}].manager",
                        f"unknown manager {c.manager!r}",
                        did_you_mean(c.manager, self.customers),
                    )
                )
        if problems:
            raise ConfigError(problems)

    # ------------------------------------------------------------------ reading

    def _read(
        self, path: Path, default: str, problems: list[ConfigProblem]
    ) -> tuple[list[tuple[str, str, Any]], list[tuple[str, str, Any]]]:
        name = str(path)
        if not path.exists():
            problems.append(ConfigProblem(name, "", "file not found", "check the path setting of the directory"))
            return [], []
        if path.suffix.lower() == ".csv":
            with path.open(newline="", encoding="utf-8-sig") as f:
                reader = csv.DictReader(f)
                rows = []
                for i, row in enumerate(reader):
                    clean = {k.strip(): (v or "").strip() for k, v in row.items() if k is not None}
                    for key in LIST_KEYS:
                        if key in clean:
                            clean[key] = [x.strip() for x in clean[key].split(";") if x.strip()]
                    if "disabled" in clean:
                        clean["disabled"] = clean["disabled"].lower() in ("1", "true", "yes")
                    rows.append((name, f"{default}[{i}]", {k: v for k, v in clean.items() if v not in ("", [])}))
            return (rows, []) if default == "customers" else ([], rows)
        try:
            data = tomllib.loads(path.read_text(encoding="utf-8"))
        except tomllib.TOMLDecodeError as e:
            problems.append(ConfigProblem(name, "", f"invalid TOML: {e}"))
            return [], []
        for key in data:
            if key not in ("customers", "devices"):
                problems.append(ConfigProblem(name, key, "unknown table", did_you_mean(key, ["customers", "devices"])))
        customers = [(name, f"customers[{i}]", c) for i, c in enumerate(data.get("customers", []))]
        devices = [(name, f"devices[{i}]", d) for i, d in enumerate(data.get("devices", []))]
        return customers, devices

    def _check_keys(self, file: str, where: str, raw: Any, known: Sequence[str], problems: list[ConfigProblem]) -> bool:
        if not isinstance(raw, Mapping):
            problems.append(ConfigProblem(file, where, "expected a table"))
            return False
        ok = True
        for key in raw:
            if key not in known:
                problems.append(ConfigProblem(file, f"{where}.{key}", "unknown key", did_you_mean(key, known)))
                ok = False
        for key in ("id", "name"):
            if not isinstance(raw.get(key), str) or not raw.get(key, "").strip():
                problems.append(ConfigProblem(file, f"{where}.{key}", "missing required setting (expected a string)"))
                ok = False
        return ok

    def _add_customer(self, file: str, where: str, raw: Any, problems: list[ConfigProblem]) -> None:
        if not self._check_keys(file, where, raw, CUSTOMER_KEYS, problems):
            return
        cid = raw["id"]
        if cid in self.customers:
            problems.append(ConfigProblem(file, f"{where}.id", f"duplicate customer id {cid!r}"))
            return
        password = raw.get("password")
        if password is not None:
            if not isinstance(password, str) or _parse_hash(password) is None:
                problems.append(
                    ConfigProblem(
                        file,
                        f"{where}.password",
                        "passwords must be stored as scrypt hashes, never in plain text",
                        "create one with 'itsm customer hash-password'",
                    )
                )
                return
            self.passwords[cid] = password
        try:
            customer = Customer(
                id=cid,
                name=raw["name"],
                email=raw.get("email"),
                mobile=raw.get("mobile"),
                role=raw.get("role"),
                department=raw.get("department"),
                groups=tuple(raw.get("groups", ())),
                manager=raw.get("manager"),
                preferred_channels=tuple(raw.get("preferred_channels", ())),
                attributes={str(k): str(v) for k, v in dict(raw.get("attributes", {})).items()}
                | ({"language": str(raw["language"])} if raw.get("language") else {}),
            )
        except (TypeError, ValueError) as e:
            problems.append(ConfigProblem(file, where, f"invalid customer: {e}"))
            return
        self.customers[cid] = customer
        if raw.get("disabled"):
            self.disabled.add(cid)
        if customer.email:
            self.by_email[customer.email.casefold()] = cid

    def _add_device(self, file: str, where: str, raw: Any, problems: list[ConfigProblem]) -> None:
        if not self._check_keys(file, where, raw, DEVICE_KEYS, problems):
            return
        kind = raw.get("kind", "device")
        if kind not in CIKind.__members__.values():
            problems.append(ConfigProblem(file, f"{where}.kind", f"unknown kind {kind!r}", did_you_mean(kind, CIKind)))
            return
        owner = raw.get("owner")
        if owner is not None and owner not in self.customers:
            problems.append(
                ConfigProblem(
                    file, f"{where}.owner", f"unknown customer {owner!r}", did_you_mean(owner, self.customers)
                )
            )
            return
        ci = ConfigurationItem(
            id=raw["id"],
            kind=CIKind(kind),
            name=raw["name"],
            owner=owner,
            attributes={str(k): str(v) for k, v in dict(raw.get("attributes", {})).items()},
        )
        self.items.setdefault(owner or "", []).append(ci)

    # ------------------------------------------------------------------ the protocol

    def get_customer(self, customer_id: str) -> Customer | None:
        return self.customers.get(customer_id)

    def list_customers(self) -> Iterable[Customer]:
        return list(self.customers.values())

    def find_by_email(self, email: str) -> Customer | None:
        cid = self.by_email.get(email.strip().casefold())
        return self.customers.get(cid) if cid else None

    def sign_in_entry(self, login: str) -> str | None:
        """The customer id a login (an id or an email address) names: both spellings share one failure count."""
        login = (login or "").strip()
        if login in self.customers:
            return login
        folded = login.casefold()
        return self.by_email.get(folded) or next((cid for cid in self.customers if cid.casefold() == folded), None)

    def authenticate(self, login: str, password: str) -> Customer | None:
        login = (login or "").strip()
        cid = login if login in self.customers else self.by_email.get(login.casefold())
        stored = self.passwords.get(cid) if cid is not None and cid not in self.disabled else None
        # an unknown, disabled or password-less login costs the same scrypt as a wrong password,
        # so how long a refusal takes does not tell whether the login exists
        matches = verify_password(password or "", stored or _dummy_hash())
        if stored is None or not matches or cid is None:
            return None
        return self.customers[cid]

    def configuration_items(self, customer_id: str) -> Sequence[ConfigurationItem]:
        return tuple(self.items.get(customer_id, ()))

    def all_configuration_items(self) -> Sequence[ConfigurationItem]:
        """Every item of the file, owned or not (the CMDB checks relationships against them)."""
        return tuple(ci for owned in self.items.values() for ci in owned)


def file_directory_component() -> DirectoryComponent:
    return DirectoryComponent(
        name="file",
        factory=FileDirectory,
        settings=FileDirectorySettings,
        description="Customers, groups and devices from a TOML or CSV file; passwords as scrypt hashes.",
    )
