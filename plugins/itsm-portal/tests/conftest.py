"""Fixtures: a copy of the Eagle5 example with the portal configured, a desk, the app and a test client."""

from __future__ import annotations

import contextlib
import re
import shutil
import socket
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from itsmcore import Desk
    from starlette.testclient import TestClient

pytest_plugins = ["itsmcore.testing"]


def pytest_configure(config: pytest.Config) -> None:
    # imported here, not above: pytest rewrites the kit's asserts once it has registered it
    from itsmcore.testing.profiles import use_hypothesis_profiles

    use_hypothesis_profiles()  # the property tests' profiles (HYPOTHESIS_PROFILE=fuzz for tox -e fuzz)


PASSWORD = "eagle5-demo"
API_TOKEN = "itsm_test-token-for-the-integration-tests-0123456789"
TOKENS_ENV = "ITSM_PORTAL_TEST_TOKENS"


def example_dir() -> Path:
    here = Path(__file__).resolve()
    for parent in here.parents:
        candidate = parent / "examples" / "eagle5"
        if (candidate / "itsm.toml").exists():
            return candidate
    pytest.skip("the Eagle5 example is not next to this checkout")


def make_eagle5(target: Path, public_url: str = "http://testserver", extra: str = "") -> Path:
    """Copy the Eagle5 example into ``target`` (its database there too) and configure the portal channel."""
    shutil.copytree(
        example_dir(), target, ignore=shutil.ignore_patterns("*.db", "*.db-*", ".itsm-secret", "__pycache__")
    )
    config = target / "itsm.toml"
    text = config.read_text(encoding="utf-8")
    text = re.sub(r'public_url = "[^"]*"', f'public_url = "{public_url}"', text)
    text += (
        "\n[channels.portal]\n"
        'use = "portal"\n'
        'agent_groups = ["service-desk"]\n'
        f'api_tokens_env = "{TOKENS_ENV}"\n' + extra
    )
    config.write_text(text, encoding="utf-8")
    return config


@pytest.fixture
def eagle5(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv(TOKENS_ENV, f"monitoring:{API_TOKEN}")
    monkeypatch.delenv("ITSM_SECRET", raising=False)
    return make_eagle5(tmp_path / "eagle5")


@pytest.fixture
def desk(eagle5: Path) -> Iterator[Desk]:
    from itsmcore import Desk

    with Desk.open(eagle5) as d:
        yield d


@pytest.fixture
def app(desk: Desk) -> Any:
    from itsm_portal.app import create_app

    return create_app(desk=desk)


@pytest.fixture
def client(app: Any) -> Iterator[TestClient]:
    from starlette.testclient import TestClient

    with TestClient(app, follow_redirects=False) as c:
        yield c


CSRF = re.compile(r'name="csrf" value="([^"]+)"')


def csrf_of(client: TestClient, path: str = "/signin") -> str:
    page = client.get(path)
    found = CSRF.search(page.text)
    assert found, f"no CSRF field on {path}: {page.status_code} {page.text[:300]}"
    return found.group(1)


@pytest.fixture
def sign_in(client: TestClient) -> Callable[..., TestClient]:
    def do(login: str = "steve", password: str = PASSWORD, on: TestClient | None = None) -> TestClient:
        c = on or client
        token = csrf_of(c)
        r = c.post("/signin", data={"login": login, "password": password, "csrf": token, "next": "/"})
        assert r.status_code == 303, r.text[:500]
        return c

    return do


@pytest.fixture
def second_client(app: Any) -> Iterator[TestClient]:
    from starlette.testclient import TestClient

    with TestClient(app, follow_redirects=False) as c:
        yield c


@contextlib.contextmanager
def serve(desk: Desk) -> Iterator[str]:
    """The portal of ``desk`` served by uvicorn in a thread on 127.0.0.1 (a free port); its base URL once it is up."""
    import uvicorn

    from itsm_portal.app import create_app

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = int(s.getsockname()[1])
    server = uvicorn.Server(uvicorn.Config(create_app(desk=desk), host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 60  # generous: a busy machine starts it late
    while not server.started:
        assert time.monotonic() < deadline, "uvicorn did not start"
        assert thread.is_alive(), "uvicorn stopped"
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(10)
