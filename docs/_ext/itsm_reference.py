"""Sphinx directives that generate the itsmcore reference pages from the code.

The reference cannot drift from the contract because it *is* the contract:

``{itsm-hook-reference}``
    Every hook of :mod:`itsmcore.hookspecs`, grouped under the banner comments of that
    module, each with its exact signature, its docstring (parameters, return contract,
    example), how it is called (all implementations, or the first non-``None`` result)
    and which installed plugins implement it.

``{itsm-config-reference} core``
    Every top-level key of a deployment (:data:`itsmcore.config.TOP_LEVEL`, whose line says
    what each is for), in that order: the core's tables from the attrs classes of
    :mod:`itsmcore.settings` whose docstring names a table (``The ``[deployment]`` table``),
    the catalog (``[[services]]``, ``[asks.NAME]``, ``[[knowledge]]``) from the model classes
    the config is read into, with their nested tables, and the component tables pointing at
    the components' own sections. A top-level key with no section fails the build.

``{itsm-config-reference} components``
    Every component registered by the builtins and the installed plugins (entry point
    group ``itsm``), family by family: its ``settings`` class and, for fulfilment
    actions, its ``params`` class (the keys of a plan step). Options ``:plugin:`` and
    ``:family:`` (comma-separated) narrow it down.

``{itsm-lifecycles}``
    The allowed transitions of each demand kind, from :data:`itsmcore.model.LIFECYCLES`.

``{itsm-stages}``
    The journey stages in order with their moment of truth.

``{itsm-contract-tests}`` ``ChannelContract``
    The tests a conformance-kit class runs, with the first line of each assertion's intent.

Every table row carries an id (``config-deployment-database``, ``hook-itsm_channels``)
so tests and links can find it.
"""

from __future__ import annotations

import contextlib
import enum
import inspect
import re
import typing
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import attrs
from docutils import nodes
from docutils.parsers.rst import directives
from docutils.statemachine import StringList
from sphinx.application import Sphinx
from sphinx.util.docutils import SphinxDirective

# --------------------------------------------------------------------------- helpers


_CODE = re.compile(r"``(.+?)``|`([^`]+)`")


def _inline(text: str) -> list[nodes.Node]:
    """Plain text with ``code`` and `code` spans turned into literals (no other markup)."""
    out: list[nodes.Node] = []
    pos = 0
    for m in _CODE.finditer(text):
        if m.start() > pos:
            out.append(nodes.Text(text[pos : m.start()]))
        out.append(nodes.literal(text=m.group(1) or m.group(2)))
        pos = m.end()
    if pos < len(text):
        out.append(nodes.Text(text[pos:]))
    return out


def _cell(content: str | nodes.Node | Sequence[nodes.Node], *, code: bool = False) -> nodes.entry:
    entry = nodes.entry()
    para = nodes.paragraph()
    if isinstance(content, str):
        if code and content:
            para += nodes.literal(text=content)
        else:
            para.extend(_inline(content))
    elif isinstance(content, nodes.Node):
        para += content
    else:
        para.extend(content)
    entry += para
    return entry


def make_table(
    headers: Sequence[str],
    rows: Iterable[tuple[str | None, Sequence[nodes.entry]]],
    widths: Sequence[int],
    classes: Sequence[str] = (),
) -> nodes.table:
    """A docutils table; each row is ``(id or None, [entries])``."""
    table = nodes.table(classes=["itsm-reference", *classes])
    group = nodes.tgroup(cols=len(headers))
    table += group
    for w in widths:
        group += nodes.colspec(colwidth=w)
    head = nodes.thead()
    hrow = nodes.row()
    for h in headers:
        hrow += _cell(h)
    head += hrow
    group += head
    body = nodes.tbody()
    for row_id, entries in rows:
        row = nodes.row()
        if row_id:
            row["ids"].append(row_id)
        row.extend(entries)
        body += row
    group += body
    return table


def _section(directive: SphinxDirective, title: str, section_id: str, *children: nodes.Node) -> nodes.section:
    section = nodes.section(ids=[section_id], names=[nodes.fully_normalize_name(section_id)])
    heading = nodes.title()
    heading.extend(_inline(title))
    section += heading
    for child in children:
        section += child
    directive.state.document.note_implicit_target(section, section)
    return section


def _literal_list(values: Iterable[Any]) -> list[nodes.Node]:
    out: list[nodes.Node] = []
    for i, v in enumerate(values):
        if i:
            out.append(nodes.Text(", "))
        out.append(nodes.literal(text=str(v)))
    return out


# --------------------------------------------------------------------------- types and defaults


_SIMPLE = {str: "string", int: "integer", float: "number", bool: "boolean", Path: "path"}


def toml_type(tp: Any) -> str:
    """A settings field's type in the words an integrator uses (TOML's)."""
    if isinstance(tp, str):
        return tp
    if tp in _SIMPLE:
        return _SIMPLE[tp]
    if isinstance(tp, type) and issubclass(tp, enum.Enum):
        return "one of " + ", ".join(f'"{m.value}"' for m in tp)
    if isinstance(tp, type) and attrs.has(tp):
        return f"table ({tp.__name__})"
    origin = typing.get_origin(tp)
    args = [a for a in typing.get_args(tp) if a is not Ellipsis]
    if origin in (list, tuple) and len(args) == 1 and isinstance(args[0], type) and attrs.has(args[0]):
        return f"list of tables ({args[0].__name__})"
    if origin in (typing.Union, getattr(__import__("types"), "UnionType", None)):
        rest = [a for a in args if a is not type(None)]
        inner = " or ".join(toml_type(a) for a in rest)
        return f"{inner} (optional)" if len(rest) < len(args) else inner
    if origin is typing.Literal:
        return "one of " + ", ".join(f'"{a}"' if isinstance(a, str) else repr(a) for a in args)
    if origin in (list, tuple, set, frozenset, Sequence, Iterable, typing.Sequence):
        return f"list of {toml_type(args[0])}s" if args else "list"
    if origin in (dict, Mapping, typing.Mapping):
        return f"table of {toml_type(args[1])}s" if len(args) == 2 else "table"
    if tp is Any or tp is object:
        return "any value"
    return getattr(tp, "__name__", str(tp)).replace("typing.", "")


def toml_value(value: Any) -> str:
    """A default as it would be written in TOML."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, enum.Enum):
        return toml_value(value.value)
    if isinstance(value, str):
        escaped = value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
        return f'"{escaped}"'
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, Path):
        return toml_value(str(value))
    if isinstance(value, Mapping):
        if not value:
            return "{}"
        return "{ " + ", ".join(f"{k} = {toml_value(v)}" for k, v in value.items()) + " }"
    if isinstance(value, list | tuple | set | frozenset):
        return "[" + ", ".join(toml_value(v) for v in value) + "]"
    if value is None:
        return "unset"
    if attrs.has(type(value)):
        return "(a table: see below)"
    return repr(value)


def field_default(field: attrs.Attribute) -> str:  # type: ignore[type-arg]
    default = field.default
    if default is attrs.NOTHING:
        return "required"
    if isinstance(default, attrs.Factory):  # type: ignore[arg-type]
        if default.takes_self:  # type: ignore[attr-defined]
            return "computed"
        default = default.factory()  # type: ignore[attr-defined]
    return toml_value(default)


def settings_fields(cls: type, *, documented_only: bool = False) -> list[tuple[str, str, str, str]]:
    """``(key, type, default, description)`` of every field of an attrs settings class.

    ``documented_only`` leaves out fields without ``doc`` metadata: a model class's fields
    that the config does not set (a plan step's resolved parameters).
    """
    with contextlib.suppress(Exception):  # a TYPE_CHECKING-only name: keep the annotation's text
        attrs.resolve_types(cls)
    out = []
    for f in attrs.fields(cls):
        if f.name.startswith("_") or not f.init or (documented_only and not f.metadata.get("doc")):
            continue
        key = f.alias or f.name
        out.append((key, toml_type(f.type), field_default(f), str(f.metadata.get("doc", ""))))
    return out


def settings_table(cls: type, id_prefix: str, *, documented_only: bool = False) -> nodes.Node:
    rows = settings_fields(cls, documented_only=documented_only)
    if not rows:
        return nodes.paragraph(text="No settings.")
    return make_table(
        ["key", "type", "default", "description"],
        [
            (
                f"{id_prefix}-{key}",
                [
                    _cell(key, code=True),
                    _cell(tp),
                    _cell(default, code=default not in ("required", "computed")),
                    _cell(doc),
                ],
            )
            for key, tp, default, doc in rows
        ],
        widths=[18, 14, 18, 50],
        classes=["itsm-config"],
    )


# --------------------------------------------------------------------------- config reference


_TABLE_DOC = re.compile(r"``\[(?P<table>[A-Za-z_.]+)\]``")


def core_settings_classes() -> list[tuple[str, type]]:
    """``(table, class)`` of every attrs class in itsmcore.settings whose docstring names a table."""
    from itsmcore import settings

    found = []
    for _name, obj in vars(settings).items():
        if isinstance(obj, type) and attrs.has(obj) and obj.__module__ == settings.__name__:
            m = _TABLE_DOC.search((obj.__doc__ or "").split("\n", 1)[0])
            if m:
                found.append((m.group("table"), obj))
    return found


def catalog_classes() -> dict[str, tuple[str, type]]:
    """``{top-level key: (how it is written, class)}`` of the keys read into model classes."""
    from itsmcore.model import Ask, KnowledgeArticle, Service

    return {
        "services": ("[[services]]", Service),
        "asks": ("[asks.NAME]", Ask),
        "knowledge": ("[[knowledge]]", KnowledgeArticle),
    }


def nested_classes(cls: type) -> list[tuple[str, type, bool]]:
    """``(key, class, is a list)`` of the fields of ``cls`` that are tables (or lists of tables)."""
    with contextlib.suppress(Exception):
        attrs.resolve_types(cls)
    out = []
    for f in attrs.fields(cls):
        if f.name.startswith("_") or not f.init:
            continue
        origin = typing.get_origin(f.type)
        many = origin in (list, tuple)
        inner = [a for a in typing.get_args(f.type) if a not in (Ellipsis, type(None))] if origin else [f.type]
        for a in inner:
            if isinstance(a, type) and attrs.has(a):
                out.append((f.alias or f.name, a, many))
    return out


def _anchor(table: str) -> str:
    """The id of a table's section: ``[journeys.SERVICE]`` is ``config-journeys.service``."""
    return "config-" + table.lower()


def _link(text: str, anchor: str) -> nodes.reference:
    """A link to a section of the config reference page itself."""
    ref = nodes.reference("", "", internal=True, refuri=f"#{anchor}")
    ref.extend(_inline(text))
    return ref


def _ref(text: str, label: str) -> nodes.Node:
    """A link to a label (``(plan-action)=``) anywhere in the docs."""
    from sphinx import addnodes

    xref = addnodes.pending_xref("", refdomain="std", reftype="ref", reftarget=label, refexplicit=True, refwarn=True)
    xref += nodes.inline(text=text)
    return xref


def _para(*parts: str | nodes.Node) -> nodes.paragraph:
    para = nodes.paragraph()
    for part in parts:
        if isinstance(part, str):
            para.extend(_inline(part))
        else:
            para += part
    return para


def _doc_paragraphs(cls: type) -> str:
    """A class docstring as one line of text (its paragraphs joined)."""
    return " ".join(" ".join(p.split()) for p in (inspect.getdoc(cls) or "").split("\n\n") if p.strip())


def plugin_host() -> Any:
    from itsmcore.plugins import PluginHost

    return PluginHost.for_config(None)


_FAMILY_TABLES = {
    "directory": ("directory", "Directory backends"),
    "channel": ("channels", "Channels"),
    "action": ("actions", "Fulfilment actions"),
    "survey": ("surveys", "Survey methods"),
    "runner": ("runner", "Job runners"),
}


class ConfigReference(SphinxDirective):
    """``{itsm-config-reference} core|components`` with ``:plugin:`` and ``:family:`` filters."""

    required_arguments = 1
    option_spec = {"plugin": directives.unchanged, "family": directives.unchanged}

    def run(self) -> list[nodes.Node]:
        what = self.arguments[0]
        if what == "core":
            return self.core()
        if what == "components":
            return self.components()
        raise self.error(f"itsm-config-reference: expected 'core' or 'components', got {what!r}")

    def core(self) -> list[nodes.Node]:
        from itsmcore import config, settings
        from itsmcore.model import service, survey

        for module in (config, settings, service, survey):
            self.env.note_dependency(module.__file__)
        by_key: dict[str, list[tuple[str, type]]] = {}
        for table, cls in core_settings_classes():
            by_key.setdefault(table.split(".")[0], []).append((table, cls))
        catalog = catalog_classes()
        families = {**config.COMPONENT_TABLES, "runner": "runner"}
        overview = []
        sections: list[nodes.Node] = []
        for key, what in config.TOP_LEVEL.items():
            if key in by_key:
                written = [f"[{table}]" for table, _cls in by_key[key]]
                anchor = _anchor(by_key[key][0][0])
                for table, cls in by_key[key]:
                    sections.append(self.settings_section(table, cls, what))
            elif key in catalog:
                form, cls = catalog[key]
                written, anchor = [form], _anchor(key)
                sections.append(self.catalog_section(key, form, cls, what))
            elif key in families:
                form = f"[{key}]" if key == "runner" else f"[{key}.NAME]"
                written, anchor = [form], _anchor(key)
                sections.append(self.component_table_section(key, form, families[key], what))
            elif key == "include":
                written, anchor = ['include = ["GLOB", ...]'], _anchor(key)
                sections.append(self.include_section(what))
            elif key in ("cmdb", "relationships"):
                written, anchor = ["[cmdb]" if key == "cmdb" else "[[relationships]]"], _anchor(key)
                more = [" Its keys are listed in ", _ref("The CMDB", "cmdb-config"), "."]
                sections.append(_section(self, f"`{written[0]}`", anchor, _para(what, *more)))
            elif key == "changes":
                written, anchor = ["[changes]"], _anchor(key)
                more = [" Its keys are listed in ", _ref("Planned changes", "changes-config"), "."]
                sections.append(_section(self, "`[changes]`", anchor, _para(what, *more)))
            elif key in ("reports", "portal", "webhooks"):
                written, anchor = [f"[{key}]"], _anchor(key)
                extra = (
                    [" Its keys are those of the ", _link("`portal` channel", "config-channel-portal"), "."]
                    if key == "portal"
                    else [" Its keys are listed in ", _ref("Outbound webhooks", "webhooks-config"), "."]
                    if key == "webhooks"
                    else []
                )
                sections.append(_section(self, f"`[{key}]`", anchor, _para(what, *extra)))
            else:
                raise self.error(
                    f"itsm-config-reference: the top-level key {key!r} of itsmcore.config.TOP_LEVEL has no "
                    "section; document it in docs/_ext/itsm_reference.py"
                )
            overview.append(
                (
                    f"config-top-{key}",
                    [
                        _cell(_link(f"`{key}`", anchor)),
                        _cell(_literal_list(written)),
                        _cell(what),
                    ],
                )
            )
        intro = _para("The top-level keys, in the order of the sections below:")
        table = make_table(["key", "written", "what"], overview, widths=[16, 30, 54], classes=["itsm-config"])
        return [intro, table, *sections]

    def settings_section(self, table: str, cls: type, what: str) -> nodes.section:
        doc = inspect.getdoc(cls) or ""
        rest = " ".join(doc.split("\n\n", 1)[1].split()) if "\n\n" in doc else ""
        intro = _para(f"{what} Class `{cls.__module__}.{cls.__name__}`. {rest}".strip())
        children: list[nodes.Node] = [intro, settings_table(cls, _anchor(table))]
        children += self.nested_sections(table, cls, {})
        return _section(self, f"`[{table}]`", _anchor(table), *children)

    def nested_sections(self, path: str, cls: type, elsewhere: Mapping[type, tuple[str, str]]) -> list[nodes.Node]:
        """A subsection per field of ``cls`` that is a table or a list of tables.

        ``elsewhere`` maps a class documented in a section of its own to ``(title, anchor)``.
        """
        from itsmcore.model import PlanStep

        out: list[nodes.Node] = []
        for key, inner, many in nested_classes(cls):
            sub = f"{path}.{key}"
            if inner is PlanStep:
                out.append(self.plan_section(sub, inner))
                continue
            written = f"{key} = [{{ ... }}, ...]" if many else f"{key} = {{ ... }}"
            if inner in elsewhere:
                body = [
                    _para(
                        f"`{written}`: each table has the keys of ",
                        _link(*elsewhere[inner]),
                        ".",
                    )
                ]
            else:
                body = [
                    _para(f"`{written}`. {_doc_paragraphs(inner)} Class `{inner.__module__}.{inner.__name__}`."),
                    settings_table(inner, _anchor(sub)),
                    *self.nested_sections(sub, inner, elsewhere),
                ]
            out.append(_section(self, f"`{key}`", _anchor(sub), *body))
        return out

    def plan_section(self, path: str, step_cls: type) -> nodes.section:
        """A plan's steps: action steps (resolved by the rule of ``plan-action``) and task steps."""
        from itsmcore.model import HumanTask

        doc = inspect.getdoc(step_cls) or ""
        rest = " ".join(doc.split("\n\n", 1)[1].split()) if "\n\n" in doc else ""
        action = _section(
            self,
            "Action steps",
            _anchor(f"{path}.action"),
            _para(
                "Keys of an action step; ",
                _ref("how its action name resolves", "plan-action"),
                " is said once, below the tables. The other keys of the step are the action's plan step keys, "
                "listed with each action under ",
                _link("Fulfilment actions", "config-family-action"),
                ".",
            ),
            settings_table(step_cls, _anchor(f"{path}.action"), documented_only=True),
        )
        task = _section(
            self,
            "Task steps",
            _anchor(f"{path}.task"),
            _para(f"{_doc_paragraphs(HumanTask)} Class `{HumanTask.__module__}.{HumanTask.__name__}`."),
            settings_table(HumanTask, _anchor(f"{path}.task")),
            *self.nested_sections(f"{path}.task", HumanTask, {}),
        )
        intro = _para(f"`plan = [{{ ... }}, ...]`. {rest} Class `{step_cls.__module__}.{step_cls.__name__}`.")
        return _section(self, f"`{path.rsplit('.', 1)[-1]}`", _anchor(path), intro, action, task)

    def catalog_section(self, key: str, form: str, cls: type, what: str) -> nodes.section:
        from itsmcore import config
        from itsmcore.model import Ask

        children: list[nodes.Node] = [
            _para(f"{what} {_doc_paragraphs(cls)} Class `{cls.__module__}.{cls.__name__}`."),
            settings_table(cls, _anchor(key)),
        ]
        if cls is Ask:
            rows = [
                (
                    f"config-asks-standard-{name}",
                    [
                        _cell(name, code=True),
                        _cell(str(ask.type), code=True),
                        _cell(ask.label),
                        _cell(ask.prefill or "", code=True),
                    ],
                )
                for name, ask in config.STANDARD_ASKS.items()
            ]
            children += [
                _para(
                    "The standard asks, which a service names without a table (an `[asks.NAME]` table of the "
                    "same name replaces one):"
                ),
                make_table(["name", "type", "label", "prefill"], rows, widths=[20, 14, 40, 26]),
            ]
        elsewhere = {} if cls is Ask else {Ask: ("`[asks.NAME]`", _anchor("asks"))}
        children += self.nested_sections(key, cls, elsewhere)
        return _section(self, f"`{form}`", _anchor(key), *children)

    def component_table_section(self, key: str, form: str, family: str, what: str) -> nodes.section:
        how = (
            "`[runner]` selects the job runner with `use` (`inline` when the table is left out)"
            if key == "runner"
            else f"Each `{form}` table selects a component with `use` (the table's own name when `use` is left "
            "out) and sets that component's settings"
        )
        _table, title = _FAMILY_TABLES[family]
        body = [
            _para(
                f"{what} {how}; the components and their keys are under ", _link(title, f"config-family-{family}"), "."
            )
        ]
        if key == "actions":
            body.append(
                _para("Plan steps run actions by name: ", _ref("how a plan step's action resolves", "plan-action"), ".")
            )
        return _section(self, f"`{form}`", _anchor(key), *body)

    def include_section(self, what: str) -> nodes.section:
        return _section(
            self,
            "`include`",
            _anchor("include"),
            _para(
                f"{what} A list of glob patterns relative to this file (a string is one pattern); files match "
                "in sorted order, and a pattern that matches no file is an error. Their services and articles "
                "join this file's: a service key defined twice is an error naming both places."
            ),
        )

    def components(self) -> list[nodes.Node]:
        host = plugin_host()
        registry = host.registry()
        meta = {info.name: info for info in host.info()}
        plugins = {p.strip() for p in self.options.get("plugin", "").split(",") if p.strip()}
        families = [f.strip() for f in self.options.get("family", "").split(",") if f.strip()] or list(_FAMILY_TABLES)
        out: list[nodes.Node] = []
        for family in families:
            if family not in _FAMILY_TABLES:
                raise self.error(f"unknown family {family!r}; known: {', '.join(_FAMILY_TABLES)}")
            table, title = _FAMILY_TABLES[family]
            sections = []
            for name, record in sorted(registry.get(family, {}).items()):
                if plugins and record.plugin not in plugins:
                    continue
                sections.append(self.component(family, table, name, record, meta.get(record.plugin)))
            if sections:
                out.append(_section(self, title, f"config-family-{family}", *sections))
        return out

    def component(self, family: str, table: str, name: str, record: Any, info: Any) -> nodes.section:
        where = f'[{table}] use = "{name}"' if family == "runner" else f'[{table}.NAME] use = "{name}"'
        dist = info.distribution if info is not None else None
        intro = nodes.paragraph()
        intro.extend(
            _inline(
                f"{record.description or 'No description.'} Plugin `{record.plugin}`"
                + (f" (distribution `{dist}`)" if dist else "")
                + f"; select it with `{where}`; settings class `{record.settings.__module__}.{record.settings.__qualname__}`."
            )
        )
        slug = name.replace(".", "-")
        children: list[nodes.Node] = [intro, settings_table(record.settings, f"config-{family}-{slug}")]
        params = getattr(record, "params", None)
        if params is not None and attrs.has(params) and attrs.fields(params):
            p = _para(
                f'Plan step keys: `{{ action = "{name}", ... }}`, or the name of a table that uses it (',
                _ref("how a step's action resolves", "plan-action"),
                f"); class `{params.__module__}.{params.__qualname__}`, checked by `itsm check`:",
            )
            children += [p, settings_table(params, f"config-{family}-{slug}-step")]
        return _section(self, f"`{name}`", f"config-{family}-{slug}", *children)


# --------------------------------------------------------------------------- hook reference


_BANNER_RULE = re.compile(r"^# -{20,}\s*$")


def hook_sections() -> list[tuple[str, str, list[str]]]:
    """``(title, description, [hook names])`` in source order, from the banner comments."""
    from itsmcore import hookspecs

    source = Path(inspect.getfile(hookspecs)).read_text(encoding="utf-8").splitlines()
    banners: list[tuple[int, str, str]] = []
    i = 0
    while i < len(source):
        if _BANNER_RULE.match(source[i]):
            j = i + 1
            text = []
            while j < len(source) and source[j].startswith("#") and not _BANNER_RULE.match(source[j]):
                text.append(source[j].lstrip("#").strip())
                j += 1
            if j < len(source) and text:
                joined = " ".join(text)
                title, _, desc = joined.partition(":")
                desc = desc.strip()
                banners.append((j + 1, title.strip(), desc[:1].upper() + desc[1:]))
                i = j + 1
                continue
        i += 1
    hooks = hook_functions()
    sections: list[tuple[str, str, list[str]]] = []
    for idx, (line, title, desc) in enumerate(banners):
        end = banners[idx + 1][0] if idx + 1 < len(banners) else 10**9
        names = [n for n, f in hooks.items() if line <= inspect.getsourcelines(f)[1] < end]
        sections.append((title, desc, names))
    placed = {n for _, _, names in sections for n in names}
    rest = [n for n in hooks if n not in placed]
    if rest:
        sections.append(("Other hooks", "", rest))
    return sections


def hook_functions() -> dict[str, Any]:
    """Every hook specification of :mod:`itsmcore.hookspecs`, in source order."""
    from itsmcore import hookspecs

    funcs = [
        f
        for name, f in vars(hookspecs).items()
        if name.startswith("itsm_") and inspect.isfunction(f) and hasattr(f, "itsm_spec")
    ]
    funcs.sort(key=lambda f: inspect.getsourcelines(f)[1])
    return {f.__name__: f for f in funcs}


def hook_signature(func: Any) -> str:
    sig = inspect.signature(func)
    params = []
    for p in sig.parameters.values():
        ann = p.annotation
        params.append(
            p.name
            if ann is inspect.Parameter.empty
            else f"{p.name}: {ann if isinstance(ann, str) else inspect.formatannotation(ann)}"
        )
    ret = sig.return_annotation
    text = f"{func.__name__}({', '.join(params)})"
    if ret is not inspect.Signature.empty:
        text += f" -> {ret if isinstance(ret, str) else inspect.formatannotation(ret)}"
    return text


class HookReference(SphinxDirective):
    """``{itsm-hook-reference}``: every hook, generated from the hookspec docstrings."""

    has_content = False
    option_spec = {"heading-level": directives.positive_int}

    def run(self) -> list[nodes.Node]:
        from itsmcore import hookspecs

        self.env.note_dependency(hookspecs.__file__)
        level = self.options.get("heading-level", 2)
        try:
            host = plugin_host()
            implementers: dict[str, list[str]] = {}
            for name in hook_functions():
                impls = getattr(host.pm.hook, name).get_hookimpls()
                implementers[name] = sorted({i.plugin_name for i in impls})
        except Exception as e:  # the reference still builds when a plugin is broken; say so
            from sphinx.util import logging

            logging.getLogger(__name__).warning("itsm-hook-reference: cannot load the plugins: %s", e)
            implementers = {}
        funcs = hook_functions()
        lines: list[str] = []
        for title, desc, names in hook_sections():
            lines += [f"{'#' * level} {title}", "", desc, ""]
            for name in names:
                lines += self.hook_lines(funcs[name], level + 1, implementers.get(name))
        container = nodes.container()
        self.state.nested_parse(StringList(lines, source="itsmcore/hookspecs.py"), 0, container, match_titles=True)
        return list(container.children)

    def hook_lines(self, func: Any, level: int, implementers: list[str] | None) -> list[str]:
        opts = func.itsm_spec
        doc = inspect.getdoc(func) or ""
        body = [("   " + line) if line.strip() else "" for line in doc.splitlines()]
        from itsmcore.plugins import REGISTRATION_HOOKS

        if func.__name__ in REGISTRATION_HOOKS or func.__name__ == "itsm_register_commands":
            calling = "Every implementation is called once, when the deployment (or the CLI) starts; what it registers is stamped with the plugin's name. An implementation that raises stops the start with an error naming the plugin."
        elif opts.get("firstresult"):
            calling = "**firstresult**: implementations are called newest-registered first until one returns a value that is not `None`; that value is the result."
        else:
            calling = "Every implementation is called (newest-registered first); one that raises is recorded with its plugin's name and the others still run."
        if opts.get("historic"):
            calling += " Historic: plugins registered later are called too."
        from itsmcore import hookspecs

        instead = getattr(hookspecs, "DEPRECATED_HOOKS", {}).get(func.__name__)
        if instead is not None or opts.get("warn_on_impl") is not None:
            calling = f"**Deprecated**: {instead or opts.get('warn_on_impl')}. " + calling
        out = [
            f"(hook-{func.__name__})=",
            f"{'#' * level} `{func.__name__}`",
            "",
            "```{eval-rst}",
            f".. py:function:: {hook_signature(func)}",
            "   :module: itsmcore.hookspecs",
            "",
            *body,
            "```",
            "",
            calling,
            "",
        ]
        if implementers is not None:
            who = ", ".join(f"`{p}`" for p in implementers) if implementers else "none of the installed plugins yet"
            out += [f"Implemented by: {who}.", ""]
        return out


# --------------------------------------------------------------------------- model tables


class Lifecycles(SphinxDirective):
    """``{itsm-lifecycles}``: one transition table per demand kind from ``LIFECYCLES``."""

    def run(self) -> list[nodes.Node]:
        from itsmcore.model import FINAL_STATES, LIFECYCLES
        from itsmcore.model import demand as demand_module

        self.env.note_dependency(demand_module.__file__)
        out: list[nodes.Node] = []
        for kind, states in LIFECYCLES.items():
            rows = []
            for state, nxt in states.items():
                final = "final" if not nxt else ("closed for the customer" if state in FINAL_STATES else "")
                rows.append(
                    (
                        f"lifecycle-{kind}-{state}",
                        [
                            _cell(str(state), code=True),
                            _cell(_literal_list(sorted(nxt)) if nxt else "—"),
                            _cell(final),
                        ],
                    )
                )
            out.append(
                _section(
                    self,
                    f"`{kind}` demands",
                    f"lifecycle-{kind}",
                    make_table(["state", "may become", "notes"], rows, widths=[22, 58, 20]),
                )
            )
        return out


class Stages(SphinxDirective):
    """``{itsm-stages}``: the stages in journey order with their moment of truth."""

    def run(self) -> list[nodes.Node]:
        from itsmcore.model import MomentOfTruth, Stage

        meaning = {
            MomentOfTruth.ZERO: "discovery: before the customer talks to IT at all",
            MomentOfTruth.FIRST: "exploration: the first contact and its acknowledgement",
            MomentOfTruth.SECOND: "consumption: the service is delivered and used",
            MomentOfTruth.ULTIMATE: "shared engagement: feedback and word of mouth",
        }
        rows = [
            (
                f"stage-{stage}",
                [
                    _cell(str(stage.position + 1)),
                    _cell(str(stage), code=True),
                    _cell(str(stage.moment), code=True),
                    _cell(meaning[stage.moment]),
                ],
            )
            for stage in Stage
        ]
        return [make_table(["#", "stage", "moment of truth", "the moment means"], rows, widths=[5, 15, 15, 65])]


def _is_fixture(obj: Any) -> bool:
    # pytest >= 8.4 wraps fixtures in FixtureFunctionDefinition; older ones mark the function.
    return type(obj).__name__ == "FixtureFunctionDefinition" or hasattr(obj, "_pytestfixturefunction")


class ContractTests(SphinxDirective):
    """``{itsm-contract-tests} ChannelContract``: the tests a conformance-kit class runs."""

    required_arguments = 1

    def run(self) -> list[nodes.Node]:
        from itsmcore.testing import contracts

        self.env.note_dependency(contracts.__file__)
        cls = getattr(contracts, self.arguments[0], None)
        if cls is None:
            raise self.error(f"itsmcore.testing.contracts has no class {self.arguments[0]!r}")
        members: dict[str, Any] = {}
        for klass in reversed(cls.__mro__):  # the registration checks first, then the class's own
            members.update(vars(klass))
        fixtures = [n for n, v in members.items() if _is_fixture(v)]
        rows = []
        for name, func in members.items():
            if not name.startswith("test_"):
                continue
            # what the test checks and why: its docstring, else its name in words
            doc = inspect.getdoc(func) or ""
            words = name.removeprefix("test_").replace("_", " ")
            text = " ".join(doc.split()) if doc else words[0].upper() + words[1:] + "."
            rows.append((f"contract-{self.arguments[0]}-{name}", [_cell(name, code=True), _cell(text)]))
        intro = nodes.paragraph()
        intro.extend(
            _inline(
                (inspect.getdoc(cls) or "").split("\n\n")[0]
                + (f" Fixtures: {', '.join(f'`{f}`' for f in fixtures)}." if fixtures else "")
            )
        )
        return [intro, make_table(["test", "checks"], rows, widths=[40, 60])]


def setup(app: Sphinx) -> dict[str, Any]:
    app.add_directive("itsm-config-reference", ConfigReference)
    app.add_directive("itsm-hook-reference", HookReference)
    app.add_directive("itsm-lifecycles", Lifecycles)
    app.add_directive("itsm-stages", Stages)
    app.add_directive("itsm-contract-tests", ContractTests)
    return {"version": "1.0", "parallel_read_safe": True, "parallel_write_safe": True}
