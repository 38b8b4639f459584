"""Portal pages in the reader's language: signed in, or through a signed link while signed out."""

from __future__ import annotations

import html
import json
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


def test_signed_out_pages_use_the_browsers_language_else_the_deployments(client: Any) -> None:
    page = client.get("/signin")
    assert '<html lang="en">' in page.text
    french = client.get("/signin", headers={"Accept-Language": "fr-CH, fr;q=0.9, en;q=0.8"})
    assert '<html lang="fr">' in french.text and "Se connecter" in french.text
    english_first = client.get("/signin", headers={"Accept-Language": "en-GB,en;q=0.9,fr;q=0.8"})
    assert '<html lang="en">' in english_first.text
    for unspoken in ("de-DE,de;q=0.9", "*", "fr;q=0", "fr;q=nonsense", "x" * 5000):
        page = client.get("/signin", headers={"Accept-Language": unspoken})
        assert page.status_code == 200 and '<html lang="en">' in page.text, unspoken


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


def test_a_french_customer_searches_reads_an_article_and_asks_for_a_service_in_french(
    desk: Desk, client: Any, sign_in: Any
) -> None:
    from test_knowledge_pages import _crm_article

    _crm_article(desk)
    sign_in("camille")

    def page(path: str, **params: str) -> str:
        return html.unescape(client.get(path, params=params).text)

    search = page("/search", q="expenses")
    assert '<html lang="fr">' in search and "<h1>Trouver un service</h1>" in search
    assert "Vous pouvez l'obtenir." in search and "résultat" in search
    assert "You can have this" not in search and "result for" not in search
    live_words = json.loads(search.split("var words = ", 1)[1].split(";\n", 1)[0])
    assert live_words["held"] == "Vous l'avez déjà.", "the live search's words come in French too"
    assert live_words["many"] == "{count} résultats pour « {q} »." and live_words["one"].startswith("{count} résultat ")
    answers = page("/search", q="pipeline report")
    assert "Cela vous a-t-il aidé ?" in answers and "Réponses" in answers
    article = page("/knowledge/crm-pipeline-report")
    assert "Oui, cela m'a aidé" in article and "Ce n'est pas ce qu'il vous fallait ?" in article
    service = page("/services/expensatron")
    assert "Ce que vous obtenez" in service or "La suite" in service
    assert "Demander Expensatron" in service and "Choose a device" not in service
    report = page("/report")
    assert "Est-ce un problème ou une question ?" in report and "Envoyer à l'informatique" in report
    missing = client.get("/services/no-such-service")
    assert missing.status_code == 404 and "Nous n'avons pas trouvé cette page." in html.unescape(missing.text)


def test_a_wrong_password_is_refused_in_the_deployments_language(desk: Desk, client: Any) -> None:
    from conftest import csrf_of

    r = client.post("/signin", data={"login": "camille", "password": "wrong", "csrf": csrf_of(client), "next": "/"})
    assert r.status_code == 401 and "That login and password do not match" in r.text, "signed out: not yet known"


def test_a_broken_link_is_refused_in_the_signed_in_customers_language(client: Any, sign_in: Any) -> None:
    sign_in("camille")
    page = html.unescape(client.get("/confirm/not-a-token").text)
    assert '<html lang="fr">' in page
    assert "Ce lien n'est pas valide. Utilisez le lien de votre message le plus récent, ou contactez-nous." in page
    assert "This link is not valid" not in page


def test_a_language_set_through_the_api_counts_on_the_next_page(desk: Desk, client: Any, sign_in: Any) -> None:
    """The portal keeps each reader's language for a while; a change through this portal's API is seen at once."""
    sign_in("steve")
    assert '<html lang="en">' in client.get("/").text  # read, and kept
    token = desk.new_api_token("crm-sync", ("read", "agent"))[1]
    r = client.patch(
        "/api/v1/customers/steve/preferences", headers={"Authorization": f"Bearer {token}"}, json={"language": "fr"}
    )
    assert r.status_code == 200
    assert '<html lang="fr">' in client.get("/").text
