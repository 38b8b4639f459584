"""Config errors: file, key path, what was expected, a close match; exit 2, nothing started."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from itsmcore import ConfigError
from itsmcore.deployment import Deployment

pytestmark = pytest.mark.no_database  # the PostgreSQL pass leaves these out


def load(path: Path) -> Deployment:
    return Deployment.load(path, entry_points=False)


def problems(path: Path) -> list[str]:
    with pytest.raises(ConfigError) as info:
        load(path)
    return [str(p) for p in info.value.problems]


def test_a_valid_config_loads_with_defaults(write_deployment: Callable[..., Path]) -> None:
    dep = load(write_deployment())
    assert dep.config.deployment.name == "test"
    assert [s.key for s in dep.config.services] == ["expensatron", "crm"]
    assert dep.config.runner.use == "inline"
    assert set(dep.channels()) == {"log"}
    assert {"nps", "csat", "ces"} <= set(dep.surveys())


def test_malformed_toml_gives_line_and_column(tmp_path: Path) -> None:
    path = tmp_path / "itsm.toml"
    path.write_text('[deployment]\nname = "x"\ndatabase = \n')
    (msg,) = problems(path)
    assert str(path) in msg and "invalid TOML" in msg and "line 3" in msg and "column" in msg


def test_missing_file_says_how_to_create_one(tmp_path: Path) -> None:
    (msg,) = problems(tmp_path / "nope.toml")
    assert "file not found" in msg and "itsm init" in msg


def test_unknown_keys_get_did_you_mean(write_deployment: Callable[..., Path]) -> None:
    path = write_deployment()
    path.write_text(path.read_text().replace('name = "test"', 'name = "test"\ndatabse = "sqlite://"'))
    (msg,) = problems(path)
    assert msg.startswith(f"{path}: deployment.databse: unknown key")
    assert "did you mean 'database'" in msg


def test_unknown_top_level_table(write_deployment: Callable[..., Path]) -> None:
    path = write_deployment("\n[channel.sms]\nuse = 'log'\n")
    msgs = problems(path)
    assert any("channel: unknown table; did you mean 'channels'" in m for m in msgs)


def test_misspelt_component_name_lists_what_is_available(write_deployment: Callable[..., Path]) -> None:
    path = write_deployment("\n[channels.inbox]\nuse = 'lgo'\n")
    (msg,) = problems(path)
    assert "channels.inbox.use" in msg
    assert "no installed plugin provides a channel named 'lgo'" in msg
    assert "did you mean 'log'" in msg and "Known: log" in msg


def test_use_naming_a_component_no_plugin_provides(write_deployment: Callable[..., Path]) -> None:
    path = write_deployment("\n[channels.sms]\nuse = 'twilio'\n")
    (msg,) = problems(path)
    assert "no installed plugin provides a channel named 'twilio'" in msg and "known: log" in msg


def test_wrong_types_name_the_key_and_the_expected_type(write_deployment: Callable[..., Path]) -> None:
    path = write_deployment("\n[channels.log]\npath = 3\n")
    (msg,) = problems(path)
    assert "channels.log.path" in msg and "expected a string" in msg and "3" in msg


def test_missing_required_setting(write_deployment: Callable[..., Path]) -> None:
    path = write_deployment()
    path.write_text(path.read_text().replace('path = "customers.toml"', ""))
    (msg,) = problems(path)
    assert "directory.main.path: missing required setting (expected a string)" in msg


def test_plan_naming_an_unknown_action_fails_at_check(write_deployment: Callable[..., Path]) -> None:
    path = write_deployment()
    path.write_text(path.read_text().replace('action = "notify.send_link"', 'action = "notify.send_lnk"'))
    (msg,) = problems(path)
    assert "services[0].plan[1].action: unknown action 'notify.send_lnk'" in msg
    assert "did you mean 'notify.send_link'" in msg


def test_plan_step_params_are_validated(write_deployment: Callable[..., Path]) -> None:
    path = write_deployment()
    path.write_text(path.read_text().replace('title = "Download Expensatron"', 'titel = "x"'))
    (msg,) = problems(path)
    assert "services[0].plan[1].titel: unknown key" in msg and "did you mean 'title'" in msg


def test_services_from_included_files_name_that_file(write_deployment: Callable[..., Path], tmp_path: Path) -> None:
    (tmp_path / "catalog").mkdir()
    (tmp_path / "catalog" / "apps.toml").write_text('[[services]]\nkey = "x"\nnmae = "X"\n')
    path = write_deployment()
    path.write_text('include = ["catalog/*.toml"]\n' + path.read_text())
    msgs = problems(path)
    assert any(m.startswith("catalog/apps.toml: services[0].nmae: unknown key; did you mean 'name'") for m in msgs)
    assert any("catalog/apps.toml: services[0].name: missing required setting" in m for m in msgs)


def test_duplicate_service_keys(write_deployment: Callable[..., Path]) -> None:
    path = write_deployment()
    path.write_text(path.read_text() + '\n[[services]]\nkey = "crm"\nname = "CRM again"\n')
    (msg,) = problems(path)
    assert "services[2].key: duplicate service key 'crm'" in msg and "services[1]" in msg


def test_every_problem_is_reported_at_once(write_deployment: Callable[..., Path]) -> None:
    path = write_deployment("\n[channels.a]\nuse = 'nope'\n[surveys.x]\nuse = 'npss'\n")
    msgs = problems(path)
    assert len(msgs) == 2
    assert any("did you mean 'nps'" in m for m in msgs)


def test_a_bare_string_is_not_silently_turned_into_a_number(write_deployment: Callable[..., Path]) -> None:
    path = write_deployment()
    path.write_text(path.read_text().replace('name = "test"', "name = 5"))
    (msg,) = problems(path)
    assert "deployment.name" in msg and "expected a string" in msg


def test_declared_teams_catch_a_task_for_an_unknown_team(write_deployment: Callable[..., Path]) -> None:
    services = """
[[services]]
key = "phone"
name = "A phone"
plan = [
  { action = "notify.send_link", url = "https://example.invalid/x" },
  { task = "Ship it", team = "logistcs", milestones = ["shipped"] },
]
"""
    teams = '[teams.logistics]\nname = "Logistics"\n'
    with pytest.raises(ConfigError) as info:
        load(write_deployment(teams, services=services))
    (problem,) = [p for p in info.value.problems if p.path.endswith(".team")]
    assert problem.path == "services[0].plan[1].team"
    assert "unknown team 'logistcs'" in problem.message and "did you mean 'logistics'" in problem.hint
    # without any [teams], a task's team is free text
    assert load(write_deployment(services=services)).config.service("phone") is not None


ACME = '''
import attrs
from itsmcore import ActionComponent, ActionResult, hookimpl


@attrs.frozen(kw_only=True)
class AcmeSettings:
    """How to reach Acme's account API."""

    base_url: str
    token_env: str = "ACME_TOKEN"


@attrs.frozen(kw_only=True)
class AcmeParams:
    """The plan step's keys."""

    url: str = ""
    title: str = ""


class Acme:
    def __init__(self, settings, ctx):
        self.settings = settings

    def run(self, request):
        return ActionResult(outputs={"base_url": self.settings.base_url})


@hookimpl
def itsm_fulfilment_actions():
    return [ActionComponent(name="acme.account", factory=Acme, settings=AcmeSettings, params=AcmeParams, description="An Acme account.")]
'''


@pytest.fixture
def acme(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    """A plugin module whose action needs a setting (``base_url``) with no default."""
    (tmp_path / "acme_plugin.py").write_text(ACME)
    monkeypatch.syspath_prepend(str(tmp_path))
    return '\n[plugins]\nmodules = ["acme_plugin"]\n'


def _plan(path: Path, action: str) -> None:
    path.write_text(path.read_text().replace('action = "notify.send_link"', f'action = "{action}"'))


def test_a_plan_step_whose_action_needs_settings_it_has_not_got(
    write_deployment: Callable[..., Path], acme: str
) -> None:
    path = write_deployment(acme)
    _plan(path, "acme.account")
    (msg,) = problems(path)
    assert msg.startswith(f"{path}: services[0].plan[1].action: action 'acme.account' has no [actions.acme.account]")
    assert "cannot run on its default settings (it needs base_url)" in msg
    assert 'add [actions.acme.account] with use = "acme.account"' in msg


def test_a_plan_step_uses_the_one_table_of_its_component(write_deployment: Callable[..., Path], acme: str) -> None:
    path = write_deployment(acme + '\n[actions.acme]\nuse = "acme.account"\nbase_url = "http://127.0.0.1:9"\n')
    _plan(path, "acme.account")
    dep = load(path)
    step = dep.config.service("expensatron").plan[1]  # type: ignore[union-attr]
    assert step.source == "actions.acme"
    assert dep.action("acme.account").settings.base_url == "http://127.0.0.1:9"  # type: ignore[attr-defined]


def test_a_plan_step_naming_a_component_two_tables_use_is_ambiguous(
    write_deployment: Callable[..., Path], acme: str
) -> None:
    path = write_deployment(
        acme
        + '\n[actions.acme_eu]\nuse = "acme.account"\nbase_url = "http://127.0.0.1:9"\n'
        + '\n[actions.acme_us]\nuse = "acme.account"\nbase_url = "http://127.0.0.1:8"\n'
    )
    _plan(path, "acme.account")
    (msg,) = problems(path)
    assert "services[0].plan[1].action: 'acme.account' is ambiguous" in msg
    assert "[actions.acme_eu] and [actions.acme_us]" in msg


def test_a_plan_step_naming_the_table_is_not_ambiguous(write_deployment: Callable[..., Path], acme: str) -> None:
    path = write_deployment(
        acme
        + '\n[actions.acme_eu]\nuse = "acme.account"\nbase_url = "http://127.0.0.1:9"\n'
        + '\n[actions.acme_us]\nuse = "acme.account"\nbase_url = "http://127.0.0.1:8"\n'
    )
    _plan(path, "acme_us")
    dep = load(path)
    assert dep.config.service("expensatron").plan[1].source == "actions.acme_us"  # type: ignore[union-attr]


def test_a_wrong_setting_is_not_followed_by_errors_it_caused(write_deployment: Callable[..., Path]) -> None:
    path = write_deployment('\n[channels.teams]\nuse = "log"\npath = 3\n')
    path.write_text(path.read_text().replace('name = "test"', 'name = "test"\ndefault_channel = "teams"'))
    (msg,) = problems(path)  # not also "deployment.default_channel: no channel named 'teams'"
    assert "channels.teams.path" in msg


def test_a_plan_step_naming_a_table_with_a_bad_use_is_reported_once(write_deployment: Callable[..., Path]) -> None:
    path = write_deployment('\n[actions.mail]\nuse = "notify.send_lnk"\n')
    _plan(path, "mail")
    (msg,) = problems(path)
    assert "actions.mail.use" in msg and "did you mean 'notify.send_link'" in msg
