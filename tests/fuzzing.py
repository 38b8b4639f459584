"""Helpers of the property tests (``test_fuzz_*.py``): a TOML writer and strategies for TOML values.

The tests need TOML text for any structure of tables and values, and ``tomli-w`` is not a
dependency: :func:`toml_text` writes it (inline tables and arrays, ``[table]`` headers at the
top level), and the tests check that ``tomllib`` reads back what was written.
"""

from __future__ import annotations

import datetime as dt
import math
import re
from collections.abc import Mapping
from typing import Any

from hypothesis import strategies as st

_BARE_KEY = re.compile(r"[A-Za-z0-9_-]+")
_ESCAPES = {'"': '\\"', "\\": "\\\\", "\b": "\\b", "\t": "\\t", "\n": "\\n", "\f": "\\f", "\r": "\\r"}


def toml_string(s: str) -> str:
    """A TOML basic string: quotes, backslashes and control characters escaped, the rest as it is."""
    out = []
    for ch in s:
        if ch in _ESCAPES:
            out.append(_ESCAPES[ch])
        elif ord(ch) < 0x20 or ord(ch) == 0x7F:
            out.append(f"\\u{ord(ch):04x}")
        else:
            out.append(ch)
    return '"' + "".join(out) + '"'


def toml_key(key: str) -> str:
    return key if _BARE_KEY.fullmatch(key) else toml_string(key)


def toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if math.isinf(value):
            return "inf" if value > 0 else "-inf"
        return repr(value)
    if isinstance(value, str):
        return toml_string(value)
    if isinstance(value, dt.datetime | dt.date | dt.time):
        return value.isoformat()
    if isinstance(value, list):
        return "[" + ", ".join(toml_value(v) for v in value) + "]"
    if isinstance(value, Mapping):
        return "{" + ", ".join(f"{toml_key(k)} = {toml_value(v)}" for k, v in value.items()) + "}"
    raise TypeError(f"no TOML for {type(value).__name__}")


def toml_text(data: Mapping[str, Any]) -> str:
    """A TOML document for ``data``: top-level tables as ``[name]`` sections, the rest inline."""
    head, sections = [], []
    for key, value in data.items():
        if isinstance(value, Mapping):
            body = "".join(f"{toml_key(k)} = {toml_value(v)}\n" for k, v in value.items())
            sections.append(f"[{toml_key(key)}]\n{body}")
        else:
            head.append(f"{toml_key(key)} = {toml_value(value)}\n")
    return "".join(head) + "\n" + "\n".join(sections)


def toml_scalars() -> st.SearchStrategy[Any]:
    return st.one_of(
        st.booleans(),
        st.integers(min_value=-(2**63), max_value=2**63 - 1),
        st.integers(min_value=-3, max_value=100),
        st.floats(allow_nan=False),
        st.text(max_size=30),
        st.sampled_from(["", "file", "log", "inline", "value", "failure", "information", "UTC", "Europe/London"]),
        st.dates(),
        st.datetimes(timezones=st.none() | st.just(dt.UTC)),
        st.times(),
    )


def toml_values(keys: st.SearchStrategy[str], max_leaves: int = 12) -> st.SearchStrategy[Any]:
    """Any TOML value: scalars, arrays and tables nested a few levels, with keys drawn from ``keys``."""
    return st.recursive(
        toml_scalars(),
        lambda children: st.one_of(
            st.lists(children, max_size=4),
            st.dictionaries(keys, children, max_size=4),
        ),
        max_leaves=max_leaves,
    )
