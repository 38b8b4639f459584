"""Reading the CMDB's relationships: ``[[relationships]]``, a CSV or TOML file, and plugins.

Every relationship is checked against the configuration items the directories know and
the catalog's services; a problem names the file, its line and a close match, and the
whole set is refused (``ConfigError``, exit 2) rather than loaded in part.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import tomllib
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import attrs

from .errors import ConfigError, ConfigProblem
from .model import ConfigurationItem, Relationship, RelationshipType
from .structuring import did_you_mean

#: The keys of one relationship, in a ``[[relationships]]`` table or a CSV header.
KEYS = ("ci", "type", "target", "service")
#: The keys of the ``[cmdb]`` table.
CMDB_KEYS = ("relationships", "depth")
#: How many relationships away an impact walk goes unless told.
DEFAULT_DEPTH = 5


@attrs.frozen(kw_only=True)
class CmdbSettings:
    """The ``[cmdb]`` table: where relationships come from and how far an impact walk goes."""

    relationships: str | None = None
    depth: int = DEFAULT_DEPTH


def cmdb_settings(extra: Mapping[str, Any], file: str) -> CmdbSettings:
    """The ``[cmdb]`` table of a config, checked."""
    raw = extra.get("cmdb", {})
    problems: list[ConfigProblem] = []
    if not isinstance(raw, Mapping):
        raise ConfigError([ConfigProblem(file, "cmdb", f"expected a table, got {raw!r}")])
    for key in raw:
        if key not in CMDB_KEYS:
            problems.append(ConfigProblem(file, f"cmdb.{key}", "unknown key", did_you_mean(str(key), CMDB_KEYS)))
    path = raw.get("relationships")
    if path is not None and not isinstance(path, str):
        problems.append(ConfigProblem(file, "cmdb.relationships", f"expected a file name, got {path!r}"))
    depth = raw.get("depth", DEFAULT_DEPTH)
    if not isinstance(depth, int) or isinstance(depth, bool) or not 1 <= depth <= 50:
        problems.append(ConfigProblem(file, "cmdb.depth", f"expected a whole number from 1 to 50, got {depth!r}"))
    if problems:
        raise ConfigError(problems)
    return CmdbSettings(relationships=path, depth=depth)


def _toml_lines(text: str, table: str) -> list[int]:
    """The line of each ``[[table]]`` header, in order (tomllib keeps no positions)."""
    header = f"[[{table}]]"
    return [n for n, line in enumerate(text.splitlines(), start=1) if line.strip().startswith(header)]


def _rows_from_toml(text: str, file: str, problems: list[ConfigProblem]) -> list[tuple[str, Any]]:
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as e:
        problems.append(ConfigProblem(file, "", f"not valid TOML: {e}"))
        return []
    raw = data.get("relationships", [])
    if not isinstance(raw, list):
        problems.append(ConfigProblem(file, "relationships", "expected [[relationships]] tables"))
        return []
    lines = _toml_lines(text, "relationships")
    return [(f"line {lines[i]}" if i < len(lines) else f"relationships[{i}]", r) for i, r in enumerate(raw)]


def _rows_from_csv(text: str, file: str, problems: list[ConfigProblem]) -> list[tuple[str, Any]]:
    reader = csv.DictReader(io.StringIO(text))
    header = [h.strip() for h in reader.fieldnames or []]
    for h in header:
        if h not in KEYS:
            problems.append(ConfigProblem(file, "line 1", f"unknown column {h!r}", did_you_mean(h, KEYS)))
    if "ci" not in header or "type" not in header:
        problems.append(ConfigProblem(file, "line 1", "expected the columns ci,type,target,service"))
        return []
    rows = []
    for row in reader:
        clean = {k.strip(): (v or "").strip() for k, v in row.items() if k}
        rows.append((f"line {reader.line_num}", {k: v for k, v in clean.items() if v}))
    return rows


def _check(
    where: str,
    file: str,
    raw: Any,
    items: Mapping[str, ConfigurationItem],
    services: Sequence[str],
    problems: list[ConfigProblem],
) -> Relationship | None:
    if not isinstance(raw, Mapping):
        problems.append(ConfigProblem(file, where, f"expected a table with {', '.join(KEYS)}, got {raw!r}"))
        return None
    before = len(problems)
    for key in raw:
        if key not in KEYS:
            problems.append(ConfigProblem(file, f"{where}: {key}", "unknown key", did_you_mean(str(key), KEYS)))
    ci, kind, target, service = (raw.get(k) for k in KEYS)
    if not isinstance(ci, str) or not ci:
        problems.append(ConfigProblem(file, f"{where}: ci", "missing: the id of a configuration item"))
    elif ci not in items:
        problems.append(ConfigProblem(file, f"{where}: ci", f"no configuration item {ci!r}", did_you_mean(ci, items)))
    types = [t.value for t in RelationshipType]
    if kind not in types:
        problems.append(
            ConfigProblem(file, f"{where}: type", f"unknown relationship type {kind!r}", did_you_mean(str(kind), types))
        )
    elif kind == RelationshipType.PROVIDES:
        if target is not None or not isinstance(service, str):
            problems.append(ConfigProblem(file, where, "'provides' names a service (service = KEY), not a target"))
        elif service not in services:
            problems.append(
                ConfigProblem(file, f"{where}: service", f"no service {service!r}", did_you_mean(service, services))
            )
    elif service is not None or not isinstance(target, str):
        problems.append(ConfigProblem(file, where, f"{kind!r} names another configuration item (target = ID)"))
    elif target not in items:
        problems.append(
            ConfigProblem(file, f"{where}: target", f"no configuration item {target!r}", did_you_mean(target, items))
        )
    if len(problems) > before:
        return None
    return Relationship(
        ci=str(ci), type=RelationshipType(str(kind)), target=target, service=service, origin=f"{file}:{where}"
    )


def read_relationships(
    *,
    config_file: str,
    base_dir: Path,
    extra: Mapping[str, Any],
    items: Mapping[str, ConfigurationItem],
    services: Sequence[str],
    from_plugins: Iterable[tuple[str, Iterable[Relationship]]] = (),
) -> list[Relationship]:
    """Every relationship the config, its relationship file and the plugins declare, checked.

    Raises :class:`~itsmcore.errors.ConfigError` with every problem found (file, line or
    plugin, and a close match); nothing is loaded when any is wrong.
    """
    problems: list[ConfigProblem] = []
    settings = cmdb_settings(extra, config_file)
    rows: list[tuple[str, str, Any]] = []
    inline = extra.get("relationships", [])
    if inline:
        text = Path(config_file).read_text(encoding="utf-8") if Path(config_file).is_file() else ""
        lines = _toml_lines(text, "relationships")
        if not isinstance(inline, list):
            problems.append(ConfigProblem(config_file, "relationships", "expected [[relationships]] tables"))
            inline = []
        rows += [
            (config_file, f"line {lines[i]}" if i < len(lines) else f"relationships[{i}]", r)
            for i, r in enumerate(inline)
        ]
    if settings.relationships:
        path = base_dir / settings.relationships
        name = str(path)
        content: str | None = None
        try:
            content = path.read_text(encoding="utf-8")
        except OSError as e:
            problems.append(ConfigProblem(config_file, "cmdb.relationships", f"cannot read {name}: {e.strerror}"))
        if content is not None:
            parse = _rows_from_csv if path.suffix.lower() == ".csv" else _rows_from_toml
            rows += [(name, where, raw) for where, raw in parse(content, name, problems)]
    found: list[Relationship] = []
    for file, where, raw in rows:
        rel = _check(where, file, raw, items, services, problems)
        if rel is not None:
            found.append(rel)
    for plugin, rels in from_plugins:
        for i, rel in enumerate(rels):
            raw = (
                {k: v for k, v in attrs.asdict(rel).items() if k in KEYS and v is not None}
                if isinstance(rel, Relationship)
                else rel
            )
            checked = _check(f"itsm_relationships[{i}]", f"plugin {plugin}", raw, items, services, problems)
            if checked is not None:
                found.append(attrs.evolve(checked, origin=f"plugin {plugin}"))
    if problems:
        raise ConfigError(problems)
    return found


def digest(relationships: Iterable[Relationship]) -> str:
    """A fingerprint of a set of relationships: the store reloads them only when it changes."""
    rows = sorted((r.ci, str(r.type), r.target or "", r.service or "", r.origin) for r in relationships)
    return hashlib.sha256(json.dumps(rows).encode()).hexdigest()
