"""Property tests of the config loader: any TOML text, valid or not, and any structure of tables and
values gives a Config or one ConfigError naming the file and key paths, never another exception.

``tox -e fuzz`` runs 10,000 examples of each (HYPOTHESIS_PROFILE=fuzz); the normal run a few dozen.
"""

from __future__ import annotations

import copy
import tomllib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import attrs
import pytest
from hypothesis import given
from hypothesis import strategies as st

from itsmcore import ConfigError, PluginError
from itsmcore import model as model_module
from itsmcore import settings as settings_module
from itsmcore.config import TOP_LEVEL, read_config
from itsmcore.deployment import Deployment

from .fuzzing import toml_text, toml_values

pytestmark = [pytest.mark.fuzz, pytest.mark.no_database]

BASE = """\
include = ["catalog/*.toml"]

[deployment]
name = "fuzz"
database = "sqlite:///fuzz.db"
default_channel = "log"
public_url = "http://127.0.0.1:8000"

[directory.corp]
use = "file"
path = "customers.toml"

[channels.log]
use = "log"

[teams.logistics]
name = "Logistics"

[asks.badge]
type = "text"
label = "Your badge number"

[[services]]
key = "expensatron"
name = "Expensatron expenses app"
description = "Claim expenses from your phone."
keywords = ["expenses", "receipts"]
category = "Apps"
eligible = { roles = ["sales"], explain = "Sales" }
asks = ["mobile_number", "mobile_os", "badge"]
quick_start = [{ title = "Expensatron in two minutes", url = "https://apps.example/start" }]
plan = [
  { action = "approval", approver = "manager" },
  { action = "notify.send_link", url = "https://apps.example/download", title = "Download" },
  { task = "Hand over the phone", team = "logistics", expected = "3 working days", milestones = ["ordered", { name = "delivered" }] },
]

[[services]]
key = "crm"
name = "CRM"
description = "Customer records."
kind = "failure"

[[knowledge]]
key = "kb-vpn"
title = "Working from home"
body = "Connect to the VPN first."
service_key = "crm"

[journeys.crm]
stages = [{ stage = "engage", within = "1h" }, { stage = "outcome", effort = 2, channels = ["log"] }]

[priorities]
matrix = [[1, 2, 3], [2, 3, 4], [3, 4, 4]]
default_impact = "low"
service_impact = { crm = "high" }

[calendars.london]
timezone = "Europe/London"
hours = "09:00-17:30"
country = "GB"
subdivision = "ENG"
closed = [2026-03-03]

[[service_levels]]
services = ["crm"]
kinds = ["failure"]
calendar = "london"
response = "4h"
resolution = "2d"

[security]

[survey_rules]
"""

CATALOG = """\
[[services]]
key = "smartphone"
name = "A company smartphone"
description = "A phone."
asks = ["reason"]
"""


def _field_names() -> list[str]:
    """Every key a deployment's tables are read into, so generated tables are near misses, not noise."""
    names: set[str] = set(TOP_LEVEL)
    for module in (settings_module, model_module):
        for value in vars(module).values():
            if isinstance(value, type) and attrs.has(value):
                names.update(f.name for f in attrs.fields(value))
    return sorted(names)


FIELDS = _field_names()
KEYS = st.one_of(st.sampled_from(FIELDS), st.text(max_size=12))
VALUES = toml_values(KEYS)
BASE_DATA = tomllib.loads(BASE)


def _safe(data: Any) -> Any:
    """No include pattern that reaches outside the deployment (a glob of /dev would read forever),
    and no [plugins] modules that import something real."""
    if isinstance(data, dict):
        if "include" in data:
            data["include"] = "catalog/*.toml" if isinstance(data["include"], str) else ["*.toml", "catalog/*"]
        plugins = data.get("plugins")
        if isinstance(plugins, dict) and "modules" in plugins:
            plugins["modules"] = ["itsm_fuzz_no_such_module"]
    return data


@pytest.fixture(scope="module")
def where(tmp_path_factory: pytest.TempPathFactory) -> Path:
    d = tmp_path_factory.mktemp("fuzz-config")
    (d / "catalog").mkdir()
    (d / "catalog" / "services.toml").write_text(CATALOG, encoding="utf-8")
    (d / "customers.toml").write_text('[[customers]]\nid = "steve"\nname = "Steve"\n', encoding="utf-8")
    return d


def _read(path: Path) -> None:
    """Read the config: a Config or ConfigError whose every problem names the file."""
    try:
        read_config(path)
    except ConfigError as e:
        assert e.problems, "a ConfigError with no problem in it"
        for p in e.problems:
            assert p.file, f"a problem without its file: {p}"
            assert p.message, f"a problem without a message: {p}"


def _write(where: Path, text: str | bytes) -> Path:
    path = where / "itsm.toml"
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text, encoding="utf-8", errors="surrogatepass")
    return path


def test_the_base_config_is_valid(where: Path) -> None:
    """The config the mutations start from is read without a problem (else they would test nothing)."""
    config = read_config(_write(where, BASE))
    assert {s.key for s in config.services} == {"expensatron", "crm", "smartphone"}
    assert config.calendars and config.service_levels and config.priorities is not None


@given(text=st.text(max_size=400))
def test_any_text(where: Path, text: str) -> None:
    _read(_write(where, text))


@given(data=st.binary(max_size=400))
def test_any_bytes(where: Path, data: bytes) -> None:
    """Not UTF-8, NUL bytes, a BOM: ConfigError too."""
    _read(_write(where, data))


@given(lines=st.lists(st.sampled_from(BASE.splitlines()) | st.text(max_size=40), max_size=30))
def test_lines_of_a_config_in_any_order(where: Path, lines: list[str]) -> None:
    """Sections and keys of a real config shuffled, repeated and mixed with noise: mostly TOML errors, some not."""
    _read(_write(where, "\n".join(lines)))


@given(data=st.dictionaries(KEYS, VALUES, max_size=8))
def test_any_structure(where: Path, data: dict[str, Any]) -> None:
    text = toml_text(_safe(data))
    assert tomllib.loads(text) == data, "the TOML writer of the test must write what it is given"
    _read(_write(where, text))


def _paths(value: Any, prefix: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    yield prefix
    if isinstance(value, dict):
        for k, v in value.items():
            yield from _paths(v, (*prefix, k))
    elif isinstance(value, list):
        for i, v in enumerate(value):
            yield from _paths(v, (*prefix, i))


BASE_PATHS = [p for p in _paths(BASE_DATA) if p]


@st.composite
def mutated(draw: st.DrawFn) -> dict[str, Any]:
    """The valid config with a few of its values replaced, removed or added to."""
    data = copy.deepcopy(BASE_DATA)
    for _ in range(draw(st.integers(1, 4))):
        path = draw(st.sampled_from(BASE_PATHS))
        parent: Any = data
        try:
            for step in path[:-1]:
                parent = parent[step]
            parent[path[-1]]
        except (KeyError, IndexError, TypeError):
            continue  # an earlier mutation replaced what this path went through
        if not isinstance(parent, dict | list):
            continue
        how = draw(st.sampled_from(["replace", "remove", "add"]))
        if how == "replace":
            parent[path[-1]] = draw(VALUES)
        elif how == "remove":
            del parent[path[-1]]
        elif isinstance(parent, dict):
            parent[draw(KEYS)] = draw(VALUES)
        else:
            parent.append(draw(VALUES))
    return _safe(data)


@given(data=mutated())
def test_near_valid_configs(where: Path, data: dict[str, Any]) -> None:
    text = toml_text(data)
    assert tomllib.loads(text) == data
    _read(_write(where, text))


@given(data=mutated())
def test_deployment_load_of_near_valid_configs(where: Path, data: dict[str, Any]) -> None:
    """Deployment.load also resolves every component and plan step: ConfigError or PluginError only."""
    path = _write(where, toml_text(data))
    try:
        Deployment.load(path, entry_points=False)
    except (ConfigError, PluginError) as e:
        assert str(e)


@pytest.mark.parametrize(
    "extra",
    [
        "knowledge = 5",
        '[[services]]\nkey = "x"\nname = "X"\ndescription = "x"\nasks = 5',
        '[teams.t]\nname = "T"\n[[services]]\nkey = []\nname = "X"\ndescription = "x"',
    ],
)
def test_found_by_the_fuzzer(where: Path, extra: str) -> None:
    """Arrays of tables that are not arrays, and a service key that is not a string, are config errors."""
    first, _, rest = extra.partition("\n")
    text = f"{first}\n[directory.corp]\nuse = 'file'\n{rest}" if not first.startswith("[") else extra
    with pytest.raises(ConfigError):
        read_config(_write(where, text + "\n[directory.main]\nuse = 'file'\n" if first.startswith("[") else text))


def test_an_included_catalog_whose_services_are_not_tables(where: Path) -> None:
    (where / "bad.toml").write_text("services = 5\nknowledge = true\n", encoding="utf-8")
    with pytest.raises(ConfigError) as e:
        read_config(_write(where, 'include = ["bad.toml"]\n[directory.corp]\nuse = "file"\n'))
    assert {p.path for p in e.value.problems} >= {"services", "knowledge"}
