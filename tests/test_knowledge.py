"""The knowledge base in the store: versions, publishing, search, audience, safe Markdown, races, the report, the CLI."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from itsmcore import Conflict, DemandState, InvalidInput, NotFound
from itsmcore.cli import cli
from itsmcore.desk import Desk
from itsmcore.markdown import MAX_BODY_CHARS, MAX_NESTING, render
from itsmcore.model.knowledge import ArticleState, EditConflict

KNOWLEDGE = """
[[knowledge]]
key = "kb-expenses"
title = "How to claim expenses"
body = "Use the Expensatron app: snap the receipt, choose the project, submit."
keywords = ["expenses", "claim", "receipt"]
service_key = "expensatron"
"""

PIPELINE = "Open **Reports** in the CRM, choose *Pipeline*, then pick the quarter."


@pytest.fixture
def config(write_deployment: Callable[..., Path]) -> Path:
    return write_deployment(KNOWLEDGE)


@pytest.fixture
def desk(config: Path) -> Iterator[Desk]:
    with Desk.open(config) as d:
        yield d


def run(config: Path, *args: str, input: str | None = None) -> Result:
    return CliRunner().invoke(cli, ["-c", str(config), *args], input=input, catch_exceptions=False)


def _pipeline(desk: Desk, audience: tuple[str, ...] = ("crm-users",)) -> None:
    desk.knowledge.create(
        "crm-pipeline-report",
        "Running your pipeline report in the CRM",
        PIPELINE,
        services=("crm",),
        keywords=("report", "pipeline", "forecast"),
        audience=audience,
        actor="patrick",
    )
    desk.knowledge.publish("crm-pipeline-report", actor="patrick")


# ---------------------------------------------------------------------------- lifecycle and versions


def test_an_article_is_written_published_edited_and_retired_with_every_version_kept(desk: Desk) -> None:
    a = desk.knowledge.create("vpn-setup", "Setting up the VPN", "Install the client.", actor="patrick")
    assert (a.state, a.version, a.owner) == (ArticleState.DRAFT, 1, "patrick")
    assert desk.knowledge.search("vpn") == [], "a draft is not found"
    desk.knowledge.publish("vpn-setup", actor="susan")
    assert [h.article.key for h in desk.knowledge.search("vpn")] == ["vpn-setup"]
    edited = desk.knowledge.edit("vpn-setup", base_version=2, actor="tony", body="Install the client, then sign in.")
    assert (edited.version, edited.state, edited.updated_by) == (3, ArticleState.PUBLISHED, "tony")
    same = desk.knowledge.edit("vpn-setup", base_version=3, actor="tony", body="Install the client, then sign in.")
    assert same.version == 3, "an edit that changes nothing saves nothing"
    retired = desk.knowledge.retire("vpn-setup", actor="susan")
    assert retired.article.state == ArticleState.RETIRED and retired.open_demands == ()
    assert desk.knowledge.search("vpn") == [], "a retired article is not found"
    history = desk.knowledge.history("vpn-setup")
    assert [(v.version, str(v.state), v.changed_by, v.note) for v in history] == [
        (1, "draft", "patrick", "written"),
        (2, "published", "susan", "published"),
        (3, "published", "tony", "edited"),
        (4, "retired", "susan", "retired"),
    ]
    diff = desk.knowledge.diff("vpn-setup", 1, 3)
    assert "-Install the client.\n" in diff and "+Install the client, then sign in.\n" in diff
    with pytest.raises(Conflict, match="retired; from there it can only be published"):
        desk.knowledge.retire("vpn-setup", actor="susan")
    assert desk.knowledge.publish("vpn-setup", actor="susan").state == ArticleState.PUBLISHED


def test_bad_fields_are_refused_naming_what_to_do(desk: Desk) -> None:
    with pytest.raises(InvalidInput, match="lower-case letters"):
        desk.knowledge.create("VPN Setup!", "t", "b", actor="a")
    with pytest.raises(InvalidInput, match=r"unknown service .expensatorn.*expensatron"):
        desk.knowledge.create("x", "t", "b", services=("expensatorn",), actor="a")
    with pytest.raises(InvalidInput, match="needs a body"):
        desk.knowledge.create("x", "t", "  ", actor="a")
    desk.knowledge.create("x", "t", "b", actor="a")
    with pytest.raises(Conflict, match="already"):
        desk.knowledge.create("x", "t", "b", actor="a")
    with pytest.raises(NotFound, match="no article 'y'"):
        desk.knowledge.get("y")
    assert desk.knowledge.articles() and [a.key for a in desk.knowledge.articles(state="draft")] == ["x"]


# ---------------------------------------------------------------------------- the config's [[knowledge]]


def test_config_articles_are_imported_once_as_published_so_answers_keep_working(config: Path) -> None:
    with Desk.open(config) as desk:
        a = desk.knowledge.get("kb-expenses")
        assert a.state == ArticleState.PUBLISHED and a.services == ("expensatron",)
        assert desk.knowledge.history("kb-expenses")[0].changed_by == "config"
        d = desk.submit("information", "steve", "How do I claim my expenses?", channel="portal").demand
        assert desk.get(d.id).state == DemandState.ANSWERED
        desk.knowledge.edit("kb-expenses", base_version=1, actor="susan", title="Claiming expenses")
    with Desk.open(config) as desk:  # opened again: the store's article stands, not imported twice
        assert desk.knowledge.get("kb-expenses").title == "Claiming expenses"
        assert len(desk.knowledge.history("kb-expenses")) == 2


# ---------------------------------------------------------------------------- finding and audience


def test_search_sees_what_another_process_published_edited_and_retired(desk: Desk, config: Path) -> None:
    def itsm(*args: str) -> None:
        env = {k: v for k, v in os.environ.items() if not k.startswith("ITSM_")}
        done = subprocess.run(
            [sys.executable, "-m", "itsmcore", "-c", str(config), "kb", *args, "--by", "patrick"],
            capture_output=True,
            text=True,
            env=env,
            timeout=120,
        )
        assert done.returncode == 0, done.stderr

    assert [h.article.key for h in desk.knowledge.search("expenses", customer="steve")] == ["kb-expenses"]
    assert desk.knowledge.search("pipeline", customer="steve") == []
    itsm("new", "crm-pipeline-report", "--title", "Running your pipeline report", "--body", PIPELINE, "--publish")
    found = desk.knowledge.search("pipeline", customer="steve")
    assert [(h.article.key, h.matched) for h in found] == [("crm-pipeline-report", "title")]
    itsm("edit", "crm-pipeline-report", "--title", "Your sales forecast")
    found = desk.knowledge.search("forecast", customer="steve")
    assert [(h.article.key, h.matched, h.article.title) for h in found] == [
        ("crm-pipeline-report", "title", "Your sales forecast")
    ]
    itsm("retire", "crm-pipeline-report")
    assert desk.knowledge.search("forecast", customer="steve") == []
    assert [h.article.key for h in desk.knowledge.search("expenses", customer="steve")] == ["kb-expenses"]


def test_search_forgives_typos_and_word_forms_and_respects_the_audience(desk: Desk) -> None:
    _pipeline(desk, audience=("crm-users",))
    assert [h.article.key for h in desk.knowledge.search("pipline reprot", customer="steve")] == ["crm-pipeline-report"]
    assert [h.article.key for h in desk.knowledge.search("expense claims", customer="steve")] == ["kb-expenses"]
    assert desk.knowledge.search("pipeline report", customer="scott") == [], "scott is not in crm-users"
    with pytest.raises(NotFound):
        desk.knowledge.get("crm-pipeline-report", customer="scott")
    assert desk.knowledge.get("crm-pipeline-report", customer="steve").key == "crm-pipeline-report"
    # the self-service answer respects it too
    mine = desk.submit("information", "steve", "How do I run the pipeline report?", channel="portal").demand
    theirs = desk.submit("information", "scott", "How do I run the pipeline report?", channel="portal").demand
    assert desk.get(mine.id).state == DemandState.ANSWERED
    assert desk.get(theirs.id).state == DemandState.IN_PROGRESS, "routed to a person, not shown the article"
    answer = next(e for e in desk.journey(mine.id) if e.kind == "state" and e.stage == "outcome")
    assert "Open Reports in the CRM" in answer.customer_sees and "**" not in answer.customer_sees


# ---------------------------------------------------------------------------- hostile Markdown


def test_markdown_is_rendered_safely(desk: Desk) -> None:
    hostile = (
        "# Title\n\n<script>alert('x')</script>\n\n<iframe src='https://evil.example'></iframe>\n\n"
        "[click](javascript:alert(1)) [data](data:text/html;base64,PHNjcmlwdD4=) "
        '<a href="javascript:alert(2)">raw</a> <img src=x onerror=alert(3)> [ok](https://ok.example)\n'
    )
    html = render(hostile)
    assert "<script" not in html and "<iframe" not in html, "raw HTML is shown as text, never as a tag"
    assert not re.search(r"<[a-z][^>]*\son[a-z]+=", html), "no tag carries an event handler"
    assert '<a href="javascript' not in html and '<a href="data:' not in html and "&lt;script&gt;" in html
    assert '<a href="https://ok.example" rel="noopener noreferrer">ok</a>' in html
    assert "<h1>Title</h1>" in html
    a = desk.knowledge.create("hostile", "Hostile", hostile, actor="patrick")
    assert "<script" not in desk.knowledge.render(a)


def test_huge_nested_lists_render_within_bounds_and_oversized_bodies_are_refused(desk: Desk) -> None:
    deep = "".join("  " * i + "- level\n" for i in range(3000))
    html = render(deep)
    assert html.count("<ul>") <= MAX_NESTING, "nesting is cut at the named limit"
    assert render("- " * 50_000 + "x").count("<ul>") <= MAX_NESTING
    assert render(">" * 50_000 + "x").count("<blockquote>") <= MAX_NESTING
    with pytest.raises(InvalidInput, match=f"at most {MAX_BODY_CHARS:,}"):
        desk.knowledge.create("huge", "Huge", "x" * (MAX_BODY_CHARS + 1), actor="patrick")
    assert desk.knowledge.create("deep", "Deep", deep[:MAX_BODY_CHARS], actor="patrick").version == 1


# ---------------------------------------------------------------------------- racing edits


def test_an_edit_racing_another_edit_of_the_same_version_is_refused_with_the_diff(desk: Desk) -> None:
    _pipeline(desk)  # version 2 after publishing
    desk.knowledge.edit("crm-pipeline-report", base_version=2, actor="susan", body="Reports > Pipeline > quarter.")
    with pytest.raises(EditConflict) as refused:
        desk.knowledge.edit("crm-pipeline-report", base_version=2, actor="tony", body="My version.")
    e = refused.value
    assert (e.base, e.current, e.exit_code, e.http_status) == (2, 3, 3, 409)
    assert "+Reports > Pipeline > quarter." in e.diff and "changed by susan" in str(e)
    assert desk.knowledge.get("crm-pipeline-report").body == "Reports > Pipeline > quarter."
    # a version that only published or retired the article does not make an edit stale
    desk.knowledge.retire("crm-pipeline-report", actor="susan")
    ok = desk.knowledge.edit("crm-pipeline-report", base_version=3, actor="tony", keywords=("report",))
    assert ok.version == 5 and ok.state == ArticleState.RETIRED


def test_the_cli_refuses_a_stale_edit_with_exit_status_3_and_the_diff(config: Path, tmp_path: Path) -> None:
    draft = tmp_path / "report.md"
    draft.write_text(
        "title: Running your pipeline report in the CRM\nservices: crm\nkeywords: report, pipeline\n"
        f"audience: crm-users\nowner: susan\n\n{PIPELINE}\n"
    )
    r = run(config, "kb", "new", "crm-pipeline-report", "--file", str(draft), "--publish", "--by", "susan")
    assert r.exit_code == 0, r.output
    assert "version 1 saved as draft" not in r.output and "published" in r.output
    r = run(config, "kb", "edit", "crm-pipeline-report", "--title", "Your pipeline report", "--by", "patrick")
    assert r.exit_code == 0 and "version 3 saved" in r.output
    r = run(config, "kb", "edit", "crm-pipeline-report", "--file", str(draft), "--base", "2", "--by", "tony")
    assert r.exit_code == 3
    assert "error: article 'crm-pipeline-report' was changed by patrick after version 2" in r.stderr
    assert "+title: Your pipeline report" in r.stderr
    r = run(config, "kb", "history", "crm-pipeline-report", "--format", "json")
    assert [v["changed_by"] for v in json.loads(r.output)] == ["susan", "susan", "patrick"]
    r = run(config, "kb", "history", "crm-pipeline-report", "--diff", "1", "3")
    assert "-title: Running your pipeline report in the CRM" in r.output
    r = run(config, "kb", "show", "crm-pipeline-report", "--html")
    assert "<strong>Reports</strong>" in r.output


def test_the_cli_edits_in_the_editor(config: Path, tmp_path: Path) -> None:
    run(config, "kb", "new", "vpn", "--title", "The VPN", "--body", "Install the client.", "--by", "patrick")
    script = tmp_path / "editor.py"
    script.write_text(
        "import sys, pathlib\np = pathlib.Path(sys.argv[1])\n"
        "p.write_text(p.read_text().replace('Install the client.', 'Install the client and sign in.'))\n"
    )
    r = CliRunner(env={"EDITOR": f"{sys.executable} {script}"}).invoke(
        cli, ["-c", str(config), "kb", "edit", "vpn", "--by", "susan"]
    )
    assert r.exit_code == 0 and "version 2 saved (draft)" in r.output, r.output
    r = run(config, "kb", "show", "vpn")
    assert "Install the client and sign in." in r.stdout and r.stdout.startswith("title: The VPN\n")
    r = run(config, "kb", "list", "--format", "json")
    assert {a["key"]: a["state"] for a in json.loads(r.output)} == {"kb-expenses": "published", "vpn": "draft"}


def test_a_document_with_an_unknown_header_is_refused_naming_the_line(config: Path, tmp_path: Path) -> None:
    bad = tmp_path / "bad.md"
    bad.write_text("title: x\nservice: crm\n\nbody\n")
    r = run(config, "kb", "new", "bad", "--file", str(bad))
    assert r.exit_code == 1 and "line 2: expected 'name: value'" in r.stderr and "services" in r.stderr


# ---------------------------------------------------------------------------- retiring what answers open demands


def test_retiring_an_article_that_answers_open_demands_warns_and_lists_them(desk: Desk, config: Path) -> None:
    _pipeline(desk)
    d = desk.submit("information", "steve", "How do I run the pipeline report?", channel="portal").demand
    assert desk.get(d.id).state == DemandState.ANSWERED
    assert desk.knowledge.answering("crm-pipeline-report") == (d.id,)
    r = run(config, "kb", "retire", "crm-pipeline-report", "--by", "susan")
    assert r.exit_code == 0 and "retired" in r.output
    assert f"warning: 1 open demand(s) were answered with this article: #{d.id}" in r.stderr
    desk.confirm_demand(d.id, "steve", True)
    assert desk.knowledge.answering("crm-pipeline-report") == (), "closed: no longer open"


# ---------------------------------------------------------------------------- the knowledge report


def test_the_report_names_the_most_used_the_least_helpful_and_what_was_not_found(desk: Desk, config: Path) -> None:
    _pipeline(desk)
    helped = desk.submit("information", "steve", "How do I run the pipeline report?", channel="portal").demand
    desk.confirm_demand(helped.id, "steve", True)
    not_helped = desk.submit("information", "steve", "How do I claim my expenses?", channel="portal").demand
    desk.confirm_demand(not_helped.id, "steve", False)
    desk.knowledge.feedback("kb-expenses", "scott", False)
    desk.knowledge.record_read("crm-pipeline-report", "steve")
    desk.knowledge.record_search("toner cartridge", "steve", services=0, articles=0)
    desk.knowledge.record_search("Toner  cartridge", "scott", services=0, articles=0)
    desk.knowledge.record_search("expenses", "scott", services=1, articles=1)
    with pytest.raises(NotFound):
        desk.knowledge.feedback("crm-pipeline-report", "scott", True)  # not in its audience
    r = run(config, "report", "knowledge", "--format", "json")
    assert r.exit_code == 0, r.output
    data = json.loads(r.output)
    assert data["searches"] == 3 and data["could_not_find_it"] == 2
    assert [(a["key"], a["answered"], a["reads"]) for a in data["most_used"]] == [
        ("crm-pipeline-report", 1, 1),
        ("kb-expenses", 1, 0),
    ]
    assert [(a["key"], a["helped"], a["not_helped"]) for a in data["least_helpful"]] == [
        ("kb-expenses", 0, 2),
        ("crm-pipeline-report", 1, 0),
    ]
    assert [(u["query"], u["count"]) for u in data["searches_with_no_result"]] == [("toner cartridge", 2)]
    table = run(config, "report", "knowledge")
    assert "Searches with no result" in table.output and "toner cartridge" in table.output
    fd = json.loads(run(config, "report", "failure-demand", "--format", "json").output)
    assert {c["id"]: c["contacts"] for c in fd}["cant_find"] == 2, "the same figure as failure demand's"
