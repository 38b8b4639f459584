"""Property tests of the signed links (confirm, survey, approval): a tampered, truncated or random
token is refused with InvalidLink, never another exception, and changes nothing in the store.

``tox -e fuzz`` runs 10,000 examples of each (HYPOTHESIS_PROFILE=fuzz); the normal run a few dozen.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import hmac
import json
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import text as sql

from itsmcore import Desk, ItsmError
from itsmcore.links import InvalidLink, LinkClaim, sign, verify

pytestmark = pytest.mark.fuzz

SECRET = b"fuzz-secret-0123456789"
NOW = datetime(2026, 3, 3, 9, 0, tzinfo=UTC)
GENUINE = sign(SECRET, "survey", 7, "steve", NOW, timedelta(days=7))
B64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


@st.composite
def tampered(draw: st.DrawFn) -> str:
    """The genuine token with characters changed, cut, added or moved."""
    token = list(GENUINE)
    for _ in range(draw(st.integers(1, 4))):
        how = draw(st.sampled_from(["change", "cut", "truncate", "insert", "swap"]))
        at = draw(st.integers(0, max(0, len(token) - 1)))
        if how == "change" and token:
            token[at] = draw(st.sampled_from(B64 + ".=+/ %\x00é"))
        elif how == "cut":
            del token[at : at + draw(st.integers(1, 10))]
        elif how == "truncate":
            del token[at:]
        elif how == "insert":
            token[at:at] = list(draw(st.text(max_size=5)))
        elif token:
            other = draw(st.integers(0, len(token) - 1))
            token[at], token[other] = token[other], token[at]
    return "".join(token)


tokens = st.one_of(
    tampered(),
    st.text(max_size=80),
    st.text(alphabet=B64 + ".", max_size=120),
    st.builds(lambda a, b: f"{a}.{b}", st.text(alphabet=B64, max_size=60), st.text(alphabet=B64, max_size=50)),
    st.builds(lambda p: "https://desk.example/survey/" + p, st.text(max_size=30)),
)


def _same_bytes(token: str) -> bool:
    """Whether ``token`` decodes to the genuine token's bytes (base64's spare bits can differ)."""
    try:
        p, m = token.strip().split(".", 1)
        g_p, g_m = GENUINE.split(".", 1)

        def dec(s: str) -> bytes:
            return base64.urlsafe_b64decode(s + "=" * (-len(s) % 4))

        return dec(p) == dec(g_p) and dec(m) == dec(g_m)
    except ValueError:
        return False


@given(token=tokens)
def test_verify_refuses_anything_but_the_genuine_token(token: str) -> None:
    try:
        claim = verify(SECRET, token, NOW, purpose="survey")
    except InvalidLink:
        return
    assert _same_bytes(token), f"{token!r} was taken as genuine"
    assert claim == LinkClaim(purpose="survey", target=7, customer_id="steve", expires=NOW + timedelta(days=7))


@given(
    payload=st.one_of(
        st.binary(max_size=80),
        st.recursive(
            st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=10),
            lambda c: (
                st.lists(c, max_size=3) | st.dictionaries(st.sampled_from(["p", "t", "c", "e", "x"]), c, max_size=5)
            ),
            max_leaves=10,
        ).map(lambda v: json.dumps(v).encode()),
    )
)
def test_a_signed_payload_of_any_shape_is_a_claim_or_invalid(payload: bytes) -> None:
    """Signed with the secret (so past the MAC check) but not what sign() writes: still only InvalidLink.

    Not reachable without the secret; checked so that a future change of the format cannot crash a page.
    """
    mac = hmac.new(SECRET, payload, hashlib.sha256).digest()
    with contextlib.suppress(InvalidLink):
        verify(SECRET, f"{_b64(payload)}.{_b64(mac)}", NOW)


def test_found_by_the_fuzzer_an_expiry_past_any_date() -> None:
    """A signed payload whose expiry or target is out of range (1e300, Infinity) is an invalid link."""
    for payload in (b'{"p":"survey","t":1,"c":"s","e":1e300}', b'{"p":"survey","t":Infinity,"c":"s","e":1}'):
        mac = hmac.new(SECRET, payload, hashlib.sha256).digest()
        with pytest.raises(InvalidLink):
            verify(SECRET, f"{_b64(payload)}.{_b64(mac)}", NOW)


# --------------------------------------------------------------------------- through the desk


@pytest.fixture
def desk(write_deployment: Callable[..., Path], monkeypatch: pytest.MonkeyPatch) -> Iterator[Desk]:
    monkeypatch.setenv("ITSM_SECRET", "fuzz-secret-for-tests")
    with Desk.open(write_deployment()) as d:
        d.submit("failure", "steve", "The CRM is down", channel="log")
        yield d


def _snapshot(desk: Desk) -> tuple[object, ...]:
    with desk.engine.connect() as conn:
        counts = [
            conn.execute(sql(f"SELECT count(*) FROM {t}")).scalar()
            for t in ("demands", "journey_events", "jobs", "survey_responses", "announcement_customers")
        ]
        return (*counts, conn.execute(sql("SELECT max(updated_at) FROM demands")).scalar())


@given(token=tokens, fixed=st.booleans())
def test_the_desk_refuses_any_link_it_did_not_sign(desk: Desk, token: str, fixed: bool) -> None:
    before = _snapshot(desk)
    for use in (
        desk.confirm_asked,
        desk.survey_asked,
        desk.approval_asked,
        lambda t: desk.confirm(t, fixed),
        lambda t: desk.approve_by_link(t, fixed, "no"),
        lambda t: desk.answer_survey(9, token=t),
    ):
        with pytest.raises(ItsmError) as e:
            use(token)
        assert isinstance(e.value, InvalidLink), f"{type(e.value).__name__}: {e.value}"
    assert _snapshot(desk) == before
