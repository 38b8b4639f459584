"""The one customer-facing status model: what a customer is told about where their demand stands.

Every page, message, API answer and command that tells a customer where a demand stands
uses :func:`customer_status`, so no two channels can contradict each other or the state
(the "seamless" and "transparent" attributes). Agents and reports keep the internal
state and stage names; customers never see them.
"""

from __future__ import annotations

from datetime import datetime

import attrs

from .model import (
    Announcement,
    AnnouncementState,
    Demand,
    DemandKind,
    DemandState,
    Service,
    ServiceTarget,
    Stage,
    Task,
    TaskState,
)

S = DemandState


@attrs.frozen(kw_only=True)
class CustomerStatus:
    """Where a demand stands, in the customer's words.

    ``sentence`` is what they read; ``label`` a short plain tag for lists; ``expected``
    when it should be done, if the service says (``None`` once it is done or when
    nobody can promise); ``finished`` whether the outcome has been reached or the
    demand stopped; ``needs_customer`` whether the next move is theirs.
    """

    sentence: str
    label: str
    expected: str | None = None
    finished: bool = False
    needs_customer: bool = False

    @property
    def text(self) -> str:
        """The sentence followed by the expectation: what a message or page says in full."""
        return f"{self.sentence} {self.expected}" if self.expected else self.sentence


#: Journey stages as customers see them; the internal names stay for agents and reports.
_STAGE_LABELS = {
    Stage.DISCOVER: "You found us",
    Stage.ENGAGE: "You asked",
    Stage.ACKNOWLEDGE: "We confirmed",
    Stage.FULFIL: "In progress",
    # "Done" would be untrue on a rejection or a reopened demand, which also sit here
    Stage.OUTCOME: "Result",
    # a follow-up asking "is it working?" sits here too, so not "You confirmed"
    Stage.CONFIRM: "Checking it works",
    Stage.FEEDBACK: "Your feedback",
    Stage.SHARE: "Shared",
}


def stage_label(stage: Stage | str) -> str:
    """The plain-language name of a journey stage, for customers."""
    return _STAGE_LABELS[Stage(stage)]


def customer_status(
    demand: Demand,
    *,
    service: Service | None = None,
    now: datetime | None = None,
    known_outage: Announcement | None = None,
    waiting_since: datetime | None = None,
    task: Task | None = None,
    target: ServiceTarget | None = None,
) -> CustomerStatus:
    """Where ``demand`` stands, in words that never contradict its state.

    :param demand: the demand as the store holds it now.
    :param service: its catalog service: its ``expected`` text and whether it has a plan.
    :param now: the desk's clock, to say how long ago the wait began.
    :param known_outage: the announcement the demand is linked to; only an open one is
        mentioned ("We know about this").
    :param waiting_since: when the demand began waiting for ``waiting_for``
        ("asked 2 hours ago"); without it (or ``now``) the sentence names no time.
    :param task: the task of the plan the demand waits on, if any: its latest milestone and
        its expected day say where the thing is ("On its way: dispatched today, expected by
        Thursday 4 December"), the way a parcel is tracked.
    :param target: what the demand's service level promises (``itsm_service_target``):
        while its clock runs and the target has not passed, the expectation is the target,
        told in its calendar's time zone ("We aim to fix this by 3 pm tomorrow.") instead
        of the service's usual time; nothing is promised while it is paused or once missed.
    """
    state = demand.state
    waiting = demand.waiting_for
    outage = known_outage if known_outage is not None and known_outage.state == AnnouncementState.OPEN else None
    expected = _aim(demand, target, now) or _expected(demand, service)
    if state == S.STUCK:
        # waiting_for names the failed step here: internal, so not repeated to the customer
        return CustomerStatus(
            sentence="We hit a problem on our side. A person from the service desk is on it.",
            label="With the service desk",
        )
    if state == S.AWAITING_APPROVAL:
        who = f"Waiting for {waiting} to approve" if waiting else "Waiting for approval"
        return CustomerStatus(
            sentence=who + _ago(waiting_since, now) + ".", label="Waiting for approval", expected=expected
        )
    if state == S.IN_FULFILMENT and task is not None and task.state != TaskState.DONE:
        return _tracking(demand, task, now, expected)
    if state in (S.NEW, S.IN_PROGRESS, S.IN_FULFILMENT):
        if outage is not None and state != S.IN_FULFILMENT:  # an outage is linked to reports, not requests
            meanwhile = f" Meanwhile: {_full_stop(outage.workaround)}" if outage.workaround else ""
            return CustomerStatus(
                sentence=f"We know about this: {outage.title}.{meanwhile} We will tell you when it is fixed.",
                label="Known problem",
                expected=f"We expect it fixed {outage.estimate}." if outage.estimate else None,
            )
        if waiting:
            mine = _is_customer(waiting)
            return CustomerStatus(
                sentence=f"Waiting for {waiting}{_ago(waiting_since, now)}.",
                label="Waiting for you" if mine else "Waiting",
                expected=expected,
                needs_customer=mine,
            )
        return CustomerStatus(sentence=_working(demand, service), label=_working_label(demand), expected=expected)
    if state in (S.FULFILLED, S.RESOLVED, S.ANSWERED):
        return _outcome(demand, service)
    if state == S.CLOSED:
        closed = {DemandKind.VALUE: "Done", DemandKind.FAILURE: "Fixed", DemandKind.INFORMATION: "Answered"}
        return CustomerStatus(
            sentence=f"{closed[demand.kind]} and closed. Thank you.", label=closed[demand.kind], finished=True
        )
    if state == S.REJECTED:
        return CustomerStatus(
            sentence="It was not approved, so we have not set it up.", label="Not approved", finished=True
        )
    return CustomerStatus(sentence="Cancelled. Nothing more will happen.", label="Cancelled", finished=True)


def acknowledgement(demand: Demand, status: CustomerStatus, *, service: Service | None = None) -> str:
    """The thank-you for a demand, then where it stands: the intake's answer, its message and the thank-you page.

    Built from ``status`` rather than from what intake meant to do, so the thanks and the
    status shown beside it can never disagree.
    """
    if demand.kind == DemandKind.VALUE:
        what = f"request for {service.name}" if service is not None else "request"
    else:
        what = "report" if demand.kind == DemandKind.FAILURE else "question"
    return f"Thanks, we have your {what} (#{demand.id}). {status.text}"


def _working(demand: Demand, service: Service | None) -> str:
    """The sentence for a demand somebody (or the plan) is working on, nobody waited for."""
    if demand.kind == DemandKind.VALUE:
        if demand.state == S.NEW:
            return "Someone from IT will pick it up shortly."
        if service is not None and service.plan:
            # until the first step reports, the plan may yet stop to ask for approval
            return "We are starting on it." if demand.stage == Stage.ACKNOWLEDGE else "We are setting it up."
        return "Someone from IT is setting it up."
    if demand.kind == DemandKind.FAILURE:
        if demand.state == S.NEW:
            return "Someone from the service desk will look at it shortly. We will keep you posted until it is fixed."
        return "Someone from the service desk is working on it. We will keep you posted until it is fixed."
    if demand.state == S.NEW:
        return "Someone from IT will answer you shortly."
    return "Someone from the service desk is finding the answer."


def _working_label(demand: Demand) -> str:
    return "Received" if demand.state == S.NEW else "In progress"


def _outcome(demand: Demand, service: Service | None) -> CustomerStatus:
    """IT thinks it has delivered; the customer is asked whether it works for them."""
    waiting = demand.waiting_for
    nxt = f" Next: {waiting}." if waiting and not _is_customer(waiting) else ""
    if demand.state == S.FULFILLED:
        what = f"{service.name} is ready for you" if service is not None else "It is ready for you"
        return CustomerStatus(
            sentence=f"Done: {what}. Please tell us if it works for you.{nxt}",
            label="Done",
            finished=True,
            needs_customer=True,
        )
    if demand.state == S.RESOLVED:
        return CustomerStatus(
            sentence=f"Fixed, please tell us if it works for you.{nxt}",
            label="Fixed — please confirm",
            finished=True,
            needs_customer=True,
        )
    return CustomerStatus(
        sentence=f"Answered. Please tell us if the answer helps.{nxt}",
        label="Answered",
        finished=True,
        needs_customer=True,
    )


def _tracking(demand: Demand, task: Task, now: datetime | None, expected: str | None) -> CustomerStatus:
    """A request waiting on people: the latest milestone and the expected day, else who it waits for."""
    when = _task_expected(task)
    latest = task.latest
    if latest is not None:
        by = f", expected {when}" if when else ""
        return CustomerStatus(sentence=f"On its way: {latest.name} {_day(latest.at, now)}{by}.", label="On its way")
    waiting = demand.waiting_for or task.title[:1].lower() + task.title[1:]
    return CustomerStatus(
        sentence=f"Waiting for {waiting}.",
        label="In progress",
        expected=f"Expected {when}." if when else expected,
    )


def _task_expected(task: Task) -> str | None:
    """ "by Thursday 4 December" when the task's expectation is a day, else its own words."""
    if task.expected_at is not None:
        return f"by {_date(task.expected_at)}"
    text = task.expected.strip()
    if not text:
        return None
    return f"within {text}" if text[0].isdigit() else text


def _day(at: datetime, now: datetime | None) -> str:
    """ "today", "yesterday" or "on Tuesday 2 December": when a milestone was reached."""
    if now is not None:
        days = (now.date() - at.date()).days
        if days == 0:
            return "today"
        if days == 1:
            return "yesterday"
    return f"on {_date(at)}"


def _date(at: datetime) -> str:
    return f"{at:%A} {at.day} {at:%B}"


def _expected(demand: Demand, service: Service | None) -> str | None:
    """The service's promise, only for the kind of demand it was made for."""
    if service is None or not service.expected or service.kind != demand.kind:
        return None
    return f"It usually takes {service.expected}."


_AIM = {
    DemandKind.FAILURE: "We aim to fix this",
    DemandKind.VALUE: "We aim to have it done",
    DemandKind.INFORMATION: "We aim to answer you",
}


def _aim(demand: Demand, target: ServiceTarget | None, now: datetime | None) -> str | None:
    """ "We aim to fix this by 3 pm tomorrow.": the service level's target, while it can still be kept."""
    if target is None or target.due_at is None or target.breached or target.paused:
        return None
    if now is not None and target.due_at <= now:
        return None
    from zoneinfo import ZoneInfo

    zone = ZoneInfo(target.timezone)
    return f"{_AIM[demand.kind]} by {_when(target.due_at.astimezone(zone), now.astimezone(zone) if now else None)}."


def _when(at: datetime, now: datetime | None) -> str:
    """ "3 pm today", "9:30 am tomorrow", "5 pm on Friday", "noon on Monday 7 December"."""
    hour = at.hour % 12 or 12
    clock = (
        "noon"
        if (at.hour, at.minute) == (12, 0)
        else f"{hour}{f':{at.minute:02d}' if at.minute else ''} {'am' if at.hour < 12 else 'pm'}"
    )
    if now is not None:
        days = (at.date() - now.date()).days
        if days == 0:
            return f"{clock} today"
        if days == 1:
            return f"{clock} tomorrow"
        if 1 < days < 7:
            return f"{clock} on {at:%A}"
    return f"{clock} on {_date(at)}"


def _full_stop(text: str) -> str:
    """``text`` ending as a sentence does, so the next sentence does not run into it."""
    text = text.strip()
    return text if text.endswith((".", "!", "?")) else f"{text}."


def _is_customer(waiting_for: str) -> bool:
    return waiting_for.startswith("your ")


def _ago(since: datetime | None, now: datetime | None) -> str:
    """ ", asked 2 hours ago", or nothing when either time is unknown."""
    if since is None or now is None:
        return ""
    minutes = int((now - since).total_seconds() // 60)
    if minutes < 1:
        return ", asked just now"
    if minutes < 60:
        return f", asked {_count(minutes, 'minute')} ago"
    if minutes < 48 * 60:
        return f", asked {_count(minutes // 60, 'hour')} ago"
    return f", asked {_count(minutes // (24 * 60), 'day')} ago"


def _count(n: int, unit: str) -> str:
    return f"{n} {unit}" if n == 1 else f"{n} {unit}s"
