"""The http action's sandbox: the Expensatron stand-in on 127.0.0.1, with a fresh bearer token in a file."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import attrs
import itsmcore
import pytest

from itsm_http.action import http_action_component
from itsm_http.settings import HttpSettings


def post(url: str, payload: Any, token: str | None) -> tuple[int, Any]:
    req = urllib.request.Request(url, data=json.dumps(payload).encode(), method="POST")
    req.add_header("Content-Type", "application/json")
    if token:
        req.add_header("Authorization", f"Bearer {token}")
    try:
        with urllib.request.urlopen(req, timeout=5) as r:
            return r.status, json.loads(r.read())
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read())


def test_the_sandbox_points_the_action_at_the_standin_with_a_fresh_token(tmp_path: Path) -> None:
    record = http_action_component()
    assert record.sandbox is not None
    settings = HttpSettings(
        url="https://expensatron.far-away.example/api/accounts",
        auth="bearer",
        auth_env="EXPENSATRON_TOKEN",
        body={"email": "{customer.email}"},
    )
    ctx = itsmcore.ComponentContext(name="expensatron", deployment="Eagle5", base_dir=tmp_path)
    box = record.sandbox(settings, ctx)
    with box as overrides:
        sandboxed = attrs.evolve(settings, **overrides)
        assert sandboxed.url.startswith("http://127.0.0.1:") and sandboxed.url.endswith("/api/accounts")
        assert sandboxed.auth_env == "" and sandboxed.auth == "bearer"
        token_file = Path(sandboxed.auth_file)
        assert token_file.stat().st_mode & 0o077 == 0, "the token file is private"
        token = ctx.secret(env=sandboxed.auth_env or None, file=sandboxed.auth_file)
        assert post(sandboxed.url, {"email": "steve@eagle5.example"}, None)[0] == 401
        status, answer = post(sandboxed.url, {"email": "steve@eagle5.example", "name": "Steve Jones"}, token)
        assert status == 201 and answer["account"]["login"] == "steve"
        assert box.summary().endswith("created 1 account: steve (steve@eagle5.example)")
        assert record.factory(sandboxed, ctx) is not None
    assert not token_file.exists(), "the token file is removed on exit"
    with pytest.raises(OSError):
        post(sandboxed.url, {"email": "x@y.example"}, token)


def test_other_kinds_of_auth_are_switched_off(tmp_path: Path) -> None:
    record = http_action_component()
    assert record.sandbox is not None
    settings = HttpSettings(url="https://e.example/api/accounts?x=1", auth="basic", username="u", auth_env="P")
    ctx = itsmcore.ComponentContext(name="http", deployment="Eagle5", base_dir=tmp_path)
    box = record.sandbox(settings, ctx)
    with box as overrides:
        assert overrides["auth"] == "none"
        assert overrides["url"].endswith("/api/accounts?x=1")
        assert post(overrides["url"].split("?")[0], {"email": "a@b.example"}, None)[0] == 201
        assert "created 1 account: a (a@b.example)" in box.summary()
