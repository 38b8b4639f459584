"""The docs build without warnings, and their references cover the whole contract."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import attrs
import pytest

pytestmark = pytest.mark.no_database  # the PostgreSQL pass leaves these out

pytest.importorskip("sphinx")
pytest.importorskip("myst_parser")

DOCS = Path(__file__).resolve().parents[1] / "docs"


@pytest.fixture(scope="module")
def html(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("docs")
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "sphinx",
            "-W",
            "--keep-going",
            "-n",
            "-q",
            "-j",
            "1",
            "-b",
            "html",
            "-d",
            str(out / ".doctrees"),
            str(DOCS),
            str(out),
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, f"the docs build failed:\n{result.stdout}\n{result.stderr}"
    return out


def test_hook_reference_lists_every_hook(html: Path) -> None:
    from itsmcore import hookspecs

    page = (html / "developers" / "hooks.html").read_text(encoding="utf-8")
    hooks = [n for n, f in vars(hookspecs).items() if n.startswith("itsm_") and hasattr(f, "itsm_spec")]
    assert hooks
    missing = [n for n in hooks if f'id="itsmcore.hookspecs.{n}"' not in page]
    assert not missing, f"hooks without an entry in the hook reference: {missing}"


def test_config_reference_lists_every_core_field(html: Path) -> None:
    from itsmcore import config

    page = (html / "integrators" / "config-reference.html").read_text(encoding="utf-8")
    tables = {
        "deployment": config.DeploymentSettings,
        "plugins": config.PluginSettings,
        "announcements": config.AnnouncementSettings,
        "approvals": config.ApprovalSettings,
        "teams.key": config.TeamSettings,
        "survey_rules": config.SurveyRules,
        "security": config.SecuritySettings,
    }
    missing = [
        f"{table}.{f.name}"
        for table, cls in tables.items()
        for f in attrs.fields(cls)
        if f'id="config-{table}-{f.name}"' not in page
    ]
    assert not missing, f"core settings missing from the config reference: {missing}"


def test_config_reference_lists_every_key_of_a_deployment(html: Path) -> None:
    """Every top-level key, the catalog's tables and their nested tables, from the classes."""
    from itsmcore import config, settings
    from itsmcore.model import (
        Ask,
        Eligibility,
        ExperiencePackage,
        HumanTask,
        KnowledgeArticle,
        Link,
        Milestone,
        Service,
    )

    page = (html / "integrators" / "config-reference.html").read_text(encoding="utf-8")
    missing = [key for key in config.TOP_LEVEL if f'id="config-top-{key}"' not in page]
    assert not missing, f"top-level keys missing from the config reference: {missing}"
    tables = {
        "services": Service,
        "services.eligible": Eligibility,
        "services.plan.task": HumanTask,
        "services.plan.task.milestones": Milestone,
        "services.quick_start": Link,
        "services.experience": ExperiencePackage,
        "asks": Ask,
        "knowledge": KnowledgeArticle,
        "journeys.service": settings.ToBeJourney,
        "journeys.service.stages": settings.ToBeStage,
    }
    missing = [
        f"{table}.{f.name}"
        for table, cls in tables.items()
        for f in attrs.fields(cls)
        if f'id="config-{table}-{f.name}"' not in page
    ]
    assert not missing, f"keys missing from the config reference: {missing}"
    assert 'id="config-services.plan.action-action"' in page
    assert 'id="plan-action"' in page and page.count('href="#plan-action"') >= 2  # the rule, linked to
    for name in config.STANDARD_ASKS:
        assert f'id="config-asks-standard-{name}"' in page


def test_config_reference_lists_the_builtin_components(html: Path) -> None:
    page = (html / "integrators" / "config-reference.html").read_text(encoding="utf-8")
    for anchor in (
        "config-directory-file",
        "config-channel-log",
        "config-action-notify-send_link",
        "config-survey-nps",
    ):
        assert re.search(f'id="{anchor}"', page), anchor


def test_lifecycle_tables_come_from_the_model(html: Path) -> None:
    from itsmcore.model import LIFECYCLES

    page = (html / "concepts.html").read_text(encoding="utf-8")
    for kind, states in LIFECYCLES.items():
        for state in states:
            assert f'id="lifecycle-{kind}-{state}"' in page
