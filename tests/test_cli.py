"""The itsm command line, run as a user would: a real process and real files."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

ITSM = [sys.executable, "-m", "itsmcore"]


def itsm(
    *args: str, cwd: Path | None = None, env: dict[str, str] | None = None, input: str | None = None
) -> subprocess.CompletedProcess[str]:
    full_env = {k: v for k, v in os.environ.items() if k != "ITSM_CONFIG"} | (env or {})
    return subprocess.run(
        [*ITSM, *args], capture_output=True, text=True, cwd=cwd, env=full_env, input=input, timeout=120
    )


def test_version_and_help() -> None:
    r = itsm("--version")
    assert r.returncode == 0 and "itsm, version" in r.stdout
    r = itsm("--help")
    assert r.returncode == 0
    for command in ("init", "check", "plugins", "db", "demand", "customer", "jobs"):
        assert command in r.stdout


def test_help_does_not_import_sqlalchemy() -> None:
    code = (
        "import sys\n"
        "from itsmcore.cli import main\n"
        "try:\n    main(['--help'])\nexcept SystemExit:\n    pass\n"
        "print('sqlalchemy' in sys.modules)\n"
    )
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert r.stdout.strip().splitlines()[-1] == "False"


def test_every_command_has_help_text() -> None:
    from itsmcore.cli import cli

    def walk(group, prefix):  # type: ignore[no-untyped-def]
        for name, cmd in group.commands.items():
            assert cmd.help, f"'itsm {prefix}{name}' has no --help text"
            if hasattr(cmd, "commands"):
                walk(cmd, f"{prefix}{name} ")

    walk(cli, "")


def test_init_check_submit_show_list(tmp_path: Path) -> None:
    d = tmp_path / "desk"
    r = itsm("init", str(d))
    assert r.returncode == 0, r.stderr
    assert "password is:" in r.stdout
    password = r.stdout.rsplit("password is:", 1)[1].split()[0]
    assert password not in (d / "customers.toml").read_text(), "plaintext password written to disk"
    cfg = str(d / "itsm.toml")

    r = itsm("-c", cfg, "check")
    assert r.returncode == 0, r.stderr
    assert "OK" in r.stdout and "customers:  3" in r.stdout and "vpn" in r.stdout

    r = itsm(
        "-c",
        cfg,
        "demand",
        "submit",
        "--kind",
        "failure",
        "--customer",
        "alice",
        "--summary",
        "VPN drops",
        "--format",
        "json",
    )
    assert r.returncode == 0, r.stderr
    made = json.loads(r.stdout)
    assert made["kind"] == "failure" and made["customer"] == "alice" and "acknowledgement" in made

    r = itsm("-c", cfg, "demand", "show", str(made["id"]), "--format", "json")
    shown = json.loads(r.stdout)
    assert shown["id"] == made["id"]
    assert [e["stage"] for e in shown["journey"]][:2] == ["engage", "acknowledge"]
    assert shown["journey"][0]["customer_sees"] == "You told us: VPN drops"

    r = itsm("-c", cfg, "demand", "show", str(made["id"]))
    assert "customer sees" in r.stdout and "behind scenes" in r.stdout and "engage" in r.stdout

    r = itsm("-c", cfg, "demand", "list", "--format", "json")
    rows = json.loads(r.stdout)
    assert isinstance(rows, list) and rows[0]["id"] == made["id"]

    r = itsm("-c", cfg, "customer", "list", "--format", "json")
    assert [c["id"] for c in json.loads(r.stdout)] == ["alice", "bob", "carol"]
    r = itsm("-c", cfg, "customer", "show", "alice", "--format", "json")
    alice = json.loads(r.stdout)
    assert alice["id"] == "alice" and alice["groups"] == ["engineering"]
    assert alice["devices"][0]["id"] == "ci-laptop-alice"
    r = itsm("-c", cfg, "customer", "show", "alcie")
    assert r.returncode == 1 and "did you mean 'alice'" in r.stderr

    r = itsm("-c", cfg, "plugins", "--format", "json")
    builtin = next(p for p in json.loads(r.stdout) if p["id"] == "builtin")
    assert "directory:file" in builtin["components"] and "channel:log" in builtin["components"]
    assert {"survey:nps", "survey:csat", "survey:ces"} <= set(builtin["components"])

    # ITSM_CONFIG works instead of -c
    r = itsm("check", env={"ITSM_CONFIG": cfg})
    assert r.returncode == 0


def test_config_errors_exit_2_with_one_line_each(write_deployment: Callable[..., Path]) -> None:
    path = write_deployment("\n[channels.sms]\nuse = 'smss'\n")
    r = itsm("-c", str(path), "check")
    assert r.returncode == 2
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and "channels.sms.use" in lines[0] and "Traceback" not in r.stderr
    r = itsm("-c", str(path), "demand", "list")
    assert r.returncode == 2
    assert not (path.parent / "itsm.db").exists(), "a config error must start nothing"


def test_check_says_what_each_plan_step_runs(eagle5: Callable[..., Path]) -> None:
    r = itsm("-c", str(eagle5()), "check")
    assert r.returncode == 0, r.stderr
    assert "    expensatron: cmdb.verify_device (default settings)  ·  notify.send_link (default settings)" in r.stdout
    assert "    smartphone: approval (default settings)  ·  task 'Order and ship the phone' (logistics)" in r.stdout


def test_check_fails_on_a_plan_action_that_cannot_be_built(write_deployment: Callable[..., Path]) -> None:
    from tests.test_config import ACME

    path = write_deployment('\n[plugins]\nmodules = ["acme_plugin"]\n')
    (path.parent / "acme_plugin.py").write_text(ACME)
    path.write_text(path.read_text().replace('action = "notify.send_link"', 'action = "acme.account"'))
    r = itsm("-c", str(path), "check", env={"PYTHONPATH": str(path.parent)})
    assert r.returncode == 2, r.stdout
    assert "services[0].plan[1].action: action 'acme.account' has no [actions.acme.account] table" in r.stderr
    assert "(it needs base_url)" in r.stderr and "Traceback" not in r.stderr
    # with its table, the step says which one it uses
    with path.open("a") as f:
        f.write('\n[actions.acme]\nuse = "acme.account"\nbase_url = "http://127.0.0.1:9"\n')
    r = itsm("-c", str(path), "check", env={"PYTHONPATH": str(path.parent)})
    assert r.returncode == 0, r.stderr
    assert "acme.account → [actions.acme]" in r.stdout


def test_malformed_toml_exit_2(tmp_path: Path) -> None:
    p = tmp_path / "itsm.toml"
    p.write_text("[deployment\nname='x'\n")
    r = itsm("-c", str(p), "check")
    assert r.returncode == 2 and "line 1" in r.stderr and "Traceback" not in r.stderr


def test_unreachable_database_is_one_line_and_writes_nothing(write_deployment: Callable[..., Path]) -> None:
    from itsmcore.testing.postgres import free_port

    path = write_deployment(database=f"postgresql+psycopg://nobody:secretpw@127.0.0.1:{free_port()}/itsm")
    r = itsm("-c", str(path), "demand", "submit", "--kind", "failure", "--customer", "steve", "--summary", "x")
    assert r.returncode == 1
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and "cannot open database" in lines[0]
    assert "secretpw" not in r.stderr, "passwords must never be printed"

    path = write_deployment(database="sqlite:///no/such/dir/itsm.db")
    r = itsm("-c", str(path), "demand", "list")
    assert r.returncode == 1 and "does not exist" in r.stderr
    assert not (path.parent / "no").exists()


def test_illegal_transition_from_the_cli(write_deployment: Callable[..., Path]) -> None:
    cfg = str(write_deployment())
    r = itsm(
        "-c", cfg, "demand", "submit", "--kind", "failure", "--customer", "steve", "--summary", "x", "--format", "json"
    )
    did = str(json.loads(r.stdout)["id"])
    r = itsm("-c", cfg, "demand", "transition", did, "closed")
    assert r.returncode == 1 and f"demand {did}" in r.stderr and "Allowed next" in r.stderr


def test_a_conflict_is_one_line_naming_the_state(write_deployment: Callable[..., Path]) -> None:
    """A command refused because of the demand's state says so in one line, exit 1, no traceback."""
    cfg = str(write_deployment())
    r = itsm(
        "-c", cfg, "demand", "submit", "--kind", "failure", "--customer", "steve", "--summary", "x", "--format", "json"
    )
    made = json.loads(r.stdout)
    did, state = str(made["id"]), made["state"]

    # An IllegalTransition is a Conflict: its message names the state and the allowed next states.
    r = itsm("-c", cfg, "demand", "transition", did, "closed")
    lines = r.stderr.strip().splitlines()
    assert r.returncode == 1 and "Traceback" not in r.stderr, r.stderr
    assert len(lines) == 1 and lines[0].startswith("error: "), r.stderr
    assert f"demand {did}" in lines[0] and f"is {state}" in lines[0] and "Allowed next" in lines[0]

    # Approving what does not wait for approval: refused, naming the state the demand is in.
    r = itsm("-c", cfg, "demand", "approve", did, "--as", "steve")
    lines = r.stderr.strip().splitlines()
    assert r.returncode == 1 and "Traceback" not in r.stderr, r.stderr
    assert len(lines) == 1 and f"demand {did} is {state}" in lines[0] and "not awaiting approval" in lines[0]


def test_errors_exit_with_the_status_of_their_kind() -> None:
    """The root group maps an error to its exit status by its class (``exit_code``), not by its name."""
    from click.testing import CliRunner

    from itsmcore.cli.base import ItsmGroup
    from itsmcore.errors import ConfigError, ConfigProblem, Conflict, ItsmError, NotFound

    group = ItsmGroup(name="itsm")
    to_raise: list[ItsmError] = []

    @group.command()
    def boom() -> None:
        """Raise the error under test."""
        raise to_raise[0]

    cases: list[tuple[ItsmError, int]] = [
        (Conflict("announcement 3 is resolved; nothing to update", state="resolved"), 1),
        (NotFound("no demand 9"), 1),
        (ConfigError([ConfigProblem("itsm.toml", "channels.sms.use", "no channel 'smss'")]), 2),
    ]
    for error, status in cases:
        to_raise[:] = [error]
        result = CliRunner().invoke(group, ["boom"])
        assert result.exit_code == status, (error, result.output)
        assert result.stderr.strip().splitlines() == [f"error: {line}" for line in str(error).splitlines()]
        assert "Traceback" not in result.output


def test_unknown_customer_from_the_cli(write_deployment: Callable[..., Path]) -> None:
    r = itsm(
        "-c", str(write_deployment()), "demand", "submit", "--kind", "failure", "--customer", "ghost", "--summary", "x"
    )
    assert r.returncode == 1 and "unknown customer 'ghost'" in r.stderr


def test_debug_shows_the_traceback(write_deployment: Callable[..., Path]) -> None:
    r = itsm("--debug", "-c", str(write_deployment()), "demand", "show", "999")
    assert r.returncode != 0 and "Traceback" in r.stderr


def test_answers_must_be_name_equals_value(write_deployment: Callable[..., Path]) -> None:
    r = itsm(
        "-c",
        str(write_deployment()),
        "demand",
        "submit",
        "--kind",
        "value",
        "--customer",
        "steve",
        "--service",
        "expensatron",
        "--answer",
        "mobile_number",
    )
    assert r.returncode == 2 and "NAME=VALUE" in r.stderr
