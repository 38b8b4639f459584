"""A safe template language: ``{customer.email}`` placeholders over an allowed context.

There is no attribute access, no indexing, no expression and no code: a placeholder is
a dotted name looked up in a fixed set of roots, and its value is inserted as data.
``{{`` and ``}}`` stand for literal braces; any other lone brace is an error, so a typo
is caught when the config is read, not when a customer's request runs.

What a value becomes depends on where it goes (see :mod:`itsm_http.action`): a JSON
value in a body, a percent-encoded piece of a URL, a header value without line breaks,
plain text for the customer.
"""

from __future__ import annotations

import difflib
import enum
import re
from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import TYPE_CHECKING, Any

import attrs

if TYPE_CHECKING:
    from itsmcore import ActionRequest

#: Roots whose fields are fixed, and those fields.
FIXED_FIELDS: Mapping[str, tuple[str, ...]] = {
    "demand": ("id", "summary", "details", "kind", "channel", "priority", "service_key", "external_ref"),
    "customer": ("id", "name", "first_name", "email", "mobile", "role", "department", "manager"),
    "service": ("key", "name"),
    "job": ("idempotency_key", "attempt"),
}
#: Roots whose fields are open-ended names (an answer, an output, a customer attribute).
OPEN_ROOTS: Mapping[str, str] = {
    "answers": "an answer the customer gave (a service's asks)",
    "outputs": "an output of this or an earlier step",
    "customer.attributes": "a directory attribute of the customer",
}

_TOKEN = re.compile(r"\{\{|\}\}|\{([^{}]*)\}|[{}]")
_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z0-9_-]+)+$")


class TemplateError(ValueError):
    """A template cannot be used: bad syntax or a placeholder outside the allowed context."""


class MissingValue(LookupError):
    """A placeholder names something the request does not carry (an answer not given, ...)."""

    def __init__(self, name: str, why: str):
        self.name = name
        super().__init__(f"placeholder {{{name}}}: {why}")


@attrs.frozen
class Placeholder:
    """One ``{root.field}`` in a template."""

    name: str


@attrs.frozen
class Template:
    """A parsed template: literal text and placeholders, in order."""

    source: str
    parts: tuple[str | Placeholder, ...]

    @classmethod
    def parse(cls, text: str) -> Template:
        """Parse ``text``; raise :class:`TemplateError` naming the first problem."""
        parts: list[str | Placeholder] = []
        literal: list[str] = []
        pos = 0
        for m in _TOKEN.finditer(text):
            literal.append(text[pos : m.start()])
            pos = m.end()
            token = m.group(0)
            if token == "{{":
                literal.append("{")
            elif token == "}}":
                literal.append("}")
            elif m.group(1) is not None:
                name = m.group(1).strip()
                check_name(name)
                if literal:
                    parts.append("".join(literal))
                    literal = []
                parts.append(Placeholder(name))
            else:
                raise TemplateError(
                    f"lone {token!r} at position {m.start()} in {text!r}; write {token * 2!r} for a literal brace"
                )
        literal.append(text[pos:])
        if "".join(literal):
            parts.append("".join(literal))
        return cls(text, tuple(p for p in parts if p != ""))

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(p.name for p in self.parts if isinstance(p, Placeholder))

    @property
    def single(self) -> Placeholder | None:
        """The placeholder if the template is exactly one placeholder and nothing else."""
        if len(self.parts) == 1 and isinstance(self.parts[0], Placeholder):
            return self.parts[0]
        return None

    def render(self, lookup: Callable[[str], Any], encode: Callable[[Any], str] = str) -> str:
        """Fill the placeholders: each value goes through ``encode``; literal text is kept as is."""
        out: list[str] = []
        for part in self.parts:
            if isinstance(part, Placeholder):
                value = lookup(part.name)
                out.append("" if value is None else encode(value))
            else:
                out.append(part)
        return "".join(out)


def check_name(name: str) -> None:
    """Raise :class:`TemplateError` unless ``name`` is a placeholder the context can fill."""
    if not _NAME.match(name):
        raise TemplateError(
            f"placeholder {{{name}}} is not a dotted name like {{customer.email}}; templates hold names, not code"
            " (write {{ and }} for literal braces)"
        )
    root, _, rest = name.partition(".")
    if name.startswith("customer.attributes."):
        return
    if root in ("answers", "outputs"):
        return
    if root in FIXED_FIELDS:
        if root == "customer" and rest == "attributes":
            raise TemplateError("placeholder {customer.attributes} needs an attribute: {customer.attributes.NAME}")
        if rest in FIXED_FIELDS[root]:
            return
        raise TemplateError(f"unknown placeholder {{{name}}}; {_hint(rest, FIXED_FIELDS[root], prefix=root + '.')}")
    roots = [*FIXED_FIELDS, *("answers", "outputs")]
    raise TemplateError(f"unknown placeholder {{{name}}}; {_hint(root, roots, prefix='', suffix='.…')}")


def _hint(word: str, known: Iterable[str], *, prefix: str, suffix: str = "") -> str:
    known = list(known)
    close = difflib.get_close_matches(word, known, n=1, cutoff=0.6)
    listing = ", ".join(f"{{{prefix}{k}{suffix}}}" for k in known)
    head = f"did you mean {{{prefix}{close[0]}{suffix}}}? " if close else ""
    return f"{head}known: {listing}"


def check_templates(values: Iterable[str]) -> None:
    """Parse every string (for validators run when the config is read)."""
    for v in values:
        Template.parse(v)


def strings_in(value: Any) -> Iterator[str]:
    """Every string value inside a JSON-like structure (keys are literal, never templates)."""
    if isinstance(value, str):
        yield value
    elif isinstance(value, Mapping):
        for v in value.values():
            yield from strings_in(v)
    elif isinstance(value, list | tuple):
        for v in value:
            yield from strings_in(v)


def plain(value: Any) -> Any:
    """A context value as plain JSON-able data (enums by value, tuples as lists)."""
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, Mapping):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [plain(v) for v in value]
    if value is None or isinstance(value, str | int | float | bool):
        return value
    return str(value)


def as_text(value: Any) -> str:
    """How a value reads inside a string: JSON for structures, ``true``/``false`` for booleans."""
    import json

    value = plain(value)
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dict | list):
        return json.dumps(value, ensure_ascii=False, separators=(",", ":"))
    return str(value)


class RequestContext:
    """The values a template may use, drawn from one :class:`~itsmcore.ActionRequest`.

    ``outputs`` are those of earlier steps, updated with this step's own once the
    response is in (for the ``customer_sees`` template).
    """

    def __init__(self, request: ActionRequest, outputs: Mapping[str, Any] | None = None):
        d, c, s = request.demand, request.customer, request.service
        self._fixed: dict[str, dict[str, Any]] = {
            "demand": {
                "id": d.id,
                "summary": d.summary,
                "details": d.details,
                "kind": d.kind,
                "channel": d.channel,
                "priority": d.priority,
                "service_key": d.service_key,
                "external_ref": d.external_ref,
            },
            "customer": {
                "id": c.id,
                "name": c.name,
                "first_name": c.name.split()[0] if c.name and c.name.split() else c.id,
                "email": c.email,
                "mobile": c.mobile,
                "role": c.role,
                "department": c.department,
                "manager": c.manager,
            },
            "service": {"key": s.key if s else d.service_key, "name": s.name if s else d.summary},
            "job": {"idempotency_key": request.idempotency_key, "attempt": request.attempt},
        }
        self._answers = dict(d.answers)
        self._attributes = dict(c.attributes)
        self._outputs = dict(request.outputs if outputs is None else outputs)

    def with_outputs(self, outputs: Mapping[str, Any]) -> RequestContext:
        new = object.__new__(RequestContext)
        new.__dict__.update(self.__dict__)
        new._outputs = {**self._outputs, **outputs}
        return new

    def __call__(self, name: str) -> Any:
        """The value of placeholder ``name``; raise :class:`MissingValue` if the request lacks it."""
        check_name(name)
        if name.startswith("customer.attributes."):
            key = name[len("customer.attributes.") :]
            if key not in self._attributes:
                raise MissingValue(name, f"the customer has no directory attribute {key!r}")
            return self._attributes[key]
        root, _, rest = name.partition(".")
        if root in self._fixed:
            return plain(self._fixed[root][rest])
        source = self._answers if root == "answers" else self._outputs
        what = "answer" if root == "answers" else "output of an earlier step"
        first, *deeper = rest.split(".")
        if first not in source:
            known = ", ".join(sorted(source)) or "none"
            raise MissingValue(name, f"this request has no {what} {first!r} (it has: {known})")
        value = source[first]
        for i, key in enumerate(deeper):
            if isinstance(value, Mapping) and key in value:
                value = value[key]
            elif isinstance(value, list) and key.isdigit() and int(key) < len(value):
                value = value[int(key)]
            else:
                raise MissingValue(name, f"{root}.{'.'.join([first, *deeper[:i]])} has no {key!r}")
        return plain(value)
