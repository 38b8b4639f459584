"""Every Python and TOML example of the README, the docs and the plugins' READMEs runs.

A fenced ``python`` or ``toml`` block is an example that runs, unless the nearest line
above it that is not blank marks it (an HTML comment, invisible on GitHub and in the
built docs):

``<!-- example: fragment -->``
    A piece of something bigger (a method body, a test that needs its fixtures, a table
    shown on its own): not run.
``<!-- example: pyproject -->``
    TOML of a ``pyproject.toml``, not of a deployment: parsed, and its ``itsm`` entry
    points must name ``module`` or ``module:attribute``.

A Python example runs as a module of its own. When it implements a registration hook
(``itsm_channels``, ...), it registers with a plugin host as the plugin it shows, and
each record it returns passes :func:`itsmcore.testing.check_component_record`.

A TOML example is a deployment config: it is loaded and resolved as ``itsm check`` does,
against the installed plugins and the plugin modules of the page's own Python examples.
One without a ``[directory.*]`` table gets the file directory of ``itsm init``, so a page
can show only the tables it is about.

Other blocks (``sh``, ``text``, ``json``, ...) are not run. docs/developers/index.md
tells contributors the same.
"""

from __future__ import annotations

import re
import sys
import tomllib
import types
from collections.abc import Iterator
from pathlib import Path

import attrs
import pytest

from itsmcore.config import read_config, resolve
from itsmcore.plugins import REGISTRATION_HOOKS, PluginHost
from itsmcore.scaffold import write_deployment
from itsmcore.testing import check_component_record

pytestmark = pytest.mark.no_database  # examples are read and built; none opens a database

ROOT = Path(__file__).resolve().parents[1]
MARKS = ("fragment", "pyproject")
#: Pages whose fragments are still to be marked, with why: an unmarked example of one that
#: fails is skipped with that reason instead of failing. Empty it as pages are marked.
_FENCE = re.compile(r"^(?P<indent>[ \t]*)(?P<fence>`{3,}|~{3,})(?P<info>[^`]*)$")
_MARK = re.compile(r"^\s*<!--\s*example:\s*(?P<mark>[\w-]+)\s*-->\s*$")


@attrs.frozen
class Example:
    page: str  # relative to the repository
    line: int  # of the opening fence
    lang: str
    code: str
    mark: str | None

    @property
    def id(self) -> str:
        return f"{self.page}:{self.line}"


def pages() -> list[Path]:
    found = [ROOT / "README.md"]
    for pattern in ("docs/**/*.md", "plugins/*/README.md", "plugins/*/docs/**/*.md", "examples/*/README.md"):
        found += sorted(p for p in ROOT.glob(pattern) if "_build" not in p.parts and ".venv" not in p.parts)
    return found


def examples_of(path: Path) -> Iterator[Example]:
    lines = path.read_text(encoding="utf-8").splitlines()
    i = 0
    while i < len(lines):
        m = _FENCE.match(lines[i])
        if not m:
            i += 1
            continue
        fence, indent = m.group("fence"), len(m.group("indent"))
        end = i + 1
        while end < len(lines) and not lines[end].strip().startswith(fence):
            end += 1
        lang = (m.group("info").split() or [""])[0]
        if lang in ("python", "py", "toml"):
            above = next((line for line in reversed(lines[:i]) if line.strip()), "")
            mark = _MARK.match(above)
            code = "\n".join(line[indent:] for line in lines[i + 1 : end])
            yield Example(
                page=str(path.relative_to(ROOT)),
                line=i + 1,
                lang="python" if lang == "py" else lang,
                code=code + "\n",
                mark=mark.group("mark") if mark else None,
            )
        i = end + 1


EXAMPLES = [ex for page in pages() for ex in examples_of(page)]


def test_examples_are_found() -> None:
    """The extraction itself: the README's plugin example is there, and marks are known."""
    assert any(ex.page == "README.md" and ex.lang == "python" and "itsm_channels" in ex.code for ex in EXAMPLES)
    unknown = [f"{ex.id}: {ex.mark}" for ex in EXAMPLES if ex.mark is not None and ex.mark not in MARKS]
    assert not unknown, f"unknown example marks (known: {', '.join(MARKS)}): {unknown}"


# --------------------------------------------------------------------------- Python


def run_python(ex: Example) -> types.ModuleType:
    """Run an example as a module (its tracebacks point at the page's own lines)."""
    name = "doc_example_" + re.sub(r"\W", "_", ex.id)
    module = types.ModuleType(name)
    module.__file__ = str(ROOT / ex.page)
    sys.modules[name] = module  # attrs and typing look classes' modules up there
    try:
        exec(compile("\n" * ex.line + ex.code, str(ROOT / ex.page), "exec"), module.__dict__)
    except BaseException:
        del sys.modules[name]
        raise
    return module


def is_plugin(module: types.ModuleType) -> bool:
    return any(hasattr(getattr(module, hook, None), "itsm_impl") for hook in REGISTRATION_HOOKS)


def plugin_modules(page: str) -> list[types.ModuleType]:
    """The plugin modules a page's Python examples define, for its TOML examples to use."""
    return [
        module
        for ex in EXAMPLES
        if ex.page == page and ex.lang == "python" and ex.mark is None
        if is_plugin(module := run_python(ex))
    ]


@pytest.mark.parametrize("ex", [e for e in EXAMPLES if e.lang == "python"], ids=lambda e: e.id)
def test_python_example_runs(ex: Example) -> None:
    if ex.mark is not None:
        pytest.skip(f"marked {ex.mark}")
    module = run_python(ex)
    if not is_plugin(module):
        return
    host = PluginHost()
    host.load_builtins()
    name = host.register(module, name=module.__name__)  # refuses a contract this core does not provide
    records = [r for family in host.registry().values() for r in family.values() if r.plugin == name]
    assert records, f"{ex.id}: the plugin example registers no component"
    for record in records:
        check_component_record(record)


# --------------------------------------------------------------------------- TOML


def load_config(ex: Example, tmp_path: Path) -> None:
    """Load and resolve a config example as ``itsm check`` does (ConfigError on a problem)."""
    data = tomllib.loads(ex.code)
    write_deployment(tmp_path)  # itsm init's customers.toml (and the rest, unused)
    text = ex.code
    if "directory" not in data:
        text += '\n[directory.main]\nuse = "file"\npath = "customers.toml"\n'
    config_path = tmp_path / "itsm.toml"
    config_path.write_text(text, encoding="utf-8")
    config = read_config(config_path)
    host = PluginHost.for_config(config, plugins=plugin_modules(ex.page))
    resolve(config, host.registry())


@pytest.mark.parametrize("ex", [e for e in EXAMPLES if e.lang == "toml"], ids=lambda e: e.id)
def test_toml_example_loads(ex: Example, tmp_path: Path) -> None:
    if ex.mark == "fragment":
        pytest.skip("marked fragment")
    if ex.mark == "pyproject":
        data = tomllib.loads(ex.code)
        groups = data.get("project", {}).get("entry-points", {})
        assert groups, f"{ex.id}: a pyproject example without [project.entry-points...]"
        for group, points in groups.items():
            assert group.startswith("itsm"), f"{ex.id}: entry point group {group!r} is not itsmcore's"
            for name, target in points.items():
                assert re.fullmatch(r"[\w.]+(:[\w.]+)?", target), f"{ex.id}: {name} = {target!r}"
        return
    load_config(ex, tmp_path)
