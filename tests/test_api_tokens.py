"""API tokens in the store: made once, listed without secrets, revoked everywhere, rate-limited across processes."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import select

from itsmcore import Conflict, InvalidInput, NotFound, TooManyAttempts
from itsmcore.cli import cli
from itsmcore.desk import Desk
from itsmcore.store import tables as t


class Clock:
    """A clock the test moves by hand (on a window boundary, so windows are easy to reason about)."""

    def __init__(self) -> None:
        self.now = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **kwargs: float) -> None:
        self.now += timedelta(**kwargs)


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def config(write_deployment: Callable[..., Path], database_url: str) -> Path:
    return write_deployment(database=database_url)


@pytest.fixture
def open_desk(config: Path, clock: Clock) -> Iterator[Callable[[], Desk]]:
    """Opens desks on one deployment and database, as separate processes would."""
    desks: list[Desk] = []

    def make() -> Desk:
        desk = Desk.open(config, entry_points=False, clock=clock)
        desks.append(desk)
        return desk

    yield make
    for d in desks:
        d.close()


def itsm(config: Path, *args: str) -> tuple[int, str, str]:
    r = CliRunner().invoke(cli, ["-c", str(config), *args])
    return r.exit_code, r.stdout, r.stderr


def test_new_list_revoke_through_the_command_line(config: Path, open_desk: Callable[[], Desk]) -> None:
    code, out, err = itsm(config, "api-token", "new", "monitoring", "--scope", "read", "--scope", "agent")
    assert code == 0, err
    secret = out.strip()
    assert secret.startswith("itsm_") and len(secret) > 40
    assert "not shown again" in err and secret not in err
    desk = open_desk()
    found = desk.api_token(secret)
    assert found is not None and found.name == "monitoring" and found.scopes == ("read", "agent")

    for fmt in ("table", "json"):
        code, listing, _ = itsm(config, "api-token", "list", "--format", fmt)
        assert code == 0 and "monitoring" in listing and secret not in listing
    rows = json.loads(itsm(config, "api-token", "list", "--format", "json")[1])
    assert rows[0]["name"] == "monitoring" and rows[0]["scopes"] == ["read", "agent"] and rows[0]["state"] == "live"
    with desk.engine.connect() as conn:
        stored = conn.execute(select(t.api_tokens)).one()
    assert secret not in str(tuple(stored)), "the store keeps a hash, never the token"

    code, out, _ = itsm(config, "api-token", "revoke", "monitoring")
    assert code == 0 and "revoked" in out
    assert desk.api_token(secret) is None
    rows = json.loads(itsm(config, "api-token", "list", "--format", "json")[1])
    assert rows[0]["state"] == "revoked" and rows[0]["revoked_at"]
    assert json.loads(itsm(config, "api-token", "list", "--live", "--format", "json")[1]) == []


def test_a_real_process_makes_a_token_another_desk_accepts(config: Path, open_desk: Callable[[], Desk]) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ITSM_")}
    done = subprocess.run(
        [sys.executable, "-m", "itsmcore", "-c", str(config), "api-token", "new", "chatbot", "--scope", "write"],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    found = open_desk().api_token(done.stdout.strip())
    assert found is not None and found.name == "chatbot" and found.scopes == ("write",)


def test_bad_input_on_the_command_line(config: Path, open_desk: Callable[[], Desk]) -> None:
    code, _, err = itsm(config, "api-token", "new", "monitoring", "--scope", "reed")
    assert code == 2 and "did you mean 'read'?" in err and "admin" in err
    code, _, err = itsm(config, "api-token", "new", "monitoring")
    assert code == 2 and "--scope" in err
    assert itsm(config, "api-token", "new", "monitoring", "--scope", "read,write")[0] == 0
    code, out, err = itsm(config, "api-token", "new", "monitoring", "--scope", "read")
    assert code == 1 and "exists already" in err and "revoke" in err and not out.strip()
    code, _, err = itsm(config, "api-token", "revoke", "monitorng")
    assert code == 1 and "did you mean 'monitoring'?" in err
    code, _, err = itsm(config, "api-token", "new", "agent", "--scope", "read")
    assert code == 1 and "someone else" in err
    code, _, err = itsm(config, "api-token", "new", "two words", "--scope", "read")
    assert code == 1 and "letters, digits" in err


def test_the_desk_refuses_bad_names_and_scopes(open_desk: Callable[[], Desk]) -> None:
    desk = open_desk()
    with pytest.raises(InvalidInput, match="did you mean 'agent'"):
        desk.new_api_token("monitoring", ["agnet"])
    with pytest.raises(InvalidInput, match="at least one scope"):
        desk.new_api_token("monitoring", [])
    desk.new_api_token("monitoring", ["admin", "read"])
    with pytest.raises(Conflict):
        desk.new_api_token("monitoring", ["read"])
    with pytest.raises(NotFound, match="did you mean 'monitoring'"):
        desk.revoke_api_token("monitorin")
    desk.revoke_api_token("monitoring")
    with pytest.raises(NotFound, match="revoked already"):
        desk.revoke_api_token("monitoring")
    token, secret = desk.new_api_token("monitoring", ["read"])  # a revoked token's name may be given again
    assert token.scopes == ("read",) and desk.api_token(secret) is not None
    assert [x.name for x in desk.api_tokens()] == ["monitoring"]


def test_a_revoked_token_is_refused_by_every_process_at_once(open_desk: Callable[[], Desk]) -> None:
    one, two = open_desk(), open_desk()
    _, secret = one.new_api_token("monitoring", ["read"])
    assert one.api_token(secret) is not None and two.api_token(secret) is not None
    two.revoke_api_token("monitoring")
    assert one.api_token(secret) is None and two.api_token(secret) is None
    assert one.api_token("itsm_unknown") is None and one.api_token("") is None and one.api_token(None) is None


def test_the_rate_limit_is_shared_by_two_desks_on_one_database(open_desk: Callable[[], Desk], clock: Clock) -> None:
    one, two = open_desk(), open_desk()
    _, secret = one.new_api_token("monitoring", ["read"])
    _, other = one.new_api_token("chatbot", ["read"])
    clock.advance(seconds=10)
    assert one.api_token(secret, limit=3, window=60) is not None
    assert two.api_token(secret, limit=3, window=60) is not None
    assert one.api_token(secret, limit=3, window=60) is not None
    with pytest.raises(TooManyAttempts) as refused:
        two.api_token(secret, limit=3, window=60)
    assert refused.value.http_status == 429 and refused.value.retry_after == pytest.approx(50)
    assert "monitoring" in str(refused.value) and "3 requests" in str(refused.value)
    assert one.api_token(other, limit=3, window=60) is not None, "each token has its own count"
    clock.advance(seconds=50)  # the next window
    assert two.api_token(secret, limit=3, window=60) is not None


def test_concurrent_requests_get_exactly_the_limit(open_desk: Callable[[], Desk]) -> None:
    desks = [open_desk(), open_desk()]
    _, secret = desks[0].new_api_token("monitoring", ["read"])
    allowed: list[bool] = []
    lock = threading.Lock()

    def hit(desk: Desk) -> None:
        for _ in range(5):
            try:
                ok = desk.api_token(secret, limit=12, window=3600) is not None
            except TooManyAttempts:
                ok = False
            with lock:
                allowed.append(ok)

    threads = [threading.Thread(target=hit, args=(desks[i % 2],)) for i in range(6)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    assert len(allowed) == 30 and allowed.count(True) == 12


def test_last_used_moves_at_most_once_a_minute(open_desk: Callable[[], Desk], clock: Clock) -> None:
    desk = open_desk()
    _, secret = desk.new_api_token("monitoring", ["read"])
    assert desk.api_tokens()[0].last_used_at is None
    start = clock.now
    desk.api_token(secret)
    assert desk.api_tokens()[0].last_used_at == start
    clock.advance(seconds=30)
    desk.api_token(secret)
    desk.api_token(secret, limit=100)
    assert desk.api_tokens()[0].last_used_at == start, "not again within the minute"
    clock.advance(seconds=31)
    desk.api_token(secret, limit=100)
    assert desk.api_tokens()[0].last_used_at == clock.now
    clock.advance(minutes=5)
    desk.api_token(secret)
    assert desk.api_tokens()[0].last_used_at == clock.now


@pytest.mark.no_database
def test_the_command_line_knows_the_desks_scopes() -> None:
    from itsmcore.cli.api_token import SCOPES as CLI
    from itsmcore.desk.tokens import SCOPES

    assert CLI == SCOPES
