"""Steve's three journeys in a real browser: Debian's Chromium driven by Playwright, against uvicorn.

Screenshots go to plugins/itsm-portal/test-artifacts/ (git-ignored); the path is printed.
"""

from __future__ import annotations

import os
import shutil
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from conftest import PASSWORD, TOKENS_ENV, make_eagle5

CHROMIUM = os.environ.get("ITSM_CHROMIUM", "/usr/bin/chromium")
ARTIFACTS = Path(__file__).resolve().parents[1] / "test-artifacts"

pytestmark = pytest.mark.browser


def _need(condition: bool, reason: str) -> None:
    if condition:
        return
    if os.environ.get("CI") == "true":
        pytest.fail(f"{reason} (CI=true: browser tests must run)")
    pytest.skip(reason)


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    _need(
        Path(CHROMIUM).exists() or bool(shutil.which(CHROMIUM)),
        f"Chromium not found at {CHROMIUM}: apt-get install chromium",
    )
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _need(False, "playwright is not installed: pip install playwright")
        raise
    with sync_playwright() as p:
        b = p.chromium.launch(
            executable_path=CHROMIUM,
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-dev-shm-usage",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--no-first-run",
            ],
        )
        yield b
        b.close()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def live(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[str, Any]]:
    """The portal on a copy of Eagle5, served by uvicorn in a thread on 127.0.0.1."""
    import uvicorn
    from itsmcore import Desk

    from itsm_portal.app import create_app

    monkeypatch.setenv(TOKENS_ENV, "x:y")
    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    desk = Desk.open(make_eagle5(tmp_path / "eagle5", public_url=base))
    server = uvicorn.Server(uvicorn.Config(create_app(desk=desk), host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 60  # generous: a busy machine starts it late
    while not server.started:
        assert time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.02)
    try:
        yield base, desk
    finally:
        server.should_exit = True
        thread.join(5)
        desk.close()


def shot(page: Any, name: str) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)


def sign_in(browser: Any, base: str, login: str, **context: Any) -> Any:
    page = browser.new_context(base_url=base, **context).new_page()
    page.set_default_timeout(10_000)
    page.goto("/")
    page.get_by_label("Login").fill(login)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(f"{base}/")
    return page


def test_steves_three_journeys(browser: Any, live: tuple[str, Any]) -> None:
    from playwright.sync_api import expect

    base, _desk = live
    steve = sign_in(browser, base, "steve")
    expect(steve.get_by_role("heading", name="Hello Steve")).to_be_visible()

    # ---- value demand: search "expenses" (results as he types), ask for Expensatron with two answers
    steve.get_by_role("navigation", name="Main").get_by_role("link", name="Find a service").click()
    steve.get_by_label("What do you need?").press_sequentially("expenses", delay=30)
    result = steve.locator("#results a", has_text="Expensatron expenses app")
    expect(result).to_be_visible()
    expect(steve.locator("#results")).to_contain_text("You can have this")
    shot(steve, "1-search-as-you-type")
    result.click()
    expect(steve.get_by_label("Your mobile number")).to_have_value("+447700900123")
    expect(steve.get_by_label("iOS")).to_be_checked()
    shot(steve, "2-service-page")
    steve.get_by_role("button", name="Ask for Expensatron expenses app").click()
    expect(steve.get_by_role("status")).to_contain_text("Thanks, we have your request for Expensatron")
    expect(steve.get_by_role("link", name="Expensatron in two minutes")).to_be_visible()
    shot(steve, "3-value-confirmation")

    # ---- failure demand: the service desk announces the CRM outage
    patrick = sign_in(browser, base, "patrick")
    patrick.goto("/desk/announcements")
    patrick.get_by_label("Service", exact=True).select_option("crm")
    patrick.get_by_label("What is wrong (title)").fill("The CRM web app does not load")
    patrick.locator("#f-workaround").fill("Use the CRM mobile app meanwhile.")
    patrick.get_by_label("Workaround link title").fill("CRM mobile app")
    patrick.get_by_label("Workaround link address").fill("https://apps.eagle5.example/crm/mobile")
    patrick.get_by_label("When we expect it fixed").fill("within two hours")
    patrick.get_by_role("button", name="Announce").click()
    expect(patrick.locator("#ann-state")).to_have_text("open")
    announcement_url = patrick.url

    steve.goto("/")
    card = steve.locator("article.announcement", has_text="The CRM web app does not load")
    expect(card).to_contain_text("Use the CRM mobile app meanwhile.")
    shot(steve, "4-home-announcement")
    card.get_by_role("button", name="This affects me").click()
    expect(steve.get_by_role("status")).to_contain_text("linked you to this problem")
    shot(steve, "5-affected-demand")

    patrick.goto(announcement_url)
    expect(patrick.locator("#ledger-affected")).to_have_text("1")
    patrick.get_by_label("What fixed it").fill("The load balancer was replaced.")
    patrick.get_by_role("button", name="Resolve and ask affected customers to confirm").click()
    expect(patrick.locator("#ann-state")).to_have_text("resolved")

    steve.goto("/")
    steve.locator("a[href*='/confirm/'][href*='fixed=yes']").first.click()
    expect(steve.get_by_role("heading", name="Is it working again?")).to_be_visible()
    shot(steve, "6-confirm-landing")
    steve.get_by_role("button", name="Yes, it works again").click()
    expect(steve.get_by_role("status")).to_contain_text("Thanks for confirming")
    steve.get_by_role("link", name="Tell us how it went").click()
    steve.locator("label.score", has_text="9").click()
    steve.get_by_label("Anything you want to add?").fill("Knew about it before I did. Nice.")
    shot(steve, "7-survey")
    steve.get_by_role("button", name="Send").click()
    expect(steve.get_by_role("status")).to_contain_text("Thanks for telling us")
    patrick.goto(announcement_url)
    expect(patrick.locator("#ledger-fixed")).to_have_text("1")
    shot(patrick, "8-ledger")

    # ---- information demand: a smartphone request, then "where is it?" answered without a person
    steve.goto("/services/smartphone")
    steve.get_by_label("What do you need it for?").fill("Visiting customers")
    steve.get_by_role("button", name="Ask for A company smartphone").click()
    expect(steve.get_by_role("status")).to_contain_text("smartphone")
    steve.get_by_role("navigation", name="Main").get_by_role("link", name="Ask a question").click()
    steve.get_by_label("I have a question").check()
    steve.get_by_label("In a few words").press_sequentially("Where is the smartphone I requested?", delay=10)
    expect(steve.locator("#answer-list")).to_contain_text("waiting for approval")
    shot(steve, "9-answer-before-sending")
    steve.get_by_role("button", name="Send to IT").click()
    expect(steve.locator(".answer")).to_contain_text("waiting for approval")
    shot(steve, "10-information-answered")

    # the service desk sees both columns and records the manager's approval
    patrick.goto("/desk?kind=value&state=awaiting_approval")
    patrick.get_by_role("link", name="A company smartphone").first.click()
    expect(patrick.locator("table.journey")).to_contain_text("approval")
    shot(patrick, "11-desk-two-columns")
    patrick.get_by_role("button", name="Approve").click()
    expect(patrick.locator("#state")).not_to_contain_text("awaiting")

    # a phone-width look at the home page
    phone = sign_in(browser, base, "steve", viewport={"width": 390, "height": 844}, is_mobile=True)
    shot(phone, "12-home-phone-width")
    width = phone.evaluate("document.documentElement.scrollWidth")
    assert width <= 390, f"the home page scrolls sideways on a phone ({width}px)"
    print(f"\nscreenshots in {ARTIFACTS}")


def test_search_works_without_javascript(browser: Any, live: tuple[str, Any]) -> None:
    from playwright.sync_api import expect

    base, _desk = live
    ctx = browser.new_context(base_url=base, java_script_enabled=False)
    page = ctx.new_page()
    page.goto("/")
    page.get_by_label("Login").fill("steve")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.get_by_label("What do you need?").fill("phone")
    page.get_by_role("button", name="Search").click()
    expect(page.locator("#results")).to_contain_text("A company smartphone")
    page.keyboard.press("Tab")  # focus order starts somewhere sensible, nothing throws
    ctx.close()


def test_what_a_customer_typed_survives_a_send_that_was_too_big(browser: Any, live: tuple[str, Any]) -> None:
    """The server keeps nothing of a refused body; the tab does, and the form fills itself again."""
    from playwright.sync_api import expect

    base, desk = live
    page = sign_in(browser, base, "steve")
    page.goto("/report")
    summary = "The VPN drops every hour"
    details = "Here is the whole log, pasted: " + "x" * 1_100_000  # over the portal's 1 MB limit
    page.get_by_label("In a few words").fill(summary)
    page.get_by_label("Anything else we should know").fill(details)
    page.get_by_role("button", name="Send to IT").click()
    expect(page.get_by_role("heading", name="That was too much to send")).to_be_visible()
    page.get_by_role("link", name="Go back to the form").click()
    expect(page.get_by_label("In a few words")).to_have_value(summary)
    assert page.get_by_label("Anything else we should know").input_value() == details
    assert desk.list_demands(customer="steve") == [], "nothing was taken in"
    page.reload()  # kept once: after it is put back, nothing lingers
    expect(page.get_by_label("In a few words")).to_have_value("")
    page.context.close()
