"""The one customer-facing status model: the sentence for every kind, state and wait, and that none contradicts the state."""

from __future__ import annotations

import itertools
import re
from datetime import UTC, datetime, timedelta

import pytest

from itsmcore import (
    LIFECYCLES,
    Announcement,
    AnnouncementState,
    Demand,
    DemandKind,
    DemandState,
    PlanStep,
    Service,
    Stage,
    acknowledgement,
    customer_status,
    stage_label,
)

pytestmark = pytest.mark.no_database

NOW = datetime(2025, 3, 4, 12, 0, tzinfo=UTC)
S = DemandState
K = DemandKind
SCOTT = "Scott (your manager)"
PLANNED = Service(
    key="smartphone",
    name="A company smartphone",
    expected="3 working days after approval",
    plan=(PlanStep(action="approval"), PlanStep(action="notify")),
)
UNPLANNED = Service(key="desktop", name="A desktop PC", expected="5 working days")
CRM = Service(key="crm", name="CRM", kind=K.FAILURE)
OUTAGE = Announcement(
    id=7, service_key="crm", title="The CRM is down", workaround="use the web app", opened_at=NOW, updated_at=NOW
)


def demand(
    kind: DemandKind, state: DemandState, *, waiting_for: str | None = None, stage: Stage = Stage.FULFIL
) -> Demand:
    return Demand(
        id=12,
        kind=kind,
        customer_id="steve",
        summary="something",
        channel="portal",
        state=state,
        stage=stage,
        waiting_for=waiting_for,
        created_at=NOW,
        updated_at=NOW,
    )


# (kind, state, waiting_for, service, outage, stage) -> the sentence the customer reads
TABLE: list[tuple[DemandKind, DemandState, str | None, Service | None, Announcement | None, Stage, str]] = [
    (K.VALUE, S.NEW, None, UNPLANNED, None, Stage.ACKNOWLEDGE, "Someone from IT will pick it up shortly."),
    (K.VALUE, S.NEW, SCOTT, UNPLANNED, None, Stage.ACKNOWLEDGE, f"Waiting for {SCOTT}, asked 2 hours ago."),
    (K.VALUE, S.AWAITING_APPROVAL, SCOTT, PLANNED, None, Stage.FULFIL, f"Waiting for {SCOTT} to approve, asked 2 hours ago."),
    (K.VALUE, S.AWAITING_APPROVAL, None, PLANNED, None, Stage.FULFIL, "Waiting for approval, asked 2 hours ago."),
    (K.VALUE, S.IN_FULFILMENT, None, PLANNED, None, Stage.ACKNOWLEDGE, "We are starting on it."),
    (K.VALUE, S.IN_FULFILMENT, None, PLANNED, None, Stage.FULFIL, "We are setting it up."),
    (K.VALUE, S.IN_FULFILMENT, SCOTT, PLANNED, None, Stage.FULFIL, f"Waiting for {SCOTT}, asked 2 hours ago."),
    (K.VALUE, S.IN_FULFILMENT, None, UNPLANNED, None, Stage.FULFIL, "Someone from IT is setting it up."),
    (K.VALUE, S.IN_FULFILMENT, None, None, None, Stage.FULFIL, "Someone from IT is setting it up."),
    (K.VALUE, S.STUCK, "the service desk (approval failed)", PLANNED, None, Stage.FULFIL,
     "We hit a problem on our side. A person from the service desk is on it."),
    (K.VALUE, S.FULFILLED, None, PLANNED, None, Stage.OUTCOME,
     "Done: A company smartphone is ready for you. Please tell us if it works for you."),
    (K.VALUE, S.FULFILLED, None, None, None, Stage.OUTCOME, "Done: It is ready for you. Please tell us if it works for you."),
    (K.VALUE, S.REJECTED, None, PLANNED, None, Stage.OUTCOME, "It was not approved, so we have not set it up."),
    (K.VALUE, S.CLOSED, None, PLANNED, None, Stage.CONFIRM, "Done and closed. Thank you."),
    (K.VALUE, S.CANCELLED, None, PLANNED, None, Stage.FULFIL, "Cancelled. Nothing more will happen."),
    (K.FAILURE, S.NEW, None, CRM, None, Stage.ACKNOWLEDGE,
     "Someone from the service desk will look at it shortly. We will keep you posted until it is fixed."),
    (K.FAILURE, S.NEW, None, CRM, OUTAGE, Stage.ACKNOWLEDGE,
     "We know about this: The CRM is down. Meanwhile: use the web app. We will tell you when it is fixed."),
    (K.FAILURE, S.IN_PROGRESS, None, CRM, OUTAGE, Stage.FULFIL,
     "We know about this: The CRM is down. Meanwhile: use the web app. We will tell you when it is fixed."),
    (K.FAILURE, S.IN_PROGRESS, None, CRM, None, Stage.FULFIL,
     "Someone from the service desk is working on it. We will keep you posted until it is fixed."),
    (K.FAILURE, S.IN_PROGRESS, "your reply", CRM, None, Stage.FULFIL, "Waiting for your reply, asked 2 hours ago."),
    (K.FAILURE, S.RESOLVED, "your confirmation", CRM, None, Stage.OUTCOME, "Fixed, please tell us if it works for you."),
    (K.FAILURE, S.RESOLVED, "a call from the service desk", CRM, None, Stage.CONFIRM,
     "Fixed, please tell us if it works for you. Next: a call from the service desk."),
    (K.FAILURE, S.CLOSED, None, CRM, None, Stage.CONFIRM, "Fixed and closed. Thank you."),
    (K.FAILURE, S.CANCELLED, None, CRM, None, Stage.FULFIL, "Cancelled. Nothing more will happen."),
    (K.INFORMATION, S.NEW, None, None, None, Stage.ACKNOWLEDGE, "Someone from IT will answer you shortly."),
    (K.INFORMATION, S.IN_PROGRESS, None, None, None, Stage.FULFIL, "Someone from the service desk is finding the answer."),
    (K.INFORMATION, S.ANSWERED, None, None, None, Stage.OUTCOME, "Answered. Please tell us if the answer helps."),
    (K.INFORMATION, S.CLOSED, None, None, None, Stage.CONFIRM, "Answered and closed. Thank you."),
    (K.INFORMATION, S.CANCELLED, None, None, None, Stage.FULFIL, "Cancelled. Nothing more will happen."),
]  # fmt: skip


@pytest.mark.parametrize(("kind", "state", "waiting", "service", "outage", "stage", "sentence"), TABLE)
def test_the_sentence_for_each_kind_state_and_wait(
    kind: DemandKind,
    state: DemandState,
    waiting: str | None,
    service: Service | None,
    outage: Announcement | None,
    stage: Stage,
    sentence: str,
) -> None:
    d = demand(kind, state, waiting_for=waiting, stage=stage)
    status = customer_status(
        d, service=service, now=NOW, known_outage=outage, waiting_since=NOW - timedelta(hours=2, minutes=5)
    )
    assert status.sentence == sentence


def test_the_table_covers_every_state_of_every_lifecycle() -> None:
    covered = {(kind, state) for kind, state, *_ in TABLE}
    assert covered == {(kind, state) for kind, states in LIFECYCLES.items() for state in states}


# ---------------------------------------------------------------------------- nothing contradicts the state

#: Words only agents and reports use: the states and stages by their internal names, channel names, excuses.
INTERNAL = sorted(
    {str(v) for v in (*Stage, *DemandState) if "_" in str(v)}
    | {"discover", "engage", "acknowledge", "fulfil", "outcome", "stuck", "log", "something went wrong"}
)
WAITS = [None, SCOTT, "your confirmation", "a call from the service desk"]
#: What a stuck request waits for names the failed step: for agents only.
STUCK_WAIT = "the service desk (notify.send_link failed)"
SERVICES = [None, PLANNED, UNPLANNED, CRM]
FIXED_OUTAGE = Announcement(
    id=8, service_key="crm", title="The CRM was slow", state=AnnouncementState.RESOLVED, opened_at=NOW, updated_at=NOW
)
OUTAGES = [None, OUTAGE, FIXED_OUTAGE]
CASES = [
    (kind, state, waiting, service, outage, stage, since)
    for kind, states in LIFECYCLES.items()
    for state, waiting, service, outage, stage, since in itertools.product(
        states,
        [*WAITS, STUCK_WAIT] if S.STUCK in states else WAITS,
        SERVICES,
        OUTAGES,
        (Stage.ACKNOWLEDGE, Stage.FULFIL, Stage.OUTCOME),
        (None, NOW),
    )
    if waiting != STUCK_WAIT or state == S.STUCK
]


def _words(pattern: str, text: str) -> bool:
    return re.search(rf"\b{pattern}\b", text, re.IGNORECASE) is not None


@pytest.mark.parametrize(("kind", "state"), sorted({(c[0], c[1]) for c in CASES}))
def test_no_sentence_contradicts_the_state(kind: DemandKind, state: DemandState) -> None:
    for _k, _s, waiting, service, outage, stage, since in (c for c in CASES if c[:2] == (kind, state)):
        d = demand(kind, state, waiting_for=waiting, stage=stage)
        st = customer_status(d, service=service, now=NOW, known_outage=outage, waiting_since=since)
        said = f"{st.text} {st.label}"
        where = f"{kind}/{state}/{waiting}/{service and service.key}/{outage and outage.state}/{stage}: {said!r}"
        for word in INTERNAL:
            assert not _words(word, said), where
        if _words("done|ready", said):
            assert state in (S.FULFILLED, S.ANSWERED, S.CLOSED), where
        if "setting it up" in said:
            assert state not in (S.AWAITING_APPROVAL, S.STUCK) and not waiting, where
        if _words("fixed", st.label) or st.sentence.startswith("Fixed"):
            assert kind == K.FAILURE and state in (S.RESOLVED, S.CLOSED), where
        if _words("approve", said):
            assert state == S.AWAITING_APPROVAL, where
        if "We know about this" in said:
            assert outage is not None and outage.state == AnnouncementState.OPEN, where
            assert state in (S.NEW, S.IN_PROGRESS), where
        if "asked" in said:
            assert since is not None and (waiting or state == S.AWAITING_APPROVAL), where
        if "failed" in said:  # the failed step is the desk's business, not the customer's
            raise AssertionError(where)
        assert st.finished == (state in (S.FULFILLED, S.RESOLVED, S.ANSWERED, S.CLOSED, S.REJECTED, S.CANCELLED))
        if st.needs_customer:
            assert state in (S.FULFILLED, S.RESOLVED, S.ANSWERED) or (waiting or "").startswith("your "), where
        if st.expected is not None:
            assert not st.finished and state != S.STUCK, where


def test_how_long_ago_the_wait_began() -> None:
    d = demand(K.VALUE, S.AWAITING_APPROVAL, waiting_for=SCOTT)
    for since, said in [
        (NOW - timedelta(seconds=20), "asked just now"),
        (NOW - timedelta(minutes=1), "asked 1 minute ago"),
        (NOW - timedelta(minutes=45), "asked 45 minutes ago"),
        (NOW - timedelta(hours=1, minutes=2), "asked 1 hour ago"),
        (NOW - timedelta(days=3), "asked 3 days ago"),
    ]:
        assert said in customer_status(d, now=NOW, waiting_since=since).sentence
    assert customer_status(d, waiting_since=NOW).sentence == f"Waiting for {SCOTT} to approve."


def test_the_expectation_comes_from_the_service_of_the_same_kind() -> None:
    waiting = customer_status(demand(K.VALUE, S.AWAITING_APPROVAL, waiting_for=SCOTT), service=PLANNED)
    assert waiting.expected == "It usually takes 3 working days after approval."
    assert waiting.text.endswith(waiting.expected)
    assert customer_status(demand(K.FAILURE, S.NEW), service=PLANNED).expected is None
    assert customer_status(demand(K.VALUE, S.FULFILLED), service=PLANNED).expected is None


def test_the_acknowledgement_thanks_then_says_where_it_stands() -> None:
    d = demand(K.VALUE, S.AWAITING_APPROVAL, waiting_for=SCOTT)
    status = customer_status(d, service=PLANNED, now=NOW, waiting_since=NOW)
    assert acknowledgement(d, status, service=PLANNED) == (
        f"Thanks, we have your request for A company smartphone (#12). Waiting for {SCOTT} to approve, asked just now."
        " It usually takes 3 working days after approval."
    )
    report = demand(K.FAILURE, S.NEW)
    assert acknowledgement(report, customer_status(report, known_outage=OUTAGE)).startswith(
        "Thanks, we have your report (#12). We know about this: The CRM is down."
    )


def test_every_stage_has_a_plain_label() -> None:
    labels = [stage_label(s) for s in Stage]
    assert labels[:4] == ["You found us", "You asked", "We confirmed", "In progress"]
    assert len(set(labels)) == len(labels)
    for label in labels:
        assert not any(_words(word, label) for word in INTERNAL), label
    assert stage_label("feedback") == "Your feedback"
