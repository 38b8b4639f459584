"""Turning TOML data into the attrs settings classes, with problems a person can act on.

One strict cattrs converter (:data:`CONVERTER`: no unknown keys, no silent type coercion)
and :func:`structure`, which collects every problem as a
:class:`~itsmcore.errors.ConfigProblem` naming the file, the key path, what was expected
and a close match (:func:`did_you_mean`), instead of stopping at the first.
"""

from __future__ import annotations

import difflib
import enum
import typing
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import attrs
import cattrs
from cattrs.errors import ClassValidationError, ForbiddenExtraKeysError, IterableValidationError

from .components import NoSettings
from .errors import ConfigProblem
from .model import Ask

# --------------------------------------------------------------------------- converter


def _strict(kind: type, name: str) -> Any:
    def hook(value: Any, _type: Any) -> Any:
        if isinstance(value, bool) and kind is not bool:
            raise TypeError(f"expected {name}, got {value!r}")
        if kind is float and isinstance(value, int):
            return float(value)
        if not isinstance(value, kind):
            raise TypeError(f"expected {name}, got {type(value).__name__} {value!r}")
        return value

    return hook


def _enum(value: Any, kind: type[enum.StrEnum]) -> Any:
    if isinstance(value, kind):
        return value
    known = [str(m) for m in kind]
    if not isinstance(value, str) or value not in known:
        close = difflib.get_close_matches(str(value), known, n=1, cutoff=0.6)
        hint = f"; did you mean {close[0]!r}?" if close else ""
        raise ValueError(f"expected one of {', '.join(known)}, got {value!r}{hint}")
    return kind(value)


def make_converter() -> cattrs.Converter:
    """The converter every settings class goes through: strict types, no unknown keys."""
    conv = cattrs.Converter(forbid_extra_keys=True)
    conv.register_structure_hook(str, _strict(str, "a string"))
    conv.register_structure_hook(int, _strict(int, "an integer"))
    conv.register_structure_hook(bool, _strict(bool, "true or false"))
    conv.register_structure_hook(float, _strict(float, "a number"))
    conv.register_structure_hook(Path, lambda v, _: Path(_strict(str, "a path")(v, str)))
    conv.register_structure_hook(enum.StrEnum, _enum)  # before str's hook, which would let any string in
    conv.register_structure_hook(Ask, lambda v, _: v if isinstance(v, Ask) else conv.structure_attrs_fromdict(v, Ask))
    return conv


CONVERTER = make_converter()


def did_you_mean(word: str, known: Iterable[str]) -> str:
    """``did you mean 'x'? Known: a, b, c`` -- the hint every unknown name gets."""
    known = sorted(set(known))
    close = difflib.get_close_matches(word, known, n=1, cutoff=0.6)
    listing = ", ".join(known[:12]) if known else "none"
    if len(known) > 12:
        listing += f" (and {len(known) - 12:,} more)"
    if close:
        return f"did you mean {close[0]!r}? Known: {listing}"
    return f"known: {listing}"


def _type_name(tp: Any) -> str:
    if tp is None:
        return "a value"
    if isinstance(tp, type):
        return {str: "a string", int: "an integer", bool: "true or false", float: "a number"}.get(
            tp, f"a table ({tp.__name__})" if attrs.has(tp) else tp.__name__
        )
    origin = typing.get_origin(tp)
    if origin in (list, tuple, Sequence):
        return "a list"
    if origin in (dict, Mapping):
        return "a table"
    return str(tp).replace("typing.", "")


def cattrs_problems(exc: BaseException, file: str, path: str) -> list[ConfigProblem]:
    """Turn a cattrs structuring error into one :class:`ConfigProblem` per leaf."""
    out: list[ConfigProblem] = []

    def walk(e: BaseException, p: str, tp: Any) -> None:
        if isinstance(e, ForbiddenExtraKeysError):
            fields = [f.name for f in attrs.fields(e.cl)] if attrs.has(e.cl) else []
            for key in sorted(e.extra_fields):
                out.append(ConfigProblem(file, join_path(p, key), "unknown key", did_you_mean(key, fields)))
            return
        if isinstance(e, ClassValidationError | IterableValidationError):
            with_notes, without = e.group_exceptions()
            for sub, note in with_notes:
                name = getattr(note, "name", None)
                index = getattr(note, "index", None)
                sub_path = join_path(p, name) if name is not None else f"{p}[{index}]"
                walk(sub, sub_path, getattr(note, "type", None))
            named = attrs.fields_dict(e.cl) if isinstance(e, ClassValidationError) and attrs.has(e.cl) else {}
            for sub in without:
                # a validator's "field: message" names its key, so the problem's path can too
                key, sep, rest = str(sub).partition(": ")
                if sep and key in named:
                    out.append(ConfigProblem(file, join_path(p, key), rest))
                else:
                    walk(sub, p, None)
            return
        if isinstance(e, KeyError):
            out.append(ConfigProblem(file, p, f"missing required setting (expected {_type_name(tp)})"))
            return
        msg = str(e)
        if not msg.startswith("expected"):
            msg = f"expected {_type_name(tp)}: {msg}" if tp is not None else msg
        out.append(ConfigProblem(file, p, msg))

    walk(exc, path, None)
    return out


def join_path(path: str, key: Any) -> str:
    """``path.key``, or ``key`` at the top."""
    return f"{path}.{key}" if path else str(key)


def structure(data: Any, cls: type, file: str, path: str, problems: list[ConfigProblem]) -> Any:
    """Structure ``data`` into ``cls``, appending problems instead of raising."""
    if cls is NoSettings and isinstance(data, Mapping) and data:
        for key in data:
            problems.append(
                ConfigProblem(file, join_path(path, key), "unknown key", "this component takes no settings")
            )
        return NoSettings()
    if not isinstance(data, Mapping):
        problems.append(ConfigProblem(file, path, f"expected a table, got {type(data).__name__}"))
        return None
    try:
        return CONVERTER.structure(dict(data), cls)
    except (ClassValidationError, IterableValidationError, ForbiddenExtraKeysError) as e:
        problems.extend(cattrs_problems(e, file, path))
    except (TypeError, ValueError) as e:
        problems.append(ConfigProblem(file, path, str(e)))
    return None
