"""The three Eagle5 journeys walked end to end in Chromium, checking every page against EXPERIENCE.md.

Steve walks them at desktop (1280x800) and phone (390x844) size; Scott (the approver) and
logistics are played through the desk's public API in the test process, and Patrick (the
service desk) signs in to the desk pages. At each step the page must show exactly the
status sentence :meth:`Desk.customer_status` gives (one status model for every channel),
and no customer page may show internal words, the ``log`` channel, raw token URLs or two
contradicting statuses. axe-core (installed from npm into a temp dir, or ``ITSM_AXE_JS``)
checks the customer pages for serious and critical accessibility violations.

Screenshots, one per step, go to pytest's ``tmp_path`` for the test (``<tmp_path>/shots``),
never into the repository; the path is printed.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import time
import warnings
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from conftest import PASSWORD, TOKENS_ENV, make_eagle5
from itsmcore import Stage
from test_browser import _free_port, browser  # noqa: F401 (browser: the shared Chromium fixture)

pytestmark = pytest.mark.browser

TIMEOUT_MS = 30_000  # generous: a busy CI machine may take seconds per page
PATIENCE_S = 30.0

VIEWPORTS: dict[str, dict[str, Any]] = {
    "desktop": {"viewport": {"width": 1280, "height": 800}},
    "phone": {"viewport": {"width": 390, "height": 844}, "is_mobile": True, "has_touch": True},
}

# Internal words a customer must never read (EXPERIENCE.md, rule 4).
STAGE_WORD = re.compile(r"\b(" + "|".join(re.escape(s.value) for s in Stage) + r")\b", re.IGNORECASE)
# Ordinary English that happens to spell a stage value, not a stage leaking: a button's words,
# and the customer label itsmcore.status gives the feedback stage.
PLAIN_ENGLISH = ("Share my review", "Your feedback")
CHANNEL_WORD = re.compile(r"\blog\b", re.IGNORECASE)
RAW_TOKEN = re.compile(r"[A-Za-z0-9_\-]{32,}|/(confirm|survey|approve)/\S+")
# A status element that says both "finished" and "still going" contradicts itself (rule 1).
FINISHED = re.compile(r"\b(Done|Fixed|Answered|Cancelled|Not approved|closed)\b")
PENDING = re.compile(r"\b(Waiting|In progress|On its way|We are working)\b")
# The status elements' own words: an answer quoted inside one (another demand's status) is not its status.
STATUS_TEXTS = """[...document.querySelectorAll('#state, [role=status]')].map(e => {
    const c = e.cloneNode(true); c.querySelectorAll('.answer').forEach(a => a.remove()); return c.textContent; })"""

# Real defects found by this walkthrough and reported, each with the exact text that shows it:
# check_words exempts exactly that text (like a non-strict xfail), records that the defect still
# happens and warns when it no longer does, while every other word on every page stays guarded.
KNOWN_LEAKS: dict[str, re.Pattern[str]] = {}  # none now: links are named by their titles

# Serious or critical axe-core findings known and reported, by (page, rule id) -> the report;
# exempted like a non-strict xfail, any other serious or critical violation fails the test.
# Empty: the walkthrough's pages had none when it was written.
AXE_PAGES = {"home", "search", "service", "thank-you", "demand-awaiting-approval", "confirm", "survey"}
KNOWN_AXE: dict[tuple[str, str], str] = {}


@dataclass
class Axe:
    """axe-core for the pages: the script's path, or why the checks are skipped."""

    script: Path | None
    reason: str = ""
    seen_known: set[tuple[str, str]] = field(default_factory=set)
    checked: set[str] = field(default_factory=set)

    def check(self, page: Any, name: str) -> None:
        """No serious or critical violation on ``page`` beyond the documented ones in KNOWN_AXE."""
        if self.script is None:
            return
        page.add_script_tag(path=str(self.script))
        result = page.evaluate("axe.run(document, {resultTypes: ['violations']})")
        bad = []
        for v in result["violations"]:
            if v.get("impact") not in ("serious", "critical"):
                continue
            if (name, v["id"]) in KNOWN_AXE:
                self.seen_known.add((name, v["id"]))
                continue
            targets = [" ".join(n["target"]) for n in v["nodes"]]
            bad.append(f"{v['id']} ({v['impact']}): {v['help']} at {targets}")
        assert not bad, f"accessibility on the {name} page:\n" + "\n".join(bad)
        self.checked.add(name)


@pytest.fixture(scope="session")
def axe_script(tmp_path_factory: pytest.TempPathFactory) -> Axe:
    """axe-core from the npm registry, installed once per session into a temp dir (never the repo)."""
    given = os.environ.get("ITSM_AXE_JS")
    if given:
        return Axe(Path(given)) if Path(given).is_file() else Axe(None, f"ITSM_AXE_JS={given} is not a file")
    npm = shutil.which("npm")
    if not npm:
        if os.environ.get("CI") == "true":
            pytest.fail("npm is missing (CI=true: .ci/run installs nodejs and npm)")
        return Axe(None, "npm is not installed (apt-get install nodejs npm)")
    prefix = tmp_path_factory.mktemp("axe")
    try:
        done = subprocess.run(
            [npm, "install", "--prefix", str(prefix), "--no-audit", "--no-fund", "axe-core@4"],
            capture_output=True,
            text=True,
            timeout=300,
        )
    except subprocess.TimeoutExpired:
        return Axe(None, "npm install axe-core@4 timed out (is the npm registry reachable?)")
    script = prefix / "node_modules" / "axe-core" / "axe.min.js"
    if done.returncode != 0 or not script.is_file():
        return Axe(None, f"npm install axe-core@4 failed (registry unreachable?): {done.stderr.strip()[-300:]}")
    return Axe(script)


@pytest.fixture
def axe(axe_script: Axe) -> Axe:
    """A fresh record of what axe checked and found, per walkthrough."""
    return Axe(axe_script.script, axe_script.reason)


@pytest.fixture
def live(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, itsm_database_url: str) -> Iterator[tuple[str, Any]]:
    """The portal on a copy of Eagle5 on the run's database (SQLite or PostgreSQL), served by uvicorn."""
    import threading

    import uvicorn
    from itsmcore import Desk

    from itsm_portal.app import create_app

    monkeypatch.setenv(TOKENS_ENV, "x:y")
    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    config = make_eagle5(tmp_path / "eagle5", public_url=base)
    text = config.read_text(encoding="utf-8")
    config.write_text(re.sub(r'database = "[^"]*"', f'database = "{itsm_database_url}"', text, count=1))
    desk = Desk.open(config)
    server = uvicorn.Server(uvicorn.Config(create_app(desk=desk), host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + PATIENCE_S
    while not server.started:  # the server's own flag: a condition, polled
        assert thread.is_alive() and time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.02)
    try:
        yield base, desk
    finally:
        server.should_exit = True
        thread.join(10)
        desk.close()


def visible_text(page: Any) -> str:
    return str(page.inner_text("main") if page.locator("main").count() else page.inner_text("body"))


def check_words(page: Any, name: str, seen: set[str]) -> None:
    """EXPERIENCE.md rules 1 and 4 on what the customer can read (known, reported leaks noted in ``seen``)."""
    text = visible_text(page)
    for defect, pattern in KNOWN_LEAKS.items():
        if pattern.search(text):
            seen.add(defect)
            text = pattern.sub(" ", text)
    stage = STAGE_WORD.search(re.sub("|".join(map(re.escape, PLAIN_ENGLISH)), " ", text))
    assert not stage, f"{name}: internal stage name {stage.group(0)!r} in {text!r}"
    assert not CHANNEL_WORD.search(text), f"{name}: the channel name 'log' in {text!r}"
    token = RAW_TOKEN.search(text)
    assert not token, f"{name}: a raw token URL {token.group(0)!r} is visible"
    for element in page.evaluate(STATUS_TEXTS):
        assert not (FINISHED.search(element) and PENDING.search(element)), f"{name}: contradicting {element!r}"


def wait_for_status(page: Any, desk: Any, demand_id: int, *, selector: str = "main", exact: bool = False) -> str:
    """Reload until the page shows the desk's status sentence for the demand; return it.

    Jobs run in the server while the test reads, so the sentence may move on between the
    page and the desk: the condition is that both agree, waited for, never slept for.
    """
    deadline = time.monotonic() + PATIENCE_S
    while True:
        status = desk.customer_status(desk.get(demand_id))
        shown = page.inner_text(selector).strip()
        ok = shown == status.text if exact else status.sentence in shown
        if ok:
            return str(status.sentence)
        assert time.monotonic() < deadline, f"the page says {shown!r}, the desk says {status.text!r}"
        page.reload(wait_until="domcontentloaded")


def new_page(chromium: Any, base: str, **context: Any) -> Any:
    """A page in its own context; CSP bypassed only so axe-core can be injected (the portal's CSP stays on)."""
    page = chromium.new_context(base_url=base, bypass_csp=True, **context).new_page()
    page.set_default_timeout(TIMEOUT_MS)
    return page


def sign_in(page: Any, base: str, login: str) -> None:
    page.goto("/")
    page.get_by_label("Login").fill(login)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(f"{base}/")


def demand_id_of(page: Any) -> int:
    found = re.search(r"/demands/(\d+)", page.url)
    assert found, f"not on a demand's page: {page.url}"
    return int(found.group(1))


@pytest.mark.parametrize("size", list(VIEWPORTS))
def test_walkthrough(browser: Any, live: tuple[str, Any], axe: Axe, tmp_path: Path, size: str) -> None:  # noqa: F811
    """Steve's value, failure and information journeys, Scott and logistics via the API, Patrick at the desk."""
    from playwright.sync_api import expect

    expect.set_options(timeout=TIMEOUT_MS)
    base, desk = live
    shots = tmp_path / "shots"
    shots.mkdir()
    print(f"\nscreenshots in {shots}")  # captured output: pytest shows it when the test fails (or with -s)
    step = iter(range(1, 100))
    leaks: set[str] = set()

    def shot(page: Any, name: str) -> None:
        page.screenshot(path=str(shots / f"{next(step):02d}-{size}-{name}.png"), full_page=True)

    def customer_page(page: Any, name: str, *, a11y: bool = False) -> None:
        check_words(page, name, leaks)
        if a11y:
            axe.check(page, name)
        shot(page, name)

    steve = new_page(browser, base, **VIEWPORTS[size])
    sign_in(steve, base, "steve")
    expect(steve.get_by_role("heading", name="Hello Steve")).to_be_visible()
    customer_page(steve, "home", a11y=True)
    if size == "phone":
        width = steve.evaluate("document.documentElement.scrollWidth")
        assert width <= 390, f"the home page scrolls sideways on a phone ({width}px)"

    # ---- value demand: find Expensatron by searching, ask, read the thank-you
    steve.goto("/search")
    steve.get_by_label("What do you need?").press_sequentially("expenses", delay=20)
    result = steve.locator("#results a", has_text="Expensatron expenses app")
    expect(result).to_be_visible()
    customer_page(steve, "search", a11y=True)
    result.click()
    expect(steve.get_by_role("button", name="Ask for Expensatron expenses app")).to_be_visible()
    customer_page(steve, "service", a11y=True)
    steve.get_by_role("button", name="Ask for Expensatron expenses app").click()
    expect(steve.get_by_role("status")).to_contain_text("Thanks, we have your request for Expensatron")
    expensatron = demand_id_of(steve)
    wait_for_status(steve, desk, expensatron, selector="[role=status]")
    customer_page(steve, "thank-you", a11y=True)

    # ---- value demand with a wait: a smartphone, approved by Scott, shipped by logistics
    steve.goto("/services/smartphone")
    steve.get_by_label("What do you need it for?").fill("Visiting customers")
    steve.get_by_role("button", name="Ask for A company smartphone").click()
    expect(steve.get_by_role("status")).to_contain_text("smartphone")
    phone_id = demand_id_of(steve)
    waiting = wait_for_status(steve, desk, phone_id, selector="[role=status]")
    assert "Scott" in waiting, f"the approver is not named: {waiting!r}"
    customer_page(steve, "smartphone-thank-you")
    steve.goto(f"/demands/{phone_id}")
    wait_for_status(steve, desk, phone_id, selector="#state", exact=True)
    customer_page(steve, "demand-awaiting-approval", a11y=True)

    # Patrick, the service desk, finds Steve's demand in the queue and opens it: Scott's approval pending
    patrick = new_page(browser, base, **VIEWPORTS["desktop"])
    sign_in(patrick, base, "patrick")
    patrick.goto("/desk?kind=value&state=awaiting_approval")
    patrick.locator(f"a[href='/desk/demands/{phone_id}']").first.click()
    patrick.wait_for_url(f"{base}/desk/demands/{phone_id}")
    expect(patrick.locator("main")).to_contain_text("Steve Jones")
    expect(patrick.locator("main")).to_contain_text("A company smartphone")
    shot(patrick, "desk-demand")

    desk.approve(phone_id, "scott")  # Scott says yes (his email link, played through the API)
    task = desk.tasks(demand_id=phone_id, open_only=True)[0]
    milestones = desk.task_milestones(task.id)
    assert milestones == ("ordered", "dispatched", "delivered")
    for milestone in milestones[:2]:
        desk.task_milestone(task.id, milestone)
        steve.reload()
        on_its_way = wait_for_status(steve, desk, phone_id, selector="#state", exact=True)
        assert milestone in on_its_way, f"{milestone!r} is not what Steve reads: {on_its_way!r}"
        customer_page(steve, f"demand-{milestone}")

    # ---- information demand: "where is my smartphone?" answered from the status, without a person
    steve.goto("/report")
    steve.get_by_label("I have a question").check()
    steve.get_by_label("In a few words").press_sequentially("where is my smartphone?", delay=10)
    expect(steve.locator("#answer-list")).to_contain_text(on_its_way)
    customer_page(steve, "question-answer-as-you-type")
    steve.get_by_role("button", name="Send to IT").click()
    expect(steve.locator(".answer")).to_contain_text(on_its_way)
    wait_for_status(steve, desk, demand_id_of(steve), selector="[role=status]")
    customer_page(steve, "question-answered")

    desk.task_milestone(task.id, milestones[-1])  # delivered: the last milestone finishes the task
    steve.goto(f"/demands/{phone_id}")
    delivered = wait_for_status(steve, desk, phone_id, selector="#state", exact=True)
    assert delivered.startswith("Done"), f"the phone is delivered but Steve reads {delivered!r}"
    customer_page(steve, "demand-delivered", a11y=True)

    # ---- failure demand: the CRM outage, announced by the desk, confirmed fixed by Steve
    announcement = desk.open_announcement(
        "crm",
        "The CRM web app does not load",
        workaround="Use the CRM mobile app meanwhile.",
        estimate="within two hours",
    )
    steve.goto("/")
    card = steve.locator("article.announcement", has_text="The CRM web app does not load")
    expect(card).to_contain_text("Use the CRM mobile app meanwhile.")
    customer_page(steve, "home-announcement", a11y=True)
    card.get_by_role("button", name="This affects me").click()
    expect(steve.get_by_role("status")).to_contain_text("linked you to this problem")
    outage = demand_id_of(steve)
    wait_for_status(steve, desk, outage, selector="#state", exact=True)
    customer_page(steve, "demand-known-problem", a11y=True)

    desk.resolve_announcement(announcement.id, "The load balancer was replaced.")
    steve.goto("/")
    confirm = steve.locator("a[href*='/confirm/'][href*='fixed=yes']").first
    expect(confirm).to_be_visible()
    customer_page(steve, "home-fixed")
    confirm.click()
    expect(steve.get_by_role("heading", name="Is it working again?")).to_be_visible()
    customer_page(steve, "confirm", a11y=True)
    steve.get_by_role("button", name="Yes, it works again").click()
    expect(steve.get_by_role("status")).to_contain_text("Thanks for confirming")
    customer_page(steve, "confirmed")
    steve.get_by_role("link", name=re.compile("Tell us how it went")).click()
    expect(steve.get_by_role("heading", name="How did we do?")).to_be_visible()
    customer_page(steve, "survey", a11y=True)
    steve.locator("label.score", has_text="9").click()
    steve.get_by_label("Anything you want to add?").fill("Knew about it before I did. Nice.")
    steve.get_by_role("button", name="Send").click()
    expect(steve.get_by_role("status")).to_contain_text("Thanks for telling us")
    customer_page(steve, "survey-sent")
    steve.goto(f"/demands/{outage}")
    closed = wait_for_status(steve, desk, outage, selector="#state", exact=True)
    assert closed.startswith("Fixed"), f"Steve confirmed the fix but reads {closed!r}"
    customer_page(steve, "demand-fixed", a11y=True)
    ledger = desk.ledger(announcement.id)
    assert (ledger.affected, ledger.confirmed_fixed) == (1, 1), "the desk's ledger missed Steve's answer"

    for defect in sorted(leaks):
        warnings.warn(f"known defect, reported: {defect}", stacklevel=1)
    for defect in sorted(set(KNOWN_LEAKS) - leaks):  # like a non-strict xfail passing
        warnings.warn(f"known defect no longer seen (fixed? remove it from KNOWN_LEAKS): {defect}", stacklevel=1)
    if axe.script is None:
        pytest.skip(f"walkthrough passed; accessibility checks skipped: {axe.reason}")
    assert axe.checked >= AXE_PAGES, f"axe did not check {AXE_PAGES - axe.checked}"
    for finding in sorted(set(KNOWN_AXE) - axe.seen_known):
        warnings.warn(f"known axe finding no longer seen (fixed? remove it from KNOWN_AXE): {finding}", stacklevel=1)
