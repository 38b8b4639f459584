"""Failed sign-ins are counted in the store: every desk on one database (every process) sees the same count."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select

from itsmcore import ConfigError, TooManyAttempts
from itsmcore.desk import Desk
from itsmcore.store import tables as t
from itsmcore.testing import DEFAULT_PASSWORD, write_customers


class Clock:
    """A clock the test moves by hand."""

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
def config(write_deployment: Callable[..., Path], database_url: str, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.delenv("ITSM_SECRET", raising=False)
    path = write_deployment(database=database_url)
    write_customers(path.parent / "customers.toml")
    return path


@pytest.fixture
def open_desk(config: Path, clock: Clock) -> Iterator[Callable[..., Desk]]:
    """Opens desks on the same deployment and database, as separate processes would."""
    desks: list[Desk] = []

    def make(path: Path = config) -> Desk:
        desk = Desk.open(path, entry_points=False, clock=clock)
        desks.append(desk)
        return desk

    yield make
    for d in desks:
        d.close()


def fail(desk: Desk, login: str = "steve", times: int = 1, **kwargs: str) -> None:
    for _ in range(times):
        assert desk.authenticate(login, "not the password", **kwargs) is None


def failures(desk: Desk) -> int:
    with desk.engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(t.sign_in_failures)).scalar_one())


def test_failures_through_one_desk_lock_the_login_for_another(open_desk: Callable[..., Desk]) -> None:
    one, two = open_desk(), open_desk()
    for i in range(5):
        fail(one if i % 2 else two)  # attempts spread over two processes
    for desk in (one, two):
        with pytest.raises(TooManyAttempts) as refused:
            desk.authenticate("steve", DEFAULT_PASSWORD)
        assert 14 * 60 < refused.value.retry_after <= 15 * 60
        assert "too many failed sign-ins" in str(refused.value) and "15 minutes" in str(refused.value)
    # the login is case-folded: another spelling is the same login
    with pytest.raises(TooManyAttempts):
        two.authenticate("  STEVE ", DEFAULT_PASSWORD)
    # other logins are not affected
    assert one.authenticate("scott", DEFAULT_PASSWORD) is not None


def test_a_refusal_is_not_counted_and_the_window_expires(open_desk: Callable[..., Desk], clock: Clock) -> None:
    desk = open_desk()
    fail(desk, times=3)
    clock.advance(minutes=5)
    fail(desk, times=2)
    with pytest.raises(TooManyAttempts) as refused:
        desk.authenticate("steve", DEFAULT_PASSWORD)
    assert refused.value.retry_after == pytest.approx(10 * 60)  # when the first failure leaves the window
    clock.advance(minutes=9)
    for _ in range(3):  # refusals while locked do not extend the lock
        with pytest.raises(TooManyAttempts):
            desk.authenticate("steve", "guess")
    clock.advance(minutes=1, seconds=1)
    # the first three failures are out of the window: three attempts are back
    customer = desk.authenticate("steve", DEFAULT_PASSWORD)
    assert customer is not None and customer.id == "steve"


def test_success_clears_the_logins_failures(open_desk: Callable[..., Desk]) -> None:
    one, two = open_desk(), open_desk()
    fail(one, times=4)
    customer = two.authenticate("steve", DEFAULT_PASSWORD)
    assert customer is not None and customer.id == "steve"
    fail(one, times=5)  # five more allowed again
    with pytest.raises(TooManyAttempts):
        two.authenticate("steve", DEFAULT_PASSWORD)


def test_unknown_logins_are_counted_without_saying_they_are_unknown(open_desk: Callable[..., Desk]) -> None:
    desk = open_desk()
    assert desk.authenticate("nobody", DEFAULT_PASSWORD) is None  # the same answer as a wrong password
    assert desk.authenticate("", DEFAULT_PASSWORD) is None
    assert desk.authenticate("steve", "") is None  # an empty password is never given to the directory
    fail(desk, "nobody", times=4)
    with pytest.raises(TooManyAttempts) as unknown:
        desk.authenticate("nobody", DEFAULT_PASSWORD)
    fail(desk, "scott", times=5)
    with pytest.raises(TooManyAttempts) as known:
        desk.authenticate("scott", DEFAULT_PASSWORD)
    assert str(unknown.value) == str(known.value)


def test_nothing_secret_is_stored_and_old_failures_are_pruned(open_desk: Callable[..., Desk], clock: Clock) -> None:
    desk = open_desk()
    assert desk.authenticate("my-Secret-passw0rd", "steve", address="192.0.2.7") is None  # fields swapped by mistake
    with desk.engine.connect() as conn:
        (row,) = conn.execute(select(t.sign_in_failures)).mappings()
    assert row["address"] == "192.0.2.7"
    stored = " ".join(str(v) for v in row.values()).casefold()
    assert "secret" not in stored and "passw0rd" not in stored and "steve" not in stored
    fail(desk, times=3)
    assert failures(desk) == 4
    clock.advance(minutes=16)
    fail(desk, "scott")
    assert failures(desk) == 1, "failures older than the window are deleted when a new one is recorded"


def test_one_address_trying_many_logins_is_stopped(
    write_deployment: Callable[..., Path], database_url: str, open_desk: Callable[..., Desk]
) -> None:
    path = write_deployment(database=database_url, extra="[security]\nsign_in_attempts_per_address = 3\n")
    write_customers(path.parent / "customers.toml")
    desk = open_desk(path)
    for login in ("alice", "bob", "carol"):
        fail(desk, login, address="198.51.100.9")
    with pytest.raises(TooManyAttempts):
        desk.authenticate("steve", DEFAULT_PASSWORD, address="198.51.100.9")
    assert desk.authenticate("steve", DEFAULT_PASSWORD, address="198.51.100.10") is not None
    assert desk.authenticate("scott", DEFAULT_PASSWORD) is not None  # no address known: only the login counts


def test_concurrent_attempts_never_get_more_than_the_limit(open_desk: Callable[..., Desk]) -> None:
    desks = [open_desk(), open_desk()]
    outcomes: list[str] = []
    lock = threading.Lock()

    def attempt(desk: Desk) -> None:
        try:
            result = desk.authenticate("steve", "not the password")
            outcome = "checked" if result is None else "signed in"
        except TooManyAttempts:
            outcome = "refused"
        with lock:
            outcomes.append(outcome)

    threads = [threading.Thread(target=attempt, args=(desks[i % 2],)) for i in range(16)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    assert outcomes.count("checked") == 5 and outcomes.count("refused") == 11


def test_a_call_may_bring_its_own_limit(open_desk: Callable[..., Desk], clock: Clock) -> None:
    desk = open_desk()
    fail(desk, times=2, address="192.0.2.1")
    with pytest.raises(TooManyAttempts) as refused:
        desk.authenticate("steve", DEFAULT_PASSWORD, attempts=2, window=timedelta(minutes=5))
    assert refused.value.retry_after == pytest.approx(300)
    assert desk.authenticate("steve", DEFAULT_PASSWORD) is not None  # the deployment's limit is 5


@pytest.mark.no_database
@pytest.mark.parametrize(
    ("table", "problem"),
    [
        ("sign_in_attempts = 0", "security.sign_in_attempts: expected at least 1, got 0"),
        ("sign_in_window_minutes = -1", "security.sign_in_window_minutes: expected at least 0.1, got -1.0"),
        ('sign_in_attempts = "5"', "security.sign_in_attempts: expected an integer, got str '5'"),
        ("sign_in_atempts = 5", "security.sign_in_atempts: unknown key; did you mean 'sign_in_attempts'?"),
    ],
)
def test_security_settings_are_checked(tmp_path: Path, table: str, problem: str) -> None:
    from itsmcore.config import read_config

    write_customers(tmp_path / "customers.toml")
    path = tmp_path / "itsm.toml"
    path.write_text(f'[directory.main]\nuse = "file"\npath = "customers.toml"\n\n[security]\n{table}\n')
    with pytest.raises(ConfigError) as err:
        read_config(path)
    assert problem in str(err.value)


def test_the_service_desk_unlocks_a_login_for_every_process(open_desk: Callable[..., Desk], config: Path) -> None:
    """``itsm customer unlock`` forgets the login's failures; another desk (process) lets the customer in at once."""
    from click.testing import CliRunner

    from itsmcore.cli import cli

    one = open_desk()
    fail(one, times=5)
    fail(one, "scott", times=2)
    with pytest.raises(TooManyAttempts):
        one.authenticate("steve", DEFAULT_PASSWORD)
    r = CliRunner().invoke(cli, ["-c", str(config), "customer", "unlock", "Steve"])
    assert r.exit_code == 0, r.output
    assert r.stdout.strip() == "Steve: 5 failed sign-in(s) forgotten"
    customer = open_desk().authenticate("steve", DEFAULT_PASSWORD)
    assert customer is not None and customer.id == "steve"
    assert failures(one) == 2, "other logins keep their count"
    again = CliRunner().invoke(cli, ["-c", str(config), "customer", "unlock", "steve"])
    assert again.stdout.strip() == "steve: no failed sign-ins to forget"


# --------------------------------------------------------------------------- sessions


def test_a_session_lives_until_it_is_ended_or_expires(open_desk: Callable[..., Desk], clock: Clock) -> None:
    desk, other_process = open_desk(), open_desk()
    token = desk.begin_session("steve", hours=8)
    assert other_process.session_customer(token) == "steve"  # held in the store: every process agrees
    assert desk.session_customer(token + "x") is None and desk.session_customer(None) is None
    assert desk.end_session(token) is True
    assert other_process.session_customer(token) is None
    assert desk.end_session(token) is False  # ending twice changes nothing

    later = desk.begin_session("steve", hours=1)
    clock.advance(minutes=59)
    assert desk.session_customer(later) == "steve"
    clock.advance(minutes=2)
    assert desk.session_customer(later) is None


def test_ending_every_session_of_a_customer(open_desk: Callable[..., Desk]) -> None:
    desk = open_desk()
    phone, laptop, other = desk.begin_session("steve"), desk.begin_session("steve"), desk.begin_session("tony")
    assert desk.end_sessions("steve") == 2
    assert desk.session_customer(phone) is None and desk.session_customer(laptop) is None
    assert desk.session_customer(other) == "tony"


def test_the_store_keeps_no_session_token(open_desk: Callable[..., Desk]) -> None:
    desk = open_desk()
    token = desk.begin_session("steve")
    with desk.engine.connect() as conn:
        stored = [tuple(str(v) for v in row) for row in conn.execute(select(t.sign_in_sessions))]
    assert stored and not any(token in value for row in stored for value in row)


@pytest.mark.no_database
def test_an_unknown_login_costs_the_same_password_check_as_a_wrong_password(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """How long a refusal takes must not tell whether the login exists: both run one scrypt."""
    import hashlib

    from itsmcore.builtin.directory import FileDirectory, FileDirectorySettings
    from itsmcore.testing import context_for

    write_customers(tmp_path / "customers.toml")
    directory = FileDirectory(FileDirectorySettings(path="customers.toml"), context_for(tmp_path))
    directory.authenticate("nobody-here", "x")  # the stand-in hash is made once, on first need
    calls: list[int] = []
    real = hashlib.scrypt

    def counting(*args: object, **kwargs: object) -> bytes:
        calls.append(1)
        return real(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(hashlib, "scrypt", counting)
    for login in ("steve", "nobody-here", "no@such.address"):
        calls.clear()
        assert directory.authenticate(login, "not the password") is None
        assert len(calls) == 1, (login, len(calls))
    calls.clear()
    assert directory.authenticate("steve", DEFAULT_PASSWORD) is not None and len(calls) == 1
