"""The portal's pages through Starlette's TestClient, on a copy of the Eagle5 example."""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from conftest import PASSWORD, csrf_of, make_eagle5
from itsmcore import DemandState, Desk
from starlette.testclient import TestClient


def text_of(html: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


# ---------------------------------------------------------------------------- sign in


def test_pages_need_sign_in(client: TestClient) -> None:
    for path in ("/", "/search?q=x", "/demands", "/services/expensatron", "/report", "/desk"):
        r = client.get(path)
        assert r.status_code == 303 and r.headers["location"].startswith("/signin?next="), path
    assert client.get("/search.json?q=x").status_code == 401


def test_sign_in_sets_a_safe_cookie_and_shows_home(client: TestClient, sign_in: Callable[..., TestClient]) -> None:
    token = csrf_of(client)
    r = client.post("/signin", data={"login": "steve", "password": PASSWORD, "csrf": token, "next": "/demands"})
    assert r.status_code == 303 and r.headers["location"] == "/demands"
    cookie = r.headers["set-cookie"].lower()
    assert "httponly" in cookie and "samesite=lax" in cookie and "secure" not in cookie
    home = client.get("/")
    assert home.status_code == 200 and "Hello Steve" in home.text


def test_wrong_password_is_refused_in_plain_words(client: TestClient) -> None:
    token = csrf_of(client)
    r = client.post("/signin", data={"login": "steve", "password": "nope", "csrf": token})
    assert r.status_code == 401
    assert "do not match" in r.text
    assert client.get("/").status_code == 303


def test_sign_in_is_rate_limited_per_login_and_address(client: TestClient) -> None:
    token = csrf_of(client)
    for _ in range(5):
        assert client.post("/signin", data={"login": "tony", "password": "bad", "csrf": token}).status_code == 401
    r = client.post("/signin", data={"login": "tony", "password": PASSWORD, "csrf": token})
    assert r.status_code == 429 and "Too many attempts" in r.text and "retry-after" in r.headers
    # another login from the same address is not blocked
    r = client.post("/signin", data={"login": "steve", "password": PASSWORD, "csrf": token})
    assert r.status_code == 303


def test_the_sign_in_limit_is_the_deployments_and_outlives_the_app(desk: Desk) -> None:
    from itsm_portal.app import create_app

    with TestClient(create_app(desk=desk), follow_redirects=False) as first:
        token = csrf_of(first)
        for _ in range(5):
            assert first.post("/signin", data={"login": "Tony", "password": "bad", "csrf": token}).status_code == 401
    # a new app (a restarted or another process) on the same database still refuses the login, in any spelling
    with TestClient(create_app(desk=desk), follow_redirects=False) as second:
        r = second.post("/signin", data={"login": "TONY", "password": PASSWORD, "csrf": csrf_of(second)})
        assert (
            r.status_code == 429 and "Please wait 15 minutes" in r.text and 880 < int(r.headers["retry-after"]) <= 901
        )


def test_the_portals_deprecated_sign_in_settings_still_apply(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    from itsm_portal.app import create_app

    monkeypatch.delenv("ITSM_SECRET", raising=False)
    config = make_eagle5(tmp_path / "eagle5", extra="sign_in_attempts = 2\nsign_in_window_seconds = 120\n")
    with (
        Desk.open(config) as desk,
        caplog.at_level(logging.WARNING, logger="itsm_portal"),
        TestClient(create_app(desk=desk), follow_redirects=False) as c,
    ):
        token = csrf_of(c)
        for _ in range(2):
            assert c.post("/signin", data={"login": "tony", "password": "bad", "csrf": token}).status_code == 401
        r = c.post("/signin", data={"login": "tony", "password": PASSWORD, "csrf": token})
        assert r.status_code == 429 and "Please wait 2 minutes" in r.text
    (warning,) = [r.getMessage() for r in caplog.records if "deprecated" in r.getMessage()]
    assert "[security]" in warning and "sign_in_window_minutes" in warning


def test_open_redirect_after_sign_in_is_refused(client: TestClient) -> None:
    token = csrf_of(client)
    r = client.post("/signin", data={"login": "steve", "password": PASSWORD, "csrf": token, "next": "//evil.example/x"})
    assert r.headers["location"] == "/"


def test_sign_out(sign_in: Callable[..., TestClient]) -> None:
    c = sign_in()
    token = csrf_of(c, "/")
    assert c.post("/signout", data={"csrf": token}).status_code == 303
    assert c.get("/").status_code == 303


def test_secure_cookie_when_served_over_https(desk: Desk) -> None:
    from itsm_portal.app import create_app
    from itsm_portal.settings import PortalSettings

    app = create_app(desk=desk, settings=PortalSettings(cookie_secure="always"))
    with TestClient(app, base_url="https://testserver", follow_redirects=False) as c:
        token = csrf_of(c)
        r = c.post("/signin", data={"login": "steve", "password": PASSWORD, "csrf": token})
        assert "secure" in r.headers["set-cookie"].lower()


# ---------------------------------------------------------------------------- CSRF


POSTS = [
    "/signout",
    "/services/expensatron",
    "/report",
    "/announcements/1/affects-me",
    "/demands/1/comment",
    "/demands/1/confirm",
    "/confirm/abc.def",
    "/survey/abc.def",
    "/approvals/abc.def",
    "/desk/contact",
    "/desk/demands/1/comment",
    "/desk/announcements",
    "/desk/announcements/1/resolve",
    "/desk/tasks/1/milestone",
    "/announcements/1/text-me",
]


def test_every_form_post_without_csrf_is_refused(sign_in: Callable[..., TestClient]) -> None:
    c = sign_in("patrick")
    for path in POSTS:
        r = c.post(path, data={"text": "x"})
        assert r.status_code == 403, path
        r = c.post(path, data={"text": "x", "csrf": "forged-token-of-sufficient-length"})
        assert r.status_code == 403, path


def test_sign_in_without_csrf_is_refused(client: TestClient) -> None:
    r = client.post("/signin", data={"login": "steve", "password": PASSWORD})
    assert r.status_code == 403


def test_every_post_route_is_csrf_checked(app: Any) -> None:
    """A guard against a new form handler that forgets the check: each POST route's source calls checked_form."""
    import inspect

    from starlette.routing import Route

    for route in app.routes:
        if isinstance(route, Route) and "POST" in (route.methods or set()):
            assert "checked_form(" in inspect.getsource(route.endpoint), route.path


def test_csrf_token_of_another_session_is_refused(
    sign_in: Callable[..., TestClient], second_client: TestClient
) -> None:
    c = sign_in()
    other = csrf_of(second_client)
    r = c.post("/report", data={"csrf": other, "kind": "failure", "summary": "x"})
    assert r.status_code == 403


# ---------------------------------------------------------------------------- catalog and value demand


def test_search_page_and_json_say_who_can_have_what(sign_in: Callable[..., TestClient]) -> None:
    c = sign_in()
    page = c.get("/search?q=expenses")
    assert "Expensatron expenses app" in page.text and "You can have this" in page.text
    data = c.get("/search.json?q=expenses").json()
    assert data["results"][0]["key"] == "expensatron" and data["results"][0]["eligible"] is True


def test_ineligible_customer_is_told_why_and_what_to_do(sign_in: Callable[..., TestClient]) -> None:
    c = sign_in("susan")  # IT, not Sales
    data = c.get("/search.json?q=expenses").json()
    hit = next(r for r in data["results"] if r["key"] == "expensatron")
    assert hit["eligible"] is False and "Sales" in hit["reason"] and hit["next_step"]
    page = c.get("/services/expensatron")
    assert "available to Sales" in page.text and '<form method="post" action="/services' not in page.text


def test_service_page_shows_only_its_asks_prefilled(sign_in: Callable[..., TestClient]) -> None:
    c = sign_in()
    page = c.get("/services/expensatron")
    assert page.status_code == 200
    assert 'name="mobile_number"' in page.text and 'name="mobile_os"' in page.text
    assert 'name="reason"' not in page.text
    assert 'value="+447700900123"' in page.text  # from the directory
    assert re.search(r'value="iOS"\s+checked', page.text)  # from the CMDB
    assert "What happens next" in page.text and "No more keeping paper receipts" in page.text


def test_invalid_answers_are_shown_next_to_fields(sign_in: Callable[..., TestClient]) -> None:
    c = sign_in()
    token = csrf_of(c, "/")
    r = c.post("/services/expensatron", data={"csrf": token, "mobile_number": "call me", "mobile_os": "Symbian"})
    assert r.status_code == 422
    assert 'id="mobile_number-error"' in r.text and "country code" in r.text
    assert "Please choose one of: iOS, Android." in r.text
    assert 'aria-invalid="true"' in r.text


def test_value_demand_confirmation_with_quick_start(sign_in: Callable[..., TestClient], desk: Desk) -> None:
    c = sign_in()
    token = csrf_of(c, "/")
    r = c.post(
        "/services/expensatron",
        data={"csrf": token, "mobile_number": "+44 7700 900123", "mobile_os": "iOS", "discovery": "expenses"},
    )
    assert r.status_code == 303
    page = c.get(r.headers["location"])
    assert "Thanks, we have your request for Expensatron" in page.text
    assert "https://apps.eagle5.example/expensatron/quick-start" in page.text
    did = int(r.headers["location"].split("/")[2])
    journey = desk.journey(did)
    assert journey[0].stage == "discover" and "expenses" in journey[0].behind_scenes
    assert desk.get(did).channel == "portal"


# ---------------------------------------------------------------------------- escaping


def test_comments_and_descriptions_are_escaped(tmp_path: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    from conftest import TOKENS_ENV, make_eagle5

    from itsm_portal.app import create_app

    monkeypatch.setenv(TOKENS_ENV, "x:y")
    config = make_eagle5(tmp_path / "e")
    catalog = config.parent / "catalog" / "services.toml"
    catalog.write_text(
        catalog.read_text().replace(
            'description = "Claim your expenses',
            'description = "<script>alert(1)</script> Claim your expenses',
        )
    )
    with Desk.open(config) as desk, TestClient(create_app(desk=desk), follow_redirects=False) as c:
        token = csrf_of(c)
        c.post("/signin", data={"login": "steve", "password": PASSWORD, "csrf": token})
        token = csrf_of(c, "/")
        for path in ("/services/expensatron", "/search?q=expenses"):
            page = c.get(path).text
            assert "<script>alert(1)</script>" not in page and "&lt;script&gt;alert(1)&lt;/script&gt;" in page
        assert (
            "&lt;script&gt;" in c.get("/search.json?q=expenses").text
            or "<script>" in c.get("/search.json?q=expenses").json()["results"][0]["description"]
        )
        did = desk.submit("failure", "steve", "CRM slow", service="crm", channel="portal").demand.id
        evil = '<img src=x onerror="alert(2)"><script>alert(3)</script> see https://x.example/?a=<b>'
        r = c.post(f"/demands/{did}/comment", data={"csrf": token, "text": evil})
        assert r.status_code == 303
        page = c.get(f"/demands/{did}").text
        assert "<script>alert(3)</script>" not in page and "<img src=x" not in page
        assert "&lt;script&gt;alert(3)&lt;/script&gt;" in page
        assert '<a href="https://x.example/?a=">' in page  # the address is linked up to the first unsafe char


def test_linkify_only_links_http_addresses() -> None:
    from itsm_portal.views import linkify

    out = str(linkify('javascript:alert(1) "quoted" https://ok.example/a?b=1&c=2.'))
    assert 'href="javascript' not in out
    assert '<a href="https://ok.example/a?b=1&amp;c=2">' in out
    assert "&#34;quoted&#34;" in out


def test_security_headers(sign_in: Callable[..., TestClient]) -> None:
    c = sign_in()
    r = c.get("/")
    assert r.headers["x-frame-options"] == "DENY"
    assert "script-src 'self' 'nonce-" in r.headers["content-security-policy"]
    assert r.headers["cache-control"] == "no-store"
    nonce = re.search(r"'nonce-([^']+)'", r.headers["content-security-policy"]).group(1)  # type: ignore[union-attr]
    page = c.get("/search?q=x")
    nonce2 = re.search(r"'nonce-([^']+)'", page.headers["content-security-policy"]).group(1)  # type: ignore[union-attr]
    assert nonce != nonce2 and f'<script nonce="{nonce2}">' in page.text


# ---------------------------------------------------------------------------- demands: own only


def test_customer_cannot_read_others_demands(sign_in: Callable[..., TestClient], desk: Desk) -> None:
    tonys = desk.submit("failure", "tony", "My laptop is slow", channel="phone").demand.id
    c = sign_in()
    token = csrf_of(c, "/")
    assert c.get(f"/demands/{tonys}").status_code == 404
    assert c.get(f"/demands/{tonys}/submitted").status_code == 404
    assert c.post(f"/demands/{tonys}/comment", data={"csrf": token, "text": "hi"}).status_code == 404
    assert c.post(f"/demands/{tonys}/confirm", data={"csrf": token, "fixed": "yes"}).status_code == 404
    assert c.get("/demands/999999").status_code == 404
    assert c.get("/demands/abc").status_code == 404
    assert "laptop" not in c.get("/demands").text


def test_my_demand_shows_what_i_see_not_behind_the_scenes(sign_in: Callable[..., TestClient], desk: Desk) -> None:
    did = desk.submit("value", "steve", "", service="smartphone", answers={"reason": "visiting customers"}).demand.id
    c = sign_in()
    page = c.get(f"/demands/{did}")
    assert page.status_code == 200
    assert "Waiting for" in page.text and "Scott" in page.text
    assert "demand received through" not in page.text  # behind-the-scenes text stays behind the scenes


def test_comment_and_confirm_resolution(sign_in: Callable[..., TestClient], desk: Desk) -> None:
    did = desk.submit("failure", "steve", "Printer jams", channel="portal").demand.id
    c = sign_in()
    token = csrf_of(c, "/")
    c.post(f"/demands/{did}/comment", data={"csrf": token, "text": "It is the one on floor 2"})
    assert any(e.customer_sees == "It is the one on floor 2" for e in desk.journey(did))
    desk.resolve(did, "We replaced the roller.")
    page = c.get(f"/demands/{did}")
    assert "Is it sorted?" in page.text
    r = c.post(f"/demands/{did}/confirm", data={"csrf": token, "fixed": "no"})
    assert r.status_code == 303 and desk.get(did).state == "in_progress"
    desk.resolve(did, "Replaced the whole printer.")
    c.post(f"/demands/{did}/confirm", data={"csrf": token, "fixed": "yes"})
    assert desk.get(did).state == "closed"


# ---------------------------------------------------------------------------- failure and information demand


def test_announcement_affects_me_and_confirm_link(sign_in: Callable[..., TestClient], desk: Desk) -> None:
    ann = desk.open_announcement("crm", "The CRM web app does not load", workaround="Use the CRM mobile app.")
    c = sign_in()
    home = c.get("/")
    assert "The CRM web app does not load" in home.text and "This affects me" in home.text
    token = csrf_of(c, "/")
    r = c.post(f"/announcements/{ann.id}/affects-me", data={"csrf": token})
    assert r.status_code == 303
    did = int(r.headers["location"].rsplit("/", 1)[1])
    assert desk.get(did).announcement_id == ann.id
    assert "You told us this affects you" in c.get("/").text
    desk.resolve_announcement(ann.id, "The load balancer was replaced.")
    body = next(m["body"] for m in desk.messages(customer="steve") if "/confirm/" in m["body"])
    link = re.search(r"http://testserver(/confirm/\S+\?fixed=yes)", body).group(1)  # type: ignore[union-attr]
    landing = c.get(link)
    assert landing.status_code == 200 and "Is it working again?" in landing.text
    assert desk.get(did).state == "resolved"  # a GET changes nothing
    token = csrf_of(c, link)
    done = c.post(link.split("?")[0], data={"csrf": token, "fixed": "yes"})
    assert done.status_code == 200 and "Thanks for confirming" in done.text
    assert desk.get(did).state == "closed"
    assert desk.ledger(ann.id).confirmed_fixed == 1
    survey = re.search(r'href="(/survey/[^"]+)"', done.text)
    assert survey, "a survey link is offered after confirming"
    form = c.get(survey.group(1))
    assert "How did we do?" in form.text and 'value="10"' in form.text
    r = c.post(survey.group(1), data={"csrf": csrf_of(c, survey.group(1)), "score": "11"})
    assert r.status_code == 422 and "0 to 10" in r.text
    r = c.post(survey.group(1), data={"csrf": csrf_of(c, survey.group(1)), "score": "9", "comment": "Nice."})
    assert r.status_code == 200 and "Thanks for telling us" in r.text


def test_tampered_confirm_link_is_refused_politely(client: TestClient) -> None:
    landing = client.get("/confirm/abc.def?fixed=yes")  # said at once, before any button is pressed
    assert landing.status_code == 400 and "not valid" in landing.text and 'name="fixed"' not in landing.text
    token = csrf_of(client)
    r = client.post("/confirm/abc.def", data={"csrf": token, "fixed": "yes"})
    assert r.status_code == 400 and "not valid" in r.text


def test_information_demand_answered_from_own_request(sign_in: Callable[..., TestClient], desk: Desk) -> None:
    desk.submit("value", "steve", "", service="smartphone", answers={"reason": "visiting customers"})
    c = sign_in()
    token = csrf_of(c, "/")
    preview = c.post(
        "/report",
        data={
            "csrf": token,
            "kind": "information",
            "summary": "Where is the smartphone I requested?",
            "action": "preview",
        },
    )
    assert "This might answer it already" in preview.text and "waiting for approval" in preview.text
    assert c.get("/answers.json?q=where is my smartphone").json()["answers"]
    r = c.post(
        "/report",
        data={
            "csrf": token,
            "kind": "information",
            "summary": "Where is the smartphone I requested?",
            "action": "send",
        },
    )
    page = c.get(r.headers["location"])
    assert "Our answer" in page.text and "waiting for approval" in page.text


def test_the_answer_card_closes_a_self_served_question_or_hands_it_to_a_person(
    sign_in: Callable[..., TestClient], desk: Desk
) -> None:
    c = sign_in()
    token = csrf_of(c, "/")
    asked = {"csrf": token, "kind": "information", "summary": "How do I claim my expenses?", "action": "send"}
    r = c.post("/report", data=asked)
    did = int(r.headers["location"].split("/")[2])
    page = c.get(r.headers["location"])
    assert "Expensatron app" in page.text and "That answered it" in page.text and "I still need help" in page.text
    assert 'href="/knowledge/kb-expenses"' in page.text, "the answer links to the article"
    article = c.get("/knowledge/kb-expenses")
    assert article.status_code == 200 and "snap the receipt" in article.text
    assert c.get("/knowledge/no-such-article").status_code == 404
    r = c.post(f"/demands/{did}/answered", data={"csrf": token, "helped": "yes"})
    assert r.status_code == 303 and desk.get(did).state is DemandState.CLOSED
    assert any(e.actor == "customer" and e.stage == "confirm" for e in desk.journey(did)), "the customer said so"

    r = c.post("/report", data=asked)
    again = int(r.headers["location"].split("/")[2])
    r = c.post(f"/demands/{again}/answered", data={"csrf": token, "helped": "no"})
    assert r.status_code == 303 and desk.get(again).state is DemandState.IN_PROGRESS
    assert any("someone from IT will answer you" in e.customer_sees for e in desk.journey(again))
    r = c.post(f"/demands/{again}/answered", data={"csrf": token, "helped": "yes"})
    assert desk.get(again).state is DemandState.IN_PROGRESS, "nothing to confirm once a person has it"


def test_search_and_the_service_page_say_you_already_have_it(sign_in: Callable[..., TestClient], desk: Desk) -> None:
    did = desk.submit("value", "steve", "", service="expensatron").demand.id
    c = sign_in()
    (hit,) = [r for r in c.get("/search.json?q=expenses").json()["results"] if r["key"] == "expensatron"]
    assert hit["held"] == {"text": f"From your request #{did}.", "url": f"/demands/{did}"}
    page = c.get("/search?q=expenses")
    assert "You already have this." in page.text and f'href="/demands/{did}"' in page.text
    page = c.get("/services/expensatron")
    assert "You already have this." in text_of(page.text) and f'href="/demands/{did}"' in page.text
    crm = c.get("/services/crm")
    assert "You already have this. Our records show CRM (web) is yours." in text_of(crm.text)
    phone = c.get("/services/smartphone")
    assert "You already have this" not in phone.text


def test_report_a_problem_needs_a_summary(sign_in: Callable[..., TestClient]) -> None:
    c = sign_in()
    token = csrf_of(c, "/")
    r = c.post("/report", data={"csrf": token, "kind": "failure", "summary": ""})
    assert r.status_code == 422 and "Please say in a few words" in r.text


# ---------------------------------------------------------------------------- service desk


def test_desk_pages_are_for_agents_only(sign_in: Callable[..., TestClient], desk: Desk) -> None:
    did = desk.submit("failure", "tony", "x", channel="phone").demand.id
    c = sign_in("steve")
    for path in ("/desk", "/desk/contact", f"/desk/demands/{did}", "/desk/announcements"):
        assert c.get(path).status_code == 403, path
    token = csrf_of(c, "/")
    assert c.post(f"/desk/demands/{did}/resolve", data={"csrf": token, "text": "x"}).status_code == 403
    assert "Service desk" not in c.get("/").text


def test_agent_records_a_phone_contact_and_resolves(sign_in: Callable[..., TestClient], desk: Desk) -> None:
    c = sign_in("patrick")
    token = csrf_of(c, "/desk/contact")
    r = c.post(
        "/desk/contact",
        data={"csrf": token, "customer": "tony", "channel": "phone", "kind": "failure", "summary": "VPN drops"},
    )
    assert r.status_code == 303
    did = int(r.headers["location"].rsplit("/", 1)[1])
    d = desk.get(did)
    assert d.customer_id == "tony" and d.channel == "phone"
    page = c.get(f"/desk/demands/{did}")
    assert "What the customer sees" in page.text and "Behind the scenes" in page.text
    assert "demand received through phone" in page.text
    queue = c.get("/desk?kind=failure")
    assert "VPN drops" in queue.text
    r = c.post(f"/desk/demands/{did}/resolve", data={"csrf": token, "text": "Reinstalled the client."})
    assert r.status_code == 303 and desk.get(did).state == "resolved"


def test_agent_approves_on_behalf_of_the_approver(sign_in: Callable[..., TestClient], desk: Desk) -> None:
    did = desk.submit("value", "steve", "", service="smartphone", answers={"reason": "x"}).demand.id
    assert desk.get(did).state == "awaiting_approval"
    c = sign_in("patrick")
    token = csrf_of(c, f"/desk/demands/{did}")
    assert "Approve" in c.get(f"/desk/demands/{did}").text
    r = c.post(f"/desk/demands/{did}/approve", data={"csrf": token, "text": "ok"})
    assert r.status_code == 303
    assert desk.get(did).state in ("in_fulfilment", "fulfilled")
    (approved,) = [e for e in desk.journey(did) if e.kind == "approved"]
    assert approved.behind_scenes == "approved by patrick on behalf of scott"
    assert approved.customer_sees.startswith("Patrick Hale, on behalf of Scott Miller, approved your request.")


def test_agent_rejects_with_a_reason(sign_in: Callable[..., TestClient], desk: Desk) -> None:
    did = desk.submit("value", "steve", "", service="desktop-pc", answers={"reason": "x"}).demand.id
    c = sign_in("patrick")
    token = csrf_of(c, "/desk")
    assert c.post(f"/desk/demands/{did}/reject", data={"csrf": token, "text": ""}).status_code == 422
    c.post(f"/desk/demands/{did}/reject", data={"csrf": token, "text": "Use a laptop dock instead."})
    assert desk.get(did).state == "rejected"


def test_agent_announcement_lifecycle_and_ledger(sign_in: Callable[..., TestClient], desk: Desk) -> None:
    c = sign_in("patrick")
    token = csrf_of(c, "/desk/announcements")
    r = c.post(
        "/desk/announcements",
        data={
            "csrf": token,
            "service": "crm",
            "title": "CRM down",
            "workaround": "Use the app",
            "link_title": "App",
            "link_url": "https://apps.eagle5.example/crm/mobile",
        },
    )
    assert r.status_code == 303
    aid = int(r.headers["location"].rsplit("/", 1)[1])
    desk.affects_me(aid, "steve")
    page = c.get(f"/desk/announcements/{aid}")
    assert re.search(r'id="ledger-affected">1<', page.text)
    c.post(f"/desk/announcements/{aid}/update", data={"csrf": token, "estimate": "by noon"})
    assert desk.announcement(aid).estimate == "by noon"
    assert c.post(f"/desk/announcements/{aid}/resolve", data={"csrf": token, "resolution": ""}).status_code == 422
    c.post(f"/desk/announcements/{aid}/resolve", data={"csrf": token, "resolution": "Fixed."})
    assert desk.announcement(aid).state == "resolved"
    r = c.post("/desk/announcements", data={"csrf": token, "service": "crm", "title": "x", "link_url": "javascript:1"})
    assert r.status_code == 422


# ---------------------------------------------------------------------------- accessibility basics


def test_pages_have_viewport_skip_link_labels(sign_in: Callable[..., TestClient]) -> None:
    c = sign_in("patrick")
    for path in ("/", "/search?q=phone", "/services/smartphone", "/report", "/desk", "/desk/contact"):
        html = c.get(path).text
        assert 'name="viewport"' in html and 'href="#main"' in html and 'id="main"' in html, path
        assert '<html lang="en">' in html
        for input_id in re.findall(r'<(?:input|select|textarea)[^>]*\bid="([^"]+)"', html):
            assert f'for="{input_id}"' in html, f"{path}: #{input_id} has no label"


def test_healthz(client: TestClient, desk: Desk) -> None:
    assert client.get("/healthz").json() == {"status": "ok"}
    from sqlalchemy import create_engine

    real = desk.engine
    desk.engine = create_engine("sqlite:////nonexistent/dir/x.db")  # the database went away
    try:
        assert client.get("/healthz").status_code == 503
    finally:
        desk.engine.dispose()
        desk.engine = real


def test_the_desk_task_list_marks_milestones_until_the_request_is_fulfilled(
    sign_in: Callable[..., TestClient], desk: Desk
) -> None:
    did = desk.submit("value", "steve", "", service="smartphone", answers={"reason": "visiting customers"}).demand.id
    desk.approve(did, "scott")
    (task,) = desk.tasks(demand_id=did)
    c = sign_in("patrick")
    page = c.get("/desk/tasks")
    assert page.status_code == 200 and task.title in page.text and "Mark ordered" in page.text
    token = csrf_of(c, "/desk/tasks")
    assert c.post(f"/desk/tasks/{task.id}/start", data={"csrf": token}).status_code == 303
    assert desk.task(task.id).assignee == "patrick"
    for milestone in desk.task_milestones(task.id):
        assert f"Mark {milestone}" in c.get("/desk/tasks").text
        r = c.post(f"/desk/tasks/{task.id}/milestone", data={"csrf": token, "milestone": milestone})
        assert r.status_code == 303
    assert desk.get(did).state is DemandState.FULFILLED, "the last milestone finishes the task and the plan"
    seen = [e.customer_sees for e in desk.journey(did)]
    assert any("dispatched" in text for text in seen), seen
    assert task.title not in c.get("/desk/tasks").text, "a done task leaves the list"
    # marking a milestone on a done task is refused with a notice, nothing changes
    r = c.post(
        f"/desk/tasks/{task.id}/milestone", data={"csrf": token, "milestone": "delivered"}, follow_redirects=True
    )
    assert r.status_code == 200 and desk.get(did).state is DemandState.FULFILLED


def test_text_me_the_link_sends_the_workaround_and_counts_the_customer_as_affected(
    sign_in: Callable[..., TestClient], desk: Desk
) -> None:
    from itsmcore import Link

    ann = desk.open_announcement(
        "crm",
        "The CRM web app does not load",
        workaround="Use the CRM mobile app.",
        links=[Link(title="CRM mobile app", url="https://apps.eagle5.example/crm/mobile")],
    )
    c = sign_in()
    assert "Text me the link" in c.get("/").text
    r = c.post(f"/announcements/{ann.id}/text-me", data={"csrf": csrf_of(c, "/")}, follow_redirects=True)
    assert r.status_code == 200 and ("We are texting the link" in r.text or "sent you the link" in r.text)
    desk.run_due_jobs()
    sent = [m for m in desk.messages(customer="steve") if m["purpose"] == "workaround"]
    assert sent and "https://apps.eagle5.example/crm/mobile" in sent[0]["body"]
    assert desk.ledger(ann.id).affected == 1, "asking for the workaround says it affects them"


OUTAGE = (
    "directory 'corp': cannot reach the LDAP server (ldap://dc1.corp.example:389: [Errno 111] Connection refused); "
    "sign-in and customer lookups are unavailable until it answers"
)


def _directory_down(*_args: Any, **_kwargs: Any) -> Any:
    from itsmcore import TemporaryFailure

    raise TemporaryFailure(OUTAGE)


def test_sign_in_while_the_directory_is_down_is_a_plain_503(
    client: TestClient, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    from itsmcore.builtin.directory import FileDirectory

    token = csrf_of(client)
    monkeypatch.setattr(FileDirectory, "sign_in_entry", _directory_down)
    r = client.post("/signin", data={"login": "steve", "password": PASSWORD, "csrf": token})
    assert r.status_code == 503 and r.headers["Retry-After"] == "30"
    assert "Sign-in is unavailable, try again shortly." in r.text
    for detail in ("dc1.corp.example", "Errno", "refused", "ldap://"):
        assert detail not in r.text, detail
    assert "ldap://dc1.corp.example:389" in caplog.text  # for whoever reads the log
    monkeypatch.undo()
    assert client.post("/signin", data={"login": "steve", "password": PASSWORD, "csrf": token}).status_code == 303


def test_a_page_during_a_directory_outage_names_no_server(
    sign_in: Callable[..., TestClient], monkeypatch: pytest.MonkeyPatch
) -> None:
    from itsmcore.builtin.directory import FileDirectory

    client = sign_in()
    monkeypatch.setattr(FileDirectory, "get_customer", _directory_down)
    for path in ("/", "/demands"):
        r = client.get(path)
        assert r.status_code == 503, (path, r.status_code, r.text[:300])
        assert "This is unavailable right now. Please try again shortly." in r.text
        assert "dc1.corp.example" not in r.text and "Errno" not in r.text
