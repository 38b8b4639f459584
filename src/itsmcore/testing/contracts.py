"""Contract test classes: subclass one per component and supply its fixtures.

Each assertion says what is wrong and how to fix it, because the reader is a plugin
author whose component just broke the contract.
"""

from __future__ import annotations

import contextlib
import importlib
import re
from collections.abc import Callable
from datetime import timedelta
from importlib import metadata
from pathlib import Path
from typing import TYPE_CHECKING, Any

import attrs
import pytest

from ..components import (
    ActionComponent,
    ActionRequest,
    ActionResult,
    Channel,
    Component,
    ComponentContext,
    Delivery,
    DirectoryBackend,
    FulfilmentAction,
    Message,
    NoSettings,
    RunnerComponent,
    SurveyMethod,
    SurveyScore,
)
from ..errors import PermanentFailure, PluginError, TemporaryFailure
from ..jobs import Job, JobState
from ..model import ConfigurationItem, Customer, Link
from ..plugins import ENTRY_POINT_GROUP, PluginHost
from . import recorder
from .assignment import AssignmentPolicyContract

if TYPE_CHECKING:
    from ..desk import Desk

_NAME = re.compile(r"^[a-z][a-z0-9_-]*(\.[a-z][a-z0-9_-]*)*$")


def context_for(base_dir: Path, name: str = "test") -> ComponentContext:
    """A ComponentContext as the deployment would give your factory."""
    return ComponentContext(name=name, deployment="test", base_dir=base_dir)


def sample_customer(**changes: Any) -> Customer:
    """Steve from the Eagle5 example, with any field changed."""
    base = {
        "id": "steve",
        "name": "Steve Jones",
        "email": "steve@eagle5.example",
        "mobile": "+447700900123",
        "role": "sales",
        "department": "Sales",
        "groups": ("sales",),
        "manager": "scott",
    }
    return Customer(**(base | changes))


def check_component_record(record: Component) -> None:
    """The checks every component record must pass, whatever its family."""
    assert isinstance(record, Component), (
        f"{record!r} is not a component record: return ChannelComponent(...), DirectoryComponent(...), "
        "ActionComponent(...) or SurveyComponent(...) from your registration hook"
    )
    assert record.name and _NAME.match(record.name), (
        f"component name {record.name!r} must be lower case words joined by '.', '_' or '-' (like 'ldap' or "
        "'http.create_account'): it is what integrators type in `use = \"...\"`"
    )
    assert callable(record.factory), f"{record.name}: factory must be callable as factory(settings, context)"
    assert record.description, f"{record.name}: give the record a one-line description; `itsm plugins` shows it"
    for cls_name in ("settings", "params"):
        cls = getattr(record, cls_name, NoSettings)
        assert attrs.has(cls), f"{record.name}: {cls_name} must be an attrs class (decorate it with @attrs.frozen)"
        for field in attrs.fields(cls):
            assert field.metadata.get("doc"), (
                f"{record.name}: {cls_name} field {field.name!r} has no documentation; write "
                f'`{field.name}: ... = attrs.field(metadata={{"doc": "what it means"}})` so the config reference shows it'
            )


def _module_of(obj: object) -> str:
    """The module a component class, factory or instance comes from."""
    return (obj.__module__ if isinstance(obj, type) or callable(obj) else type(obj).__module__) or ""


def _records_of(plugin: object, family: str) -> list[Component]:
    """What ``plugin`` registers in ``family``, as the host stamps it (builtins: the core's own)."""
    host = PluginHost()
    host.load_builtins()
    name = "builtin"
    if getattr(plugin, "__name__", "") != "itsmcore.builtin":
        name = getattr(plugin, "__name__", type(plugin).__name__).split(".")[0]
        try:
            host.register(plugin, name=name)
        except PluginError as e:
            pytest.fail(e.problem)
    try:
        return [r for r in host.registry()[family].values() if r.plugin == name]
    except PluginError as e:
        pytest.fail(e.problem)


def _record_of(plugin: object, family: str, instance: object) -> Component:
    records = _records_of(plugin, family)
    if len(records) > 1:
        records = [r for r in records if r.factory is type(instance)] or records
    if len(records) != 1:
        pytest.fail(
            f"cannot tell which of the plugin's {len(records)} {family} records is the one under test; override "
            f"the `{family}_record` fixture to return it"
        )
    return records[0]


class Registration:
    """The checks the plugin host makes when it loads a plugin, run as tests of your component.

    Found from your component's package: the entry point of the group ``itsm`` that names a
    module of it (when the distribution is installed), else the module ``PACKAGE.plugin``
    (the layout ``itsm plugin new`` makes). Override the ``plugin`` fixture to return the
    module (or object) holding your hook implementations when it lives elsewhere.
    """

    #: The component family these checks look for in the plugin's registrations.
    family: str = ""

    def _component_object(self, request: pytest.FixtureRequest) -> object:
        raise NotImplementedError

    @pytest.fixture
    def plugin(self, request: pytest.FixtureRequest) -> object:
        """The module (or object) with your hook implementations; found from your component's package."""
        own = _module_of(self._component_object(request))
        package = own.split(".")[0]
        if package == "itsmcore":  # the builtins: the core registers them itself
            return importlib.import_module("itsmcore.builtin")
        for ep in metadata.entry_points(group=ENTRY_POINT_GROUP):
            if ep.value.split(":")[0].split(".")[0] == package:
                try:
                    return ep.load()
                except Exception as e:
                    pytest.fail(
                        f"the entry point {ep.name} = {ep.value!r} (group {ENTRY_POINT_GROUP!r}) does not load: "
                        f"{type(e).__name__}: {e}; itsm would refuse to start with it installed"
                    )
        for candidate in (f"{package}.plugin", own):  # the scaffold's layout, else a one-module plugin
            try:
                module = importlib.import_module(candidate)
            except ImportError:
                continue
            if any(name.startswith("itsm_") for name in vars(module)):
                return module
        pytest.fail(
            f"cannot find the hook implementations of {package!r}: no installed entry point of the group "
            f"{ENTRY_POINT_GROUP!r} names it and there is no {package}.plugin module; override the `plugin` "
            "fixture to return the module with your @hookimpl functions"
        )

    def test_the_plugin_registers_with_the_host(self, plugin: object) -> None:
        """The plugin loads as ``itsm`` would load it.

        It declares a hook contract (``ITSM_CONTRACT``) this core provides; every
        ``itsm_*`` function it implements is a known hook with the specification's
        arguments (a misspelt hook would never be called); its registration hooks return
        component records (not dicts); and no name it registers is already taken by the
        builtins or within the plugin. These are the errors that stop ``itsm`` at start-up.
        """
        if getattr(plugin, "__name__", "") == "itsmcore.builtin":
            return  # the builtins are the reference; the core's own tests load them
        contract = getattr(plugin, "ITSM_CONTRACT", None)
        assert contract is not None, (
            'declare the hook contract you implement: ITSM_CONTRACT = "1.0" in the module with your hooks'
        )
        host = PluginHost()
        host.load_builtins()
        name = getattr(plugin, "__name__", type(plugin).__name__).split(".")[0]
        try:
            host.register(plugin, name=name)
            registry = host.registry()
        except PluginError as e:
            pytest.fail(e.problem)
        mine = [r for records in registry.values() for r in records.values() if r.plugin == name]
        assert mine, "the plugin registers no component: implement a registration hook such as itsm_channels"
        for record in mine:
            check_component_record(record)

    def test_the_distribution_declares_the_entry_point(self, plugin: object) -> None:
        """Installed, the distribution names the plugin in the entry point group ``itsm``.

        That entry point is how ``itsm`` finds an installed plugin; without it the plugin is
        silently absent. Skipped when the package is not installed (``pip install -e .``).
        """
        package = (getattr(plugin, "__name__", "") or "").split(".")[0]
        if package == "itsmcore":
            return
        named = [
            ep
            for ep in metadata.entry_points(group=ENTRY_POINT_GROUP)
            if ep.value.split(":")[0].split(".")[0] == package
        ]
        if named:
            return
        dists = list(metadata.packages_distributions().get(package, []))
        for candidate in (package, package.replace("_", "-")):  # editable installs list no files
            with contextlib.suppress(metadata.PackageNotFoundError):
                dists.append(metadata.distribution(candidate).metadata["Name"])
        if not dists:
            pytest.skip(f"{package} is not installed as a distribution (pip install -e .), so there is no entry point")
        assert named, (
            f"the distribution {dists[0]} has no entry point naming {package} in the group {ENTRY_POINT_GROUP!r}: "
            f'add [project.entry-points.itsm] NAME = "{package}.plugin" to its pyproject.toml'
        )


class ChannelContract(Registration):
    """Contract of a channel. Provide fixtures ``channel`` (an instance) and ``customer`` (reachable by it).

    ``channel_record`` (the ChannelComponent) is found from the plugin's registrations when
    it registers one channel; override it when it registers several. ``plugin`` is found
    from the channel's package (see :class:`Registration`).

    Example of overriding a default::

        class TestPigeon(ChannelContract):
            @pytest.fixture
            def channel(self, tmp_path):
                return Pigeon(PigeonSettings(loft=str(tmp_path)), context_for(tmp_path))

            @pytest.fixture
            def channel_record(self):
                return next(r for r in plugin.itsm_channels() if r.name == "pigeon")
    """

    family = "channel"

    def _component_object(self, request: pytest.FixtureRequest) -> object:
        return request.getfixturevalue("channel")

    @pytest.fixture
    def channel_record(self, plugin: object, channel: Channel) -> Component:
        """The channel's record: the plugin's one channel, or the one whose factory is the channel's class."""
        return _record_of(plugin, "channel", channel)

    def test_the_record_is_complete(self, channel_record: Component, channel: Channel) -> None:
        """The record is a ChannelComponent with a valid name, a description and documented settings.

        Integrators type the name in ``use = "..."``, ``itsm plugins`` shows the
        description, and the config reference is generated from each setting's ``doc``.
        """
        from ..components import ChannelComponent

        assert isinstance(channel_record, ChannelComponent), "register channels with ChannelComponent records"
        check_component_record(channel_record)

    @pytest.fixture
    def channel(self) -> Channel:
        raise NotImplementedError("provide a `channel` fixture returning an instance of your channel")

    @pytest.fixture
    def customer(self) -> Customer:
        return sample_customer()

    def _message(self, customer: Customer, **changes: Any) -> Message:
        base: dict[str, Any] = {
            "recipient": customer,
            "subject": "We have your request #42",
            "body": "Thanks, we have your request for Expensatron (#42).",
            "demand_id": 42,
            "reply_token": "#42",
            "purpose": "acknowledgement",
            "idempotency_key": "test:demand:42:acknowledgement",
        }
        return Message(**(base | changes))

    def test_follows_the_channel_protocol(self, channel: Channel) -> None:
        """It has ``address_for`` and ``send``, the two calls the desk makes."""
        for method in ("address_for", "send"):
            assert callable(getattr(channel, method, None)), (
                f"a channel needs a `{method}` method (see itsmcore.Channel)"
            )

    def test_address_for_a_reachable_customer(self, channel: Channel, customer: Customer) -> None:
        """A reachable customer gets a non-empty address: delivery picks channels by it."""
        address = channel.address_for(customer)
        assert isinstance(address, str) and address, (
            "address_for(customer) must return the customer's address on your channel (a non-empty str) for the "
            "`customer` fixture, or None for customers it cannot reach"
        )

    def test_address_for_an_unreachable_customer_is_none_or_str(self, channel: Channel) -> None:
        """A customer it cannot reach gets ``None``, never an exception: delivery then tries the next channel."""
        nobody = Customer(id="nobody", name="No Body")
        address = channel.address_for(nobody)
        assert address is None or isinstance(address, str), "address_for must return a str or None, never raise"

    def test_send_returns_a_delivery(self, channel: Channel, customer: Customer) -> None:
        """Sending returns a ``Delivery``: the journey records a delivery only when the channel accepted it."""
        delivery = self._send(channel, self._message(customer))
        assert isinstance(delivery, Delivery), "send(message) must return itsmcore.Delivery(address=..., reference=...)"

    def test_send_with_links_and_unicode(self, channel: Channel, customer: Customer) -> None:
        """Non-ASCII subjects and bodies and links with query strings arrive intact."""
        message = self._message(
            customer,
            subject="Ihre Anfrage für Expensatron ✓",
            body="Café, naïve, 日本語: all of it must arrive intact.",
            links=(Link(title="Download", url="https://apps.example/expensatron?x=1&y=2"),),
        )
        assert isinstance(self._send(channel, message), Delivery)

    def _send(self, channel: Channel, message: Message) -> Delivery:
        try:
            return channel.send(message)
        except (TemporaryFailure, PermanentFailure) as e:
            pytest.fail(f"send() raised {type(e).__name__}: {e}; the test servers of your fixtures must accept it")


class DirectoryContract(Registration):
    """Contract of a directory backend. Provide ``directory``, ``known_login`` and ``known_password``.

    A directory that signs nobody in (an HR export, a CMDB feed) sets ``has_passwords =
    False`` and provides neither password fixture: the kit then checks that
    ``authenticate`` refuses everyone. ``directory_record`` and ``plugin`` are found from
    the plugin's registrations, as for :class:`ChannelContract`.

    Example::

        class TestHrExport(DirectoryContract):
            has_passwords = False

            @pytest.fixture
            def directory(self, tmp_path):
                return HrExport(HrExportSettings(path=str(write_export(tmp_path))), context_for(tmp_path))
    """

    family = "directory"
    #: ``False`` for a directory that holds no passwords (nobody signs in through it).
    has_passwords: bool = True

    def _component_object(self, request: pytest.FixtureRequest) -> object:
        return request.getfixturevalue("directory")

    @pytest.fixture
    def directory(self) -> DirectoryBackend:
        raise NotImplementedError("provide a `directory` fixture returning an instance of your backend")

    @pytest.fixture
    def known_login(self) -> str:
        raise NotImplementedError(
            "provide `known_login`: a login of a customer your test directory holds (or set has_passwords = False)"
        )

    @pytest.fixture
    def known_password(self) -> str:
        raise NotImplementedError("provide `known_password`: that customer's password (or set has_passwords = False)")

    @pytest.fixture
    def directory_record(self, plugin: object, directory: DirectoryBackend) -> Component:
        """The directory's record: the plugin's one directory, or the one whose factory is its class."""
        return _record_of(plugin, "directory", directory)

    def test_the_record_is_complete(self, directory_record: Component) -> None:
        """The record is a DirectoryComponent with a valid name, a description and documented settings."""
        from ..components import DirectoryComponent

        assert isinstance(directory_record, DirectoryComponent), "register directories with DirectoryComponent records"
        check_component_record(directory_record)

    def test_lists_customers_that_round_trip(self, directory: DirectoryBackend) -> None:
        """Every listed customer comes back the same from ``get_customer``: the desk caches neither."""
        customers = list(directory.list_customers())
        assert customers, "list_customers() returned nothing; the test directory should hold some customers"
        for c in customers[:20]:
            assert isinstance(c, Customer), "list_customers() must yield itsmcore.Customer objects"
            again = directory.get_customer(c.id)
            assert again == c, f"get_customer({c.id!r}) must return the same customer list_customers() gave"

    def test_unknown_id_is_none(self, directory: DirectoryBackend) -> None:
        """An unknown id is ``None``, not an exception: intake turns it into a clear error."""
        assert directory.get_customer("no-such-customer-x9") is None, "get_customer must return None for unknown ids"

    def test_right_password(self, directory: DirectoryBackend, request: pytest.FixtureRequest) -> None:
        """The right password signs the customer in (a directory without passwords signs nobody in)."""
        if not self.has_passwords:
            for c in list(directory.list_customers())[:5]:
                assert directory.authenticate(c.id, c.id) is None, (
                    "has_passwords = False, but authenticate() signed someone in: it must return None for everyone"
                )
            return
        login, password = request.getfixturevalue("known_login"), request.getfixturevalue("known_password")
        signed_in = directory.authenticate(login, password)
        assert isinstance(signed_in, Customer), "authenticate(login, right password) must return the Customer"

    @pytest.mark.parametrize("bad", ["wrong", "", " ", "x" * 500])
    def test_wrong_or_empty_password(
        self, directory: DirectoryBackend, request: pytest.FixtureRequest, bad: str
    ) -> None:
        """A wrong, empty, blank or very long password is refused (``None``): an empty one is an anonymous LDAP bind."""
        login = request.getfixturevalue("known_login") if self.has_passwords else "steve"
        assert directory.authenticate(login, bad) is None, (
            f"authenticate must return None for a wrong or empty password ({bad[:10]!r}); an empty password must "
            "never succeed (LDAP treats it as an anonymous bind)"
        )

    @pytest.mark.parametrize("login", ["no-such-user", "*", "*)(uid=*", "steve)(|(uid=*", "a\x00b", ""])
    def test_unknown_and_hostile_logins(
        self, directory: DirectoryBackend, request: pytest.FixtureRequest, login: str
    ) -> None:
        """Unknown logins and query-injection attempts are refused: every value put into a query is escaped."""
        password = request.getfixturevalue("known_password") if self.has_passwords else "anything"
        assert directory.authenticate(login, password) is None, (
            f"authenticate({login!r}, ...) must return None: escape every value you put in a query"
        )

    def test_configuration_items(self, directory: DirectoryBackend) -> None:
        """Configuration items are ``ConfigurationItem`` records (eligibility and announcements read them)."""
        for c in list(directory.list_customers())[:20]:
            items = directory.configuration_items(c.id)
            assert all(isinstance(ci, ConfigurationItem) for ci in items), (
                "configuration_items(id) must return a sequence of itsmcore.ConfigurationItem (empty if none)"
            )


class ActionContract(Registration):
    """Contract of a fulfilment action. Provide ``action_component`` and ``action_request``.

    ``action_request`` is a factory ``(idempotency_key: str) -> ActionRequest`` whose
    request your action can carry out against your test servers. ``action`` is built from
    ``action_settings``, which defaults to the settings class with no arguments: override
    it when a setting is required (the URL of your test server, say). Override
    ``remote_objects`` to count what the action created on the remote side, so that an
    action that creates a second object on a retry fails even when its outputs leave the
    remote id out.

    Example::

        class TestScim(ActionContract):
            @pytest.fixture
            def action_component(self):
                return scim_action_component()

            @pytest.fixture
            def action_settings(self, scim_server):
                return ScimSettings(base_url=scim_server.url)

            @pytest.fixture
            def remote_objects(self, scim_server):
                return lambda: len(scim_server.users)

            @pytest.fixture
            def action_request(self):
                return request_for
    """

    family = "action"

    def _component_object(self, request: pytest.FixtureRequest) -> object:
        return request.getfixturevalue("action_component").factory

    @pytest.fixture
    def action_component(self) -> ActionComponent:
        raise NotImplementedError("provide `action_component`: the ActionComponent record of your action")

    @pytest.fixture
    def action_settings(self, action_component: ActionComponent) -> Any:
        """The action's settings: its settings class with no arguments, unless you override this fixture."""
        try:
            return action_component.settings()
        except TypeError as e:
            required = [f.name for f in attrs.fields(action_component.settings) if f.default is attrs.NOTHING]
            pytest.fail(
                f"{action_component.name}: its settings need {', '.join(required) or 'arguments'} ({e}); override the "
                "`action_settings` fixture to return the settings for your test servers"
            )

    @pytest.fixture
    def action(self, action_component: ActionComponent, action_settings: Any, tmp_path: Path) -> FulfilmentAction:
        return action_component.factory(action_settings, context_for(tmp_path))

    @pytest.fixture
    def action_request(self) -> Callable[[str], ActionRequest]:
        raise NotImplementedError("provide `action_request`: a factory (idempotency_key) -> ActionRequest")

    @pytest.fixture
    def remote_objects(self) -> Callable[[], int] | None:
        """How many objects the remote side holds (``None``: not counted); override it to make idempotency exact."""
        return None

    def test_record(self, action_component: ActionComponent) -> None:
        """The record is an ActionComponent with a valid name, a description and documented settings and params."""
        assert isinstance(action_component, ActionComponent), "register actions with ActionComponent records"
        check_component_record(action_component)

    def test_runs_and_returns_a_result(
        self, action: FulfilmentAction, action_request: Callable[[str], ActionRequest]
    ) -> None:
        """A run returns an ``ActionResult`` that says what happened, for the customer or behind the scenes."""
        result = action.run(action_request("contract:1"))
        assert isinstance(result, ActionResult), "run(request) must return an itsmcore.ActionResult"
        assert result.customer_sees or result.behind_scenes, (
            "say what happened: set customer_sees (what the customer is told) and/or behind_scenes"
        )

    def test_idempotent_by_key(
        self,
        action: FulfilmentAction,
        action_request: Callable[[str], ActionRequest],
        remote_objects: Callable[[], int] | None,
    ) -> None:
        """Two runs with one idempotency key give the same outputs and create at most one remote object.

        A job runs again after a crash or a timeout between the remote call and its
        record; the customer must not end up with two accounts. With ``remote_objects``
        the kit counts the remote side, so leaving the id out of the outputs hides nothing.
        """
        before = remote_objects() if remote_objects is not None else 0
        first = action.run(action_request("contract:2"))
        second = action.run(action_request("contract:2"))
        assert isinstance(first, ActionResult) and isinstance(second, ActionResult), (
            "running twice with the same idempotency key must not fail: a retry after a crash does exactly that"
        )
        assert dict(first.outputs) == dict(second.outputs), (
            "the same idempotency key must give the same outputs (e.g. the same account, not a second one)"
        )
        if remote_objects is not None:
            made = remote_objects() - before
            assert made <= 1, (
                f"two runs with one idempotency key made {made} remote objects: send request.idempotency_key to the "
                "remote system (an Idempotency-Key header, or look it up before creating) so a retry creates nothing"
            )


class SurveyMethodContract:
    """Contract of a survey method. Provide ``method`` (an instance)."""

    @pytest.fixture
    def method(self) -> SurveyMethod:
        raise NotImplementedError("provide `method`: an instance of your survey method")

    def test_scale(self, method: SurveyMethod) -> None:
        """The method has an integer scale and a question customers see."""
        assert isinstance(method.low, int) and isinstance(method.high, int) and method.low < method.high, (
            "a survey method needs integer attributes low < high (its scale)"
        )
        assert method.question, "give the method a question customers see"

    def test_every_answer_has_a_category(self, method: SurveyMethod) -> None:
        """Every answer on the scale has a category (promoter, passive, ...): reports group by it."""
        for score in range(method.low, method.high + 1):
            assert isinstance(method.category(score), str) and method.category(score), (
                f"category({score}) must name the answer's bucket (e.g. 'promoter')"
            )

    def test_no_answers_is_no_score(self, method: SurveyMethod) -> None:
        """No answers is no score (``None``), not zero: an empty week must not drag a trend down."""
        s = method.summarise({})
        assert isinstance(s, SurveyScore) and s.n == 0 and s.value is None, (
            "summarise({}) must return SurveyScore(value=None, n=0): an empty period is not a score of zero"
        )

    def test_summary_has_n_and_an_interval_around_the_value(self, method: SurveyMethod) -> None:
        """A summary has its n and a 95 % interval containing the value, so reports show uncertainty."""
        counts = {score: 1 + (score % 3) for score in range(method.low, method.high + 1)}
        s = method.summarise(counts)
        assert s.n == sum(counts.values()), "SurveyScore.n must be the number of answers summarised"
        assert s.value is not None and s.low is not None and s.high is not None, "give a value and a 95 % interval"
        assert s.low <= s.value <= s.high, f"the interval [{s.low}, {s.high}] must contain the value {s.value}"

    def test_out_of_scale_answers_are_refused(self, method: SurveyMethod) -> None:
        """``validate`` refuses answers off the scale (and booleans), so a forged survey link stores nothing."""
        validate = getattr(method, "validate", None)
        assert callable(validate), "add validate(score) -> int raising ValueError for answers outside the scale"
        for bad in (method.low - 1, method.high + 1, True):
            with pytest.raises(ValueError):
                validate(bad)
        assert validate(method.low) == method.low


class JobRunnerContract:
    """Contract of a job runner. Provide ``runner_record``, ``desk`` and ``drain``.

    ``desk`` is a :class:`~itsmcore.Desk` opened on a deployment that selects your runner
    and includes :meth:`config` (the recording action's plugin module and the services
    that use it); ``customer_id`` (default ``"steve"``, who is in the kit's deployment)
    names a customer of that deployment. ``drain`` is a callable ``(desk, timeout)``
    that returns once the jobs woken so far have run or been put off by a failure:

    - a runner that executes in ``wake`` (inline): nothing to wait for;
    - a runner that leaves jobs to ``itsm jobs run`` (deferred): ``desk.run_due_jobs()``;
    - a runner with workers elsewhere (celery): start them if need be, then poll until
      no job is running and none is due.

    .. code-block:: python

        class TestMyRunner(JobRunnerContract):
            @pytest.fixture
            def runner_record(self): return my_runner_component()

            @pytest.fixture
            def desk(self, itsm_deployment_factory):
                config = itsm_deployment_factory(self.config('[runner]\\nuse = "mine"\\n'))
                with Desk.open(config) as desk:
                    yield desk

            @pytest.fixture
            def drain(self): return lambda desk, timeout: wait_for_my_workers(desk, timeout)
    """

    #: The recording action's module: name it in ``[plugins] modules``.
    PLUGIN_MODULE = recorder.MODULE
    #: The services the contract submits to, as TOML to append to a deployment's config.
    SERVICES = f"""
[[services]]
key = "contract-record"
name = "Runner contract: record"
description = "Records each execution of its one step."
plan = [{{ action = "{recorder.ACTION}" }}]

[[services]]
key = "contract-retry"
name = "Runner contract: retry later"
description = "Its one step fails temporarily and asks to be retried in an hour."
plan = [{{ action = "{recorder.ACTION}", fail = "temporary" }}]
"""
    #: Seconds the contract gives ``drain``.
    drain_timeout: float = 120.0
    #: Demands the exactly-once test submits (each makes a recorded step and notifications).
    demands: int = 12

    @classmethod
    def config(cls, runner: str) -> str:
        """TOML to append to a deployment: your ``[runner]`` table, the recording module, the contract's services."""
        return f'{runner}\n[plugins]\nmodules = ["{cls.PLUGIN_MODULE}"]\n{cls.SERVICES}'

    @pytest.fixture
    def runner_record(self) -> RunnerComponent:
        raise NotImplementedError("provide `runner_record`: the RunnerComponent your itsm_job_runners hook returns")

    @pytest.fixture
    def desk(self) -> Desk:
        raise NotImplementedError(
            'provide `desk`: a Desk on a deployment with `[runner] use = "<your runner>"` and '
            "JobRunnerContract.config(...) in its itsm.toml"
        )

    @pytest.fixture
    def drain(self) -> Callable[[Desk, float], None]:
        raise NotImplementedError("provide `drain`: a callable (desk, timeout) that waits until woken jobs have run")

    @pytest.fixture
    def customer_id(self) -> str:
        return "steve"

    def _submit(self, desk: Desk, customer_id: str, n: int, service: str = "contract-record") -> list[int]:
        recorder.create_table(desk.engine)
        return [desk.submit("value", customer_id, f"Runner contract #{i}", service=service).demand.id for i in range(n)]

    def _jobs(self, desk: Desk, demand_ids: list[int]) -> list[Job]:
        return sorted((j for d in demand_ids for j in desk.jobs(demand_id=d)), key=lambda j: j.id)

    def test_record(self, runner_record: RunnerComponent) -> None:
        """The record passes the checks every component record passes."""
        assert isinstance(runner_record, RunnerComponent), "register runners with RunnerComponent records"
        check_component_record(runner_record)

    def test_desk_uses_the_runner(self, desk: Desk, runner_record: RunnerComponent) -> None:
        """The ``desk`` fixture runs its jobs with this runner, which has ``wake``."""
        assert desk.config.runner.use == runner_record.name, (
            f"the `desk` fixture must select your runner: `[runner] use = {runner_record.name!r}`"
        )
        assert callable(getattr(desk.runner, "wake", None)), (
            "a runner needs wake(desk, job_ids) (see itsmcore.JobRunner)"
        )

    def test_every_woken_job_runs_exactly_once(
        self, desk: Desk, drain: Callable[[Desk, float], None], customer_id: str
    ) -> None:
        """Every job committed and woken runs once: done, claimed once, its action executed once (keys counted)."""
        demand_ids = self._submit(desk, customer_id, self.demands)
        drain(desk, self.drain_timeout)
        jobs = self._jobs(desk, demand_ids)
        unfinished = [(j.id, j.action, str(j.state)) for j in jobs if j.state != JobState.DONE]
        assert not unfinished, f"every committed and woken job must run to the end; these did not: {unfinished}"
        again = [(j.id, j.action, j.attempts) for j in jobs if j.attempts != 1]
        assert not again, f"each job must be claimed once (attempts == 1); these were claimed again: {again}"
        keys = {j.key for j in jobs if j.action == recorder.ACTION}
        assert len(keys) == self.demands
        runs = recorder.executions(desk.engine)
        twice = {k: n for k, n in runs.items() if k in keys and n != 1}
        assert not twice, f"the action must run exactly once per job; ran more than once: {twice}"
        assert keys <= set(runs), f"jobs marked done whose action never ran: {sorted(keys - set(runs))}"

    def test_waking_again_or_unknown_ids_changes_nothing(
        self, desk: Desk, drain: Callable[[Desk, float], None], customer_id: str
    ) -> None:
        """Waking ids twice, ids of done jobs or an unknown id runs nothing again and raises nothing."""
        demand_ids = self._submit(desk, customer_id, 3)
        first = [j.id for j in self._jobs(desk, demand_ids)]
        desk.runner.wake(desk, first + first)  # the same ids twice, maybe before they ran
        drain(desk, self.drain_timeout)
        jobs = self._jobs(desk, demand_ids)
        before = [(j.id, str(j.state), j.attempts) for j in jobs]
        runs_before = recorder.executions(desk.engine)
        done = [j.id for j in jobs]
        unknown = max(done) + 1_000_000
        desk.runner.wake(desk, done)  # jobs already done
        desk.runner.wake(desk, [*done, *done])
        desk.runner.wake(desk, [unknown])  # a job that does not exist
        desk.runner.wake(desk, [])
        drain(desk, self.drain_timeout)
        after = [(j.id, str(j.state), j.attempts) for j in self._jobs(desk, demand_ids)]
        assert after == before, "waking done jobs again must not run them again or change them"
        assert recorder.executions(desk.engine) == runs_before, "waking done jobs again must not execute them"
        assert {s for _, s, _ in after} == {"done"}, after

    def test_lease_is_a_positive_timedelta(self, desk: Desk) -> None:
        """``runner.lease``, when the runner has one, is a positive timedelta: how long its claims last."""
        lease = getattr(desk.runner, "lease", None)
        if lease is None:
            return  # the core's default lease applies
        assert isinstance(lease, timedelta) and lease > timedelta(0), (
            f"runner.lease must be a positive datetime.timedelta (how long a claim lasts) or None, not {lease!r}"
        )

    def test_a_temporary_failure_is_retried_later_not_lost(
        self, desk: Desk, drain: Callable[[Desk, float], None], customer_id: str
    ) -> None:
        """A job whose action raises TemporaryFailure is left pending with run_after in the future, not lost."""
        (demand_id,) = self._submit(desk, customer_id, 1, service="contract-retry")
        drain(desk, self.drain_timeout)
        (job,) = [j for j in desk.jobs(demand_id=demand_id) if j.action == recorder.ACTION]
        assert job.state == JobState.PENDING, (
            f"a job whose action raised TemporaryFailure must be left pending for a retry, not {job.state}"
        )
        assert job.attempts == 1 and job.error and "on purpose" in job.error, (job.attempts, job.error)
        assert job.run_after > desk.clock(), "the retry must wait (run_after in the future), as the action asked"
        assert recorder.executions(desk.engine)[job.key] == 1


__all__ = [
    "ActionContract",
    "AssignmentPolicyContract",
    "ChannelContract",
    "DirectoryContract",
    "JobRunnerContract",
    "SurveyMethodContract",
    "check_component_record",
    "context_for",
    "sample_customer",
]
