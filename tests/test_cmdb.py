"""The CMDB: relationships between configuration items, impact walks and announcements on an item.

Through the Eagle5 example (the CRM web app's servers ``crm-app-01`` and ``crm-db-01``), the
desk's public API and the command line, on the run's database (SQLite, or PostgreSQL).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from pathlib import Path

import pytest
from click.testing import CliRunner

from itsmcore import ConfigError, Relationship, RelationshipType, hookimpl
from itsmcore.cli import cli
from itsmcore.desk import Desk


def run(config: Path, *args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli, ["-c", str(config), *args])
    return result.exit_code, result.stdout, result.stderr


def test_an_outage_of_the_database_server_reaches_the_crm_and_its_people(eagle5: Callable[..., Path]) -> None:
    config = eagle5()
    with Desk.open(config) as desk:
        demand = desk.submit("failure", "steve", "The CRM will not load", service="crm").demand
        impact = desk.ci_impact("crm-db-01")
        assert [(i.ci, i.depth) for i in impact.items] == [("crm-db-01", 0), ("crm-app-01", 1)]
        assert impact.services == ("crm",)
        assert set(impact.subscribers) >= {"steve", "tony"}
        assert demand.id in impact.open_demands
        assert impact.cycles == ()
        # the other way round the dependency reaches nothing more than the app server's own service
        assert [i.ci for i in desk.ci_impact("crm-app-01").items] == ["crm-app-01"]
        assert {(r.ci, str(r.type), r.target, r.service) for r in desk.relationships("crm-app-01")} == {
            ("crm-app-01", "provides", None, "crm"),
            ("crm-app-01", "depends_on", "crm-db-01", None),
        }
    code, out, _ = run(config, "ci", "impact", "crm-db-01")
    assert code == 0, out
    assert "crm-app-01 (1)" in out and "services:     crm" in out and f"#{demand.id}" in out
    code, out, _ = run(config, "ci", "show", "crm-app-01", "--format", "json")
    assert code == 0, out
    shown = json.loads(out)
    assert shown["name"] == "CRM web server" and shown["impact"]["services"] == ["crm"]


def test_an_announcement_on_a_server_reaches_every_affected_service(eagle5: Callable[..., Path]) -> None:
    config = eagle5()
    code, out, err = run(config, "announcement", "open", "--ci", "crm-db-01", "--title", "The CRM is down", "-q")
    assert code == 0, out + err
    assert "opened for crm" in out
    with Desk.open(config) as desk:
        (ann,) = desk.announcements(open_only=True)
        assert ann.service_key == "crm"
        assert desk.ledger(ann.id).subscribers >= 2
        assert ann.id in [a.id for a in desk.announcements_for("tony")]
        with pytest.raises(Exception, match="affects no service"):
            desk.open_ci_announcement("ci-laptop-patrick", "Laptop broken")
    code, _, err = run(config, "announcement", "open", "--title", "What?")
    assert code == 2 and "--service or --ci" in err


def test_a_relationship_cycle_ends_the_walk_and_is_named(eagle5: Callable[..., Path]) -> None:
    config = eagle5(
        extra='\n[[relationships]]\nci = "crm-db-01"\ntype = "runs_on"\ntarget = "crm-app-01"\n'
        '\n[[relationships]]\nci = "ci-crm-steve"\ntype = "connects_to"\ntarget = "crm-db-01"\n'
    )
    with Desk.open(config) as desk:
        impact = desk.ci_impact("crm-db-01", depth=10)
        assert {i.ci for i in impact.items} == {"crm-db-01", "crm-app-01", "ci-crm-steve"}
        assert "crm-db-01" in impact.cycles
        assert impact.services == ("crm",)
        # the depth limit: ci-crm-steve connects to crm-db-01, two steps from crm-app-01
        near = desk.ci_impact("crm-app-01", depth=1)
        assert {(i.ci, i.depth) for i in near.items} == {("crm-app-01", 0), ("crm-db-01", 1)}
        assert near.cycles == ()
    code, _out, err = run(config, "ci", "impact", "crm-app-01")
    assert code == 0
    assert "cycle" in err and "the walk stopped there" in err


def test_a_relationship_file_naming_an_unknown_item_or_type_is_refused_with_its_line(
    eagle5: Callable[..., Path],
) -> None:
    config = eagle5()
    config.write_text(config.read_text().replace('"relationships.toml"', '"relationships.csv"'))
    rel = config.parent / "relationships.csv"
    rel.write_text(
        "ci,type,target,service\ncrm-app-01,runs_on,crm-db-1,\ncrm-app-01,depnds_on,crm-db-01,\n"
        "crm-app-01,provides,,crn\n"
    )
    code, _, err = run(config, "check")
    assert code == 2
    assert f"{rel}: line 2: target: no configuration item 'crm-db-1'; did you mean 'crm-db-01'?" in err
    assert f"{rel}: line 3: type: unknown relationship type 'depnds_on'; did you mean 'depends_on'?" in err
    assert f"{rel}: line 4: service: no service 'crn'; did you mean 'crm'?" in err
    with pytest.raises(ConfigError):
        Desk.open(config)


def test_an_inline_relationship_names_its_line_in_the_config(eagle5: Callable[..., Path]) -> None:
    config = eagle5(extra='\n[[relationships]]\nci = "crm-app-02"\ntype = "provides"\nservice = "crm"\n')
    line = config.read_text().splitlines().index("[[relationships]]", len(config.read_text().splitlines()) - 5) + 1
    code, _, err = run(config, "check")
    assert code == 2
    assert f"line {line}: ci: no configuration item 'crm-app-02'; did you mean 'crm-app-01'?" in err


def test_the_store_is_refreshed_when_the_file_changes_and_kept_when_it_breaks(eagle5: Callable[..., Path]) -> None:
    config = eagle5()
    rel = config.parent / "relationships.toml"
    rel.write_text(rel.read_text() + '[[relationships]]\nci = "ci-crm-tony"\ntype = "runs_on"\ntarget = "crm-app-01"\n')
    with Desk.open(config) as desk:
        assert "ci-crm-tony" in {i.ci for i in desk.ci_impact("crm-app-01").items}
    rel.write_text('[[relationships]]\nci = "crm-app-01"\ntype = "provides"\nservice = "crm"\n')
    with Desk.open(config) as desk:
        assert "ci-crm-tony" not in {i.ci for i in desk.ci_impact("crm-app-01").items}
        rel.write_text('[[relationships]]\nci = "nope"\ntype = "runs_on"\ntarget = "crm-app-01"\n')
        with pytest.raises(ConfigError, match="no configuration item 'nope'"):
            desk.sync_relationships(force=True)
        assert len(desk.relationships()) == 1  # the ones loaded before stay
    code, _out, _ = run(config, "ci", "impact", "nope-01")
    assert code == 2  # the desk refuses to open on the broken file


class Vendor:
    """A CMDB plugin: the database server sits on a storage array."""

    def __init__(self, rels: Iterable[Relationship]):
        self.rels = list(rels)

    @hookimpl
    def itsm_relationships(self) -> Iterable[Relationship]:
        return self.rels


def test_a_plugin_declares_relationships_through_the_hook(eagle5: Callable[..., Path]) -> None:
    config = eagle5()
    plugin = Vendor([Relationship(ci="crm-db-01", type=RelationshipType.RUNS_ON, target="ci-laptop-patrick")])
    with Desk.open(config, plugins=[plugin]) as desk:
        impact = desk.ci_impact("ci-laptop-patrick")
        assert [i.ci for i in impact.items] == ["ci-laptop-patrick", "crm-db-01", "crm-app-01"]
        assert impact.services == ("crm",)
        assert any(r.origin.startswith("plugin ") for r in desk.relationships("crm-db-01"))
    broken = Vendor([Relationship(ci="crm-db-01", type="depends_on", target="crm-db-99")])
    with pytest.raises(ConfigError, match=r"plugin .*itsm_relationships\[0\].*'crm-db-99'"):
        Desk.open(config, plugins=[broken])


def test_the_hook_contract_is_kept() -> None:
    """``itsm_relationships`` is part of contract 1.3: a registration hook without arguments, documented."""
    import inspect

    from itsmcore import hookspecs

    spec = hookspecs.itsm_relationships
    assert hookspecs.CONTRACT_VERSION == "1.3"
    assert list(inspect.signature(spec).parameters) == []
    assert not spec.itsm_spec.get("firstresult")  # type: ignore[attr-defined]
    doc = inspect.getdoc(spec) or ""
    assert "What it promises" in doc and "versionadded:: 1.3" in doc
    assert {t.value for t in RelationshipType} == {"runs_on", "depends_on", "connects_to", "provides"}


def test_items_reached_by_two_paths_are_not_a_cycle_but_a_loop_is() -> None:
    from itsmcore.desk.cmdb import on_cycles

    diamond = {"db": ["app", "batch"], "app": ["web"], "batch": ["web"]}
    assert on_cycles(diamond) == set()
    loop = {"db": ["app"], "app": ["web"], "web": ["db", "cdn"], "cdn": ["cdn"], "edge": ["db"]}
    assert on_cycles(loop) == {"db", "app", "web", "cdn"}
    chain = {f"n{i}": [f"n{i + 1}"] for i in range(50_000)}  # deeper than Python's recursion limit
    assert on_cycles(chain) == set()
