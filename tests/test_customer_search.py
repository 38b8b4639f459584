"""Finding a customer by typing part of a name, login, email or phone number (the desk's record-a-contact).

On the run's database: case and accents are ignored the same way on SQLite and PostgreSQL,
nothing typed is a wildcard, and bad searches get a clear error.
"""

from __future__ import annotations

import json
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner

from itsmcore import Desk, InvalidInput
from itsmcore.cli import cli

PEOPLE = [
    ("steve", "Steve Jones", "steve@eagle5.example", "+44 7700 900123"),
    ("scott", "Scott Miller", "scott@eagle5.example", ""),
    ("jose", "José Müller", "jose.mueller@eagle5.example", "+49 30 5555 6789"),
    ("zoe", "ZOË O'Brien", "zoe@eagle5.example", ""),
    ("a_b", "Alpha_Beta Percent%", "ab@eagle5.example", ""),
    ("s100", "Sam Hundred", "s100@eagle5.example", "+44 7700 900999"),
]


def write(tmp_path: Path, database: str, people: list[tuple[str, str, str, str]], extra: int = 0) -> Path:
    lines = []
    for cid, name, email, phone in people:
        lines.append(f"[[customers]]\nid = {json.dumps(cid)}\nname = {json.dumps(name)}\nemail = {json.dumps(email)}")
        if phone:
            lines.append(f"mobile = {json.dumps(phone)}")
    for i in range(extra):
        lines.append(f'[[customers]]\nid = "staff{i:04d}"\nname = "Staff Member {i:04d}"')
    (tmp_path / "customers.toml").write_text("\n".join(lines) + "\n")
    config = tmp_path / "itsm.toml"
    config.write_text(
        textwrap.dedent(
            f"""
            [deployment]
            name = "search"
            database = "{database}"

            [directory.main]
            use = "file"
            path = "customers.toml"
            """
        )
    )
    return config


@pytest.fixture
def config(tmp_path: Path, itsm_database_url: str) -> Path:
    return write(tmp_path, itsm_database_url, PEOPLE)


@pytest.fixture
def desk(config: Path) -> Iterator[Desk]:
    with Desk.open(config, entry_points=False) as d:
        yield d


def ids(desk: Desk, text: str, **kw: int) -> list[str]:
    return [m.id for m in desk.search_customers(text, **kw)]


def test_a_customer_is_found_by_part_of_their_name_login_email_or_phone(desk: Desk) -> None:
    assert ids(desk, "stev") == ["steve"]
    assert ids(desk, "jones") == ["steve"]
    assert ids(desk, "steve@eagle5") == ["steve"]
    assert ids(desk, "mueller") == ["jose"]  # a word of the email address
    assert ids(desk, "+44 7700 900123") == ["steve"]
    assert ids(desk, "0123") == ["steve"]  # the last digits
    assert ids(desk, "447700") == ["s100", "steve"]  # by name: Sam, then Steve
    assert ids(desk, "s jo") == ["steve"]  # every word must match
    assert ids(desk, "steve miller") == []
    (m,) = desk.search_customers("steve")
    assert (m.name, m.email, m.phone) == ("Steve Jones", "steve@eagle5.example", "+44 7700 900123")


def test_case_and_accents_are_ignored_both_ways(desk: Desk) -> None:
    for typed in ("jose", "JOSÉ", "José", "muller", "MÜLLER", "mül"):
        assert ids(desk, typed) == ["jose"], typed
    for typed in ("zoe", "Zoë", "ZOE", "o brien", "o'brien"):
        assert ids(desk, typed) == ["zoe"], typed


def test_sql_wildcards_are_plain_characters_never_wildcards(desk: Desk) -> None:
    for typed in ("%", "_", "%%", "__", "%_%"):
        with pytest.raises(InvalidInput, match="at least 2 letters or digits"):
            desk.search_customers(typed)
    assert ids(desk, "st%") == ids(desk, "st") == ["steve"]
    assert ids(desk, "a_b") == ["a_b"]
    assert ids(desk, "percent%") == ["a_b"]
    assert ids(desk, "%ones") == []  # no "ends with": a word must start with what is typed


def test_empty_short_and_over_long_searches_are_refused_clearly(desk: Desk) -> None:
    for typed in ("", "   ", "s", " é ", "-"):
        with pytest.raises(InvalidInput, match="at least 2 letters or digits"):
            desk.search_customers(typed)
    with pytest.raises(InvalidInput, match="201 characters long; type at most 200"):
        desk.search_customers("x" * 201)
    assert ids(desk, "s" * 200) == []  # long but allowed: nothing matches
    assert ids(desk, "steve" + "x" * 120) == []
    with pytest.raises(InvalidInput, match="limit must be between 1 and 50"):
        desk.search_customers("steve", limit=0)


def test_results_are_limited_and_ordered_by_name(tmp_path: Path, itsm_database_url: str) -> None:
    config = write(tmp_path, itsm_database_url, PEOPLE, extra=120)
    with Desk.open(config, entry_points=False) as desk:
        found = desk.search_customers("staff", limit=20)
        assert [m.id for m in found] == [f"staff{i:04d}" for i in range(20)]
        assert ids(desk, "member 0119") == ["staff0119"]
        assert len(desk.search_customers("sta", limit=50)) == 50


def test_the_index_follows_the_directory(tmp_path: Path, itsm_database_url: str) -> None:
    config = write(tmp_path, itsm_database_url, PEOPLE)
    with Desk.open(config, entry_points=False) as desk:
        assert ids(desk, "newton") == []
    write(tmp_path, itsm_database_url, [*PEOPLE, ("isaac", "Isaac Newton", "isaac@eagle5.example", "")])
    with Desk.open(config, entry_points=False) as desk:  # another count: rebuilt at the first search
        assert ids(desk, "newton") == ["isaac"]
    renamed = [(c, "Stephen Jones" if c == "steve" else n, e, p) for c, n, e, p in PEOPLE]
    write(tmp_path, itsm_database_url, [*renamed, ("isaac", "Isaac Newton", "isaac@eagle5.example", "")])
    with Desk.open(config, entry_points=False) as desk:  # same count: 'itsm customer index' catches it
        assert desk.index_customers() == len(PEOPLE) + 1
        assert ids(desk, "stephen") == ["steve"]


def test_itsm_customer_search(config: Path) -> None:
    runner = CliRunner()
    r = runner.invoke(cli, ["-c", str(config), "customer", "search", "jose", "--format", "json"])
    assert r.exit_code == 0, r.output
    assert [c["id"] for c in json.loads(r.output)] == ["jose"]
    r = runner.invoke(cli, ["-c", str(config), "customer", "search", "MÜL"])
    assert r.exit_code == 0 and "José Müller" in r.output
    r = runner.invoke(cli, ["-c", str(config), "customer", "search", "nobody-like-this"])
    assert r.exit_code == 0 and "no customer matches 'nobody-like-this'" in r.output
    r = runner.invoke(cli, ["-c", str(config), "customer", "search", "%"])
    assert r.exit_code != 0 and "at least 2 letters or digits" in r.output and "Traceback" not in r.output
    r = runner.invoke(cli, ["-c", str(config), "customer", "index"])
    assert r.exit_code == 0 and f"{len(PEOPLE)} customer(s) indexed" in r.output
