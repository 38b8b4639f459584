"""Portal pages in the reader's language: signed in, or through a signed link while signed out."""

from __future__ import annotations

from typing import Any

from itsmcore import Desk


def _confirm_link(desk: Desk, customer: str) -> str:
    for m in desk.messages(customer=customer):
        for line in str(m["body"]).splitlines():
            if "/confirm/" in line and "fixed=yes" in line:
                return "/confirm/" + line.split("/confirm/", 1)[1]
    raise AssertionError(f"{customer} got no confirm link")


def test_a_signed_link_opens_in_its_customers_language_while_signed_out(desk: Desk, client: Any) -> None:
    ann = desk.open_announcement("crm", "Le CRM est très lent")
    desk.affects_me(ann.id, "camille")
    desk.affects_me(ann.id, "steve")
    desk.resolve_announcement(ann.id, "")
    desk.run_due_jobs()
    french = client.get(_confirm_link(desk, "camille"))
    assert french.status_code == 200
    assert '<html lang="fr">' in french.text
    assert "Cela fonctionne-t-il à nouveau ?" in french.text and "Oui, cela fonctionne à nouveau" in french.text
    english = client.get(_confirm_link(desk, "steve"))
    assert "Is it working again?" in english.text and '<html lang="en">' in english.text
    broken = client.get("/confirm/not-a-token")
    assert '<html lang="en">' in broken.text, "a broken link: the deployment's default language"


def test_signed_out_pages_use_the_deployments_language(client: Any) -> None:
    page = client.get("/signin")
    assert '<html lang="en">' in page.text


def test_a_customer_chooses_french_on_the_preferences_page_and_reads_it_at_once(
    desk: Desk, client: Any, sign_in: Any
) -> None:
    from conftest import csrf_of

    sign_in("steve")
    page = client.get("/preferences")
    assert '<option value="fr">Français</option>' in page.text and "<h1>My preferences</h1>" in page.text
    r = client.post(
        "/preferences",
        data={"csrf": csrf_of(client, "/preferences"), "language": "fr", "surveys": "yes"},
    )
    assert r.status_code == 303
    assert desk.preferences("steve").language == "fr"
    page = client.get("/preferences")
    assert "<h1>Mes préférences</h1>" in page.text and "Vos préférences sont enregistrées." in page.text
    assert '<option value="fr" selected>Français</option>' in page.text
    r = client.post("/preferences", data={"csrf": csrf_of(client, "/preferences"), "language": "xx-nowhere"})
    assert r.status_code == 422 and "unknown language" in r.text, "refused, naming what is wrong; nothing lost"
    assert desk.preferences("steve").language == "fr"
