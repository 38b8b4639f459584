"""The conformance kit's directory contract, against the real slapd."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from itsmcore import DirectoryBackend
from itsmcore.testing import DirectoryContract, check_component_record

from itsm_ldap import plugin

from .conftest import PASSWORDS, Slapd


class TestLdapDirectoryContract(DirectoryContract):
    @pytest.fixture
    def directory(self, slapd: Slapd, make_directory: Callable[..., Any]) -> DirectoryBackend:
        return make_directory(slapd)  # type: ignore[no-any-return]

    @pytest.fixture
    def known_login(self) -> str:
        return "steve"

    @pytest.fixture
    def known_password(self) -> str:
        return PASSWORDS["steve"]


def test_record_passes_the_kit() -> None:
    check_component_record(plugin.ldap_directory_component())
    assert plugin.ITSM_CONTRACT == "1.0"


def test_registration_does_not_import_ldap3() -> None:
    import subprocess
    import sys

    code = "import sys, itsm_ldap.plugin as p; list(p.itsm_directories()); print('ldap3' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False", "registering the component must not import ldap3"


def test_readme_examples_are_valid_settings() -> None:
    import re
    import tomllib
    from pathlib import Path

    from itsmcore.config import CONVERTER

    readme = (Path(__file__).parents[1] / "README.md").read_text(encoding="utf-8")
    blocks = re.findall(r"```toml\n(.*?)```", readme, flags=re.S)
    assert len(blocks) == 2
    for block in blocks:
        for table in tomllib.loads(block)["directory"].values():
            table = dict(table)
            assert table.pop("use") == "ldap"
            CONVERTER.structure(table, plugin.LdapDirectorySettings)
