"""Settings of a ``[channels.NAME] use = "apprise"`` table, checked when the config is read."""

from __future__ import annotations

import re
from typing import Any

import attrs

from .templates import MESSAGE_FIELDS, URL_FIELDS, Template, TemplateError

ADDRESS_FIELDS = ("mobile", "email", "chat", "id")
BODY_FORMATS = ("text", "markdown", "html")
_SCHEME = re.compile(r"^([A-Za-z][A-Za-z0-9+.-]*)://")


def known_schemes() -> frozenset[str] | None:
    """The URL schemes the installed Apprise supports (``None`` if it cannot say)."""
    try:
        from apprise.manager_plugins import NotificationManager
    except ImportError:  # pragma: no cover - other Apprise layouts
        return None
    return frozenset(s.lower() for s in NotificationManager().schemas())


def _url_template(_inst: Any, attribute: attrs.Attribute[Any], value: str) -> None:
    try:
        Template.parse(value, URL_FIELDS, secrets=True)
    except TemplateError as e:
        raise ValueError(f"{attribute.name}: {e}") from None
    m = _SCHEME.match(value)
    if not m:
        raise ValueError(
            f"{attribute.name}: {value[:40]!r} is not an Apprise URL (scheme://...), e.g. json://host/notify?:to={{mobile}}"
        )


def check_scheme(url_template: str) -> None:
    """Raise ValueError unless the installed Apprise has a service for the template's scheme.

    Apprise learns its schemes by importing every one of its service modules (a second
    or two), so this runs when the channel is built, not when the config is read.
    """
    m = _SCHEME.match(url_template)
    schemes = known_schemes()
    if not m or schemes is None:
        return
    scheme = m.group(1).lower()
    if scheme not in schemes:
        import difflib

        close = difflib.get_close_matches(scheme, sorted(schemes), n=1, cutoff=0.6)
        hint = f"; did you mean {close[0]!r}?" if close else ""
        raise ValueError(f"url_template: Apprise has no service with the scheme {scheme!r}{hint}")


def _message_template(_inst: Any, attribute: attrs.Attribute[Any], value: str) -> None:
    try:
        Template.parse(value, MESSAGE_FIELDS)
    except TemplateError as e:
        raise ValueError(f"{attribute.name}: {e}") from None


def _link_template(_inst: Any, attribute: attrs.Attribute[Any], value: str) -> None:
    try:
        Template.parse(value, ("title", "url"))
    except TemplateError as e:
        raise ValueError(f"{attribute.name}: {e}") from None


@attrs.frozen(kw_only=True)
class AppriseSettings:
    """An outbound channel through Apprise: ``[channels.sms] use = "apprise"``."""

    url_template: str = attrs.field(
        validator=_url_template,
        metadata={
            "doc": "Apprise URL with placeholders {mobile}, {email}, {chat}, {id}, {address}, {name} (percent-encoded) "
            "and {env:VARIABLE} for secrets read when sending, e.g. 'json://sms.example/send?:to={mobile}'."
        },
    )
    address: str = attrs.field(
        default="mobile",
        validator=attrs.validators.in_(ADDRESS_FIELDS),
        metadata={
            "doc": "The customer field that is their address here: mobile, email, chat (the directory attribute "
            "named by chat_attribute) or id. Customers without it cannot be reached on this channel."
        },
    )
    chat_attribute: str = attrs.field(
        default="chat",
        metadata={"doc": "Directory attribute of the customer holding their chat handle, for {chat}."},
    )
    title: str = attrs.field(
        default="{subject}",
        validator=_message_template,
        metadata={"doc": "Title template: {subject}, {demand_id}, {deployment}, {name}, {first_name}, {purpose}."},
    )
    body: str = attrs.field(
        default="{body}\n{links}",
        validator=_message_template,
        metadata={"doc": "Body template: {body} (the message text), {links} (one line per link) and the title's."},
    )
    link_format: str = attrs.field(
        default="",
        validator=_link_template,
        metadata={
            "doc": "How one link reads in {links}, with {title} and {url}; empty for the body format's own "
            "('{title}: {url}', markdown '[{title}]({url})', html '<a href=...>')."
        },
    )
    body_format: str = attrs.field(
        default="text",
        validator=attrs.validators.in_(BODY_FORMATS),
        metadata={"doc": "text, markdown or html; Apprise converts for services that need another."},
    )
    max_length: int = attrs.field(
        default=0,
        validator=attrs.validators.ge(0),
        metadata={
            "doc": "Cut the message text so the body fits in this many characters, keeping the links whole "
            "(0: no limit). For SMS gateways."
        },
    )
