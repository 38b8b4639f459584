"""Filling text templates from config (a plan step's message, a link): placeholders only, never code."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

_TOKEN = re.compile(r"\{([a-z_][a-z0-9_.]*)\}")


def render(template: str, values: Mapping[str, Any]) -> str:
    """Fill ``{name}`` placeholders from a flat mapping; no attribute access, no code."""
    return _TOKEN.sub(lambda m: str(values.get(m.group(1), m.group(0))), template)
