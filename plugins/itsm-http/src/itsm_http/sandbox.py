"""The ``sandbox`` of the http action: the Expensatron stand-in on 127.0.0.1, for demos and trials.

The action's ``url`` keeps its path and query but points at the stand-in, which answers the
Expensatron account API (``POST /api/accounts``). With ``auth = "bearer"`` the stand-in
requires a fresh random token, handed to the action through a temporary file (mode 0600)
as ``auth_file``, so the real secret-reading path is used; other kinds of auth are off.
"""

from __future__ import annotations

import os
import secrets
import shutil
import tempfile
from collections.abc import Mapping
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit, urlunsplit

from .standin import Standin, serve_standin

if TYPE_CHECKING:
    from itsmcore import ComponentContext

    from .settings import HttpSettings

DEFAULT_PATH = "/api/accounts"


class StandinSandbox:
    """Starts the stand-in on enter, yields the overrides, stops it on exit."""

    def __init__(self, settings: HttpSettings, name: str = "http"):
        self.settings = settings
        self.name = name
        self.standin: Standin | None = None
        self._dir: str | None = None

    def __enter__(self) -> Mapping[str, Any]:
        token = secrets.token_urlsafe(24) if self.settings.auth == "bearer" else None
        self.standin = serve_standin(token=token)
        parts = urlsplit(self.settings.url or DEFAULT_PATH)
        base = urlsplit(self.standin.url)
        url = urlunsplit((base.scheme, base.netloc, parts.path or DEFAULT_PATH, parts.query, ""))
        overrides: dict[str, Any] = {"url": url, "verify_tls": True, "ca_file": ""}
        if token is not None:
            self._dir = tempfile.mkdtemp(prefix="itsm-http-sandbox-")
            secret = Path(self._dir) / "token"
            fd = os.open(secret, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "w") as f:
                f.write(token)
            overrides.update(auth_env="", auth_file=str(secret))
        elif self.settings.auth != "none":
            overrides.update(auth="none")
        return overrides

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if self.standin is not None:
            self.standin.stop()
        if self._dir is not None:
            shutil.rmtree(self._dir, ignore_errors=True)
            self._dir = None

    @property
    def accounts(self) -> list[dict[str, Any]]:
        return list(self.standin.accounts) if self.standin is not None else []

    def summary(self) -> str:
        where = self.standin.url if self.standin is not None else "(not started)"
        accounts = self.accounts
        if not accounts:
            return f"Expensatron stand-in (actions.{self.name}, {where}) created no account"
        made = ", ".join(f"{a['login']} ({a['email']})" for a in accounts)
        return (
            f"Expensatron stand-in (actions.{self.name}, {where}) created "
            f"{len(accounts)} account{'s' if len(accounts) != 1 else ''}: {made}"
        )


def http_sandbox(settings: HttpSettings, context: ComponentContext) -> StandinSandbox:
    """The ``sandbox`` of the http action: the Expensatron stand-in on 127.0.0.1."""
    return StandinSandbox(settings, context.name)
