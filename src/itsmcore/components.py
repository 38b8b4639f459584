"""Component records and the protocols their instances follow.

Registration hooks (``itsm_channels`` and friends) return *records*: frozen attrs
classes naming a component, the factory that builds it and the attrs class of its
settings. The deployment config selects a component with ``use = "name"``; cattrs
builds the settings from the rest of the table, so a vendor's settings get the same
validation and error messages as the core's.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import tempfile
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, Protocol, runtime_checkable

import attrs

from .model import ConfigurationItem, Customer, Demand, Link, Service
from .model._convert import to_tuple

if TYPE_CHECKING:
    from .desk import Desk
    from .model.job import Job


@attrs.frozen
class NoSettings:
    """The settings class of a component that takes none."""


def deployment_secret(path: Path) -> bytes:
    """``ITSM_SECRET`` if set, else the secret kept in ``path`` (created 0600 on first use)."""
    env = os.environ.get("ITSM_SECRET")
    if env:
        return env.encode()
    if not path.exists():
        # written aside, then linked into place: no process ever reads a half-written (empty) secret
        fd, tmp = tempfile.mkstemp(prefix=path.name + ".", dir=path.parent)  # mode 0600
        try:
            with os.fdopen(fd, "w") as f:
                f.write(secrets.token_urlsafe(32))
            os.link(tmp, path)
        except FileExistsError:
            pass  # another process made it first
        finally:
            os.unlink(tmp)
    return path.read_text().strip().encode()


@attrs.frozen(kw_only=True)
class ComponentContext:
    """What a component factory is given besides its settings.

    ``name`` is the component's name in the config (``corp`` in ``[directory.corp]``);
    ``base_dir`` is the directory of the config file, against which relative paths in
    settings are resolved.
    """

    name: str
    deployment: str
    base_dir: Path
    secret_file: str = ".itsm-secret"

    def path(self, value: str | os.PathLike[str]) -> Path:
        """Resolve a path from settings against the config file's directory."""
        p = Path(value)
        return p if p.is_absolute() else self.base_dir / p

    def signing_secret(self) -> bytes:
        """The deployment's signing secret, the one the desk signs links with (for reply tokens)."""
        return deployment_secret(self.path(self.secret_file))

    def secret(self, env: str | None = None, file: str | None = None) -> str | None:
        """Read a secret from an environment variable or a file, never from the config."""
        if env and os.environ.get(env):
            return os.environ[env]
        if file:
            return self.path(file).read_text(encoding="utf-8").strip()
        return None


@attrs.frozen(kw_only=True)
class Component:
    """A named, configurable part a plugin supplies.

    ``factory(settings, context)`` builds the instance; ``settings`` is an attrs class
    cattrs builds from the config table; ``plugin`` is filled in by the plugin manager
    with the name of the plugin that registered the record.

    ``sandbox(settings, context)`` is optional, for demos and trials: it returns a
    context manager that starts a local stand-in for what this component talks to (an
    SMTP sink, an API stand-in, a webhook receiver; on 127.0.0.1 only) and yields
    settings overrides (field name -> value) that point the component at it. The
    deployment applies them with ``attrs.evolve(settings, **overrides)`` before the
    component is built (see ``Deployment.sandboxed``) and stops the stand-in on exit.
    The context manager may also offer ``summary() -> str``, one line saying what the
    stand-in received ("SMTP sink got 7 messages"), which ``itsm demo`` prints, and
    ``demo(desk, say) -> int | None``, a short journey through the stand-in (a customer
    writing in by chat) that ``itsm demo`` runs after its own under the title ``demo_title``,
    showing the journey of the demand id it returns.
    """

    family: ClassVar[str] = "component"
    name: str
    factory: Callable[[Any, ComponentContext], Any]
    settings: type = NoSettings
    description: str = ""
    plugin: str = ""
    sandbox: Callable[[Any, ComponentContext], contextlib.AbstractContextManager[Mapping[str, Any]]] | None = None


@attrs.frozen(kw_only=True)
class ChannelComponent(Component):
    """A touchpoint: builds a :class:`Channel`."""

    family: ClassVar[str] = "channel"


@attrs.frozen(kw_only=True)
class DirectoryComponent(Component):
    """Who customers are: builds a :class:`DirectoryBackend`."""

    family: ClassVar[str] = "directory"


@attrs.frozen(kw_only=True)
class ActionComponent(Component):
    """One automated step of a fulfilment plan: builds a :class:`FulfilmentAction`.

    ``params`` is the attrs class of the step's own parameters in a plan (the keys of
    ``{ action = "...", ... }`` besides ``action``), validated at ``itsm check``.
    """

    family: ClassVar[str] = "action"
    params: type = NoSettings


@attrs.frozen(kw_only=True)
class SurveyComponent(Component):
    """A survey method (NPS, CSAT, CES, ...): builds a :class:`SurveyMethod`."""

    family: ClassVar[str] = "survey"


@attrs.frozen(kw_only=True)
class RunnerComponent(Component):
    """Runs durable jobs: builds a :class:`JobRunner` (inline by default)."""

    family: ClassVar[str] = "runner"


@attrs.frozen(kw_only=True)
class JobHandlerComponent(Component):
    """A plugin's own kind of durable job: builds a :class:`JobHandler` for jobs of action ``name``.

    ``name`` is the job action (``"webhooks.deliver"``: prefix it with the plugin's name);
    ``max_attempts`` how many attempts a job of this kind gets before it is dead, unless
    :meth:`~itsmcore.desk.Desk.queue_job` says otherwise for one job.
    """

    family: ClassVar[str] = "job"
    max_attempts: int = 5
    #: The top-level config table this kind of job is configured by (``"webhooks"``): its
    #: ``sandbox``, if any, is started by ``Deployment.sandboxed`` only when the config has it.
    config_table: str = ""


# --------------------------------------------------------------------------- channels


@attrs.frozen(kw_only=True)
class Message:
    """An outbound message to one customer.

    ``body`` is plain text and always present; ``html`` is optional. ``reply_token``
    lets an inbound channel thread a reply back to ``demand_id``. ``idempotency_key``
    is stable across retries of the same message.
    """

    recipient: Customer
    subject: str
    body: str
    html: str | None = None
    links: tuple[Link, ...] = attrs.field(default=(), converter=to_tuple)
    demand_id: int | None = None
    reply_token: str | None = None
    purpose: str = "notification"
    idempotency_key: str = ""
    #: The external reference of the demand's first message (an email Message-ID), to thread replies.
    thread_ref: str | None = None
    #: The recipient's language (a locale code): ``subject`` and ``body`` are in it already, and a channel
    #: words what it adds (a footer, how a link reads) in it too, with ``itsmcore.translator(language, ...)``.
    language: str = "en"


@attrs.frozen(kw_only=True)
class Delivery:
    """Where a message went and the provider's reference for it."""

    address: str
    reference: str = ""


@runtime_checkable
class Channel(Protocol):
    """An outbound touchpoint. Inbound intake calls :class:`~itsmcore.desk.Desk` directly.

    A channel may have an ``inbox`` attribute set to True: it is the portal inbox, which
    keeps every message anyway, so customers are not offered it as a preference.
    A channel that takes messages in over HTTP (a provider's webhook) may also offer
    ``web_app(desk) -> ASGI app``: the portal (``itsm serve``) mounts what it returns at
    ``/channels/NAME`` (``NAME`` as in ``[channels.NAME]``), so the webhook is served on
    the deployment's own address, beside the portal, with nothing else to run.
    """

    def address_for(self, customer: Customer) -> str | None:
        """The customer's address on this channel, or ``None`` if they cannot be reached here."""

    def send(self, message: Message) -> Delivery:
        """Deliver ``message``; raise TemporaryFailure or PermanentFailure when it cannot be."""


# --------------------------------------------------------------------------- directory


@runtime_checkable
class DirectoryBackend(Protocol):
    """Who customers are, how they authenticate, and what they own.

    Three methods are optional; the desk uses them when a backend has them:

    - ``find_by_email(email) -> Customer | None``: a backend that can search by address
      should offer it; otherwise the desk scans ``list_customers()``.
    - ``sign_in_entry(login) -> str | None``: the stable name (customer id or DN) of the one
      entry a login names, found without checking any password, or ``None``. The desk
      counts failed sign-ins per entry with it, so every spelling of a login (id, mail,
      ``DOMAIN\\name``, UPN) shares one allowance; without it logins count as typed.
    - ``check() -> Iterable[str]``: lines ``itsm check`` prints under the directory (the
      decisions the backend made, what its queries found); a line starting with
      ``warning:`` is shown as a warning.
    """

    def get_customer(self, customer_id: str) -> Customer | None:
        """The customer with this id, or ``None``."""

    def list_customers(self) -> Iterable[Customer]:
        """Every customer (used by ``itsm customer list`` and subscriber derivation)."""

    def authenticate(self, login: str, password: str) -> Customer | None:
        """The customer if ``password`` is theirs and the account is enabled, else ``None``."""

    def configuration_items(self, customer_id: str) -> Sequence[ConfigurationItem]:
        """The devices and applications this customer owns (may be empty)."""


# --------------------------------------------------------------------------- actions


@attrs.frozen(kw_only=True)
class ActionRequest:
    """What a fulfilment action is asked to do.

    ``idempotency_key`` is the same on every attempt of this step and unique per
    step of each demand of this deployment instance (``NAME@STORE:demand:ID:step:N:ACTION``,
    STORE from a random id made with the database): pass it to the remote system so a
    retry does nothing twice; treat it as opaque.
    ``outputs`` holds what earlier steps of the plan returned.
    """

    demand: Demand
    customer: Customer
    service: Service | None
    params: Any
    idempotency_key: str
    attempt: int
    outputs: Mapping[str, Any]
    desk: Desk


@attrs.frozen(kw_only=True)
class ActionResult:
    """What a step did, for both columns of the journey.

    ``notify`` asks the desk to tell the customer ``customer_sees`` as progress;
    ``channel`` is the channel the step itself used to reach the customer, if any.
    ``wait_for`` names whom the demand now waits on (an approver): the plan pauses
    until :meth:`~itsmcore.desk.Desk.approve` or ``reject``. ``outputs`` are merged
    into the demand's outputs for later steps and for the customer.
    """

    customer_sees: str = ""
    behind_scenes: str = ""
    outputs: Mapping[str, Any] = attrs.field(factory=dict)
    links: tuple[Link, ...] = attrs.field(default=(), converter=to_tuple)
    wait_for: str | None = None
    notify: bool = False
    channel: str | None = None


class StepOutcome(Exception):
    """A step's foreseen ending other than plain success: raise it or return it from ``run``.

    An exception so that code deep inside an action (an API client) can end the step
    where it learns the answer; returning one means the same. Only what no outcome
    foresees (a :class:`~itsmcore.errors.PermanentFailure`, a bug) goes to the service desk.
    """

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


class AlreadyDone(StepOutcome):
    """What the step would make exists already (the customer has the account): the step counts as done.

    ``message`` is for the customer and names the existing thing ("You already have an
    Expensatron account (steve); nothing to set up."); ``outputs`` are merged into the
    demand's outputs like a result's.
    """

    def __init__(self, message: str, outputs: Mapping[str, Any] | None = None):
        super().__init__(message)
        self.outputs: Mapping[str, Any] = dict(outputs or {})


class NeedsCustomer(StepOutcome):
    """Something the customer gave cannot be used (a phone that is not theirs): they are asked to correct it.

    ``message`` tells the customer what is wrong, in their words; ``field`` names the
    ask (``mobile_number``) to correct. The plan waits until the customer corrects it
    (:meth:`~itsmcore.desk.Desk.customer_corrected`), then runs this step again.
    """

    def __init__(self, message: str, field: str = ""):
        super().__init__(message)
        self.field = field


@runtime_checkable
class FulfilmentAction(Protocol):
    """One automated step. Must be idempotent through ``request.idempotency_key``."""

    def run(self, request: ActionRequest) -> ActionResult | StepOutcome:
        """Do the step and return its result, or an :class:`AlreadyDone` / :class:`NeedsCustomer` outcome.

        Raise an outcome where that is easier, TemporaryFailure to be retried with backoff,
        PermanentFailure to hand the demand to the service desk.
        """


# --------------------------------------------------------------------------- surveys


@attrs.frozen(kw_only=True)
class SurveyScore:
    """A survey method's headline figure over some responses, with a 95 % interval."""

    method: str
    value: float | None
    n: int
    low: float | None = None
    high: float | None = None
    label: str = ""


@runtime_checkable
class SurveyMethod(Protocol):
    """A way of asking customers how it went, and of scoring the answers."""

    question: str
    low: int
    high: int

    def category(self, score: int) -> str:
        """The bucket of one answer (``promoter``, ``satisfied``, ...), for reports."""

    def summarise(self, counts: Mapping[int, int]) -> SurveyScore:
        """Score a histogram ``{answer: how many}`` (aggregated in the database)."""


# --------------------------------------------------------------------------- runners


@runtime_checkable
class JobRunner(Protocol):
    """Executes due jobs from the durable outbox.

    A runner may also have a ``lease`` attribute (a ``timedelta``): how long its claim on
    a job lasts before another runner may take the job over. Without one the core's
    ``itsmcore.jobs.LEASE`` (5 minutes) applies.
    """

    def wake(self, desk: Desk, job_ids: Sequence[int]) -> None:
        """Jobs were just committed; run them now (inline) or hand them on (to workers)."""


@runtime_checkable
class JobHandler(Protocol):
    """Runs one job of a plugin's own kind (see :class:`JobHandlerComponent`).

    Called by whichever runner claimed the job (inline, ``itsm jobs run``, a worker), with
    the job as claimed: ``job.attempts`` counts this attempt, ``job.key`` is stable across
    attempts (an idempotency key for the remote side). Return normally (an
    :class:`ActionResult` or ``None``) and the job is done; raise
    :class:`~itsmcore.errors.TemporaryFailure` (optionally with ``retry_after``) to be
    retried, :class:`~itsmcore.errors.PermanentFailure` to end it dead at once. Any other
    exception is logged and retried with backoff; after ``max_attempts`` the job is dead,
    listed by ``itsm jobs list --state dead`` and given another go by ``itsm jobs retry``.
    """

    def run(self, job: Job, desk: Desk) -> ActionResult | None:
        """Do the job's work."""


@attrs.frozen(kw_only=True)
class Classification:
    """What a classifier decided about an incoming demand. ``None`` fields are left alone."""

    kind: Any = None
    service_key: str | None = None
    priority: Any = None
    team: str | None = None
    reason: str = ""


@attrs.frozen(kw_only=True)
class EligibilityDecision:
    """A plugin's answer to "may this customer have this service?", in plain words."""

    eligible: bool
    reason: str = ""
    next_step: str = ""


@attrs.frozen(kw_only=True)
class Intake:
    """A demand as it arrives, before it is written: what classifiers see."""

    kind: Any
    customer: Customer
    summary: str
    details: str
    channel: str
    service_key: str | None


@attrs.frozen(kw_only=True)
class Answer:
    """A self-service answer to an information demand."""

    text: str
    links: tuple[Link, ...] = attrs.field(default=(), converter=to_tuple)
    source: str = ""
    #: The customer's earlier demand this answer is about: the question was a chase
    #: (failure demand), not a query the catalog or knowledge should have answered.
    about: int | None = None
    #: The key of the knowledge article the answer comes from, if any: the desk counts the
    #: article as used, and "That answered it" / "I still need help" as its feedback.
    article: str | None = None


def components_by_name(records: Iterable[Component]) -> dict[str, Component]:
    return {r.name: r for r in records}
