"""The runner component on its own: record, settings, secrets, broker outage at submit time."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest
from itsmcore import ComponentContext
from itsmcore.testing import check_component_record

from celery_servers import free_port
from itsm_celery.runner import CeleryRunner, broker_url, celery_runner_component
from itsm_celery.settings import CelerySettings


def _ctx(tmp_path: Path) -> ComponentContext:
    return ComponentContext(name="celery", deployment="t", base_dir=tmp_path)


def test_record_and_settings_are_documented() -> None:
    check_component_record(celery_runner_component())


def test_password_never_in_config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(ValueError, match="must not hold a password"):
        CelerySettings(broker_url="redis://:hunter2@127.0.0.1:6379/0")
    monkeypatch.setenv("BROKER_PW", "s3cr/et")
    s = CelerySettings(broker_url="redis://127.0.0.1:6379/0", broker_password_env="BROKER_PW")
    assert broker_url(s, _ctx(tmp_path)) == "redis://:s3cr%2Fet@127.0.0.1:6379/0"
    (tmp_path / "pw").write_text("filepw\n")
    s = CelerySettings(broker_url="amqp://itsm@127.0.0.1:5672//", broker_password_file="pw")
    assert broker_url(s, _ctx(tmp_path)) == "amqp://itsm:filepw@127.0.0.1:5672//"
    monkeypatch.setenv("BROKER_URL", "redis://:x@127.0.0.1:1/0")
    assert broker_url(CelerySettings(broker_url_env="BROKER_URL"), _ctx(tmp_path)).endswith(":1/0")


def test_wake_with_broker_down_does_not_fail(tmp_path: Path) -> None:
    s = CelerySettings(broker_url=f"redis://127.0.0.1:{free_port()}/0", connect_timeout=0.5)
    runner = CeleryRunner(s, _ctx(tmp_path))
    # wake gives up on the broker (the jobs wait in the database for the sweep) rather than
    # raising or hanging; the deadline only catches a hang, however loaded the machine
    waker = threading.Thread(target=runner.wake, args=(None, [1, 2, 3]), daemon=True)
    waker.start()
    waker.join(timeout=300)
    assert not waker.is_alive(), "wake() hung with the broker down"


def test_config_selects_runner(make_config, redis_server) -> None:  # type: ignore[no-untyped-def]
    from click.testing import CliRunner
    from itsmcore.cli import cli

    config = make_config()
    out = CliRunner().invoke(cli, ["-c", str(config), "check"])
    assert out.exit_code == 0, out.output
    bad = config.read_text().replace('use = "celery"', 'use = "celery"\nbroker_ur = "x"')
    config.write_text(bad)
    out = CliRunner().invoke(cli, ["-c", str(config), "check"])
    assert out.exit_code == 2 and "broker_ur" in out.output


def test_worker_help() -> None:
    from click.testing import CliRunner
    from itsmcore.cli import cli

    out = CliRunner().invoke(cli, ["worker", "--help"])
    assert out.exit_code == 0 and "--concurrency" in out.output and "sweep" in out.output
