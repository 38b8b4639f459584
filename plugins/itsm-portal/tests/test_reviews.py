"""Reviews in the portal: written from a fulfilled request, read on the service page and in search, hidden by the desk."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from conftest import API_TOKEN, csrf_of
from itsmcore import Desk
from starlette.testclient import TestClient

AUTH = {"Authorization": f"Bearer {API_TOKEN}"}


def fulfilled_expensatron(desk: Desk, customer: str = "steve", mobile: str = "+44 7700 900123") -> int:
    demand = desk.submit(
        "value", customer, "", service="expensatron", answers={"mobile_number": mobile, "mobile_os": "ios"}
    ).demand
    assert str(desk.get(demand.id).state) == "fulfilled"
    return demand.id


def write_review(c: TestClient, did: int, **form: Any) -> Any:
    return c.post(f"/demands/{did}/review", data={"csrf": csrf_of(c, f"/demands/{did}"), **form})


def test_a_review_from_the_demand_page_reaches_the_service_page_and_search(
    sign_in: Callable[..., TestClient], second_client: TestClient, desk: Desk
) -> None:
    did = fulfilled_expensatron(desk)
    steve = sign_in("steve")
    page = steve.get(f"/demands/{did}").text
    assert f'action="/demands/{did}/review"' in page and 'name="csrf"' in page
    r = write_review(steve, did, rating="4", text="<script>alert('x')</script> Works well", anonymous="yes")
    assert r.status_code == 303
    mine = steve.get(f"/demands/{did}").text
    assert "Your review" in mine and f'action="/demands/{did}/review"' not in mine

    tony = sign_in("tony", on=second_client)
    service = tony.get("/services/expensatron").text
    assert "4.0 out of 5 from 1 review" in service
    assert "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; Works well" in service
    assert "<script>alert(" not in service, "a review is shown as text, never run"
    assert "a colleague" in service and "Steve Jones" not in service
    results = tony.get("/search?q=expenses").text
    assert "Rated 4.0 out of 5 by 1 colleague" in results


def test_bad_reviews_are_refused_on_the_form_and_twice_is_a_notice(
    sign_in: Callable[..., TestClient], desk: Desk
) -> None:
    did = fulfilled_expensatron(desk)
    steve = sign_in("steve")
    r = write_review(steve, did, rating="", text="no stars")
    assert r.status_code == 422 and "Choose a rating from 1 to 5" in r.text and "no stars" in r.text
    r = write_review(steve, did, rating="3", text="x" * 10_000)
    assert r.status_code == 422 and "at most 1,000 characters" in r.text
    assert write_review(steve, did, rating="3").status_code == 303
    again = write_review(steve, did, rating="1")
    assert again.status_code == 303 and "already reviewed" in steve.get(f"/demands/{did}").text
    assert desk.review_of(did).rating == 3  # type: ignore[union-attr]


def test_a_review_needs_the_form_token_and_the_customers_own_demand(
    sign_in: Callable[..., TestClient], second_client: TestClient, desk: Desk
) -> None:
    did = fulfilled_expensatron(desk)
    tony = sign_in("tony")
    assert tony.post(f"/demands/{did}/review", data={"csrf": csrf_of(tony, "/"), "rating": "1"}).status_code == 404
    steve = sign_in("steve", on=second_client)
    assert steve.post(f"/demands/{did}/review", data={"rating": "5"}).status_code == 403
    assert desk.review_of(did) is None


def test_the_desk_hides_a_review_with_a_reason(
    sign_in: Callable[..., TestClient], second_client: TestClient, desk: Desk
) -> None:
    did = fulfilled_expensatron(desk)
    desk.review(did, "steve", 1, "Patrick never answers", anonymous=True)
    patrick = sign_in("patrick")
    page = patrick.get(f"/desk/demands/{did}").text
    assert "Steve Jones (shown to colleagues as a colleague)" in page, "the desk sees who wrote it"
    token = csrf_of(patrick, f"/desk/demands/{did}")
    assert patrick.post(f"/desk/demands/{did}/hide-review", data={"csrf": token, "text": ""}).status_code == 422
    r = patrick.post(f"/desk/demands/{did}/hide-review", data={"csrf": token, "text": "names a colleague"})
    assert r.status_code == 303
    assert "Hidden from colleagues by patrick: names a colleague" in patrick.get(f"/desk/demands/{did}").text

    tony = sign_in("tony", on=second_client)
    assert "Patrick never answers" not in tony.get("/services/expensatron").text
    assert "Rated" not in tony.get("/search?q=expenses").text


def test_the_api_takes_and_lists_reviews(client: TestClient, desk: Desk) -> None:
    did = fulfilled_expensatron(desk)
    r = client.post(f"/api/v1/demands/{did}/review", headers=AUTH, json={"customer": "tony", "rating": 5})
    assert r.status_code == 404
    r = client.post(f"/api/v1/demands/{did}/review", headers=AUTH, json={"customer": "steve", "rating": 9})
    assert r.status_code == 422 and "rating" in r.json()["errors"]
    r = client.post(
        f"/api/v1/demands/{did}/review",
        headers=AUTH,
        json={"customer": "steve", "rating": 5, "text": "Set up in minutes", "anonymous": True},
    )
    assert r.status_code == 201 and r.json()["by"] == "a colleague"
    again = client.post(f"/api/v1/demands/{did}/review", headers=AUTH, json={"customer": "steve", "rating": 5})
    assert again.status_code == 409
    listed = client.get("/api/v1/services/expensatron/reviews", headers=AUTH).json()
    assert (listed["average"], listed["count"]) == (5.0, 1)
    assert listed["reviews"][0]["customer"] is None and listed["reviews"][0]["text"] == "Set up in minutes"
    desk_view = client.get("/api/v1/services/expensatron/reviews?hidden=1", headers=AUTH).json()
    assert desk_view["reviews"][0]["customer"] == "steve"
    assert client.get("/api/v1/services/nope/reviews", headers=AUTH).status_code == 404
    pending = desk.submit("value", "steve", "", service="smartphone", answers={"reason": "visits"}).demand
    r = client.post(f"/api/v1/demands/{pending.id}/review", headers=AUTH, json={"customer": "steve", "rating": 4})
    assert r.status_code == 409
    paths = client.get("/api/v1/openapi.json").json()["paths"]
    assert "/demands/{did}/review" in paths and "/services/{key}/reviews" in paths
