"""The curl examples of the API page (docs/integrators/api.md) run against a live portal, and each is answered 2xx."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest
from conftest import TOKENS_ENV, make_eagle5, serve

PAGE = Path(__file__).resolve().parents[3] / "docs" / "integrators" / "api.md"
_BLOCK = re.compile(r"^```sh\n(.*?)^```", re.S | re.M)


def examples() -> list[str]:
    if not PAGE.exists():
        return []
    return [b for b in _BLOCK.findall(PAGE.read_text(encoding="utf-8")) if b.lstrip().startswith("curl ")]


def test_the_page_has_curl_examples() -> None:
    if not PAGE.exists():
        pytest.skip("the docs are not next to this checkout")
    assert len(examples()) >= 5


def test_the_curl_examples_run(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    real = shutil.which("curl")
    if real is None or not PAGE.exists():
        pytest.skip("needs curl and the docs next to this checkout")
    from itsmcore import Desk

    monkeypatch.setenv(TOKENS_ENV, "x:y")
    # a curl that says each answer's status on a line of its own after the body
    shim = tmp_path / "bin"
    shim.mkdir()
    (shim / "curl").write_text(f'#!/bin/sh\nexec {real} "$@" -w "\\nHTTP %{{http_code}}\\n"\n')
    (shim / "curl").chmod(0o755)
    with Desk.open(make_eagle5(tmp_path / "eagle5")) as desk:
        _, secret = desk.new_api_token("docs-examples", ["read", "write", "agent"])
        with serve(desk) as base:
            env = dict(os.environ, ITSM_URL=base, ITSM_TOKEN=secret, PATH=f"{shim}:{os.environ['PATH']}")
            for block in examples():
                done = subprocess.run(["sh", "-e", "-c", block], env=env, capture_output=True, text=True, timeout=60)
                statuses = re.findall(r"^HTTP (\d{3})$", done.stdout, re.M)
                assert done.returncode == 0 and statuses, (block, done.stdout, done.stderr)
                assert all(s.startswith("2") for s in statuses), (block, done.stdout)
        assert desk.get(1).state == "resolved"
        assert [e.actor for e in desk.journey(1) if e.kind == "state"] == ["docs-examples", "docs-examples"]
