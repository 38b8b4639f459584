"""``itsm plugin new``: scaffold a plugin as its own distribution, with tests that pass.

The generated project is what a vendor ships: a ``pyproject.toml`` (hatchling) with the
entry point in the group ``itsm``, ``src/<package>/plugin.py`` with the hook
implementation and ``ITSM_CONTRACT``, a component whose attrs settings class documents
every field, a README with a config example, tests that subclass the conformance kit,
and a ``tox.ini``. The templates are package data under ``itsmcore/templates/plugin``,
filled in with :class:`string.Template` (``$name``; ``$$`` for a literal dollar).
"""

from __future__ import annotations

import keyword
import re
from importlib import resources
from pathlib import Path
from string import Template
from typing import Any

import attrs
import click

from .hookspecs import CONTRACT_VERSION

#: Names a plugin may have: lower case words joined by ``-`` or ``_`` (``teams``, ``acme-chat``).
NAME_RE = re.compile(r"^[a-z][a-z0-9]*(?:[-_][a-z0-9]+)*$")
RESERVED = frozenset({"itsm", "itsmcore", "core", "builtin", "test", "tests", "plugin", "plugins"})


@attrs.frozen(kw_only=True)
class Kind:
    """What differs between the kinds of plugin the scaffold knows."""

    hook: str
    record: str
    family: str
    module: str
    words: str
    contract_class: str
    factory: str
    settings_suffix: str
    params: bool
    description: str
    config_example: str
    settings_doc: str


KINDS: dict[str, Kind] = {
    "channel": Kind(
        hook="itsm_channels",
        record="ChannelComponent",
        family="channel",
        module="channel",
        words="channel",
        contract_class="ChannelContract",
        factory="make_channel",
        settings_suffix="Settings",
        params=False,
        description="Messages to customers through a chat service's webhook",
        config_example="""```toml
# itsm.toml
[channels.chat]
use = "$name"
url = "https://chat.example/hooks/itsm"
address_field = "email"
token_env = "CHAT_TOKEN"          # the token itself stays in the environment
```

Customers whose `preferred_channels` include `chat` are then reached through it.""",
        settings_doc="""| key | type | default | meaning |
|---|---|---|---|
| `url` | string | required | The chat service's webhook URL; each message is POSTed to it as JSON. |
| `address_field` | string | `"email"` | The customer field that is their address on the chat service: `email`, `mobile` or `id`. |
| `token_env` | string | `""` | Environment variable holding a bearer token for the webhook; empty for none. |
| `timeout` | number | `10.0` | Seconds to wait for the chat service. |""",
    ),
    "directory": Kind(
        hook="itsm_directories",
        record="DirectoryComponent",
        family="directory",
        module="directory",
        words="directory backend",
        contract_class="DirectoryContract",
        factory="make_directory",
        settings_suffix="Settings",
        params=False,
        description="Customers from a JSON file (a starting point for an identity service)",
        config_example="""```toml
# itsm.toml
[directory.people]
use = "$name"
path = "people.json"
```""",
        settings_doc="""| key | type | default | meaning |
|---|---|---|---|
| `path` | string | required | JSON file of customers, relative to the config file. |
| `case_sensitive_logins` | boolean | `false` | Whether `Steve` and `steve` are different logins. |""",
    ),
    "action": Kind(
        hook="itsm_fulfilment_actions",
        record="ActionComponent",
        family="action",
        module="action",
        words="fulfilment action",
        contract_class="ActionContract",
        factory="make_action",
        settings_suffix="Settings",
        params=True,
        description="Creates the customer's account in another system, once per request",
        config_example="""```toml
# itsm.toml
[actions.$name]                  # optional: the settings `action = "$name"` runs with
ledger = "$name-accounts.json"

[[services]]
key = "chat-account"
name = "A chat account"
description = "An account on the team chat, ready to use."
keywords = ["chat", "account"]
plan = [{ action = "$name", group = "sales" }]
```""",
        settings_doc="""| key | type | default | meaning |
|---|---|---|---|
| `ledger` | string | `"$name-accounts.json"` | JSON file where created accounts are kept, relative to the config file. |
| `login_field` | string | `"id"` | The customer field that becomes the account's login: `id` or `email`. |

Plan step keys (`{ action = "$name", ... }`):

| key | type | default | meaning |
|---|---|---|---|
| `group` | string | `"users"` | The group the new account joins. |
| `notify` | boolean | `true` | Tell the customer their account is ready as soon as it is. |""",
    ),
    "survey": Kind(
        hook="itsm_survey_methods",
        record="SurveyComponent",
        family="survey",
        module="survey",
        words="survey method",
        contract_class="SurveyMethodContract",
        factory="make_method",
        settings_suffix="Settings",
        params=False,
        description="A one-to-five stars survey method",
        config_example="""```toml
# itsm.toml
[surveys.stars]
use = "$name"

[survey_rules]
method = "stars"
```""",
        settings_doc="""| key | type | default | meaning |
|---|---|---|---|
| `question` | string | `"How many stars would you give the help you got?"` | The question customers see. |
| `good_from` | integer | `4` | Answers from this many stars up count as good. |""",
    ),
}

#: Template -> path in the generated project; ``$pkg`` and ``$module`` are filled in.
COMMON_FILES = {
    "pyproject.toml.tmpl": "pyproject.toml",
    "README.md.tmpl": "README.md",
    "CHANGELOG.md.tmpl": "CHANGELOG.md",
    "tox.ini.tmpl": "tox.ini",
    "gitignore.tmpl": ".gitignore",
    "__init__.py.tmpl": "src/$pkg/__init__.py",
    "plugin.py.tmpl": "src/$pkg/plugin.py",
    "conftest.py.tmpl": "tests/conftest.py",
    "test_plugin.py.tmpl": "tests/test_plugin.py",
}


class PluginNameError(ValueError):
    """The name or the destination of a new plugin cannot be used."""


def _names(name: str) -> dict[str, str]:
    """The spellings of a plugin name: component, distribution, package, class."""
    if not isinstance(name, str) or not name:
        raise PluginNameError("give the plugin a name, e.g. 'teams' or 'acme-chat'")
    bare = name
    for prefix in ("itsm-", "itsm_"):
        if bare.startswith(prefix):
            bare = bare[len(prefix) :]
    if not NAME_RE.match(bare):
        raise PluginNameError(
            f"invalid plugin name {name!r}: use lower-case letters and digits, words joined by '-' or '_', "
            "starting with a letter (e.g. 'teams', 'acme-chat')"
        )
    if bare in RESERVED or keyword.iskeyword(bare.replace("-", "_")):
        raise PluginNameError(f"invalid plugin name {name!r}: {bare!r} is reserved; choose a more specific name")
    words = re.split(r"[-_]", bare)
    return {
        "name": bare,
        "dist": f"itsm-{bare.replace('_', '-')}",
        "pkg": f"itsm_{bare.replace('-', '_')}",
        "cls": "".join(w.capitalize() for w in words),
        "title": " ".join(words).capitalize(),
    }


def _template(name: str) -> str:
    return resources.files("itsmcore").joinpath("templates", "plugin", name).read_text(encoding="utf-8")


def render(kind: str, name: str) -> dict[str, str]:
    """Every file of a new plugin, ``{relative path: text}``, without writing anything."""
    if kind not in KINDS:
        raise PluginNameError(f"unknown kind {kind!r}; choose one of: {', '.join(KINDS)}")
    k = KINDS[kind]
    n = _names(name)
    lowest, below = core_range(_core_version())
    values: dict[str, Any] = {
        **n,
        "kind": kind,
        "kind_words": k.words,
        "hook": k.hook,
        "record": k.record,
        "family": k.family,
        "module": k.module,
        "contract": CONTRACT_VERSION,
        "contract_class": k.contract_class,
        "core_range": f">={lowest},<{below}",
        "core_series": f"{lowest}.x" if below.startswith("0.") else f"{lowest} and later {lowest.split('.')[0]}.x",
        "description": k.description,
        "factory": k.factory,
        "settings_class": f"{n['cls']}{k.settings_suffix}",
    }
    imports = [k.factory, values["settings_class"]]
    if k.params:
        imports.append(f"{n['cls']}Step")
        values["params_line"] = f"\n            params={n['cls']}Step,"
    else:
        values["params_line"] = ""
    values["imports"] = ", ".join(sorted(imports, key=str.lower))
    values["config_example"] = Template(k.config_example).substitute(values)
    values["settings_doc"] = Template(k.settings_doc).substitute(values)

    files = {
        **COMMON_FILES,
        f"{k.module}.py.tmpl": "src/$pkg/$module.py",
        f"test_{k.module}.py.tmpl": "tests/test_$module.py",
    }
    out: dict[str, str] = {}
    for template, target in files.items():
        path = Template(target).substitute(values)
        out[path] = Template(_template(template)).substitute(values)
    out[f"src/{n['pkg']}/py.typed"] = ""
    out["tests/__init__.py"] = ""
    return out


def core_range(version: str) -> tuple[str, str]:
    """The lowest itsmcore release a new plugin accepts, and the first it does not.

    The releases that provide the hook contract of the core at ``version``: those of its
    minor series while itsmcore is 0.x (a minor release may change the contract), of
    its major series from 1.0 on. ``0.1.3`` gives ``("0.1", "0.2")``; ``1.4.0`` gives
    ``("1.4", "2")``.
    """
    from packaging.version import Version

    v = Version(version)
    upper = f"0.{v.minor + 1}" if v.major == 0 else str(v.major + 1)
    return f"{v.major}.{v.minor}", upper


def _core_version() -> str:
    # from the installed distribution, not the package root (which sits above every layer)
    from importlib.metadata import version

    return version("itsmcore")


def new_plugin(name: str, kind: str, dest: Path) -> Path:
    """Write a new plugin distribution ``itsm-NAME`` of ``kind`` into the directory ``dest``.

    Returns the project's directory (``dest/itsm-NAME``). Refuses a bad name or kind,
    and a project directory that exists and is not empty, with :class:`PluginNameError`.
    """
    files = render(kind, name)
    project = Path(dest) / _names(name)["dist"]
    if project.exists() and (not project.is_dir() or any(project.iterdir())):
        raise PluginNameError(f"{project} already exists and is not empty; choose another name or --dir")
    for rel, text in files.items():
        path = project / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    return project


@click.command("new")
@click.argument("name")
@click.option(
    "--kind",
    type=click.Choice(list(KINDS)),
    required=True,
    help="What the plugin provides: a channel (reach customers), a directory (who they are), "
    "an action (one automated fulfilment step) or a survey (a survey method).",
)
@click.option(
    "--dir",
    "directory",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path("."),
    show_default=True,
    help="Where to create the project; it goes in DIR/itsm-NAME.",
)
def plugin_new(name: str, kind: str, directory: Path) -> None:
    """Create a new plugin NAME as its own distribution, ready to test and publish.

    \b
    The project itsm-NAME holds:
      pyproject.toml        hatchling, entry point in the group "itsm", extra [test]
      src/itsm_NAME/        plugin.py (the hook and ITSM_CONTRACT) and the component
                            with an attrs settings class documenting every key
      tests/                the itsmcore conformance kit, passing as generated
      README.md, tox.ini    a config example; tests on every supported Python
      CHANGELOG.md          the first entry; the version is __version__ in src/itsm_NAME

    \b
    Then:
      cd itsm-NAME && pip install -e '.[test]' && pytest -q
      itsm plugins          # lists NAME with its component

    NAME is lower-case words joined by '-' or '_' (an 'itsm-' prefix is dropped).
    """
    try:
        project = new_plugin(name, kind, directory)
    except PluginNameError as e:
        raise click.UsageError(str(e)) from None
    k = KINDS[kind]
    click.echo(f"created {project} ({k.words} {_names(name)['name']!r})")
    click.echo("next:")
    click.echo(f"  cd {project}")
    click.echo("  pip install -e '.[test]'")
    click.echo("  pytest -q")


__all__ = ["KINDS", "PluginNameError", "new_plugin", "plugin_new", "render"]
