"""``itsm plugin new``: the scaffolded plugins are complete and pass their own tests."""

from __future__ import annotations

import json
import os
import shutil
import site
import subprocess
import sys
from importlib.metadata import version
from pathlib import Path

import pytest
from click.testing import CliRunner

from itsmcore.hookspecs import CONTRACT_VERSION
from itsmcore.newplugin import KINDS, PluginNameError, core_range, new_plugin, plugin_new, render

pytestmark = pytest.mark.no_database  # the PostgreSQL pass leaves these out


@pytest.mark.parametrize("name", ["", "Teams", "1chat", "a b", "chat!", "a--b", "itsm", "itsmcore", "class", "x.y"])
def test_refuses_bad_names(tmp_path: Path, name: str) -> None:
    with pytest.raises(PluginNameError, match="name"):
        new_plugin(name, "channel", tmp_path)
    assert not any(tmp_path.iterdir()), "nothing is written for a refused name"


def test_refuses_an_unknown_kind(tmp_path: Path) -> None:
    with pytest.raises(PluginNameError, match="unknown kind 'chanel'; choose one of: channel, directory"):
        new_plugin("teams", "chanel", tmp_path)


def test_refuses_a_non_empty_directory_but_fills_an_empty_one(tmp_path: Path) -> None:
    (tmp_path / "itsm-teams").mkdir()
    assert new_plugin("teams", "channel", tmp_path) == tmp_path / "itsm-teams"
    with pytest.raises(PluginNameError, match="already exists and is not empty"):
        new_plugin("teams", "channel", tmp_path)


def test_names_and_contract() -> None:
    files = render("action", "itsm-acme-crm")
    assert "src/itsm_acme_crm/plugin.py" in files and "src/itsm_acme_crm/action.py" in files
    pyproject = files["pyproject.toml"]
    assert 'name = "itsm-acme-crm"' in pyproject
    assert '[project.entry-points.itsm]\nacme-crm = "itsm_acme_crm.plugin"' in pyproject
    assert 'test = ["pytest>=8", "itsmcore[testing,postgresql]"]' in pyproject
    # the conventions of the bundled plugins: one version, a core range, a changelog, the licence in the sdist
    assert (
        'dynamic = ["version"]' in pyproject
        and '[tool.hatch.version]\npath = "src/itsm_acme_crm/__init__.py"' in pyproject
    )
    assert '__version__ = "0.1.0"' in files["src/itsm_acme_crm/__init__.py"]
    lowest, below = core_range(version("itsmcore"))
    assert f'"itsmcore>={lowest},<{below}",' in pyproject
    assert f"needs itsmcore `>={lowest},<{below}`" in files["CHANGELOG.md"]
    assert '"README.md", "CHANGELOG.md", "LICENSE"]' in pyproject
    assert f'ITSM_CONTRACT = "{CONTRACT_VERSION}"' in files["src/itsm_acme_crm/plugin.py"]
    assert "params=AcmeCrmStep" in files["src/itsm_acme_crm/plugin.py"]
    assert "class TestAcmeCrmContract(ActionContract)" in files["tests/test_action.py"]
    assert "[[services]]" in files["README.md"] and 'action = "acme-crm"' in files["README.md"]
    assert "$" not in files["src/itsm_acme_crm/action.py"]


@pytest.mark.parametrize(
    ("core", "expected"), [("0.1.0", ("0.1", "0.2")), ("0.10.2rc1", ("0.10", "0.11")), ("1.4.2", ("1.4", "2"))]
)
def test_the_core_range_follows_the_contract(core: str, expected: tuple[str, str]) -> None:
    """While itsmcore is 0.x a minor release may change the hook contract; from 1.0 on only a major one."""
    assert core_range(core) == expected


def test_cli_help_and_usage_errors(tmp_path: Path) -> None:
    runner = CliRunner()
    help_text = runner.invoke(plugin_new, ["--help"]).output
    for word in ("--kind", "channel|directory|action|survey", "--dir", "ITSM_CONTRACT", "conformance kit"):
        assert word in help_text
    result = runner.invoke(plugin_new, ["Bad Name", "--kind", "channel", "--dir", str(tmp_path)])
    assert result.exit_code == 2 and "invalid plugin name 'Bad Name'" in result.output
    result = runner.invoke(plugin_new, ["teams", "--kind", "channel", "--dir", str(tmp_path)])
    assert result.exit_code == 0, result.output
    assert "created" in result.output and (tmp_path / "itsm-teams" / "tests" / "test_channel.py").exists()


def _run(cmd: list[str], **kw: object) -> subprocess.CompletedProcess[str]:
    return subprocess.run(cmd, capture_output=True, text=True, timeout=180, **kw)  # type: ignore[call-overload]


@pytest.fixture(scope="module")
def generated(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("plugins")
    return {kind: new_plugin(f"acme-{kind}", kind, root) for kind in KINDS}


@pytest.mark.parametrize("kind", sorted(KINDS))
def test_generated_tests_pass(generated: dict[str, Path], kind: str) -> None:
    """The conformance kit passes on the generated component, as generated (not installed)."""
    project = generated[kind]
    env = os.environ | {"PYTHONPATH": str(project / "src"), "PYTHONDONTWRITEBYTECODE": "1"}
    result = _run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "tests"], cwd=project, env=env)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "passed" in result.stdout and "failed" not in result.stdout


@pytest.mark.postgres
def test_generated_tests_pass_on_postgresql(generated: dict[str, Path], itsm_postgres: str) -> None:
    """The generated action's tests (a deployment test among them) pass on PostgreSQL too, as generated."""
    project = generated["action"]
    env = os.environ | {
        "PYTHONPATH": str(project / "src"),
        "PYTHONDONTWRITEBYTECODE": "1",
        "ITSM_TEST_POSTGRES_URL": itsm_postgres,
    }
    result = _run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "--itsm-database=postgresql", "tests"],
        cwd=project,
        env=env,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "passed" in result.stdout and "failed" not in result.stdout


def test_installed_plugin_is_found(generated: dict[str, Path], tmp_path: Path) -> None:
    """Installed into a fresh venv, the entry point makes ``itsm plugins`` list it."""
    uv = shutil.which("uv") or str(Path(sys.executable).with_name("uv"))
    if not Path(uv).exists():
        pytest.skip("uv is not installed")
    venv = tmp_path / "venv"
    made = _run([uv, "venv", "-q", "-p", sys.executable, str(venv)])
    assert made.returncode == 0, made.stderr
    python = venv / "bin" / "python"
    # See this interpreter's packages (itsmcore and its dependencies, editable installs
    # included) without installing anything into it: a .pth that adds them as a site dir.
    purelib = Path(_run([str(python), "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"]).stdout.strip())
    lines = [f"import site; site.addsitedir({p!r})" for p in site.getsitepackages()]
    (purelib / "_itsm_parent.pth").write_text("\n".join(lines) + "\n", encoding="utf-8")
    project = generated["channel"]
    installed = _run([uv, "pip", "install", "-q", "-p", str(python), "--no-deps", "-e", str(project)])
    if installed.returncode != 0 and "hatchling" in installed.stderr:
        pytest.skip(f"cannot build the plugin offline: {installed.stderr.strip()[:300]}")
    assert installed.returncode == 0, installed.stderr
    listed = _run([str(python), "-m", "itsmcore", "plugins", "--format", "json"], cwd=tmp_path)
    assert listed.returncode == 0, listed.stderr
    plugins = {p["id"]: p for p in json.loads(listed.stdout)}
    assert plugins["acme-channel"]["distribution"] == "itsm-acme-channel"
    assert plugins["acme-channel"]["contract"] == CONTRACT_VERSION
    assert "channel:acme-channel" in plugins["acme-channel"]["components"]
    # ...and its own installed-check test now runs instead of skipping.
    result = _run([str(python), "-m", "pytest", "-q", "-p", "no:cacheprovider", "tests/test_plugin.py"], cwd=project)
    assert result.returncode == 0 and "skipped" not in result.stdout, result.stdout + result.stderr
