"""Loading plugins: builtins, entry points, config modules; one clear error per broken plugin."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path

import pluggy
import pytest

from itsmcore import ChannelComponent, Classification, Delivery, PluginError, hookimpl
from itsmcore.plugins import ErrorHandler, PluginHost, core_requirement_mismatches, duplicate_distributions

pytestmark = pytest.mark.no_database  # the PostgreSQL pass leaves these out


@pytest.fixture
def site(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Callable[..., None]]:
    """Install throwaway distributions (dist-info + module) on sys.path, as pip would."""
    root = tmp_path / "site"
    root.mkdir()
    monkeypatch.syspath_prepend(str(root))
    added: list[str] = []

    def install(dist: str, module: str, source: str, entry: str | None = None, version: str = "1.0") -> None:
        (root / f"{module}.py").write_text(textwrap.dedent(source))
        info = root / f"{dist.replace('-', '_')}-{version}.dist-info"
        info.mkdir()
        (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {dist}\nVersion: {version}\n")
        (info / "entry_points.txt").write_text(f"[itsm]\n{entry or module} = {module}\n")
        added.append(module)

    yield install
    for m in added:
        sys.modules.pop(m, None)


CHANNEL_PLUGIN = """
    import attrs
    from itsmcore import ChannelComponent, Delivery, hookimpl

    ITSM_CONTRACT = "1.0"

    class Pigeon:
        def __init__(self, settings, context):
            self.settings = settings
        def address_for(self, customer):
            return customer.id
        def send(self, message):
            return Delivery(address=message.recipient.id)

    @attrs.frozen
    class PigeonSettings:
        loft: str = attrs.field(metadata={"doc": "Where the birds live."})

    @hookimpl
    def itsm_channels():
        return [ChannelComponent(name="pigeon", factory=Pigeon, settings=PigeonSettings)]
"""


def test_entry_point_plugins_are_found_and_stamped(site: Callable[..., None]) -> None:
    site("itsm-pigeon", "itsm_pigeon", CHANNEL_PLUGIN, entry="pigeon", version="2.3")
    host = PluginHost.for_config(None)
    reg = host.registry()
    assert reg["channel"]["pigeon"].plugin == "pigeon"
    assert reg["channel"]["log"].plugin == "builtin"
    info = {p.name: p for p in host.info()}
    assert info["pigeon"].distribution == "itsm-pigeon" and info["pigeon"].version == "2.3"
    assert info["pigeon"].hooks == ("itsm_channels",)
    assert ("channel", "pigeon") in info["pigeon"].components
    assert info["pigeon"].contract == "1.0"


def test_a_plugin_that_fails_to_import_names_its_distribution(site: Callable[..., None]) -> None:
    site("itsm-broken", "itsm_broken", "import does_not_exist_anywhere\n", entry="broken")
    with pytest.raises(PluginError) as info:
        PluginHost.for_config(None)
    msg = str(info.value)
    assert "plugin 'broken' (distribution itsm-broken)" in msg
    assert "failed to import itsm_broken" in msg and "does_not_exist_anywhere" in msg
    # the way out is named: the config key that leaves it out, or uninstalling it
    assert '[plugins] disable = ["broken"]' in msg and "uninstall itsm-broken" in msg


def test_disabled_entry_points_are_not_even_imported(
    site: Callable[..., None], write_deployment: Callable[..., Path]
) -> None:
    site("itsm-broken", "itsm_broken", "raise RuntimeError('must not be imported')\n", entry="broken")
    from itsmcore.config import read_config

    config = read_config(write_deployment('\n[plugins]\ndisable = ["broken"]\n'))
    host = PluginHost.for_config(config)
    assert "itsm_broken" not in sys.modules
    assert not host.pm.has_plugin("broken")


def test_two_plugins_claiming_one_component_name(site: Callable[..., None]) -> None:
    site("itsm-pigeon", "itsm_pigeon", CHANNEL_PLUGIN, entry="pigeon")
    site("itsm-pigeon2", "itsm_pigeon2", CHANNEL_PLUGIN, entry="pigeon2")
    with pytest.raises(PluginError) as info:
        PluginHost.for_config(None).registry()
    msg = str(info.value)
    # entry points load in name order: pigeon2 is the newcomer, and is the one blamed
    assert msg.startswith("plugin 'pigeon2' (distribution itsm-pigeon2): registers channel 'pigeon'")
    assert "which plugin 'pigeon' already provides" in msg and '[plugins] disable = ["pigeon2"]' in msg


def test_a_clash_with_a_builtin_blames_the_plugin_not_the_builtin(site: Callable[..., None]) -> None:
    site("itsm-logger", "itsm_logger", CHANNEL_PLUGIN.replace('name="pigeon"', 'name="log"'), entry="logger")
    with pytest.raises(PluginError) as info:
        PluginHost.for_config(None).registry()
    msg = str(info.value)
    assert msg.startswith("plugin 'logger' (distribution itsm-logger): registers channel 'log'")
    assert "which plugin 'builtin' already provides" in msg


def test_hookimpl_that_does_not_match_its_spec() -> None:
    class Bad:
        @hookimpl
        def itsm_demand_received(self, desk, demand, colour):  # type: ignore[no-untyped-def]
            pass

    with pytest.raises(PluginError) as info:
        PluginHost.for_config(None, entry_points=False, plugins=[Bad()])
    assert "does not match its specification" in str(info.value) and "colour" in str(info.value)


def test_unknown_hook_gets_did_you_mean() -> None:
    class Typo:
        @hookimpl
        def itsm_demand_recieved(self, desk, demand):  # type: ignore[no-untyped-def]
            pass

    with pytest.raises(PluginError) as info:
        PluginHost.for_config(None, entry_points=False, plugins=[Typo()])
    assert "unknown hook 'itsm_demand_recieved'" in str(info.value)
    assert "did you mean 'itsm_demand_received'" in str(info.value)


def test_hookimpl_with_default_values_is_refused() -> None:
    class Defaults:
        @hookimpl
        def itsm_demand_received(self, desk, demand=None):  # type: ignore[no-untyped-def]
            pass

    with pytest.raises(PluginError) as info:
        PluginHost.for_config(None, entry_points=False, plugins=[Defaults()])
    assert "must not use defaults" in str(info.value)


@pytest.mark.parametrize("declared", ["2.0", "1.9", "0.3", "banana"])
def test_a_contract_the_core_cannot_honour_is_refused(declared: str) -> None:
    class Future:
        ITSM_CONTRACT = declared

        @hookimpl
        def itsm_channels(self):  # type: ignore[no-untyped-def]
            return []

    with pytest.raises(PluginError) as info:
        PluginHost.for_config(None, entry_points=False, plugins=[Future()])
    assert declared in str(info.value)


def test_unmarked_itsm_functions_are_hook_implementations() -> None:
    class Plain:
        def itsm_channels(self):  # type: ignore[no-untyped-def]
            return [ChannelComponent(name="plain", factory=lambda s, c: None)]

    host = PluginHost.for_config(None, entry_points=False, plugins=[Plain()])
    assert "plain" in host.registry()["channel"]


def test_registration_hook_returning_the_wrong_record_type() -> None:
    class Wrong:
        @hookimpl
        def itsm_channels(self):  # type: ignore[no-untyped-def]
            return [Delivery(address="x")]

    with pytest.raises(PluginError) as info:
        PluginHost.for_config(None, entry_points=False, plugins=[Wrong()]).registry()
    assert "expected ChannelComponent records" in str(info.value)


def test_config_modules_are_loaded(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, write_deployment: Callable[..., Path]
) -> None:
    (tmp_path / "local_plugin.py").write_text(textwrap.dedent(CHANNEL_PLUGIN))
    monkeypatch.syspath_prepend(str(tmp_path))
    from itsmcore.deployment import Deployment

    path = write_deployment(
        '\n[plugins]\nmodules = ["local_plugin"]\n\n[channels.birds]\nuse = "pigeon"\nloft = "roof"\n'
    )
    dep = Deployment.load(path, entry_points=False)
    assert dep.channels()["birds"].settings.loft == "roof"  # type: ignore[attr-defined]
    sys.modules.pop("local_plugin", None)


def test_vendor_settings_errors_name_the_plugin(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, write_deployment: Callable[..., Path]
) -> None:
    (tmp_path / "local_plugin2.py").write_text(textwrap.dedent(CHANNEL_PLUGIN))
    monkeypatch.syspath_prepend(str(tmp_path))
    from itsmcore import ConfigError
    from itsmcore.deployment import Deployment

    path = write_deployment(
        '\n[plugins]\nmodules = ["local_plugin2"]\n\n[channels.birds]\nuse = "pigeon"\nlfot = "roof"\n'
    )
    with pytest.raises(ConfigError) as info:
        Deployment.load(path, entry_points=False)
    text = str(info.value)
    assert "channels.birds.lfot: unknown key" in text and "did you mean 'loft'" in text
    assert "channels.birds.loft: missing required setting" in text
    assert "from plugin local_plugin2" in text
    sys.modules.pop("local_plugin2", None)


def test_a_plugin_implementing_a_deprecated_hook_is_named_in_a_warning() -> None:
    import types

    import pluggy

    spec = pluggy.HookspecMarker("itsm")
    old = types.ModuleType("old_hooks")

    def itsm_old_hook() -> None:
        """A hook on its way out."""

    old.itsm_old_hook = spec(warn_on_impl=DeprecationWarning("itsm_old_hook is deprecated; use itsm_channels"))(
        itsm_old_hook
    )
    host = PluginHost()
    host.pm.add_hookspecs(old)
    plugin = types.ModuleType("itsm_legacy")

    @hookimpl
    def itsm_old_hook() -> None:
        return None

    plugin.itsm_old_hook = itsm_old_hook  # type: ignore[attr-defined]
    with pytest.warns(DeprecationWarning, match="plugin 'itsm_legacy' .*itsm_old_hook is deprecated"):
        host.register(plugin, name="itsm_legacy")


# --------------------------------------------------------------------------- hook calls
# PluginHost calls each implementation in isolation; pluggy's tracing and hook-call
# monitoring must still see every call, as they would see ``pm.hook.<name>(...)``.

Failure = tuple[str, str, str]


def _recording() -> tuple[list[Failure], ErrorHandler]:
    """An ``on_error`` that keeps (plugin, hook, "Type: message") for the test to read."""
    failures: list[Failure] = []

    def on_error(plugin: str, hook: str, exc: BaseException) -> None:
        failures.append((plugin, hook, f"{type(exc).__name__}: {exc}"))

    return failures, on_error


def _refuse(plugin: str, hook: str, exc: BaseException) -> None:
    raise AssertionError(f"{plugin} failed in {hook}: {exc!r}")


class Ledger:
    """An observer that keeps what it saw."""

    def __init__(self) -> None:
        self.seen: list[tuple[object, object]] = []

    @hookimpl
    def itsm_event_recorded(self, demand, event):  # type: ignore[no-untyped-def]
        self.seen.append((demand, event))


class Mirror:
    """An observer whose remote end is down."""

    @hookimpl
    def itsm_event_recorded(self, demand):  # type: ignore[no-untyped-def]
        raise RuntimeError(f"the mirror is down ({demand})")


def _host(**plugins: object) -> PluginHost:
    """Builtins plus ``plugins`` registered in order under their keyword names (the last runs first)."""
    host = PluginHost.for_config(None, entry_points=False)
    for name, plugin in plugins.items():
        host.register(plugin, name=name)
    return host


def test_pluggy_tracing_sees_itsm_hook_calls() -> None:
    host = _host(ledger=Ledger())
    lines: list[str] = []
    host.pm.trace.root.setwriter(lines.append)
    undo = host.pm.enable_tracing()
    host.notify("itsm_event_recorded", _refuse, desk=None, demand="D1", event="E1")
    host.notify("itsm_stage_entered", _refuse, desk=None, demand="D1", event="E1")  # implemented by no plugin
    undo()
    host.notify("itsm_event_recorded", _refuse, desk=None, demand="D2", event="E2")
    text = "".join(lines)
    assert "itsm_event_recorded [hook]" in text and "demand: D1" in text and "event: E1" in text
    assert "finish itsm_event_recorded -->" in text
    assert "itsm_stage_entered [hook]" in text
    assert "D2" not in text  # undone


def test_hookcall_monitoring_sees_each_call_with_its_name_arguments_and_result() -> None:
    host = _host(ledger=Ledger())
    seen: list[tuple[object, ...]] = []

    def before(hook: str, impls: Sequence[pluggy.HookImpl], kwargs: Mapping[str, object]) -> None:
        seen.append(("before", hook, dict(kwargs), [i.plugin_name for i in impls]))

    def after(
        outcome: pluggy.Result[object], hook: str, impls: Sequence[pluggy.HookImpl], kwargs: Mapping[str, object]
    ) -> None:
        seen.append(("after", hook, outcome.get_result()))

    host.pm.add_hookcall_monitoring(before, after)
    host.notify("itsm_event_recorded", _refuse, desk=None, demand="D1", event="E1")
    assert seen == [
        ("before", "itsm_event_recorded", {"desk": None, "demand": "D1", "event": "E1"}, ["ledger"]),
        ("after", "itsm_event_recorded", []),
    ]


@pytest.mark.parametrize("monitored", [False, True], ids=["plain", "monitored"])
def test_an_implementation_that_raises_is_reported_and_the_next_still_runs(monitored: bool) -> None:
    ledger = Ledger()
    host = _host(ledger=ledger, mirror=Mirror())  # mirror registered last: it runs first
    outcomes: list[pluggy.Result[object]] = []
    if monitored:
        host.pm.add_hookcall_monitoring(lambda *a: None, lambda outcome, *a: outcomes.append(outcome))
    failures, on_error = _recording()
    host.notify("itsm_event_recorded", on_error, desk=None, demand="D1", event="E1")
    assert failures == [("mirror", "itsm_event_recorded", "RuntimeError: the mirror is down (D1)")]
    assert ledger.seen == [("D1", "E1")]
    if monitored:
        assert len(outcomes) == 1 and outcomes[0].exception is None


def test_collect_names_the_plugin_of_each_result_and_skips_one_that_raises() -> None:
    class Yes:
        @hookimpl
        def itsm_check_eligibility(self, customer):  # type: ignore[no-untyped-def]
            return f"yes for {customer}"

    class Crash:
        @hookimpl
        def itsm_check_eligibility(self, service):  # type: ignore[no-untyped-def]
            raise KeyError(service)

    class Silent:
        @hookimpl
        def itsm_check_eligibility(self):  # type: ignore[no-untyped-def]
            return None

    host = _host(yes=Yes(), crash=Crash(), silent=Silent())
    failures, on_error = _recording()
    got = host.collect("itsm_check_eligibility", on_error, desk=None, customer="steve", service="crm")
    assert got == [("yes", "yes for steve")]
    assert failures == [("crash", "itsm_check_eligibility", "KeyError: 'crm'")]


def test_firstresult_first_answer_wins_and_one_that_raises_is_skipped() -> None:
    calls: list[str] = []

    def classifier(name: str, answer: Classification | None = None, error: bool = False) -> object:
        class Classifier:
            @hookimpl
            def itsm_classify(self, intake):  # type: ignore[no-untyped-def]
                calls.append(name)
                if error:
                    raise RuntimeError("model not loaded")
                return answer

        return Classifier()

    sure = Classification(team="desk", reason="sure")
    # registered last runs first: broken, then quiet, then sure; never and the builtin are not reached
    host = _host(
        never=classifier("never", Classification(team="nobody")),
        sure=classifier("sure", sure),
        quiet=classifier("quiet"),
        broken=classifier("broken", error=True),
    )
    results: list[object] = []
    host.pm.add_hookcall_monitoring(lambda *a: None, lambda outcome, *a: results.append(outcome.get_result()))
    failures, on_error = _recording()
    assert host.first("itsm_classify", on_error, desk=None, intake="intake") == ("sure", sure)
    assert calls == ["broken", "quiet", "sure"]
    assert failures == [("broken", "itsm_classify", "RuntimeError: model not loaded")]
    assert results == [sure]  # monitors see the hook's own result, as from pm.hook.itsm_classify(...)


def test_nested_hook_calls_report_to_their_own_on_error() -> None:
    inner_failures, inner_on_error = _recording()

    class Cascade:
        """An observer that, like a plugin changing a demand from a hook, causes another hook call."""

        def __init__(self, host: PluginHost) -> None:
            self.host = host

        @hookimpl
        def itsm_event_recorded(self, demand):  # type: ignore[no-untyped-def]
            self.host.notify("itsm_stage_entered", inner_on_error, desk=None, demand=demand, event="E2")
            return "cascaded"

    class BadStage:
        @hookimpl
        def itsm_stage_entered(self, event):  # type: ignore[no-untyped-def]
            raise ValueError(f"no stage for {event}")

    host = _host(bad_stage=BadStage())
    host.register(Cascade(host), name="cascade")
    host.register(Mirror(), name="mirror")
    outer_failures, outer_on_error = _recording()
    got = host.collect("itsm_event_recorded", outer_on_error, desk=None, demand="D1", event="E1")
    assert got == [("cascade", "cascaded")]
    assert outer_failures == [("mirror", "itsm_event_recorded", "RuntimeError: the mirror is down (D1)")]
    assert inner_failures == [("bad_stage", "itsm_stage_entered", "ValueError: no stage for E2")]


def test_a_plugin_registered_or_removed_later_is_seen_at_the_next_call() -> None:
    host = _host()
    first = Ledger()
    host.notify("itsm_event_recorded", _refuse, desk=None, demand="D1", event="E1")
    host.register(first, name="first")
    host.notify("itsm_event_recorded", _refuse, desk=None, demand="D2", event="E2")
    host.pm.unregister(name="first")
    host.notify("itsm_event_recorded", _refuse, desk=None, demand="D3", event="E3")
    assert first.seen == [("D2", "E2")]


def test_registration_hooks_are_seen_by_monitoring_and_a_raising_one_names_its_plugin() -> None:
    class Fragile:
        @hookimpl
        def itsm_channels(self):  # type: ignore[no-untyped-def]
            raise RuntimeError("settings module missing")

    host = _host()
    hooks: list[str] = []
    host.pm.add_hookcall_monitoring(lambda hook, *a: hooks.append(hook), lambda *a: None)
    assert "log" in host.registry()["channel"]
    assert "itsm_channels" in hooks and "itsm_fulfilment_actions" in hooks

    host = _host(fragile=Fragile())
    with pytest.raises(PluginError) as info:
        host.registry()
    assert "plugin 'fragile': itsm_channels raised RuntimeError: settings module missing" in str(info.value)


def test_a_desk_s_hook_calls_are_seen_by_monitoring(write_deployment: Callable[..., Path]) -> None:
    from itsmcore import Desk

    class Flaky:
        @hookimpl
        def itsm_demand_received(self, demand):  # type: ignore[no-untyped-def]
            raise RuntimeError("the ticket mirror is down")

    ledger = Ledger()
    with Desk.open(write_deployment(), entry_points=False, plugins=[ledger, Flaky()]) as desk:
        hooks: list[str] = []
        desk.host.pm.add_hookcall_monitoring(lambda hook, *a: hooks.append(hook), lambda *a: None)
        demand = desk.submit("failure", "steve", "printer on fire").demand
        assert {"itsm_classify", "itsm_demand_received", "itsm_event_recorded"} <= set(hooks)
        assert ledger.seen and all(d.id == demand.id for d, _ in ledger.seen)  # type: ignore[attr-defined]
        failures = {(f.hook, f.error) for f in desk.plugin_failures(demand.id)}
        assert ("itsm_demand_received", "RuntimeError: the ticket mirror is down") in failures


@pytest.mark.parametrize("kind", ["wrapper", "hookwrapper"])
def test_wrappers_are_refused_at_registration(kind: str) -> None:
    mark = hookimpl(wrapper=True) if kind == "wrapper" else hookimpl(hookwrapper=True)

    class Timing:
        @mark
        def itsm_event_recorded(self, demand):  # type: ignore[no-untyped-def]
            return (yield)

    host = _host()
    timing = Timing()
    with pytest.raises(PluginError) as info:
        host.register(timing, name="timing", distribution="itsm-timing")
    msg = str(info.value)
    assert msg.startswith(f"plugin 'timing' (distribution itsm-timing): itsm_event_recorded is a {kind}")
    assert "itsm hooks call each implementation in isolation so that one plugin cannot lose a demand" in msg
    assert "wrappers are not supported: implement the hook itself" in msg
    assert not host.pm.is_registered(timing)


# --------------------------------------------------------------------------- installed distributions


def _distribution(root: Path, dist: str, version: str, requires: Sequence[str] = ()) -> None:
    """A plugin distribution as pip leaves it in ``root``: its module and ``NAME-VERSION.dist-info``."""
    module = dist.replace("-", "_")
    root.mkdir(parents=True, exist_ok=True)
    (root / f"{module}.py").write_text(f'"""{dist} {version}: implements no hook."""\n\nITSM_CONTRACT = "1.0"\n')
    info = root / f"{module}-{version}.dist-info"
    info.mkdir()
    requirements = "".join(f"Requires-Dist: {r}\n" for r in requires)
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {dist}\nVersion: {version}\n{requirements}")
    (info / "entry_points.txt").write_text(f"[itsm]\n{module.removeprefix('itsm_')} = {module}\n")


def _itsm(*args: str, cwd: Path, path: Sequence[Path]) -> subprocess.CompletedProcess[str]:
    """``itsm`` in a process that has ``path`` first on sys.path: nothing leaks into this one."""
    pythonpath = [*map(str, path), *filter(None, [os.environ.get("PYTHONPATH")])]
    env = {k: v for k, v in os.environ.items() if k != "ITSM_CONFIG"} | {"PYTHONPATH": os.pathsep.join(pythonpath)}
    return subprocess.run(
        [sys.executable, "-m", "itsmcore", *args], capture_output=True, text=True, cwd=cwd, env=env, timeout=120
    )


def test_a_plugin_installed_twice_is_reported_with_both_versions_and_paths(tmp_path: Path) -> None:
    first, second = tmp_path / "first", tmp_path / "second"
    _distribution(first, "itsm-pigeon", "2.0")
    _distribution(second, "itsm-pigeon", "1.0")
    r = _itsm("plugins", "--format", "json", cwd=tmp_path, path=[first, second])
    assert r.returncode == 0, r.stderr
    assert {p["id"]: p["version"] for p in json.loads(r.stdout)}["pigeon"] == "2.0", "stdout stays JSON"
    warnings = [line for line in r.stderr.splitlines() if "itsm-pigeon" in line]
    assert warnings == [
        f"warning: distribution itsm-pigeon is installed 2 times: 2.0 in {first.resolve()}, 1.0 in"
        f" {second.resolve()}; Python uses the first (2.0): uninstall the others or take their directories"
        " off sys.path"
    ]


def test_duplicates_are_read_from_every_copy_on_sys_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    first, second = tmp_path / "first", tmp_path / "second"
    _distribution(first, "itsm-pigeon", "2.0")
    _distribution(second, "itsm-pigeon", "1.0")
    _distribution(first, "itsm-single", "1.0")
    for root in (second, first, first):  # the same directory twice on sys.path is one copy
        monkeypatch.syspath_prepend(str(root))
    [duplicate] = duplicate_distributions()
    assert duplicate.name == "itsm-pigeon"
    assert duplicate.copies == (("2.0", str(first.resolve())), ("1.0", str(second.resolve())))


@pytest.mark.parametrize(
    ("requires", "refused"),
    [
        (["itsmcore<10,>=9"], "itsmcore>=9,<10"),
        (["itsmcore<0.1"], "itsmcore<0.1"),
        (["itsmcore>=0.1,<0.2", 'itsmcore[testing]>=9; extra == "test"'], None),  # only the test extra is off
    ],
)
def test_check_refuses_a_plugin_whose_core_range_excludes_this_core(
    tmp_path: Path, requires: list[str], refused: str | None
) -> None:
    from importlib.metadata import version

    from itsmcore.scaffold import write_deployment

    site_dir = tmp_path / "site"
    _distribution(site_dir, "itsm-pigeon", "1.0", requires)
    write_deployment(tmp_path / "desk")
    config = str(tmp_path / "desk" / "itsm.toml")
    r = _itsm("-c", config, "check", cwd=tmp_path, path=[site_dir])
    core = version("itsmcore")
    if refused is None:
        assert r.returncode == 0, r.stderr
        assert "pigeon" in r.stdout
        return
    assert r.returncode == 2, r.stdout + r.stderr
    assert r.stderr.splitlines() == [
        f"error: plugin 'pigeon' (distribution itsm-pigeon): version 1.0 requires {refused}, this is itsmcore"
        f" {core}; install a release of itsm-pigeon made for itsmcore {core}, or an itsmcore in that range"
    ]
    assert r.stdout == "", "nothing is checked past an incompatible plugin"
    # `itsm plugins` lists it, and says the same as a warning
    listed = _itsm("-c", config, "plugins", cwd=tmp_path, path=[site_dir])
    assert listed.returncode == 0 and "pigeon" in listed.stdout
    assert f"warning: plugin 'pigeon' (distribution itsm-pigeon): version 1.0 requires {refused}" in listed.stderr


def test_a_disabled_plugin_s_core_range_does_not_matter(tmp_path: Path) -> None:
    from itsmcore.scaffold import write_deployment

    site_dir = tmp_path / "site"
    _distribution(site_dir, "itsm-pigeon", "1.0", ["itsmcore>=9"])
    write_deployment(tmp_path / "desk")
    config = tmp_path / "desk" / "itsm.toml"
    config.write_text(config.read_text() + '\n[plugins]\ndisable = ["pigeon"]\n')
    r = _itsm("-c", str(config), "check", cwd=tmp_path, path=[site_dir])
    assert r.returncode == 0, r.stderr


def test_core_ranges_are_read_from_the_installed_metadata(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from importlib.metadata import version

    _distribution(tmp_path, "itsm-unranged", "1.0", ["itsmcore", "attrs>=24.1"])
    _distribution(tmp_path, "itsm-silent", "1.0")
    _distribution(tmp_path, "itsm-fits", "1.0", [f"itsmcore=={version('itsmcore')}"])
    _distribution(tmp_path, "itsm-ahead", "3.1", ["itsmcore>=9,<10", 'itsmcore>=0.1; extra == "test"'])
    _distribution(tmp_path, "itsm-behind", "0.3", ["ItsmCore<0.1; python_version >= '3'"])
    monkeypatch.syspath_prepend(str(tmp_path))
    found = {m.distribution: m for m in core_requirement_mismatches()}
    assert sorted(found) == ["itsm-ahead", "itsm-behind"]
    assert (found["itsm-ahead"].plugins, found["itsm-ahead"].requirement) == (("ahead",), "itsmcore>=9,<10")
    assert found["itsm-behind"].requirement == "ItsmCore<0.1" and found["itsm-behind"].version == "0.3"
    assert [m.distribution for m in core_requirement_mismatches(disable=["ahead"])] == ["itsm-behind"]


def test_a_config_module_that_fails_to_import_says_where_it_is_named(
    write_deployment: Callable[..., Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from itsmcore.config import read_config

    (tmp_path / "half_written.py").write_text("import does_not_exist_anywhere\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    config = read_config(write_deployment('\n[plugins]\nmodules = ["half_written"]\n'))
    with pytest.raises(PluginError) as info:
        PluginHost.for_config(config, entry_points=False)
    msg = str(info.value)
    assert msg.startswith("plugin 'half_written': failed to import: ModuleNotFoundError")
    assert "[plugins] modules" in msg and "take it out of that list" in msg
