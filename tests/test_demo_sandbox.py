"""Sandboxes: components pointed at local stand-ins for demos, and ``itsm demo`` running on them."""

from __future__ import annotations

import contextlib
import re
import shutil
import socket
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any

import attrs
import pytest
from click.testing import CliRunner

from itsmcore import ChannelComponent, ComponentContext, Delivery, hookimpl
from itsmcore.cli import cli
from itsmcore.demo import PLUGINS_CONFIG, ExampleNotFound, copy_example, example_candidates, example_dir
from itsmcore.deployment import Deployment
from itsmcore.errors import PluginError

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "eagle5"


# --------------------------------------------------------------------------- a tiny plugin with a sandbox


@attrs.frozen(kw_only=True)
class TinSettings:
    host: str = attrs.field(metadata={"doc": "Where messages go."})
    port: int = attrs.field(default=9, metadata={"doc": "Port there."})
    label: str = attrs.field(default="tin", metadata={"doc": "Kept as configured."})


class TinChannel:
    def __init__(self, settings: TinSettings, context: ComponentContext):
        self.settings = settings
        self.closed = False

    def address_for(self, customer: Any) -> str:
        return customer.id

    def send(self, message: Any) -> Delivery:
        with socket.create_connection((self.settings.host, self.settings.port), timeout=5) as s:
            s.sendall(message.subject.encode() + b"\n")
        return Delivery(address=message.recipient.id)

    def close(self) -> None:
        self.closed = True


class TinStandin:
    """A TCP listener on 127.0.0.1 counting lines; the sandbox of the ``tin`` channel."""

    def __init__(self, settings: TinSettings, context: ComponentContext, log: list[str]):
        self.settings, self.context, self.log = settings, context, log
        self.sock: socket.socket | None = None

    def __enter__(self) -> Mapping[str, Any]:
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen()
        self.log.append(f"start {self.context.name} (was {self.settings.host})")
        return {"host": "127.0.0.1", "port": self.sock.getsockname()[1]}

    def __exit__(self, *exc: object) -> None:
        assert self.sock is not None
        self.sock.close()
        self.log.append(f"stop {self.context.name}")

    def summary(self) -> str:
        return f"tin stand-in for {self.context.name}"


class TinPlugin:
    def __init__(self, fail: bool = False) -> None:
        self.log: list[str] = []
        self.fail = fail

    def sandbox(self, settings: TinSettings, context: ComponentContext) -> contextlib.AbstractContextManager[Any]:
        if self.fail and context.name == "broken":
            raise OSError("no free port")
        return TinStandin(settings, context, self.log)

    @hookimpl
    def itsm_channels(self) -> list[ChannelComponent]:
        return [ChannelComponent(name="tin", factory=TinChannel, settings=TinSettings, sandbox=self.sandbox)]


TIN = """
[channels.tin]
use = "tin"
host = "tin.far-away.example"
label = "kept"
"""


def test_a_sandbox_overrides_settings_before_the_component_is_built(write_deployment: Callable[..., Path]) -> None:
    plugin = TinPlugin()
    d = Deployment.load(write_deployment(TIN), entry_points=False, plugins=[plugin])
    with d.sandboxed() as boxes:
        assert [b.path for b in boxes] == ["channels.tin"]
        assert boxes[0].use == "tin" and boxes[0].overrides["host"] == "127.0.0.1"
        assert boxes[0].summary() == "tin stand-in for tin"
        chan = d.channels()["tin"]
        assert chan.settings.host == "127.0.0.1"
        assert chan.settings.port == boxes[0].overrides["port"] != 9
        assert chan.settings.label == "kept", "settings not overridden stay as configured"
        assert plugin.log == ["start tin (was tin.far-away.example)"]
    assert chan.closed, "components built against a stand-in are closed with it"
    assert plugin.log[-1] == "stop tin"
    assert d.config.family("channels")["tin"].settings.host == "tin.far-away.example", "config restored"
    assert d.channels()["tin"].settings.host == "tin.far-away.example"


def test_sandboxed_refuses_once_components_are_built(write_deployment: Callable[..., Path]) -> None:
    d = Deployment.load(write_deployment(TIN), entry_points=False, plugins=[TinPlugin()])
    d.channels()
    with pytest.raises(RuntimeError, match="before any component is built"), d.sandboxed():
        pass


def test_a_sandbox_that_cannot_start_names_the_component_and_stops_the_others(
    write_deployment: Callable[..., Path],
) -> None:
    plugin = TinPlugin(fail=True)
    extra = TIN + '\n[channels.broken]\nuse = "tin"\nhost = "x.example"\n'
    d = Deployment.load(write_deployment(extra), entry_points=False, plugins=[plugin])
    with (
        pytest.raises(PluginError, match=r"could not start the sandbox of channels\.broken .*no free port"),
        d.sandboxed(),
    ):
        pass
    assert plugin.log == ["start tin (was tin.far-away.example)", "stop tin"]


def test_components_without_a_sandbox_are_left_alone(write_deployment: Callable[..., Path]) -> None:
    d = Deployment.load(write_deployment(), entry_points=False)
    with d.sandboxed() as boxes:
        assert boxes == []
        assert "log" in d.channels()


# --------------------------------------------------------------------------- itsm demo


@pytest.fixture
def example(tmp_path: Path) -> Path:
    target = tmp_path / "eagle5"
    shutil.copytree(EXAMPLE, target, ignore=shutil.ignore_patterns("*.db*", ".itsm-secret", "__pycache__"))
    return target


def run(*args: str) -> Any:
    return CliRunner().invoke(cli, list(args), env={"COLUMNS": "200", "ITSM_SECRET": ""}, catch_exceptions=False)


@pytest.fixture
def reference_plugins() -> Iterator[None]:
    for module in ("itsm_email", "itsm_http", "itsm_apprise", "itsm_sms_chat", "aiosmtpd"):
        pytest.importorskip(module, reason=f"{module} is not installed (bash scripts/test installs the plugins)")
    yield


def test_the_demo_runs_the_reference_plugins_against_local_stand_ins(example: Path, reference_plugins: None) -> None:
    r = run("demo", "--example", str(example))
    assert r.exit_code == 0, r.output
    out = r.output
    assert "local stand-ins on 127.0.0.1" in out
    for path in ("channels.email (email", "channels.sms (apprise", "actions.expensatron (http"):
        assert f"{path}, plugin " in out
    # Steve's account comes back from the stand-in through the HTTP action
    assert "Expensatron's API created his account: he signs in as steve." in out
    assert "Expensatron stand-in (actions.expensatron, http://127.0.0.1:" in out
    assert "created 1 account: steve (steve@eagle5.example)" in out
    # the workaround link by SMS, and the download link, through Apprise to the webhook
    assert "the workaround link goes out by sms" in out
    assert "webhook stand-in (channels.sms) got 2 messages for +447700900123" in out
    assert "'Eagle5: CRM mobile app'" in out
    # two articles written with itsm kb; Steve finds the pipeline report one, typo and all, and is answered by it
    assert out.count("saved as published") == 2 and "$ itsm kb new crm-pipeline-report --file" in out
    search = next(line for line in out.splitlines() if line.startswith("Steve searches 'crm reprot'"))
    assert "Running your pipeline report in the CRM" in search
    asked = out.split("Steve asks 'How do I run my pipeline report in the CRM?' -> ", 1)[1]
    assert asked.startswith("Running your pipeline report in the CRM: Open the CRM")
    # acknowledgements, progress, confirm and survey links by email to the SMTP sink
    sink = next(line for line in out.splitlines() if line.startswith("SMTP sink (channels.email, 127.0.0.1:"))
    assert "steve@eagle5.example" in sink and "tony@eagle5.example" in sink
    count = int(sink.split(" got ", 1)[1].split()[0])
    assert count >= 10, sink
    assert "acknowledgement sent by email to" in out
    assert "Ledger: notified 2, affected 2, confirmed fixed 1" in out
    assert "She confirms through the link « Oui, cela fonctionne à nouveau »." in out, "Camille's email is in French"
    # approval is not delivery: the phone is followed like a parcel, fulfilled only once delivered
    assert "Scott approves; Steve's request says: Waiting for the logistics team to order and ship the phone." in out
    assert "(made " in out and ": On its way: dispatched today, expected by " in out
    assert "The phone is delivered; demand #4 is fulfilled." in out
    # Steve writes in by chat and confirms the fix in its thread, through the chat API stand-in
    assert "channels.chat (slack-chat, plugin " in out
    assert "Steve answers 'yes' in the thread" in out and "is closed." in out
    assert "SMS/chat API stand-in (channels.chat) got 2 chat messages (2 in threads)" in out
    # the walkthrough in the docs is today's demo: the same sections in the same order
    # (after a change to what the demo shows, bash scripts/walkthrough writes it again)
    docs = Path(__file__).parents[1] / "docs"
    walkthrough = (docs / "walkthrough" / "demo.txt").read_text(encoding="utf-8")
    assert sections(walkthrough) == sections(out), "docs/walkthrough/demo.txt is stale: run bash scripts/walkthrough"
    page = (docs / "eagle5.md").read_text(encoding="utf-8")
    for marker in re.findall(r":(?:start-after|end-before): (.+)", page):
        assert marker in sections(walkthrough), f"docs/eagle5.md cites a section the demo no longer prints: {marker}"


def sections(output: str) -> list[str]:
    """The titles of the demo's sections: its rules, "──── Title ────"."""
    return re.findall(r"^─+ (.+?) ─+$", output, re.M)


def test_the_demo_without_sandboxes_uses_the_config_addresses(example: Path, reference_plugins: None) -> None:
    # Nothing listens on the config's local ports here: the steps wait for a retry, visibly.
    config = example / "plugins.toml"
    text = config.read_text()
    for port in ("2525", "8025", "8765"):
        text = text.replace(f"127.0.0.1:{port}", "127.0.0.1:9").replace(f"port = {port}", "port = 9")
    config.write_text(text)
    r = run("demo", "--example", str(example), "--no-sandbox")
    assert r.exit_code == 0, r.output
    assert "Steve got no confirm link" in r.output and "wait for a retry" in r.output
    assert "What the stand-ins received" not in r.output
    assert "runs against a local stand-in" not in r.output


def test_the_demo_names_the_plugin_to_install_when_one_is_missing(example: Path) -> None:
    config = example / "plugins.toml"
    config.write_text(config.read_text() + '\n[plugins]\ndisable = ["email"]\n')
    r = run("demo", "--example", str(example))
    assert r.exit_code == 2, r.output
    assert "channels.email.use: no installed plugin provides a channel named 'email'" in r.output
    assert "the demo needs the plugin itsm-email: uv pip install -e plugins/itsm-email" in r.output
    assert "itsm demo --core-only" in r.output


def test_the_core_only_demo_needs_no_plugin(example: Path) -> None:
    r = run("demo", "--example", str(example), "--core-only")
    assert r.exit_code == 0, r.output
    assert "What the stand-ins received" not in r.output
    assert "Steve is told: Your phone was dispatched." in r.output
    assert "The phone is delivered; demand #4 is fulfilled." in r.output
    # the demo moves the desk's clock two days on: the follow-up of those who did not confirm runs
    assert "Two days later Tony has not answered: followed up (1)." in r.output
    # the CRM web app's server fails: its impact announces it on the CRM
    assert "Monitoring sees crm-app-01 fail" in r.output and "opens announcement 1 on crm" in r.output
    # the planned quote-system upgrade, and Steve's question answered from its window and state
    flat = " ".join(r.output.split())
    assert "Scott and Susan approve it (change 1 is approved)" in flat
    assert "Steve asks 'Will the quote system upgrade be completed by " in flat
    assert (
        "-> Quote system upgrade is approved and planned for " in flat and "So yes, it is planned to be done by" in flat
    )
    # Camille, in Lyon, reads her whole journey in French: the outage, its fix, the confirm link, the survey
    lyon = r.output.split("In Lyon, in French", 1)[1]
    assert "the directory gives her language: fr." in lyon
    assert "She is told (log): « Problème connu : Le CRM est très lent depuis le bureau de Lyon »" in lyon
    assert "She clicks « Cela me concerne »" in lyon and "Merci, nous avons bien reçu votre signalement" in lyon
    assert "« Réparé : Le CRM est très lent depuis le bureau de Lyon »" in lyon
    assert "She confirms through the link « Oui, cela fonctionne à nouveau »." in lyon
    assert "Quelle est la probabilité que vous recommandiez le service informatique" in lyon
    assert "She gives an NPS of 10." in lyon
    # the hook contract, as an observer plugin sees it: every journey event reported once
    heard = next(line for line in r.output.splitlines() if line.startswith("An observer plugin heard "))
    counts = heard.removeprefix("An observer plugin heard ").split()
    assert counts[0] == counts[3] and int(counts[0]) > 20, heard
    assert "None was missed or doubled." in heard


def test_the_plugin_catalog_is_the_core_catalog_plus_the_account_step() -> None:
    core = (EXAMPLE / "catalog" / "services.toml").read_text().splitlines()
    full = (EXAMPLE / "catalog-plugins" / "services.toml").read_text().splitlines()
    strip = [line for line in full if not line.startswith("#")]
    added = [line for line in strip if line not in core]
    assert added == ['  { action = "expensatron" },']
    assert [line for line in core if not line.startswith("#")] == [line for line in strip if line not in added]


# --------------------------------------------------------------------------- where the example comes from


def test_the_packaged_example_path_is_where_the_wheel_puts_it() -> None:
    """pyproject maps examples/eagle5 to itsmcore/examples/eagle5; the demo looks there first."""
    import tomllib

    wheel = tomllib.loads((EXAMPLE.parents[1] / "pyproject.toml").read_text())["tool"]["hatch"]["build"]["targets"]
    assert wheel["wheel"]["sources"]["examples/eagle5"] == "itsmcore/examples/eagle5"
    assert "examples/eagle5" in wheel["sdist"]["only-include"], "a wheel built from the sdist needs it too"
    packaged, source_tree = example_candidates()
    assert Path(str(packaged)).parts[-3:] == ("itsmcore", "examples", "eagle5")
    assert source_tree == EXAMPLE
    assert example_dir() in (packaged, source_tree)  # an editable install has only the source tree's


def test_a_missing_bundled_example_is_one_line_saying_how_to_pass_one(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import itsmcore.demo

    monkeypatch.setattr(itsmcore.demo, "example_candidates", lambda: (tmp_path / "pkg", tmp_path / "src"))
    r = CliRunner().invoke(cli, ["demo", "--core-only"])
    assert r.exit_code == 1, r.output
    assert r.output.splitlines() == [
        f"error: the bundled Eagle5 example is missing from this installation (looked in {tmp_path / 'pkg'}"
        f" and {tmp_path / 'src'}); pass --example DIR, a copy of examples/eagle5 from the itsmcore source"
    ]
    with pytest.raises(ExampleNotFound):
        example_dir()


def test_an_example_dir_without_a_deployment_is_one_line(tmp_path: Path) -> None:
    r = run("demo", "--example", str(tmp_path / "nowhere"), "--core-only")
    assert r.exit_code == 1
    assert r.output.strip() == (
        f"error: {tmp_path / 'nowhere'} holds no example deployment (no itsm.toml); pass --example DIR,"
        " a directory like examples/eagle5 from the itsmcore source"
    )


def test_the_copy_leaves_a_previous_run_behind(example: Path, tmp_path: Path) -> None:
    def listing(root: Path) -> list[str]:
        return sorted(str(p.relative_to(root)) for p in root.rglob("*"))

    clean = listing(example)
    for leftover in ("eagle5.db", "eagle5.db-wal", ".itsm-secret", "catalog/__pycache__/x.pyc"):
        (example / leftover).parent.mkdir(parents=True, exist_ok=True)
        (example / leftover).write_text("from an earlier run")
    config = copy_example(example, tmp_path / "copy", PLUGINS_CONFIG)
    assert config == tmp_path / "copy" / "eagle5" / PLUGINS_CONFIG
    assert listing(config.parent) == clean
