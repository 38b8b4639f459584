"""The workshop pack of a service: the as-is map, the to-be map, the trends and the customers' words, to print.

:func:`write_workshop` writes four HTML pages into a directory and, when Chromium is
installed (Debian's ``chromium``, driven by Playwright), a PDF of each on A3 landscape.
Without Chromium or Playwright the PDF step is skipped and the result says why; the
HTML pages print the same from any browser.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import attrs

from . import demand_link, maps, outside_in_report, trend_report
from .query import Scope

if TYPE_CHECKING:
    from ..desk import Desk

#: The pages of a pack, in reading order.
PAGES = ("as-is.html", "to-be.html", "trends.html", "comments.html")


@attrs.frozen(kw_only=True)
class Workshop:
    directory: Path
    pages: tuple[Path, ...]
    pdfs: tuple[Path, ...]
    skipped: str = ""  # why no PDFs were made, when none were


def chromium_path() -> str | None:
    """Debian's Chromium (or ``ITSM_CHROMIUM``), when it is installed."""
    wanted = os.environ.get("ITSM_CHROMIUM", "/usr/bin/chromium")
    if Path(wanted).exists():
        return wanted
    return shutil.which(wanted) or shutil.which("chromium")


def print_pdfs(pages: Sequence[Path], progress: Callable[[Path], object] | None = None) -> tuple[list[Path], str]:
    """A PDF beside each page, A3 landscape, by headless Chromium; ``([], why)`` when it cannot run."""
    executable = chromium_path()
    if executable is None:
        return [], "no Chromium found (apt-get install chromium, or set ITSM_CHROMIUM): PDFs skipped"
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        return [], "Playwright is not installed (pip install playwright): PDFs skipped"
    out: list[Path] = []
    with sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=executable,
            args=["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--disable-background-networking"],
        )
        try:
            context = browser.new_context(java_script_enabled=False)  # the pages need none
            page = context.new_page()
            for html in pages:
                page.goto(html.resolve().as_uri())
                pdf = html.with_suffix(".pdf")
                page.pdf(path=str(pdf), format="A3", landscape=True, print_background=True, prefer_css_page_size=True)
                out.append(pdf)
                if progress is not None:
                    progress(pdf)
        finally:
            browser.close()
    return out, ""


def write_workshop(
    desk: Desk,
    scope: Scope,
    directory: Path,
    *,
    pdf: bool = True,
    progress: Callable[[str], object] | None = None,
) -> Workshop:
    """Write the pack of ``scope.service`` into ``directory``; ``progress`` is told each step's name as it ends."""

    def step(name: str) -> None:
        if progress is not None:
            progress(name)

    directory.mkdir(parents=True, exist_ok=True)
    oi, gap_marks = outside_in_report(desk, scope)
    step("journey map")
    tr = trend_report(desk, scope, fresh=False)
    step("trends")
    to_be = desk.config.to_be.get(scope.service or "")
    link = demand_link(desk)
    texts = {
        "as-is.html": maps.as_is_page(oi, to_be, gap_marks, link),
        "to-be.html": maps.to_be_page(oi, to_be, gap_marks, link),
        "trends.html": maps.trends_page(oi.title, tr),
        "comments.html": maps.comments_page(oi),
    }
    written = []
    for name in PAGES:
        path = directory / name
        path.write_text(texts[name], encoding="utf-8")
        written.append(path)
    step("pages")
    pdfs: list[Path] = []
    skipped = "not asked for"
    if pdf:
        pdfs, skipped = print_pdfs(written, progress=lambda p: step(f"pdf {p.name}"))
    return Workshop(directory=directory, pages=tuple(written), pdfs=tuple(pdfs), skipped=skipped)
