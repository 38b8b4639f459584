"""The Expensatron stand-in the Eagle5 demo uses: a real HTTP server on 127.0.0.1."""

from __future__ import annotations

import httpx
import pytest

from itsm_http.standin import start_standin


def test_start_create_idempotent_and_stop() -> None:
    url, stop = start_standin()
    try:
        assert url.startswith("http://127.0.0.1:")
        with httpx.Client(base_url=url, trust_env=False) as client:
            assert client.get("/api/health").json() == {"ok": True}
            body = {"email": "steve@eagle5.example", "name": "Steve Jones"}
            first = client.post("/api/accounts", json=body, headers={"Idempotency-Key": "k1"})
            assert first.status_code == 201
            assert first.json()["account"]["login"] == "steve"
            again = client.post("/api/accounts", json=body, headers={"Idempotency-Key": "k1"})
            assert again.status_code == 200 and again.json() == first.json()
            other = client.post(
                "/api/accounts", json={"email": "steve@other.example"}, headers={"Idempotency-Key": "k2"}
            )
            assert other.json()["account"]["login"] == "steve2"
            dup = client.post("/api/accounts", json=body, headers={"Idempotency-Key": "k3"})
            assert dup.status_code == 409 and "already exists" in dup.json()["error"]["message"]
            assert client.post("/api/accounts", json={"name": "x"}).status_code == 422
            assert client.post("/api/accounts", content=b"{nope").status_code == 400
            assert client.get("/nowhere").status_code == 404
            assert len(client.get("/api/accounts").json()["accounts"]) == 2
    finally:
        stop()
    with pytest.raises(httpx.ConnectError), httpx.Client(trust_env=False) as client:
        client.get(url + "/api/health", timeout=1.0)


def test_token_is_required_when_given() -> None:
    url, stop = start_standin(token="t0k")
    try:
        with httpx.Client(base_url=url, trust_env=False) as client:
            assert client.post("/api/accounts", json={"email": "a@b.example"}).status_code == 401
            ok = client.post("/api/accounts", json={"email": "a@b.example"}, headers={"Authorization": "Bearer t0k"})
            assert ok.status_code == 201
    finally:
        stop()
