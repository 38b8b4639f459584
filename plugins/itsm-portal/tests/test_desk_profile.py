"""The one view of the customer on a demand's desk page: the profile panel beside the journey."""

from __future__ import annotations

import html
import re
from collections.abc import Callable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from itsmcore import Desk
    from starlette.testclient import TestClient


def _panel(page: str) -> str:
    found = re.search(r'<aside class="card profile".*?</aside>', page, re.S)
    assert found, "no customer panel on the page"
    return html.unescape(found.group(0))


def test_a_demands_desk_page_shows_its_customer_beside_the_journey(
    sign_in: Callable[..., TestClient], desk: Desk
) -> None:
    older = desk.submit("failure", "camille", "Le VPN se coupe").demand.id
    did = desk.submit("information", "camille", "Comment exporter mes contacts ?").demand.id
    ann = desk.open_announcement("crm", "The CRM is slow")
    desk.affects_me(ann.id, "camille")
    c = sign_in("patrick")
    page = c.get(f"/desk/demands/{did}")
    assert page.status_code == 200 and '<html lang="en">' in page.text, "the desk's pages stay English"
    assert page.text.index('id="journey"') < page.text.index('id="customer-profile"'), "beside the journey"
    panel = _panel(page.text)
    assert '<h2 id="profile-title"><a href="/desk/customers/camille">Camille Martin</a></h2>' in panel
    assert "sales · Sales · manager Scott Miller" in panel and "Lyon" in panel
    assert f'<a href="/desk/demands/{older}">#{older} Le VPN se coupe</a>' in panel, "another open demand, linked"
    assert f"<strong>#{did} Comment exporter mes contacts ?</strong> (this one)" in panel
    assert "French" in panel, "the language they read"
    assert f'href="/desk/announcements/{ann.id}">The CRM is slow</a>' in panel


def test_the_panel_lists_the_customers_devices_subscriptions_and_latest_survey_answer(
    sign_in: Callable[..., TestClient], desk: Desk
) -> None:
    did = desk.submit("failure", "steve", "The printer jams").demand.id
    desk.answer_survey(6, customer="steve", method="nps", mode="tracker")
    desk.answer_survey(9, customer="steve", method="nps", mode="tracker")
    c = sign_in("patrick")
    panel = _panel(c.get(f"/desk/demands/{did}").text)
    assert '<dd id="profile-devices">Steve\'s iPhone</dd>' in panel, "devices only, not applications"
    subscribed = re.search(r'<dd id="profile-subscriptions">(.*?)</dd>', panel, re.S)
    assert subscribed and subscribed.group(1).strip()
    assert "nothing open" not in panel and "(this one)" in panel
    assert '<dd id="profile-trend">latest NPS 9 (better)</dd>' in panel


def test_the_customers_desk_page_shows_them_whole(sign_in: Callable[..., TestClient], desk: Desk) -> None:
    first = desk.submit("failure", "steve", "The printer jams").demand.id
    second = desk.submit("information", "steve", "Where is my phone?", channel="email").demand.id
    desk.answer_survey(6, customer="steve", method="nps", mode="tracker")
    desk.answer_survey(9, customer="steve", method="nps", mode="tracker", comment="Much better now")
    c = sign_in("patrick")
    page = c.get("/desk/customers/steve")
    assert page.status_code == 200
    text = html.unescape(page.text)
    assert "<h1>Steve Jones</h1>" in text
    open_rows = re.search(r'<table class="list" id="customer-open">(.*?)</table>', text, re.S)
    assert open_rows, text[:500]
    for did in (first, second):
        assert f'<a href="/desk/demands/{did}">{did}</a>' in open_rows.group(1)
    assert "Where is my phone?" in open_rows.group(1) and "<td>email</td>" in open_rows.group(1)
    channels = re.search(r'<dd id="customer-channels">(.*?)</dd>', text, re.S)
    assert channels and "email (1)" in channels.group(1)
    assert "Steve's iPhone" in text
    assert "The latest answer is better than the answer before." in text
    assert "Much better now" in text


def test_customers_are_found_by_typing_and_an_unknown_one_is_404(
    sign_in: Callable[..., TestClient], desk: Desk
) -> None:
    c = sign_in("patrick")
    page = c.get("/desk/customers", params={"q": "camil"})
    assert page.status_code == 200
    assert '<a href="/desk/customers/camille">Camille Martin</a>' in page.text
    nobody = c.get("/desk/customers", params={"q": "zzzzqqq"})
    assert nobody.status_code == 200 and "Nobody matches" in html.unescape(nobody.text)
    assert c.get("/desk/customers/nobody-at-all").status_code == 404


def test_the_customer_pages_are_for_agents(sign_in: Callable[..., TestClient]) -> None:
    c = sign_in("steve")
    for path in ("/desk/customers", "/desk/customers/camille"):
        assert c.get(path, follow_redirects=False).status_code in (303, 403), path
