"""``itsm demo --workshop DIR``: the Eagle5 example writes a workshop pack for the smartphone service."""

from __future__ import annotations

import shutil
from pathlib import Path

from click.testing import CliRunner

from itsmcore.cli import cli

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "eagle5"


def test_the_demo_writes_the_smartphone_workshop_pack(tmp_path: Path) -> None:
    example = tmp_path / "eagle5"
    shutil.copytree(EXAMPLE, example, ignore=shutil.ignore_patterns("*.db*", ".itsm-secret", "__pycache__"))
    pack = tmp_path / "workshop"
    r = CliRunner().invoke(
        cli,
        ["demo", "--example", str(example), "--core-only", "--workshop", str(pack)],
        env={"COLUMNS": "200", "ITSM_SECRET": ""},
        catch_exceptions=False,
    )
    assert r.exit_code == 0, r.output
    assert "Workshop pack: the smartphone service" in r.output
    pages = {p.name: p.read_text(encoding="utf-8") for p in pack.glob("*.html")}
    assert sorted(pages) == ["as-is.html", "comments.html", "to-be.html", "trends.html"]
    assert "No journeys in this period" not in pages["as-is.html"], "the history has smartphone journeys"
    assert "What the customer" in pages["as-is.html"] and "<svg" in pages["trends.html"]
    assert f"wrote {pack / 'as-is.html'}" in r.output
    assert all(p.read_bytes().startswith(b"%PDF") for p in pack.glob("*.pdf")), "any PDF written is a PDF"
    assert len(list(pack.glob("*.pdf"))) in (0, 4) and (list(pack.glob("*.pdf")) or "PDFs skipped" in r.output)


def test_without_workshop_the_demo_says_how_to_get_one(tmp_path: Path) -> None:
    example = tmp_path / "eagle5"
    shutil.copytree(EXAMPLE, example, ignore=shutil.ignore_patterns("*.db*", ".itsm-secret", "__pycache__"))
    r = CliRunner().invoke(
        cli, ["demo", "--example", str(example), "--core-only"], env={"COLUMNS": "200", "ITSM_SECRET": ""}
    )
    assert r.exit_code == 0, r.output
    assert "itsm demo --workshop workshop/" in r.output
