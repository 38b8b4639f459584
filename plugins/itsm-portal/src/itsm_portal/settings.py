"""Settings of the portal channel (``[channels.portal] use = "portal"``)."""

from __future__ import annotations

import attrs


def _tuple(value: object) -> tuple[str, ...]:
    if value is None:
        return ()
    if isinstance(value, str):
        return (value,)
    return tuple(str(v) for v in value)  # type: ignore[attr-defined]


@attrs.frozen(kw_only=True)
class PortalSettings:
    """What an integrator can set in ``[channels.portal]``."""

    title: str = attrs.field(default="IT help", metadata={"doc": "Name shown in the page header and title."})
    agent_groups: tuple[str, ...] = attrs.field(
        default=("service-desk",),
        converter=_tuple,
        metadata={"doc": "Directory groups whose members may use the service desk pages (/desk)."},
    )
    api_tokens_env: str = attrs.field(
        default="ITSM_PORTAL_API_TOKENS",
        metadata={
            "doc": "The older way to give API tokens (prefer 'itsm api-token new NAME --scope ...', kept in the "
            "store): an environment variable holding tokens for /api/v1, comma separated, each 'name:token' or "
            "'name:sha256:HEX' (a hashed token). They have every scope but admin and no rate limit."
        },
    )
    api_tokens_file: str | None = attrs.field(
        default=None,
        metadata={
            "doc": "The older way to give API tokens (prefer 'itsm api-token new'): a file (relative to the config) "
            "of 'name:sha256:HEX' lines, with every scope but admin and no rate limit."
        },
    )
    api_rate_limit: int = attrs.field(
        default=600,
        validator=attrs.validators.ge(0),
        metadata={
            "doc": "Requests each API token of the store may make per api_rate_window_seconds, counted in the "
            "database so that every process shares one count; past it, 429 with Retry-After. 0 turns it off."
        },
    )
    api_rate_window_seconds: int = attrs.field(
        default=60,
        validator=attrs.validators.ge(1),
        metadata={"doc": "The length of the fixed window api_rate_limit counts in, in seconds."},
    )
    cookie_secure: str = attrs.field(
        default="auto",
        metadata={"doc": "Mark the session cookie Secure: 'auto' (when public_url is https), 'always' or 'never'."},
    )
    session_hours: float = attrs.field(
        default=8.0, metadata={"doc": "How long a sign-in lasts, in hours, before signing in again."}
    )
    sign_in_attempts: int | None = attrs.field(
        default=None,
        validator=attrs.validators.optional(attrs.validators.ge(1)),
        metadata={
            "doc": "Deprecated: set [security] sign_in_attempts instead, which every process and channel shares. "
            "When set, portal sign-ins still use it (with a warning at start)."
        },
    )
    sign_in_window_seconds: int | None = attrs.field(
        default=None,
        validator=attrs.validators.optional(attrs.validators.ge(1)),
        metadata={
            "doc": "Deprecated: set [security] sign_in_window_minutes instead. When set, portal sign-ins still use "
            "it (with a warning at start)."
        },
    )
    search_limit: int = attrs.field(default=10, metadata={"doc": "How many catalog results a search shows."})
    search_cache_seconds: float = attrs.field(
        default=5.0,
        metadata={
            "doc": "Keep a customer's search results this many seconds (typing repeats queries); 0 turns it off. "
            "The JSON API is never cached."
        },
    )
