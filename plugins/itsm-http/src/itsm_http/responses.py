"""Reading an API's answer: output paths (JSON pointer or dotted) and error summaries."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any

_MISSING = object()
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]+")
_SPACES = re.compile(r"\s+")

#: Keys an API commonly puts its error message under, most specific first.
_MESSAGE_KEYS = ("message", "detail", "error_description", "error", "title", "errors", "msg")


class PathError(ValueError):
    """An output path is malformed."""


def check_path(path: str) -> None:
    """Raise :class:`PathError` unless ``path`` is a JSON pointer (``/a/b``) or a dotted path (``a.b``)."""
    if not path:
        raise PathError("an output path cannot be empty; use a JSON pointer like /account/login or account.login")
    if path.startswith("/"):
        if re.search(r"~(?![01])", path):
            raise PathError(f"JSON pointer {path!r}: '~' must be written ~0 and '/' inside a key ~1")
        return
    if any(part == "" for part in path.split(".")):
        raise PathError(f"dotted path {path!r} has an empty part")


def path_parts(path: str) -> list[str]:
    if path.startswith("/"):
        return [p.replace("~1", "/").replace("~0", "~") for p in path[1:].split("/")]
    return path.split(".")


def extract(document: Any, path: str) -> Any:
    """The value at ``path`` in ``document``; raise KeyError naming the first missing part."""
    value = document
    walked: list[str] = []
    for part in path_parts(path):
        found: Any = _MISSING
        if isinstance(value, Mapping):
            found = value.get(part, _MISSING)
        elif isinstance(value, list) and part.isdigit() and int(part) < len(value):
            found = value[int(part)]
        if found is _MISSING:
            where = ("/" + "/".join(walked)) if path.startswith("/") else ".".join(walked) or "the top"
            raise KeyError(f"the response has no {part!r} under {where or '/'}")
        walked.append(part)
        value = found
    return value


def clean_text(text: str, limit: int = 200) -> str:
    """One line of at most ``limit`` characters, without control characters."""
    text = _SPACES.sub(" ", _CONTROL.sub(" ", text)).strip()
    return text if len(text) <= limit else text[: limit - 1] + "…"


def summarise_error(body: bytes, content_type: str, limit: int = 200) -> str:
    """A short, safe summary of an error response: its message field if JSON, else its text.

    The body is only ever read as data: control characters are removed and the result is
    truncated, so what a remote server says cannot flood or forge the journey or the logs.
    """
    text = body[:20000].decode("utf-8", errors="replace")
    if "json" in content_type.lower() or text.lstrip().startswith(("{", "[")):
        try:
            data = json.loads(text)
        except ValueError:
            data = None
        message = _message_in(data)
        if message:
            return clean_text(message, limit)
    return clean_text(text, limit) or "(empty body)"


def _message_in(data: Any, depth: int = 0) -> str:
    if depth > 3:
        return ""
    if isinstance(data, str):
        return data
    if isinstance(data, list) and data:
        return "; ".join(m for m in (_message_in(x, depth + 1) for x in data[:3]) if m)
    if isinstance(data, Mapping):
        for key in _MESSAGE_KEYS:
            if key in data:
                found = _message_in(data[key], depth + 1)
                if found:
                    return found
        return json.dumps(data, ensure_ascii=False)[:500]
    return ""
