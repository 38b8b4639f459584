"""Prove a deployment keeps the journey hooks' contract: a recorder of hook calls, and a checker.

Webhooks, SLA clocks and mirrors into other tools are built on four hooks of
:mod:`itsmcore.hookspecs`: ``itsm_demand_received`` once per demand,
``itsm_event_recorded`` once per journey event, ``itsm_stage_entered`` when the journey
moves into another stage, and ``itsm_demand_state_changed`` once per state change. A
change to a demand that bypasses the journey writer breaks that silently: the customer
notices nothing, the vendor's mirror drifts. So a plugin that moves demands (an action, a
channel taking replies in, a runner) proves it does not, with its own deployment::

    # tests/conftest.py
    pytest_plugins = ["itsmcore.testing"]

    # tests/test_hooks.py
    from itsmcore import Desk
    from itsmcore.testing import ObserverContract

    def test_my_action_keeps_the_hook_contract(itsm_deployment_factory, itsm_hook_recorder):
        config = itsm_deployment_factory(MY_SERVICES)
        with Desk.open(config, plugins=[itsm_hook_recorder]) as desk:
            desk.submit("value", "steve", "", service="my-service")
            ObserverContract.assert_complete(desk, itsm_hook_recorder)

The ``itsm_desk`` fixture registers ``itsm_hook_recorder`` itself when a test asks for
both. The recorder sees only the process it lives in: when other processes move the
demands too (workers, ``itsm jobs run``), name :mod:`itsmcore.testing.hook_table` in the
deployment's ``[plugins] modules`` and check a
:class:`~itsmcore.testing.StoredHookLog` instead; the checker reads either.
"""

from __future__ import annotations

import itertools
import os
import threading
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, ClassVar, Protocol

import attrs

from ..errors import NotFound
from ..model import Demand, DemandState, JourneyEvent, Stage
from ..plugins import hookimpl

if TYPE_CHECKING:
    from ..desk import Desk

RECEIVED = "itsm_demand_received"
EVENT = "itsm_event_recorded"
STAGE = "itsm_stage_entered"
STATE = "itsm_demand_state_changed"

#: The hooks the recorders implement and the checker checks.
OBSERVED_HOOKS = (RECEIVED, EVENT, STAGE, STATE)

# list_demands pages newest first with a limit and no offset: ask for more than any test makes.
_ALL_DEMANDS = 10**9


@attrs.frozen(kw_only=True)
class SeenEvent:
    """A journey event as a hook was handed it: the fields the checker compares with the stored row."""

    id: int | None
    demand_id: int
    stage: Stage
    kind: str
    customer_sees: str

    @classmethod
    def of(cls, event: JourneyEvent) -> SeenEvent:
        return cls(
            id=event.id,
            demand_id=event.demand_id,
            stage=Stage(event.stage),
            kind=event.kind,
            customer_sees=event.customer_sees,
        )


@attrs.frozen(kw_only=True)
class HookCall:
    """One call of a journey hook, as an observer saw it.

    ``seq`` orders the calls of one log (the order they were recorded in); ``state`` is the
    state of the demand the hook was given, ``previous`` the state a state change left,
    ``event`` the event of ``itsm_event_recorded`` and ``itsm_stage_entered``.
    """

    seq: int
    hook: str
    demand_id: int
    state: DemandState
    previous: DemandState | None = None
    event: SeenEvent | None = None
    pid: int = attrs.field(factory=os.getpid)

    @property
    def subject_id(self) -> int:
        """The demand the call is about: the event's, when it has one (the checker also compares the two)."""
        return self.event.demand_id if self.event is not None else self.demand_id


class HookLog(Protocol):
    """What the checker reads: every hook call recorded so far, in the order recorded."""

    def calls(self) -> Sequence[HookCall]: ...


class HookRecorder:
    """A plugin object that remembers every journey hook call it gets, in order.

    Register it when opening the desk (``Desk.open(config, plugins=[recorder])``); safe
    when hooks are called from several threads. One recorder per deployment: calls are
    told apart by demand id only.
    """

    ITSM_CONTRACT = "1.0"

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._seq = itertools.count()
        self._calls: list[HookCall] = []

    def calls(self) -> tuple[HookCall, ...]:
        """Every call so far, in the order they were made."""
        with self._lock:
            return tuple(self._calls)

    def clear(self) -> None:
        """Forget the calls so far (a test that checks only what follows)."""
        with self._lock:
            self._calls.clear()

    def _add(
        self, hook: str, demand: Demand, *, previous: DemandState | None = None, event: JourneyEvent | None = None
    ) -> None:
        seen = SeenEvent.of(event) if event is not None else None
        with self._lock:
            self._calls.append(
                HookCall(
                    seq=next(self._seq),
                    hook=hook,
                    demand_id=demand.id,
                    state=DemandState(demand.state),
                    previous=DemandState(previous) if previous is not None else None,
                    event=seen,
                )
            )

    @hookimpl
    def itsm_demand_received(self, demand: Demand) -> None:
        self._add(RECEIVED, demand)

    @hookimpl
    def itsm_event_recorded(self, demand: Demand, event: JourneyEvent) -> None:
        self._add(EVENT, demand, event=event)

    @hookimpl
    def itsm_stage_entered(self, demand: Demand, event: JourneyEvent) -> None:
        self._add(STAGE, demand, event=event)

    @hookimpl
    def itsm_demand_state_changed(self, demand: Demand, previous: DemandState) -> None:
        self._add(STATE, demand, previous=previous)


@attrs.frozen(kw_only=True)
class HookProblem:
    """One way the hooks' account of a demand differs from what the desk stored.

    ``problem`` is ``missing`` (never called), ``doubled`` (called more than once),
    ``unexpected`` (called for something that did not happen), ``different`` (called with
    other values than were stored), ``wrong demand`` (handed another demand than the
    event's) or ``gap`` (a state change never reported). ``about`` describes the demand.
    """

    demand_id: int
    about: str
    hook: str
    problem: str
    message: str
    event_kind: str | None = None


class ObserverContract:
    """The journey hooks' contract, checked against what a :class:`~itsmcore.testing.HookLog` saw.

    For every demand of the desk (or those named): (a) each row of its journey reached
    ``itsm_event_recorded`` exactly once, with the stored stage, kind and customer text,
    and nothing else was reported; (b) ``itsm_demand_received`` was called once; (c) the
    ``itsm_demand_state_changed`` calls form an unbroken chain from the state it was
    received in to the state it is in now; (d) ``itsm_stage_entered`` was called for each
    event in another stage than the event before it (a demand's first event enters its
    stage) and for no other. Every hook was handed the demand its event belongs to.
    """

    #: Demands, and lines per demand, a failure message spells out; its summary counts all.
    shown_demands: ClassVar[int] = 12
    shown_lines: ClassVar[int] = 15

    @classmethod
    def problems(cls, desk: Desk, log: HookLog, demand_ids: Iterable[int] | None = None) -> list[HookProblem]:
        """Every difference between the hook calls in ``log`` and what ``desk`` stored, demand by demand.

        Without ``demand_ids``, every stored demand and every demand a hook was called about.
        """
        return _check(desk, log, demand_ids)[0]

    @classmethod
    def assert_complete(cls, desk: Desk, log: HookLog, demand_ids: Iterable[int] | None = None) -> None:
        """Raise ``AssertionError`` listing, per demand and event, every hook call missed, doubled or wrong."""
        __tracebackhide__ = True  # pytest shows the caller's line and the message, not the checker's frame
        found, checked = _check(desk, log, demand_ids)
        if found:
            raise AssertionError(cls.explain(found, checked))

    @staticmethod
    def reported_states(log: HookLog, demand_id: int) -> list[DemandState]:
        """The states the hooks told observers a demand went through: as received, then after each change.

        The checker proves this chain unbroken and ending where the demand is; a test that
        knows the demand went somewhere and back (stuck, then retried) checks it passed there.
        """
        calls = sorted((c for c in log.calls() if c.subject_id == demand_id), key=lambda c: c.seq)
        received = [c.state for c in calls if c.hook == RECEIVED][:1]
        return received + [c.state for c in calls if c.hook == STATE]

    @classmethod
    def explain(cls, found: Sequence[HookProblem], checked: int) -> str:
        """The failure message: a summary by hook, then each demand with what was missed or doubled."""
        demands: dict[int, list[HookProblem]] = defaultdict(list)
        for p in found:
            demands[p.demand_id].append(p)
        lines = [
            f"the journey hooks' account of {len(demands)} of {checked} demand(s) differs from what was stored. "
            "Every journey event, stage entered and state change must be reported to the hooks once, after "
            "commit (see itsmcore.hookspecs); a change written around the journey writer is the usual cause.",
            "",
            "summary:",
        ]
        by_kind: dict[tuple[str, str], Counter[str]] = defaultdict(Counter)
        for p in found:
            by_kind[(p.hook, p.problem)][p.event_kind or ""] += 1
        for (hook, problem), kinds in sorted(by_kind.items()):
            detail = ", ".join(f"{k} {n}" for k, n in kinds.most_common() if k)
            lines.append(f"  {hook} {problem}: {kinds.total()}" + (f" (event kinds: {detail})" if detail else ""))
        for demand_id in sorted(demands)[: cls.shown_demands]:
            mine = demands[demand_id]
            lines += ["", f"{mine[0].about}:"]
            lines += [f"  - {p.message}" for p in mine[: cls.shown_lines]]
            if len(mine) > cls.shown_lines:
                lines.append(f"  ... and {len(mine) - cls.shown_lines} more for this demand")
        if len(demands) > cls.shown_demands:
            rest = sorted(demands)[cls.shown_demands :]
            lines += ["", f"... and {len(rest)} more demand(s): {', '.join(f'#{i}' for i in rest[:40])}"]
        return "\n".join(lines)


def _check(desk: Desk, log: HookLog, demand_ids: Iterable[int] | None) -> tuple[list[HookProblem], int]:
    """The problems found, and how many demands were checked."""
    by_demand: dict[int, list[HookCall]] = defaultdict(list)
    for call in sorted(log.calls(), key=lambda c: c.seq):
        if call.hook in OBSERVED_HOOKS:
            by_demand[call.subject_id].append(call)
    if demand_ids is None:
        ids = {d.id for d in desk.list_demands(limit=_ALL_DEMANDS)} | set(by_demand)
    else:
        ids = set(demand_ids)
    found: list[HookProblem] = []
    for demand_id in sorted(ids):
        found += _check_demand(desk, demand_id, by_demand.get(demand_id, []))
    return found, len(ids)


def _quote(text: str, width: int = 70) -> str:
    if not text:
        return "nothing"
    one_line = " ".join(text.split())
    return repr(one_line if len(one_line) <= width else one_line[: width - 3] + "...")


def _describe(event: JourneyEvent | SeenEvent) -> str:
    return f"event {event.id} ({event.kind!r} at stage {event.stage}; the customer saw {_quote(event.customer_sees)})"


def _check_demand(desk: Desk, demand_id: int, calls: list[HookCall]) -> list[HookProblem]:
    try:
        demand = desk.get(demand_id)
    except NotFound:
        hooks = Counter(c.hook for c in calls)
        return [
            HookProblem(
                demand_id=demand_id,
                about=f"demand #{demand_id} (not stored)",
                hook=calls[0].hook if calls else RECEIVED,
                problem="unexpected",
                message=f"hooks were called about demand #{demand_id} "
                f"({', '.join(f'{h} x{n}' for h, n in sorted(hooks.items()))}), but no such demand is stored: "
                "called before a transaction that rolled back, or for another deployment",
            )
        ]
    journey = desk.journey(demand_id)
    service = f" for {demand.service_key}" if demand.service_key else ""
    about = (
        f"demand #{demand.id} ({demand.kind} demand{service} from {demand.customer_id}, now {demand.state}, "
        f"{len(journey)} journey events)"
    )
    check = _DemandCheck(demand, journey, calls, about)
    check.wrong_demand()
    check.received()
    check.events()
    check.states()
    check.stages()
    return check.found


class _DemandCheck:
    """The four checks of one demand, collecting problems in the order a reader follows them."""

    def __init__(self, demand: Demand, journey: list[JourneyEvent], calls: list[HookCall], about: str) -> None:
        self.demand = demand
        self.journey = journey
        self.calls = calls
        self.about = about
        self.stored = {ev.id: ev for ev in journey}
        self.found: list[HookProblem] = []

    def add(self, hook: str, problem: str, message: str, event: JourneyEvent | SeenEvent | None = None) -> None:
        self.found.append(
            HookProblem(
                demand_id=self.demand.id,
                about=self.about,
                hook=hook,
                problem=problem,
                message=message,
                event_kind=event.kind if event is not None else None,
            )
        )

    def of(self, hook: str) -> list[HookCall]:
        return [c for c in self.calls if c.hook == hook]

    def by_event(self, hook: str) -> dict[int | None, list[HookCall]]:
        out: dict[int | None, list[HookCall]] = defaultdict(list)
        for c in self.of(hook):
            assert c.event is not None
            out[c.event.id].append(c)
        return out

    def wrong_demand(self) -> None:
        for c in self.calls:
            if c.event is not None and c.demand_id != c.event.demand_id:
                self.add(
                    c.hook,
                    "wrong demand",
                    f"{c.hook} was handed demand #{c.demand_id} with {_describe(c.event)} of demand "
                    f"#{c.event.demand_id}; the demand passed must be the event's",
                    c.event,
                )

    def received(self) -> None:
        got = self.of(RECEIVED)
        if not got:
            self.add(
                RECEIVED,
                "missing",
                f"{RECEIVED} was never called for it (stored at {self.demand.created_at:%Y-%m-%d %H:%M:%S}, "
                f"taken in through {self.demand.channel})",
            )
        elif len(got) > 1:
            self.add(RECEIVED, "doubled", f"{RECEIVED} was called {len(got)} times for it; once is the contract")

    def events(self) -> None:
        seen = self.by_event(EVENT)
        for ev in self.journey:
            got = seen.get(ev.id, [])
            if not got:
                self.add(EVENT, "missing", f"{_describe(ev)} never reached {EVENT}", ev)
                continue
            if len(got) > 1:
                self.add(
                    EVENT, "doubled", f"{_describe(ev)} reached {EVENT} {len(got)} times; once is the contract", ev
                )
            reported = got[0].event
            assert reported is not None
            diffs = [
                f"{name} {getattr(reported, name)!r} where {getattr(ev, name)!r} was stored"
                for name in ("stage", "kind", "customer_sees")
                if str(getattr(reported, name)) != str(getattr(ev, name))
            ]
            if diffs:
                self.add(EVENT, "different", f"{_describe(ev)} reached {EVENT} with {'; '.join(diffs)}", ev)
        for event_id, got in seen.items():
            if event_id not in self.stored:
                reported = got[0].event
                assert reported is not None
                self.add(
                    EVENT,
                    "unexpected",
                    f"{EVENT} was called with {_describe(reported)}, which is not in the demand's journey "
                    "(called before a rollback, or for an event never stored)",
                    reported,
                )

    def states(self) -> None:
        received = self.of(RECEIVED)
        changes = self.of(STATE)
        if received:
            state, where = received[0].state, "when it was received"
        elif changes and changes[0].previous is not None:
            state, where = changes[0].previous, "in the first state change (no receipt was reported)"
        else:
            state, where = self.demand.state, "(nothing was reported)"
        chain = " -> ".join([str(state), *(str(c.state) for c in changes)])
        seen = f"; the hooks saw: {chain}"
        for i, c in enumerate(changes, 1):
            if c.previous != state:
                self.add(
                    STATE,
                    "gap",
                    f"{STATE} call {i} of {len(changes)} reported a change from {c.previous} to {c.state}, but "
                    f"the hooks had last been told the demand was {state} ({where}): the change from {state} to "
                    f"{c.previous} was never reported{seen}",
                )
            if c.state == c.previous:
                self.add(
                    STATE,
                    "unexpected",
                    f"{STATE} call {i} of {len(changes)} reported a change from {c.previous} to {c.state}, "
                    f"which is no change{seen}",
                )
            state, where = c.state, f"after {STATE} call {i}"
        if state != self.demand.state:
            self.add(
                STATE,
                "gap",
                f"the demand is {self.demand.state} now, but the hooks were last told it was {state} ({where}): "
                f"the change from {state} to {self.demand.state} was never reported to {STATE}{seen}",
            )

    def stages(self) -> None:
        seen = self.by_event(STAGE)
        before: JourneyEvent | None = None
        for ev in self.journey:
            got = seen.get(ev.id, [])
            enters = before is None or ev.stage != before.stage
            if enters and not got:
                came_from = f"from {before.stage}, event {before.id}" if before is not None else "its first event"
                self.add(
                    STAGE,
                    "missing",
                    f"{_describe(ev)} entered stage {ev.stage} ({came_from}), but {STAGE} was not called for it",
                    ev,
                )
            elif enters and len(got) > 1:
                self.add(
                    STAGE,
                    "doubled",
                    f"{STAGE} was called {len(got)} times for {_describe(ev)}; once is the contract",
                    ev,
                )
            elif not enters and got:
                assert before is not None
                self.add(
                    STAGE,
                    "unexpected",
                    f"{STAGE} was called for {_describe(ev)}, but the event before it ({before.id}) was at stage "
                    f"{before.stage} already: no stage was entered",
                    ev,
                )
            before = ev
        for event_id, got in seen.items():
            if event_id not in self.stored:
                reported = got[0].event
                assert reported is not None
                self.add(
                    STAGE,
                    "unexpected",
                    f"{STAGE} was called with {_describe(reported)}, which is not in the demand's journey",
                    reported,
                )


__all__ = [
    "OBSERVED_HOOKS",
    "HookCall",
    "HookLog",
    "HookProblem",
    "HookRecorder",
    "ObserverContract",
    "SeenEvent",
]
