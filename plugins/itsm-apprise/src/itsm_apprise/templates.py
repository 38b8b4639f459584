"""Placeholders of the apprise channel: ``{mobile}`` in URLs, ``{subject}`` in messages.

A template holds literal text and ``{name}`` placeholders, nothing else: no attribute
access, no expressions. ``{{`` and ``}}`` are literal braces. ``{env:NAME}`` (URL
templates only) is a secret read from the environment when a message is sent.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Callable, Iterable, Mapping

import attrs

#: Customer placeholders a URL template may use.
URL_FIELDS = ("mobile", "email", "chat", "id", "address", "name")
#: Placeholders a title or body template may use.
MESSAGE_FIELDS = ("subject", "body", "links", "demand_id", "name", "first_name", "deployment", "purpose")

_TOKEN = re.compile(r"\{\{|\}\}|\{([^{}]*)\}|[{}]")
_ENV = re.compile(r"^env:([A-Za-z_][A-Za-z0-9_]*)$")


class TemplateError(ValueError):
    """A template uses a placeholder it may not, or has a lone brace."""


@attrs.frozen
class Field:
    name: str


@attrs.frozen
class Secret:
    """``{env:NAME}``: a secret from the environment."""

    env: str


Part = str | Field | Secret


@attrs.frozen
class Template:
    source: str
    parts: tuple[Part, ...]

    @classmethod
    def parse(cls, text: str, allowed: Iterable[str], *, secrets: bool = False) -> Template:
        allowed = tuple(allowed)
        parts: list[Part] = []
        literal: list[str] = []
        pos = 0
        for m in _TOKEN.finditer(text):
            literal.append(text[pos : m.start()])
            pos = m.end()
            token = m.group(0)
            if token in ("{{", "}}"):
                literal.append(token[0])
                continue
            if m.group(1) is None:
                raise TemplateError(f"lone {token!r} in {text!r}; write {token * 2!r} for a literal brace")
            name = m.group(1).strip()
            env = _ENV.match(name)
            if env and secrets:
                part: Part = Secret(env.group(1))
            elif name in allowed:
                part = Field(name)
            else:
                extra = ", {env:VARIABLE}" if secrets else ""
                close = difflib.get_close_matches(name, allowed, n=1, cutoff=0.6)
                hint = f"did you mean {{{close[0]}}}? " if close else ""
                raise TemplateError(
                    f"unknown placeholder {{{name}}} in {text!r}; {hint}known: "
                    + ", ".join(f"{{{a}}}" for a in allowed)
                    + extra
                )
            if literal:
                parts.append("".join(literal))
                literal = []
            parts.append(part)
        literal.append(text[pos:])
        if "".join(literal):
            parts.append("".join(literal))
        return cls(text, tuple(p for p in parts if p != ""))

    @property
    def fields(self) -> tuple[str, ...]:
        return tuple(p.name for p in self.parts if isinstance(p, Field))

    @property
    def secrets(self) -> tuple[str, ...]:
        return tuple(p.env for p in self.parts if isinstance(p, Secret))

    def render(
        self,
        values: Mapping[str, str],
        encode: Callable[[str], str] = str,
        secret: Callable[[str], str] | None = None,
    ) -> str:
        """Fill placeholders; values (and secrets) go through ``encode``, literal text does not."""
        out: list[str] = []
        for part in self.parts:
            if isinstance(part, Field):
                out.append(encode(values.get(part.name, "")))
            elif isinstance(part, Secret):
                if secret is None:
                    raise TemplateError(f"{{env:{part.env}}} is only allowed in the URL template")
                out.append(encode(secret(part.env)))
            else:
                out.append(part)
        return "".join(out)
