"""Journey events with an external reference are recorded once, however many processes take them in."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from itsmcore import JourneyEvent, hookimpl
from itsmcore.desk import Desk


class Events:
    """Counts the event hooks: a duplicate must not tell anyone anything."""

    def __init__(self) -> None:
        self.recorded: list[int | None] = []

    @hookimpl
    def itsm_event_recorded(self, desk, demand, event):  # type: ignore[no-untyped-def]
        self.recorded.append(event.id)


class MeetingClock:
    """A desk clock that, once armed, holds each caller until all have arrived.

    ``record_event`` reads the clock after looking the reference up and before inserting,
    so arming it makes both desks miss each other's row and race on the insert itself.
    """

    def __init__(self, barrier: threading.Barrier) -> None:
        self.barrier = barrier
        self.armed = threading.Event()

    def __call__(self) -> datetime:
        if self.armed.is_set():
            self.barrier.wait(timeout=30)
        return datetime.now(UTC)


@pytest.fixture
def config(write_deployment: Callable[..., Path], database_url: str) -> Path:
    return write_deployment(database=database_url)


@pytest.fixture
def events() -> Events:
    return Events()


@pytest.fixture
def desk(config: Path, events: Events) -> Iterator[Desk]:
    with Desk.open(config, entry_points=False, plugins=[events]) as d:
        yield d


def test_the_same_reference_twice_is_one_event_and_one_hook_call(desk: Desk, events: Events) -> None:
    demand = desk.submit(None, "steve", "The printer jams").demand
    first = desk.comment(demand.id, "Still jammed", external_ref="<r1@mail.example>")
    hooks = len(events.recorded)
    again = desk.record_event(demand.id, kind="comment", customer_sees="Still jammed", external_ref="<r1@mail.example>")
    assert again == first, "the second call returns the event the first one recorded"
    assert len(events.recorded) == hooks, "nothing recorded, so no hook fires"
    assert [e.id for e in desk.journey(demand.id) if e.external_ref == "<r1@mail.example>"] == [first.id]
    assert desk.find_event_by_external_ref("<r1@mail.example>") == first
    assert desk.find_event_by_external_ref("<nope@mail.example>") is None
    ev, recorded = desk.record_event_once(demand.id, kind="comment", external_ref="<r1@mail.example>")
    assert (ev, recorded) == (first, False)


def test_events_without_a_reference_are_never_merged(desk: Desk) -> None:
    demand = desk.submit(None, "steve", "The printer jams").demand
    before = len(desk.journey(demand.id))
    a = desk.comment(demand.id, "once")
    b = desk.comment(demand.id, "once")
    assert a.id != b.id and a.external_ref is None and b.external_ref is None
    assert len(desk.journey(demand.id)) == before + 2


def test_two_desks_racing_on_one_reference_record_one_event(config: Path) -> None:
    barrier = threading.Barrier(2)
    clocks = [MeetingClock(barrier), MeetingClock(barrier)]
    hooks = [Events(), Events()]
    with (
        Desk.open(config, entry_points=False, plugins=[hooks[0]], clock=clocks[0]) as one,
        Desk.open(config, entry_points=False, plugins=[hooks[1]], clock=clocks[1]) as two,
    ):
        demand_id = one.submit(None, "steve", "The printer jams").demand.id
        results: list[tuple[JourneyEvent, bool]] = []
        errors: list[BaseException] = []

        def take_in(desk: Desk, clock: MeetingClock) -> None:
            clock.armed.set()
            try:
                results.append(
                    desk.record_event_once(
                        demand_id,
                        kind="comment",
                        actor="customer",
                        customer_sees="Still jammed",
                        external_ref="<race@mail.example>",
                    )
                )
            except BaseException as e:
                errors.append(e)
            finally:
                clock.armed.clear()

        threads = [threading.Thread(target=take_in, args=(d, c)) for d, c in ((one, clocks[0]), (two, clocks[1]))]
        for th in threads:
            th.start()
        for th in threads:
            th.join(timeout=60)
        assert not errors, errors
        assert sorted(recorded for _, recorded in results) == [False, True], "exactly one desk records it"
        assert results[0][0] == results[1][0], "the loser gets the winner's event"
        journey = one.journey(demand_id)
        assert [e.customer_sees for e in journey if e.external_ref == "<race@mail.example>"] == ["Still jammed"]
        winner = results[0][0].id
        assert sorted(hooks[0].recorded + hooks[1].recorded).count(winner) == 1, "only the winner's hooks fire"
