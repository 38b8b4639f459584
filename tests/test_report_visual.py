"""The report pages in a real browser: Debian's Chromium driven by Playwright, with and without JavaScript.

Screenshots of each page at desktop width and at A3 landscape go to tests/test-artifacts/
(git-ignored); every text box of every SVG must lie inside its viewBox. Skipped, saying
why, without Chromium or Playwright (failed instead when CI=true).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from itsmcore.desk import Desk
from itsmcore.history import Clock
from itsmcore.reports import Scope, experience_report
from itsmcore.reports.render import experience_html
from itsmcore.reports.workshop import chromium_path, write_workshop

from .test_report_maps import T0, TO_BE, phone_request

ARTIFACTS = Path(__file__).resolve().parent / "test-artifacts"
DESKTOP = {"width": 1440, "height": 900}
A3 = {"width": 1587, "height": 1123}  # 420 x 297 mm at 96 px per inch

CLIPPED = """() => {
  const out = [];
  for (const svg of document.querySelectorAll('svg')) {
    const vb = svg.viewBox.baseVal;
    for (const el of svg.querySelectorAll('text')) {
      const b = el.getBBox();
      if (b.x < vb.x - 0.5 || b.y < vb.y - 0.5 || b.x + b.width > vb.x + vb.width + 0.5 ||
          b.y + b.height > vb.y + vb.height + 0.5) {
        out.push(`${svg.getAttribute('aria-label')}: "${el.textContent}" at ${b.x},${b.y} ${b.width}x${b.height}`);
      }
    }
  }
  return out;
}"""


def _need(condition: bool, reason: str) -> None:
    if condition:
        return
    if os.environ.get("CI") == "true":
        pytest.fail(f"{reason} (CI=true: browser tests must run)")
    pytest.skip(reason)


@pytest.fixture(scope="module")
def chromium() -> Iterator[Any]:
    executable = chromium_path()
    _need(executable is not None, "Chromium not found: apt-get install chromium")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _need(False, "playwright is not installed: pip install playwright")
        raise
    with sync_playwright() as p:
        b = p.chromium.launch(
            executable_path=executable, args=["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"]
        )
        yield b
        b.close()


@pytest.fixture
def pages(eagle5: Any, tmp_path: Path) -> list[Path]:
    """The workshop pack and the experience page of a small Eagle5 history, with awkward comments."""
    clock = Clock(T0)
    config = eagle5(f"sqlite:///{tmp_path / 'visual.db'}", TO_BE)
    with Desk.open(config, entry_points=False, clock=clock) as desk:
        for week in range(4):
            for i, approval in enumerate((timedelta(hours=3), timedelta(days=2 + week))):
                did = phone_request(desk, clock, ("steve", "tony")[i], approval, channel=("portal", "email")[i])
                desk.confirm_demand(did, ("steve", "tony")[i], True)
                comment = ("Quick, thanks! 👍", '<b>slow</b> & "nobody" told me — لم يصلني شيء')[i]
                desk.answer_survey((10, 3)[i], customer=("steve", "tony")[i], demand_id=did, comment=comment)
            desk.submit("failure", "steve", "printer jam", channel="phone")
            clock.now += timedelta(days=7)
        pack = write_workshop(desk, Scope(service="smartphone"), tmp_path / "pack", pdf=False)
        experience = tmp_path / "pack" / "experience.html"
        experience.write_text(experience_html(experience_report(desk, Scope())), encoding="utf-8")
    return [*pack.pages, experience]


def test_the_workshop_pack_prints_to_a3_pdfs(pages: list[Path]) -> None:
    _need(chromium_path() is not None, "Chromium not found: apt-get install chromium")
    from itsmcore.reports.workshop import print_pdfs

    # first in the module: Playwright's sync API runs one browser at a time per thread
    pdfs, why = print_pdfs(pages[:2])
    assert why == "" and [p.suffix for p in pdfs] == [".pdf", ".pdf"]
    assert all(p.read_bytes().startswith(b"%PDF") for p in pdfs)


def test_every_page_renders_without_javascript_and_nothing_in_an_svg_is_clipped(
    chromium: Any, pages: list[Path]
) -> None:
    browser = chromium
    ARTIFACTS.mkdir(exist_ok=True)
    for size_name, size in (("desktop", DESKTOP), ("a3", A3)):
        quiet = browser.new_context(viewport=size, java_script_enabled=False)
        page = quiet.new_page()
        for html in pages:
            assert "<script" not in html.read_text(encoding="utf-8")
            page.goto(html.as_uri())
            assert page.locator("h1").first.is_visible(), html.name
            if size_name == "a3":
                page.emulate_media(media="print")
            page.screenshot(path=str(ARTIFACTS / f"{html.stem}-{size_name}.png"), full_page=True)
        quiet.close()
    # the clipping check measures the laid-out text, which needs the browser's own scripting
    measuring = browser.new_context(viewport=DESKTOP)
    page = measuring.new_page()
    for html in pages:
        page.goto(html.as_uri())
        assert html.name == "comments.html" or page.locator("svg").count() > 0, html.name
        assert page.evaluate(CLIPPED) == [], html.name
    measuring.close()
    print(f"screenshots in {ARTIFACTS}")
