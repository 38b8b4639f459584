"""``itsm init``: write a small deployment that works as it is."""

from __future__ import annotations

import secrets
from pathlib import Path

ITSM_TOML = """\
# itsm deployment: see 'itsm check' for a summary and the docs for every key.
include = ["catalog/*.toml"]       # the service catalog

[deployment]
name = "{name}"
database = "sqlite:///itsm.db"     # postgresql+psycopg://user@host/db to scale out

[directory.main]
use = "file"
path = "customers.toml"

[channels.log]
use = "log"                        # messages kept in the store: the portal inbox
"""

CATALOG = """\
[[services]]
key = "vpn"
name = "Remote access (VPN)"
description = "Work from home or on the road as if you were in the office."
keywords = ["vpn", "remote", "home", "working from home"]
category = "Access"
asks = ["reason"]
expected = "a few minutes"
quick_start = [{ title = "Connecting for the first time", url = "https://intranet.example/vpn" }]
plan = [{ action = "notify.send_link", url = "https://intranet.example/vpn/download", title = "Download the VPN client" }]

[[services]]
key = "laptop"
name = "A new laptop"
description = "A laptop set up with everything you need, delivered to your desk."
keywords = ["laptop", "computer", "notebook"]
category = "Devices"
asks = ["reason"]
expected = "3 working days"
plan = [{ action = "approval", approver = "manager" }]

[[services]]
key = "email"
name = "Email and calendar"
description = "Your mailbox and calendar."
keywords = ["email", "mail", "outlook", "calendar"]
category = "Communication"
kind = "failure"
"""

CUSTOMERS = """\
[[customers]]
id = "alice"
name = "Alice Martin"
email = "alice@example.org"
role = "engineer"
department = "Engineering"
groups = ["engineering"]
manager = "bob"
password = "{hash}"

[[customers]]
id = "bob"
name = "Bob Chen"
email = "bob@example.org"
role = "engineering_manager"
department = "Engineering"
groups = ["engineering", "managers"]
password = "{hash}"

[[customers]]
id = "carol"
name = "Carol Diaz"
email = "carol@example.org"
role = "service_desk"
department = "IT"
groups = ["service-desk"]
password = "{hash}"

[[devices]]
id = "ci-laptop-alice"
kind = "device"
name = "Alice's laptop"
owner = "alice"
attributes = {{ model = "ThinkPad X1", serial = "PF-1234" }}
"""


def write_deployment(directory: Path, *, name: str | None = None, force: bool = False) -> str:
    """Write the files of a new deployment; returns the sample customers' password."""
    from .builtin.directory import hash_password
    from .errors import ConfigError, ConfigProblem

    directory = Path(directory)
    if (directory / "itsm.toml").exists() and not force:
        raise ConfigError(
            [ConfigProblem(str(directory / "itsm.toml"), "", "already exists", "use --force to overwrite")]
        )
    (directory / "catalog").mkdir(parents=True, exist_ok=True)
    password = secrets.token_urlsafe(9)
    digest = hash_password(password)
    (directory / "itsm.toml").write_text(ITSM_TOML.format(name=name or directory.resolve().name), encoding="utf-8")
    (directory / "catalog" / "services.toml").write_text(CATALOG, encoding="utf-8")
    (directory / "customers.toml").write_text(CUSTOMERS.format(hash=digest), encoding="utf-8")
    (directory / ".gitignore").write_text("itsm.db*\n.itsm-secret\n", encoding="utf-8")
    return password
