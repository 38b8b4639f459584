"""A customer in Lyon reads the portal in French, in a real browser (Chromium driven by Playwright)."""

from __future__ import annotations

from typing import Any

import pytest
from test_browser import browser, live, shot, sign_in  # noqa: F401  (fixtures shared with Steve's journeys)

pytestmark = pytest.mark.browser


def test_a_french_customer_sees_french_pages_through_her_outage_journey(
    browser: Any,  # noqa: F811
    live: tuple[str, Any],  # noqa: F811
) -> None:
    from playwright.sync_api import expect

    base, desk = live
    camille = sign_in(browser, base, "camille")
    expect(camille.get_by_role("heading", name="Bonjour Camille")).to_be_visible()
    expect(camille.locator("html")).to_have_attribute("lang", "fr")
    nav = camille.get_by_role("navigation", name="Main")
    expect(nav.get_by_role("link", name="Trouver un service")).to_be_visible()
    expect(nav.get_by_role("link", name="Mes demandes")).to_be_visible()

    desk.subscribe("camille", "crm")
    ann = desk.open_announcement("crm", "Le CRM est très lent", workaround="Utilisez l'application mobile.")
    camille.goto("/")
    card = camille.locator("article.announcement", has_text="Le CRM est très lent")
    expect(card).to_contain_text("En attendant :")
    card.get_by_role("button", name="Cela me concerne").click()
    expect(camille.get_by_role("status")).to_contain_text("Nous vous avons associé à ce problème")
    expect(camille.locator("#state")).to_contain_text("Nous sommes au courant : Le CRM est très lent.")
    expect(camille.get_by_role("heading", name="Ce qui s'est passé")).to_be_visible()
    shot(camille, "fr-1-affected")

    desk.resolve_announcement(ann.id, "")
    desk.run_due_jobs()
    camille.goto("/")
    expect(camille.locator("ul.messages")).to_contain_text("Réparé : Le CRM est très lent")
    camille.locator("a[href*='/confirm/'][href*='fixed=yes']").first.click()
    expect(camille.get_by_role("heading", name="Cela fonctionne-t-il à nouveau ?")).to_be_visible()
    camille.get_by_role("button", name="Oui, cela fonctionne à nouveau").click()
    expect(camille.get_by_role("status")).to_contain_text("Merci d'avoir confirmé")
    shot(camille, "fr-2-confirmed")
    camille.get_by_role("link", name="Dites-nous comment cela s'est passé").click()
    expect(camille.locator("legend")).to_contain_text("recommandiez le service informatique")
    camille.locator("label.score", has_text="10").click()
    camille.get_by_label("Quelque chose à ajouter ?").fill("Rapide et clair.")
    camille.get_by_role("button", name="Envoyer").click()
    expect(camille.get_by_role("status")).to_contain_text("Merci de nous avoir dit comment cela s'est passé")
    shot(camille, "fr-3-survey-answered")
