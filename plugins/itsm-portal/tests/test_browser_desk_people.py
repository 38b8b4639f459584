"""Record a contact in a real browser (Debian's Chromium through Playwright): the customer found by typing.

With JavaScript the pick list follows the typing; without it, Find brings the same list.
Either way the demand's journey names the agent who recorded it.
"""

from __future__ import annotations

from typing import Any

import pytest
from test_browser import browser, live, shot, sign_in

pytestmark = pytest.mark.browser

__all__ = ["browser", "live"]  # fixtures used by name below


def _record(page: Any, base: str) -> None:
    from playwright.sync_api import expect

    page.get_by_label("Summary").fill("The VPN drops every hour")
    page.get_by_role("button", name="Record").click()
    expect(page.get_by_role("heading", name="The VPN drops every hour")).to_be_visible()
    expect(page.locator("table.journey td.who").first).to_have_text("Patrick Hale (patrick)")
    assert page.url.startswith(f"{base}/desk/demands/")


def test_the_pick_list_follows_the_typing(browser: Any, live: tuple[str, Any]) -> None:
    from playwright.sync_api import expect

    base, desk = live
    page = sign_in(browser, base, "patrick")
    page.goto("/desk/contact")
    box = page.get_by_label("Find the customer")
    box.press_sequentially("s", delay=40)
    expect(page.locator("#pick-hint")).to_contain_text("at least 2 letters or digits")
    box.press_sequentially("t", delay=40)
    expect(page.locator("#pick")).to_contain_text("Tony Stark")
    expect(page.locator("#pick")).to_contain_text("Steve Jones")
    assert page.url == f"{base}/desk/contact"  # no page load: suggestions as the agent types
    box.press_sequentially("ark", delay=40)
    expect(page.locator("#pick li")).to_have_count(1)
    expect(page.get_by_role("radio", name="Tony Stark")).to_be_checked()
    shot(page, "desk-contact-typing")
    box.fill("%_%")
    box.press_sequentially(" ", delay=40)
    expect(page.locator("#pick-hint")).to_contain_text("at least 2 letters or digits")
    box.fill("")
    box.press_sequentially("MÜL", delay=40)  # nobody matches: said so
    expect(page.locator("#pick-hint")).to_contain_text("Nobody matches")
    box.fill("")
    box.press_sequentially("stark", delay=40)
    expect(page.get_by_role("radio", name="Tony Stark")).to_be_checked()
    _record(page, base)
    (d,) = desk.list_demands(customer="tony")
    assert desk.journey(d.id)[0].by is not None and desk.journey(d.id)[0].by.login == "patrick"


def test_without_javascript_find_brings_the_pick_list(browser: Any, live: tuple[str, Any]) -> None:
    from playwright.sync_api import expect

    base, _desk = live
    page = sign_in(browser, base, "patrick", java_script_enabled=False)
    page.goto("/desk/contact")
    page.get_by_label("Find the customer").fill("tony")
    page.get_by_role("button", name="Find").click()
    expect(page.get_by_role("radio", name="Tony Stark")).to_be_checked()
    assert "find=tony" in page.url
    shot(page, "desk-contact-no-javascript")
    _record(page, base)
