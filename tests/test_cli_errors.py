"""The command line in a broken environment: one line saying what is wrong, never a traceback.

Each environment is broken the way a user's gets broken (a config nobody may read, a
database that is read-only or not a database, an example that is not there, a plugin
with a bug), and the main commands run against it in a real process through the
installed ``itsm`` script, as a user runs them.
"""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
import sys
import textwrap
from collections.abc import Callable, Iterator
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from itsmcore.cli.base import ItsmGroup

_SCRIPT = Path(sys.executable).with_name("itsm")
#: The console script users run (its ``main`` is the entry point under test), else the module.
ITSM = [str(_SCRIPT)] if _SCRIPT.exists() else [sys.executable, "-m", "itsmcore"]

SUBMIT = ("demand", "submit", "--kind", "failure", "--customer", "steve", "--summary", "VPN drops")
#: The commands a user types first; each must fail in one line when its environment is broken.
MAIN_COMMANDS: dict[str, tuple[str, ...]] = {
    "check": ("check",),
    "demand list": ("demand", "list"),
    "demand submit": SUBMIT,
    "customer list": ("customer", "list"),
    "jobs list": ("jobs", "list"),
    "report experience": ("report", "experience"),
}


def itsm(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """Run ``itsm`` in a fresh process, without the caller's ITSM_CONFIG or ITSM_DEBUG."""
    base = {k: v for k, v in os.environ.items() if k not in ("ITSM_CONFIG", "ITSM_DEBUG")}
    return subprocess.run([*ITSM, *args], capture_output=True, text=True, env=base | (env or {}), timeout=120)


def one_line(r: subprocess.CompletedProcess[str], *expected: str) -> str:
    """The one line the command printed about its failure; checks it failed, without a traceback."""
    assert r.returncode != 0, r.stdout
    assert "Traceback" not in r.stdout + r.stderr, r.stderr
    lines = [line for line in r.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, r.stderr
    for text in expected:
        assert text in lines[0], lines[0]
    return lines[0]


# --------------------------------------------------------------------------- an unreadable config


@pytest.fixture
def unreadable_config(write_deployment: Callable[..., Path], tmp_path: Path) -> Iterator[Path]:
    """A config path that cannot be read: its directory is chmod 000.

    Where that does not stop reads (root, or CAP_DAC_OVERRIDE), the path is a directory
    instead: the same failure to the command line, an OSError from reading the config.
    """
    written = write_deployment(database=f"sqlite:///{tmp_path / 'itsm.db'}")
    locked = tmp_path / "locked"
    locked.mkdir()
    for name in ("itsm.toml", "customers.toml"):
        shutil.copy(written.parent / name, locked / name)
    locked.chmod(0)
    try:
        (locked / "itsm.toml").read_bytes()
    except PermissionError:
        yield locked / "itsm.toml"
        locked.chmod(0o700)  # so that pytest can remove it
        return
    locked.chmod(0o700)
    as_directory = tmp_path / "config-is-a-directory" / "itsm.toml"
    as_directory.mkdir(parents=True)
    yield as_directory


@pytest.mark.no_database
@pytest.mark.parametrize("command", [*MAIN_COMMANDS, "plugins"])
def test_an_unreadable_config_is_one_line_exit_2(unreadable_config: Path, command: str) -> None:
    args = MAIN_COMMANDS.get(command, (command,))
    r = itsm("-c", str(unreadable_config), *args)
    line = one_line(r, str(unreadable_config), "cannot read")
    assert r.returncode == 2, line


@pytest.mark.no_database
def test_an_unreadable_config_named_by_itsm_config_is_one_line(unreadable_config: Path) -> None:
    r = itsm(*SUBMIT, env={"ITSM_CONFIG": str(unreadable_config)})
    one_line(r, str(unreadable_config), "cannot read")
    assert r.returncode == 2


# --------------------------------------------------------------------------- a database that cannot be used


def make_read_only(db: Path) -> None:
    """Make the SQLite database ``db`` read-only for everyone, root included.

    SQLite treats a file whose header gives a write version above 2 (byte 18) as read-only
    while still reading it (the file format's "File format version numbers"); chmod would
    not stop root. The file is left in WAL mode, as itsm leaves it, so opening it succeeds
    and the first write is what fails, in the middle of a command.
    """
    conn = sqlite3.connect(db)
    try:
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    finally:
        conn.close()
    with db.open("r+b") as f:
        f.seek(18)
        assert f.read(2) == b"\x02\x02", "expected a database in WAL mode"
        f.seek(18)
        f.write(b"\x03")


@pytest.fixture
def read_only_database(write_deployment: Callable[..., Path], tmp_path: Path) -> tuple[Path, Path]:
    """A deployment whose SQLite database (with one demand in it) can be read but not written."""
    db = tmp_path / "itsm.db"
    config = write_deployment(database=f"sqlite:///{db}")
    assert itsm("-c", str(config), *SUBMIT).returncode == 0
    make_read_only(db)
    return config, db


@pytest.fixture
def not_a_database(write_deployment: Callable[..., Path], tmp_path: Path) -> tuple[Path, Path]:
    """A deployment whose database file is not an SQLite database (a file put there by mistake)."""
    db = tmp_path / "itsm.db"
    db.write_text("these are my notes, not a database\n" * 100)
    return write_deployment(database=f"sqlite:///{db}"), db


#: Environment -> (the commands that must fail in it, what the line says). Reading a
#: read-only database works; a command that writes must fail.
DATABASES: dict[str, tuple[set[str], str]] = {
    "read_only_database": ({"demand submit"}, "readonly"),
    "not_a_database": ({"demand list", "demand submit", "jobs list", "report experience"}, "not a database"),
}


@pytest.mark.parametrize("command", MAIN_COMMANDS)
@pytest.mark.parametrize("broken", DATABASES)
def test_a_database_that_cannot_be_used_is_one_line(request: pytest.FixtureRequest, broken: str, command: str) -> None:
    config, db = request.getfixturevalue(broken)
    must_fail, reason = DATABASES[broken]
    r = itsm("-c", str(config), *MAIN_COMMANDS[command])
    assert "Traceback" not in r.stdout + r.stderr, r.stderr
    if command in must_fail or r.returncode != 0:
        line = one_line(r, "cannot", str(db), reason)
        assert r.returncode == 1 and line.startswith("error: "), line


# --------------------------------------------------------------------------- a missing example


@pytest.mark.no_database
def test_demo_with_a_missing_example_is_one_line(tmp_path: Path) -> None:
    missing = tmp_path / "nonexistent"
    r = itsm("demo", "--example", str(missing))
    one_line(r, str(missing))


# --------------------------------------------------------------------------- a plugin with a bug


def install_fake_plugin(site: Path, name: str, version: str, module_text: str) -> None:
    """Install a plugin distribution ``name`` into ``site`` the way pip lays one out: a
    module plus a ``.dist-info`` whose entry point in the group ``itsm`` names it."""
    module = name.replace("-", "_") + "_plugin"
    dist_info = site / f"{name.replace('-', '_')}-{version}.dist-info"
    dist_info.mkdir(parents=True)
    (dist_info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n")
    (dist_info / "entry_points.txt").write_text(f"[itsm]\n{name.removeprefix('itsm-')} = {module}\n")
    (site / f"{module}.py").write_text(textwrap.dedent(module_text))


BUGGY_PLUGIN = '''
    """A plugin whose commands end the way bugs and impatient users end them."""

    ITSM_CONTRACT = "1.0"


    def itsm_register_commands(cli):
        @cli.command()
        def boom():
            """Hit a bug."""
            raise RuntimeError("the flux capacitor is empty")

        @cli.command()
        def interrupt():
            """Stand for Ctrl-C."""
            raise KeyboardInterrupt
'''


def on_path(site: Path) -> dict[str, str]:
    """The environment that puts ``site`` on the plugins' import path, as an installed one is."""
    return {"PYTHONPATH": os.pathsep.join(p for p in (str(site), os.environ.get("PYTHONPATH", "")) if p)}


@pytest.mark.no_database
def test_a_plugin_command_with_a_bug_is_one_internal_error_line(tmp_path: Path) -> None:
    install_fake_plugin(tmp_path, "itsm-buggy", "0.2.0", BUGGY_PLUGIN)
    env = on_path(tmp_path)

    r = itsm("boom", env=env)
    line = one_line(r, "the flux capacitor is empty")
    assert r.returncode == 1
    assert line == "internal error: RuntimeError: the flux capacitor is empty; run again with --debug for the traceback"

    for debug in (["--debug"], []):  # --debug, then ITSM_DEBUG=1: the traceback is shown
        r = itsm(*debug, "boom", env=env | ({} if debug else {"ITSM_DEBUG": "1"}))
        assert r.returncode == 1
        assert "Traceback" in r.stderr and "RuntimeError: the flux capacitor is empty" in r.stderr
        assert "internal error" not in r.stderr

    r = itsm("interrupt", env=env)
    assert one_line(r) == "interrupted" and r.returncode == 130


# --------------------------------------------------------------------------- itsm --version


@pytest.mark.no_database
def test_version_lists_the_core_and_each_plugin_with_its_contract(tmp_path: Path) -> None:
    from importlib import metadata

    from itsmcore.hookspecs import CONTRACT_VERSION

    install_fake_plugin(tmp_path, "itsm-buggy", "0.2.0", BUGGY_PLUGIN)
    install_fake_plugin(tmp_path, "itsm-broken", "0.3.0", "import itsm_no_such_module\n")
    install_fake_plugin(tmp_path, "itsm-silent", "0.4.0", "def itsm_channels():\n    return []\n")
    install_fake_plugin(tmp_path, "itsm-pair", "0.5.0", 'ITSM_CONTRACT = "1.0"\n')
    with (tmp_path / "itsm_pair-0.5.0.dist-info" / "entry_points.txt").open("a") as f:
        f.write("another = itsm_silent_plugin\n")  # one distribution, two plugins

    r = itsm("--version", env=on_path(tmp_path))
    assert r.returncode == 0 and not r.stderr, r.stderr
    lines = r.stdout.splitlines()
    assert lines[0] == f"itsm, version {metadata.version('itsmcore')} (hook contract {CONTRACT_VERSION})"
    assert "itsm-buggy 0.2.0 (contract 1.0)" in lines
    assert "itsm-broken 0.3.0 (cannot be loaded: ModuleNotFoundError: No module named 'itsm_no_such_module')" in lines
    assert "itsm-silent 0.4.0 (no contract declared)" in lines
    assert "itsm-pair 0.5.0 (another: no contract declared; pair: contract 1.0)" in lines
    for ep in metadata.entry_points(group="itsm"):  # the plugins installed in this environment
        assert ep.dist is not None
        assert any(line.startswith(f"{ep.dist.name} {ep.dist.version} (") for line in lines[1:]), ep


# --------------------------------------------------------------------------- how the root group maps errors


def run_raising(error: BaseException, obj: dict[str, object] | None = None) -> tuple[int, list[str]]:
    """Run a command that raises ``error`` under the root group; its exit status and stderr lines."""
    group = ItsmGroup(name="itsm")

    @group.command()
    def boom() -> None:
        """Raise the error under test."""
        raise error

    result = CliRunner().invoke(group, ["boom"], obj=obj or {})
    assert "Traceback" not in result.output
    return result.exit_code, result.stderr.splitlines()


@pytest.mark.no_database
def test_an_os_error_on_the_config_is_a_config_error_exit_2(tmp_path: Path) -> None:
    config = tmp_path / "itsm.toml"
    denied = PermissionError(13, "Permission denied", str(config))
    assert run_raising(denied, {"config": config}) == (2, [f"error: {config}: cannot read: Permission denied"])
    # Its directory is the config's too; another file is named, exit 1.
    denied = PermissionError(13, "Permission denied", str(tmp_path))
    assert run_raising(denied, {"config": config}) == (2, [f"error: {tmp_path}: cannot read: Permission denied"])
    other = tmp_path / "elsewhere.txt"
    missing = FileNotFoundError(2, "No such file or directory", str(other))
    assert run_raising(missing, {"config": config}) == (1, [f"error: {other}: No such file or directory"])


@pytest.mark.no_database
def test_an_sqlite_error_names_the_deployments_database(write_deployment: Callable[..., Path], tmp_path: Path) -> None:
    db = tmp_path / "itsm.db"
    config = write_deployment(database=f"sqlite:///{db}")
    status, lines = run_raising(sqlite3.OperationalError("database is locked"), {"config": config})
    assert status == 1 and lines == [f"error: cannot use database sqlite:///{db}: database is locked"]
    # An integrity error is a bug, not the environment.
    status, lines = run_raising(sqlite3.IntegrityError("UNIQUE constraint failed"), {"config": config})
    assert status == 1 and lines[0].startswith("internal error: IntegrityError: UNIQUE constraint failed;")


@pytest.mark.no_database
def test_interrupt_exits_130_and_click_keeps_its_own() -> None:
    assert run_raising(KeyboardInterrupt()) == (130, ["interrupted"])
    status, lines = run_raising(click.UsageError("no such thing"))
    assert status == 2 and lines[-1] == "Error: no such thing"
    assert run_raising(click.exceptions.Exit(3)) == (3, [])
    assert run_raising(RuntimeError()) == (
        1,
        ["internal error: RuntimeError; run again with --debug for the traceback"],
    )


@pytest.mark.no_database
def test_debug_raises_the_original_error() -> None:
    group = ItsmGroup(name="itsm")
    bug = RuntimeError("a bug")

    @group.command()
    def boom() -> None:
        """Raise the bug."""
        raise bug

    result = CliRunner().invoke(group, ["boom"], obj={"debug": True})
    assert result.exception is bug and result.exit_code == 1


# --------------------------------------------------------------------------- plugin commands by entry point

LAZY_COMMANDS = '''
    """Commands that note when they are imported (the entry point names them)."""
    import os
    import pathlib

    import click

    pathlib.Path(os.environ["ITSM_TEST_IMPORTED"]).write_text("imported")


    @click.command()
    @click.option("--name", default="world", help="Whom to greet (this help is not the command's).")
    def hello(name):
        """Say hello from a plugin.

        More words that the listing leaves out.
        """
        click.echo(f"hello, {name}")
'''


@pytest.mark.no_database
def test_plugin_commands_are_listed_without_importing_the_plugin(tmp_path: Path) -> None:
    install_fake_plugin(tmp_path, "itsm-greet", "1.0.0", "ITSM_CONTRACT = '1.0'\n")
    module = tmp_path / "itsm_greet_commands.py"
    module.write_text(textwrap.dedent(LAZY_COMMANDS))
    with (tmp_path / "itsm_greet-1.0.0.dist-info" / "entry_points.txt").open("a") as f:
        f.write("\n[itsm.commands]\nhello = itsm_greet_commands:hello\nbroken = itsm_greet_missing:nothing\n")
    marker = tmp_path / "imported.txt"
    env = on_path(tmp_path) | {"ITSM_TEST_IMPORTED": str(marker)}

    r = itsm("--help", env=env)
    assert r.returncode == 0, r.stderr
    commands = r.stdout.split("Commands:", 1)[1].splitlines()
    listing = {line.split()[0]: line.split(None, 1)[1] for line in commands if len(line.split()) > 1}
    assert listing["hello"] == "Say hello from a plugin."
    assert "broken" in [
        line.split()[0] for line in commands if line.strip()
    ]  # listed from its entry point; its absence shows only when it is run
    assert not marker.exists(), "--help imported the plugin's commands"

    r = itsm("hello", "--name", "Steve", env=env)
    assert r.returncode == 0 and r.stdout == "hello, Steve\n" and marker.exists()

    r = itsm("broken", env=env)
    assert r.returncode == 2
    assert "command 'broken' of itsm-greet failed to import: ModuleNotFoundError" in r.stderr
    assert "Traceback" not in r.stderr
