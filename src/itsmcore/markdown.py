"""Markdown for knowledge articles: rendered with markdown-it-py, then sanitised with nh3.

Two locks, either enough on its own: markdown-it-py runs with raw HTML off (``<script>``
and ``<iframe>`` come out as text) and refuses ``javascript:``, ``vbscript:`` and
``data:`` links; nh3 then keeps only the tags, attributes and URL schemes listed here,
whatever the renderer let through. Size is bounded twice too: a body longer than
:data:`MAX_BODY_CHARS` is refused when saved, and blocks nested deeper than
:data:`MAX_NESTING` (lists in lists in quotes ...) are not rendered past that depth, so
a hostile article costs bounded time and stack.
"""

from __future__ import annotations

import functools
from typing import Any

#: The longest article body accepted, in characters (64 KiB of text: a long article is ~10 KiB).
MAX_BODY_CHARS = 65_536
#: The deepest nesting of blocks rendered; deeper content is left out of the page.
MAX_NESTING = 20

_TAGS = frozenset(
    {
        *("p", "br", "hr", "h1", "h2", "h3", "h4", "h5", "h6", "blockquote", "pre", "code"),
        *("ul", "ol", "li", "em", "strong", "a", "img", "table", "thead", "tbody", "tr", "th", "td"),
    }
)
_ATTRIBUTES = {"a": {"href", "title"}, "img": {"src", "alt", "title"}, "ol": {"start"}, "th": {"style"}}
_SCHEMES = frozenset({"http", "https", "mailto"})


@functools.cache
def _renderer() -> Any:
    from markdown_it import MarkdownIt

    return MarkdownIt("commonmark", {"html": False, "maxNesting": MAX_NESTING, "linkify": False}).enable("table")


def sanitise(html: str) -> str:
    """``html`` with only the allowed tags, attributes and link schemes; links get ``rel="noopener noreferrer"``."""
    import nh3

    return nh3.clean(
        html,
        tags=set(_TAGS),
        attributes={k: set(v) for k, v in _ATTRIBUTES.items()},
        url_schemes=set(_SCHEMES),
        link_rel="noopener noreferrer",
    )


def render(body: str) -> str:
    """An article's Markdown ``body`` as safe HTML (at most :data:`MAX_BODY_CHARS` of it is read)."""
    return sanitise(_renderer().render(body[:MAX_BODY_CHARS]))


def plain(body: str, limit: int = 300) -> str:
    """The body's text without Markdown or HTML, at most ``limit`` characters (for result cards and messages)."""
    import html
    import re

    rendered = re.sub(r"</?(?:p|li|ul|ol|h\d|br|hr|tr|td|th|blockquote|pre)\b[^>]*>", " ", render(body[: limit * 8]))
    text = html.unescape(re.sub(r"<[^>]*>", "", rendered))
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"
