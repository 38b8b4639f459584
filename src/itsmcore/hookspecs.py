"""The hook specifications: the contract between itsmcore and its plugins.

Every hook a plugin may implement is here, grouped by family, each with the moment it
is called, its arguments, what a return value means and whether the first non-``None``
result wins. Implement a hook with ``@itsmcore.hookimpl`` and a function of the same
name taking any subset of the arguments (never with default values).

Observer hooks (the journey family) are called one implementation at a time: an
implementation that raises is recorded against the demand with the plugin's name and
the others still run, so no plugin can lose a demand. For that reason wrappers
(``hookwrapper=True`` or ``wrapper=True``) are refused when the plugin is registered,
on every ``itsm_`` hook: a wrapper could replace or swallow the isolated
implementations' results, or raise around them. Implement the hook itself; to watch
hook calls (timing, tracing), use pluggy's ``pm.add_hookcall_monitoring`` or
``pm.enable_tracing``, which see every hook call, each implementation and the result.

A plugin module declares the contract it was written against with a module-level
``ITSM_CONTRACT = "1.0"``; the plugin manager refuses a plugin whose major version
differs from :data:`CONTRACT_VERSION` or whose minor version is newer.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING

import pluggy

if TYPE_CHECKING:
    import click

    from .components import (
        ActionComponent,
        Answer,
        ChannelComponent,
        Classification,
        DirectoryComponent,
        EligibilityDecision,
        Intake,
        JobHandlerComponent,
        RunnerComponent,
        SurveyComponent,
    )
    from .desk import Desk
    from .model import (
        Announcement,
        Assignment,
        Customer,
        Demand,
        DemandState,
        JourneyEvent,
        Prioritisation,
        Relationship,
        Service,
        ServiceTarget,
        SurveyResponse,
    )
    from .model.job import Job

#: The version of this contract. Minor versions add hooks or arguments; a major version
#: removes or changes them. Plugins declare ``ITSM_CONTRACT = "<major>.<minor>"``.
CONTRACT_VERSION = "1.3"

#: Hooks on their way out: name -> what to use instead. A deprecated hook keeps working
#: for the rest of its major contract version; its spec carries pluggy's
#: ``warn_on_impl`` so each plugin still implementing it is named in a warning.
DEPRECATED_HOOKS: Mapping[str, str] = {}

hookspec = pluggy.HookspecMarker("itsm")

# ---------------------------------------------------------------------------
# Registration hooks: return component records the deployment config can name.
# Called once when a deployment is opened; the results are cached.
# ---------------------------------------------------------------------------


@hookspec
def itsm_channels() -> Iterable[ChannelComponent]:
    """Register channels: touchpoints that deliver messages to customers.

    Called once per deployment. Each record's ``name`` is what ``use = "..."`` selects
    in a ``[channels.NAME]`` table; ``settings`` is the attrs class built from the rest
    of that table. Two plugins registering one name is a load error naming both.

    :return: an iterable of :class:`~itsmcore.components.ChannelComponent`.

    Example::

        @hookimpl
        def itsm_channels():
            return [ChannelComponent(name="teams", factory=TeamsChannel, settings=TeamsSettings,
                                     description="Messages to Microsoft Teams chats")]
    """
    raise NotImplementedError


@hookspec
def itsm_directories() -> Iterable[DirectoryComponent]:
    """Register directory backends: who customers are and how they sign in.

    Called once per deployment; selected by ``[directory.NAME] use = "..."``.

    :return: an iterable of :class:`~itsmcore.components.DirectoryComponent`.

    Example::

        @hookimpl
        def itsm_directories():
            return [DirectoryComponent(name="ldap", factory=LdapDirectory, settings=LdapSettings)]
    """
    raise NotImplementedError


@hookspec
def itsm_fulfilment_actions() -> Iterable[ActionComponent]:
    """Register fulfilment actions: automated steps a service's plan can name.

    Called once per deployment. A plan step ``{ action = "http.create_account", ... }``
    runs the record of that ``name``, or an ``[actions.NAME]`` table that uses it (the
    rule, once: :ref:`plan-action`); the other keys of the step are built into the
    record's ``params`` class and validated at ``itsm check``.

    :return: an iterable of :class:`~itsmcore.components.ActionComponent`.

    Example::

        @hookimpl
        def itsm_fulfilment_actions():
            return [ActionComponent(name="ad.add_to_group", factory=AddToGroup, params=GroupStep)]
    """
    raise NotImplementedError


@hookspec
def itsm_survey_methods() -> Iterable[SurveyComponent]:
    """Register survey methods (NPS, CSAT, CES, or a vendor's own).

    Called once per deployment; the builtin plugin registers ``nps``, ``csat`` and ``ces``.

    :return: an iterable of :class:`~itsmcore.components.SurveyComponent`.
    """
    raise NotImplementedError


@hookspec
def itsm_job_runners() -> Iterable[RunnerComponent]:
    """Register job runners: what executes the durable jobs of fulfilment and notification.

    Called once per deployment; ``[runner] use = "..."`` selects one, ``inline`` (run in
    the submitting process right after commit) by default.

    :return: an iterable of :class:`~itsmcore.components.RunnerComponent`.
    """
    raise NotImplementedError


@hookspec
def itsm_job_handlers() -> Iterable[JobHandlerComponent]:
    """Register a plugin's own kinds of durable job (a webhook delivery, a sync to a mirror).

    Called once per deployment. Each record's ``name`` is a job action; its ``factory``
    builds a :class:`~itsmcore.components.JobHandler` whose ``run(job, desk)`` does one
    job. Queue a job with :meth:`~itsmcore.desk.Desk.queue_job` (in your own transaction
    with ``conn``, then :meth:`~itsmcore.desk.Desk.wake_jobs` after commit): it goes
    through the same outbox as fulfilment steps and notifications, so it is durable,
    claimed by one runner at a time, retried with backoff (or after a
    :class:`~itsmcore.errors.TemporaryFailure`'s ``retry_after``), dead after its
    ``max_attempts`` (``itsm jobs list --state dead``, ``itsm jobs retry``), and
    ``itsm_job_finished`` is called when it ends. Such jobs belong to no demand's plan:
    ending one, done or dead, changes no demand. A record's ``sandbox`` (a local stand-in
    for ``itsm demo``) is started when the config has its ``config_table``.

    :return: an iterable of :class:`~itsmcore.components.JobHandlerComponent`.

    Example::

        @hookimpl
        def itsm_job_handlers():
            return [JobHandlerComponent(name="mirror.push", factory=lambda _s, _c: MirrorPush(),
                                        max_attempts=8)]

    .. versionadded:: 1.2
    """
    raise NotImplementedError


@hookspec
def itsm_register_commands(cli: click.Group) -> None:
    """Add commands to the ``itsm`` command line (the older way; prefer entry points).

    Prefer declaring each command as an entry point in the group ``itsm.commands`` of the
    plugin's distribution (``serve = "my_plugin.commands:serve"``): ``itsm --help`` and
    shell completion then list it without importing the plugin, reading its one-line help
    from the source, and the plugin is imported only when the command runs.

    This hook still works: it is called, with the top-level click group, when a command is
    asked for that neither the core nor an entry point provides, so the commands it adds
    run when typed. Finding them means importing every plugin, which ``--help`` does not
    do, so they are not listed there.

    :param cli: the ``itsm`` click group; call ``cli.add_command(...)`` or decorate.
    :return: ignored.

    Example::

        @hookimpl
        def itsm_register_commands(cli):
            @cli.group()
            def pigeon():
                "Pigeon channel: train and release."
    """


# ---------------------------------------------------------------------------
# Journey hooks: called by the desk as demands move. Observers must not raise;
# if one does, the error is recorded against the demand, naming the plugin.
# ---------------------------------------------------------------------------


@hookspec(firstresult=True)
def itsm_classify(desk: Desk, intake: Intake) -> Classification | None:
    """Decide the kind, service, priority or team of a demand as it arrives.

    Called before the demand is written, for every demand. The first non-``None``
    result wins (firstresult); its ``None`` fields leave the intake's own values alone.
    The builtin classifier runs last (``trylast``), so any plugin can take precedence.

    :param desk: the deployment's desk.
    :param intake: the demand as it arrived (kind may be ``None`` for email).
    :return: a :class:`~itsmcore.components.Classification`, or ``None`` for no opinion.
    """
    raise NotImplementedError


@hookspec
def itsm_check_eligibility(desk: Desk, customer: Customer, service: Service) -> EligibilityDecision | None:
    """Say whether ``customer`` may have ``service``, beyond the service's own rule.

    Called when a catalog search or a request evaluates eligibility, after the rule of
    roles, groups and departments. Any ineligible decision wins; its ``reason`` and
    ``next_step`` are shown to the customer, so write them in plain language.

    :param desk: the deployment's desk.
    :param customer: who is asking.
    :param service: what they ask for.
    :return: an :class:`~itsmcore.components.EligibilityDecision`, or ``None`` for no opinion.
    """
    raise NotImplementedError


@hookspec
def itsm_demand_received(desk: Desk, demand: Demand) -> None:
    """A demand was durably written (with its first journey events and jobs).

    Called once per demand, after the commit, before its jobs run inline.

    :param desk: the deployment's desk.
    :param demand: the demand as stored.
    :return: ignored.
    """
    raise NotImplementedError


@hookspec
def itsm_stage_entered(desk: Desk, demand: Demand, event: JourneyEvent) -> None:
    """A demand's journey entered a new stage.

    Called once for each journey event that moved the demand into another stage (a
    new demand's first event enters its stage), right after that event's
    ``itsm_event_recorded``, after commit. An event recorded where the demand already
    is (a notification, a comment) enters nothing.

    :param desk: the deployment's desk.
    :param demand: the demand as that event left it (``demand.stage == event.stage``).
    :param event: the journey event that entered the stage.
    :return: ignored.
    """
    raise NotImplementedError


@hookspec
def itsm_event_recorded(desk: Desk, demand: Demand, event: JourneyEvent) -> None:
    """Any journey event was recorded on a demand.

    Called exactly once for every row of the demand's journey, whatever wrote it:
    intake, comments, notifications sent, plan steps and outcomes, approvals,
    rejections, retries, dead jobs, transitions, announcement resolution, confirmations,
    follow-ups and survey answers. Called after the transaction that wrote the event
    committed (never for one rolled back), in the order the events were written; an
    event taken in twice with the same ``external_ref`` is reported once.
    :class:`itsmcore.testing.ObserverContract` checks this for a deployment.

    :param desk: the deployment's desk.
    :param demand: the demand as the event left it.
    :param event: the event as stored (with its ``id``). ``event.actor`` is the role
        (``customer``, ``agent``, ``system``, a plugin's or an API token's name);
        ``event.by`` the person behind an agent's or an integration's event (an
        :class:`~itsmcore.model.Identity`: ``login`` and ``name``), ``None`` for the
        customer's and the system's own; ``event.on_behalf_of`` the person ``by`` acted
        for (an approver whose answer an agent records), else ``None``. ``event.who`` puts
        them in words. Implementations written before these fields keep working unchanged.
    :return: ignored.

    .. versionchanged:: 1.1
       The event names the person who acted (``by``) and for whom (``on_behalf_of``).
    """
    raise NotImplementedError


@hookspec
def itsm_demand_state_changed(desk: Desk, demand: Demand, previous: DemandState) -> None:
    """A demand moved along its lifecycle (e.g. ``in_fulfilment`` to ``fulfilled``).

    Called exactly once for every change of a demand's state, whatever made it (an
    agent, a plan step, an approval, an announcement resolved over linked incidents, a
    customer's confirmation), after commit and before the ``itsm_event_recorded`` of the
    event that records the change. Every change was checked against the demand kind's
    lifecycle, so ``previous`` to ``demand.state`` is always an allowed move, and the
    calls for one demand form an unbroken chain from the state it was received in.

    :param desk: the deployment's desk.
    :param demand: the demand in its new state.
    :param previous: the state it left.
    :return: ignored.
    """
    raise NotImplementedError


@hookspec(firstresult=True)
def itsm_answer_query(desk: Desk, demand: Demand) -> Answer | None:
    """Answer an information demand without a person, if you can.

    Called after an information demand is received; the first non-``None`` answer is
    given to the customer and the demand is marked answered by self-service.

    :param desk: the deployment's desk.
    :param demand: the query.
    :return: an :class:`~itsmcore.components.Answer`, or ``None`` to let others try.
    """
    raise NotImplementedError


@hookspec(firstresult=True)
def itsm_authenticate(desk: Desk, login: str, password: str) -> Customer | None:
    """Authenticate a customer by login and password (single sign-on plugins).

    Called before the deployment's directory backends are asked; the first
    non-``None`` customer wins. Return ``None`` to leave it to the directory.

    :param desk: the deployment's desk.
    :param login: what the customer typed as their name.
    :param password: what they typed as their password. Never log it.
    :return: the :class:`~itsmcore.model.Customer`, or ``None``.
    """
    raise NotImplementedError


@hookspec
def itsm_announcement_published(desk: Desk, announcement: Announcement, change: str) -> None:
    """An announcement was opened, updated or resolved.

    Called after commit and after its notification jobs were written.

    :param desk: the deployment's desk.
    :param announcement: the announcement after the change.
    :param change: ``"opened"``, ``"updated"`` or ``"resolved"``.
    :return: ignored.
    """
    raise NotImplementedError


@hookspec
def itsm_customer_affected(desk: Desk, announcement: Announcement, customer: Customer) -> None:
    """A customer said an open announcement affects them ("This affects me").

    :param desk: the deployment's desk.
    :param announcement: the announcement.
    :param customer: who said so.
    :return: ignored.
    """
    raise NotImplementedError


@hookspec
def itsm_survey_answered(desk: Desk, response: SurveyResponse) -> None:
    """A customer answered a survey (the response is already stored and validated).

    :param desk: the deployment's desk.
    :param response: the stored response.
    :return: ignored.
    """
    raise NotImplementedError


@hookspec
def itsm_job_finished(desk: Desk, job: Job) -> None:
    """A durable job ended: ``job.state`` is ``"done"`` or ``"dead"`` (with ``job.error``).

    :param desk: the deployment's desk.
    :param job: the job as stored after it ended.
    :return: ignored.
    """
    raise NotImplementedError


@hookspec
def itsm_desk_opened(desk: Desk) -> None:
    """A deployment's desk was opened: plugins may start background work here.

    :param desk: the deployment's desk.
    :return: ignored.
    """


# ---------------------------------------------------------------------------
# Service operation hooks: priorities and service levels. The builtin plugin
# implements each (trylast), so a vendor's implementation takes precedence.
# ---------------------------------------------------------------------------


@hookspec(firstresult=True)
def itsm_prioritise(desk: Desk, intake: Intake, service: Service | None) -> Prioritisation | None:
    """Decide the priority of a demand as it arrives (from impact and urgency, VIPs, ...).

    Called once per demand at intake, after ``itsm_classify`` and before the demand is
    written, unless the demand was given a priority (by the agent who took it in, or by
    ``itsm_classify``). The first non-``None`` result wins (firstresult). The builtin
    implementation (``trylast``) applies the ``[priorities]`` matrix: the impact is the
    service's, the urgency the customer's role's; without that table it has no opinion.

    An implementation that raises never stops the demand: it is taken in with the default
    priority (3), the failure is kept against the demand (``itsm demand show``) and its
    journey says, behind the scenes, which plugin failed. The priority and its reason are
    recorded on the journey behind the scenes.

    :param desk: the deployment's desk.
    :param intake: the demand as it arrives, its ``kind`` and ``service_key`` decided
        (``intake.customer`` carries the customer's role).
    :param service: the catalog service it is for, or ``None``.
    :return: a :class:`~itsmcore.model.Prioritisation`, or ``None`` to let others decide.

    Example::

        @hookimpl
        def itsm_prioritise(desk, intake, service):
            if intake.customer.role == "trader" and intake.kind == "failure":
                return Prioritisation(priority=1, reason="trading floor incident")
            return None

    .. versionadded:: 1.1
    """
    raise NotImplementedError


@hookspec(firstresult=True)
def itsm_service_target(desk: Desk, demand: Demand) -> ServiceTarget | None:
    """Say when a demand's service level promises its outcome, for the customer's status.

    Called whenever the status of an open demand is composed (a page, a message, the
    CLI): keep it to one indexed read. The first non-``None`` result wins (firstresult).
    The builtin implementation (``trylast``) answers from the clocks it keeps for the
    ``[[service_levels]]`` rules; the status then says "We aim to fix this by 3 pm
    tomorrow" in the calendar's time zone, and says nothing of a target while the clock
    is paused or once it is breached.

    :param desk: the deployment's desk.
    :param demand: the demand as stored now.
    :return: a :class:`~itsmcore.model.ServiceTarget`, or ``None`` for no promise.

    .. versionadded:: 1.1
    """
    raise NotImplementedError


# ---------------------------------------------------------------------------
# Teams and assignment. The builtin plugin implements ``itsm_assign`` (trylast),
# so a vendor's policy takes precedence.
# ---------------------------------------------------------------------------


@hookspec(firstresult=True)
def itsm_assign(desk: Desk, intake: Intake, service: Service | None, priority: int) -> Assignment | None:
    """Decide which team owns a new demand, and which of its agents works on it.

    Called once per demand at intake, after ``itsm_classify`` and ``itsm_prioritise`` and
    before the demand is written, when the deployment has ``[teams.KEY]`` tables. The
    first non-``None`` result wins (firstresult). The builtin implementation (``trylast``)
    takes the service's ``team`` (else ``[assignment] default_team``) and picks an agent by
    the team's policy: ``by_service`` (none: the team's queue), ``round_robin`` or
    ``least_open_work``.

    The result is checked: the team must be a ``[teams.KEY]`` key and the agent one of its
    members (``desk.team_members(team)``). An implementation that raises (whatever the
    others answer), or an assignment that fails the check, never costs the demand: it goes
    to the service's team (else the default team) with no agent, for a person to pick up, the failure is kept against the demand
    (``itsm demand show``) and its journey says which plugin failed. The assignment and
    its reason are recorded on the journey behind the scenes.

    :param desk: the deployment's desk (``desk.teams()``, ``desk.team_members(team)``,
        ``desk.workload(team)`` help a policy decide).
    :param intake: the demand as it arrives, its ``kind`` and ``service_key`` decided.
    :param service: the catalog service it is for, or ``None``.
    :param priority: its priority, 1 (critical) to 4 (low), as decided at intake.
    :return: an :class:`~itsmcore.model.Assignment`, or ``None`` to let others decide.

    Example::

        @hookimpl
        def itsm_assign(desk, intake, service, priority):
            if priority == 1:
                return Assignment(team="major-incidents", agent="oncall", reason="priority 1")
            return None

    .. versionadded:: 1.2
    """
    raise NotImplementedError


# ---------------------------------------------------------------------------
# The CMDB. Relationships come from the config, a relationship file and these hooks.
# ---------------------------------------------------------------------------


@hookspec
def itsm_relationships() -> Iterable[Relationship]:
    """Declare relationships between configuration items, and from items to services.

    For a directory or a vendor's CMDB that knows what runs on what. Called when a desk
    opens and on ``itsm ci sync``, with the config's ``[[relationships]]`` and its
    ``[cmdb] relationships`` file; the results of every implementation are put together.
    A plugin whose source is slow should cache and answer from its cache.

    What it promises: every :class:`~itsmcore.model.Relationship` names a ``ci`` (and a
    ``target``) that one of the deployment's directories returns, or a ``service`` in the
    catalog; the type is a :class:`~itsmcore.model.RelationshipType`. The desk checks each
    one: a relationship naming an unknown item, service or type refuses the whole set
    (:class:`~itsmcore.errors.ConfigError` naming the plugin, ``itsm check`` exits 2), and
    the relationships loaded before stay in the store. An implementation that raises is
    reported and its relationships are left out; the others still load. The store is
    refreshed only when the set changes (a fingerprint of every source).

    :return: an iterable of :class:`~itsmcore.model.Relationship` (``origin`` is set by the desk).

    Example::

        @hookimpl
        def itsm_relationships():
            return [Relationship(ci="crm-app-01", type="runs_on", target="vm-host-07"),
                    Relationship(ci="crm-app-01", type="provides", service="crm")]

    .. versionadded:: 1.3
    """
    raise NotImplementedError
