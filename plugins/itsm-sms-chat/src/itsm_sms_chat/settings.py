"""Settings of ``[channels.NAME] use = "twilio-sms"`` and ``use = "slack-chat"``, checked when the config is read.

Secrets (the SMS auth token, the chat bot token and signing secret) are never in the config:
each setting names an environment variable or a file holding it.
"""

from __future__ import annotations

import re
from typing import Any

import attrs

UNKNOWN_SENDERS = ("reply", "ignore")
_SENDER = re.compile(r"^(\+[1-9]\d{6,14}|\d{3,8})$")


def _e164(_inst: Any, attribute: attrs.Attribute[Any], value: str) -> None:
    if not _SENDER.match(value):
        raise ValueError(
            f"{attribute.name}: {value!r} is not a phone number in international form (e.g. +447700900000) "
            "or a short code (3 to 8 digits)"
        )


def _http_url(_inst: Any, attribute: attrs.Attribute[Any], value: str | None) -> None:
    if value is not None and not value.startswith(("http://", "https://")):
        raise ValueError(f"{attribute.name}: {value!r} is not an http:// or https:// URL")


@attrs.frozen(kw_only=True)
class SmsSettings:
    """SMS both ways through a Twilio-compatible messaging API: ``[channels.sms] use = "twilio-sms"``."""

    account_sid: str = attrs.field(
        metadata={
            "doc": "The account id at the provider (not a secret): the user name of API calls, part of the API path."
        }
    )
    from_number: str = attrs.field(
        validator=_e164,
        metadata={"doc": "The number texts come from and customers text: international form, or a short code."},
    )
    auth_token_env: str = attrs.field(
        default="ITSM_SMS_AUTH_TOKEN",
        metadata={"doc": "Environment variable holding the auth token (API password and webhook signing key)."},
    )
    auth_token_file: str | None = attrs.field(
        default=None, metadata={"doc": "File holding the auth token instead (relative to the config)."}
    )
    api_url: str = attrs.field(
        default="https://api.twilio.com",
        validator=_http_url,
        metadata={
            "doc": "Base URL of the messaging API; texts are posted to API/2010-04-01/Accounts/SID/Messages.json."
        },
    )
    webhook_url: str | None = attrs.field(
        default=None,
        validator=_http_url,
        metadata={
            "doc": "The exact URL the provider posts incoming texts to (it is signed); default: the deployment's "
            "public_url + /channels/NAME/sms."
        },
    )
    max_length: int = attrs.field(
        default=1600,
        validator=attrs.validators.ge(160),
        metadata={"doc": "Longest text sent, links included; longer message text is shortened with '…'."},
    )
    max_body_bytes: int = attrs.field(
        default=64 * 1024,
        validator=attrs.validators.ge(1024),
        metadata={"doc": "Incoming webhook bodies larger than this are refused (413) unread."},
    )
    reply_window_hours: float = attrs.field(
        default=72.0,
        validator=attrs.validators.gt(0),
        metadata={
            "doc": "A text within this many hours of our last text about an open demand is a reply to that demand; "
            "later, or starting with NEW, it opens a new one."
        },
    )
    unknown_senders: str = attrs.field(
        default="reply",
        validator=attrs.validators.in_(UNKNOWN_SENDERS),
        metadata={"doc": "A text from a number no customer has: 'reply' (a short, polite answer) or 'ignore'."},
    )
    timeout: float = attrs.field(
        default=10.0, validator=attrs.validators.gt(0), metadata={"doc": "Seconds to wait for the API."}
    )


@attrs.frozen(kw_only=True)
class ChatSettings:
    """Chat both ways through a Slack-compatible Web API and Events API: ``[channels.chat] use = "slack-chat"``."""

    api_url: str = attrs.field(
        default="https://slack.com/api",
        validator=_http_url,
        metadata={"doc": "Base URL of the chat Web API; messages are posted to API/chat.postMessage."},
    )
    bot_token_env: str = attrs.field(
        default="ITSM_CHAT_BOT_TOKEN", metadata={"doc": "Environment variable holding the bot token."}
    )
    bot_token_file: str | None = attrs.field(
        default=None, metadata={"doc": "File holding the bot token instead (relative to the config)."}
    )
    signing_secret_env: str = attrs.field(
        default="ITSM_CHAT_SIGNING_SECRET",
        metadata={"doc": "Environment variable holding the signing secret that events are signed with."},
    )
    signing_secret_file: str | None = attrs.field(
        default=None, metadata={"doc": "File holding the signing secret instead (relative to the config)."}
    )
    chat_attribute: str = attrs.field(
        default="chat",
        metadata={"doc": "Directory attribute of each customer holding their chat user id (e.g. U024BE7LH)."},
    )
    max_body_bytes: int = attrs.field(
        default=64 * 1024,
        validator=attrs.validators.ge(1024),
        metadata={"doc": "Event bodies larger than this are refused (413) unread."},
    )
    replay_window_seconds: int = attrs.field(
        default=300,
        validator=attrs.validators.and_(attrs.validators.ge(30), attrs.validators.le(3600)),
        metadata={"doc": "Events whose signed timestamp is further than this from now are refused (403)."},
    )
    unknown_senders: str = attrs.field(
        default="reply",
        validator=attrs.validators.in_(UNKNOWN_SENDERS),
        metadata={"doc": "A message from a chat user no customer is: 'reply' (a short, polite answer) or 'ignore'."},
    )
    timeout: float = attrs.field(
        default=10.0, validator=attrs.validators.gt(0), metadata={"doc": "Seconds to wait for the API."}
    )
