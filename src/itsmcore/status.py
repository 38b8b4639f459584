"""The one customer-facing status model: what a customer is told about where their demand stands.

Every page, message, API answer and command that tells a customer where a demand stands
uses :func:`customer_status`, so no two channels can contradict each other or the state
(the "seamless" and "transparent" attributes). Agents and reports keep the internal
state and stage names; customers never see them.
"""

from __future__ import annotations

from datetime import datetime

import attrs

from .i18n import N_, Translator, translator
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
    Stage.DISCOVER: N_("You found us"),
    Stage.ENGAGE: N_("You asked"),
    Stage.ACKNOWLEDGE: N_("We confirmed"),
    Stage.FULFIL: N_("In progress"),
    # "Done" would be untrue on a rejection or a reopened demand, which also sit here
    Stage.OUTCOME: N_("Result"),
    # a follow-up asking "is it working?" sits here too, so not "You confirmed"
    Stage.CONFIRM: N_("Checking it works"),
    Stage.FEEDBACK: N_("Your feedback"),
    Stage.SHARE: N_("Shared"),
}
#: Who or what a demand may wait for, as the desk itself words it (others are the plan's own words).
_WAITING_WORDS = (N_("your confirmation"), N_("a call from the service desk"), N_("your manager"))


def stage_label(stage: Stage | str, tr: Translator | None = None) -> str:
    """The plain-language name of a journey stage, for customers (in ``tr``'s language; English by default)."""
    return (tr or translator())(_STAGE_LABELS[Stage(stage)])


def customer_status(
    demand: Demand,
    *,
    service: Service | None = None,
    now: datetime | None = None,
    known_outage: Announcement | None = None,
    waiting_since: datetime | None = None,
    task: Task | None = None,
    target: ServiceTarget | None = None,
    tr: Translator | None = None,
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
    :param tr: the customer's :class:`~itsmcore.i18n.Translator` (their language); English by default.
    """
    tr = tr or translator()
    state = demand.state
    waiting = tr(demand.waiting_for) if demand.waiting_for else demand.waiting_for
    outage = known_outage if known_outage is not None and known_outage.state == AnnouncementState.OPEN else None
    expected = _aim(demand, target, now, tr) or _expected(demand, service, tr)
    if state == S.STUCK:
        # waiting_for names the failed step here: internal, so not repeated to the customer
        return CustomerStatus(
            sentence=tr("We hit a problem on our side. A person from the service desk is on it."),
            label=tr("With the service desk"),
        )
    if state == S.AWAITING_APPROVAL:
        ago = _ago(waiting_since, now, tr)
        return CustomerStatus(
            sentence=tr("Waiting for {who} to approve{ago}.", who=waiting, ago=ago)
            if waiting
            else tr("Waiting for approval{ago}.", ago=ago),
            label=tr("Waiting for approval"),
            expected=expected,
        )
    if state == S.IN_FULFILMENT and task is not None and task.state != TaskState.DONE:
        return _tracking(demand, task, now, expected, tr)
    if state in (S.NEW, S.IN_PROGRESS, S.IN_FULFILMENT):
        if outage is not None and state != S.IN_FULFILMENT:  # an outage is linked to reports, not requests
            meanwhile = (
                tr(" Meanwhile: {workaround}", workaround=_full_stop(outage.workaround)) if outage.workaround else ""
            )
            return CustomerStatus(
                sentence=tr(
                    "We know about this: {title}.{meanwhile} We will tell you when it is fixed.",
                    title=outage.title,
                    meanwhile=meanwhile,
                ),
                label=tr("Known problem"),
                expected=tr("We expect it fixed {estimate}.", estimate=outage.estimate) if outage.estimate else None,
            )
        if waiting:
            mine = _is_customer(demand.waiting_for or "")
            return CustomerStatus(
                sentence=tr("Waiting for {who}{ago}.", who=waiting, ago=_ago(waiting_since, now, tr)),
                label=tr("Waiting for you") if mine else tr("Waiting"),
                expected=expected,
                needs_customer=mine,
            )
        return CustomerStatus(
            sentence=_working(demand, service, tr), label=_working_label(demand, tr), expected=expected
        )
    if state in (S.FULFILLED, S.RESOLVED, S.ANSWERED):
        return _outcome(demand, service, tr)
    if state == S.CLOSED:
        sentence, label = {
            DemandKind.VALUE: (N_("Done and closed. Thank you."), N_("Done")),
            DemandKind.FAILURE: (N_("Fixed and closed. Thank you."), N_("Fixed")),
            DemandKind.INFORMATION: (N_("Answered and closed. Thank you."), N_("Answered")),
        }[demand.kind]
        return CustomerStatus(sentence=tr(sentence), label=tr(label), finished=True)
    if state == S.REJECTED:
        return CustomerStatus(
            sentence=tr("It was not approved, so we have not set it up."), label=tr("Not approved"), finished=True
        )
    return CustomerStatus(sentence=tr("Cancelled. Nothing more will happen."), label=tr("Cancelled"), finished=True)


def acknowledgement(
    demand: Demand, status: CustomerStatus, *, service: Service | None = None, tr: Translator | None = None
) -> str:
    """The thank-you for a demand, then where it stands: the intake's answer, its message and the thank-you page.

    Built from ``status`` rather than from what intake meant to do, so the thanks and the
    status shown beside it can never disagree. ``status`` must be in ``tr``'s language.
    """
    tr = tr or translator()
    if demand.kind == DemandKind.VALUE:
        if service is not None:
            return tr(
                "Thanks, we have your request for {service} (#{id}). {status}",
                service=service.name,
                id=demand.id,
                status=status.text,
            )
        return tr("Thanks, we have your request (#{id}). {status}", id=demand.id, status=status.text)
    if demand.kind == DemandKind.FAILURE:
        return tr("Thanks, we have your report (#{id}). {status}", id=demand.id, status=status.text)
    return tr("Thanks, we have your question (#{id}). {status}", id=demand.id, status=status.text)


def _working(demand: Demand, service: Service | None, tr: Translator) -> str:
    """The sentence for a demand somebody (or the plan) is working on, nobody waited for."""
    if demand.kind == DemandKind.VALUE:
        if demand.state == S.NEW:
            return tr("Someone from IT will pick it up shortly.")
        if service is not None and service.plan:
            # until the first step reports, the plan may yet stop to ask for approval
            return tr("We are starting on it.") if demand.stage == Stage.ACKNOWLEDGE else tr("We are setting it up.")
        return tr("Someone from IT is setting it up.")
    if demand.kind == DemandKind.FAILURE:
        if demand.state == S.NEW:
            return tr(
                "Someone from the service desk will look at it shortly. We will keep you posted until it is fixed."
            )
        return tr("Someone from the service desk is working on it. We will keep you posted until it is fixed.")
    if demand.state == S.NEW:
        return tr("Someone from IT will answer you shortly.")
    return tr("Someone from the service desk is finding the answer.")


def _working_label(demand: Demand, tr: Translator) -> str:
    return tr("Received") if demand.state == S.NEW else tr("In progress")


def _outcome(demand: Demand, service: Service | None, tr: Translator) -> CustomerStatus:
    """IT thinks it has delivered; the customer is asked whether it works for them."""
    waiting = demand.waiting_for
    nxt = tr(" Next: {what}.", what=tr(waiting)) if waiting and not _is_customer(waiting) else ""
    if demand.state == S.FULFILLED:
        return CustomerStatus(
            sentence=tr(
                "Done: {service} is ready for you. Please tell us if it works for you.{next}",
                service=service.name,
                next=nxt,
            )
            if service is not None
            else tr("Done: It is ready for you. Please tell us if it works for you.{next}", next=nxt),
            label=tr("Done"),
            finished=True,
            needs_customer=True,
        )
    if demand.state == S.RESOLVED:
        return CustomerStatus(
            sentence=tr("Fixed, please tell us if it works for you.{next}", next=nxt),
            label=tr("Fixed — please confirm"),
            finished=True,
            needs_customer=True,
        )
    return CustomerStatus(
        sentence=tr("Answered. Please tell us if the answer helps.{next}", next=nxt),
        label=tr("Answered"),
        finished=True,
        needs_customer=True,
    )


def _tracking(demand: Demand, task: Task, now: datetime | None, expected: str | None, tr: Translator) -> CustomerStatus:
    """A request waiting on people: the latest milestone and the expected day, else who it waits for."""
    when = _task_expected(task, tr)
    latest = task.latest
    if latest is not None:
        day = _day(latest.at, now, tr)
        return CustomerStatus(
            sentence=tr("On its way: {milestone} {day}, expected {when}.", milestone=latest.name, day=day, when=when)
            if when
            else tr("On its way: {milestone} {day}.", milestone=latest.name, day=day),
            label=tr("On its way"),
        )
    waiting = tr(demand.waiting_for) if demand.waiting_for else task.title[:1].lower() + task.title[1:]
    return CustomerStatus(
        sentence=tr("Waiting for {who}.", who=waiting),
        label=tr("In progress"),
        expected=tr("Expected {when}.", when=when) if when else expected,
    )


def _task_expected(task: Task, tr: Translator) -> str | None:
    """ "by Thursday 4 December" when the task's expectation is a day, else its own words."""
    if task.expected_at is not None:
        return tr("by {day}", day=tr.date(task.expected_at))
    text = task.expected.strip()
    if not text:
        return None
    return tr("within {time}", time=text) if text[0].isdigit() else text


def _day(at: datetime, now: datetime | None, tr: Translator) -> str:
    """ "today", "yesterday" or "on Tuesday 2 December": when a milestone was reached."""
    if now is not None:
        days = (now.date() - at.date()).days
        if days == 0:
            return tr("today")
        if days == 1:
            return tr("yesterday")
    return tr("on {day}", day=tr.date(at))


def _expected(demand: Demand, service: Service | None, tr: Translator) -> str | None:
    """The service's promise, only for the kind of demand it was made for."""
    if service is None or not service.expected or service.kind != demand.kind:
        return None
    return tr("It usually takes {time}.", time=service.expected)


_AIM = {
    DemandKind.FAILURE: N_("We aim to fix this by {when}."),
    DemandKind.VALUE: N_("We aim to have it done by {when}."),
    DemandKind.INFORMATION: N_("We aim to answer you by {when}."),
}


def _aim(demand: Demand, target: ServiceTarget | None, now: datetime | None, tr: Translator) -> str | None:
    """ "We aim to fix this by 3 pm tomorrow.": the service level's target, while it can still be kept."""
    if target is None or target.due_at is None or target.breached or target.paused:
        return None
    if now is not None and target.due_at <= now:
        return None
    from zoneinfo import ZoneInfo

    zone = ZoneInfo(target.timezone)
    when = _when(target.due_at.astimezone(zone), now.astimezone(zone) if now else None, tr)
    return tr(_AIM[demand.kind], when=when)


def _when(at: datetime, now: datetime | None, tr: Translator) -> str:
    """ "3 pm today", "9:30 am tomorrow", "5 pm on Friday", "noon on Monday 7 December"."""
    clock = tr.clock(at)
    if now is not None:
        days = (at.date() - now.date()).days
        if days == 0:
            return tr("{time} today", time=clock)
        if days == 1:
            return tr("{time} tomorrow", time=clock)
        if 1 < days < 7:
            return tr("{time} on {weekday}", time=clock, weekday=tr.date(at).split(" ")[0])
    return tr("{time} on {day}", time=clock, day=tr.date(at))


def _full_stop(text: str) -> str:
    """``text`` ending as a sentence does, so the next sentence does not run into it."""
    text = text.strip()
    return text if text.endswith((".", "!", "?")) else f"{text}."


def _is_customer(waiting_for: str) -> bool:
    return waiting_for.startswith("your ")


def _ago(since: datetime | None, now: datetime | None, tr: Translator) -> str:
    """ ", asked 2 hours ago", or nothing when either time is unknown."""
    if since is None or now is None:
        return ""
    return tr(", asked {ago}", ago=tr.ago(now - since))
