"""Progress bars on long work: drawn on a terminal's stderr, quiet with --quiet or when stderr is no terminal."""

from __future__ import annotations

import os
import pty
import subprocess
import sys
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

import pytest

from itsmcore.desk import Desk
from itsmcore.history import Clock

from .test_report_maps import T0, TO_BE, phone_request


def on_terminal(config: Path, *args: str) -> tuple[subprocess.CompletedProcess[str], str]:
    """Run ``itsm`` with its stderr on a pseudo-terminal; the result and what the terminal received."""
    leader, follower = pty.openpty()
    env = {**os.environ, "TERM": "xterm-256color", "COLUMNS": "120", "LINES": "40"}
    env.pop("NO_COLOR", None)
    proc = subprocess.Popen(
        [sys.executable, "-m", "itsmcore", "-c", str(config), *args],
        stdout=subprocess.PIPE,
        stderr=follower,
        stdin=subprocess.DEVNULL,
        text=True,
        env=env,
    )
    os.close(follower)
    received = bytearray()
    while True:
        try:
            chunk = os.read(leader, 65536)
        except OSError:  # the terminal closed: the process has gone
            break
        if not chunk:
            break
        received += chunk
    stdout, _ = proc.communicate(timeout=300)
    os.close(leader)
    return subprocess.CompletedProcess(proc.args, proc.returncode, stdout, ""), received.decode("utf-8", "replace")


@pytest.fixture
def config(eagle5: Callable[..., Path], tmp_path: Path) -> Path:
    """Eagle5 on SQLite with a few smartphone journeys (the runner is the inline default)."""
    path = eagle5(f"sqlite:///{tmp_path / 'progress.db'}", TO_BE)
    clock = Clock(T0)
    with Desk.open(path, entry_points=False, clock=clock) as desk:
        for approval in (timedelta(hours=2), timedelta(days=3)):
            phone_request(desk, clock, "steve", approval)
    return path


def test_the_rollup_and_the_workshop_pack_draw_bars_on_a_terminal_and_not_with_quiet(
    config: Path, tmp_path: Path
) -> None:
    r, terminal = on_terminal(config, "report", "workshop", "--service", "smartphone", "-o", str(tmp_path / "a"))
    assert r.returncode == 0 and "wrote" in r.stdout, terminal
    assert "journey rollup" in terminal and "workshop" in terminal, terminal
    assert "pdf" in terminal or "PDFs skipped" in terminal, "the PDF pages are counted (or it says why not)"
    r, terminal = on_terminal(
        config, "report", "workshop", "--service", "smartphone", "-o", str(tmp_path / "b"), "-q", "--no-pdf"
    )
    assert r.returncode == 0 and "wrote" in r.stdout
    assert "journey rollup" not in terminal and "workshop:" not in terminal, terminal


def test_the_fan_out_run_from_the_command_line_draws_a_bar_of_customers_told(config: Path) -> None:
    r, terminal = on_terminal(config, "announcement", "open", "--service", "crm", "--title", "CRM is down")
    assert r.returncode == 0 and "opened for crm" in r.stdout, terminal
    assert "telling customers" in terminal, terminal
    r, terminal = on_terminal(config, "announcement", "resolve", "1", "--resolution", "fixed", "--quiet")
    assert r.returncode == 0 and "resolved" in r.stdout
    assert "telling customers" not in terminal, terminal
    # not a terminal: nothing on stderr
    plain = subprocess.run(
        [
            sys.executable,
            "-m",
            "itsmcore",
            "-c",
            str(config),
            "announcement",
            "open",
            "--service",
            "crm",
            "--title",
            "x",
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert plain.returncode == 0 and plain.stderr == "", plain.stderr


def test_jobs_run_draws_a_bar_of_the_jobs_it_runs(eagle5: Callable[..., Path], tmp_path: Path) -> None:
    config = eagle5(f"sqlite:///{tmp_path / 'deferred.db'}", '\n[runner]\nuse = "deferred"\n')
    with Desk.open(config, entry_points=False) as desk:
        desk.open_announcement("crm", "CRM is down")
        assert desk.job_stats().get("pending", 0) >= 1
    r, terminal = on_terminal(config, "jobs", "run")
    assert r.returncode == 0 and "ran" in r.stdout, terminal
    assert "running jobs" in terminal, terminal
