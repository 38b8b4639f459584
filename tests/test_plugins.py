"""Loading plugins: builtins, entry points, config modules; one clear error per broken plugin."""

from __future__ import annotations

import sys
import textwrap
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from itsmcore import ChannelComponent, Delivery, PluginError, hookimpl
from itsmcore.plugins import PluginHost

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
    assert "channel 'pigeon' is already registered by plugin" in msg
    assert "pigeon2" in msg and "'pigeon'" in msg


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
